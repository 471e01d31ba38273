//! Cases from OpenShift's image tests not covered elsewhere: status events need a reference;
//! ImageStreamImage references in spec tags resolve by id prefix (ambiguity, a digest one
//! digit short, non-digest names, tracking tags); a blind ImageStreamTag replace retries after
//! a conflict; ImageTag GET and LIST; the layers of a manifest-list image.
use crate::image_common;
use apistore::ObjectMetaExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use apistore::image::{
    DockerImageReference, ImageApi, ImageConfig, ImageStream, ImageStreamTag, NamedTagEventList,
    RegistryAllowList, TagEvent,
};
use apistore::{ObjectMeta, PostParams, Store, Time};
use image_common::{digest, image, mapping, stream, tag_ref};

fn event(reference: &str, image: &str) -> TagEvent {
    TagEvent {
        created: Some(Time::now()),
        docker_image_reference: reference.into(),
        image: image.into(),
        generation: 1,
        ..TagEvent::default()
    }
}

fn causes(err: &apistore::Error) -> Vec<(String, String)> {
    err.causes()
        .iter()
        .map(|c| {
            (
                c.field.clone().unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn status_events_without_a_reference_are_each_required() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let created = api
        .streams("ns")
        .create(&PostParams::default(), &stream("s", Vec::new()))
        .unwrap();
    let mut next = created.clone();
    next.status.tags = vec![NamedTagEventList {
        tag: "latest".into(),
        items: vec![event("", "a"), event("quay.io/a/b:1", "b"), event("", "c")],
        ..NamedTagEventList::default()
    }];
    let err = api
        .streams("ns")
        .replace_status("s", &PostParams::default(), &next)
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert_eq!(
        causes(&err),
        vec![
            (
                "status.tags[latest].items[0].dockerImageReference".to_string(),
                "FieldValueRequired".to_string()
            ),
            (
                "status.tags[latest].items[2].dockerImageReference".to_string(),
                "FieldValueRequired".to_string()
            ),
        ]
    );
}

/// A stream `s` whose `history` tag holds, newest first, the images `ids` (mapped in reverse).
fn stream_with_history(api: &ImageApi, ids: &[&str]) {
    api.streams("ns")
        .create(&PostParams::default(), &stream("s", Vec::new()))
        .unwrap();
    for (i, id) in ids.iter().enumerate().rev() {
        api.mappings("ns")
            .create(&mapping("s", "history", id, &format!("quay.io/a/b:v{i}")))
            .unwrap();
    }
}

fn add_spec_tags(
    api: &ImageApi,
    tags: Vec<apistore::image::TagReference>,
) -> apistore::Result<ImageStream> {
    api.streams("ns").update("s", |mut s: ImageStream| {
        s.spec.tags.extend(tags.iter().cloned());
        Ok(s)
    })
}

fn newest(s: &ImageStream, tag: &str) -> Option<TagEvent> {
    s.status
        .tags
        .iter()
        .find(|t| t.tag == tag)
        .and_then(|t| t.items.first().cloned())
}

#[test]
fn stream_image_references_in_spec_tags_resolve_by_id_prefix_as_upstream() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    stream_with_history(&api, &["mytag", "mytag2", "12345"]);

    // A prefix of two images: 422, with the resolver's own words inside.
    let err = add_spec_tags(
        &api,
        vec![tag_ref("t", "ImageStreamImage", "", "s@mytag", false)],
    )
    .unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert_eq!(
        err.status().message.unwrap_or_default(),
        "ImageStream.image.openshift.io \"s\" is invalid: Internal error: ImageStream.image.openshift.io \"s\" is invalid: \
         spec.tags[t].from.name: Invalid value: \"s@mytag\": error generating tag event: Operation cannot be fulfilled on \
         imagestreamimage.image.openshift.io \"mytag\": multiple images match the prefix \"mytag\": mytag, mytag2"
    );

    // A non-digest name matches by prefix.
    let s = add_spec_tags(
        &api,
        vec![tag_ref("u", "ImageStreamImage", "", "s@1234", false)],
    )
    .unwrap();
    assert_eq!(newest(&s, "u").map(|e| e.image), Some("12345".to_string()));
}

#[test]
fn a_digest_one_hex_digit_short_of_the_history_does_not_match() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    // The history holds the 63-digit prefix; the reference asks for all 64 digits.
    let full = digest("3");
    let short = &full[..full.len() - 1];
    stream_with_history(&api, &[short]);
    let s = add_spec_tags(
        &api,
        vec![tag_ref(
            "t",
            "ImageStreamImage",
            "",
            &format!("s@{full}"),
            false,
        )],
    );
    // As upstream's stream strategy: the unresolved reference is an Invalid `from`, carrying
    // the resolver's NotFound.
    let err = s.unwrap_err();
    assert!(err.is_invalid(), "{err}");
    let message = err.status().message.unwrap_or_default();
    assert!(message.contains("spec.tags[t].from"), "{message}");
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn a_tag_tracking_a_tag_that_moves_to_a_stream_image_gets_the_event_in_the_same_write() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let id = digest("e");
    stream_with_history(&api, &[&id]);
    add_spec_tags(
        &api,
        vec![
            tag_ref("t1", "DockerImage", "", "quay.io/a/b:1", true),
            tag_ref("t2", "ImageStreamTag", "", "t1", false),
        ],
    )
    .unwrap();
    // t1 now points at an image of the stream's history, in one update.
    let s = api
        .streams("ns")
        .update("s", |mut s: ImageStream| {
            for t in &mut s.spec.tags {
                if t.name == "t1" {
                    *t = tag_ref("t1", "ImageStreamImage", "", &format!("s@{id}"), false);
                }
            }
            Ok(s)
        })
        .unwrap();
    let t1 = newest(&s, "t1").expect("t1 resolved");
    assert_eq!(t1.image, id);
    assert_eq!(
        newest(&s, "t2").map(|e| e.image),
        Some(id),
        "t2 follows t1 at once"
    );
}

/// An allow list that, the first time it is asked, writes the stream itself (as another
/// client would between the tag write's read and its commit).
struct InterferingAllowList {
    store: Store,
    calls: AtomicUsize,
}

impl RegistryAllowList for InterferingAllowList {
    fn check(&self, _reference: &DockerImageReference) -> Result<(), String> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.store
                .namespaced::<ImageStream>("ns")
                .update("s", |mut s: ImageStream| {
                    s.metadata.labels = Some(BTreeMap::from([("x".to_string(), "y".to_string())]));
                    Ok(s)
                })
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[test]
fn a_stream_tag_replace_without_a_resource_version_retries_after_a_conflict() {
    let store = Store::memory();
    let allow = Arc::new(InterferingAllowList {
        store: store.clone(),
        calls: AtomicUsize::new(0),
    });
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            registry_allow_list: Some(allow.clone()),
            ..ImageConfig::default()
        },
    );
    api.streams("ns")
        .create(&PostParams::default(), &stream("s", Vec::new()))
        .unwrap();
    let before = store.resource_version();
    let istag = ImageStreamTag {
        metadata: ObjectMeta {
            name: Some("s:new".into()),
            ..ObjectMeta::default()
        },
        tag: Some(tag_ref("new", "DockerImage", "", "quay.io/a/b:2", true)),
        ..ImageStreamTag::default()
    };
    let written = api
        .stream_tags("ns")
        .replace("s:new", &PostParams::default(), &istag)
        .unwrap();
    assert!(
        allow.calls.load(Ordering::SeqCst) >= 2,
        "asked again after the conflict"
    );
    assert_eq!(written.tag.map(|t| t.name), Some("new".to_string()));
    let s = api.streams("ns").get("s").unwrap();
    assert!(
        s.spec.tags.iter().any(|t| t.name == "new"),
        "the tag landed"
    );
    assert_eq!(
        s.metadata.labels.unwrap().get("x").map(String::as_str),
        Some("y"),
        "over the interfering write, not instead of it"
    );
    assert_eq!(store.resource_version(), before + 2);
}

