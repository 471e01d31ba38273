//! Faults between a store and etcd, injected by a proxy in front of the member: reset
//! connections, a partition (requests time out), and a watch that etcd cancels because the
//! revision it was to resume from has been compacted.

use apistore::backend::KeyRange;
use apistore::mvcc::{ChangeKind, EtcdOptions, Mvcc, MvccError, RangeOptions, Txn};
use apistore::testing::etcd::{self, Link, Proxy};
use std::time::{Duration, Instant};

fn open(endpoint: String, prefix: &str) -> Mvcc {
    Mvcc::open_etcd(
        EtcdOptions::new([endpoint])
            .under(prefix.to_string())
            .request_timeout(Duration::from_secs(1)),
    )
    .expect("open")
}

/// Waits until `mvcc` reads fresh again (its watch resumed).
fn fresh(mvcc: &Mvcc) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match mvcc.sync() {
            Ok(at) => return at,
            Err(e) if Instant::now() > deadline => panic!("never fresh again: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// (revision, key, value or `None` for a delete) of every change after `after`.
fn changes(mvcc: &Mvcc, after: u64) -> Vec<(u64, String, Option<String>)> {
    mvcc.changes_after(after, usize::MAX)
        .expect("changes")
        .into_iter()
        .map(|c| {
            (
                c.revision,
                String::from_utf8_lossy(&c.kv.key).into_owned(),
                (c.kind == ChangeKind::Put)
                    .then(|| String::from_utf8_lossy(&c.kv.value).into_owned()),
            )
        })
        .collect()
}

fn state(mvcc: &Mvcc) -> Vec<(String, String)> {
    mvcc.range(&KeyRange::all(), RangeOptions::default())
        .expect("range")
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        })
        .collect()
}

