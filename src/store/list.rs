//! List and delete-collection: consistent-snapshot pages with continue tokens.
//!
//! Design notes: a list fixes one revision R before reading (the latest, a requested Exact
//! revision, or the token's) and reads every page of that list at R from the mvcc index, so all
//! pages are one snapshot. The scan fetches keys in chunks that start at the page size and
//! double (as etcd3's store does) and keeps going until the page is full or the range ends, so
//! a page is never empty while a token is returned. A token is returned iff the page is full
//! and some key, matching or not, follows the last returned item. Label-only filters decode
//! just the metadata of each candidate, and decode the whole object only for matches. Objects
//! nobody has decoded since they were written (the first list after a bulk load) are decoded
//! on two threads when a chunk holds many of them: decoding is most of such a list.

use crate::ObjectMetaExt;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use serde::Deserialize;

use crate::backend::{prefix_successor, KeyRange};
use crate::error::{Error, Result, StatusCause};
use crate::mvcc::{Kept, KeyValue, Looked, Lookup, MvccError, RangeOptions, Slot};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::api::{block_now, parse_resource_version, Api, Mode};
use crate::store::continue_token;
use crate::store::kind::Kind;
use crate::store::meta::{ListMeta, ObjectList, ObjectMeta};
use crate::store::params::{DeleteParams, ListParams, VersionMatch};
use crate::store::strategy::Resource;
use crate::store::StrategyContext;

/// The largest chunk one index read fetches while filling a page.
const MAX_CHUNK: usize = 10_000;

const TOO_OLD_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// Label and field selectors compiled for one kind.
pub(crate) struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
    /// True when the field selector reads only metadata (name, namespace).
    metadata_only: bool,
}

#[derive(Deserialize)]
struct MetaOnly {
    #[serde(default)]
    metadata: ObjectMeta,
}

impl Filter {
    /// Parses and checks both selectors against the fields `K` supports.
    pub fn new<K>(kind: &Kind<K>, labels: Option<&str>, fields: Option<&str>) -> Result<Filter> {
        let labels = LabelSelector::parse(labels.unwrap_or(""))
            .map_err(|e| Error::bad_request(format!("unable to parse label selector: {e}")))?;
        let fields = FieldSelector::parse(fields.unwrap_or(""))
            .map_err(|e| Error::bad_request(format!("unable to parse field selector: {e}")))?;
        let mut metadata_only = true;
        for term in fields.terms() {
            let field = term.field.as_str();
            let is_meta =
                field == "metadata.name" || (kind.namespaced && field == "metadata.namespace");
            if is_meta {
                continue;
            }
            if kind.selectable_fields.iter().any(|f| f == field) {
                metadata_only = false;
                continue;
            }
            return Err(Error::bad_request(if kind.selectable_fields.is_empty() {
                let known = if kind.namespaced {
                    "only \"metadata.name\", \"metadata.namespace\""
                } else {
                    "only \"metadata.name\""
                };
                format!("\"{field}\" is not a known field selector: {known}")
            } else {
                format!("field label not supported: {field}")
            }));
        }
        Ok(Filter {
            labels,
            fields,
            metadata_only,
        })
    }

