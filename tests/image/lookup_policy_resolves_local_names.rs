//! `lookupPolicy.local`: short names of local-lookup streams resolve to the
//! newest pull spec of their tag; everything else is left alone.
use apistore::image::{ImageApi, ImageStream, ObjectReference, TagReference};
use apistore::{ObjectMeta, PostParams, Store};

#[test]
fn short_names_of_local_lookup_streams_resolve() {
    let store = Store::memory();
    let api = ImageApi::new(&store);
    let mut stream = ImageStream {
        metadata: ObjectMeta {
            name: Some("web".into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    stream.spec.lookup_policy.local = true;
    stream.spec.tags = vec![TagReference {
        name: "latest".into(),
        from: Some(ObjectReference {
            kind: "DockerImage".into(),
            name: "quay.io/team/web:1".into(),
            ..ObjectReference::default()
        }),
        reference: true,
        ..TagReference::default()
    }];
    api.streams("ns")
        .create(&PostParams::default(), &stream)
        .unwrap();
    assert_eq!(
        api.resolve_local("ns", "web").unwrap().as_deref(),
        Some("quay.io/team/web:1")
    );
    assert_eq!(
        api.resolve_local("ns", "web:latest").unwrap().as_deref(),
        Some("quay.io/team/web:1")
    );
    assert_eq!(api.resolve_local("ns", "web:other").unwrap(), None);
    assert_eq!(api.resolve_local("ns", "docker.io/web").unwrap(), None);
    assert_eq!(api.resolve_local("ns", "missing").unwrap(), None);
    assert_eq!(api.resolve_local("other-ns", "web").unwrap(), None);
    let mut remote = stream.clone();
    remote.metadata = ObjectMeta {
        name: Some("remote".into()),
        ..ObjectMeta::default()
    };
    remote.spec.lookup_policy.local = false;
    api.streams("ns")
        .create(&PostParams::default(), &remote)
        .unwrap();
    assert_eq!(api.resolve_local("ns", "remote").unwrap(), None);
}