#[test]
fn reset_connections_fail_writes_cleanly_and_the_watch_resumes_without_gap_or_duplicate() {
    let cluster = etcd::shared();
    let prefix = etcd::unique_prefix("reset");
    let proxy = Proxy::start(&cluster.endpoint(0));
    let store = open(proxy.endpoint(), &prefix);
    let direct = open(cluster.endpoint(0), &prefix);
    let start = store.current_revision();
    store
        .commit(Txn::new().put("a", "1"))
        .expect("write before");

    proxy.set(Link::Cut);
    let refused = store.commit(Txn::new().put("lost", "x"));
    assert!(
        matches!(refused, Err(MvccError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(matches!(store.sync(), Err(MvccError::Unavailable(_))));
    // Reads that ask for no freshness keep serving the index.
    assert_eq!(state(&store), vec![("a".to_string(), "1".to_string())]);
    // Meanwhile others write.
    let mut written = vec![];
    for (key, value) in [("b", Some("2")), ("a", Some("3")), ("b", None)] {
        let txn = match value {
            Some(v) => Txn::new().put(key, v),
            None => Txn::new().delete(key),
        };
        let r = direct.commit(txn).expect("direct write");
        written.push((r.revision, key.to_string(), value.map(str::to_string)));
    }

    proxy.set(Link::Up);
    fresh(&store);
    let after_first = changes(&store, start);
    assert_eq!(after_first.len(), 4, "{after_first:?}");
    assert_eq!(
        &after_first[1..],
        &written[..],
        "every change once, in order"
    );
    assert_eq!(state(&store), state(&direct));
    assert!(
        store.get(b"lost", 0).expect("get").is_none(),
        "the refused write left no trace"
    );
    assert!(
        store.commit(Txn::new().put("c", "4")).is_ok(),
        "writes work again"
    );
}

#[test]
fn a_partition_times_writes_out_and_heals() {
    let cluster = etcd::shared();
    let prefix = etcd::unique_prefix("partition");
    let proxy = Proxy::start(&cluster.endpoint(0));
    let store = open(proxy.endpoint(), &prefix);
    store
        .commit(Txn::new().put("a", "1"))
        .expect("write before");

    proxy.set(Link::Blackhole);
    let started = Instant::now();
    let timed_out = store.commit(Txn::new().put("b", "2"));
    assert!(
        matches!(timed_out, Err(MvccError::Unavailable(_))),
        "{timed_out:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded by the request timeout"
    );
    assert!(store
        .get(b"a", 0)
        .expect("the index still serves")
        .is_some());

    proxy.set(Link::Up);
    let deadline = Instant::now() + Duration::from_secs(30);
    // The timed-out write may or may not have been committed: its outcome was unknown. A
    // write after the partition is acknowledged once the link is back.
    loop {
        match store.commit(Txn::new().put("c", "3")) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => panic!("writes never recovered: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    fresh(&store);
    assert!(store.get(b"c", 0).expect("get").is_some());
}

#[test]
fn a_watch_cancelled_by_compaction_relists_and_the_feed_goes_on_without_a_gap() {
    let cluster = etcd::shared();
    let prefix = etcd::unique_prefix("compacted");
    let proxy = Proxy::start(&cluster.endpoint(0));
    let store = open(proxy.endpoint(), &prefix);
    let direct = open(cluster.endpoint(0), &prefix);
    for (key, value) in [("a", "1"), ("b", "1"), ("c", "1")] {
        store.commit(Txn::new().put(key, value)).expect("write");
    }
    let position = store.current_revision();

    proxy.set(Link::Cut);
    direct.commit(Txn::new().put("a", "2")).expect("update");
    direct.commit(Txn::new().delete("b")).expect("delete");
    direct.commit(Txn::new().put("d", "1")).expect("create");
    direct
        .commit(Txn::new().put("d", "2"))
        .expect("update again");
    // Compacted past what the store has seen: its watch cannot resume there.
    let last = direct.commit(Txn::new().put("e", "1")).expect("last");
    direct.compact(last.revision).expect("compact");

    proxy.set(Link::Up);
    fresh(&store);
    assert_eq!(state(&store), state(&direct));
    // The feed from the store's old position: one change per key that differs, at each
    // key's revision (the deletion at the read's), in revision order, none repeated.
    let seen = changes(&store, position);
    let keys: Vec<&str> = seen.iter().map(|(_, k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, ["a", "b", "d", "e"], "{seen:?}");
    assert_eq!(keys.len(), 4, "no key twice: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    let b = seen.iter().find(|(_, k, _)| k == "b").expect("b");
    assert_eq!(b.2, None, "b was deleted");
    let d = seen.iter().find(|(_, k, _)| k == "d").expect("d");
    assert_eq!(d.2.as_deref(), Some("2"), "d at its last value");
    // And the store goes on following etcd.
    direct.commit(Txn::new().put("f", "1")).expect("after");
    fresh(&store);
    assert_eq!(state(&store), state(&direct));
}

#[test]
fn writes_through_a_link_reset_again_and_again_are_acknowledged_only_when_stored() {
    let cluster = etcd::shared();
    let prefix = etcd::unique_prefix("flapping");
    let proxy = Proxy::start(&cluster.endpoint(0));
    let store = open(proxy.endpoint(), &prefix);
    let direct = open(cluster.endpoint(0), &prefix);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acknowledged = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(30));
                proxy.set(Link::Cut);
                std::thread::sleep(Duration::from_millis(5));
                proxy.set(Link::Up);
            }
        });
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = &store;
                scope.spawn(move || {
                    let mut acknowledged = Vec::new();
                    for i in 0..20 {
                        let key = format!("w{w}-{i}");
                        if let Ok(r) =
                            store.commit(Txn::new().when_absent(key.clone()).put(key.clone(), "v"))
                        {
                            acknowledged.push((key, r.revision));
                        }
                    }
                    acknowledged
                })
            })
            .collect();
        let acknowledged: Vec<(String, u64)> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        acknowledged
    });
    assert!(!acknowledged.is_empty());
    fresh(&direct);
    for (key, revision) in &acknowledged {
        let stored = direct
            .get(key.as_bytes(), 0)
            .expect("get")
            .expect("acknowledged, so stored");
        assert_eq!(
            stored.mod_revision, *revision,
            "{key} at the revision acknowledged"
        );
    }
}
