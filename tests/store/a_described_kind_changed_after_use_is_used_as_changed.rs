//! A handle of a kind described at run time is made per call (`namespaced_with`), and the
//! verbs' view of the description is built once and shared: a description changed after it
//! was used, by a builder method or by one of its public fields, must be used as changed.
use apistore::{ApiResource, DynamicObject, PostParams, Store};
use serde_json::json;

#[test]
fn a_builder_method_called_after_use_takes_effect() {
    let store = Store::memory();
    let plain = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    let made = |ar: &ApiResource, name: &str| {
        store
            .namespaced_with("ns", ar)
            .create(
                &PostParams::default(),
                &DynamicObject::new(name, ar).data(json!({"spec": {"a": 1}, "status": {"b": 2}})),
            )
            .unwrap()
    };
    assert_eq!(made(&plain, "w1").data["status"], json!({"b": 2}));
    // The clone shares what was built; the builder must not keep it.
    let split = plain.clone().with_status_subresource();
    assert!(
        made(&split, "w2").data.get("status").is_none(),
        "the status subresource drops status from a create"
    );
    assert_eq!(made(&plain, "w3").data["status"], json!({"b": 2}));
}

#[test]
fn a_public_field_changed_after_use_takes_effect() {
    let store = Store::memory();
    let mut ar = ApiResource::namespaced("example.com", "v1", "Widget", "widgets");
    store
        .namespaced_with("ns", &ar)
        .create(&PostParams::default(), &DynamicObject::new("w", &ar))
        .unwrap();
    ar.plural = "gadgets".into();
    ar.kind = "Gadget".into();
    let gadgets = store.namespaced_with("ns", &ar);
    assert!(
        gadgets.get("w").is_err(),
        "another plural is another resource"
    );
    let made = gadgets
        .create(&PostParams::default(), &DynamicObject::new("g", &ar))
        .unwrap();
    assert_eq!(made.types.unwrap().kind, "Gadget");
}
