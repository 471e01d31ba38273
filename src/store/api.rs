//! `Api<K>`: the typed verbs, with the API server's registry semantics.
//!
//! Design notes: every write follows the generic registry store of `kube-apiserver`: read the
//! current object, check preconditions, let the kind's strategy prepare and validate, encode,
//! then commit with a compare on the mod revision that was read. A compare failure means a
//! concurrent writer won: writes that carried an explicit resourceVersion answer Conflict, the
//! others (guaranteed update, patch, delete) re-read and try again. Nothing is written, and no
//! revision consumed, when a write fails, is a dry run, or would store identical bytes.

use crate::ObjectMetaExt;
use std::sync::Arc;

use rand::Rng;
use serde_json::{Map, Value};

use crate::error::{Error, Result, StatusCause};
use crate::mvcc::{Decoded, MvccError, Slot, Txn};
use crate::store::codec;
use crate::store::context::StrategyContext;
use crate::store::key::{self, KeySpace};
use crate::store::kind::Kind;
use crate::store::managed;
use crate::store::meta::{
    dedup_owner_references, meta_now, meta_plus_seconds, omit_empty_collections, ObjectMeta,
};
use crate::store::params::{
    DeleteParams, GetParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
use crate::store::strategy::Resource;
use crate::store::validation::validate_object_meta;
use crate::store::Store;

/// The alphabet of generated name suffixes (`storage/names/generate.go`): no vowels, no
/// confusable characters.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const GENERATED_SUFFIX_LEN: usize = 5;
const GENERATED_BASE_MAX: usize = 58;
const GENERATE_ATTEMPTS: usize = 8;

/// A typed handle on one resource, optionally narrowed to a namespace (`kube::Api`).
pub struct Api<K> {
    pub(crate) store: Store,
    pub(crate) namespace: Option<String>,
    pub(crate) space: KeySpace,
    pub(crate) kind: Arc<Kind<K>>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Api {
            store: self.store.clone(),
            namespace: self.namespace.clone(),
            space: self.space.clone(),
            kind: Arc::clone(&self.kind),
        }
    }
}

impl<K> std::fmt::Debug for Api<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("prefix", &String::from_utf8_lossy(&self.space.resource))
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// An object as read from the engine.
pub(crate) struct Stored<K> {
    /// Shared with the decoded-object cache: loading for a write copies nothing.
    pub obj: Arc<K>,
    pub key: Vec<u8>,
    pub mod_revision: u64,
    pub bytes: Arc<[u8]>,
}

/// A create queued for its group commit by [`Api::submit_create`]: the caller goes on with
/// other work (another write, or waiting for one) while the create's log sync runs, and
/// collects the outcome with [`SubmittedCreate::wait`]. Dropping it does not cancel the create.
#[must_use = "the outcome of a submitted create is only known through `wait`"]
pub struct SubmittedCreate<K: Resource> {
    api: Api<K>,
    obj: K,
    key: Vec<u8>,
    pending: crate::mvcc::Pending,
}

impl<K: Resource> SubmittedCreate<K> {
    /// Waits for the commit: the created object, or what [`Api::create`] would have answered
    /// (AlreadyExists when the name was taken).
    pub fn wait(self) -> Result<K> {
        let mut obj = self.obj;
        match self.pending.wait() {
            Ok(result) => {
                obj.meta_mut().resource_version = Some(result.revision.to_string());
                Ok(self.api.out(obj))
            }
            Err(MvccError::CompareFailed { .. }) => {
                Err(self.api.create_collision(obj.meta().name_str(), &self.key))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl<K: Resource> std::fmt::Debug for SubmittedCreate<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmittedCreate")
            .field("key", &String::from_utf8_lossy(&self.key))
            .finish_non_exhaustive()
    }
}

/// What one optimistic attempt came to.
enum Attempt<T> {
    Done(T),
    /// The compare failed: somebody else wrote first.
    Lost,
}

/// How a verb waits for its commit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// On the calling thread, which may lead the group commit (the blocking verbs).
    Blocking,
    /// As a future that never blocks its thread (the async verbs).
    Submitted,
}

/// Runs a verb's future on this thread. A blocking verb's future never waits for a waker
/// (its commit blocks inside the poll), so the first poll answers; should one ever return
/// pending, the thread parks until it is woken.
pub(crate) fn block_now<T>(future: impl std::future::Future<Output = T>) -> T {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Which part of the object an update may change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Part {
    Main,
    Status,
    /// Spec and status together (the internal path controllers use).
    All,
}

/// Parses a resourceVersion parameter: `""` and `"0"` are 0.
pub(crate) fn parse_resource_version(text: &str) -> Result<u64> {
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<u64>().map_err(|_| {
        Error::bad_request(format!(
            "invalid resource version: {text:?} is not an unsigned integer"
        ))
    })
}

impl<K: Resource> Api<K> {
    pub(crate) fn new(store: Store, namespace: Option<String>) -> Api<K> {
        let kind = Kind::typed_in(&store);
        Api::with_kind(store, namespace, kind)
    }

    /// A handle on the kind `kind` describes.
    pub(crate) fn with_kind(store: Store, namespace: Option<String>, kind: Arc<Kind<K>>) -> Api<K> {
        Api {
            store,
            namespace,
            space: KeySpace {
                resource: key::resource_prefix(&kind.group, &kind.plural),
            },
            kind,
        }
    }

    /// This handle narrowed to `namespace` (same kind).
    pub(crate) fn in_namespace(&self, namespace: &str) -> Api<K> {
        Api {
            store: self.store.clone(),
            namespace: Some(namespace.to_string()),
            space: self.space.clone(),
            kind: Arc::clone(&self.kind),
        }
    }

    /// The store this handle belongs to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The namespace this handle is narrowed to, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    fn resource(&self) -> String {
        self.kind.resource()
    }

    fn not_found(&self, name: &str) -> Error {
        Error::not_found(&self.kind.group, &self.kind.plural, name)
    }

    /// Checks the handle's own scope (namespace given only for namespaced kinds, and valid).
    pub(crate) fn check_scope(&self) -> Result<()> {
        if self.kind.plural.is_empty() {
            return Err(Error::bad_request(
                "a handle on a kind described at run time needs its ApiResource: use Store::namespaced_with or Store::all_with",
            ));
        }
        match (&self.namespace, self.kind.namespaced) {
            (Some(_), false) => Err(Error::bad_request(format!(
                "{} is cluster-scoped: use Store::all, not Store::namespaced",
                self.resource()
            ))),
            (Some(ns), true) => key::check_request_namespace(ns),
            (None, _) => Ok(()),
        }
    }

    /// The namespace a request for one named object is in.
    fn request_namespace(&self) -> Result<Option<&str>> {
        self.check_scope()?;
        if self.kind.namespaced {
            match &self.namespace {
                Some(ns) => Ok(Some(ns)),
                None => Err(Error::bad_request("Namespace parameter required.")),
            }
        } else {
            Ok(None)
        }
    }

    /// The key of the named object in this handle's namespace.
    fn key_of(&self, name: &str) -> Result<Vec<u8>> {
        let ns = self.request_namespace()?;
        key::check_request_name(name)?;
        Ok(self.space.object_key(ns, name))
    }

    /// Resolves the namespace of an object sent in a body against the request's.
    fn body_namespace(&self, body: Option<&str>) -> Result<Option<String>> {
        self.check_scope()?;
        if !self.kind.namespaced {
            return Ok(None);
        }
        let body = body.filter(|ns| !ns.is_empty());
        match (&self.namespace, body) {
            (Some(request), Some(body)) if request != body => Err(Error::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            )),
            (Some(request), _) => Ok(Some(request.clone())),
            (None, Some(body)) => {
                key::check_request_namespace(body)?;
                Ok(Some(body.to_string()))
            }
            (None, None) => Err(Error::bad_request("Namespace parameter required.")),
        }
    }