    /// True when the filter matches everything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    fn matches_meta(&self, meta: &ObjectMeta) -> bool {
        self.labels.matches(meta.labels_or_empty())
            && self.fields.terms().iter().all(|t| match t.field.as_str() {
                "metadata.name" => t.matches(meta.name_str()),
                "metadata.namespace" => t.matches(meta.namespace_str()),
                _ => true,
            })
    }

    /// True when `obj` matches.
    pub fn matches<K: Resource>(&self, kind: &Kind<K>, obj: &K) -> bool {
        self.matches_meta(obj.meta())
            && (self.metadata_only
                || self.fields.matches(|field| match field {
                    "metadata.name" => Some(obj.meta().name_str().to_string()),
                    "metadata.namespace" => Some(obj.meta().namespace_str().to_string()),
                    other => kind.hooks.field_value(obj, other),
                }))
    }

    /// Decodes `kv` if it matches (only the metadata first, when that decides and the object
    /// is not cached); a decoded object is kept in `slot` (see [`Api::decode_kv_shared`]).
    fn select<K: Resource>(
        &self,
        api: &Api<K>,
        kv: &KeyValue,
        slot: Option<&Slot>,
    ) -> Result<Option<Arc<K>>> {
        if self.is_empty() {
            return api.decode_kv_shared(kv, slot).map(Some);
        }
        // An empty slot: the cache is not worth asking (see `Api::decode_kv_shared`).
        let cached = match slot {
            Some(slot) if slot.get().is_none() => None,
            _ => api
                .store
                .shared
                .objects
                .get_shared::<K>(&kv.key, kv.mod_revision)
                .and_then(|o| o.downcast::<K>().ok()),
        };
        if let Some(obj) = cached {
            return Ok(self.matches(&api.kind, &*obj).then_some(obj));
        }
        if self.metadata_only {
            let meta: MetaOnly = serde_json::from_slice(&kv.value).map_err(|e| {
                crate::store::codec::undecodable(&api.kind.group, &api.kind.plural, &kv.key, &e)
            })?;
            if !self.matches_meta(&meta.metadata) {
                return Ok(None);
            }
            return api.decode_kv_shared(kv, slot).map(Some);
        }
        let obj = api.decode_kv_shared(kv, slot)?;
        Ok(self.matches(&api.kind, &*obj).then_some(obj))
    }

    /// True when an already decoded object is selected.
    fn accepts<K: Resource>(&self, kind: &Kind<K>, obj: &K) -> bool {
        self.is_empty() || self.matches(kind, obj)
    }

    /// The exact value a `metadata.<field>=` term pins, for scope narrowing.
    fn pinned(&self, field: &str) -> Option<&str> {
        self.fields.requires_exact_match(field)
    }
}

/// Fewest objects of one chunk left to decode worth a second thread: below this, starting
/// one costs more than it saves (a thread start is tens of microseconds, a decode a few).
const PARALLEL_DECODE_MIN: usize = 64;

/// What `filter` selects of each object of `entries` the index held no decoded form of, in
/// order (see [`Filter::select`]). Decoding is most of a list that finds objects not decoded
/// yet (the first list after a bulk load: a few microseconds of JSON per object), so a chunk
/// with many of them is decoded on two threads. Each result is kept for its entry, so an
/// object that fails to decode fails the page only if the page reaches it, as it would
/// decoded one at a time.
fn select_missed<K: Resource>(
    api: &Api<K>,
    filter: &Filter,
    entries: &[Looked<Arc<K>>],
) -> Vec<Result<Option<Arc<K>>>> {
    let missed: Vec<(&KeyValue, Option<&Slot>)> = entries
        .iter()
        .filter_map(|entry| match entry {
            Looked::Missed(kv, slot) => Some((kv, slot.as_ref())),
            _ => None,
        })
        .collect();
    let select_all = |part: &[(&KeyValue, Option<&Slot>)]| -> Vec<Result<Option<Arc<K>>>> {
        part.iter()
            .map(|(kv, slot)| filter.select(api, kv, *slot))
            .collect()
    };
    // Asked once: the answer reads cgroup files on Linux.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    if missed.len() < PARALLEL_DECODE_MIN || cores < 2 {
        return select_all(&missed);
    }
    let (first, second) = missed.split_at(missed.len() / 2);
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("apistore-decode".into())
            .spawn_scoped(scope, || select_all(second));
        let mut selected = select_all(first);
        match helper.map(|helper| helper.join()) {
            Ok(Ok(rest)) => selected.extend(rest),
            // No thread to be had (or it failed): this thread does its half too.
            _ => selected.extend(select_all(second)),
        }
        selected
    })
}

/// Where and at which revision one list reads.
struct Plan {
    /// The prefix continue tokens are relative to.
    prefix: Vec<u8>,
    /// The first key to read.
    start: Vec<u8>,
    /// The snapshot revision.
    revision: u64,
    /// A single key (name narrowing): read exactly this key.
    single: Option<Vec<u8>>,
    /// The continue token this page continues, if any.
    from_token: Option<String>,
}

fn invalid_list_options(causes: Vec<StatusCause>) -> Error {
    Error::invalid("meta.k8s.io", "ListOptions", "", causes)
}

/// A revision-layer error as a list answers it (410 worded for a list).
fn map_read_error(e: MvccError) -> Error {
    Error::from(e).for_list()
}