#[test]
fn image_tag_get_shows_defaults_history_and_the_events_reference_and_list_spans_streams() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    for name in ["b", "a"] {
        api.streams("ns")
            .create(
                &PostParams::default(),
                &stream(
                    name,
                    vec![tag_ref("spec", "DockerImage", "", "quay.io/x/y:1", true)],
                ),
            )
            .unwrap();
    }
    let first = digest("1");
    let second = digest("2");
    api.images()
        .create(
            &PostParams::default(),
            &image(&first, "registry.example.com/team/app:different"),
        )
        .unwrap();
    for (id, reference) in [(&first, "quay.io/a/b:one"), (&second, "quay.io/a/b:two")] {
        api.mappings("ns")
            .create(&mapping("a", "latest", id, reference))
            .unwrap();
    }
    // Both events kept, newest first; the image's reference is the newest event's.
    let itag = api.image_tags("ns").get("a:latest").unwrap();
    let history: Vec<String> = itag
        .status
        .as_ref()
        .unwrap()
        .items
        .iter()
        .map(|e| e.image.clone())
        .collect();
    assert_eq!(history, vec![second.clone(), first.clone()]);
    let shown = itag.image.expect("the newest image");
    assert_eq!(shown.metadata.name.as_deref(), Some(second.as_str()));
    assert_eq!(shown.docker_image_reference, "quay.io/a/b:two");
    // A spec tag shows its defaults, as the API server's v1 defaulting writes them.
    let spec = api.image_tags("ns").get("a:spec").unwrap().spec.unwrap();
    assert_eq!(spec.reference_policy.type_, "Source");
    assert_eq!(spec.import_policy.import_mode, "Legacy");
    // LIST: every stream's tags, streams in name order, and no image on any item.
    let listed = api.image_tags("ns").list(&Default::default()).unwrap();
    let names: Vec<&str> = listed.items.iter().map(|t| t.metadata.name_str()).collect();
    assert_eq!(names, ["a:latest", "a:spec", "b:spec"]);
    assert!(listed.items.iter().all(|t| t.image.is_none()));
}

