//! kube-rs against the server with no socket: `kube::Client::new(server, "default")` takes the
//! server's `tower::Service` as its transport, so a controller's tests run against real
//! semantics in-process (kube-rs issue #1108).

use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;

use apistore::Store;
use apistore_server::Server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::core::ObjectMeta;
use kube::runtime::{watcher, WatchStreamExt};

fn client() -> kube::Client {
    let server = Server::new(Store::memory()).expect("server");
    kube::Client::new(server, "default")
}

/// The next item of `stream`, within five seconds, not an error, and not its end.
async fn next_in_time<T, E: std::fmt::Debug>(
    stream: &mut (impl futures::Stream<Item = Result<T, E>> + Unpin),
) -> T {
    tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("an item in time")
        .expect("no error")
        .expect("the stream goes on")
}

fn config_map(name: &str, app: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("app".to_string(), app.to_string())].into()),
            ..ObjectMeta::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..ConfigMap::default()
    }
}

#[tokio::test]
async fn a_kube_client_on_the_in_process_service_creates_lists_patches_and_deletes() {
    let maps: Api<ConfigMap> = Api::default_namespaced(client());
    let created = maps
        .create(&PostParams::default(), &config_map("a", "web"))
        .await
        .expect("create");
    assert!(created.metadata.uid.is_some());
    maps.create(&PostParams::default(), &config_map("b", "db"))
        .await
        .expect("create");
    let taken = maps
        .create(&PostParams::default(), &config_map("a", "web"))
        .await
        .expect_err("taken");
    match taken {
        kube::Error::Api(status) => assert_eq!(status.code, 409),
        other => panic!("expected a 409 Status, got {other:?}"),
    }
    let web = maps
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list");
    assert_eq!(web.items.len(), 1);
    let page = maps
        .list(&ListParams::default().limit(1))
        .await
        .expect("page");
    assert_eq!(page.items.len(), 1);
    assert!(page.metadata.continue_.is_some());
    let patched = maps
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"k2": "v2"}})),
        )
        .await
        .expect("patch");
    assert_eq!(patched.data.unwrap()["k2"], "v2");
    maps.delete("a", &DeleteParams::default())
        .await
        .expect("delete");
    assert!(maps.get_opt("a").await.expect("get").is_none());
}

#[tokio::test]
async fn a_kube_watch_and_a_runtime_watcher_see_changes() {
    let client = client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let list = maps.list(&ListParams::default()).await.expect("list");
    let version = list
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut stream = maps
        .watch(&WatchParams::default(), &version)
        .await
        .expect("watch")
        .boxed();
    maps.create(&PostParams::default(), &config_map("w", "web"))
        .await
        .expect("create");
    let event = next_in_time(&mut stream).await;
    match event {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("w")),
        other => panic!("expected ADDED, got {other:?}"),
    }
    // kube-runtime's watcher: an initial list, then the changes.
    let mut events = watcher(maps.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = next_in_time(&mut events).await;
    assert_eq!(first.metadata.name.as_deref(), Some("w"));
    maps.create(&PostParams::default(), &config_map("x", "web"))
        .await
        .expect("create");
    let second = next_in_time(&mut events).await;
    assert_eq!(second.metadata.name.as_deref(), Some("x"));
}

#[tokio::test]
async fn metadata_verbs_and_a_metadata_watcher_get_partial_object_metadata() {
    let client = client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    maps.create(&PostParams::default(), &config_map("m", "web"))
        .await
        .expect("create");
    let meta = maps.get_metadata("m").await.expect("get_metadata");
    let types = meta.types.expect("type meta");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("meta.k8s.io/v1", "PartialObjectMetadata")
    );
    assert_eq!(meta.metadata.name.as_deref(), Some("m"));
    let list = maps
        .list_metadata(&ListParams::default().labels("app=web"))
        .await
        .expect("list_metadata");
    assert_eq!(list.types.kind, "PartialObjectMetadataList");
    assert_eq!(list.items.len(), 1);
    assert_eq!(
        list.items[0].types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );
    // kube-runtime's watcher on metadata alone: an initial list, then the changes.
    let metas: Api<kube::core::PartialObjectMeta<ConfigMap>> =
        Api::default_namespaced(client.clone());
    let mut events = watcher(metas, watcher::Config::default())
        .applied_objects()
        .boxed();
    let first = next_in_time(&mut events).await;
    assert_eq!(first.metadata.name.as_deref(), Some("m"));
    maps.create(&PostParams::default(), &config_map("n", "db"))
        .await
        .expect("create");
    let second = next_in_time(&mut events).await;
    assert_eq!(second.metadata.name.as_deref(), Some("n"));
    assert_eq!(
        second.types.map(|t| t.kind),
        Some("PartialObjectMetadata".to_string())
    );
}

