//! Guaranteed update: the closure is re-run on fresh state when a
//! concurrent write wins; unchanged data writes nothing; client changes to owned fields are
//! ignored.
use crate::common;
use std::sync::{Arc, Barrier};

use apistore::{Error, PostParams, Preconditions};
use common::*;

#[test]
fn concurrent_updates_both_land_and_the_loser_sees_fresh_state() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let gate = Arc::new(Barrier::new(2));
        let slow = {
            let pods = pods.clone();
            let calls = calls.clone();
            let gate = gate.clone();
            std::thread::spawn(move || {
                pods.update("foo", |mut p| {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        gate.wait(); // let the other writer start
                        gate.wait(); // and finish
                    }
                    p.spec.containers.push("slow".into());
                    Ok(p)
                })
                .unwrap()
            })
        };
        gate.wait();
        pods.update("foo", |mut p| {
            p.spec.containers.push("fast".into());
            Ok(p)
        })
        .unwrap();
        gate.wait();
        let out = slow.join().unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(
            out.spec.containers,
            vec!["fast".to_string(), "slow".to_string()]
        );
        assert_eq!(out.metadata.generation, Some(3));
    });
}

#[test]
fn an_update_that_returns_the_object_unchanged_consumes_no_revision() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
        let before = store.resource_version();
        let out = pods.update("foo", Ok).unwrap();
        assert_eq!(out, created);
        let out = pods
            .update("foo", |mut p| {
                p.metadata.self_link = Some("/api/v1/whatever".into());
                p.metadata.generation = Some(9);
                Ok(p)
            })
            .unwrap();
        assert_eq!(out, created);
        assert_nothing_written_since(store, before);
        let next = pods.create(&PostParams::default(), &pod("bar")).unwrap();
        let since = store.mvcc().changes_after(before, usize::MAX).unwrap();
        assert_eq!(
            since.iter().map(|c| c.revision).collect::<Vec<_>>(),
            vec![rv(&next)],
            "the create is the only write since"
        );
    });
}

#[test]
fn an_error_from_the_closure_aborts_the_update() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let before = store.resource_version();
    let err = pods
        .update("foo", |_| {
            Err(Error::BadRequest {
                message: "no".into(),
            })
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "no");
    assert_nothing_written_since(&store, before);
}

#[test]
fn update_of_a_missing_object_is_not_found() {
    let store = apistore::Store::memory();
    assert!(store
        .namespaced::<Pod>("ns")
        .update("foo", Ok)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn preconditions_are_checked_against_the_state_offered() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let created = pods.create(&PostParams::default(), &pod("foo")).unwrap();
    let wrong = Preconditions {
        uid: Some("B".into()),
        resource_version: None,
    };
    let err = pods
        .update_with("foo", &PostParams::default(), Some(&wrong), |mut p| {
            p.spec.node_name = "x".into();
            Ok(p)
        })
        .unwrap_err();
    assert!(err.is_conflict());
    let right = Preconditions {
        uid: created.metadata.uid.clone(),
        resource_version: None,
    };
    let out = pods
        .update_with("foo", &PostParams::default(), Some(&right), |mut p| {
            p.spec.node_name = "x".into();
            Ok(p)
        })
        .unwrap();
    assert_eq!(out.spec.node_name, "x");
}
