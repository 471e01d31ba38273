//! The revision layer on etcd against the reference model: random transactions, reads at
//! random revisions, range reads with limits, compactions, change-feed replays and reopens,
//! and a second layer on the same key space that must read what the first wrote.
//!
//! Etcd's revisions are shared with every other key space of the cluster (other tests run
//! beside this one), so the model's revisions map to etcd's through the revisions the commits
//! report: model revision `r` is etcd revision `etcd[r]`.

use crate::mvcc_model::{check_commit, check_live, check_range, op, plan, Model, Op, KEYS};
use apistore::backend::KeyRange;
use apistore::mvcc::{ChangeKind, EtcdOptions, Mvcc, MvccError, RangeOptions};
use apistore::testing::etcd;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

fn open(endpoints: &[String], prefix: &str) -> Result<Mvcc, TestCaseError> {
    Mvcc::open_etcd(EtcdOptions::new(endpoints.to_vec()).under(prefix.as_bytes().to_vec()))
        .map_err(fail)
}

/// Model revisions ↔ etcd revisions.
struct Revisions {
    etcd: Vec<u64>,
    model: BTreeMap<u64, u64>,
    /// The model revision current at the last reopen, and the etcd revision the reopened
    /// layer's history starts at (reads of that model revision read there).
    reopened: Option<(u64, u64)>,
}

impl Revisions {
    fn set(&mut self, model: u64, etcd: u64) {
        let i = usize::try_from(model).expect("small");
        if self.etcd.len() <= i {
            self.etcd.resize(i + 1, 0);
        }
        self.etcd[i] = etcd;
        self.model.insert(etcd, model);
    }
    fn etcd(&self, model: u64) -> u64 {
        self.etcd[usize::try_from(model).expect("small")]
    }
    /// The etcd revision a read of model revision `model` reads at.
    fn read(&self, model: u64) -> u64 {
        match self.reopened {
            Some((at, etcd)) if at == model => etcd,
            _ => self.etcd(model),
        }
    }
    fn model(&self, etcd: u64) -> u64 {
        self.model.get(&etcd).copied().unwrap_or(u64::MAX)
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let cluster = etcd::shared();
    let endpoints = cluster.endpoints();
    let prefix = etcd::unique_prefix("model");
    let mut mvcc = open(&endpoints, &prefix)?;
    let other = open(&endpoints, &prefix)?;
    let mut model = Model::new();
    let mut revisions = Revisions {
        etcd: Vec::new(),
        model: BTreeMap::new(),
        reopened: None,
    };
    revisions.set(1, mvcc.current_revision());
    for op in ops {
        match op {
            Op::Txn { guard, writes } => {
                let planned = plan(guard, &writes, |key| {
                    match model.mod_revision(&key.to_vec()) {
                        0 => 0,
                        at => revisions.etcd(at),
                    }
                });
                let result = mvcc.commit(planned.txn.clone());
                let Some((result, committed)) =
                    check_commit(&planned, &writes, result, &mut model)?
                else {
                    continue;
                };
                if let Some(at) = committed {
                    prop_assert!(result.revision > revisions.etcd(at - 1));
                    revisions.set(at, result.revision);
                    // Read your writes: the index holds the commit when it is answered.
                    prop_assert!(mvcc.current_revision() >= result.revision);
                }
            }
            Op::Get { key, back } => {
                let rev = model.current().saturating_sub(u64::from(back)).max(1);
                let key = KEYS[key].as_bytes();
                let got = mvcc.get(key, revisions.read(rev));
                if model.is_compacted(rev) {
                    prop_assert!(matches!(got, Err(MvccError::Compacted { .. })), "{:?}", got);
                } else {
                    let got = got.map_err(fail)?;
                    let want = model
                        .at(&key.to_vec(), rev)
                        .map(|(r, v)| (revisions.etcd(r), v.clone()));
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
                let got = mvcc.range(
                    &KeyRange::between(lo.to_vec(), hi.to_vec()),
                    RangeOptions {
                        revision: revisions.read(rev),
                        limit: usize::from(limit),
                        count: true,
                    },
                );
                if model.is_compacted(rev) {
                    prop_assert!(matches!(got, Err(MvccError::Compacted { .. })), "{:?}", got);
                    continue;
                }
                let got = got.map_err(fail)?;
                check_range(&got, &model, rev, (lo, hi), limit)?;
            }
            Op::Compact { back } => {
                let rev = model.current().saturating_sub(u64::from(back)).max(1);
                mvcc.compact(revisions.read(rev)).map_err(fail)?;
                model.compact(rev);
                prop_assert_eq!(mvcc.compacted_revision(), revisions.read(model.compacted()));
            }
            Op::Feed { back } => {
                let after = model.current().saturating_sub(u64::from(back)).max(1);
                let feed = mvcc.changes_after(revisions.read(after), usize::MAX);
                if model.is_compacted(after) {
                    prop_assert!(
                        matches!(feed, Err(MvccError::Compacted { .. })),
                        "{:?}",
                        feed
                    );
                    continue;
                }
                let feed = feed.map_err(fail)?;
                let got: Vec<_> = feed
                    .iter()
                    .map(|c| {
                        (
                            revisions.model(c.revision),
                            c.kv.key.clone(),
                            (c.kind == ChangeKind::Put).then(|| c.kv.value.to_vec()),
                            c.prev.as_ref().map(|p| p.value.to_vec()),
                        )
                    })
                    .collect();
                let want: Vec<_> = model
                    .changes_after(after)
                    .map(|c| (c.revision, c.key.clone(), c.value.clone(), c.prev.clone()))
                    .collect();
                prop_assert_eq!(got, want);
            }
            Op::OtherReads => {
                // A fresh read through the other layer sees every acknowledged write.
                other.sync().map_err(fail)?;
                let got = other
                    .range(&KeyRange::all(), RangeOptions::default())
                    .map_err(fail)?;
                check_live(&got, &model, |at| revisions.etcd(at))?;
            }
            Op::Reopen => {
                drop(mvcc);
                mvcc = open(&endpoints, &prefix)?;
                // A reopened layer's history starts where it opened.
                let current = model.current();
                model.compact(current);
                revisions.reopened = Some((current, mvcc.current_revision()));
                prop_assert_eq!(mvcc.compacted_revision(), mvcc.current_revision());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_layer_on_etcd_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
