//! ImageStream: generations, spec → status tag
//! processing, the tag history rule, tracking tags, repository decoration, validation.
use crate::image_common;
use apistore::image::stream::{add_tag_event, tag_ref_changed};
use apistore::image::{ImageApi, ImageConfig, ImageStream, TagEvent, TagReference};
use apistore::{PostParams, Store};
use image_common::stream;

fn tag(name: &str, kind: &str, from: &str, reference: bool) -> TagReference {
    image_common::tag_ref(name, kind, "", from, reference)
}

fn newest(s: &ImageStream, tag: &str) -> Option<TagEvent> {
    s.status
        .tags
        .iter()
        .find(|t| t.tag == tag)
        .and_then(|t| t.items.first().cloned())
}

#[test]
fn create_sets_generations_defaults_and_reference_tag_events() {
    let store = Store::memory();
    let streams = ImageApi::new(&store).streams("ns");
    let mut t1 = tag("t1", "DockerImage", "registry:5000/ns/stream:t1", true);
    t1.generation = Some(7);
    let created = streams
        .create(
            &PostParams::default(),
            &stream(
                "stream",
                vec![
                    t1,
                    tag("t2", "DockerImage", "quay.io/x/y:1", false),
                    TagReference {
                        name: "empty".into(),
                        ..TagReference::default()
                    },
                ],
            ),
        )
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.spec.tags.iter().all(|t| t.generation == Some(1)));
    assert!(created
        .spec
        .tags
        .iter()
        .all(|t| t.reference_policy.type_ == "Source" && t.import_policy.import_mode == "Legacy"));
    let event = newest(&created, "t1").unwrap();
    assert_eq!(event.docker_image_reference, "registry:5000/ns/stream:t1");
    assert_eq!(event.image, "");
    assert_eq!(event.generation, 1);
    assert!(
        newest(&created, "t2").is_none(),
        "a non-reference tag waits for an import"
    );
    assert!(newest(&created, "empty").is_none());
    assert_eq!(created.status.tags.len(), 1);
}

#[test]
fn updates_bump_generation_on_spec_changes_only_and_keep_status() {
    let store = Store::memory();
    let streams = ImageApi::new(&store).streams("ns");
    let created = streams
        .create(
            &PostParams::default(),
            &stream("s", vec![tag("a", "DockerImage", "r/a:1", true)]),
        )
        .unwrap();
    let mut next = created.clone();
    next.metadata.labels = Some([("x".to_string(), "y".to_string())].into());
    next.status.tags.clear();
    let labelled = streams.replace("s", &PostParams::default(), &next).unwrap();
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "labels do not bump generation"
    );
    assert_eq!(labelled.status, created.status, "users cannot write status");
    let mut next = labelled.clone();
    next.spec.tags[0].generation = Some(42);
    next.spec.tags.push(tag("b", "DockerImage", "r/b:1", true));
    let changed = streams.replace("s", &PostParams::default(), &next).unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    assert_eq!(
        changed.spec.tags[0].generation,
        Some(1),
        "client generations are ignored"
    );
    assert_eq!(changed.spec.tags[1].generation, Some(2));
    assert_eq!(newest(&changed, "b").unwrap().generation, 2);
    let mut reset = changed.clone();
    reset.spec.tags[0].generation = Some(0);
    let reimport = streams
        .replace("s", &PostParams::default(), &reset)
        .unwrap();
    assert_eq!(reimport.metadata.generation, Some(3));
    assert_eq!(reimport.spec.tags[0].generation, Some(3));
    let history = &reimport
        .status
        .tags
        .iter()
        .find(|t| t.tag == "a")
        .unwrap()
        .items;
    assert_eq!(
        history.len(),
        1,
        "same ref and image: the generation collapses into the newest entry"
    );
    assert_eq!(history[0].generation, 3);
}