impl<K: Resource> Api<K> {
    /// Lists objects (`GET` on the collection): selectors, `limit` pages with continue tokens,
    /// and the resourceVersion / resourceVersionMatch semantics of Kubernetes. Every page of one
    /// list is read at the same snapshot revision, which the list's metadata reports.
    pub fn list(&self, lp: &ListParams) -> Result<ObjectList<K>> {
        let (metadata, items) = self.list_items(lp)?;
        let ctx = StrategyContext::new(&self.store);
        let items = items
            .into_iter()
            .map(|shared| {
                let mut item = Arc::unwrap_or_clone(shared);
                self.kind.hooks.decoded(&mut item);
                if self.kind.decorates {
                    self.kind.hooks.decorate(&mut item, &ctx);
                }
                item
            })
            .collect();
        Ok(ObjectList { metadata, items })
    }

    /// [`Api::list`] without copying the objects: each item is the store's own decoded
    /// object, shared (as kube-runtime's reflector stores hand out `Arc<K>`). Same pages,
    /// tokens, snapshot and selectors as `list`; a page of shared items costs a fraction
    /// of one of copies. Kinds that decorate reads (`Resource::DECORATES`) are copied and
    /// decorated all the same.
    pub fn list_shared(&self, lp: &ListParams) -> Result<ObjectList<Arc<K>>> {
        let (metadata, mut items) = self.list_items(lp)?;
        if self.kind.decorates {
            let ctx = StrategyContext::new(&self.store);
            for shared in &mut items {
                self.kind.hooks.decorate(Arc::make_mut(shared), &ctx);
            }
        }
        for shared in &mut items {
            if !self.kind.hooks.stamped(shared) {
                self.kind.hooks.decoded(Arc::make_mut(shared));
            }
        }
        Ok(ObjectList { metadata, items })
    }

