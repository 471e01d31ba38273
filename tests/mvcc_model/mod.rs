//! What the revision layer's model-based proptests share, on local engines (`tests/mvcc`) and
//! on etcd (`tests/etcd`): the keys, the transactions built from generated ops, and the checks
//! of a transaction's outcome and of a range read against the model.
#![allow(dead_code)]

use apistore::mvcc::{MvccError, RangeResult, Txn, TxnResult};
use apistore::testing::model::History;
use proptest::prelude::*;

/// Keys whose byte order and `/` boundaries exercise range bounds.
pub const KEYS: &[&str] = &["a", "a/b", "a-b", "b", "b/1", "c"];

/// Raw keys and values, as the revision layer sees them.
pub type Model = History<Vec<u8>, Vec<u8>>;

pub fn value(v: u8) -> Vec<u8> {
    vec![b'v', v]
}

/// One generated step of a model proptest.
#[derive(Debug, Clone)]
pub enum Op {
    /// A transaction (see [`plan`]).
    Txn { guard: Guard, writes: Writes },
    /// A get of one key, `back` revisions before the current one.
    Get { key: usize, back: u8 },
    /// A range read between two keys, `back` revisions back, with a limit (0 none).
    Range {
        lo: usize,
        hi: usize,
        back: u8,
        limit: u8,
    },
    /// A compaction `back` revisions before the current one.
    Compact { back: u8 },
    /// A change-feed replay from `back` revisions back.
    Feed { back: u8 },
    /// A fresh read of every live key through another handle on the same history (a second
    /// layer on etcd; the same layer locally).
    OtherReads,
    /// The layer closed and opened again.
    Reopen,
}

/// The steps of the model proptests, transactions the likeliest.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (proptest::option::of((0..KEYS.len(), 0u8..4)), proptest::collection::vec((0..KEYS.len(), proptest::option::of(0u8..3)), 1..4))
            .prop_map(|(guard, writes)| Op::Txn { guard, writes }),
        2 => (0..KEYS.len(), 0u8..8).prop_map(|(key, back)| Op::Get { key, back }),
        2 => (0..KEYS.len(), 0..KEYS.len(), 0u8..8, 0u8..4).prop_map(|(lo, hi, back, limit)| Op::Range { lo, hi, back, limit }),
        1 => (0u8..6).prop_map(|back| Op::Compact { back }),
        1 => (0u8..8).prop_map(|back| Op::Feed { back }),
        1 => Just(Op::OtherReads),
        1 => Just(Op::Reopen),
    ]
}

/// A generated transaction: a compare on one key (0 absent, 1 the real mod revision, 2+ a
/// wrong one) and writes (`None` deletes).
pub type Guard = Option<(usize, u8)>;
pub type Writes = Vec<(usize, Option<u8>)>;

/// The transaction of `guard` and `writes`, given the layer's mod revision of the guarded key
/// (`actual`, 0 = absent), and what the layer must answer: whether the compare holds and
/// whether a key is written twice.
pub struct Planned {
    pub txn: Txn,
    pub passes: bool,
    pub duplicate: bool,
}

pub fn plan(guard: Guard, writes: &Writes, actual: impl Fn(&[u8]) -> u64) -> Planned {
    let mut txn = Txn::new();
    let mut passes = true;
    if let Some((k, g)) = guard {
        let key = KEYS[k].as_bytes();
        let actual = actual(key);
        let expected = match g {
            0 => 0,
            1 => actual,
            _ => actual + u64::from(g),
        };
        passes = expected == actual;
        txn = txn.when_mod_revision(key, expected);
    }
    let mut seen = std::collections::HashSet::new();
    let mut duplicate = false;
    for (k, v) in writes {
        duplicate |= !seen.insert(*k);
        txn = match v {
            Some(v) => txn.put(KEYS[*k], value(*v)),
            None => txn.delete(KEYS[*k]),
        };
    }
    Planned {
        txn,
        passes,
        duplicate,
    }
}

/// Checks a commit's answer against `planned` and, when it committed, applies `writes` to
/// the model. Returns the commit's answer and the model revision it took (`None`: refused, or
/// nothing changed).
pub fn check_commit(
    planned: &Planned,
    writes: &Writes,
    result: Result<TxnResult, MvccError>,
    model: &mut Model,
) -> Result<Option<(TxnResult, Option<u64>)>, TestCaseError> {
    if planned.duplicate {
        prop_assert!(
            matches!(result, Err(MvccError::InvalidTxn(_))),
            "{:?}",
            result
        );
        return Ok(None);
    }
    if !planned.passes {
        prop_assert!(
            matches!(result, Err(MvccError::CompareFailed { .. })),
            "{:?}",
            result
        );
        return Ok(None);
    }
    let result = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
    let committed = model.commit(
        writes
            .iter()
            .map(|(k, v)| (KEYS[*k].as_bytes().to_vec(), v.map(value))),
    );
    prop_assert_eq!(result.changed, committed.is_some());
    Ok(Some((result, committed)))
}

/// Checks a range read of `[lo, hi)` at model revision `rev` with `limit` (0 = all): the keys
/// and values, `more`, and the count of the whole range.
pub fn check_range(
    got: &RangeResult,
    model: &Model,
    rev: u64,
    (lo, hi): (&[u8], &[u8]),
    limit: u8,
) -> Result<(), TestCaseError> {
    let all: Vec<(Vec<u8>, Vec<u8>)> = model
        .live_at(rev)
        .into_iter()
        .filter(|(k, _)| k.as_slice() >= lo && k.as_slice() < hi)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let take = if limit == 0 {
        all.len()
    } else {
        usize::from(limit).min(all.len())
    };
    let kvs: Vec<(Vec<u8>, Vec<u8>)> = got
        .kvs
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.to_vec()))
        .collect();
    prop_assert_eq!(&kvs[..], &all[..take]);
    prop_assert_eq!(got.more, take < all.len());
    prop_assert_eq!(got.count, Some(all.len()));
    Ok(())
}

/// A range read of every key at the latest revision (`got`) against the model's live keys, each
/// with the layer's mod revision of its last write (`layer_revision` maps the model's revisions
/// to the layer's) and its value.
pub fn check_live(
    got: &RangeResult,
    model: &Model,
    layer_revision: impl Fn(u64) -> u64,
) -> Result<(), TestCaseError> {
    let kvs: Vec<(Vec<u8>, u64, Vec<u8>)> = got
        .kvs
        .iter()
        .map(|kv| (kv.key.clone(), kv.mod_revision, kv.value.to_vec()))
        .collect();
    let want: Vec<(Vec<u8>, u64, Vec<u8>)> = model
        .live_at(model.current())
        .into_iter()
        .map(|(k, v)| {
            let (at, _) = model.latest(k).expect("live");
            (k.clone(), layer_revision(at), v.clone())
        })
        .collect();
    prop_assert_eq!(kvs, want);
    Ok(())
}
