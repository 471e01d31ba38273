//! `Api::list_shared`: the zero-copy list. Its items are the store's own decoded objects,
//! shared rather than copied (two lists of an unchanged object hand out the same allocation),
//! and kinds with read-time fields are decorated exactly as `list` decorates them. That it
//! pages, selects and snapshots as `list` does is checked page by page in
//! `list_pages_match_the_model_snapshot`.
use crate::common;
use crate::image_common;
use std::sync::Arc;

use apistore::image::ImageStream;
use apistore::{ListParams, ObjectMeta, PostParams, Store};
use common::{labelled, Pod};
use image_common::with_registry;

#[test]
fn shared_items_are_the_same_objects_on_every_read_and_equal_the_owned_ones() {
    let store = Store::memory();
    let pods = store.namespaced::<Pod>("ns");
    for name in ["a", "b", "c"] {
        pods.create(&PostParams::default(), &labelled(name, &[("app", "web")]))
            .unwrap();
    }
    let lp = ListParams::default().labels("app=web");
    let first = pods.list_shared(&lp).unwrap();
    let second = pods.list_shared(&lp).unwrap();
    assert_eq!(first.items.len(), 3);
    for (a, b) in first.items.iter().zip(&second.items) {
        assert!(Arc::ptr_eq(a, b), "an unchanged object is never copied");
    }
    let owned = pods.list(&lp).unwrap();
    assert!(first.items.iter().map(|i| &**i).eq(owned.items.iter()));
    assert_eq!(first.metadata, owned.metadata);
}

#[test]
fn shared_items_of_a_decorated_kind_carry_their_read_time_fields() {
    let store = Store::memory();
    let api = with_registry(&store, "registry:5000");
    let stream = ImageStream {
        metadata: ObjectMeta {
            name: Some("app".into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    api.streams("ns")
        .create(&PostParams::default(), &stream)
        .unwrap();
    // The registry moves: reads show the new repository, which no stored object has.
    let api = with_registry(&store, "moved:5000");
    let shared = api
        .streams("ns")
        .list_shared(&ListParams::default())
        .unwrap();
    assert_eq!(
        shared.items[0].status.docker_image_repository,
        "moved:5000/ns/app"
    );
    let owned = api.streams("ns").list(&ListParams::default()).unwrap();
    assert_eq!(*shared.items[0], owned.items[0]);
}

#[test]
fn a_shared_create_is_the_object_later_reads_hand_out_and_what_its_bytes_decode_to() {
    let dir = tempfile::tempdir().unwrap();
    let created = {
        let store = Store::open(apistore::Config::sled(dir.path())).unwrap();
        let pods = store.namespaced::<Pod>("ns");
        let created = pods
            .create_shared(&PostParams::default(), labelled("a", &[("app", "web")]))
            .unwrap();
        let listed = pods.list_shared(&ListParams::default()).unwrap();
        assert!(
            Arc::ptr_eq(&created, &listed.items[0]),
            "the created object is kept as its version's decoded form"
        );
        assert_eq!(pods.get("a").unwrap(), *created);
        let dry = pods
            .create_shared(
                &PostParams {
                    dry_run: true,
                    ..PostParams::default()
                },
                labelled("b", &[]),
            )
            .unwrap();
        assert_eq!(dry.metadata.name.as_deref(), Some("b"));
        assert!(
            pods.get_opt("b").unwrap().is_none(),
            "a dry run keeps nothing"
        );
        created
    };
    // Reopened, the object comes from its bytes: what was kept equals what they decode to.
    let store = Store::open(apistore::Config::sled(dir.path())).unwrap();
    assert_eq!(store.namespaced::<Pod>("ns").get("a").unwrap(), *created);
}
