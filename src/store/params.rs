//! Request parameters, named and shaped as kube-rs's `kube::api` params.
//!
//! Design notes: plain data with `Default` and chainable setters, so `ListParams::default()
//! .labels("app=web").limit(50)` reads as it does with kube-rs. Nothing is validated here;
//! the verb that receives the params validates them and answers with the API server's error.

/// How a list's `resourceVersion` is matched (`resourceVersionMatch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionMatch {
    /// No explicit match: the legacy rules of the resourceVersion semantics table.
    #[default]
    Unset,
    /// A snapshot at exactly the given revision (410 Expired if compacted).
    Exact,
    /// A snapshot at least as new as the given revision.
    NotOlderThan,
}

/// Parameters of a list (`kube::api::ListParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListParams {
    /// A label selector (`app=web,tier in (a,b)`); empty matches everything.
    pub label_selector: Option<String>,
    /// A field selector (`metadata.name=x`); empty matches everything.
    pub field_selector: Option<String>,
    /// Page size; 0 means unlimited.
    pub limit: Option<u32>,
    /// The continue token of the previous page.
    pub continue_token: Option<String>,
    /// The resourceVersion: unset = most recent, `"0"` = any, `"N"` = see `version_match`.
    pub resource_version: Option<String>,
    /// How `resource_version` is matched.
    pub version_match: VersionMatch,
}

impl ListParams {
    /// Sets the label selector.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    /// Sets the field selector.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    /// Sets the page size.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues a paged list from the previous page's token.
    #[must_use]
    pub fn continue_token(mut self, token: &str) -> Self {
        self.continue_token = Some(token.to_string());
        self
    }

    /// Sets the resourceVersion.
    #[must_use]
    pub fn at(mut self, resource_version: &str) -> Self {
        self.resource_version = Some(resource_version.to_string());
        self
    }

    /// Sets how the resourceVersion is matched.
    #[must_use]
    pub fn matching(mut self, version_match: VersionMatch) -> Self {
        self.version_match = version_match;
        self
    }

    /// Any revision will do (`resourceVersion=0`, `NotOlderThan`).
    #[must_use]
    pub fn match_any(self) -> Self {
        self.at("0").matching(VersionMatch::NotOlderThan)
    }
}

/// Parameters of a get (`kube::api::GetParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetParams {
    /// unset = most recent; `"0"` = any; `"N"` = not older than N.
    pub resource_version: Option<String>,
}

impl GetParams {
    /// A get not older than `resource_version`.
    pub fn at(resource_version: &str) -> Self {
        GetParams {
            resource_version: Some(resource_version.to_string()),
        }
    }

    /// A get at any revision (`resourceVersion=0`).
    pub fn any() -> Self {
        GetParams::at("0")
    }
}

/// Parameters of a create or replace (`kube::api::PostParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostParams {
    /// Validate and prepare, but write nothing and consume no revision.
    pub dry_run: bool,
    /// The field manager: it owns the fields the write sets or changes (`metadata.managedFields`).
    pub field_manager: Option<String>,
}

impl PostParams {
    /// Params for a dry run.
    pub fn dry_run() -> Self {
        PostParams {
            dry_run: true,
            ..PostParams::default()
        }
    }
}

/// Preconditions of a delete or update (`metav1.Preconditions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The object's uid must be this.
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    pub resource_version: Option<String>,
}

/// The finalizer a delete with the `Orphan` policy leaves on an object whose kind is garbage
/// collected ([`ApiResource::with_garbage_collection`](crate::ApiResource::with_garbage_collection)):
/// the collector takes the object's dependents' references to it out, then the finalizer.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// The finalizer a delete with the `Foreground` policy leaves on an object whose kind is
/// garbage collected: the collector deletes its dependents, then takes the finalizer out.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// How dependents are handled on delete. The store has no garbage collector: for a kind
/// described with [`ApiResource::with_garbage_collection`](crate::ApiResource::with_garbage_collection)
/// `Orphan` and `Foreground` leave their finalizer for one (`apistore-server` has one), and
/// otherwise the policy is accepted and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagationPolicy {
    /// Leave dependents.
    Orphan,
    /// Delete dependents in the background.
    Background,
    /// Delete dependents first.
    Foreground,
}

/// Parameters of a delete (`kube::api::DeleteParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteParams {
    /// Check preconditions and prepare, but write nothing.
    pub dry_run: bool,
    /// Grace period; `Some(0)` deletes at once. Only kinds with graceful deletion use it.
    pub grace_period_seconds: Option<u32>,
    /// Dependents policy (see [`PropagationPolicy`]).
    pub propagation_policy: Option<PropagationPolicy>,
    /// uid / resourceVersion the object must have.
    pub preconditions: Option<Preconditions>,
}

impl DeleteParams {
    /// Delete now, skipping any grace period.
    pub fn background() -> Self {
        DeleteParams::default()
    }

