//! `AsyncApi<K>`: every verb of [`Api`] as a future, for servers on an async runtime.
//!
//! Design notes: a write's only wait is its group commit's log sync. The blocking verbs wait
//! for it on their thread (which may lead the group); these submit the transaction
//! ([`Mvcc::submit`](crate::mvcc::Mvcc::submit)) and await its [`Pending`](crate::mvcc::Pending),
//! so an executor thread is never blocked and writes from many tasks still share one sync.
//! The registry logic is the same code: each verb is written once as an `async fn` and the
//! blocking form runs it to completion on its own thread. Reads never wait on I/O (every
//! read is served from the in-memory index), so their async forms answer at once.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::Result;
use crate::store::api::{Api, Mode, Part};
use crate::store::meta::ObjectList;
use crate::store::params::{
    DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams, Preconditions, WatchParams,
};
use crate::store::strategy::Resource;
use crate::store::watch::{Watch, WatchEvent};

/// The async verbs of one resource (kube-rs's `Api<K>`, whose verbs are all async); made by
/// [`Api::into_async`]. Cheap to clone.
pub struct AsyncApi<K> {
    api: Api<K>,
}

impl<K> Clone for AsyncApi<K> {
    fn clone(&self) -> Self {
        AsyncApi {
            api: self.api.clone(),
        }
    }
}

impl<K> std::fmt::Debug for AsyncApi<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AsyncApi").field(&self.api).finish()
    }
}

impl<K: Resource> Api<K> {
    /// This handle with async verbs.
    pub fn into_async(self) -> AsyncApi<K> {
        AsyncApi { api: self }
    }
}

impl<K: Resource> AsyncApi<K> {
    /// The blocking handle on the same resource.
    pub fn blocking(&self) -> &Api<K> {
        &self.api
    }

    /// [`Api::create`].
    pub async fn create(&self, pp: &PostParams, obj: &K) -> Result<K> {
        self.api.create_in(Mode::Submitted, pp, obj).await
    }

    /// [`Api::create_shared`].
    pub async fn create_shared(&self, pp: &PostParams, obj: K) -> Result<Arc<K>> {
        self.api.create_shared_in(Mode::Submitted, pp, obj).await
    }

    /// [`Api::get`].
    pub async fn get(&self, name: &str) -> Result<K> {
        self.api.get(name)
    }

    /// [`Api::get_opt`].
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        self.api.get_opt(name)
    }

    /// [`Api::get_with`].
    pub async fn get_with(&self, name: &str, gp: &GetParams) -> Result<K> {
        self.api.get_with(name, gp)
    }

    /// [`Api::read`].
    pub async fn read<R>(&self, name: &str, f: impl FnOnce(&K) -> R) -> Result<R> {
        self.api.read(name, f)
    }

    /// [`Api::list`].
    pub async fn list(&self, lp: &ListParams) -> Result<ObjectList<K>> {
        self.api.list(lp)
    }

    /// [`Api::list_shared`].
    pub async fn list_shared(&self, lp: &ListParams) -> Result<ObjectList<Arc<K>>> {
        self.api.list_shared(lp)
    }

    /// [`Api::create_unrestricted`].
    pub async fn create_unrestricted(&self, pp: &PostParams, obj: &K) -> Result<K> {
        self.api
            .create_unrestricted_in(Mode::Submitted, pp, obj)
            .await
    }

    /// [`Api::replace_unrestricted`].
    pub async fn replace_unrestricted(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.api
            .replace_unrestricted_in(Mode::Submitted, name, pp, obj)
            .await
    }

    /// [`Api::replace_status_owned`].
    pub async fn replace_status_owned(&self, name: &str, pp: &PostParams, obj: K) -> Result<K> {
        self.api
            .replace_status_in(Mode::Submitted, name, pp, obj)
            .await
    }

    /// [`Api::write_status_owned`].
    pub async fn write_status_owned(&self, name: &str, pp: &PostParams, obj: K) -> Result<()> {
        self.api
            .write_status_in(Mode::Submitted, name, pp, obj)
            .await
    }

    /// [`Api::replace`].
    pub async fn replace(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.api.replace_in(Mode::Submitted, name, pp, obj).await
    }

    /// [`Api::replace_status`].
    pub async fn replace_status(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.api
            .replace_status_in(Mode::Submitted, name, pp, obj.clone())
            .await
    }

    /// [`Api::update`]: `f` is called with the current object, again after every lost race.
    pub async fn update<F>(&self, name: &str, f: F) -> Result<K>
    where
        F: FnMut(K) -> Result<K>,
    {
        self.update_with(name, &PostParams::default(), None, f)
            .await
    }

    /// [`Api::update_with`].
    pub async fn update_with<F>(
        &self,
        name: &str,
        pp: &PostParams,
        preconditions: Option<&Preconditions>,
        f: F,
    ) -> Result<K>
    where
        F: FnMut(K) -> Result<K>,
    {
        self.api
            .update_in(Mode::Submitted, name, pp, preconditions, f)
            .await
    }

    /// [`Api::patch`].
    pub async fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        self.api
            .patch_in(Mode::Submitted, name, pp, patch, Part::Main)
            .await
    }

    /// [`Api::patch_status`].
    pub async fn patch_status(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        self.api
            .patch_in(Mode::Submitted, name, pp, patch, Part::Status)
            .await
    }

    /// [`Api::delete`].
    pub async fn delete(&self, name: &str, dp: &DeleteParams) -> Result<K> {
        self.api.delete_in(Mode::Submitted, name, dp).await
    }

    /// [`Api::delete_collection`].
    pub async fn delete_collection(
        &self,
        dp: &DeleteParams,
        lp: &ListParams,
    ) -> Result<ObjectList<K>> {
        self.api.delete_collection_in(Mode::Submitted, dp, lp).await
    }

    /// [`Api::watch`] as kube-rs shapes it: a stream of `Result<WatchEvent<K>>`. An in-process
    /// watch has no transport to fail, so every item is `Ok`; what the API server sends as an
    /// ERROR event (410 Expired, a stored object that cannot be decoded) is
    /// `Ok(WatchEvent::Error(status))` here too, and ends the stream.
    pub async fn watch(&self, wp: &WatchParams, version: &str) -> Result<WatchStream<K>> {
        self.api.watch(wp, version).map(WatchStream)
    }
}

/// A watch as a stream of `Result<WatchEvent<K>>` (kube-rs's watch item); see
/// [`AsyncApi::watch`]. Dropping it unsubscribes.
#[derive(Debug)]
pub struct WatchStream<K: Resource>(Watch<K>);

impl<K: Resource> WatchStream<K> {
    /// The watch inside, for its blocking and shared-object forms.
    pub fn into_inner(self) -> Watch<K> {
        self.0
    }
}

impl<K: Resource> futures_core::Stream for WatchStream<K> {
    type Item = Result<WatchEvent<K>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|event| event.map(Ok))
    }
}
