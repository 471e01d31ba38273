//! Image signatures: validation, create/delete through the
//! virtual resource, duplicates by name or by content.
use std::collections::BTreeMap;

use apistore::image::{Image, ImageApi, ImageSignature, SignatureCondition, SignatureIssuer};
use apistore::{ObjectMeta, PostParams, Store, Time};

fn signature(name: &str, content: &[u8]) -> ImageSignature {
    ImageSignature {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        type_: "AtomicImageV1".into(),
        content: content.to_vec(),
        ..ImageSignature::default()
    }
}

fn store_with_image() -> (Store, ImageApi) {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let image = Image {
        metadata: ObjectMeta {
            name: Some("img".into()),
            ..ObjectMeta::default()
        },
        docker_image_reference: "r/app".into(),
        ..Image::default()
    };
    api.images().create(&PostParams::default(), &image).unwrap();
    (store, api)
}

fn condition(kind: &str, status: &str, probe: i64) -> SignatureCondition {
    SignatureCondition {
        type_: kind.into(),
        status: status.into(),
        last_probe_time: Some(Time::now().plus_seconds(probe)),
        ..SignatureCondition::default()
    }
}

#[test]
fn create_clears_server_fields_and_stores_the_signature_in_the_image() {
    let (_store, api) = store_with_image();
    let mut sent = signature("img@sig1", b"content");
    sent.image_identity = "forged".into();
    sent.conditions = vec![condition("Trusted", "True", 0)];
    let stored = api.signatures().create(&sent).unwrap();
    assert_eq!(stored.image_identity, "");
    assert!(stored.conditions.is_empty());
    let image = api.images().get("img").unwrap();
    assert_eq!(image.signatures.len(), 1);
    assert_eq!(
        image.signatures[0].metadata.name.as_deref(),
        Some("img@sig1")
    );
}

#[test]
fn duplicates_by_name_or_by_type_and_content_are_already_exists() {
    let (_store, api) = store_with_image();
    api.signatures()
        .create(&signature("img@sig1", b"content"))
        .unwrap();
    let same_name = api
        .signatures()
        .create(&signature("img@sig1", b"other"))
        .unwrap_err();
    assert!(same_name.is_already_exists());
    assert_eq!(
        same_name.status().details.unwrap().kind.as_deref(),
        Some("imageSignatures")
    );
    assert!(api
        .signatures()
        .create(&signature("img@sig2", b"content"))
        .unwrap_err()
        .is_already_exists());
    api.signatures()
        .create(&signature("img@sig3", b"third"))
        .unwrap();
}

#[test]
fn missing_images_and_signatures_are_not_found_and_bad_names_bad_requests() {
    let (_store, api) = store_with_image();
    let err = api
        .signatures()
        .create(&signature("nope@sig", b"c"))
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("images")
    );
    let err = api.signatures().delete("img@missing").unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.status().details.unwrap().kind.as_deref(),
        Some("imageSignatures")
    );
    assert!(api
        .signatures()
        .delete("nosig")
        .unwrap_err()
        .is_bad_request());
    api.signatures()
        .create(&signature("img@sig", b"c"))
        .unwrap();
    let status = api.signatures().delete("img@sig").unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    assert!(api.images().get("img").unwrap().signatures.is_empty());
}

#[test]
fn invalid_signatures_report_each_problem() {
    let (_store, api) = store_with_image();
    let mut bad = signature("notype", b"");
    bad.type_.clear();
    let err = api.signatures().create(&bad).unwrap_err();
    assert!(err.is_invalid());
    let fields: Vec<(&str, &str)> = err
        .causes()
        .iter()
        .map(|c| (c.field.as_deref().unwrap(), c.reason.as_deref().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("metadata.name", "FieldValueInvalid"),
            ("type", "FieldValueRequired"),
            ("content", "FieldValueRequired")
        ]
    );
    let mut labelled = signature("img@s", b"c");
    labelled.metadata.labels = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    labelled.metadata.annotations = Some(BTreeMap::from([("a".to_string(), "b".to_string())]));
    let err = api.signatures().create(&labelled).unwrap_err();
    assert_eq!(
        err.causes()
            .iter()
            .filter(|c| c.reason.as_deref() == Some("FieldValueForbidden"))
            .count(),
        2
    );
}

#[test]
fn condition_rules_apply_when_signatures_are_written_through_the_image() {
    let (_store, api) = store_with_image();
    let images = api.images();
    let write = |sig: ImageSignature| {
        let mut image = images.get("img").unwrap();
        image.signatures = vec![sig];
        images.replace("img", &PostParams::default(), &image)
    };
    let mut trusted = signature("img@t", b"c");
    trusted.conditions = vec![
        condition("Trusted", "True", 0),
        condition("ForImage", "True", 0),
    ];
    trusted.image_identity = "registry/app:1".into();
    write(trusted).unwrap();
    let mut untrusted = signature("img@u", b"c");
    untrusted.conditions = vec![
        condition("Trusted", "False", 0),
        condition("ForImage", "False", 0),
    ];
    write(untrusted).unwrap();
    let mut missing = signature("img@m", b"c");
    missing.conditions = vec![condition("Trusted", "True", 0)];
    let err = write(missing).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing \"ForImage\" condition type"),
        "{err}"
    );
    // Upstream's precedence slip would count Expired as ForImage; here it does not.
    let mut expired = signature("img@e", b"c");
    expired.conditions = vec![
        condition("Trusted", "True", 0),
        condition("Expired", "True", 0),
    ];
    assert!(write(expired)
        .unwrap_err()
        .to_string()
        .contains("missing \"ForImage\""));
    let mut unknown = signature("img@x", b"c");
    unknown.conditions = vec![
        condition("Trusted", "Unknown", 0),
        condition("ForImage", "Unknown", 0),
    ];
    unknown.image_identity = "id".into();
    unknown.signed_claims = BTreeMap::from([("a".to_string(), "b".to_string())]);
    unknown.issued_by = Some(SignatureIssuer {
        organization: "o".into(),
        common_name: "c".into(),
    });
    unknown.issued_to = Some(apistore::image::SignatureSubject {
        public_key_id: "k".into(),
        ..Default::default()
    });
    let err = write(unknown).unwrap_err();
    assert_eq!(err.causes().len(), 4, "{err}");
}