    /// An object on its way out: the kind's read-time decoration applied.
    pub(crate) fn out(&self, mut obj: K) -> K {
        self.kind.hooks.decoded(&mut obj);
        if self.kind.decorates {
            self.kind
                .hooks
                .decorate(&mut obj, &StrategyContext::new(&self.store));
        }
        obj
    }

    /// Decodes a key-value read from the index through the decoded-object cache: the cached
    /// object itself, shared (decoded and cached first on a miss).
    /// When `kv` is its key's newest version, `slot` is where that version's decoded form is
    /// kept; the object is left there too.
    pub(crate) fn decode_kv_shared(
        &self,
        kv: &crate::mvcc::KeyValue,
        slot: Option<&Slot>,
    ) -> Result<Arc<K>> {
        // An empty slot beside the newest version: the cache is not worth asking, as readers
        // that find a slot keep what they decode there.
        if let Some(slot) = slot.filter(|slot| slot.get().is_none()) {
            let obj = Arc::new(self.kind.decode(&kv.value, &kv.key, kv.mod_revision)?);
            self.keep_in(slot, &obj);
            return Ok(obj);
        }
        let cache = &self.store.shared.objects;
        let obj = match cache
            .get_shared::<K>(&kv.key, kv.mod_revision)
            .and_then(|shared| shared.downcast::<K>().ok())
        {
            Some(obj) => obj,
            None => {
                let obj = Arc::new(self.kind.decode(&kv.value, &kv.key, kv.mod_revision)?);
                cache.put_shared(&kv.key, kv.mod_revision, obj.clone());
                obj
            }
        };
        if let Some(slot) = slot {
            self.keep_in(slot, &obj);
        }
        Ok(obj)
    }

    /// The `K` a decoded-object slot holds, if it holds one (another Rust type reading the
    /// same key may have filled it).
    pub(crate) fn decoded_as(decoded: &Decoded) -> Option<Arc<K>> {
        if decoded.is::<K>() {
            Arc::clone(decoded).downcast::<K>().ok()
        } else {
            None
        }
    }

    /// Keeps `obj` as the decoded form of the version `slot` belongs to (unless decoded
    /// objects are not kept at all: `object_cache_entries` 0).
    pub(crate) fn keep_in(&self, slot: &Slot, obj: &Arc<K>) {
        if self.store.shared.config.object_cache_entries > 0 {
            let _ = slot.set(Arc::clone(obj) as Decoded);
        }
    }

    /// After an update: the written object is kept decoded beside its version, where gets,
    /// lists and watchers of that version find it. Not in the cache as well: the cache holds
    /// versions read after they were superseded, and a superseded version's readers (a
    /// lagging watcher, a list at an older snapshot) decode it once and cache it there.
    pub(crate) fn remember(&self, key: &[u8], revision: u64, obj: &Arc<K>) {
        let shared = &self.store.shared;
        if shared.config.object_cache_entries > 0 {
            shared
                .mvcc
                .keep_decoded(key, revision, Arc::clone(obj) as Decoded);
        }
    }

    pub(crate) fn load(&self, key: &[u8]) -> Result<Option<Stored<K>>> {
        match self.store.shared.mvcc.latest_entry(key) {
            None => Ok(None),
            Some((kv, slot)) => {
                let obj = match slot.get().and_then(Self::decoded_as) {
                    Some(obj) => obj,
                    None => self.decode_kv_shared(&kv, Some(&slot))?,
                };
                Ok(Some(Stored {
                    obj,
                    key: kv.key,
                    mod_revision: kv.mod_revision,
                    bytes: kv.value,
                }))
            }
        }
    }

    fn check_size(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let limit = self.store.shared.config.max_object_bytes;
        if bytes.len() > limit {
            return Err(Error::TooLarge {
                message: format!(
                    "{} \"{name}\" is too large: {} bytes encoded, the limit is {limit} bytes",
                    self.resource(),
                    bytes.len()
                ),
            });
        }
        Ok(())
    }

    fn invalid(&self, name: &str, causes: Vec<StatusCause>) -> Error {
        Error::invalid(&self.kind.group, &self.kind.kind, name, causes)
    }

