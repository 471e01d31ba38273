//! Online backup and restore (`Store::snapshot`, `Store::restore`): a snapshot taken while
//! writers keep writing restores, on every engine, to exactly the state at the snapshot's
//! revision — every object with its resourceVersion, uid and creation timestamp, and the
//! revision counter; a damaged snapshot and a non-empty target are refused with typed errors,
//! and nothing is created then.
use crate::common;
use apistore::ObjectMetaExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use apistore::mvcc::MvccError;
use apistore::testing::model::History;
use apistore::{Config, DeleteParams, Error, ListParams, PostParams, Store};
use common::*;

/// What a restored store must show of a pod: name → (resourceVersion, uid, created, label).
type Seen = (u64, String, String, String);

fn describe(pod: &Pod) -> Seen {
    (
        rv(pod),
        pod.metadata.uid.clone().unwrap_or_default(),
        pod.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| serde_json::to_string(t).unwrap())
            .unwrap_or_default(),
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("v").cloned())
            .unwrap_or_default(),
    )
}

/// Every pod of `store` in every namespace, keyed `namespace/name`.
fn pods_of(store: &Store) -> Vec<(String, Seen)> {
    store
        .all::<Pod>()
        .list(&ListParams::default())
        .expect("list")
        .items
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p.metadata.namespace_str(), p.metadata.name_str()),
                describe(p),
            )
        })
        .collect()
}

/// Writes from three threads (creates, updates, deletes) until told to stop; returns every
/// acknowledged write as (revision, key, what the pod became).
fn write_until(store: &Store, stop: &AtomicBool) -> Vec<(u64, String, Option<Seen>)> {
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..3)
            .map(|t| {
                s.spawn(move || {
                    let pods = store.namespaced::<Pod>(&format!("ns-{t}"));
                    let mut done = Vec::new();
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) || i < 30 {
                        let name = format!("p{}", i % 12);
                        let key = format!("ns-{t}/{name}");
                        let written = match i % 5 {
                            0..=2 => match pods.get_opt(&name).expect("get") {
                                None => pods.create(
                                    &PostParams::default(),
                                    &labelled(&name, &[("v", &i.to_string())]),
                                ),
                                Some(_) => pods.update(&name, |mut p| {
                                    p.metadata.labels =
                                        Some([("v".to_string(), i.to_string())].into());
                                    Ok(p)
                                }),
                            }
                            .map(|p| (rv(&p), Some(describe(&p)))),
                            _ => pods
                                .delete(&name, &DeleteParams::default())
                                .map(|p| (rv(&p), None)),
                        };
                        match written {
                            Ok((revision, pod)) => done.push((revision, key, pod)),
                            Err(e) => assert!(e.is_not_found(), "{e}"),
                        }
                        i += 1;
                    }
                    done
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect()
    })
}

/// The state at `revision` of the acknowledged writes, replayed in revision order.
fn state_at(mut writes: Vec<(u64, String, Option<Seen>)>, revision: u64) -> Vec<(String, Seen)> {
    writes.sort_by_key(|w| w.0);
    let mut model: History<String, Seen> = History::new();
    for (_, key, pod) in writes.into_iter().filter(|w| w.0 <= revision) {
        model.commit([(key, pod)]);
    }
    model
        .live_at(model.current())
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn restored_configs(dir: &Path) -> Vec<(&'static str, Config)> {
    vec![
        ("memory", Config::memory()),
        ("sled", Config::sled(dir.join("sled"))),
        ("redb", Config::redb(dir.join("redb"))),
        (
            "memory + log",
            Config::durable_memory(dir.join("durable-memory")),
        ),
    ]
}

#[test]
fn a_snapshot_taken_during_writes_restores_the_state_at_its_revision_on_every_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(Config::sled(dir.path().join("source"))).expect("open");
    let path = dir.path().join("backup.snap");
    let stop = AtomicBool::new(false);
    let (writes, revision) = std::thread::scope(|s| {
        let writer = s.spawn(|| write_until(&store, &stop));
        // Let the writers get going, then snapshot while they write.
        while store.resource_version() < 40 {
            std::thread::yield_now();
        }
        let revision = store.snapshot(&path).expect("snapshot");
        stop.store(true, Ordering::Relaxed);
        (writer.join().expect("writers"), revision)
    });
    assert!(
        writes.iter().any(|w| w.0 > revision),
        "writes went on after the snapshot's revision"
    );
    let expected = state_at(writes, revision);
    assert!(!expected.is_empty());
    for (engine, config) in restored_configs(dir.path()) {
        let restored = Store::restore(&path, config.clone()).expect(engine);
        assert_eq!(restored.resource_version(), revision, "{engine}");
        assert_eq!(pods_of(&restored), expected, "{engine}");
        // History before the snapshot is not in it: reads there are 410, as after compaction.
        let err = restored
            .all::<Pod>()
            .list(
                &ListParams::default()
                    .at(&(revision - 1).to_string())
                    .matching(apistore::VersionMatch::Exact),
            )
            .unwrap_err();
        assert!(err.is_gone(), "{engine}: {err}");
        // The next write takes the next revision, and a durable restore survives a reopen.
        let next = restored
            .namespaced::<Pod>("after")
            .create(&PostParams::default(), &pod("new"))
            .expect(engine);
        assert_eq!(rv(&next), revision + 1, "{engine}");
        if config.dir.is_some() {
            drop(restored);
            let reopened = Store::open(config).expect(engine);
            assert_eq!(reopened.resource_version(), revision + 1, "{engine}");
            let mut want = expected.clone();
            want.push(("after/new".into(), describe(&next)));
            want.sort();
            assert_eq!(pods_of(&reopened), want, "{engine} after a reopen");
        }
    }
}