#[test]
fn stream_tags_and_images_resolve_within_the_stream_and_trackers_follow() {
    let store = Store::memory();
    let streams = ImageApi::new(&store).streams("ns");
    let digest = format!("sha256:{}", "e3b0".repeat(16));
    let created = streams
        .create(
            &PostParams::default(),
            &stream(
                "stream",
                vec![tag(
                    "other",
                    "DockerImage",
                    &format!("r/app@{digest}"),
                    true,
                )],
            ),
        )
        .unwrap();
    let mut next = created.clone();
    next.spec
        .tags
        .push(tag("t1", "ImageStreamTag", "other", false));
    next.spec
        .tags
        .push(tag("t2", "ImageStreamTag", "stream:t1", false));
    let updated = streams
        .replace("stream", &PostParams::default(), &next)
        .unwrap();
    let t1 = newest(&updated, "t1").unwrap();
    assert_eq!(t1.docker_image_reference, format!("r/app@{digest}"));
    // t2 tracks t1: it gets t1's event in the same pass.
    assert_eq!(
        newest(&updated, "t2").unwrap().docker_image_reference,
        t1.docker_image_reference
    );
    // An ImageStreamImage by id prefix, over every tag's history.
    let mut with_image = updated.clone();
    with_image
        .status
        .tags
        .push(apistore::image::NamedTagEventList {
            tag: "pushed".into(),
            items: vec![TagEvent {
                docker_image_reference: format!("r/pushed@{digest}"),
                image: digest.clone(),
                generation: 2,
                ..TagEvent::default()
            }],
            conditions: vec![],
        });
    let updated = streams
        .replace_status("stream", &PostParams::default(), &with_image)
        .unwrap();
    let mut by_id = updated.clone();
    let mut t3 = tag("t3", "ImageStreamImage", "stream@e3b0e3b0", false);
    t3.import_policy.scheduled = false;
    by_id.spec.tags.push(t3);
    let resolved = streams
        .replace("stream", &PostParams::default(), &by_id)
        .unwrap();
    assert_eq!(newest(&resolved, "t3").unwrap().image, digest);
    let mut wrong = resolved.clone();
    wrong
        .spec
        .tags
        .push(tag("t4", "ImageStreamImage", "stream@ffff", false));
    let err = streams
        .replace("stream", &PostParams::default(), &wrong)
        .unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.causes()[0].reason.as_deref(), Some("InternalError"));
}

#[test]
fn the_tag_history_rule_compares_with_the_newest_entry_only() {
    let mut s = ImageStream::default();
    let event = |r: &str, i: &str| TagEvent {
        docker_image_reference: r.into(),
        image: i.into(),
        ..TagEvent::default()
    };
    assert!(add_tag_event(&mut s, "latest", event("ref", "img")));
    assert!(!add_tag_event(&mut s, "latest", event("ref", "img")));
    assert!(add_tag_event(&mut s, "latest", event("ref", "img2")));
    assert_eq!(s.status.tags[0].items.len(), 1);
    assert!(add_tag_event(&mut s, "latest", event("ref2", "img2")));
    assert_eq!(s.status.tags[0].items.len(), 1);
    assert!(add_tag_event(&mut s, "latest", event("ref3", "img3")));
    assert!(add_tag_event(&mut s, "latest", event("ref2", "img2")));
    assert_eq!(s.status.tags[0].items.len(), 3, "A→B→A keeps three entries");
    assert_eq!(s.status.tags[0].items[0].image, "img2");
}

