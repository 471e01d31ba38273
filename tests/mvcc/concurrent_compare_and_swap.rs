//! Eight threads race compare-and-swap transactions on shared keys: the committed ones, replayed
//! serially in revision order, give exactly the final state, and revisions are dense.

use apistore::backend::{KeyRange, MemoryBackend};
use apistore::mvcc::{Mvcc, MvccError, RangeOptions, Txn};
use std::collections::BTreeMap;
use std::sync::Arc;

#[test]
fn committed_cas_transactions_replay_serially_to_the_final_state() {
    let mvcc = Mvcc::open(Arc::new(MemoryBackend::new())).expect("open");
    let start = mvcc.current_revision();
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let mvcc = mvcc.clone();
            std::thread::spawn(move || {
                let mut committed = Vec::new();
                let mut conflicts = 0u32;
                for i in 0..400u32 {
                    let a = format!("k{}", (t + i) % 4);
                    let b = format!("k{}", (t * 7 + i) % 4);
                    let ra = mvcc
                        .get(a.as_bytes(), 0)
                        .expect("get")
                        .map_or(0, |kv| kv.mod_revision);
                    let rb = mvcc
                        .get(b.as_bytes(), 0)
                        .expect("get")
                        .map_or(0, |kv| kv.mod_revision);
                    let value = format!("t{t}-i{i}");
                    let mut txn = Txn::new()
                        .when_mod_revision(a.clone(), ra)
                        .put(a.clone(), value.clone());
                    if b != a {
                        txn = txn
                            .when_mod_revision(b.clone(), rb)
                            .put(b.clone(), value.clone());
                    }
                    match mvcc.commit(txn) {
                        Ok(r) => {
                            assert!(r.changed);
                            let mut keys = vec![a.clone()];
                            if b != a {
                                keys.push(b.clone());
                            }
                            committed.push((r.revision, keys, value));
                        }
                        Err(MvccError::CompareFailed { .. }) => conflicts += 1,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                (committed, conflicts)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let (committed, _conflicts) = t.join().expect("thread");
        all.extend(committed);
    }
    all.sort_by_key(|(r, _, _)| *r);
    let revisions: Vec<u64> = all.iter().map(|(r, _, _)| *r).collect();
    let dense: Vec<u64> = (start + 1..=start + all.len() as u64).collect();
    assert_eq!(
        revisions, dense,
        "revisions are dense and strictly increasing"
    );
    assert_eq!(mvcc.current_revision(), start + all.len() as u64);

    let mut replay: BTreeMap<Vec<u8>, (u64, Vec<u8>)> = BTreeMap::new();
    for (rev, keys, value) in &all {
        for k in keys {
            replay.insert(k.as_bytes().to_vec(), (*rev, value.as_bytes().to_vec()));
        }
    }
    let state = mvcc
        .range(&KeyRange::all(), RangeOptions::default())
        .expect("range");
    let got: BTreeMap<Vec<u8>, (u64, Vec<u8>)> = state
        .kvs
        .into_iter()
        .map(|kv| (kv.key, (kv.mod_revision, kv.value.to_vec())))
        .collect();
    assert_eq!(got, replay);
    // The change feed agrees with the committed list, too.
    let feed = mvcc.changes_after(start, usize::MAX).expect("feed");
    let feed_revs: std::collections::BTreeSet<u64> = feed.iter().map(|c| c.revision).collect();
    assert_eq!(feed_revs.into_iter().collect::<Vec<_>>(), dense);
}
