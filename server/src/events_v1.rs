//! `events.k8s.io/v1` Events: the core/v1 events under their newer names, as kube-apiserver
//! serves both groups from one storage. kube-rs's `Recorder` writes this form; `kubectl
//! describe` and `kubectl events` read the core one. Objects are converted at the edge (seven
//! top-level fields are renamed); writes in this form get its stricter validation.

use std::pin::Pin;
use std::sync::Arc;

use apistore::{
    ApiResource, DeleteParams, DynamicObject, ListParams, ObjectList, Patch, PatchParams,
    PostParams, StatusCause, TypeMeta, WatchEvent, WatchParams,
};
use futures_core::Stream;
use serde_json::Value;

use crate::backend::{Answer, Backend, BoxFuture, Dynamic, EventStream, SharedList};

/// The group of the newer form.
pub const GROUP: &str = "events.k8s.io";

/// The core/v1 fields whose `events.k8s.io/v1` names differ, with those names.
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// The `events.k8s.io/v1` name of the core/v1 event field `core`, where it differs.
pub fn v1_name(core: &str) -> Option<&'static str> {
    RENAMED.iter().find(|(c, _)| *c == core).map(|(_, v1)| *v1)
}

/// Renames the top-level fields of `data` from one form's names to the other's.
fn rename(data: &mut Value, to_v1: bool) {
    let Value::Object(map) = data else {
        return;
    };
    for (core, v1) in RENAMED {
        let (from, to) = if to_v1 { (core, v1) } else { (v1, core) };
        if let Some(value) = map.remove(from) {
            map.insert(to.to_string(), value);
        }
    }
}

/// A core/v1 event in the `events.k8s.io/v1` form.
pub fn to_v1(core: &DynamicObject) -> DynamicObject {
    let mut out = core.clone();
    rename(&mut out.data, true);
    out.types = Some(TypeMeta {
        api_version: format!("{GROUP}/v1"),
        kind: "Event".into(),
    });
    out
}

/// An `events.k8s.io/v1` event in the core/v1 form.
fn to_core(mut v1: DynamicObject) -> DynamicObject {
    rename(&mut v1.data, false);
    v1.types = Some(TypeMeta {
        api_version: "v1".into(),
        kind: "Event".into(),
    });
    v1
}

/// A field of an `events.k8s.io/v1` event, absent when null.
fn field<'a>(obj: &'a DynamicObject, name: &str) -> Option<&'a Value> {
    obj.data.get(name).filter(|v| !v.is_null())
}

fn is_set(obj: &DynamicObject, name: &str) -> bool {
    match field(obj, name) {
        None => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_i64() != Some(0),
        Some(Value::Object(map)) => map
            .values()
            .any(|v| v.as_str().is_some_and(|s| !s.is_empty())),
        Some(_) => true,
    }
}

/// `validateV1EventSeries`.
fn series_causes(obj: &DynamicObject) -> Vec<StatusCause> {
    let Some(series) = field(obj, "series") else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
        causes.push(StatusCause::invalid(
            "series.count",
            "",
            "should be at least 2",
        ));
    }
    if series
        .get("lastObservedTime")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        causes.push(StatusCause::required("series.lastObservedTime", ""));
    }
    causes
}

/// `ValidateEventCreate` for `events.k8s.io/v1`: the legacy rules, then an event time, a
/// series of at least two, a type of `Normal` or `Warning`, and no deprecated field set.
fn create_causes(obj: &DynamicObject) -> Vec<StatusCause> {
    let mut causes = crate::core_kinds::legacy_event_causes(obj, "reportingController");
    causes.extend(series_causes(obj));
    if !is_set(obj, "eventTime") {
        causes.push(StatusCause::required("eventTime", ""));
    }
    let kind = field(obj, "type").and_then(Value::as_str).unwrap_or("");
    if kind != "Normal" && kind != "Warning" {
        causes.push(StatusCause::invalid(
            "type",
            "",
            &format!("has invalid value: {kind}"),
        ));
    }
    for deprecated in [
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
        "deprecatedSource",
    ] {
        if is_set(obj, deprecated) {
            causes.push(StatusCause::invalid(deprecated, "", "needs to be unset"));
        }
    }
    causes
}

