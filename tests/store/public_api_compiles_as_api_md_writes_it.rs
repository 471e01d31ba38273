//! The public contract (`../shared/API.md`) as code outside the crate writes it: every name it
//! lists is imported from where it says, every struct it spells out is built with exactly its
//! fields (so a field added to `Status`, `ListMeta`, `ObjectList` or `Preconditions` breaks
//! this file, as it would break users), and every verb is called with its documented signature.

use crate::common;

use std::time::Duration;

#[allow(unused_imports)]
use apistore::image::{
    Image, ImageApi, ImageConfig, ImageSignature, ImageStream, ImageStreamImage, ImageStreamLayers,
    ImageStreamMapping, ImageStreamTag, ImageTag, NamedTagEventList, TagEvent, TagReference,
};
#[allow(unused_imports)]
use apistore::{
    Api, Bookmark, Config, DeleteParams, Error, GetParams, ListMeta, ListParams, ObjectList,
    ObjectMeta, OwnerReference, Patch, PatchParams, PostParams, Preconditions, Resource, Result,
    Status, StatusCause, Store, Time, VersionMatch, Watch, WatchEvent, WatchParams,
};
use common::Pod;

#[test]
fn the_verbs_take_and_return_what_the_contract_says() -> Result<()> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(Config::sled(dir.path().join("data")))?;
    let _other_engines = (Config::redb(dir.path().join("redb")), Config::memory());
    let api: Api<Pod> = store.namespaced::<Pod>("ns");
    let _everywhere: Api<Pod> = store.all::<Pod>();
    let before: u64 = store.resource_version();

    let created: Pod = api.create(&PostParams::default(), &common::pod("a"))?;
    assert!(store.resource_version() > before);
    let at = created
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let _: Pod = api.get_with("a", &GetParams::at(&at))?;
    let _: Pod = api.get_with("a", &GetParams::any())?;
    let missing: Option<Pod> = api.get_opt("b")?;
    assert!(missing.is_none());

    let mut edited: Pod = api.get("a")?;
    edited.spec.node_name = "n1".into();
    let replaced: Pod = api.replace("a", &PostParams::default(), &edited)?;
    edited.spec.node_name = "n2".into();
    let stale: Error = api
        .replace("a", &PostParams::default(), &edited)
        .expect_err("a stale resourceVersion conflicts");
    assert!(stale.is_conflict());
    assert_eq!((stale.code(), stale.reason()), (409, "Conflict"));
    let _: Pod = api.replace_status("a", &PostParams::default(), &replaced)?;
    let _: Pod = api.update("a", |mut current: Pod| -> Result<Pod> {
        current.spec.node_name = "n3".into();
        Ok(current)
    })?;
    let merge = Patch::Merge(serde_json::json!({"metadata": {"labels": {"app": "web"}}}));
    let _: Pod = api.patch("a", &PatchParams::default(), &merge)?;
    let ops = serde_json::from_value(serde_json::json!(
        [{"op": "add", "path": "/metadata/labels/tier", "value": "a"}]
    ))
    .expect("a JSON patch");
    let patched: Pod = api.patch("a", &PatchParams::default(), &Patch::Json(ops))?;

    let page: ObjectList<Pod> = api.list(
        &ListParams::default()
            .labels("app=web,tier in (a,b)")
            .fields("metadata.name=a")
            .limit(500),
    )?;
    assert_eq!(page.items, vec![patched.clone()]);
    let ListMeta {
        continue_,
        resource_version,
        remaining_item_count,
    } = page.metadata;
    assert_eq!((continue_, remaining_item_count), (None, None));
    let exact = ListParams::default()
        .at(&resource_version.unwrap_or_default())
        .matching(VersionMatch::Exact);
    assert_eq!(api.list(&exact)?.items.len(), 1);
    assert_eq!(api.list(&ListParams::default().match_any())?.items.len(), 1);
    let bad_token = ListParams::default().limit(1).continue_token("not-a-token");
    assert_eq!(api.list(&bad_token).expect_err("a bad token").code(), 400);

    let mut watch: Watch<Pod> = api.watch(
        &WatchParams::default()
            .labels("app=web")
            .fields("metadata.name=a")
            .timeout(5)
            .bookmarks(true),
        "0",
    )?;
    match watch.recv_timeout(Duration::from_secs(5)) {
        Some(WatchEvent::Added(pod)) => assert_eq!(pod, patched),
        other => panic!("a watch from \"0\" starts with the object as ADDED, got {other:?}"),
    }
    let _initial = WatchParams::default().initial_events();

    let guarded = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("another-uid".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let refused: Error = api.delete("a", &guarded).expect_err("a uid precondition");
    assert!(refused.is_conflict());
    let dry = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    let _: Pod = api.delete("a", &dry)?;
    let deleted: Pod = api.delete("a", &DeleteParams::default())?;
    assert_eq!(deleted.metadata.name.as_deref(), Some("a"));
    let gone: Error = api.get("a").expect_err("deleted");
    assert!(gone.is_not_found() && !gone.is_already_exists() && !gone.is_gone());
    assert!(!gone.is_invalid());
    let _: ObjectList<Pod> =
        api.delete_collection(&DeleteParams::default(), &ListParams::default())?;
    store.compact(store.resource_version())?;
    Ok(())
}

