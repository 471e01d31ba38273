//! The test pod kind through either door: its typed `Api<Pod>`, or `Api<DynamicObject>` over
//! the same resource described at run time. The catalogue of store, list and watch tests runs
//! through [`pod_api`], once in each mode (see [`super::on_each_store`]), so a dynamic kind is
//! held to every behaviour a typed one is. Conversions happen here, at the test's edge; the
//! store under test only ever sees the handle of the mode.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use apistore::{
    Api, ApiResource, DeleteParams, DynamicObject, GetParams, ListParams, ObjectList, Patch,
    PatchParams, PostParams, Preconditions, Result, Store, Watch, WatchEvent, WatchParams,
};

use super::Pod;

thread_local! {
    static DYNAMIC: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`pod_api`] handing out dynamic handles.
pub fn in_dynamic_mode(f: impl FnOnce()) {
    DYNAMIC.with(|d| d.set(true));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DYNAMIC.with(|d| d.set(false));
        }
    }
    let _reset = Reset;
    f();
}

/// The pod kind described at run time, as a CRD would describe it.
pub fn pod_resource() -> ApiResource {
    ApiResource::namespaced("", "v1", "Pod", "pods")
        .with_status_subresource()
        .with_selectable_field("spec.nodeName", "/spec/nodeName")
        .with_selectable_field("status.phase", "/status/phase")
}

/// A handle on the pods of `namespace`, typed or dynamic by the mode of the running test.
pub fn pod_api(store: &Store, namespace: &str) -> PodApi {
    if DYNAMIC.with(Cell::get) {
        PodApi::Dynamic(store.namespaced_with(namespace, &pod_resource()))
    } else {
        PodApi::Typed(store.namespaced::<Pod>(namespace))
    }
}

/// A handle on the pods of every namespace.
pub fn all_pod_api(store: &Store) -> PodApi {
    if DYNAMIC.with(Cell::get) {
        PodApi::Dynamic(store.all_with(&pod_resource()))
    } else {
        PodApi::Typed(store.all::<Pod>())
    }
}

pub fn to_dynamic(pod: &Pod) -> DynamicObject {
    serde_json::from_value(serde_json::to_value(pod).expect("pod to JSON")).expect("dynamic")
}

pub fn from_dynamic(obj: DynamicObject) -> Pod {
    let types = obj
        .types
        .clone()
        .expect("a dynamic object comes back with its types");
    assert_eq!(
        (types.api_version.as_str(), types.kind.as_str()),
        ("v1", "Pod")
    );
    serde_json::from_value(serde_json::to_value(&obj).expect("dynamic to JSON")).expect("pod")
}

fn from_list(list: ObjectList<DynamicObject>) -> ObjectList<Pod> {
    ObjectList {
        metadata: list.metadata,
        items: list.items.into_iter().map(from_dynamic).collect(),
    }
}

/// `Api<Pod>` or `Api<DynamicObject>`, answering in pods.
#[derive(Clone, Debug)]
pub enum PodApi {
    Typed(Api<Pod>),
    Dynamic(Api<DynamicObject>),
}

impl PodApi {
    pub fn is_dynamic(&self) -> bool {
        matches!(self, PodApi::Dynamic(_))
    }

    pub fn namespace(&self) -> Option<&str> {
        match self {
            PodApi::Typed(a) => a.namespace(),
            PodApi::Dynamic(a) => a.namespace(),
        }
    }

