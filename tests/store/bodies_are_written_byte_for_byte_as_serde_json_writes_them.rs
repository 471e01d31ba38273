//! The store encodes bodies with a faster serialiser than serde_json, but every stored byte is
//! the one serde_json would write. That keeps bodies written before and after the change
//! interchangeable: a replace that changes nothing still finds equal bytes and consumes no
//! revision, whichever encoder wrote the stored version.
use std::collections::BTreeMap;

use apistore::backend::KeyRange;
use apistore::{ObjectMeta, PostParams, Resource, Store};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

/// A kind with the value shapes serialisers disagree on when they disagree: free text,
/// floats, big integers, nested JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Note {
    metadata: ObjectMeta,
    text: String,
    ratio: f64,
    small: f32,
    counts: Vec<i64>,
    big: u64,
    extra: serde_json::Value,
}

impl Resource for Note {
    const GROUP: &'static str = "example.com";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Note";
    const PLURAL: &'static str = "notes";
    const NAMESPACED: bool = true;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The one stored body.
fn stored_body(store: &Store) -> Vec<u8> {
    let all = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .expect("range");
    assert_eq!(all.kvs.len(), 1);
    all.kvs[0].value.to_vec()
}

/// What serde_json writes for `obj` as the store keeps it (no resourceVersion).
fn serde_json_body(obj: &Note) -> Vec<u8> {
    let mut obj = obj.clone();
    obj.metadata.resource_version = None;
    serde_json::to_vec(&obj).expect("serde_json")
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn note() -> impl Strategy<Value = Note> {
    (
        any::<String>(),
        any::<f64>(),
        any::<f32>(),
        prop::collection::vec(any::<i64>(), 0..4),
        any::<u64>(),
        json_value(),
        prop::collection::btree_map("[a-z]{1,8}", any::<String>(), 0..3),
    )
        .prop_map(
            |(text, ratio, small, counts, big, extra, annotations)| Note {
                metadata: ObjectMeta {
                    name: Some("n".into()),
                    annotations: (!annotations.is_empty())
                        .then(|| annotations.into_iter().collect::<BTreeMap<_, _>>()),
                    ..Default::default()
                },
                text,
                ratio,
                small,
                counts,
                big,
                extra,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn created_bodies_are_serde_json_bytes(obj in note()) {
        let store = Store::memory();
        let api = store.namespaced::<Note>("ns");
        let created = api.create(&PostParams::default(), &obj).expect("create");
        prop_assert_eq!(
            String::from_utf8_lossy(&stored_body(&store)).into_owned(),
            String::from_utf8_lossy(&serde_json_body(&created)).into_owned()
        );
    }
}

#[test]
fn a_replace_of_a_body_serde_json_wrote_with_the_same_object_takes_no_revision() {
    let store = Store::memory();
    let api = store.namespaced::<Note>("ns");
    let created = api
        .create(
            &PostParams::default(),
            &Note {
                metadata: ObjectMeta {
                    name: Some("n".into()),
                    ..Default::default()
                },
                text: "tab\t quote\" é 😀 \u{1}".into(),
                ratio: 0.1,
                small: 1.5e-7,
                counts: vec![i64::MIN, 0, i64::MAX],
                big: u64::MAX,
                extra: serde_json::json!({"z": [1.0, null, "x"], "a": {"b": -0.0}}),
            },
        )
        .expect("create");
    // The body as an older build, encoding with serde_json, would have stored it.
    let all = store
        .mvcc()
        .range(&KeyRange::all(), Default::default())
        .expect("range");
    store
        .mvcc()
        .commit(apistore::mvcc::Txn::new().put(all.kvs[0].key.clone(), serde_json_body(&created)))
        .ok();
    let before = store.resource_version();
    let current = api.get("n").expect("get");
    let replaced = api
        .replace("n", &PostParams::default(), &current)
        .expect("replace");
    assert_eq!(store.resource_version(), before);
    assert_eq!(
        replaced.metadata.resource_version,
        current.metadata.resource_version
    );
}