#[test]
fn the_result_types_are_built_with_exactly_the_fields_the_contract_lists() {
    let status = Status {
        status: Some("Failure".into()),
        message: Some("gone".into()),
        reason: Some("Expired".into()),
        details: None,
        code: Some(410),
        metadata: Some(ListMeta {
            continue_: Some("token".into()),
            resource_version: None,
            remaining_item_count: None,
        }),
    };
    assert_eq!(
        serde_json::to_value(&status).expect("a status serialises"),
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "gone",
            "reason": "Expired", "code": 410, "metadata": {"continue": "token"}
        })
    );
    let list: ObjectList<Pod> = ObjectList {
        metadata: ListMeta::default(),
        items: Vec::new(),
    };
    assert!(list.items.is_empty());
    let meta = ObjectMeta {
        name: Some("a".into()),
        generate_name: None,
        namespace: Some("ns".into()),
        uid: None,
        resource_version: None,
        generation: None,
        creation_timestamp: None,
        deletion_timestamp: None,
        deletion_grace_period_seconds: None,
        labels: None,
        annotations: None,
        finalizers: None,
        owner_references: Some(vec![OwnerReference::default()]),
        ..ObjectMeta::default()
    };
    assert_eq!(meta.name.as_deref(), Some("a"));
    // The contract's timestamp type; with the `k8s-openapi` feature it is k8s-openapi's.
    #[cfg(not(feature = "k8s-openapi"))]
    let _: Option<Time> = meta.creation_timestamp;
    let events: [WatchEvent<Pod>; 5] = [
        WatchEvent::Added(Pod::default()),
        WatchEvent::Modified(Pod::default()),
        WatchEvent::Deleted(Pod::default()),
        WatchEvent::Bookmark(Bookmark::default()),
        WatchEvent::Error(Status::default()),
    ];
    assert_eq!(events.len(), 5);
    let _cause = StatusCause::default();
}