    /// Params for a dry run.
    pub fn dry_run() -> Self {
        DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        }
    }

    /// Sets the grace period.
    #[must_use]
    pub fn grace_period(mut self, seconds: u32) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }

    /// Sets the preconditions.
    #[must_use]
    pub fn preconditions(mut self, preconditions: Preconditions) -> Self {
        self.preconditions = Some(preconditions);
        self
    }
}

/// Parameters of a patch (`kube::api::PatchParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatchParams {
    /// Apply and validate, but write nothing.
    pub dry_run: bool,
    /// The field manager: it owns the fields the patch changes (`metadata.managedFields`);
    /// required by [`Patch::Apply`].
    pub field_manager: Option<String>,
    /// Server-side apply only: take the fields other managers own instead of a Conflict.
    pub force: bool,
}

impl PatchParams {
    /// Parameters of a server-side apply by `manager` (kube-rs's `PatchParams::apply`).
    pub fn apply(manager: &str) -> PatchParams {
        PatchParams {
            field_manager: Some(manager.to_string()),
            ..PatchParams::default()
        }
    }

    /// Takes fields other managers own instead of answering a Conflict.
    #[must_use]
    pub fn force(mut self) -> PatchParams {
        self.force = true;
        self
    }
}

/// A patch body (`kube::api::Patch`). Unlike kube-rs's `Patch<P>` it is not generic: the
/// body is a JSON value, so `Patch::Json(ops)` needs no type annotation; a typed partial
/// object becomes a merge patch with [`Patch::merge_of`].
#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    /// An RFC 7386 JSON merge patch.
    Merge(serde_json::Value),
    /// An RFC 6902 JSON patch.
    Json(json_patch::Patch),
    /// A server-side apply: the fields the manager wants set, as a (partial) object. Creates
    /// the object when it does not exist.
    Apply(serde_json::Value),
}

impl Patch {
    /// A merge patch of any serialisable value (kube-rs's `Patch::Merge(&typed)`).
    ///
    /// # Errors
    /// BadRequest when `body` does not serialise to JSON.
    pub fn merge_of<P: serde::Serialize>(body: &P) -> crate::Result<Patch> {
        serde_json::to_value(body).map(Patch::Merge).map_err(|e| {
            crate::Error::bad_request(format!("the merge patch could not be encoded: {e}"))
        })
    }

    /// Applies the JSON patch `ops` to `doc` as kube-apiserver applies one (evanphx/json-patch):
    /// as RFC 6902, except that a `test` of `null` passes on a key its parent object lacks,
    /// which kube-runtime's finalizer helper relies on. On an error `doc` may be left
    /// part-patched: patch a copy.
    ///
    /// # Errors
    /// The first operation that does not apply.
    pub fn apply_json(
        doc: &mut serde_json::Value,
        ops: &[json_patch::PatchOperation],
    ) -> std::result::Result<(), json_patch::PatchError> {
        crate::store::json_patch_ops::apply(doc, ops)
    }
}

/// Parameters of a watch (`kube::api::WatchParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchParams {
    /// A label selector.
    pub label_selector: Option<String>,
    /// A field selector.
    pub field_selector: Option<String>,
    /// Close the watch after this many seconds.
    pub timeout: Option<u32>,
    /// Send bookmarks.
    pub bookmarks: bool,
    /// `sendInitialEvents`: `Some(true)` sends the current state as ADDED events first, ended
    /// by an initial-events-end bookmark when bookmarks are on; `Some(false)` sends no initial
    /// events even from `""`/`"0"`; `None` (unset) keeps the legacy start rules. Either
    /// setting requires `version_match` NotOlderThan, as kube-apiserver validates.
    pub send_initial_events: Option<bool>,
    /// `resourceVersionMatch`: for a watch only NotOlderThan, and only with
    /// `send_initial_events` set.
    pub version_match: VersionMatch,
}

impl WatchParams {
    /// Sets the label selector.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    /// Sets the field selector.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    /// Sets the timeout in seconds.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Asks for bookmarks.
    #[must_use]
    pub fn bookmarks(mut self, bookmarks: bool) -> Self {
        self.bookmarks = bookmarks;
        self
    }

    /// Asks for the initial events (streaming list, `sendInitialEvents=true`), with
    /// bookmarks and `resourceVersionMatch=NotOlderThan`, as kube-rs's `streaming_lists()`.
    #[must_use]
    pub fn initial_events(self) -> Self {
        self.send_initial_events(true).bookmarks(true)
    }

    /// Sets `sendInitialEvents` explicitly (with `resourceVersionMatch=NotOlderThan`, which
    /// the API server requires with it).
    #[must_use]
    pub fn send_initial_events(mut self, send: bool) -> Self {
        self.send_initial_events = Some(send);
        self.version_match = VersionMatch::NotOlderThan;
        self
    }
}
