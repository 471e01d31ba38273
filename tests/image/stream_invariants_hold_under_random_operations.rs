//! Property test: random sequences of mappings, tag creates, replaces and deletes,
//! stream updates, image deletions and prunes keep the image API's invariants:
//! - every status tag's newest event is what an ImageStreamTag get returns (or the get is a
//!   404 naming `images` when the Image is gone, `imagestreamtags` when the event has none);
//! - stream and spec tag generations never decrease, and no spec tag is ahead of its stream;
//! - a watch on imagestreams sees every change exactly once, in order.
use apistore::ObjectMetaExt;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use apistore::image::{
    Image, ImageApi, ImageStream, ImageStreamMapping, ImageStreamTag, ObjectReference, TagReference,
};
use apistore::{DeleteParams, ObjectMeta, PostParams, Store, WatchEvent, WatchParams};
use proptest::prelude::*;

const STREAMS: [&str; 3] = ["s0", "s1", "s2"];
const TAGS: [&str; 4] = ["latest", "v1", "v2", "edge"];

#[derive(Clone, Debug)]
enum Op {
    Map {
        stream: usize,
        tag: usize,
        image: u8,
    },
    CreateTag {
        stream: usize,
        tag: usize,
        source: usize,
    },
    Annotate {
        stream: usize,
        tag: usize,
        value: u8,
    },
    DeleteTag {
        stream: usize,
        tag: usize,
    },
    ResetGeneration {
        stream: usize,
        tag: usize,
    },
    Relabel {
        stream: usize,
        value: u8,
    },
    DeleteImage {
        image: u8,
    },
    Prune {
        keep: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3usize, 0..4usize, 0..6u8).prop_map(|(stream, tag, image)| Op::Map { stream, tag, image }),
        3 => (0..3usize, 0..4usize, 0..6usize).prop_map(|(stream, tag, source)| Op::CreateTag { stream, tag, source }),
        2 => (0..3usize, 0..4usize, 0..3u8).prop_map(|(stream, tag, value)| Op::Annotate { stream, tag, value }),
        2 => (0..3usize, 0..4usize).prop_map(|(stream, tag)| Op::DeleteTag { stream, tag }),
        1 => (0..3usize, 0..4usize).prop_map(|(stream, tag)| Op::ResetGeneration { stream, tag }),
        1 => (0..3usize, 0..3u8).prop_map(|(stream, value)| Op::Relabel { stream, value }),
        1 => (0..6u8).prop_map(|image| Op::DeleteImage { image }),
        1 => (1..3usize).prop_map(|keep| Op::Prune { keep }),
    ]
}

fn digest(image: u8) -> String {
    crate::image_common::digest(&format!("{image:x}"))
}

/// Tag sources: DockerImage references (some pointing at a digest) and same-stream tags.
fn source(index: usize) -> TagReference {
    let (kind, name, reference) = match index {
        0 => ("DockerImage", "quay.io/a/b:1".to_string(), true),
        1 => ("DockerImage", format!("quay.io/a/b@{}", digest(1)), true),
        2 => ("DockerImage", "quay.io/a/c:2".to_string(), false),
        3 => ("ImageStreamTag", "latest".to_string(), false),
        4 => ("ImageStreamTag", "v1".to_string(), false),
        _ => ("ImageStreamTag", "s0:latest".to_string(), false),
    };
    TagReference {
        from: Some(ObjectReference {
            kind: kind.into(),
            name,
            ..ObjectReference::default()
        }),
        reference,
        ..TagReference::default()
    }
}

