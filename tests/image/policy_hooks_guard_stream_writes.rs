//! The pluggable policies of OpenShift's image stream strategy: the
//! registry allow-list, cross-namespace tag authorisation and limit ranges refuse new
//! references with Forbidden causes in a 422 (grandfathering what is stored); events copied
//! from another stream's integrated-registry repository are rewritten to this stream.
use crate::image_common;
use std::sync::Arc;

use apistore::image::{
    AllowedRegistries, Image, ImageApi, ImageConfig, ImageStreamMapping, StreamLimits,
    TagAuthorizer, TagReference,
};
use apistore::{ObjectMeta, PostParams, Store};
use image_common::{mapping, stream, with_registry};

fn tag(name: &str, kind: &str, from: &str, namespace: &str) -> TagReference {
    image_common::tag_ref(name, kind, namespace, from, kind == "DockerImage")
}

fn forbidden_fields(err: &apistore::Error) -> Vec<String> {
    assert!(err.is_invalid(), "{err:?}");
    err.causes()
        .iter()
        .filter(|c| c.reason.as_deref() == Some("FieldValueForbidden"))
        .filter_map(|c| c.field.clone())
        .collect()
}

#[test]
fn the_registry_allow_list_refuses_new_references_only() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    // Stored before the policy existed: grandfathered.
    api.streams("ns")
        .create(
            &PostParams::default(),
            &stream(
                "old",
                vec![tag("a", "DockerImage", "docker.io/lib/x:1", "")],
            ),
        )
        .unwrap();
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            registry_allow_list: Some(Arc::new(AllowedRegistries::new(["quay.io"]))),
            ..ImageConfig::default()
        },
    );
    let err = api
        .streams("ns")
        .create(
            &PostParams::default(),
            &stream(
                "new",
                vec![tag("a", "DockerImage", "docker.io/lib/x:1", "")],
            ),
        )
        .unwrap_err();
    assert_eq!(
        forbidden_fields(&err),
        [
            "spec.tags[a].from.name",
            "status.tags[a].items[0].dockerImageReference"
        ],
        "the reference tag's event is a new status reference too"
    );
    assert!(api.streams("ns").get_opt("new").unwrap().is_none());
    api.streams("ns")
        .create(
            &PostParams::default(),
            &stream("ok", vec![tag("a", "DockerImage", "quay.io/lib/x:1", "")]),
        )
        .unwrap();
    // Updating the grandfathered stream without touching its reference is fine...
    let mut old = api.streams("ns").get("old").unwrap();
    old.metadata.labels = Some([("k".to_string(), "v".to_string())].into());
    api.streams("ns")
        .replace("old", &PostParams::default(), &old)
        .unwrap();
    // ...adding another disallowed one is not.
    let mut old = api.streams("ns").get("old").unwrap();
    old.spec
        .tags
        .push(tag("b", "DockerImage", "docker.io/lib/y:1", ""));
    let err = api
        .streams("ns")
        .replace("old", &PostParams::default(), &old)
        .unwrap_err();
    assert_eq!(
        forbidden_fields(&err),
        [
            "spec.tags[b].from.name",
            "status.tags[b].items[0].dockerImageReference"
        ]
    );
}

