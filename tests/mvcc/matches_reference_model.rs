//! Random transactions, reads at random revisions, range reads with limits, compactions,
//! change-feed replays and reopens, checked against a naive `BTreeMap` history model.

use crate::mvcc_model::{check_commit, check_live, check_range, op, plan, Model, Op, KEYS};
use apistore::backend::{Backend, KeyRange, MemoryBackend, SledBackend};
use apistore::mvcc::{ChangeKind, Mvcc, MvccError, RangeOptions};
use proptest::prelude::*;
use std::sync::Arc;

/// `key`'s value and mod revision at `rev`, as `Mvcc::get` answers it.
fn at(model: &Model, key: &[u8], rev: u64) -> Option<(u64, Vec<u8>)> {
    model.at(&key.to_vec(), rev).map(|(r, v)| (r, v.clone()))
}

fn run(ops: Vec<Op>, open: &dyn Fn() -> Arc<dyn Backend>) -> Result<(), TestCaseError> {
    let mut mvcc = Mvcc::open(open()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::new();
    prop_assert_eq!(mvcc.current_revision(), 1);
    for op in ops {
        match op {
            Op::Txn { guard, writes } => {
                let planned = plan(guard, &writes, |key| model.mod_revision(&key.to_vec()));
                let result = mvcc.commit(planned.txn.clone());
                let Some((result, _)) = check_commit(&planned, &writes, result, &mut model)? else {
                    continue;
                };
                prop_assert_eq!(result.revision, model.current());
                prop_assert_eq!(mvcc.current_revision(), model.current());
            }
            Op::Get { key, back } => {
                let rev = model.current().saturating_sub(u64::from(back)).max(1);
                let key = KEYS[key].as_bytes();
                let got = mvcc.get(key, rev);
                if model.is_compacted(rev) {
                    prop_assert!(matches!(got, Err(MvccError::Compacted { .. })), "{:?}", got);
                } else {
                    let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let want = at(&model, key, rev);
                    prop_assert_eq!(got.map(|kv| (kv.mod_revision, kv.value.to_vec())), want);
                }
            }
            Op::Range {
                lo,
                hi,
                back,
                limit,
            } => {
                let rev = model.current().saturating_sub(u64::from(back)).max(1);
                let (lo, hi) = (KEYS[lo.min(hi)].as_bytes(), KEYS[lo.max(hi)].as_bytes());
                let range = KeyRange::between(lo.to_vec(), hi.to_vec());
                let got = mvcc.range(
                    &range,
                    RangeOptions {
                        revision: rev,
                        limit: usize::from(limit),
                        count: true,
                    },
                );
                if model.is_compacted(rev) {
                    prop_assert!(matches!(got, Err(MvccError::Compacted { .. })), "{:?}", got);
                    continue;
                }
                let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                check_range(&got, &model, rev, (lo, hi), limit)?;
                prop_assert_eq!(got.revision, rev);
            }
            Op::Compact { back } => {
                let rev = model.current().saturating_sub(u64::from(back)).max(1);
                mvcc.compact(rev)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                model.compact(rev);
                prop_assert_eq!(mvcc.compacted_revision(), model.compacted());
            }
            Op::Feed { back } => {
                let after = model.current().saturating_sub(u64::from(back)).max(1);
                let feed = mvcc.changes_after(after, usize::MAX);
                if model.is_compacted(after) {
                    prop_assert!(
                        matches!(feed, Err(MvccError::Compacted { .. })),
                        "{:?}",
                        feed
                    );
                    continue;
                }
                let feed = feed.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let got: Vec<(u64, Vec<u8>, Option<Vec<u8>>)> = feed
                    .iter()
                    .map(|c| {
                        (
                            c.revision,
                            c.kv.key.clone(),
                            (c.kind == ChangeKind::Put).then(|| c.kv.value.to_vec()),
                        )
                    })
                    .collect();
                let want: Vec<_> = model
                    .changes_after(after)
                    .map(|c| (c.revision, c.key.clone(), c.value.clone()))
                    .collect();
                prop_assert_eq!(got, want);
                let prevs: Vec<_> = feed
                    .iter()
                    .map(|c| c.prev.as_ref().map(|p| p.value.to_vec()))
                    .collect();
                let want_prevs: Vec<_> =
                    model.changes_after(after).map(|c| c.prev.clone()).collect();
                prop_assert_eq!(prevs, want_prevs);
            }
            Op::OtherReads => {
                let got = mvcc
                    .range(&KeyRange::all(), RangeOptions::default())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                check_live(&got, &model, |at| at)?;
            }
            Op::Reopen => {
                drop(mvcc);
                mvcc = Mvcc::open(open()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(mvcc.current_revision(), model.current());
                prop_assert_eq!(mvcc.compacted_revision(), model.compacted());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn memory_engine_matches_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        run(ops, &|| backend.clone())?;
    }

    #[test]
    fn sled_engine_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        let shared: parking_lot::Mutex<Option<Arc<dyn Backend>>> = parking_lot::Mutex::new(None);
        // sled keeps a directory lock while open: reopen drops the old handle first.
        run(ops, &|| {
            let mut slot = shared.lock();
            slot.take();
            let b: Arc<dyn Backend> = Arc::new(SledBackend::open(&path).expect("open sled"));
            *slot = Some(b.clone());
            b
        })?;
    }
}