    /// Commits `txn`: `None` when its compare failed. A blocking commit waits on this
    /// thread; a submitted one awaits its group without blocking the executor.
    async fn commit(&self, mode: Mode, txn: Txn) -> Result<Option<u64>> {
        let outcome = match mode {
            Mode::Blocking => self.store.shared.mvcc.commit(txn),
            Mode::Submitted => match self.store.shared.mvcc.submit(txn) {
                Ok(pending) => pending.await,
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(result) => Ok(Some(result.revision)),
            Err(MvccError::CompareFailed { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    // ---------------------------------------------------------------- create

    /// Creates `obj` (`POST`). The store sets uid, creationTimestamp, generation and
    /// resourceVersion, generates the name from `generateName` when `name` is empty, and
    /// answers AlreadyExists when the name is taken.
    pub fn create(&self, pp: &PostParams, obj: &K) -> Result<K> {
        block_now(self.create_in(Mode::Blocking, pp, obj))
    }

    pub(crate) async fn create_in(&self, mode: Mode, pp: &PostParams, obj: &K) -> Result<K> {
        self.create_inner(mode, pp, obj, false)
            .await
            .map(|o| self.out(o))
    }

    /// [`Api::create`] taking the object by value and answering the stored object shared: it
    /// is kept decoded beside its version, so the first get, list page or watcher of it finds
    /// it without decoding its bytes, and nothing is copied. For servers, which encode the
    /// answer and drop it (as [`Api::list_shared`] is for lists).
    pub fn create_shared(&self, pp: &PostParams, obj: K) -> Result<Arc<K>> {
        block_now(self.create_shared_in(Mode::Blocking, pp, obj))
    }

    pub(crate) async fn create_shared_in(
        &self,
        mode: Mode,
        pp: &PostParams,
        obj: K,
    ) -> Result<Arc<K>> {
        let obj = self.create_intake_owned(obj)?;
        let obj = self.track(pp.field_manager.as_deref(), None, obj, Part::Main)?;
        let created = Arc::new(self.create_owned(mode, pp, obj, false).await?);
        if !pp.dry_run {
            if let Some(revision) = created
                .meta()
                .resource_version
                .as_deref()
                .and_then(|rv| rv.parse().ok())
            {
                let meta = created.meta();
                let namespace = meta.namespace.as_deref().filter(|_| self.kind.namespaced);
                let key = self.space.object_key(namespace, meta.name_str());
                self.remember(&key, revision, &created);
            }
        }
        if self.kind.decorates {
            return Ok(Arc::new(self.out(K::clone(&created))));
        }
        Ok(created)
    }

    /// Creates `obj` keeping its status (an internal write path: for kinds with a status
    /// subresource, `create` drops the status the client sent; this keeps it). Strategies see
    /// [`StrategyContext::is_internal`].
    pub fn create_unrestricted(&self, pp: &PostParams, obj: &K) -> Result<K> {
        block_now(self.create_unrestricted_in(Mode::Blocking, pp, obj))
    }

    pub(crate) async fn create_unrestricted_in(
        &self,
        mode: Mode,
        pp: &PostParams,
        obj: &K,
    ) -> Result<K> {
        self.create_inner(mode, pp, obj, true)
            .await
            .map(|o| self.out(o))
    }

    /// A copy of `obj` as a create takes it in: the namespace checked and settled, no
    /// resourceVersion.
    fn create_intake(&self, obj: &K) -> Result<K> {
        self.create_intake_owned(obj.clone())
    }

    /// [`Api::create_intake`] of an object the caller gives up.
    fn create_intake_owned(&self, mut obj: K) -> Result<K> {
        let namespace = self.body_namespace(obj.meta().namespace.as_deref())?;
        obj.meta_mut().namespace = namespace;
        if obj
            .meta()
            .resource_version
            .as_deref()
            .is_some_and(|rv| !rv.is_empty())
        {
            return Err(Error::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        Ok(obj)
    }

    async fn create_inner(
        &self,
        mode: Mode,
        pp: &PostParams,
        obj: &K,
        internal: bool,
    ) -> Result<K> {
        let obj = self.create_intake(obj)?;
        let obj = self.track(pp.field_manager.as_deref(), None, obj, Part::Main)?;
        self.create_owned(mode, pp, obj, internal).await
    }

    /// A create of an object already taken in: one attempt, or several with generated names.
    async fn create_owned(&self, mode: Mode, pp: &PostParams, obj: K, internal: bool) -> Result<K> {
        let base = obj.meta().generate_name.clone().unwrap_or_default();
        let generate = obj.meta().name_str().is_empty() && !base.is_empty();
        if !generate {
            return self.create_once(mode, pp, obj, internal).await;
        }
        let mut last = None;
        for _ in 0..GENERATE_ATTEMPTS {
            let mut candidate = obj.clone();
            candidate.meta_mut().name = Some(generate_name(&base));
            match self.create_once(mode, pp, candidate, internal).await {
                Err(e) if e.is_already_exists() => last = Some(e),
                other => return other,
            }
        }
        Err(match last {
            Some(Error::AlreadyExists {
                message,
                mut details,
            }) => {
                details.retry_after_seconds = Some(1);
                Error::AlreadyExists { message, details }
            }
            Some(other) => other,
            None => Error::internal("name generation made no attempt"),
        })
    }

    async fn create_once(&self, mode: Mode, pp: &PostParams, obj: K, internal: bool) -> Result<K> {
        let (mut obj, key, bytes) = self.prepare_create(obj, internal)?;
        let name = obj.meta().name_str().to_string();
        if pp.dry_run {
            if let Some(existing) = self.load(&key)? {
                return Err(self.already_exists(&name, &existing.obj));
            }
            return Ok(obj);
        }
        let txn = Txn::new().when_absent(key.clone()).put(key.clone(), bytes);
        match self.commit(mode, txn).await? {
            Some(revision) => {
                // Not kept decoded: holding a copy of every new object made a create half
                // again as dear (the copy, and the fresh memory it takes), for a first read
                // that may never come. The first reader decodes it and keeps it; updates of
                // an object keep theirs (see `remember`).
                obj.meta_mut().resource_version = Some(revision.to_string());
                Ok(obj)
            }
            None => Err(self.create_collision(&name, &key)),
        }
    }

    /// `obj` as a create would write it (server-set metadata, prepared, validated,
    /// encoded), with its key and bytes. Nothing is written.
    fn prepare_create(&self, mut obj: K, internal: bool) -> Result<(K, Vec<u8>, Vec<u8>)> {
        let now = meta_now();
        {
            let meta = obj.meta_mut();
            // A v4 uid from the thread's CSPRNG (one getrandom syscall per create showed up in
            // profiles); the same randomness Kubernetes' uuid.NewRandom asks for.
            meta.uid = Some(
                uuid::Builder::from_random_bytes(rand::random::<[u8; 16]>())
                    .into_uuid()
                    .to_string(),
            );
            meta.creation_timestamp = Some(now);
            meta.generation = self.kind.tracks_generation.then_some(1);
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.self_link = None;
            meta.resource_version = None;
        }
        let ctx = if internal {
            StrategyContext::internal(&self.store)
        } else {
            StrategyContext::new(&self.store)
        };
        // Status is the server's on create: dropped before the kind prepares the object, so
        // a kind may set its initial status (a namespace starts `Active`), as kube-apiserver's
        // strategies reset and then fill it in PrepareForCreate.
        if self.kind.status_subresource && !internal {
            self.kind.hooks.clear_status(&mut obj)?;
        }
        self.kind.hooks.prepare_for_create(&mut obj, &ctx)?;
        dedup_owner_references(obj.meta_mut());
        omit_empty_collections(obj.meta_mut());
        let name = obj.meta().name_str().to_string();
        let mut causes = validate_object_meta(obj.meta(), self.kind.namespaced, &|n: &str| {
            self.kind.name_problems(n)
        });
        causes.extend(self.kind.hooks.validate_create(&obj));
        if !causes.is_empty() {
            return Err(self.invalid(&name, causes));
        }
        self.kind.hooks.canonicalize(&mut obj);
        let mut obj = self.owned_fields_that_exist(obj)?;
        let bytes = self.kind.encode(&mut obj, None)?;
        self.check_size(&name, &bytes)?;
        let key = self
            .space
            .object_key(obj.meta().namespace.as_deref(), &name);
        Ok((obj, key, bytes))
    }

    /// The error of a create that found `key` taken.
    fn create_collision(&self, name: &str, key: &[u8]) -> Error {
        match self.load(key) {
            Ok(Some(existing)) => self.already_exists(name, &existing.obj),
            // Deleted again in between: report the collision all the same.
            Ok(None) => Error::already_exists(&self.kind.group, &self.kind.plural, name, false),
            Err(e) => e,
        }
    }

    /// Queues the create of `obj` (named, not generated; as [`Api::create`] would write it)
    /// for its group commit and returns at once: a caller with more to do overlaps it with the
    /// commit's log sync, and collects the outcome with [`SubmittedCreate::wait`]. Validation
    /// and admission errors are answered here, before anything is queued. A server that
    /// batches related writes uses it to keep several creates in one group.
    pub fn submit_create(&self, obj: &K) -> Result<SubmittedCreate<K>> {
        let obj = self.create_intake(obj)?;
        if obj.meta().name_str().is_empty() {
            return Err(Error::internal("a submitted create needs a name"));
        }
        let (obj, key, bytes) = self.prepare_create(obj, false)?;
        let txn = Txn::new().when_absent(key.clone()).put(key.clone(), bytes);
        let pending = self.store.shared.mvcc.submit(txn)?;
        Ok(SubmittedCreate {
            api: self.clone(),
            obj,
            key,
            pending,
        })
    }

    fn already_exists(&self, name: &str, existing: &K) -> Error {
        Error::already_exists(
            &self.kind.group,
            &self.kind.plural,
            name,
            existing.meta().is_deleting(),
        )
    }

    // ---------------------------------------------------------------- get

    /// Reads the latest version of the named object.
    pub fn get(&self, name: &str) -> Result<K> {
        self.fresh_key(name, "")?;
        self.get_now(name)
    }

    /// [`Store::fresh_for`] of the named object's key.
    fn fresh_key(&self, name: &str, text: &str) -> Result<()> {
        if !text.is_empty() && text != "0" {
            return self.store.fresh_for(text, &crate::backend::KeyRange::all());
        }
        let key = self.key_of(name)?;
        let mut end = key.clone();
        end.push(0);
        self.store
            .fresh_for(text, &crate::backend::KeyRange::between(key, end))
    }

    /// The newest version of the named object this store's index holds.
    fn get_now(&self, name: &str) -> Result<K> {
        let key = self.key_of(name)?;
        let mvcc = &self.store.shared.mvcc;
        let Some((revision, slot)) = mvcc.latest_slot(&key) else {
            return Err(self.not_found(name));
        };
        if let Some(obj) = slot.get().and_then(|d| d.downcast_ref::<K>()) {
            return Ok(self.out(obj.clone()));
        }
        let obj = self.decode_latest(name, &key, revision, &slot)?;
        Ok(self.out(K::clone(&obj)))
    }

    /// The newest version of `key` decoded (from the cache, or from its value), kept in
    /// `slot` when it is still the version `slot` belongs to (at `revision`).
    fn decode_latest(&self, name: &str, key: &[u8], revision: u64, slot: &Slot) -> Result<Arc<K>> {
        let cache = &self.store.shared.objects;
        if let Some(obj) = cache
            .get_shared::<K>(key, revision)
            .and_then(|o| o.downcast::<K>().ok())
        {
            self.keep_in(slot, &obj);
            return Ok(obj);
        }
        // A miss reads the value (and its revision again: a write may have come in between).
        let Some((now, value)) = self.store.shared.mvcc.latest_value(key) else {
            return Err(self.not_found(name));
        };
        let obj = Arc::new(self.kind.decode(&value, key, now)?);
        cache.put_shared(key, now, obj.clone());
        if now == revision {
            self.keep_in(slot, &obj);
        }
        Ok(obj)
    }

    /// Reads the latest version of the named object without copying it: `f` sees the
    /// object as stored (resourceVersion set, read-time decoration *not* applied) and its
    /// answer is returned. For large objects of which a caller needs a small part — a tag of
    /// a stream with a long history — this skips cloning the whole object.
    pub fn read<R>(&self, name: &str, f: impl FnOnce(&K) -> R) -> Result<R> {
        self.fresh_key(name, "")?;
        let key = self.key_of(name)?;
        let mvcc = &self.store.shared.mvcc;
        let Some((revision, slot)) = mvcc.latest_slot(&key) else {
            return Err(self.not_found(name));
        };
        let hooks = &self.kind.hooks;
        let restamped = |obj: &K| {
            let mut obj = obj.clone();
            hooks.decoded(&mut obj);
            obj
        };
        if let Some(obj) = slot.get().and_then(|d| d.downcast_ref::<K>()) {
            if !hooks.stamped(obj) {
                return Ok(f(&restamped(obj)));
            }
            return Ok(f(obj));
        }
        let obj = self.decode_latest(name, &key, revision, &slot)?;
        if !hooks.stamped(&obj) {
            return Ok(f(&restamped(&obj)));
        }
        Ok(f(&obj))
    }

    /// Reads the named object, or `None` when it does not exist.
    pub fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name) {
            Ok(obj) => Ok(Some(obj)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads the named object with a resourceVersion constraint: unset = most recent, `"0"` =
    /// any, `"N"` = not older than N (N in the future answers TooLargeResourceVersion). A
    /// local store is linearizable, so every form returns the latest version; a store on etcd
    /// serves `"0"` from its index as it is, without asking etcd (as kube-apiserver serves
    /// it from its watch cache).
    pub fn get_with(&self, name: &str, gp: &GetParams) -> Result<K> {
        let text = gp.resource_version.as_deref().unwrap_or("");
        let requested = parse_resource_version(text)?;
        self.fresh_key(name, text)?;
        let current = self.store.resource_version();
        if requested > current {
            return Err(Error::TooLargeResourceVersion { requested, current });
        }
        self.get_now(name)
    }

    // ---------------------------------------------------------------- replace

    /// Replaces the named object (`PUT`), with optimistic concurrency on
    /// `metadata.resourceVersion`: a stale version answers Conflict; an empty one is Invalid
    /// unless the kind allows unconditional updates. Changes to `status` are ignored for kinds
    /// with a status subresource.
    pub fn replace(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        block_now(self.replace_in(Mode::Blocking, name, pp, obj))
    }

    pub(crate) async fn replace_in(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        obj: &K,
    ) -> Result<K> {
        self.replace_part(mode, name, pp, obj.clone(), Part::Main)
            .await
            .map(|o| self.out(Arc::unwrap_or_clone(o)))
    }

    /// Kinds without a status subresource have no `/status` endpoint (404, as the API server).
    fn require_status_subresource(&self, name: &str) -> Result<()> {
        if self.kind.status_subresource {
            return Ok(());
        }
        Err(Error::NotFound {
            message: format!(
                "the server could not find the requested resource ({} {name}/status)",
                self.resource()
            ),
            details: Box::default(),
        })
    }

    /// Replaces only the `status` of the named object (the `/status` subresource).
    pub fn replace_status(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        self.replace_status_owned(name, pp, obj.clone())
    }

    pub(crate) async fn replace_status_in(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        obj: K,
    ) -> Result<K> {
        self.require_status_subresource(name)?;
        self.replace_part(mode, name, pp, obj, Part::Status)
            .await
            .map(|o| self.out(Arc::unwrap_or_clone(o)))
    }

    /// [`Api::replace_status`] of an object the caller gives away (no copy of it is made).
    pub fn replace_status_owned(&self, name: &str, pp: &PostParams, obj: K) -> Result<K> {
        block_now(self.replace_status_in(Mode::Blocking, name, pp, obj))
    }

    /// [`Api::replace_status_owned`] for a caller that does not want the written object
    /// back: the object moves into the decoded-object cache and is never copied (for large
    /// objects rewritten often, such as an image stream with a long tag history).
    pub fn write_status_owned(&self, name: &str, pp: &PostParams, obj: K) -> Result<()> {
        block_now(self.write_status_in(Mode::Blocking, name, pp, obj))
    }

    pub(crate) async fn write_status_in(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        obj: K,
    ) -> Result<()> {
        self.require_status_subresource(name)?;
        self.replace_part(mode, name, pp, obj, Part::Status)
            .await
            .map(drop)
    }

    /// Replaces spec and status together in one revision, with the same optimistic
    /// concurrency as [`Api::replace`]. This is the internal write path of servers and
    /// controllers built on the store (the API server does not expose it): for kinds with a
    /// status subresource, `replace` ignores status and `replace_status` ignores the rest.
    pub fn replace_unrestricted(&self, name: &str, pp: &PostParams, obj: &K) -> Result<K> {
        block_now(self.replace_unrestricted_in(Mode::Blocking, name, pp, obj))
    }

    pub(crate) async fn replace_unrestricted_in(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        obj: &K,
    ) -> Result<K> {
        self.replace_part(mode, name, pp, obj.clone(), Part::All)
            .await
            .map(|o| self.out(Arc::unwrap_or_clone(o)))
    }

    fn check_body_identity(&self, name: &str, obj: &mut K) -> Result<()> {
        key::check_request_name(name)?;
        match obj.meta().name.as_deref() {
            None | Some("") => obj.meta_mut().name = Some(name.to_string()),
            Some(body) if body != name => {
                return Err(Error::bad_request(format!(
                    "the name of the object ({body}) does not match the name on the URL ({name})"
                )))
            }
            Some(_) => {}
        }
        let namespace = self.body_namespace(obj.meta().namespace.as_deref())?;
        obj.meta_mut().namespace = namespace;
        Ok(())
    }

    /// The written object comes back shared with the decoded-object cache: a caller that
    /// wants its own copy makes it, one that does not pays nothing.
    async fn replace_part(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        mut obj: K,
        part: Part,
    ) -> Result<Arc<K>> {
        self.check_body_identity(name, &mut obj)?;
        let key = self.space.object_key(obj.meta().namespace.as_deref(), name);
        let sent = obj.meta().resource_version.clone().unwrap_or_default();
        let expected = parse_resource_version(&sent)?;
        // Only an unconditional write retries; a conditional one hands its object over.
        let mut obj = Some(obj);
        loop {
            let Some(current) = self.load(&key)? else {
                if self.kind.allow_create_on_update && part == Part::Main {
                    if let Some(mut fresh) = obj.take() {
                        fresh.meta_mut().resource_version = None;
                        return self.create_once(mode, pp, fresh, false).await.map(Arc::new);
                    }
                }
                return Err(self.not_found(name));
            };
            if expected == 0 {
                if !self.kind.allow_unconditional_update {
                    return Err(self.invalid(
                        name,
                        vec![StatusCause::new(
                            "FieldValueInvalid",
                            "metadata.resourceVersion",
                            "Invalid value: 0x0: must be specified for an update".to_string(),
                        )],
                    ));
                }
            } else if expected != current.mod_revision {
                return Err(Error::modified(&self.kind.group, &self.kind.plural, name));
            }
            let attempt = if expected == 0 {
                obj.clone()
            } else {
                obj.take()
            };
            // `obj` is only taken by the last attempt, so this does not happen.
            let Some(attempt) = attempt else {
                return Err(Error::modified(&self.kind.group, &self.kind.plural, name));
            };
            let attempt = self.track(
                pp.field_manager.as_deref(),
                Some(&current.obj),
                attempt,
                part,
            )?;
            match self
                .apply_update(mode, &current, attempt, pp.dry_run, part)
                .await?
            {
                Attempt::Done(out) => return Ok(out),
                Attempt::Lost if expected == 0 => continue,
                Attempt::Lost => {
                    return Err(Error::modified(&self.kind.group, &self.kind.plural, name))
                }
            }
        }
    }

    // ---------------------------------------------------------------- guaranteed update

    /// Guaranteed update: reads the object, calls `f` with it, and writes what `f` returns,
    /// calling `f` again with fresh state whenever a concurrent write wins. An error from `f`
    /// aborts with that error. Returning the object unchanged writes nothing.
    pub fn update<F>(&self, name: &str, f: F) -> Result<K>
    where
        F: FnMut(K) -> Result<K>,
    {
        self.update_with(name, &PostParams::default(), None, f)
    }

    /// [`Api::update`] with dry-run and preconditions (uid / resourceVersion, checked against
    /// every state `f` is offered; a mismatch answers Conflict).
    pub fn update_with<F>(
        &self,
        name: &str,
        pp: &PostParams,
        preconditions: Option<&Preconditions>,
        f: F,
    ) -> Result<K>
    where
        F: FnMut(K) -> Result<K>,
    {
        block_now(self.update_in(Mode::Blocking, name, pp, preconditions, f))
    }

    pub(crate) async fn update_in<F>(
        &self,
        mode: Mode,
        name: &str,
        pp: &PostParams,
        preconditions: Option<&Preconditions>,
        mut f: F,
    ) -> Result<K>
    where
        F: FnMut(K) -> Result<K>,
    {
        let key = self.key_of(name)?;
        loop {
            let current = self.load(&key)?.ok_or_else(|| self.not_found(name))?;
            if let Some(p) = preconditions {
                self.check_preconditions(name, &current, p)?;
            }
            let mut next = f(K::clone(&current.obj))?;
            {
                let meta = next.meta_mut();
                meta.name = current.obj.meta().name.clone();
                meta.namespace = current.obj.meta().namespace.clone();
                meta.resource_version = current.obj.meta().resource_version.clone();
            }
            match self
                .apply_update(mode, &current, next, pp.dry_run, Part::Main)
                .await?
            {
                Attempt::Done(out) => return Ok(self.out(Arc::unwrap_or_clone(out))),
                Attempt::Lost => continue,
            }
        }
    }

    // ---------------------------------------------------------------- patch

    /// Patches the named object with a JSON merge patch (RFC 7386) or a JSON patch (RFC 6902).
    /// A patch that sets `metadata.resourceVersion` is conditional on it (Conflict when
    /// stale); otherwise the patch is re-applied to fresh state when a concurrent write wins.
    pub fn patch(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        block_now(self.patch_in(Mode::Blocking, name, pp, patch, Part::Main))
    }

    pub(crate) async fn patch_in(
        &self,
        mode: Mode,
        name: &str,
        pp: &PatchParams,
        patch: &Patch,
        part: Part,
    ) -> Result<K> {
        if part == Part::Status {
            self.require_status_subresource(name)?;
        }
        self.patch_part(mode, name, pp, patch, part)
            .await
            .map(|o| self.out(o))
    }

    /// What a write by `manager` records in `managedFields`.
    fn managed_write<'m>(&'m self, manager: &'m str, part: Part) -> managed::Write<'m> {
        managed::Write {
            manager,
            api_version: &self.kind.api_version,
            subresource: (part == Part::Status).then_some("status"),
            time: serde_json::to_value(meta_now())
                .ok()
                .and_then(|t| t.as_str().map(str::to_string))
                .unwrap_or_default(),
        }
    }

    /// `obj` with its managers' field sets cut to the fields it has once its strategy
    /// prepared it (a field a manager sent that the strategy dropped — pruned, defaulted away
    /// — is nobody's). Objects without `managedFields` pass untouched.
    fn owned_fields_that_exist(&self, obj: K) -> Result<K> {
        if obj.meta().managed_fields.is_none() {
            return Ok(obj);
        }
        let mut doc = Value::Object(codec::to_map(&obj)?);
        if !managed::drop_missing(&mut doc, &self.kind.list_types) {
            return Ok(obj);
        }
        serde_json::from_value(doc).map_err(|e| {
            Error::internal(format!("{} with its managed fields: {e}", self.resource()))
        })
    }

    /// `obj` with the fields `manager` changed from `old` (None: a create) recorded as its in
    /// `managedFields`; unchanged when the write names no manager.
    fn track(&self, manager: Option<&str>, old: Option<&K>, obj: K, part: Part) -> Result<K> {
        let Some(manager) = manager.filter(|m| !m.is_empty()) else {
            return Ok(obj);
        };
        let mut obj = obj;
        self.kind.hooks.decode_defaults(&mut obj);
        let mut doc = Value::Object(codec::to_map(&obj)?);
        let old = old.map(codec::to_map).transpose()?.map(Value::Object);
        // A create is compared with the kind's zero object, whose fields that are structs are
        // not added by it (kube-apiserver compares with its Go type's `New()`).
        let zero = match old {
            Some(_) => None,
            None => serde_json::from_value::<K>(Value::Object(Map::new()))
                .ok()
                .and_then(|zero| codec::to_map(&zero).ok())
                .map(Value::Object),
        };
        managed::record_update(
            old.as_ref(),
            zero.as_ref(),
            &mut doc,
            &self.managed_write(manager, part),
            &self.kind.list_types,
        );
        serde_json::from_value(doc).map_err(|e| {
            Error::internal(format!("{} with its managed fields: {e}", self.resource()))
        })
    }

    /// An apply body checked against the URL: its name (and namespace) must be the object's.
    fn applied_body(&self, name: &str, applied: &Value) -> Result<Value> {
        let Value::Object(map) = applied else {
            return Err(Error::bad_request("an apply patch must be an object"));
        };
        let sent = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str);
        if sent.is_some_and(|sent| sent != name) {
            return Err(Error::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                sent.unwrap_or_default()
            )));
        }
        Ok(applied.clone())
    }

    /// The create of an object that a server-side apply names and that does not exist.
    async fn apply_create(
        &self,
        mode: Mode,
        name: &str,
        pp: &PatchParams,
        applied: &Value,
        manager: &str,
    ) -> Result<K> {
        let applied = self.applied_body(name, applied)?;
        let mut doc = managed::apply(
            None,
            &applied,
            &self.managed_write(manager, Part::Main),
            pp.force,
            &self.kind.list_types,
            (&self.kind.group, &self.kind.plural, name),
        )?;
        if let Some(Value::Object(meta)) = doc.get_mut("metadata") {
            meta.insert("name".into(), Value::String(name.to_string()));
            if let Some(ns) = &self.namespace {
                meta.entry("namespace")
                    .or_insert_with(|| Value::String(ns.clone()));
            }
        }
        let obj: K = serde_json::from_value(doc).map_err(|e| {
            Error::bad_request(format!(
                "the applied {} object could not be decoded: {e}",
                self.resource()
            ))
        })?;
        let obj = self.create_intake_owned(obj)?;
        let pp = PostParams {
            dry_run: pp.dry_run,
            field_manager: None,
        };
        self.create_owned(mode, &pp, obj, false).await
    }

    /// Patches only the `status` of the named object (the `/status` subresource).
    pub fn patch_status(&self, name: &str, pp: &PatchParams, patch: &Patch) -> Result<K> {
        block_now(self.patch_in(Mode::Blocking, name, pp, patch, Part::Status))
    }

    async fn patch_part(
        &self,
        mode: Mode,
        name: &str,
        pp: &PatchParams,
        patch: &Patch,
        part: Part,
    ) -> Result<K> {
        let key = self.key_of(name)?;
        let apply_manager = match patch {
            Patch::Apply(_) => Some(
                pp.field_manager
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .ok_or_else(|| {
                        Error::invalid(
                            "meta.k8s.io",
                            "PatchOptions",
                            "",
                            vec![StatusCause::new(
                                "FieldValueRequired",
                                "fieldManager",
                                "Required value: is required for apply patch".into(),
                            )],
                        )
                    })?,
            ),
            _ => None,
        };
        loop {
            let Some(current) = self.load(&key)? else {
                // An apply creates what does not exist.
                if let (Patch::Apply(applied), Some(manager), Part::Main) =
                    (patch, apply_manager, part)
                {
                    return self.apply_create(mode, name, pp, applied, manager).await;
                }
                return Err(self.not_found(name));
            };
            let mut doc = Value::Object(codec::to_map(&*current.obj)?);
            let old_doc = apply_manager
                .is_none()
                .then(|| doc.clone())
                .filter(|_| pp.field_manager.is_some());
            match patch {
                Patch::Apply(applied) => {
                    let write = self.managed_write(apply_manager.unwrap_or_default(), part);
                    doc = managed::apply(
                        Some(&doc),
                        &self.applied_body(name, applied)?,
                        &write,
                        pp.force,
                        &self.kind.list_types,
                        (&self.kind.group, &self.kind.plural, name),
                    )?;
                }
                Patch::Merge(merge) => json_patch::merge(&mut doc, merge),
                Patch::Json(ops) => crate::store::json_patch_ops::apply(&mut doc, ops)
                    .map_err(|_| Error::json_patch_not_applied())?,
            }
            if let (Some(old), Some(manager)) = (&old_doc, pp.field_manager.as_deref()) {
                managed::record_update(
                    Some(old),
                    None,
                    &mut doc,
                    &self.managed_write(manager, part),
                    &self.kind.list_types,
                );
            }
            let patched: K = serde_json::from_value(doc).map_err(|e| {
                Error::bad_request(format!(
                    "the patched {} object could not be decoded: {e}",
                    self.resource()
                ))
            })?;
            if patched.meta().name_str() != name {
                return Err(Error::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    patched.meta().name_str()
                )));
            }
            if patched.meta().namespace != current.obj.meta().namespace {
                return Err(Error::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            let sent = patched.meta().resource_version.clone().unwrap_or_default();
            let explicit = sent != current.mod_revision.to_string();
            if explicit && !sent.is_empty() {
                let wanted = parse_resource_version(&sent)?;
                if wanted != current.mod_revision {
                    return Err(Error::modified(&self.kind.group, &self.kind.plural, name));
                }
            }
            match self
                .apply_update(mode, &current, patched, pp.dry_run, part)
                .await?
            {
                Attempt::Done(out) => return Ok(Arc::unwrap_or_clone(out)),
                Attempt::Lost => continue,
            }
        }
    }

    // ---------------------------------------------------------------- the update core

    /// Prepares `next` as an update of `current` and commits it if anything changed.
    async fn apply_update(
        &self,
        mode: Mode,
        current: &Stored<K>,
        mut next: K,
        dry_run: bool,
        part: Part,
    ) -> Result<Attempt<Arc<K>>> {
        let old = &current.obj;
        let name = old.meta().name_str().to_string();
        let sent_uid = next.meta().uid.clone().unwrap_or_default();
        let old_uid = old.meta().uid.clone().unwrap_or_default();
        if !sent_uid.is_empty() && sent_uid != old_uid {
            return Err(Error::conflict(
                &self.kind.group,
                &self.kind.plural,
                &name,
                &format!(
                    "Precondition failed: UID in precondition: {sent_uid}, UID in object meta: {old_uid}"
                ),
            ));
        }
        if part == Part::Status {
            // A status write keeps everything but the status, and the field ownership the
            // write recorded (a body without managedFields leaves them as they were).
            let managed = next.meta().managed_fields.clone();
            next = self.kind.hooks.with_status_from(old, next)?;
            if managed.is_some() {
                next.meta_mut().managed_fields = managed;
            }
        } else if self.kind.status_subresource && part == Part::Main {
            self.kind.hooks.copy_status_from(&mut next, old)?;
        }
        copy_owned_fields(next.meta_mut(), old.meta());
        if old.meta().is_deleting() {
            let before: Vec<&String> = old.meta().finalizers.iter().flatten().collect();
            let added: Vec<String> = next
                .meta()
                .finalizers
                .iter()
                .flatten()
                .filter(|f| !before.contains(f))
                .map(|f| format!("{f:?}"))
                .collect();
            if !added.is_empty() {
                return Err(self.invalid(
                    &name,
                    vec![StatusCause::forbidden(
                        "metadata.finalizers",
                        &format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                            added.join(", ")
                        ),
                    )],
                ));
            }
        }
        dedup_owner_references(next.meta_mut());
        let mut causes;
        match part {
            Part::Main | Part::All => {
                let ctx = if part == Part::All {
                    StrategyContext::internal(&self.store)
                } else {
                    StrategyContext::new(&self.store)
                };
                self.kind.hooks.prepare_for_update(&mut next, old, &ctx)?;
                causes = validate_object_meta(next.meta(), self.kind.namespaced, &|n: &str| {
                    self.kind.name_problems(n)
                });
                causes.extend(self.kind.hooks.validate_update(&next, old));
            }
            Part::Status => {
                self.kind.hooks.prepare_for_status_update(
                    &mut next,
                    old,
                    &StrategyContext::new(&self.store),
                )?;
                causes = validate_object_meta(next.meta(), self.kind.namespaced, &|n: &str| {
                    self.kind.name_problems(n)
                });
                causes.extend(self.kind.hooks.validate_status_update(&next, old));
            }
        }
        if !causes.is_empty() {
            return Err(self.invalid(&name, causes));
        }
        omit_empty_collections(next.meta_mut());
        self.kind.hooks.canonicalize(&mut next);
        let mut next = self.owned_fields_that_exist(next)?;
        if self.kind.tracks_generation
            && part != Part::Status
            && self.kind.hooks.spec_changed(&next, old)
        {
            next.meta_mut().generation = Some(old.meta().generation.unwrap_or(0) + 1);
        }
        let bytes = self.kind.encode(&mut next, Some(current.bytes.len()))?;
        if *bytes == *current.bytes {
            return Ok(Attempt::Done(Arc::clone(old)));
        }
        self.check_size(&name, &bytes)?;
        let meta = next.meta();
        let finishes_delete = meta.is_deleting()
            && !meta.has_finalizers()
            && meta.deletion_grace_period_seconds.unwrap_or(0) == 0
            && !self.kind.hooks.held_on_delete(&next);
        next.meta_mut().resource_version = Some(current.mod_revision.to_string());
        if dry_run {
            return Ok(Attempt::Done(Arc::new(next)));
        }
        let txn = Txn::new().when_mod_revision(current.key.clone(), current.mod_revision);
        let txn = if finishes_delete {
            txn.delete(current.key.clone())
        } else {
            txn.put(current.key.clone(), bytes)
        };
        match self.commit(mode, txn).await? {
            Some(revision) => {
                next.meta_mut().resource_version = Some(revision.to_string());
                let next = Arc::new(next);
                self.remember(&current.key, revision, &next);
                Ok(Attempt::Done(next))
            }
            None => Ok(Attempt::Lost),
        }
    }

    // ---------------------------------------------------------------- delete

    fn check_preconditions(
        &self,
        name: &str,
        current: &Stored<K>,
        p: &Preconditions,
    ) -> Result<()> {
        let meta = current.obj.meta();
        if let Some(uid) = &p.uid {
            let actual = meta.uid.as_deref().unwrap_or("");
            if uid != actual {
                return Err(Error::conflict(
                    &self.kind.group,
                    &self.kind.plural,
                    name,
                    &format!("the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"),
                ));
            }
        }
        if let Some(rv) = &p.resource_version {
            let actual = current.mod_revision.to_string();
            if *rv != actual {
                return Err(Error::conflict(
                    &self.kind.group,
                    &self.kind.plural,
                    name,
                    &format!("the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"),
                ));
            }
        }
        Ok(())
    }

    /// Deletes the named object. With preconditions, a mismatch answers Conflict. An object
    /// with finalizers (or, for kinds with graceful deletion, a grace period) is only marked:
    /// it gets `deletionTimestamp` and stays until its last finalizer is removed. The returned
    /// object carries the revision of the delete (or of the marking update).
    pub fn delete(&self, name: &str, dp: &DeleteParams) -> Result<K> {
        block_now(self.delete_in(Mode::Blocking, name, dp))
    }

    pub(crate) async fn delete_in(&self, mode: Mode, name: &str, dp: &DeleteParams) -> Result<K> {
        let key = self.key_of(name)?;
        loop {
            let current = self.load(&key)?.ok_or_else(|| self.not_found(name))?;
            if let Some(p) = &dp.preconditions {
                self.check_preconditions(name, &current, p)?;
            }
            self.kind
                .hooks
                .validate_delete(&current.obj, &StrategyContext::new(&self.store))?;
            match self.delete_once(mode, &current, dp).await? {
                Attempt::Done(out) => return Ok(self.out(out)),
                Attempt::Lost => continue,
            }
        }
    }

    async fn delete_once(
        &self,
        mode: Mode,
        current: &Stored<K>,
        dp: &DeleteParams,
    ) -> Result<Attempt<K>> {
        let meta = current.obj.meta();
        let grace = self
            .kind
            .default_grace_period_seconds
            .map(|default| dp.grace_period_seconds.map_or(default, i64::from).max(0));
        let graceful = grace.is_some_and(|g| g > 0);
        let collector_finalizer = match dp.propagation_policy {
            _ if !self.kind.garbage_collected => None,
            Some(PropagationPolicy::Orphan) => Some(ORPHAN_FINALIZER),
            Some(PropagationPolicy::Foreground) => Some(FOREGROUND_FINALIZER),
            _ => None,
        };
        let held = meta.has_finalizers()
            || self.kind.hooks.held_on_delete(&current.obj)
            || collector_finalizer.is_some();
        let now = meta_now();
        if meta.is_deleting() {
            // Already pending: only a shorter grace period (or an immediate delete of an
            // object without finalizers) changes anything.
            let immediate = grace == Some(0) && !held;
            if !immediate {
                let shorter = match (grace, &meta.deletion_timestamp) {
                    (Some(g), Some(deadline)) if g > 0 => meta_plus_seconds(&now, g) < *deadline,
                    _ => false,
                };
                if !shorter || held {
                    return Ok(Attempt::Done(K::clone(&current.obj)));
                }
                return self
                    .mark_deleting(mode, current, grace.unwrap_or(0), dp.dry_run, None)
                    .await;
            }
        } else if held || graceful {
            return self
                .mark_deleting(
                    mode,
                    current,
                    grace.unwrap_or(0),
                    dp.dry_run,
                    collector_finalizer,
                )
                .await;
        }
        if dp.dry_run {
            return Ok(Attempt::Done(K::clone(&current.obj)));
        }
        let txn = Txn::new()
            .when_mod_revision(current.key.clone(), current.mod_revision)
            .delete(current.key.clone());
        match self.commit(mode, txn).await? {
            Some(revision) => {
                let mut out = K::clone(&current.obj);
                out.meta_mut().resource_version = Some(revision.to_string());
                Ok(Attempt::Done(out))
            }
            None => Ok(Attempt::Lost),
        }
    }

    async fn mark_deleting(
        &self,
        mode: Mode,
        current: &Stored<K>,
        grace: i64,
        dry_run: bool,
        collector_finalizer: Option<&str>,
    ) -> Result<Attempt<K>> {
        let mut next = K::clone(&current.obj);
        {
            let meta = next.meta_mut();
            if let Some(finalizer) = collector_finalizer {
                let finalizers = meta.finalizers.get_or_insert_with(Vec::new);
                if !finalizers.iter().any(|f| f == finalizer) {
                    finalizers.push(finalizer.to_string());
                }
            }
            meta.deletion_timestamp = Some(meta_plus_seconds(&meta_now(), grace));
            meta.deletion_grace_period_seconds = Some(grace);
            if let Some(generation) = meta.generation.filter(|g| *g > 0) {
                if current.obj.meta().deletion_timestamp.is_none() {
                    meta.generation = Some(generation + 1);
                }
            }
        }
        self.kind.hooks.prepare_for_delete(&mut next);
        let bytes = self.kind.encode(&mut next, Some(current.bytes.len()))?;
        if dry_run {
            return Ok(Attempt::Done(next));
        }
        let txn = Txn::new()
            .when_mod_revision(current.key.clone(), current.mod_revision)
            .put(current.key.clone(), bytes);
        match self.commit(mode, txn).await? {
            Some(revision) => {
                next.meta_mut().resource_version = Some(revision.to_string());
                self.remember(&current.key, revision, &Arc::new(next.clone()));
                Ok(Attempt::Done(next))
            }
            None => Ok(Attempt::Lost),
        }
    }
}

/// `base[:58]` plus five random characters from Kubernetes' alphabet.
fn generate_name(base: &str) -> String {
    let mut cut = base.len().min(GENERATED_BASE_MAX);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut rng = rand::thread_rng();
    let mut name = String::with_capacity(cut + GENERATED_SUFFIX_LEN);
    name.push_str(&base[..cut]);
    for _ in 0..GENERATED_SUFFIX_LEN {
        name.push(char::from(
            NAME_ALPHABET[rng.gen_range(0..NAME_ALPHABET.len())],
        ));
    }
    name
}

/// Copies the fields the store owns from the stored object into an update.
// k8s-openapi's metadata `Time` (the `k8s-openapi` feature) is not `Copy`.
#[cfg_attr(not(feature = "k8s-openapi"), allow(clippy::clone_on_copy))]
fn copy_owned_fields(next: &mut ObjectMeta, old: &ObjectMeta) {
    next.uid = old.uid.clone();
    next.creation_timestamp = old.creation_timestamp.clone();
    next.deletion_timestamp = old.deletion_timestamp.clone();
    next.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
    next.generation = old.generation;
    next.self_link = None;
    next.generate_name = old.generate_name.clone().or(next.generate_name.take());
}
