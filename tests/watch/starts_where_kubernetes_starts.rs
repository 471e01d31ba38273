//! Watch start semantics: "" and "0" send the
//! current state first; N sends changes after N; a compacted N is one terminal 410 event.
use crate::common;
use std::time::Duration;

use apistore::{DeleteParams, PostParams, WatchEvent, WatchParams};
use common::*;

const QUIET: Duration = Duration::from_millis(150);

#[test]
fn watch_from_zero_sends_the_current_state_then_changes() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let foo = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let mut w = pods.watch(&WatchParams::default(), "0").unwrap();
        assert_eq!(
            drain(&mut w, QUIET, true),
            [format!("ADDED ns/foo@{}", rv(&foo))]
        );
        let updated = pods
            .update("foo", |mut p| {
                p.spec.node_name = "a".into();
                Ok(p)
            })
            .unwrap();
        assert_eq!(
            drain(&mut w, QUIET, true),
            [format!("MODIFIED ns/foo@{}", rv(&updated))]
        );
        let mut again = pods.watch(&WatchParams::default(), "0").unwrap();
        assert_eq!(
            drain(&mut again, QUIET, true),
            [format!("ADDED ns/foo@{}", rv(&updated))]
        );
        let newest = pods
            .update("foo", |mut p| {
                p.spec.node_name = "b".into();
                Ok(p)
            })
            .unwrap();
        store.compact(rv(&newest)).unwrap();
        let mut after = pods.watch(&WatchParams::default(), "").unwrap();
        assert_eq!(
            drain(&mut after, QUIET, true),
            [format!("ADDED ns/foo@{}", rv(&newest))]
        );
        let mut too_old = pods
            .watch(&WatchParams::default(), &rv(&foo).to_string())
            .unwrap();
        let events: Vec<_> = std::iter::from_fn(|| too_old.recv_timeout(QUIET)).collect();
        assert_eq!(events.len(), 1, "exactly one terminal event");
        match &events[0] {
            WatchEvent::Error(status) => {
                assert_eq!(status.code, Some(410));
                assert_eq!(status.reason.as_deref(), Some("Expired"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(
            too_old.next().is_none(),
            "the stream is closed after the error"
        );
    });
}

#[test]
fn watch_from_a_revision_sends_only_later_changes() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let foo = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let mut w = pods
            .watch(&WatchParams::default(), &rv(&foo).to_string())
            .unwrap();
        let updated = pods
            .update("foo", |mut p| {
                p.spec.node_name = "a".into();
                Ok(p)
            })
            .unwrap();
        assert_eq!(
            drain(&mut w, QUIET, true),
            [format!("MODIFIED ns/foo@{}", rv(&updated))]
        );
        let deleted = pods.delete("foo", &DeleteParams::default()).unwrap();
        let events: Vec<_> = std::iter::from_fn(|| w.recv_timeout(QUIET)).collect();
        assert_eq!(events.len(), 1);
        match &events[0] {
            WatchEvent::Deleted(obj) => assert_eq!(
                obj, &deleted,
                "the DELETED object equals the one delete returned"
            ),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_future_revision_is_accepted_and_waits_for_it() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let start = store.resource_version() + 2;
    let mut w = pods
        .watch(&WatchParams::default(), &start.to_string())
        .unwrap();
    pods.create(&PostParams::default(), &pod("a")).unwrap();
    pods.create(&PostParams::default(), &pod("b")).unwrap();
    let c = pods.create(&PostParams::default(), &pod("c")).unwrap();
    assert_eq!(
        drain(&mut w, QUIET, true),
        [format!("ADDED ns/c@{}", rv(&c))]
    );
}

#[test]
fn initial_events_end_with_a_bookmark_at_the_global_revision() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns-foo");
        for i in 1..=5 {
            pods.create(&PostParams::default(), &pod(&format!("pod-{i}")))
                .unwrap();
        }
        let other = store
            .namespaced::<Pod>("other-ns-foo")
            .create(&PostParams::default(), &pod("pod-1"))
            .unwrap();
        let mut w = pods
            .watch(&WatchParams::default().initial_events(), "")
            .unwrap();
        let mut events = Vec::new();
        while let Some(e) = w.recv_timeout(QUIET) {
            let end = matches!(&e, WatchEvent::Bookmark(b) if b.metadata.annotations.get("k8s.io/initial-events-end").map(String::as_str) == Some("true"));
            events.push(e);
            if end {
                break;
            }
        }
        let names: Vec<String> = events.iter().map(describe).collect();
        assert_eq!(names.len(), 6, "{names:?}");
        assert!(names[..5]
            .iter()
            .all(|n| n.starts_with("ADDED ns-foo/pod-")));
        assert_eq!(names[5], format!("BOOKMARK@{}", rv(&other)));
        pods.create(&PostParams::default(), &pod("pod-6")).unwrap();
        assert_eq!(drain(&mut w, QUIET, true).len(), 1);
    });
}