struct DenyNamespace(&'static str);

impl TagAuthorizer for DenyNamespace {
    fn check(
        &self,
        _namespace: &str,
        source_namespace: &str,
        source_stream: &str,
    ) -> Result<(), String> {
        if source_namespace == self.0 {
            Err(format!(
                "may not read imagestreams/layers of {source_namespace}/{source_stream}"
            ))
        } else {
            Ok(())
        }
    }
}

#[test]
fn cross_namespace_sources_need_the_authorizer() {
    let store = Store::memory();
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            tag_authorizer: Some(Arc::new(DenyNamespace("secret"))),
            ..ImageConfig::default()
        },
    );
    for ns in ["secret", "open"] {
        api.streams(ns)
            .create(
                &PostParams::default(),
                &stream(
                    "src",
                    vec![tag("latest", "DockerImage", "quay.io/a/b:1", "")],
                ),
            )
            .unwrap();
    }
    let err = api
        .streams("mine")
        .create(
            &PostParams::default(),
            &stream(
                "copy",
                vec![
                    tag("one", "ImageStreamTag", "src:latest", "secret"),
                    tag("two", "ImageStreamTag", "src:latest", "secret"),
                ],
            ),
        )
        .unwrap_err();
    assert_eq!(
        forbidden_fields(&err),
        ["spec.tags[one].from", "spec.tags[two].from"],
        "every tag sharing the denied source"
    );
    let created = api
        .streams("mine")
        .create(
            &PostParams::default(),
            &stream(
                "copy",
                vec![
                    tag("one", "ImageStreamTag", "src:latest", "open"),
                    tag("local", "ImageStreamTag", "one", ""),
                ],
            ),
        )
        .unwrap();
    assert_eq!(
        created.status.tags[0].items[0].docker_image_reference,
        "quay.io/a/b:1"
    );
}

#[test]
fn limit_ranges_refuse_growth_beyond_the_maximum() {
    let store = Store::memory();
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            limit_ranges: Some(Arc::new(StreamLimits {
                max_images: Some(1),
                max_image_tags: Some(2),
            })),
            ..ImageConfig::default()
        },
    );
    let err = api
        .streams("ns")
        .create(
            &PostParams::default(),
            &stream(
                "big",
                vec![
                    tag("a", "DockerImage", "quay.io/a/b:1", ""),
                    tag("b", "DockerImage", "quay.io/a/b:2", ""),
                    tag("c", "DockerImage", "quay.io/a/b:3", ""),
                ],
            ),
        )
        .unwrap_err();
    assert_eq!(forbidden_fields(&err), ["spec.tags"]);
    api.streams("ns")
        .create(&PostParams::default(), &stream("s", Vec::new()))
        .unwrap();
    let map = |tag: &str, image: char| {
        let name = format!("sha256:{}", image.to_string().repeat(64));
        let reference = format!("quay.io/a/b:{image}");
        api.mappings("ns")
            .create(&mapping("s", tag, &name, &reference))
    };
    map("one", 'a').unwrap();
    map("two", 'a').unwrap();
    let err = map("three", 'b').unwrap_err();
    assert_eq!(forbidden_fields(&err), ["status.tags"]);
}

#[test]
fn events_from_another_streams_registry_repository_are_rewritten() {
    let store = Store::memory();
    let api = with_registry(&store, "reg:5000");
    let digest = format!("sha256:{}", "c".repeat(64));
    api.streams("ns")
        .create(&PostParams::default(), &stream("localimage", Vec::new()))
        .unwrap();
    api.mappings("ns")
        .create(&ImageStreamMapping {
            metadata: ObjectMeta {
                name: Some("localimage".into()),
                ..ObjectMeta::default()
            },
            image: Image {
                metadata: ObjectMeta {
                    name: Some(digest.clone()),
                    ..ObjectMeta::default()
                },
                ..Image::default()
            },
            tag: "latest".into(),
            ..ImageStreamMapping::default()
        })
        .unwrap();
    let source = api.streams("ns").get("localimage").unwrap();
    assert_eq!(
        source.status.tags[0].items[0].docker_image_reference,
        format!("reg:5000/ns/localimage@{digest}")
    );
    let copy = api
        .streams("ns")
        .create(
            &PostParams::default(),
            &stream(
                "localimage2",
                vec![tag("latest", "ImageStreamTag", "localimage:latest", "")],
            ),
        )
        .unwrap();
    assert_eq!(
        copy.status.tags[0].items[0].docker_image_reference,
        format!("reg:5000/ns/localimage2@{digest}")
    );
}