/// `ValidateEventUpdate` for `events.k8s.io/v1`: the legacy rules, a changed series checked,
/// and everything but the series and metadata immutable (named as upstream names them).
fn update_causes(obj: &DynamicObject, old: &DynamicObject) -> Vec<StatusCause> {
    let mut causes = crate::core_kinds::legacy_event_causes(obj, "reportingController");
    if field(obj, "series") != field(old, "series") {
        causes.extend(series_causes(obj));
    }
    for (name, path) in [
        ("regarding", "involvedObject"),
        ("reason", "reason"),
        ("note", "note"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingController", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        let new = field(obj, name);
        if new != field(old, name) {
            let shown = match new {
                Some(Value::String(s)) => format!("{s:?}"),
                Some(other) => other.to_string(),
                None => "null".into(),
            };
            causes.push(StatusCause::new(
                "FieldValueInvalid",
                path,
                format!("Invalid value: {shown}: field is immutable"),
            ));
        }
    }
    causes
}

fn invalid(obj: &DynamicObject, causes: Vec<StatusCause>) -> apistore::Error {
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    apistore::Error::invalid(GROUP, "Event", name, causes)
}

/// The `events.k8s.io/v1` view of the core/v1 events of a store.
pub struct EventsV1 {
    core: Dynamic,
}

impl EventsV1 {
    /// The view over the core/v1 events kind `core` of `store`.
    pub fn new(store: &apistore::Store, core: &ApiResource) -> EventsV1 {
        EventsV1 {
            core: Dynamic::new(store, core),
        }
    }

    /// Writes `next` (this form) over `old` (this form), checked as an update.
    async fn write(
        &self,
        namespace: Option<&str>,
        name: &str,
        pp: &PostParams,
        next: DynamicObject,
        old: &DynamicObject,
    ) -> apistore::Result<DynamicObject> {
        let causes = update_causes(&next, old);
        if !causes.is_empty() {
            return Err(invalid(&next, causes));
        }
        let written = self
            .core
            .replace(namespace, name, pp, to_core(next), false)
            .await?;
        Ok(to_v1(&written))
    }
}

impl Backend for EventsV1 {
    fn get<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { Ok(to_v1(&self.core.get(namespace, name).await?)) })
    }

    fn get_at<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        gp: &'a apistore::GetParams,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move { Ok(to_v1(&self.core.get_at(namespace, name, gp).await?)) })
    }

    fn list<'a>(
        &'a self,
        namespace: Option<&'a str>,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<SharedList>> {
        Box::pin(async move {
            let list = self.core.list(namespace, lp).await?;
            Ok(ObjectList {
                metadata: list.metadata,
                items: list.items.iter().map(|o| Arc::new(to_v1(o))).collect(),
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
            let events = self.core.watch(namespace, wp, version).await?;
            Ok(Box::pin(InV1Form(events)) as EventStream)
        })
    }

    fn create<'a>(
        &'a self,
        namespace: Option<&'a str>,
        pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            let causes = create_causes(&obj);
            if !causes.is_empty() {
                return Err(invalid(&obj, causes));
            }
            Ok(match self.core.create(namespace, pp, to_core(obj)).await? {
                Answer::Object(created) => Answer::Object(Arc::new(to_v1(&created))),
                status @ Answer::Status(_) => status,
            })
        })
    }

    fn replace<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PostParams,
        obj: DynamicObject,
        _status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let old = match self.core.get(namespace, name).await {
                Ok(old) => to_v1(&old),
                // Events create on update, in either form: checked as a create in this one.
                Err(e) if e.is_not_found() => {
                    let causes = create_causes(&obj);
                    if !causes.is_empty() {
                        return Err(invalid(&obj, causes));
                    }
                    let created = self
                        .core
                        .replace(namespace, name, pp, to_core(obj), false)
                        .await?;
                    return Ok(to_v1(&created));
                }
                Err(e) => return Err(e),
            };
            self.write(namespace, name, pp, obj, &old).await
        })
    }

    fn patch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PatchParams,
        patch: &'a Patch,
        _status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        Box::pin(async move {
            let post = PostParams {
                dry_run: pp.dry_run,
                field_manager: pp.field_manager.clone(),
            };
            if let Patch::Apply(applied) = patch {
                // An apply goes to the store in the core form, which merges and owns the fields
                // by name, and creates the event when it is missing: then the applied object is
                // the whole event, checked as a create in this form.
                if let Err(e) = self.core.get(namespace, name).await {
                    if !e.is_not_found() {
                        return Err(e);
                    }
                    let mut whole = <DynamicObject as serde::Deserialize>::deserialize(applied)
                        .map_err(|e| {
                            crate::go_decode::cannot_handle("events.k8s.io", "Event", applied, &e)
                        })?;
                    whole.metadata.name.get_or_insert_with(|| name.to_string());
                    whole.metadata.namespace = namespace.map(str::to_string);
                    let causes = create_causes(&whole);
                    if !causes.is_empty() {
                        return Err(invalid(&whole, causes));
                    }
                }
                let mut body = applied.clone();
                rename(&mut body, false);
                if let Value::Object(map) = &mut body {
                    map.insert("apiVersion".into(), Value::String("v1".into()));
                }
                let out = self
                    .core
                    .patch(namespace, name, pp, &Patch::Apply(body), false)
                    .await?;
                return Ok(to_v1(&out));
            }
            // The patch applies to this form; the result is written as a replace at the version
            // read, read again if another write came first (unless the patch names a version).
            let mut last = None;
            for _ in 0..5 {
                let old = to_v1(&self.core.get(namespace, name).await?);
                let mut doc = serde_json::to_value(&old)
                    .map_err(|e| apistore::Error::internal(e.to_string()))?;
                let pinned = match patch {
                    Patch::Merge(merge) => {
                        json_patch::merge(&mut doc, merge);
                        merge.pointer("/metadata/resourceVersion").is_some()
                    }
                    Patch::Json(ops) => {
                        Patch::apply_json(&mut doc, ops)
                            .map_err(|_| apistore::Error::json_patch_not_applied())?;
                        false
                    }
                    // Sent to the store above; never merged here.
                    Patch::Apply(_) => {
                        return Err(apistore::Error::internal("an apply reached the merge path"))
                    }
                };
                let next =
                    <DynamicObject as serde::Deserialize>::deserialize(&doc).map_err(|e| {
                        crate::go_decode::cannot_handle("events.k8s.io", "Event", &doc, &e)
                    })?;
                match self.write(namespace, name, &post, next, &old).await {
                    Err(e) if e.is_conflict() && !pinned => last = Some(e),
                    other => return other,
                }
            }
            Err(last.unwrap_or_else(|| apistore::Error::internal("the patch kept conflicting")))
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        dp: &'a DeleteParams,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        Box::pin(async move {
            Ok(match self.core.delete(namespace, name, dp).await? {
                Answer::Object(deleted) => Answer::Object(Arc::new(to_v1(&deleted))),
                status @ Answer::Status(_) => status,
            })
        })
    }

    fn delete_collection<'a>(
        &'a self,
        namespace: Option<&'a str>,
        dp: &'a DeleteParams,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<ObjectList<DynamicObject>>> {
        Box::pin(async move {
            let list = self.core.delete_collection(namespace, dp, lp).await?;
            Ok(ObjectList {
                metadata: list.metadata,
                items: list.items.iter().map(to_v1).collect(),
            })
        })
    }
}

