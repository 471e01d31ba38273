//! How a served kind reaches the store. The router speaks to every kind through [`Backend`],
//! in JSON form ([`DynamicObject`]), so stored dynamic kinds, typed kinds with their own
//! strategies (the image group) and virtual kinds (image stream tags, mappings) share one table
//! and one set of handlers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use apistore::{
    Api, ApiResource, DeleteParams, DynamicObject, GetParams, ListParams, ObjectList, Patch,
    PatchParams, PostParams, Resource, Status, Store, WatchEvent, WatchParams,
};
use futures_core::Stream;
use serde_json::Value;

/// A boxed, sendable future (the trait is used as a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The events of a watch, in JSON form. Objects are shared: every watcher of one event gets the
/// same `Arc`, so the event can be encoded once for all of them.
pub type EventStream =
    Pin<Box<dyn Stream<Item = apistore::Result<WatchEvent<Arc<DynamicObject>>>> + Send + Sync>>;

/// A page of a list in JSON form. Items are shared: a stored kind hands out its decoded
/// objects, which the response encodes without copying.
pub type SharedList = ObjectList<Arc<DynamicObject>>;

/// What a create or delete answers: the object, or a `Status` (virtual kinds answer one).
#[derive(Debug)]
pub enum Answer {
    /// The object as written or deleted (shared: a create keeps it as the stored version's
    /// decoded form).
    Object(Arc<DynamicObject>),
    /// A `Status` (with its HTTP code in `code`).
    Status(Box<Status>),
}

/// What a `PUT` or apply of an object will do, found before it is made: kube-apiserver's
/// handlers know it from what they read, and admit the write and pick its code by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutEffect {
    /// Changes an object that is there (200).
    Updates,
    /// Makes a new stored object, admitted as a create: its namespace must exist and not be
    /// terminating (201).
    Creates,
    /// Makes a new object of a virtual kind (a spec tag of an image stream), and the stored
    /// object behind it when `new_stream`; admitted as the update of that object, so only a
    /// missing namespace refuses it (201).
    Adds {
        /// The image stream does not exist yet and is made with the tag.
        new_stream: bool,
    },
}

/// The verbs of one kind. A method a kind does not serve keeps the default, a 405; the router
/// also checks the kind's verbs before calling, so the defaults are a second line.
pub trait Backend: Send + Sync {
    /// What a `PUT` (not of a status) or an apply of `name` will do. By default, when
    /// `creates_missing` (a kind described [`ApiResource::with_create_on_update`], or an
    /// apply) it creates what is missing, and otherwise it updates. Errors other than NotFound
    /// are left for the write itself to report.
    fn put_effect<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        creates_missing: bool,
    ) -> BoxFuture<'a, apistore::Result<PutEffect>> {
        Box::pin(async move {
            if !creates_missing {
                return Ok(PutEffect::Updates);
            }
            Ok(match self.get(namespace, name).await {
                Err(e) if e.is_not_found() => PutEffect::Creates,
                _ => PutEffect::Updates,
            })
        })
    }

    /// `GET` of one object.
    fn get<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let _ = (namespace, name);
        Box::pin(async { Err(not_allowed("get")) })
    }

    /// `GET` of one object with a `resourceVersion`: any version up to the current one reads
    /// the latest, a later one is TooLargeResourceVersion. Kinds not kept in the store read
    /// the latest whatever the version.
    fn get_at<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        gp: &'a GetParams,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let _ = gp;
        self.get(namespace, name)
    }

    /// `GET` of a collection.
    fn list<'a>(
        &'a self,
        namespace: Option<&'a str>,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<SharedList>> {
        let _ = (namespace, lp);
        Box::pin(async { Err(not_allowed("list")) })
    }

    /// `GET ?watch=true` of a collection.
    fn watch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        wp: &'a WatchParams,
        version: &'a str,
    ) -> BoxFuture<'a, apistore::Result<EventStream>> {
        let _ = (namespace, wp, version);
        Box::pin(async { Err(not_allowed("watch")) })
    }

    /// `POST` to a collection.
    fn create<'a>(
        &'a self,
        namespace: Option<&'a str>,
        pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        let _ = (namespace, pp, obj);
        Box::pin(async { Err(not_allowed("create")) })
    }

    /// `PUT` of an object, or of its status when `status`.
    fn replace<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PostParams,
        obj: DynamicObject,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let _ = (namespace, name, pp, obj, status);
        Box::pin(async { Err(not_allowed("update")) })
    }

    /// `PATCH` of an object, or of its status when `status`.
    fn patch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PatchParams,
        patch: &'a Patch,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let _ = (namespace, name, pp, patch, status);
        Box::pin(async { Err(not_allowed("patch")) })
    }

    /// `DELETE` of an object.
    fn delete<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        dp: &'a DeleteParams,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        let _ = (namespace, name, dp);
        Box::pin(async { Err(not_allowed("delete")) })
    }

    /// `DELETE` of a collection.
    fn delete_collection<'a>(
        &'a self,
        namespace: Option<&'a str>,
        dp: &'a DeleteParams,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<ObjectList<DynamicObject>>> {
        let _ = (namespace, dp, lp);
        Box::pin(async { Err(not_allowed("deletecollection")) })
    }

    /// `GET` of a read-only subresource other than `status` (`imagestreams/layers`).
    fn get_subresource<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        subresource: &'a str,
    ) -> BoxFuture<'a, apistore::Result<Value>> {
        let _ = (namespace, name, subresource);
        Box::pin(async { Err(not_allowed("get")) })
    }
}

