//! A store opened just before another one writes, then read fresh, holds every write.
//!
//! Regression: fresh reads once asked the watch for a progress notification and trusted its
//! revision. Etcd before 3.4.25 and 3.5.8 answers that request with its current revision even
//! while events before it are still on their way to a watch that is catching up (etcd issue
//! 15220): the index moved past writes it had not applied and skipped them when they came
//! (3 reads in 100 missed a write on this machine).

use apistore::backend::KeyRange;
use apistore::mvcc::{EtcdOptions, Mvcc, RangeOptions, Txn};
use apistore::testing::etcd;

#[test]
fn a_fresh_read_through_a_store_opened_before_the_writes_sees_them_all() {
    let cluster = etcd::shared();
    for i in 0..200 {
        let prefix = etcd::unique_prefix("fresh");
        let open = || {
            Mvcc::open_etcd(EtcdOptions::new(cluster.endpoints()).under(prefix.clone()))
                .expect("open")
        };
        let (writer, reader) = (open(), open());
        writer.commit(Txn::new().put("x", "1")).expect("write x");
        let last = writer
            .commit(Txn::new().put("y", format!("{i}")))
            .expect("write y");
        let at = reader.sync().expect("sync");
        assert!(
            at >= last.revision,
            "round {i}: fresh at {at}, written at {}",
            last.revision
        );
        let got = reader
            .range(&KeyRange::all(), RangeOptions::default())
            .expect("range");
        assert_eq!(got.kvs.len(), 2, "round {i}: {got:?}");
        // Nothing else of this key space is on its way: a fresh read answers at once.
        assert_eq!(reader.sync().expect("sync"), at);
    }
}

/// A fresh read is answered from etcd's revision alone when nothing was written after the
/// index's; writes elsewhere in etcd move that revision without touching the key space, and
/// then the range itself is compared, so the read still answers at the index's revision.
#[test]
fn a_fresh_read_answers_at_its_own_revision_while_other_key_spaces_are_written() {
    let cluster = etcd::shared();
    let open = |prefix: &str| {
        Mvcc::open_etcd(EtcdOptions::new(cluster.endpoints()).under(prefix.to_owned()))
            .expect("open")
    };
    let (mine, elsewhere) = (
        etcd::unique_prefix("own-space"),
        etcd::unique_prefix("other-space"),
    );
    let (store, other) = (open(&mine), open(&elsewhere));
    let written = store.commit(Txn::new().put("a", "1")).expect("write a");
    assert_eq!(store.sync().expect("sync"), written.revision);
    for i in 0..20 {
        let moved = other
            .commit(Txn::new().put("b", format!("{i}")))
            .expect("write elsewhere");
        assert!(moved.revision > written.revision);
        let at = store.sync().expect("sync after a write elsewhere");
        assert_eq!(at, written.revision, "round {i}");
        let got = store
            .range(&KeyRange::all(), RangeOptions::default())
            .expect("range");
        assert_eq!(got.kvs.len(), 1, "round {i}: {got:?}");
    }
    let last = store
        .commit(Txn::new().put("a", "2"))
        .expect("write a again");
    assert_eq!(store.sync().expect("sync"), last.revision);
}