/// A core/v1 events watch whose objects arrive in the `events.k8s.io/v1` form.
struct InV1Form(EventStream);

impl Stream for InV1Form {
    type Item = apistore::Result<WatchEvent<Arc<DynamicObject>>>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx).map(|item| {
            item.map(|event| {
                event.map(|event| match event {
                    WatchEvent::Added(o) => WatchEvent::Added(Arc::new(to_v1(&o))),
                    WatchEvent::Modified(o) => WatchEvent::Modified(Arc::new(to_v1(&o))),
                    WatchEvent::Deleted(o) => WatchEvent::Deleted(Arc::new(to_v1(&o))),
                    other => other,
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_two_forms_convert_into_each_other() {
        let ar = ApiResource::namespaced("", "v1", "Event", "events");
        let core = DynamicObject::new("e.1", &ar).within("ns").data(json!({
            "involvedObject": {"kind": "ConfigMap", "name": "x"}, "message": "hi",
            "reportingComponent": "c", "source": {"component": "c"}, "count": 3,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
            "reason": "R", "type": "Normal"}));
        let v1 = to_v1(&core);
        assert_eq!(v1.types.as_ref().unwrap().api_version, "events.k8s.io/v1");
        assert_eq!(v1.data["regarding"]["kind"], "ConfigMap");
        assert_eq!(v1.data["note"], "hi");
        assert_eq!(v1.data["deprecatedCount"], 3);
        assert_eq!(v1.data["reason"], "R");
        assert!(v1.data.get("message").is_none());
        assert_eq!(to_core(v1).data, core.data);
    }
}