/// kube-apiserver's 405 for a verb a resource does not serve.
pub fn not_allowed(verb: &str) -> apistore::Error {
    apistore::Error::MethodNotAllowed {
        message: format!(
            "the server does not allow this method on the requested resource ({verb})"
        ),
        details: Box::default(),
    }
}

/// A kind stored as JSON ([`DynamicObject`]): the core kinds, and kinds added at run time.
pub struct Dynamic {
    store: Store,
    ar: ApiResource,
}

impl Dynamic {
    /// The kind `ar` of `store`.
    pub fn new(store: &Store, ar: &ApiResource) -> Dynamic {
        Dynamic {
            store: store.clone(),
            ar: ar.clone(),
        }
    }

    fn api(&self, namespace: Option<&str>) -> apistore::AsyncApi<DynamicObject> {
        match namespace {
            Some(ns) => self.store.namespaced_with(ns, &self.ar),
            None => self.store.all_with(&self.ar),
        }
        .into_async()
    }
}

impl Backend for Dynamic {
    fn get<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { self.api(namespace).get(name).await })
    }

    fn get_at<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        gp: &'a GetParams,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { self.api(namespace).get_with(name, gp).await })
    }

    fn list<'a>(
        &'a self,
        namespace: Option<&'a str>,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<SharedList>> {
        Box::pin(async move { self.api(namespace).list_shared(lp).await })
    }

    fn watch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        wp: &'a WatchParams,
        version: &'a str,
    ) -> BoxFuture<'a, apistore::Result<EventStream>> {
        Box::pin(async move {
            let events = self.api(namespace).watch(wp, version).await?.into_inner();
            Ok(Box::pin(Shared(events)) as EventStream)
        })
    }

    fn create<'a>(
        &'a self,
        namespace: Option<&'a str>,
        pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            let created = self.api(namespace).create_shared(pp, obj).await?;
            Ok(Answer::Object(created))
        })
    }

    fn replace<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PostParams,
        obj: DynamicObject,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let api = self.api(namespace);
            if status {
                api.replace_status_owned(name, pp, obj).await
            } else {
                api.replace(name, pp, &obj).await
            }
        })
    }

    fn patch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PatchParams,
        patch: &'a Patch,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let api = self.api(namespace);
            if status {
                api.patch_status(name, pp, patch).await
            } else {
                api.patch(name, pp, patch).await
            }
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        dp: &'a DeleteParams,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            let deleted = self.api(namespace).delete(name, dp).await?;
            Ok(Answer::Object(Arc::new(deleted)))
        })
    }

    fn delete_collection<'a>(
        &'a self,
        namespace: Option<&'a str>,
        dp: &'a DeleteParams,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<ObjectList<DynamicObject>>> {
        Box::pin(async move { self.api(namespace).delete_collection(dp, lp).await })
    }
}