#[test]
fn the_image_api_is_reached_through_image_api() -> Result<()> {
    let store = Store::memory();
    let images: ImageApi = ImageApi::new(&store);
    let _configured = ImageApi::with_config(&store, ImageConfig::default());
    let _: Api<Image> = images.images();
    let streams: Api<ImageStream> = images.streams("ns");
    let web = ImageStream {
        metadata: ObjectMeta {
            name: Some("web".into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    streams.create(&PostParams::default(), &web)?;
    let missing_tag = images.stream_tags("ns").get("web:latest");
    assert!(missing_tag.expect_err("no such tag").is_not_found());
    assert!(images.image_tags("ns").get("web:latest").is_err());
    let image: Result<ImageStreamImage> = images.stream_images("ns").get("web@sha256:4a5b");
    assert!(image.is_err());
    let layers: ImageStreamLayers = images.layers("ns", "web")?;
    assert!(layers.images.is_empty());
    let _ = images.secrets("ns", "web")?;
    let local: Option<String> = images.resolve_local("ns", "web:latest")?;
    assert_eq!(local, None);
    let _ = images.prune_tag_history("ns", 3)?;
    let unnamed: Result<Status> = images.mappings("ns").create(&ImageStreamMapping::default());
    assert!(unnamed.expect_err("a mapping needs a name").is_invalid());
    let import: Result<apistore::image::ImageStreamImport> =
        images.import("ns", &apistore::image::ImageStreamImport::default());
    assert!(import.is_err());
    assert!(images
        .signatures()
        .create(&ImageSignature::default())
        .is_err());
    assert!(images.signatures().delete("sha256:4a5b@sig").is_err());
    Ok(())
}

#[test]
fn a_kind_chosen_at_run_time_is_used_as_the_contract_writes_it() -> Result<()> {
    use apistore::{ApiResource, DynamicObject};
    let store = Store::memory();
    let ar = ApiResource::namespaced("example.com", "v1", "Widget", "widgets")
        .with_status_subresource()
        .with_selectable_field("spec.color", "/spec/color");
    let api: Api<DynamicObject> = store.namespaced_with("ns", &ar);
    let w = DynamicObject::new("w1", &ar).data(serde_json::json!({"spec": {"color": "red"}}));
    let created = api.create(&PostParams::default(), &w)?;
    let types = created.types.clone().expect("types");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("example.com/v1", "Widget")
    );
    assert_eq!(created.metadata.generation, Some(1));
    let red = api.list(&ListParams::default().fields("spec.color=red"))?;
    assert_eq!(red.items.len(), 1);
    let unknown = api
        .list(&ListParams::default().fields("spec.size=1"))
        .unwrap_err();
    assert_eq!(unknown.code(), 400);
    let everywhere: Api<DynamicObject> = store.all_with(&ar);
    assert_eq!(everywhere.list(&ListParams::default())?.items.len(), 1);
    // A status change through the main resource is ignored; through /status it is kept and
    // does not move generation.
    let mut next = created.clone();
    next.data["status"] = serde_json::json!({"ready": true});
    let same = api.replace("w1", &PostParams::default(), &next)?;
    assert_eq!(same.data.get("status"), None);
    let status = api.replace_status("w1", &PostParams::default(), &next)?;
    assert_eq!(status.data["status"]["ready"], true);
    assert_eq!(status.metadata.generation, Some(1));
    let mut spec = status.clone();
    spec.data["spec"]["color"] = "blue".into();
    assert_eq!(
        api.replace("w1", &PostParams::default(), &spec)?
            .metadata
            .generation,
        Some(2)
    );
    // Fields that are not a JSON object are a BadRequest, and nothing is written.
    let before = store.resource_version();
    let scalar = DynamicObject::new("w2", &ar).data(serde_json::json!([1, 2]));
    assert_eq!(
        api.create(&PostParams::default(), &scalar)
            .unwrap_err()
            .code(),
        400
    );
    assert_eq!(store.resource_version(), before);
    // Without an ApiResource a DynamicObject handle answers BadRequest.
    let bare = store.namespaced::<DynamicObject>("ns");
    assert_eq!(bare.get("w1").unwrap_err().code(), 400);
    Ok(())
}

#[test]
fn a_dynamic_strategy_validates_and_prepares_at_run_time() -> Result<()> {
    use apistore::{ApiResource, DynamicObject, DynamicStrategy, StatusCause, StrategyContext};
    struct NeedsColor;
    impl DynamicStrategy for NeedsColor {
        fn prepare_for_create(
            &self,
            obj: &mut DynamicObject,
            _ctx: &StrategyContext<'_>,
        ) -> Result<()> {
            if obj.data.pointer("/spec/size").is_none() {
                obj.data["spec"]["size"] = 1.into();
            }
            Ok(())
        }
        fn validate_create(&self, obj: &DynamicObject) -> Vec<StatusCause> {
            match obj.data.pointer("/spec/color") {
                Some(serde_json::Value::String(_)) => Vec::new(),
                _ => vec![StatusCause::new(
                    "FieldValueRequired",
                    "spec.color",
                    "Required value".to_string(),
                )],
            }
        }
    }
    let store = Store::memory();
    let ar = ApiResource::cluster("example.com", "v1", "Gadget", "gadgets")
        .with_strategy(std::sync::Arc::new(NeedsColor));
    let api = store.all_with(&ar);
    let refused = api
        .create(
            &PostParams::default(),
            &DynamicObject::new("g", &ar).data(serde_json::json!({"spec": {}})),
        )
        .unwrap_err();
    assert!(refused.is_invalid());
    assert_eq!(
        refused.status().details.expect("details").kind.as_deref(),
        Some("Gadget")
    );
    let made = api.create(
        &PostParams::default(),
        &DynamicObject::new("g", &ar).data(serde_json::json!({"spec": {"color": "red"}})),
    )?;
    assert_eq!(made.data["spec"]["size"], 1);
    Ok(())
}

/// "More than one machine": a store on etcd opens from `Config::etcd(endpoints).prefix(p)`,
/// and every verb is the same.
#[cfg(all(feature = "etcd", feature = "testing"))]
#[test]
fn a_store_on_etcd_opens_as_the_contract_writes_it() -> Result<()> {
    use apistore::{Config, PostParams, Store};
    let endpoint = apistore::testing::etcd::shared().endpoint(0);
    let prefix = apistore::testing::etcd::unique_prefix("api-md");
    let store = Store::open(Config::etcd([endpoint.as_str()]).prefix(prefix.as_str()))?;
    let pods = store.namespaced::<crate::common::Pod>("default");
    let created = pods.create(&PostParams::default(), &crate::common::pod("p"))?;
    assert_eq!(pods.get("p")?, created);
    assert_eq!(
        created.metadata.resource_version,
        Some(store.resource_version().to_string())
    );
    Ok(())
}
