//! Concurrent mappings into one stream are written together (README "Image
//! streams"), yet each caller gets the answer upstream would give it alone: mappings into
//! tags of their own all land, in each caller's order; mappings racing on one tag either land
//! or answer 409 because the tag moved, never both and never lost; and a mapping a policy
//! refuses fails alone, without taking the others of its batch down.
use crate::image_common;
use std::sync::Arc;

use apistore::image::{AllowedRegistries, ImageApi, ImageConfig};
use apistore::{PostParams, Store};
use image_common::{mapping, stream};

/// A distinct image id for (caller, n).
fn id(caller: usize, n: usize) -> String {
    format!("sha256:{:064x}", caller * 1_000 + n + 1)
}

fn stream_named(api: &ImageApi, name: &str) {
    api.streams("ns")
        .create(&PostParams::default(), &stream(name, vec![]))
        .unwrap();
}

/// The images of `tag`'s history, newest first.
fn history(api: &ImageApi, stream: &str, tag: &str) -> Vec<String> {
    let stream = api.streams("ns").get(stream).unwrap();
    stream
        .status
        .tags
        .iter()
        .find(|t| t.tag == tag)
        .map(|t| t.items.iter().map(|e| e.image.clone()).collect())
        .unwrap_or_default()
}

#[test]
fn concurrent_mappings_into_tags_of_their_own_all_land_in_order() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    stream_named(&api, "web");
    const CALLERS: usize = 16;
    const EACH: usize = 20;
    std::thread::scope(|s| {
        for caller in 0..CALLERS {
            let api = &api;
            s.spawn(move || {
                for n in 0..EACH {
                    let image = id(caller, n);
                    let reference = format!("quay.io/team/web@{image}");
                    let tag = format!("t{caller}");
                    let status = api
                        .mappings("ns")
                        .create(&mapping("web", &tag, &image, &reference))
                        .expect("a mapping into a tag of its own lands");
                    assert_eq!(status.code, Some(201));
                }
            });
        }
    });
    for caller in 0..CALLERS {
        let expected: Vec<String> = (0..EACH).rev().map(|n| id(caller, n)).collect();
        assert_eq!(history(&api, "web", &format!("t{caller}")), expected);
    }
    for caller in 0..CALLERS {
        for n in 0..EACH {
            assert!(
                api.images().get(&id(caller, n)).is_ok(),
                "every image stored"
            );
        }
    }
}

#[test]
fn mappings_racing_on_one_tag_land_or_answer_conflict() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    stream_named(&api, "web");
    const CALLERS: usize = 12;
    const EACH: usize = 10;
    let landed: Vec<Vec<String>> = std::thread::scope(|s| {
        let callers: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let api = &api;
                s.spawn(move || {
                    let mut landed = Vec::new();
                    for n in 0..EACH {
                        let image = id(caller, n);
                        let reference = format!("quay.io/team/web@{image}");
                        match api
                            .mappings("ns")
                            .create(&mapping("web", "latest", &image, &reference))
                        {
                            Ok(status) => {
                                assert_eq!(status.code, Some(201));
                                landed.push(image);
                            }
                            Err(e) => assert!(e.is_conflict(), "{e:?}"),
                        }
                    }
                    landed
                })
            })
            .collect();
        callers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut history = history(&api, "web", "latest");
    let mut landed: Vec<String> = landed.into_iter().flatten().collect();
    assert!(!landed.is_empty(), "some mapping lands");
    history.sort();
    landed.sort();
    assert_eq!(
        history, landed,
        "the tag holds exactly the mappings that answered 201"
    );
}

#[test]
fn a_refused_mapping_fails_alone_while_its_batch_lands() {
    let store = Store::memory();
    let open = ImageApi::new(&store);
    stream_named(&open, "web");
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            registry_allow_list: Some(Arc::new(AllowedRegistries::new(["quay.io"]))),
            ..ImageConfig::default()
        },
    );
    const CALLERS: usize = 16;
    const EACH: usize = 10;
    std::thread::scope(|s| {
        for caller in 0..CALLERS {
            let api = &api;
            s.spawn(move || {
                // Odd callers map from a registry the policy refuses.
                let registry = if caller % 2 == 0 {
                    "quay.io"
                } else {
                    "docker.io"
                };
                for n in 0..EACH {
                    let image = id(caller, n);
                    let reference = format!("{registry}/team/web@{image}");
                    let tag = format!("t{caller}");
                    let answer = api
                        .mappings("ns")
                        .create(&mapping("web", &tag, &image, &reference));
                    if caller % 2 == 0 {
                        assert_eq!(answer.expect("allowed").code, Some(201));
                    } else {
                        let err = answer.expect_err("refused");
                        assert!(err.is_invalid(), "{err:?}");
                    }
                }
            });
        }
    });
    for caller in 0..CALLERS {
        let expected: Vec<String> = if caller % 2 == 0 {
            (0..EACH).rev().map(|n| id(caller, n)).collect()
        } else {
            Vec::new()
        };
        assert_eq!(history(&api, "web", &format!("t{caller}")), expected);
    }
}