#[test]
fn the_watch_semantics_matrix_of_start_options() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let first = pods.create(&PostParams::default(), &pod("pod-1")).unwrap();
    pods.create(&PostParams::default(), &pod("pod-2")).unwrap();
    let third = pods.create(&PostParams::default(), &pod("pod-3")).unwrap();
    let current = store.resource_version().to_string();
    let before_first = (rv(&first) - 1).to_string();
    let cases: Vec<(WatchParams, &str, usize)> = vec![
        (WatchParams::default(), "", 3),
        (WatchParams::default(), "0", 3),
        (WatchParams::default(), &current, 0),
        (WatchParams::default(), &before_first, 3),
        (WatchParams::default().initial_events(), "", 3),
        (WatchParams::default().initial_events(), "0", 3),
        (WatchParams::default().initial_events(), &current, 3),
        // sendInitialEvents=false said explicitly: no initial events from ""/"0"/now, and
        // from an older revision the history after it, as real events.
        (WatchParams::default().send_initial_events(false), "", 0),
        (WatchParams::default().send_initial_events(false), "0", 0),
        (
            WatchParams::default().send_initial_events(false),
            &current,
            0,
        ),
        (
            WatchParams::default().send_initial_events(false),
            &before_first,
            3,
        ),
        (
            WatchParams::default()
                .send_initial_events(false)
                .bookmarks(true),
            "",
            0,
        ),
        (
            WatchParams {
                send_initial_events: Some(true),
                version_match: apistore::VersionMatch::NotOlderThan,
                bookmarks: false,
                ..WatchParams::default()
            },
            "",
            3,
        ),
    ];
    let mut watches: Vec<_> = cases
        .iter()
        .map(|(wp, version, initial)| {
            (
                pods.watch(wp, version).unwrap(),
                *initial,
                wp.clone(),
                version.to_string(),
            )
        })
        .collect();
    pods.create(&PostParams::default(), &pod("pod-4")).unwrap();
    pods.create(&PostParams::default(), &pod("pod-5")).unwrap();
    for (w, initial, wp, version) in watches.iter_mut() {
        let got = drain(w, QUIET, true);
        let mut expected: Vec<String> = (1..=*initial).map(|i| format!("ns/pod-{i}")).collect();
        expected.push("ns/pod-4".into());
        expected.push("ns/pod-5".into());
        let names: Vec<String> = got
            .iter()
            .map(|e| {
                e.split(' ')
                    .nth(1)
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(names, expected, "{wp:?} from {version:?}");
        assert!(got.iter().all(|e| e.starts_with("ADDED")), "{got:?}");
    }
    let err = pods
        .watch(
            &WatchParams::default().initial_events(),
            &(rv(&third) + 100).to_string(),
        )
        .unwrap();
    let events: Vec<_> = err.take(2).collect();
    assert!(
        matches!(&events[..], [WatchEvent::Error(s)] if s.code == Some(504)),
        "{events:?}"
    );
}

#[test]
fn a_single_object_watch_by_name_reports_only_that_object() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    for i in 1..=5 {
        pods.create(&PostParams::default(), &pod(&format!("pod-{i}")))
            .unwrap();
    }
    let last = store.resource_version();
    let mut w = store
        .all::<Pod>()
        .watch(
            &WatchParams::default()
                .fields("metadata.name=pod-1")
                .initial_events(),
            "",
        )
        .unwrap();
    let got = drain(&mut w, QUIET, false);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("ADDED ns/pod-1@"));
    assert_eq!(got[1], format!("BOOKMARK@{last}"));
    pods.update("pod-2", |mut p| {
        p.spec.node_name = "x".into();
        Ok(p)
    })
    .unwrap();
    assert!(drain(&mut w, QUIET, true).is_empty());
}

#[test]
fn send_initial_events_needs_resource_version_match_not_older_than_as_upstream_validates() {
    use apistore::VersionMatch;
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let forbidden = |wp: WatchParams| -> Vec<String> {
        let err = pods.watch(&wp, "").unwrap_err();
        assert!(err.is_invalid(), "{wp:?}: {err}");
        err.causes()
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    c.field.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or("")
                )
            })
            .collect()
    };
    for send in [true, false] {
        let causes = forbidden(WatchParams {
            send_initial_events: Some(send),
            ..WatchParams::default()
        });
        assert_eq!(
            causes,
            vec!["resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"]
        );
    }
    assert_eq!(
        forbidden(WatchParams {
            version_match: VersionMatch::NotOlderThan,
            ..WatchParams::default()
        }),
        vec!["resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"]
    );
    assert_eq!(
        forbidden(WatchParams {
            send_initial_events: Some(true),
            version_match: VersionMatch::Exact,
            ..WatchParams::default()
        }),
        vec![
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            "resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"",
        ]
    );
    assert!(pods
        .watch(&WatchParams::default().initial_events(), "")
        .is_ok());
    assert!(pods
        .watch(&WatchParams::default().send_initial_events(false), "0")
        .is_ok());
}