    pub fn create(&self, pp: &PostParams, pod: &Pod) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.create(pp, pod),
            PodApi::Dynamic(a) => a.create(pp, &to_dynamic(pod)).map(from_dynamic),
        }
    }

    pub fn get(&self, name: &str) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.get(name),
            PodApi::Dynamic(a) => a.get(name).map(from_dynamic),
        }
    }

    pub fn get_opt(&self, name: &str) -> Result<Option<Pod>> {
        match self {
            PodApi::Typed(a) => a.get_opt(name),
            PodApi::Dynamic(a) => a.get_opt(name).map(|o| o.map(from_dynamic)),
        }
    }

    pub fn get_with(&self, name: &str, gp: &GetParams) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.get_with(name, gp),
            PodApi::Dynamic(a) => a.get_with(name, gp).map(from_dynamic),
        }
    }

    pub fn read<R>(&self, name: &str, f: impl FnOnce(&Pod) -> R) -> Result<R> {
        match self {
            PodApi::Typed(a) => a.read(name, f),
            PodApi::Dynamic(a) => a.read(name, |o| f(&from_dynamic(o.clone()))),
        }
    }

    pub fn list(&self, lp: &ListParams) -> Result<ObjectList<Pod>> {
        match self {
            PodApi::Typed(a) => a.list(lp),
            PodApi::Dynamic(a) => a.list(lp).map(from_list),
        }
    }

    pub fn list_shared(&self, lp: &ListParams) -> Result<ObjectList<Arc<Pod>>> {
        match self {
            PodApi::Typed(a) => a.list_shared(lp),
            PodApi::Dynamic(a) => a.list_shared(lp).map(|list| ObjectList {
                metadata: list.metadata,
                items: list
                    .items
                    .into_iter()
                    .map(|o| Arc::new(from_dynamic(Arc::unwrap_or_clone(o))))
                    .collect(),
            }),
        }
    }

    pub fn replace(&self, name: &str, pp: &PostParams, pod: &Pod) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.replace(name, pp, pod),
            PodApi::Dynamic(a) => a.replace(name, pp, &to_dynamic(pod)).map(from_dynamic),
        }
    }

    pub fn replace_status(&self, name: &str, pp: &PostParams, pod: &Pod) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.replace_status(name, pp, pod),
            PodApi::Dynamic(a) => a
                .replace_status(name, pp, &to_dynamic(pod))
                .map(from_dynamic),
        }
    }

    pub fn update(&self, name: &str, mut f: impl FnMut(Pod) -> Result<Pod>) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.update(name, f),
            PodApi::Dynamic(a) => a
                .update(name, |o| f(from_dynamic(o)).map(|p| to_dynamic(&p)))
                .map(from_dynamic),
        }
    }

    pub fn update_with(
        &self,
        name: &str,
        pp: &PostParams,
        preconditions: Option<&Preconditions>,
        mut f: impl FnMut(Pod) -> Result<Pod>,
    ) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.update_with(name, pp, preconditions, f),
            PodApi::Dynamic(a) => a
                .update_with(name, pp, preconditions, |o| {
                    f(from_dynamic(o)).map(|p| to_dynamic(&p))
                })
                .map(from_dynamic),
        }
    }

    pub fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.patch(name, pp, patch),
            PodApi::Dynamic(a) => a.patch(name, pp, patch).map(from_dynamic),
        }
    }

    pub fn patch_status(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.patch_status(name, pp, patch),
            PodApi::Dynamic(a) => a.patch_status(name, pp, patch).map(from_dynamic),
        }
    }

    pub fn delete(&self, name: &str, dp: &DeleteParams) -> Result<Pod> {
        match self {
            PodApi::Typed(a) => a.delete(name, dp),
            PodApi::Dynamic(a) => a.delete(name, dp).map(from_dynamic),
        }
    }

    pub fn delete_collection(&self, dp: &DeleteParams, lp: &ListParams) -> Result<ObjectList<Pod>> {
        match self {
            PodApi::Typed(a) => a.delete_collection(dp, lp),
            PodApi::Dynamic(a) => a.delete_collection(dp, lp).map(from_list),
        }
    }

    pub fn watch(&self, wp: &WatchParams, version: &str) -> Result<PodWatch> {
        match self {
            PodApi::Typed(a) => a.watch(wp, version).map(PodWatch::Typed),
            PodApi::Dynamic(a) => a.watch(wp, version).map(PodWatch::Dynamic),
        }
    }
}