#[test]
fn the_layers_of_a_manifest_list_show_the_list_its_child_and_the_childs_blobs() {
    use apistore::image::manifest::{MANIFEST_LIST, SCHEMA2};
    use apistore::image::{DockerImage, ImageLayer, ImageManifest};
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let (child, list, layer, config) = (digest("c"), digest("d"), digest("1"), digest("f"));
    let mut child_image = image(&child, &format!("quay.io/a/b@{child}"));
    child_image.docker_image_manifest_media_type = SCHEMA2.into();
    child_image.docker_image_layers = vec![ImageLayer {
        name: layer.clone(),
        layer_size: 42,
        media_type: "application/vnd.docker.image.rootfs.diff.tar.gzip".into(),
    }];
    child_image.docker_image_metadata = Some(DockerImage {
        id: config.clone(),
        ..DockerImage::default()
    });
    api.images()
        .create(&PostParams::default(), &child_image)
        .unwrap();
    let mut list_image = image(&list, &format!("quay.io/a/b@{list}"));
    list_image.docker_image_manifest_media_type = MANIFEST_LIST.into();
    list_image.docker_image_manifests = vec![ImageManifest {
        digest: child.clone(),
        media_type: SCHEMA2.into(),
        manifest_size: 100,
        architecture: "amd64".into(),
        os: "linux".into(),
        ..ImageManifest::default()
    }];
    api.images()
        .create(&PostParams::default(), &list_image)
        .unwrap();
    api.streams("ns")
        .create(&PostParams::default(), &stream("s", Vec::new()))
        .unwrap();
    api.mappings("ns")
        .create(&mapping(
            "s",
            "latest",
            &list,
            &format!("quay.io/a/b@{list}"),
        ))
        .unwrap();

    let layers = api.layers("ns", "s").unwrap();
    let images: Vec<&String> = layers.images.keys().collect();
    let mut expected = vec![&child, &list];
    expected.sort();
    assert_eq!(images, expected, "the list and its child, nothing else");
    let of_list = &layers.images[&list];
    assert_eq!(of_list.manifests, vec![child.clone()]);
    assert_eq!(of_list.layers, None, "a list has no layers of its own");
    let of_child = &layers.images[&child];
    assert_eq!(of_child.layers.as_deref(), Some(&[layer.clone()][..]));
    assert_eq!(of_child.config.as_deref(), Some(config.as_str()));
    assert_eq!(
        layers.blobs[&config].media_type,
        "application/vnd.docker.container.image.v1+json"
    );
    assert_eq!(layers.blobs[&layer].size, Some(42));
}