/// Runs `op`; returns whether it succeeded. Errors are part of the game (a tag that exists, a
/// stream that moved on): the invariants must hold whatever each call answered.
fn apply(api: &ImageApi, store: &Store, op: &Op) -> bool {
    let ns = "ns";
    match op {
        Op::Map { stream, tag, image } => api
            .mappings(ns)
            .create(&ImageStreamMapping {
                metadata: ObjectMeta {
                    name: Some(STREAMS[*stream].into()),
                    ..ObjectMeta::default()
                },
                image: Image {
                    metadata: ObjectMeta {
                        name: Some(digest(*image)),
                        ..ObjectMeta::default()
                    },
                    docker_image_reference: format!("quay.io/a/b@{}", digest(*image)),
                    ..Image::default()
                },
                tag: TAGS[*tag].into(),
                ..ImageStreamMapping::default()
            })
            .is_ok(),
        Op::CreateTag {
            stream,
            tag,
            source: index,
        } => api
            .stream_tags(ns)
            .create(
                &PostParams::default(),
                &ImageStreamTag {
                    metadata: ObjectMeta {
                        name: Some(format!("{}:{}", STREAMS[*stream], TAGS[*tag])),
                        ..ObjectMeta::default()
                    },
                    tag: Some(source(*index)),
                    ..ImageStreamTag::default()
                },
            )
            .is_ok(),
        Op::Annotate { stream, tag, value } => {
            let name = format!("{}:{}", STREAMS[*stream], TAGS[*tag]);
            match api.stream_tags(ns).get(&name) {
                Ok(mut current) if current.tag.is_some() => {
                    current.metadata.annotations =
                        Some(BTreeMap::from([("v".to_string(), value.to_string())]));
                    api.stream_tags(ns)
                        .replace(&name, &PostParams::default(), &current)
                        .is_ok()
                }
                _ => false,
            }
        }
        Op::DeleteTag { stream, tag } => api
            .stream_tags(ns)
            .delete(
                &format!("{}:{}", STREAMS[*stream], TAGS[*tag]),
                &DeleteParams::default(),
            )
            .is_ok(),
        Op::ResetGeneration { stream, tag } => api
            .streams(ns)
            .update(STREAMS[*stream], |mut s: ImageStream| {
                for t in &mut s.spec.tags {
                    if t.name == TAGS[*tag] {
                        t.generation = Some(0);
                    }
                }
                Ok(s)
            })
            .is_ok(),
        Op::Relabel { stream, value } => api
            .streams(ns)
            .update(STREAMS[*stream], |mut s: ImageStream| {
                s.metadata.labels = Some(BTreeMap::from([("l".to_string(), value.to_string())]));
                Ok(s)
            })
            .is_ok(),
        Op::DeleteImage { image } => store
            .all::<Image>()
            .delete(&digest(*image), &DeleteParams::default())
            .is_ok(),
        Op::Prune { keep } => {
            api.prune_tag_history(ns, *keep).expect("prune succeeds");
            true
        }
    }
}

/// Checks the per-stream invariants; returns each stream's resourceVersion.
fn check(
    api: &ImageApi,
    store: &Store,
    generations: &mut BTreeMap<String, (i64, BTreeMap<String, i64>)>,
) -> Result<BTreeMap<String, String>, TestCaseError> {
    let mut versions = BTreeMap::new();
    for name in STREAMS {
        let stream = api
            .streams("ns")
            .get(name)
            .expect("streams are never deleted");
        versions.insert(
            name.to_string(),
            stream.metadata.resource_version.clone().unwrap_or_default(),
        );
        let generation = stream.metadata.generation.unwrap_or(0);
        let (last, last_tags) = generations.entry(name.to_string()).or_default();
        prop_assert!(generation >= *last, "stream generation went back");
        *last = generation;
        for tag in &stream.spec.tags {
            let g = tag.generation.unwrap_or(0);
            prop_assert!(g <= generation, "spec tag {} ahead of its stream", tag.name);
            if let Some(previous) = last_tags.get(&tag.name) {
                prop_assert!(g >= *previous, "spec tag {} generation went back", tag.name);
            }
            last_tags.insert(tag.name.clone(), g);
        }
        let spec_names: BTreeSet<&str> = stream.spec.tags.iter().map(|t| t.name.as_str()).collect();
        last_tags.retain(|t, _| spec_names.contains(t.as_str()));
        for list in &stream.status.tags {
            let istag_name = format!("{name}:{}", list.tag);
            let got = api.stream_tags("ns").get(&istag_name);
            match list.items.first() {
                Some(event) if !event.image.is_empty() => {
                    if store
                        .all::<Image>()
                        .get_opt(&event.image)
                        .unwrap()
                        .is_some()
                    {
                        let istag =
                            got.map_err(|e| TestCaseError::fail(format!("{istag_name}: {e}")))?;
                        prop_assert_eq!(istag.image.metadata.name_str(), event.image.as_str());
                        prop_assert_eq!(istag.generation, event.generation);
                        prop_assert_eq!(
                            serde_json::to_value(istag.metadata.creation_timestamp.as_ref())
                                .unwrap(),
                            serde_json::to_value(event.created).unwrap()
                        );
                    } else {
                        let err = got.expect_err("the image is gone");
                        prop_assert!(err.is_not_found());
                        prop_assert_eq!(
                            err.status().details.unwrap().kind,
                            Some("images".to_string())
                        );
                    }
                }
                _ => {
                    let err = got.expect_err("no image to show");
                    prop_assert!(err.is_not_found());
                    prop_assert_eq!(
                        err.status().details.unwrap().kind,
                        Some("imagestreamtags".to_string())
                    );
                }
            }
        }
    }
    Ok(versions)
}

