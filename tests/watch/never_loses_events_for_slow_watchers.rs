//! Delivery: writers never wait for
//! watchers; a slow watcher catches up from history and loses nothing; only compaction of the
//! history it still needs ends it, with one 410 event; many writers and watchers all see every
//! event once, in revision order.
use crate::common;
use std::time::{Duration, Instant};

use apistore::{PostParams, WatchEvent, WatchParams};
use common::*;

#[test]
fn watchers_that_never_read_do_not_delay_a_reader_or_the_writers() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let start = store.resource_version().to_string();
    let _idle: Vec<_> = (0..50)
        .map(|_| pods.watch(&WatchParams::default(), &start).unwrap())
        .collect();
    let mut reader = pods.watch(&WatchParams::default(), &start).unwrap();
    let began = Instant::now();
    for i in 0..22 {
        let created = pods
            .create(&PostParams::default(), &pod(&format!("p{i}")))
            .unwrap();
        match reader.recv_timeout(Duration::from_secs(2)) {
            Some(WatchEvent::Added(p)) => assert_eq!(rv(&p), rv(&created)),
            other => panic!("{other:?}"),
        }
    }
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_slow_watcher_catches_up_from_history_without_loss() {
    on_each_store(|store| {
        let pods = pod_api(store, "ns");
        let start = store.resource_version().to_string();
        let mut slow = pods.watch(&WatchParams::default(), &start).unwrap();
        let mut expected = Vec::new();
        for i in 0..300 {
            expected.push(rv(&pods
                .create(&PostParams::default(), &pod(&format!("p{i:03}")))
                .unwrap()));
        }
        let got: Vec<u64> = std::iter::from_fn(|| slow.recv_timeout(Duration::from_millis(200)))
            .map(|e| match e {
                WatchEvent::Added(p) => rv(&p),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, expected);
    });
}

#[test]
fn compaction_of_unread_history_ends_a_slow_watcher_with_one_410() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let start = store.resource_version().to_string();
    let mut slow = pods.watch(&WatchParams::default(), &start).unwrap();
    for i in 0..5 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}")))
            .unwrap();
    }
    store.compact(store.resource_version()).unwrap();
    let events: Vec<_> =
        std::iter::from_fn(|| slow.recv_timeout(Duration::from_millis(200))).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], WatchEvent::Error(s) if s.code == Some(410) && s.reason.as_deref() == Some("Expired"))
    );
    assert!(slow.next().is_none());
}

#[test]
fn eight_writers_and_sixty_four_watchers_see_every_event_once_in_order() {
    let store = apistore::Store::memory();
    let start = store.resource_version().to_string();
    let watchers: Vec<_> = (0..64)
        .map(|_| {
            store
                .all::<Pod>()
                .watch(&WatchParams::default(), &start)
                .unwrap()
                .into_receiver(16)
        })
        .collect();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let pods = pod_api(&store, &format!("ns-{w}"));
                for i in 0..50 {
                    pods.create(&PostParams::default(), &pod(&format!("p{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let total = 8 * 50;
    for receiver in &watchers {
        let mut revs = Vec::new();
        while revs.len() < total {
            match receiver.recv_timeout(Duration::from_secs(5)) {
                Ok(WatchEvent::Added(p)) => revs.push(rv(&p)),
                other => panic!("{other:?}"),
            }
        }
        assert!(revs.windows(2).all(|w| w[0] < w[1]));
        assert!(
            receiver.recv_timeout(Duration::from_millis(50)).is_err(),
            "no extra events"
        );
    }
}

#[test]
fn bookmarks_report_progress_in_order_with_events() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let start = store.resource_version().to_string();
    let mut w = pods
        .watch(&WatchParams::default().bookmarks(true), &start)
        .unwrap();
    let writer = {
        let pods = pods.clone();
        std::thread::spawn(move || {
            for i in 0..100 {
                pods.create(&PostParams::default(), &pod(&format!("p{i}")))
                    .unwrap();
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };
    let mut seen_bookmark = false;
    let mut last = 0u64;
    let mut events = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while events < 100 && Instant::now() < deadline {
        match w.recv_timeout(Duration::from_millis(500)) {
            Some(WatchEvent::Added(p)) => {
                assert!(rv(&p) > last, "events come after every earlier bookmark");
                last = rv(&p);
                events += 1;
            }
            Some(WatchEvent::Bookmark(b)) => {
                let at: u64 = b.metadata.resource_version.parse().unwrap();
                assert!(at >= last, "bookmarks never go back");
                last = at;
                seen_bookmark = true;
            }
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    writer.join().unwrap();
    assert_eq!(events, 100);
    assert!(seen_bookmark);
}

#[test]
fn a_watch_ends_at_its_timeout_and_on_stop() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    let mut w = pods.watch(&WatchParams::default().timeout(1), "").unwrap();
    let began = Instant::now();
    assert!(w.next().is_none());
    assert!(began.elapsed() >= Duration::from_millis(900));
    let mut s = pods.watch(&WatchParams::default(), "").unwrap();
    s.stop();
    pods.create(&PostParams::default(), &pod("x")).unwrap();
    assert!(s.recv_timeout(Duration::from_millis(100)).is_none());
}

#[test]
fn a_receiver_works_in_select_and_dropping_it_ends_the_watch() {
    let store = apistore::Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    let receiver = pods
        .watch(&WatchParams::default(), "")
        .unwrap()
        .into_receiver(4);
    pods.create(&PostParams::default(), &pod("x")).unwrap();
    crossbeam_channel::select! {
        recv(receiver.receiver()) -> event => assert!(matches!(event, Ok(WatchEvent::Added(_)))),
        default(Duration::from_secs(2)) => panic!("no event"),
    }
    drop(receiver);
    pods.create(&PostParams::default(), &pod("y")).unwrap();
}