#[tokio::test]
async fn a_dynamic_api_reads_what_the_typed_one_wrote() {
    let client = client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    maps.create(&PostParams::default(), &config_map("d", "web"))
        .await
        .expect("create");
    let ar = ApiResource::erase::<ConfigMap>(&());
    let dynamic: Api<DynamicObject> = Api::default_namespaced_with(client, &ar);
    let seen = dynamic.get("d").await.expect("get");
    assert_eq!(seen.data["data"]["k"], "v");
    assert_eq!(seen.types.expect("types").kind, "ConfigMap");
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(#[from] kube::Error);

/// Marks every ConfigMap labelled `app=web` as reconciled.
async fn reconcile(
    cm: std::sync::Arc<ConfigMap>,
    maps: std::sync::Arc<Api<ConfigMap>>,
) -> Result<kube::runtime::controller::Action, ReconcileError> {
    let web = cm
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.get("app").map(String::as_str) == Some("web"));
    if web {
        let name = cm.metadata.name.clone().unwrap_or_default();
        maps.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"reconciled": "true"}}})),
        )
        .await?;
    }
    Ok(kube::runtime::controller::Action::await_change())
}

#[tokio::test]
async fn a_controller_and_a_reflector_run_against_the_in_process_server() {
    use kube::runtime::{controller::Action, reflector, Controller};
    let client = client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    // A reflector's store follows the server.
    let (reader, writer) = reflector::store();
    let reflected = reflector(writer, watcher(maps.clone(), watcher::Config::default()))
        .applied_objects()
        .for_each(|_| async {});
    let reflector_task = tokio::spawn(reflected);
    let shared = std::sync::Arc::new(maps.clone());
    let controller = Controller::new(maps.clone(), watcher::Config::default())
        .run(
            reconcile,
            |_, _: &ReconcileError, _| Action::requeue(Duration::from_secs(1)),
            shared,
        )
        .for_each(|_| async {});
    let controller_task = tokio::spawn(controller);
    maps.create(&PostParams::default(), &config_map("c1", "web"))
        .await
        .expect("create");
    maps.create(&PostParams::default(), &config_map("c2", "db"))
        .await
        .expect("create");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let c1 = maps.get("c1").await.expect("get");
        let reconciled = c1
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.get("reconciled").map(String::as_str) == Some("true"));
        if reconciled && reader.state().len() == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller did not reconcile c1 (reflector holds {})",
            reader.state().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c2 = maps.get("c2").await.expect("get");
    assert!(
        c2.metadata.annotations.is_none(),
        "only app=web is reconciled"
    );
    controller_task.abort();
    reflector_task.abort();
}

/// A custom resource as operator authors write one.
#[derive(
    kube::CustomResource, serde::Deserialize, serde::Serialize, Clone, Debug, schemars::JsonSchema,
)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    validation = "self.spec.replicas >= 0"
)]
struct WidgetSpec {
    color: String,
    #[serde(default)]
    replicas: i32,
}

#[derive(serde::Deserialize, serde::Serialize, Clone, Debug, Default, schemars::JsonSchema)]
struct WidgetStatus {
    ready: bool,
}

/// Marks a widget ready through its status subresource, with server-side apply as kube-rs
/// recommends for controllers.
async fn reconcile_widget(
    widget: std::sync::Arc<Widget>,
    widgets: std::sync::Arc<Api<Widget>>,
) -> Result<kube::runtime::controller::Action, ReconcileError> {
    let name = widget.metadata.name.clone().unwrap_or_default();
    if widget.status.as_ref().is_none_or(|s| !s.ready) {
        widgets
            .patch_status(
                &name,
                &PatchParams::apply("widget-controller").force(),
                &Patch::Apply(serde_json::json!({
                    "apiVersion": "example.com/v1", "kind": "Widget",
                    "status": {"ready": true}
                })),
            )
            .await?;
    }
    Ok(kube::runtime::controller::Action::await_change())
}

#[tokio::test]
async fn a_derived_custom_resource_is_installed_by_its_definition_and_reconciled_by_a_controller() {
    install_and_reconcile_widgets(client()).await;
}

#[test]
fn the_same_controller_runs_against_the_server_over_tcp() {
    let running = common::Running::start(Store::memory());
    let url = format!("http://{}", running.addr).parse().expect("url");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let client = kube::Client::try_from(kube::Config::new(url)).expect("client");
            install_and_reconcile_widgets(client).await;
        });
}