#[test]
fn tag_ref_changed_matrix() {
    let d = |name: &str| tag("t", "DockerImage", name, false);
    assert!(!tag_ref_changed(None, &TagReference::default(), "ns"));
    assert!(!tag_ref_changed(Some(&d("a")), &d("a"), "ns"));
    assert!(tag_ref_changed(Some(&d("a")), &d("b"), "ns"));
    assert!(!tag_ref_changed(
        Some(&d("a")),
        &tag("t", "", "", false),
        "ns"
    ));
    assert!(tag_ref_changed(
        Some(&TagReference::default()),
        &d("a"),
        "ns"
    ));
    let mut explicit = d("a");
    explicit.from.as_mut().unwrap().namespace = "ns".into();
    assert!(!tag_ref_changed(Some(&d("a")), &explicit, "ns"));
    explicit.from.as_mut().unwrap().namespace = "other".into();
    assert!(tag_ref_changed(Some(&d("a")), &explicit, "ns"));
}

#[test]
fn repositories_come_from_the_registry_configuration() {
    let store = Store::memory();
    let api = ImageApi::with_config(
        &store,
        ImageConfig {
            internal_registry_hostname: Some("registry:5000".into()),
            external_registry_hostname: Some("registry-default.external.url".into()),
            ..ImageConfig::default()
        },
    );
    let created = api
        .streams("foo")
        .create(&PostParams::default(), &stream("somerepo", vec![]))
        .unwrap();
    assert_eq!(
        created.status.docker_image_repository,
        "registry:5000/foo/somerepo"
    );
    assert_eq!(
        created.status.public_docker_image_repository,
        "registry-default.external.url/foo/somerepo"
    );
    let plain = Store::memory();
    let mut with_spec = stream("s", vec![]);
    with_spec.spec.docker_image_repository = "a/b".into();
    let created = ImageApi::new(&plain)
        .streams("ns")
        .create(&PostParams::default(), &with_spec)
        .unwrap();
    assert_eq!(created.status.docker_image_repository, "a/b");
    assert_eq!(created.status.public_docker_image_repository, "");
}

#[test]
fn validation_uses_openshift_rules_and_messages() {
    let store = Store::memory();
    let streams = ImageApi::new(&store).streams("f");
    let err = streams
        .create(&PostParams::default(), &stream("foo bar", vec![]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("must match \"[a-z0-9]+(?:[._-][a-z0-9]+)*\""),
        "{err}"
    );
    streams
        .create(
            &PostParams::default(),
            &stream(
                "abcdefghijklmnopqrstuvwxyz-1234567890.dot_underscore-dash",
                vec![],
            ),
        )
        .unwrap();
    let long_ns = "n".repeat(63);
    let ok = ImageApi::new(&store).streams(&long_ns);
    ok.create(&PostParams::default(), &stream(&"a".repeat(191), vec![]))
        .unwrap();
    let err = ok
        .create(&PostParams::default(), &stream(&"a".repeat(192), vec![]))
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("'namespace/name' cannot be longer than 255 characters"));
    let mut with_tag = stream("r", vec![]);
    with_tag.spec.docker_image_repository = "a/b:tag".into();
    assert!(streams
        .create(&PostParams::default(), &with_tag)
        .unwrap_err()
        .to_string()
        .contains("may not contain a tag"));
    let mut policy = tag("t", "DockerImage", "a/b", false);
    policy.reference_policy.type_ = "Other".into();
    let err = streams
        .create(&PostParams::default(), &stream("p", vec![policy]))
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("valid values are \"Source\", \"Local\""));
    let mut scheduled = tag("t", "ImageStreamTag", "1", false);
    scheduled.import_policy.scheduled = true;
    let err = streams
        .create(&PostParams::default(), &stream("q", vec![scheduled]))
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("only tags pointing to Docker repositories may be scheduled"));
    let mut mode = tag("t", "DockerImage", "a/b", false);
    mode.import_policy.import_mode = "Invalid".into();
    let err = streams
        .create(&PostParams::default(), &stream("m", vec![mode]))
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("invalid import mode, valid modes are '', 'Legacy', 'PreserveOriginal'"));
    let err = streams
        .create(
            &PostParams::default(),
            &stream("b", vec![tag("t", "DockerImage", "abc@badid", false)]),
        )
        .unwrap_err();
    assert!(err.to_string().contains("invalid reference format"));
}