/// A kind compiled into the crate (`ImageStream`, `Image`), served through its typed `Api` so
/// its own strategy runs; objects cross into JSON form at the edge.
pub struct Typed<K: Resource> {
    store: Store,
    ar: ApiResource,
    subresources: Option<SubresourceReader>,
    _kind: std::marker::PhantomData<fn() -> K>,
}

/// Answers `GET` of a read-only subresource: (store, namespace, name, subresource). Blocking;
/// run off the executor's threads.
pub type SubresourceReader = fn(&Store, &str, &str, &str) -> apistore::Result<Value>;

impl<K: Resource> Typed<K> {
    /// The typed kind `K` of `store`, described by `ar` (its names, as served).
    pub fn new(store: &Store, ar: &ApiResource) -> Typed<K> {
        Typed {
            store: store.clone(),
            ar: ar.clone(),
            subresources: None,
            _kind: std::marker::PhantomData,
        }
    }

    /// This kind with read-only subresources answered by `reader`.
    #[must_use]
    pub fn with_subresources(mut self, reader: SubresourceReader) -> Typed<K> {
        self.subresources = Some(reader);
        self
    }

    fn api(&self, namespace: Option<&str>) -> apistore::AsyncApi<K> {
        let api: Api<K> = match namespace {
            Some(ns) => self.store.namespaced::<K>(ns),
            None => self.store.all::<K>(),
        };
        api.into_async()
    }

    fn decode(&self, obj: DynamicObject) -> apistore::Result<K> {
        from_dynamic(&self.ar, obj)
    }

    fn to_json(&self, obj: &K) -> apistore::Result<DynamicObject> {
        to_dynamic(&self.ar, obj)
    }
}

/// `obj` as a `K` (the body of a write): a field of the wrong type is a 400, as kube-apiserver's
/// decoder answers it.
pub fn from_dynamic<K: serde::de::DeserializeOwned>(
    ar: &ApiResource,
    obj: DynamicObject,
) -> apistore::Result<K> {
    let value = serde_json::to_value(obj).map_err(|e| apistore::Error::internal(e.to_string()))?;
    K::deserialize(&value)
        .map_err(|e| crate::go_decode::cannot_handle(&ar.group, &ar.kind, &value, &e))
}

/// `obj` in JSON form, with `apiVersion` and `kind` set.
pub fn to_dynamic<K: serde::Serialize>(
    ar: &ApiResource,
    obj: &K,
) -> apistore::Result<DynamicObject> {
    let value = serde_json::to_value(obj).map_err(|e| apistore::Error::internal(e.to_string()))?;
    let mut out: DynamicObject =
        serde_json::from_value(value).map_err(|e| apistore::Error::internal(e.to_string()))?;
    out.types = Some(apistore::TypeMeta {
        api_version: ar.api_version.clone(),
        kind: ar.kind.clone(),
    });
    Ok(out)
}

fn list_to_json<K: serde::Serialize>(
    ar: &ApiResource,
    list: ObjectList<K>,
) -> apistore::Result<ObjectList<DynamicObject>> {
    let items = list
        .items
        .iter()
        .map(|item| to_dynamic(ar, item))
        .collect::<apistore::Result<Vec<_>>>()?;
    Ok(ObjectList {
        metadata: list.metadata,
        items,
    })
}