/// One random sequence: every invariant after every operation, and the watch's stream at
/// the end. Returns how many of the operations succeeded.
fn run(ops: &[Op]) -> Result<usize, TestCaseError> {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    for name in STREAMS {
        api.streams("ns")
            .create(
                &PostParams::default(),
                &ImageStream {
                    metadata: ObjectMeta {
                        name: Some(name.into()),
                        ..ObjectMeta::default()
                    },
                    ..ImageStream::default()
                },
            )
            .unwrap();
    }
    let start = store.resource_version().to_string();
    let mut watch = api
        .streams("ns")
        .watch(&WatchParams::default(), &start)
        .unwrap();
    let mut generations = BTreeMap::new();
    let mut versions = check(&api, &store, &mut generations)?;
    // Every resourceVersion each stream moved through, in order.
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut succeeded = 0;
    for op in ops {
        succeeded += usize::from(apply(&api, &store, op));
        let now = check(&api, &store, &mut generations)?;
        for (name, rv) in &now {
            if versions.get(name) != Some(rv) {
                expected.push((name.clone(), rv.clone()));
            }
        }
        versions = now;
    }
    let mut seen: Vec<(u64, String, String)> = Vec::new();
    while seen.len() < expected.len() {
        match watch.recv_timeout(Duration::from_secs(5)) {
            Some(WatchEvent::Modified(s)) => {
                let rv = s.metadata.resource_version.clone().unwrap_or_default();
                seen.push((rv.parse().unwrap(), s.metadata.name_str().to_string(), rv));
            }
            Some(WatchEvent::Bookmark(_)) => {}
            other => prop_assert!(false, "unexpected watch event {:?}", other.map(|_| ())),
        }
    }
    prop_assert!(watch.try_next().is_none(), "no extra events");
    prop_assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "watch order is revision order"
    );
    let mut seen_pairs: Vec<(String, String)> =
        seen.into_iter().map(|(_, n, rv)| (n, rv)).collect();
    seen_pairs.sort();
    expected.sort();
    prop_assert_eq!(seen_pairs, expected);
    Ok(succeeded)
}

#[test]
fn image_stream_invariants_hold() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::Cell;
    let (attempted, succeeded) = (Cell::new(0usize), Cell::new(0usize));
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..30), |ops| {
            let ok = run(&ops)?;
            attempted.set(attempted.get() + ops.len());
            succeeded.set(succeeded.get() + ok);
            Ok(())
        })
        .unwrap();
    // The invariants mean little if every write was refused: a good share must have landed
    // (about three quarters do; half leaves room for unlucky draws).
    assert!(
        succeeded.get() * 2 >= attempted.get(),
        "only {} of {} operations succeeded",
        succeeded.get(),
        attempted.get()
    );
}