/// Installs the derived Widget's definition through `Api<CustomResourceDefinition>`, runs a
/// Controller that marks widgets ready by a server-side apply of their status, and checks it.
async fn install_and_reconcile_widgets(client: kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::runtime::{controller::Action, Controller};
    use kube::CustomResourceExt;
    let definitions: Api<CustomResourceDefinition> = Api::all(client.clone());
    let installed = definitions
        .create(&PostParams::default(), &Widget::crd())
        .await
        .expect("the derived definition is accepted");
    let established = installed
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "established at once");

    let widgets: Api<Widget> = Api::default_namespaced(client.clone());
    let shared = std::sync::Arc::new(widgets.clone());
    let controller = Controller::new(widgets.clone(), watcher::Config::default())
        .run(
            reconcile_widget,
            |_, _: &ReconcileError, _| Action::requeue(Duration::from_secs(1)),
            shared,
        )
        .for_each(|_| async {});
    let controller_task = tokio::spawn(controller);
    let created = widgets
        .create(
            &PostParams::default(),
            &Widget::new(
                "w1",
                WidgetSpec {
                    color: "red".into(),
                    replicas: 2,
                },
            ),
        )
        .await
        .expect("create");
    assert_eq!(created.spec.replicas, 2);
    // The derived rule is the server's to enforce.
    let refused = widgets
        .create(
            &PostParams::default(),
            &Widget::new(
                "w2",
                WidgetSpec {
                    color: "red".into(),
                    replicas: -1,
                },
            ),
        )
        .await
        .expect_err("a negative replica count");
    match refused {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422);
            assert!(
                status.message.ends_with(
                    "<nil>: Invalid value: \"object\": failed rule: self.spec.replicas >= 0"
                ),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 422 Status, got {other:?}"),
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let w1 = widgets.get("w1").await.expect("get");
        if w1.status.is_some_and(|s| s.ready) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller did not mark w1 ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    controller_task.abort();
    let w1 = widgets.get("w1").await.expect("get");
    let status_owner = w1
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.manager.as_deref() == Some("widget-controller"))
        .expect("the controller's apply is recorded");
    assert_eq!(status_owner.operation.as_deref(), Some("Apply"));
    assert_eq!(status_owner.subresource.as_deref(), Some("status"));
    let listed = widgets.list(&ListParams::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn a_recorders_events_are_the_core_events_kubectl_describe_reads() {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    use kube::Resource;

    let client = client();
    let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let map = maps
        .create(&PostParams::default(), &config_map("watched", "web"))
        .await
        .expect("create");
    let reporter = Reporter {
        controller: "settings-controller".into(),
        instance: Some("pod-1".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let event = Event {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("settings applied".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = map.object_ref(&());
    // The first publish creates an events.k8s.io/v1 Event; the second, the same event again,
    // merge-patches it into a series of two.
    recorder.publish(&event, &reference).await.expect("create");
    recorder.publish(&event, &reference).await.expect("patch");

    let core: Api<CoreEvent> = Api::default_namespaced(client.clone());
    let listed = core
        .list(&ListParams::default().fields("involvedObject.name=watched,reason=Reconciled"))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    let seen = &listed.items[0];
    assert_eq!(seen.message.as_deref(), Some("settings applied"));
    assert_eq!(
        seen.reporting_component.as_deref(),
        Some("settings-controller")
    );
    assert_eq!(seen.reporting_instance.as_deref(), Some("pod-1"));
    assert_eq!(seen.series.as_ref().and_then(|s| s.count), Some(2));
    assert_eq!(
        seen.involved_object.uid.as_deref(),
        map.metadata.uid.as_deref()
    );

    // The newer form refuses what its validation refuses: here, a type that is neither Normal
    // nor Warning and a deprecated field set.
    let newer: Api<k8s_openapi::api::events::v1::Event> = Api::default_namespaced(client);
    let mut odd = newer
        .get(seen.metadata.name.as_deref().expect("name"))
        .await
        .expect("get");
    assert_eq!(odd.note.as_deref(), Some("settings applied"));
    odd.metadata = ObjectMeta {
        name: Some("odd.1".into()),
        ..ObjectMeta::default()
    };
    odd.type_ = Some("Loud".into());
    odd.deprecated_count = Some(3);
    odd.series = None;
    match newer.create(&PostParams::default(), &odd).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422);
            assert_eq!(
                status.message,
                "Event.events.k8s.io \"odd.1\" is invalid: [type: Invalid value: \"\": has invalid value: Loud, deprecatedCount: Invalid value: \"\": needs to be unset]"
            );
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

/// kube-runtime's finalizer helper adds its finalizer with a JSON patch whose `test` of
/// `/metadata/finalizers` is `null` while the field is absent (evanphx/json-patch, which
/// kube-apiserver uses, lets that pass), and removes it with a `test` and a `remove`.
#[tokio::test]
async fn kube_runtimes_finalizer_helper_adds_runs_cleanup_and_removes_its_finalizer() {
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::{finalizer, Event};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const NAME: &str = "example.com/cleanup";
    let maps: Api<ConfigMap> = Api::default_namespaced(client());
    let created = maps
        .create(&PostParams::default(), &config_map("held", "web"))
        .await
        .expect("create");
    let (applied, cleaned) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let run = |obj: ConfigMap| {
        let (applied, cleaned) = (&applied, &cleaned);
        let maps = maps.clone();
        async move {
            finalizer(&maps, NAME, Arc::new(obj), |event| async move {
                match event {
                    Event::Apply(_) => applied.fetch_add(1, Ordering::SeqCst),
                    Event::Cleanup(_) => cleaned.fetch_add(1, Ordering::SeqCst),
                };
                Ok::<_, std::convert::Infallible>(Action::await_change())
            })
            .await
        }
    };
    run(created).await.expect("the finalizer is added");
    let held = maps.get("held").await.expect("get");
    assert_eq!(held.metadata.finalizers, Some(vec![NAME.to_string()]));
    run(held).await.expect("apply");
    assert_eq!(applied.load(Ordering::SeqCst), 1);
    maps.delete("held", &DeleteParams::default())
        .await
        .expect("delete marks it");
    let marked = maps.get("held").await.expect("kept by its finalizer");
    assert!(marked.metadata.deletion_timestamp.is_some());
    run(marked).await.expect("cleanup");
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
    assert!(
        maps.get_opt("held").await.expect("get").is_none(),
        "gone once its finalizer is removed"
    );
}

/// Every way kube-runtime's watcher starts: paged lists (`page_size`), a list at any
/// version (`any_semantic`, `resourceVersion=0`) and a streaming list (`streaming_lists`: a
/// watch with `sendInitialEvents`, ended by the initial-events bookmark); each sees every
/// object once, then the changes after it.
#[tokio::test]
async fn kube_runtimes_watcher_starts_from_paged_any_version_and_streaming_lists() {
    use kube::runtime::watcher::Event;

    let maps: Api<ConfigMap> = Api::default_namespaced(client());
    for name in ["a", "b", "c"] {
        maps.create(&PostParams::default(), &config_map(name, "web"))
            .await
            .expect("create");
    }
    let configs = [
        ("paged", watcher::Config::default().page_size(1)),
        ("any version", watcher::Config::default().any_semantic()),
        ("streaming", watcher::Config::default().streaming_lists()),
    ];
    for (round, (how, config)) in configs.into_iter().enumerate() {
        let mut events = watcher(maps.clone(), config).boxed();
        assert!(
            matches!(next_in_time(&mut events).await, Event::Init),
            "{how}"
        );
        let mut listed = Vec::new();
        loop {
            match next_in_time(&mut events).await {
                Event::InitApply(cm) => listed.push(cm.metadata.name.unwrap_or_default()),
                Event::InitDone => break,
                other => panic!("{how}: {other:?} before the initial objects ended"),
            }
        }
        listed.sort();
        let mut expected: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        expected.extend((0..round).map(|r| format!("later-{r}")));
        expected.sort();
        assert_eq!(listed, expected, "{how}");
        let later = format!("later-{round}");
        maps.create(&PostParams::default(), &config_map(&later, "web"))
            .await
            .expect("create");
        match next_in_time(&mut events).await {
            Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some(later.as_str())),
            other => panic!("{how}: expected the new object, got {other:?}"),
        }
    }
}

/// kube-client's entry API (a get, then a create or a replace that names the version read)
/// and kube-runtime's `await_condition` (a watcher selecting one name) against the server.
#[tokio::test]
async fn the_entry_api_and_await_condition_work_against_the_server() {
    use kube::runtime::wait::await_condition;

    let maps: Api<ConfigMap> = Api::default_namespaced(client());
    let waiting = tokio::spawn(await_condition(
        maps.clone(),
        "entry",
        |cm: Option<&ConfigMap>| {
            cm.and_then(|cm| cm.data.as_ref())
                .is_some_and(|data| data.get("k").map(String::as_str) == Some("changed"))
        },
    ));
    let mut entry = maps
        .entry("entry")
        .await
        .expect("get")
        .or_insert(|| config_map("entry", "web"));
    entry.commit(&PostParams::default()).await.expect("create");
    let kube::api::entry::Entry::Occupied(mut entry) =
        maps.entry("entry").await.expect("get").and_modify(|cm| {
            cm.data = Some([("k".to_string(), "changed".to_string())].into());
        })
    else {
        panic!("the entry exists once committed");
    };
    entry.commit(&PostParams::default()).await.expect("replace");
    let seen = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the condition in time")
        .expect("the task")
        .expect("the watch")
        .expect("the object");
    assert_eq!(seen.metadata.name.as_deref(), Some("entry"));
    let stale = maps.get("entry").await.expect("get");
    let mut newer = stale.clone();
    newer.data = Some([("k".to_string(), "again".to_string())].into());
    maps.replace("entry", &PostParams::default(), &newer)
        .await
        .expect("replace");
    let mut old = stale;
    old.data = Some([("k".to_string(), "lost".to_string())].into());
    let conflict = maps
        .replace("entry", &PostParams::default(), &old)
        .await
        .expect_err("a replace naming an old version");
    assert!(
        matches!(&conflict, kube::Error::Api(status) if status.code == 409),
        "{conflict:?}"
    );
}

#[tokio::test]
async fn kube_discovery_finds_every_group_legacy_and_aggregated_and_its_kinds_are_usable() {
    use kube::discovery::{self, Discovery, Scope};
    let client = client();
    for discovery in [
        Discovery::new(client.clone())
            .run()
            .await
            .expect("legacy discovery"),
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .expect("aggregated discovery"),
    ] {
        assert!(discovery.has_group(""));
        assert!(discovery.has_group("image.openshift.io"));
        assert!(discovery.has_group("apiextensions.k8s.io"));
        let (ar, caps) = discovery
            .resolve_gvk(&kube::core::GroupVersionKind::gvk(
                "image.openshift.io",
                "v1",
                "ImageStream",
            ))
            .expect("image streams are found");
        assert_eq!(ar.plural, "imagestreams");
        assert_eq!(caps.scope, Scope::Namespaced);
        assert!(caps.supports_operation(discovery::verbs::WATCH));
        assert!(
            caps.subresources
                .iter()
                .any(|(sub, _)| sub.plural == "status" && sub.kind == "ImageStream"),
            "{:?}",
            caps.subresources
        );
        let (ns, caps) = discovery
            .resolve_gvk(&kube::core::GroupVersionKind::gvk("", "v1", "Namespace"))
            .expect("namespaces are found");
        assert_eq!(ns.plural, "namespaces");
        assert_eq!(caps.scope, Scope::Cluster);
    }
    // What a kind resolved by discovery names is served: a stream made through it lists.
    let (ar, _) = discovery::pinned_kind(
        &client,
        &kube::core::GroupVersionKind::gvk("image.openshift.io", "v1", "ImageStream"),
    )
    .await
    .expect("pinned kind");
    let streams: Api<DynamicObject> = Api::default_namespaced_with(client, &ar);
    let web = DynamicObject::new("web", &ar).data(serde_json::json!({"spec": {}}));
    streams
        .create(&PostParams::default(), &web)
        .await
        .expect("create");
    let listed = streams.list(&ListParams::default()).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].metadata.name.as_deref(), Some("web"));
}

/// Whether `name` is gone within five seconds.
async fn gone_in_time(api: &Api<ConfigMap>, name: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if api.get_opt(name).await.expect("get").is_none() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[test]
fn objects_owned_through_kube_owner_references_go_with_their_owner_over_tcp() {
    use kube::Resource;
    let running = common::Running::start(Store::memory());
    let url = format!("http://{}", running.addr).parse().expect("url");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let client = kube::Client::try_from(kube::Config::new(url)).expect("client");
            let maps: Api<ConfigMap> = Api::default_namespaced(client);
            for (owner, dp) in [
                ("background", DeleteParams::background()),
                ("foreground", DeleteParams::foreground()),
            ] {
                let created = maps
                    .create(&PostParams::default(), &config_map(owner, "gc"))
                    .await
                    .expect("owner");
                let mut owned = config_map(&format!("{owner}-owned"), "gc");
                owned.metadata.owner_references =
                    Some(vec![created.controller_owner_ref(&()).expect("owner ref")]);
                maps.create(&PostParams::default(), &owned)
                    .await
                    .expect("owned");
                maps.delete(owner, &dp).await.expect("delete");
                assert!(gone_in_time(&maps, owner).await, "{owner}");
                assert!(
                    gone_in_time(&maps, &format!("{owner}-owned")).await,
                    "the owned object of the {owner} delete"
                );
            }
        });
}