impl<K: Resource> Backend for Typed<K> {
    fn get<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { self.to_json(&self.api(namespace).get(name).await?) })
    }

    fn get_at<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        gp: &'a GetParams,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { self.to_json(&self.api(namespace).get_with(name, gp).await?) })
    }

    fn list<'a>(
        &'a self,
        namespace: Option<&'a str>,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<SharedList>> {
        Box::pin(async move {
            let list = self.api(namespace).list_shared(lp).await?;
            let items = list
                .items
                .iter()
                .map(|item| self.to_json(item).map(Arc::new))
                .collect::<apistore::Result<Vec<_>>>()?;
            Ok(ObjectList {
                metadata: list.metadata,
                items,
            })
        })
    }

    fn watch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        wp: &'a WatchParams,
        version: &'a str,
    ) -> BoxFuture<'a, apistore::Result<EventStream>> {
        Box::pin(async move {
            let events = self.api(namespace).watch(wp, version).await?;
            let ar = self.ar.clone();
            let converted = Converted { events, ar };
            Ok(Box::pin(converted) as EventStream)
        })
    }

    fn create<'a>(
        &'a self,
        namespace: Option<&'a str>,
        pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            let obj = self.decode(obj)?;
            let created = self.api(namespace).create(pp, &obj).await?;
            Ok(Answer::Object(Arc::new(self.to_json(&created)?)))
        })
    }

    fn replace<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PostParams,
        obj: DynamicObject,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let obj = self.decode(obj)?;
            let api = self.api(namespace);
            let out = if status {
                api.replace_status_owned(name, pp, obj).await?
            } else {
                api.replace(name, pp, &obj).await?
            };
            self.to_json(&out)
        })
    }

    fn patch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PatchParams,
        patch: &'a Patch,
        status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let api = self.api(namespace);
            let out = if status {
                api.patch_status(name, pp, patch).await?
            } else {
                api.patch(name, pp, patch).await?
            };
            self.to_json(&out)
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        dp: &'a DeleteParams,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            let out = self.api(namespace).delete(name, dp).await?;
            Ok(Answer::Object(Arc::new(self.to_json(&out)?)))
        })
    }

    fn delete_collection<'a>(
        &'a self,
        namespace: Option<&'a str>,
        dp: &'a DeleteParams,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<ObjectList<DynamicObject>>> {
        Box::pin(async move {
            let list = self.api(namespace).delete_collection(dp, lp).await?;
            list_to_json(&self.ar, list)
        })
    }

    fn get_subresource<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        subresource: &'a str,
    ) -> BoxFuture<'a, apistore::Result<Value>> {
        let Some(reader) = self.subresources else {
            return Box::pin(async { Err(not_allowed("get")) });
        };
        let store = self.store.clone();
        let namespace = namespace.unwrap_or_default().to_string();
        let name = name.to_string();
        let subresource = subresource.to_string();
        Box::pin(blocking(move || {
            reader(&store, &namespace, &name, &subresource)
        }))
    }
}

/// A watch handing out the store's decoded objects without copying them.
struct Shared(apistore::Watch<DynamicObject>);

impl Stream for Shared {
    type Item = apistore::Result<WatchEvent<Arc<DynamicObject>>>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_next_shared(cx).map(|event| event.map(Ok))
    }
}

/// A typed watch whose objects are turned into JSON form as they arrive.
struct Converted<K: Resource> {
    events: apistore::WatchStream<K>,
    ar: ApiResource,
}

impl<K: Resource> Stream for Converted<K> {
    type Item = apistore::Result<WatchEvent<Arc<DynamicObject>>>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        Pin::new(&mut this.events).poll_next(cx).map(|item| {
            item.map(|event| {
                event.and_then(|event| {
                    Ok(match event {
                        WatchEvent::Added(o) => {
                            WatchEvent::Added(Arc::new(to_dynamic(&this.ar, &o)?))
                        }
                        WatchEvent::Modified(o) => {
                            WatchEvent::Modified(Arc::new(to_dynamic(&this.ar, &o)?))
                        }
                        WatchEvent::Deleted(o) => {
                            WatchEvent::Deleted(Arc::new(to_dynamic(&this.ar, &o)?))
                        }
                        WatchEvent::Bookmark(b) => WatchEvent::Bookmark(b),
                        WatchEvent::Error(s) => WatchEvent::Error(s),
                    })
                })
            })
        })
    }
}

/// Runs a blocking call of the image API (its virtual kinds wait on the group commit) off the
/// executor's threads.
pub async fn blocking<T, F>(f: F) -> apistore::Result<T>
where
    F: FnOnce() -> apistore::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| apistore::Error::internal(format!("a blocking call failed: {e}")))?
}
