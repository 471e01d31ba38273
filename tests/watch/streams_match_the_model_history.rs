//! Property test: random writes and compactions, watches started at random revisions with
//! random selectors (some read slowly, after all writes). Each watcher's stream equals the
//! model's filtered event history after its start, or is a single terminal 410 when the model
//! says its start was compacted, whether read copied, shared or as an async stream.
use crate::common;
use std::time::Duration;

use apistore::{Store, WatchEvent, WatchParams};
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Write(WriteOp),
    Watch {
        back: usize,
        scope: Option<usize>,
        selector: usize,
    },
}

const NS: [&str; 2] = ["a", "b"];
const LABELS: [&str; 2] = ["x", "y"];
const SELECTORS: [&str; 3] = ["", "app=x", "app!=x"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        9 => write_op(2, 4, 2).prop_map(Op::Write),
        3 => (0..8usize, proptest::option::of(0..2usize), 0..3usize).prop_map(|(back, scope, selector)| Op::Watch { back, scope, selector }),
    ]
}

fn matches(selector: &str, label: &str) -> bool {
    match selector {
        "" => true,
        "app=x" => label == "x",
        _ => label != "x",
    }
}

/// What a watch from `after` with `scope` and `sel` must deliver: the model's changes after
/// it, as the selector sees them (an object leaving the selection is a DELETED event).
fn expected(model: &LabelModel, after: u64, scope: Option<usize>, sel: &str) -> Vec<String> {
    let mut out = Vec::new();
    for change in model.changes_after(after) {
        let (rev, key, prev, new) = (change.revision, &change.key, &change.prev, &change.value);
        if scope.is_some_and(|ns| !key.starts_with(&format!("{}/", NS[ns]))) {
            continue;
        }
        let was = prev.as_deref().is_some_and(|l| matches(sel, l));
        let is = new.as_deref().is_some_and(|l| matches(sel, l));
        let kind = match (was, is, new.is_some()) {
            (false, true, _) => "ADDED",
            (true, true, _) => "MODIFIED",
            (true, false, _) => "DELETED",
            _ => continue,
        };
        out.push(format!("{kind} {key}@{rev}"));
    }
    out
}

/// The events of `watch` read as an async stream, until none comes for `quiet`.
fn stream_events(watch: &mut apistore::Watch<Pod>, quiet: Duration) -> Vec<WatchEvent<Pod>> {
    use futures_core::Stream;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut events = Vec::new();
        loop {
            let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut *watch).poll_next(cx));
            match tokio::time::timeout(quiet, next).await {
                Ok(Some(event)) => events.push(event),
                _ => return events,
            }
        }
    })
}

fn run(store: &Store, ops: Vec<Op>) {
    let mut model = LabelModel::new();
    let mut watches = Vec::new();
    for op in ops {
        match op {
            Op::Write(write) => apply_write(store, &mut model, &NS, &LABELS, &write),
            Op::Watch {
                back,
                scope,
                selector,
            } => {
                let start = store.resource_version().saturating_sub(back as u64).max(1);
                let wp = WatchParams::default().labels(SELECTORS[selector]);
                let w = match scope {
                    Some(ns) => store
                        .namespaced::<Pod>(NS[ns])
                        .watch(&wp, &start.to_string()),
                    None => store.all::<Pod>().watch(&wp, &start.to_string()),
                }
                .unwrap();
                // The model decides now whether the start is still retained.
                watches.push((
                    w,
                    start,
                    scope,
                    SELECTORS[selector],
                    model.is_compacted(start),
                ));
            }
        }
    }
    for (i, (mut w, start, scope, sel, expired_at_open)) in watches.into_iter().enumerate() {
        let want = expected(&model, start, scope, sel);
        // Watchers take their events copied, shared (no copies), or as an async stream; all
        // must see the model.
        let got: Vec<_> = match i % 3 {
            0 => std::iter::from_fn(|| w.recv_timeout(Duration::from_millis(30))).collect(),
            1 => std::iter::from_fn(|| {
                w.recv_timeout_shared(Duration::from_millis(30))
                    .map(WatchEvent::into_owned)
            })
            .collect(),
            _ => stream_events(&mut w, Duration::from_millis(30)),
        };
        // A watcher reads lazily: if compaction passed its start before it read, its history
        // is gone and its stream is exactly one 410 Expired event.
        if expired_at_open || model.is_compacted(start) {
            assert!(
                matches!(&got[..], [WatchEvent::Error(s)] if s.code == Some(410)),
                "{got:?}"
            );
            continue;
        }
        let described: Vec<String> = got.iter().map(describe).collect();
        assert_eq!(
            described, want,
            "watch from {start} scope {scope:?} selector {sel:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn watch_streams_on_memory_equal_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(&Store::memory(), ops);
    }
}