fn event_from_dynamic(event: WatchEvent<DynamicObject>) -> WatchEvent<Pod> {
    match event {
        WatchEvent::Added(o) => WatchEvent::Added(from_dynamic(o)),
        WatchEvent::Modified(o) => WatchEvent::Modified(from_dynamic(o)),
        WatchEvent::Deleted(o) => WatchEvent::Deleted(from_dynamic(o)),
        WatchEvent::Bookmark(b) => WatchEvent::Bookmark(b),
        WatchEvent::Error(s) => WatchEvent::Error(s),
    }
}

fn shared_event_from_dynamic(event: WatchEvent<Arc<DynamicObject>>) -> WatchEvent<Arc<Pod>> {
    let pod = |o: Arc<DynamicObject>| Arc::new(from_dynamic(Arc::unwrap_or_clone(o)));
    match event {
        WatchEvent::Added(o) => WatchEvent::Added(pod(o)),
        WatchEvent::Modified(o) => WatchEvent::Modified(pod(o)),
        WatchEvent::Deleted(o) => WatchEvent::Deleted(pod(o)),
        WatchEvent::Bookmark(b) => WatchEvent::Bookmark(b),
        WatchEvent::Error(s) => WatchEvent::Error(s),
    }
}

/// A watch of pods through either handle.
#[derive(Debug)]
pub enum PodWatch {
    Typed(Watch<Pod>),
    Dynamic(Watch<DynamicObject>),
}

impl PodWatch {
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<WatchEvent<Pod>> {
        match self {
            PodWatch::Typed(w) => w.recv_timeout(timeout),
            PodWatch::Dynamic(w) => w.recv_timeout(timeout).map(event_from_dynamic),
        }
    }

    pub fn recv_timeout_shared(&mut self, timeout: Duration) -> Option<WatchEvent<Arc<Pod>>> {
        match self {
            PodWatch::Typed(w) => w.recv_timeout_shared(timeout),
            PodWatch::Dynamic(w) => w
                .recv_timeout_shared(timeout)
                .map(shared_event_from_dynamic),
        }
    }

    pub fn try_next(&mut self) -> Option<WatchEvent<Pod>> {
        match self {
            PodWatch::Typed(w) => w.try_next(),
            PodWatch::Dynamic(w) => w.try_next().map(event_from_dynamic),
        }
    }

    pub fn is_done(&self) -> bool {
        match self {
            PodWatch::Typed(w) => w.is_done(),
            PodWatch::Dynamic(w) => w.is_done(),
        }
    }

    pub fn resource_version(&self) -> u64 {
        match self {
            PodWatch::Typed(w) => w.resource_version(),
            PodWatch::Dynamic(w) => w.resource_version(),
        }
    }

    pub fn stop(&mut self) {
        match self {
            PodWatch::Typed(w) => w.stop(),
            PodWatch::Dynamic(w) => w.stop(),
        }
    }
}

impl Iterator for PodWatch {
    type Item = WatchEvent<Pod>;

    fn next(&mut self) -> Option<WatchEvent<Pod>> {
        match self {
            PodWatch::Typed(w) => w.next(),
            PodWatch::Dynamic(w) => w.next().map(event_from_dynamic),
        }
    }
}

/// A source of pod watch events, typed or dynamic.
pub trait PodEvents {
    fn next_event(&mut self, timeout: Duration) -> Option<WatchEvent<Pod>>;
}

impl PodEvents for Watch<Pod> {
    fn next_event(&mut self, timeout: Duration) -> Option<WatchEvent<Pod>> {
        self.recv_timeout(timeout)
    }
}

impl PodEvents for PodWatch {
    fn next_event(&mut self, timeout: Duration) -> Option<WatchEvent<Pod>> {
        self.recv_timeout(timeout)
    }
}
