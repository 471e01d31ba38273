//! `imagestreams/<any>/secrets`: the namespace's docker pull secrets, minus
//! those annotated `openshift.io/image.excludeSecret: "true"`.
use apistore::ObjectMetaExt;
use std::collections::BTreeMap;

use apistore::image::{ImageApi, Secret, EXCLUDE_SECRET};
use apistore::{ObjectMeta, PostParams, Store};

fn secret(name: &str, kind: &str, excluded: bool) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: excluded
                .then(|| BTreeMap::from([(EXCLUDE_SECRET.to_string(), "true".to_string())])),
            ..ObjectMeta::default()
        },
        type_: kind.into(),
        ..Secret::default()
    }
}

#[test]
fn only_pull_secrets_that_are_not_excluded_are_listed() {
    let store = Store::memory();
    let secrets = store.namespaced::<Secret>("ns");
    for s in [
        secret("cfg", "kubernetes.io/dockercfg", false),
        secret("json", "kubernetes.io/dockerconfigjson", false),
        secret("opaque", "Opaque", false),
        secret("hidden", "kubernetes.io/dockerconfigjson", true),
    ] {
        secrets.create(&PostParams::default(), &s).unwrap();
    }
    store
        .namespaced::<Secret>("other")
        .create(
            &PostParams::default(),
            &secret("elsewhere", "kubernetes.io/dockercfg", false),
        )
        .unwrap();
    let list = ImageApi::new(&store).secrets("ns", "any-stream").unwrap();
    let names: Vec<&str> = list.items.iter().map(|s| s.metadata.name_str()).collect();
    assert_eq!(names, ["cfg", "json"]);
    assert_eq!(list.kind, "SecretList");
}