fn is_damaged(err: &Error) -> bool {
    matches!(err, Error::Backend { source } if matches!(**source, MvccError::SnapshotDamaged { .. }))
}

#[test]
fn a_truncated_or_altered_snapshot_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::memory();
    for i in 0..5 {
        store
            .namespaced::<Pod>("ns")
            .create(&PostParams::default(), &pod(&format!("p{i}")))
            .expect("create");
    }
    let path = dir.path().join("good.snap");
    store.snapshot(&path).expect("snapshot");
    let bytes = std::fs::read(&path).expect("read");
    let target = dir.path().join("target");
    let damaged = [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("without its checksum", bytes[..bytes.len() - 32].to_vec()),
        ("with a flipped bit", {
            let mut b = bytes.clone();
            b[bytes.len() / 3] ^= 0x10;
            b
        }),
        ("empty", Vec::new()),
    ];
    for (what, content) in damaged {
        let bad = dir.path().join("bad.snap");
        std::fs::write(&bad, content).expect("write");
        let err = Store::restore(&bad, Config::sled(&target)).expect_err(what);
        assert!(is_damaged(&err), "{what}: {err:?}");
        assert!(!target.exists(), "{what}: nothing is created");
        let err = Store::restore(&bad, Config::memory()).expect_err(what);
        assert!(is_damaged(&err), "{what}: {err:?}");
    }
    // The good one still restores.
    let restored = Store::restore(&path, Config::sled(&target)).expect("restore");
    assert_eq!(pods_of(&restored), pods_of(&store));
}

#[test]
fn restoring_into_a_directory_that_is_not_empty_is_refused_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::memory();
    store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &pod("p"))
        .expect("create");
    let path = dir.path().join("backup.snap");
    store.snapshot(&path).expect("snapshot");
    let target = dir.path().join("in-use");
    let existing = Store::open(Config::sled(&target)).expect("open");
    existing
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &pod("mine"))
        .expect("create");
    drop(existing);
    let err = Store::restore(&path, Config::sled(&target)).expect_err("refused");
    assert!(
        matches!(&err, Error::Backend { source } if matches!(**source, MvccError::RestoreTargetNotEmpty { .. })),
        "{err:?}"
    );
    let reopened = Store::open(Config::sled(&target)).expect("reopen");
    let names: Vec<String> = pods_of(&reopened).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        vec!["ns/mine".to_string()],
        "the store there is untouched"
    );
}

#[test]
fn a_snapshot_file_is_replaced_whole_and_its_revision_is_the_store_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::memory();
    let path = dir.path().join("backup.snap");
    let first = store.snapshot(&path).expect("empty store");
    assert_eq!(first, store.resource_version());
    store
        .namespaced::<Pod>("ns")
        .create(&PostParams::default(), &pod("p"))
        .expect("create");
    let second = store.snapshot(&path).expect("again, over the first");
    assert_eq!(second, first + 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("backup.snap")]);
    let restored = Store::restore(&path, Config::memory()).expect("restore");
    assert_eq!(pods_of(&restored), pods_of(&store));
}

#[test]
fn a_second_store_on_a_directory_in_use_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = apistore::Store::open(apistore::Config::sled(dir.path())).unwrap();
    let started = std::time::Instant::now();
    let second = apistore::Store::open(apistore::Config::sled(dir.path())).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "it did not wait"
    );
    assert!(
        second
            .to_string()
            .contains(&dir.path().display().to_string()),
        "{second}"
    );
    drop(first);
    apistore::Store::open(apistore::Config::sled(dir.path())).expect("free again once closed");
}