    /// One page of `lp` as shared, undecorated objects, and its list metadata.
    fn list_items(&self, lp: &ListParams) -> Result<(ListMeta, Vec<Arc<K>>)> {
        self.check_scope()?;
        let filter = Filter::new(
            &self.kind,
            lp.label_selector.as_deref(),
            lp.field_selector.as_deref(),
        )?;
        let limit = lp.limit.unwrap_or(0) as usize;
        let plan = self.plan(lp, &filter, limit)?;
        let mvcc = &self.store.shared.mvcc;
        if let Some(key) = &plan.single {
            let items = match mvcc.get(key, plan.revision).map_err(map_read_error)? {
                Some(kv) => filter.select(self, &kv, None)?.into_iter().collect(),
                None => Vec::new(),
            };
            let metadata = ListMeta {
                resource_version: Some(plan.revision.to_string()),
                ..ListMeta::default()
            };
            return Ok((metadata, items));
        }
        let end = match prefix_successor(&plan.prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        let mut items = Vec::with_capacity(limit.min(MAX_CHUNK));
        let mut cursor = Bound::Included(plan.start.clone());
        let mut chunk = limit;
        let mut last_returned: Option<Vec<u8>> = None;
        let mut more_after_page = false;
        let cache = &self.store.shared.objects;
        'scan: loop {
            let range = KeyRange {
                start: cursor.clone(),
                end: end.clone(),
            };
            // Objects kept decoded (beside the newest version in the index, or in the
            // decoded-object cache) are filtered in place: no version or value is read, and a
            // rejected object is not even shared. Only the others are decoded. A key is copied
            // only where the page may end (for its continue token): at the item that fills it,
            // counting each undecided miss as a possible item.
            let before = items.len();
            let mut kept = 0usize;
            let mut undecided = 0usize;
            let looked = mvcc
                .range_lookup(&range, plan.revision, chunk, |key, revision, held| {
                    let selected = match held {
                        Kept::Decoded(decoded) if decoded.is::<K>() => decoded
                            .downcast_ref::<K>()
                            .filter(|obj| filter.accepts(&self.kind, *obj))
                            .and_then(|_| Api::<K>::decoded_as(decoded)),
                        Kept::NotYet => {
                            undecided += 1;
                            return Lookup::Miss;
                        }
                        // Superseded, or kept decoded as another Rust type of the kind.
                        Kept::Decoded(_) | Kept::NoSlot => match cache
                            .get_shared::<K>(key, revision)
                            .and_then(|o| o.downcast::<K>().ok())
                        {
                            Some(obj) => filter.accepts(&self.kind, &*obj).then_some(obj),
                            None => {
                                undecided += 1;
                                return Lookup::Miss;
                            }
                        },
                    };
                    let Some(obj) = selected else {
                        return Lookup::Pass;
                    };
                    kept += 1;
                    let may_end_page = limit > 0 && before + kept + undecided >= limit;
                    Lookup::Keep(obj, may_end_page.then(|| key.to_vec()))
                })
                .map_err(map_read_error)?;
            let fetched = looked.entries.len();
            let mut selections = select_missed(self, &filter, &looked.entries).into_iter();
            for (i, entry) in looked.entries.into_iter().enumerate() {
                let (key, selected) = match entry {
                    Looked::Found(key, obj) => (key, Some(obj)),
                    Looked::Passed => (None, None),
                    Looked::Missed(kv, _) => {
                        let selected = selections.next().ok_or_else(|| {
                            Error::internal("a list chunk lost the decoding of an object")
                        })??;
                        (Some(kv.key), selected)
                    }
                };
                if let Some(obj) = selected {
                    items.push(obj);
                    if limit > 0 && items.len() == limit {
                        more_after_page = i + 1 < fetched || looked.more;
                        last_returned = Some(key.ok_or_else(|| {
                            Error::internal("a list page ended at an item without its key")
                        })?);
                        break 'scan;
                    }
                }
            }
            // The next chunk starts after this one's last key.
            match (looked.more, looked.last_key) {
                (true, Some(key)) => cursor = Bound::Excluded(key),
                _ => break,
            }
            chunk = (chunk.max(1) * 2).min(MAX_CHUNK);
        }
        let mut metadata = ListMeta {
            resource_version: Some(plan.revision.to_string()),
            ..ListMeta::default()
        };
        if let (true, Some(last)) = (more_after_page, last_returned) {
            let relative = String::from_utf8_lossy(&last[plan.prefix.len()..]).into_owned();
            metadata.continue_ = Some(continue_token::encode(
                i64::try_from(plan.revision).unwrap_or(i64::MAX),
                &format!("{relative}\u{0}"),
            ));
            let token = metadata.continue_.clone().unwrap_or_default();
            self.store
                .shared
                .pins
                .pin(plan.revision, self.store.shared.config.list_pin_lease);
            let remaining = &self.store.shared.remaining;
            let derived = plan
                .from_token
                .as_deref()
                .and_then(|previous| remaining.get(&plan.prefix, previous))
                .map(|before| before.saturating_sub(items.len() as u64));
            // A first page without a selector returned every live key from the start of the
            // prefix up to `last`: the rest is the prefix's live count minus the page.
            let first_page = plan
                .from_token
                .is_none()
                .then(|| mvcc.live_count(&plan.prefix, plan.revision))
                .flatten()
                .map(|live| (live as u64).saturating_sub(items.len() as u64));
            if let (true, Some(count)) = (filter.is_empty(), derived.or(first_page)) {
                remaining.put(&plan.prefix, &token, count);
                metadata.remaining_item_count = Some(i64::try_from(count).unwrap_or(i64::MAX));
            } else if filter.is_empty() {
                let mut after = last;
                after.push(0);
                let rest = mvcc
                    .range(
                        &KeyRange {
                            start: Bound::Included(after),
                            end,
                        },
                        RangeOptions {
                            revision: plan.revision,
                            limit: 1,
                            count: true,
                        },
                    )
                    .map_err(map_read_error)?;
                let count = rest.count.unwrap_or(0) as u64;
                remaining.put(&plan.prefix, &token, count);
                metadata.remaining_item_count = Some(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        Ok((metadata, items))
    }

    fn plan(&self, lp: &ListParams, filter: &Filter, limit: usize) -> Result<Plan> {
        let mvcc = &self.store.shared.mvcc;
        let rv_text = lp.resource_version.as_deref().unwrap_or("");
        let token = lp.continue_token.as_deref().filter(|t| !t.is_empty());
        // ListOptions validation (apimachinery), 422 on ListOptions.
        if lp.version_match != VersionMatch::Unset {
            let field = "resourceVersionMatch";
            if rv_text.is_empty() {
                return Err(invalid_list_options(vec![StatusCause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )]));
            }
            if token.is_some() {
                return Err(invalid_list_options(vec![StatusCause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden when continue is provided",
                )]));
            }
            if lp.version_match == VersionMatch::Exact && rv_text == "0" {
                return Err(invalid_list_options(vec![StatusCause::forbidden(
                    field,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                )]));
            }
        }
        let requested = parse_resource_version(rv_text)?;
        let (mut prefix, single) = self.scope(filter);
        if token.is_none() {
            self.store
                .fresh_for(rv_text, &crate::backend::KeyRange::prefix(&prefix))?;
        }
        let current = mvcc.current_revision();
        let compacted = mvcc.compacted_revision();
        if let Some(token) = token {
            if !(rv_text.is_empty() || rv_text == "0") {
                return Err(Error::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let decoded = continue_token::decode(token)
                .map_err(|e| Error::bad_request(format!("invalid continue token: {e}")))?;
            let revision = if decoded.rv > 0 {
                let revision = decoded.rv.unsigned_abs();
                if revision > current {
                    return Err(Error::TooLargeResourceVersion {
                        requested: revision,
                        current,
                    });
                }
                if revision < compacted {
                    return Err(Error::Expired {
                        message: TOO_OLD_CONTINUE.into(),
                        continue_token: Some(continue_token::encode(-1, &decoded.start)),
                    });
                }
                revision
            } else {
                current
            };
            let mut start = prefix.clone();
            start.extend_from_slice(decoded.start.as_bytes());
            return Ok(Plan {
                prefix: std::mem::take(&mut prefix),
                start,
                revision,
                single: None,
                from_token: Some(token.to_string()),
            });
        }
        let exact = match lp.version_match {
            VersionMatch::Exact => true,
            VersionMatch::NotOlderThan => false,
            VersionMatch::Unset => requested > 0 && limit > 0,
        };
        if requested > current {
            return Err(Error::TooLargeResourceVersion { requested, current });
        }
        let revision = if exact {
            if requested < compacted {
                return Err(map_read_error(MvccError::Compacted {
                    requested,
                    compacted,
                }));
            }
            requested
        } else {
            current
        };
        Ok(Plan {
            start: prefix.clone(),
            prefix,
            revision,
            single,
            from_token: None,
        })
    }

    /// The list prefix, narrowed by `metadata.namespace=` / `metadata.name=` where that gives
    /// the same result as the full scan.
    fn scope(&self, filter: &Filter) -> (Vec<u8>, Option<Vec<u8>>) {
        let namespace = match (&self.namespace, self.kind.namespaced) {
            (Some(ns), true) => Some(ns.as_str()),
            (None, true) => filter
                .pinned("metadata.namespace")
                .filter(|ns| crate::store::key::check_request_namespace(ns).is_ok()),
            _ => None,
        };
        let mut prefix = self.space.resource.clone();
        if let Some(ns) = namespace {
            prefix.extend_from_slice(ns.as_bytes());
            prefix.push(b'/');
        }
        let single = match filter.pinned("metadata.name") {
            Some(name)
                if (namespace.is_some() || !self.kind.namespaced)
                    && crate::store::key::check_request_name(name).is_ok() =>
            {
                let mut key = prefix.clone();
                key.extend_from_slice(name.as_bytes());
                Some(key)
            }
            _ => None,
        };
        (prefix, single)
    }

    /// Deletes every object the list parameters select, each in its own revision; returns the
    /// deleted (or deletion-marked) objects.
    pub fn delete_collection(&self, dp: &DeleteParams, lp: &ListParams) -> Result<ObjectList<K>> {
        block_now(self.delete_collection_in(Mode::Blocking, dp, lp))
    }

    pub(crate) async fn delete_collection_in(
        &self,
        mode: Mode,
        dp: &DeleteParams,
        lp: &ListParams,
    ) -> Result<ObjectList<K>> {
        let mut selection = lp.clone();
        selection.limit = None;
        selection.continue_token = None;
        let listed = self.list(&selection)?;
        let mut deleted = Vec::with_capacity(listed.items.len());
        let mut per_namespace: BTreeMap<Option<String>, Api<K>> = BTreeMap::new();
        for item in listed.items {
            let namespace = item.meta().namespace.clone();
            let api = per_namespace
                .entry(namespace.clone())
                .or_insert_with(|| match namespace {
                    Some(ns) if self.kind.namespaced => self.in_namespace(&ns),
                    _ => {
                        let mut all = self.clone();
                        all.namespace = None;
                        all
                    }
                });
            match api.delete_in(mode, item.meta().name_str(), dp).await {
                Ok(obj) => deleted.push(obj),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ObjectList {
            metadata: ListMeta {
                resource_version: Some(self.store.resource_version().to_string()),
                ..ListMeta::default()
            },
            items: deleted,
        })
    }
}
