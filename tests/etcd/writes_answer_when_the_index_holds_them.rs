//! Read your writes: a write through the layer on etcd answers once the index holds it.

use apistore::mvcc::{EtcdOptions, Mvcc, Txn};
use apistore::testing::etcd;

#[test]
fn a_write_is_readable_at_its_revision_when_it_answers_and_an_identical_write_consumes_none() {
    let cluster = etcd::shared();
    let mvcc =
        Mvcc::open_etcd(EtcdOptions::new(cluster.endpoints()).under(etcd::unique_prefix("smoke")))
            .expect("open");
    let r = mvcc
        .commit(Txn::new().when_absent("a").put("a", "1"))
        .expect("commit");
    assert!(r.changed);
    let kv = mvcc.get(b"a", 0).expect("get").expect("present");
    assert_eq!(&*kv.value, b"1");
    assert_eq!(kv.mod_revision, r.revision);
    let again = mvcc.commit(Txn::new().when_absent("a").put("a", "2"));
    assert!(again.is_err(), "{again:?}");
    let same = mvcc
        .commit(Txn::new().when_mod_revision("a", r.revision).put("a", "1"))
        .expect("noop");
    assert!(!same.changed);
    assert_eq!(mvcc.sync().expect("sync"), mvcc.current_revision());
}
