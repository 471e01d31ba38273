//! The router: a `tower::Service` from HTTP requests to kube-apiserver's answers. It runs over
//! a socket (see `serve`) or in-process, handed to a client as its transport.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apistore::{
    Api, ApiResource, DeleteParams, DynamicObject, GetParams, ListParams, ObjectList, Patch,
    PatchParams, PostParams, Store, VersionMatch, WatchParams,
};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use tokio_util::sync::CancellationToken;

use crate::auth::Tokens;
use crate::backend::{Answer, PutEffect};
use crate::core_kinds::NAME_LABEL;
use crate::discovery;
use crate::errors::{self, Body};
use crate::metrics::{self, Metrics};
use crate::openapi;
use crate::resources::{ResourceTable, ServedResource};
use crate::strict::Form;
use crate::table::{partial_object_metadata, table, IncludeObject};
use crate::watch::{self, WatchBody};
use crate::write_options::{delete_options, write_options, FieldValidation, WriteVerb};

/// kube-apiserver's limit on a request body (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Namespaces that exist from the start and cannot be deleted, as in kube-apiserver.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// The header naming a request's audit ID (`Audit-ID`, as kube-apiserver writes it).
const AUDIT_ID: header::HeaderName = header::HeaderName::from_static("audit-id");

/// The Kubernetes API over one store.
#[derive(Clone, Debug)]
pub struct Server {
    store: Store,
    tables: Arc<Tables>,
    /// The namespaces kind, for the server's own lifecycle work on namespaces (shared: the
    /// server is cloned for every request).
    namespaces: Arc<ServedResource>,
    metrics: Arc<Metrics>,
    /// The bearer tokens required of every request but the public ones, when set.
    tokens: Option<Arc<Tokens>>,
    /// Watch events encoded once for every watcher.
    encoded: Arc<crate::watch::EncodedEvents>,
    /// How long an event lives after its last write (`--event-ttl`), and what was seen of them.
    event_expiry: Arc<crate::expiry::EventExpiry>,
    /// Cancelled when the server stops: every watch then ends cleanly.
    draining: CancellationToken,
    /// Set by every write that may have left garbage (a delete; a body naming owner references
    /// or finalizers): the collector's next pass is due.
    pub(crate) garbage_due: Arc<std::sync::atomic::AtomicBool>,
}

/// The kinds served: the built-in ones, and those of the stored CustomResourceDefinitions.
#[derive(Debug)]
struct Tables {
    built_in: ResourceTable,
    /// The table served now, and the custom kinds in it (replaced whole when a definition is
    /// written, so a request keeps the table it started with).
    current: parking_lot::RwLock<(Arc<ResourceTable>, Vec<ApiResource>)>,
    /// Held while a table is rebuilt and the objects of kinds gone are deleted: two rebuilds
    /// at once could otherwise install an older listing over a newer one, and take a kind
    /// defined meanwhile for one deleted.
    reloading: tokio::sync::Mutex<()>,
}

impl Server {
    /// The server of `store` with the built-in kinds and those of the stored
    /// CustomResourceDefinitions; creates the system namespaces that are missing.
    ///
    /// # Errors
    /// A store error creating them.
    pub fn new(store: Store) -> apistore::Result<Server> {
        let built_in = ResourceTable::built_in(&store);
        let namespaces = Arc::new(
            built_in
                .find("", "v1", "namespaces")
                .expect("the built-in table serves namespaces")
                .clone(),
        );
        let server = Server {
            tables: Arc::new(Tables {
                current: parking_lot::RwLock::new((Arc::new(built_in.clone()), Vec::new())),
                reloading: tokio::sync::Mutex::new(()),
                built_in,
            }),
            namespaces,
            store,
            metrics: Arc::new(Metrics::default()),
            tokens: None,
            encoded: Arc::default(),
            event_expiry: Arc::new(crate::expiry::EventExpiry::new(
                crate::expiry::DEFAULT_EVENT_TTL,
            )),
            draining: CancellationToken::new(),
            garbage_due: Arc::default(),
        };
        let namespaces = server.namespace_api();
        for name in SYSTEM_NAMESPACES {
            if namespaces.get_opt(name)?.is_none() {
                let ns = DynamicObject::new(name, &server.namespaces().ar);
                match namespaces.create(&PostParams::default(), &ns) {
                    Err(e) if !e.is_already_exists() => return Err(e),
                    _ => {}
                }
            }
        }
        // Namespaces written before they carried their name label get it now, as
        // kube-apiserver's defaulting gives it to namespaces read from older stores.
        for ns in namespaces.list(&ListParams::default())?.items {
            let name = ns.metadata.name.clone().unwrap_or_default();
            let labelled =
                ns.metadata.labels.as_ref().and_then(|l| l.get(NAME_LABEL)) == Some(&name);
            if !labelled {
                namespaces.update(&name, Ok)?;
            }
        }
        let (table, custom) = server.custom_table()?;
        *server.tables.current.write() = (Arc::new(table), custom);
        Ok(server)
    }

    /// Ends every watch, those open and those asked for later, each with the events already
    /// taken from the store (`serve` does this when it stops; requests other than watches
    /// are served as before).
    pub fn end_watches(&self) {
        self.draining.cancel();
    }

    /// The table served now.
    pub(crate) fn table(&self) -> Arc<ResourceTable> {
        Arc::clone(&self.tables.current.read().0)
    }

    /// The built-in kinds and those of the stored CustomResourceDefinitions, with the custom
    /// kinds listed.
    fn custom_table(&self) -> apistore::Result<(ResourceTable, Vec<ApiResource>)> {
        let definitions = self
            .tables
            .built_in
            .find(crate::crd::GROUP, "v1", "customresourcedefinitions")
            .expect("the built-in table serves customresourcedefinitions");
        let stored = self
            .store
            .all_with(&definitions.ar)
            .list_shared(&ListParams::default())?;
        let mut table = self.tables.built_in.clone();
        let mut custom = Vec::new();
        for definition in &stored.items {
            for served in crate::crd::served_kinds(&self.store, definition) {
                let ar = &served.ar;
                if self
                    .tables
                    .built_in
                    .find(&ar.group, &ar.version, &ar.plural)
                    .is_some()
                {
                    continue;
                }
                custom.push(ar.clone());
                table.add(served);
            }
        }
        Ok((table, custom))
    }

    /// Serves the kinds of the stored CustomResourceDefinitions (after a definition is
    /// written), and deletes the objects of custom kinds no definition serves any more, as
    /// kube-apiserver's finalizer does when a definition is deleted.
    pub(crate) async fn reload_custom_resources(&self) -> apistore::Result<()> {
        let _one_at_a_time = self.tables.reloading.lock().await;
        let (table, custom) = self.custom_table()?;
        let gone: Vec<ApiResource> = {
            let mut current = self.tables.current.write();
            let gone = current
                .1
                .iter()
                .filter(|old| {
                    !custom
                        .iter()
                        .any(|new| new.group == old.group && new.plural == old.plural)
                })
                .cloned()
                .collect();
            *current = (Arc::new(table), custom);
            gone
        };
        let mut purged: Vec<(String, String)> = Vec::new();
        for ar in gone {
            if purged.contains(&(ar.group.clone(), ar.plural.clone())) {
                continue;
            }
            purged.push((ar.group.clone(), ar.plural.clone()));
            self.store
                .all_with(&ar)
                .into_async()
                .delete_collection(&DeleteParams::default(), &ListParams::default())
                .await?;
        }
        Ok(())
    }

    /// Follows the stored CustomResourceDefinitions for as long as it runs, and serves their
    /// kinds as they change: the definitions may be written through another server on the
    /// same etcd cluster, which this server learns of only from its store's watch.
    pub async fn follow_definitions(self) {
        let definitions = self
            .tables
            .built_in
            .find(crate::crd::GROUP, "v1", "customresourcedefinitions")
            .expect("the built-in table serves customresourcedefinitions")
            .ar
            .clone();
        let api = self.store.all_with(&definitions).into_async();
        let params = apistore::WatchParams {
            bookmarks: false,
            ..apistore::WatchParams::default()
        };
        loop {
            // From the revision the table was built at: reload first, then watch from there.
            let _ = self.reload_custom_resources().await;
            let from = self.store.resource_version().to_string();
            let Ok(mut events) = api.watch(&params, &from).await else {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            };
            loop {
                let next = std::future::poll_fn(|cx| {
                    futures_core::Stream::poll_next(Pin::new(&mut events), cx)
                })
                .await;
                match next {
                    Some(Ok(_)) => {
                        let _ = self.reload_custom_resources().await;
                    }
                    // Ended or expired: reload and watch again from the current revision.
                    Some(Err(_)) | None => break,
                }
            }
        }
    }

    /// This server requiring a bearer token from `tokens` on every request but `/version` and
    /// the health checks, which kube-apiserver serves to anyone.
    #[must_use]
    pub fn with_tokens(mut self, tokens: Tokens) -> Server {
        self.tokens = Some(Arc::new(tokens));
        self
    }

    /// This server expiring events `ttl` after their last write (kube-apiserver's
    /// `--event-ttl`, an hour by default); zero keeps them until deleted.
    #[must_use]
    pub fn with_event_ttl(mut self, ttl: std::time::Duration) -> Server {
        self.event_expiry = Arc::new(crate::expiry::EventExpiry::new(ttl));
        self
    }

    /// Deletes the events whose time to live has passed since their last write; answers how
    /// many went. [`serve`](crate::serve) does this about once a minute.
    ///
    /// # Errors
    /// A store error listing the events.
    pub async fn expire_events(&self) -> apistore::Result<usize> {
        let table = self.table();
        let Some(events) = table.find("", "v1", "events") else {
            return Ok(0);
        };
        self.event_expiry
            .sweep(&self.store, &events.ar, chrono::Utc::now())
            .await
    }

    /// Expires events once a sweep period, for as long as the server runs.
    pub(crate) async fn follow_event_ttl(self) {
        let ttl = self.event_expiry.ttl();
        if ttl.is_zero() {
            return;
        }
        let period = crate::expiry::sweep_period(ttl);
        loop {
            tokio::time::sleep(period).await;
            let _ = self.expire_events().await;
        }
    }

    /// Reads every stored object once, in pages, so that each is decoded and kept beside its
    /// version before a client asks, as kube-apiserver's watch caches fill when it starts:
    /// after a restart, the first list of 100,000 ConfigMaps otherwise decodes them all and
    /// takes half as long again. [`serve`](crate::serve) runs it as it starts; requests are
    /// served meanwhile, and one that comes first decodes what it reads itself.
    pub async fn warm_up(self) {
        let table = self.table();
        for resource in table.all().filter(|r| r.serves("deletecollection", None)) {
            let mut token: Option<String> = None;
            loop {
                let mut lp = ListParams::default().limit(WARM_UP_PAGE);
                if let Some(token) = &token {
                    lp = lp.continue_token(token);
                }
                let Ok(page) = resource.backend.list(None, &lp).await else {
                    break;
                };
                match page.metadata.continue_ {
                    Some(next) if !next.is_empty() => token = Some(next),
                    _ => break,
                }
                // Requests go first between pages.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Finishes, every few seconds, the deletions kube's controllers finish: of namespaces and
    /// definitions whose content went without a request to this server (through the store,
    /// or another server on the same etcd cluster).
    pub(crate) async fn follow_deletions(self) {
        loop {
            self.settle_definitions().await;
            self.settle_namespaces().await;
            tokio::time::sleep(DELETION_RESYNC_PERIOD).await;
        }
    }

    /// The store served.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn namespaces(&self) -> &ServedResource {
        &self.namespaces
    }

    /// The stored CustomResourceDefinitions, for the server's own lifecycle work on them.
    pub(crate) fn definition_api(&self) -> Api<DynamicObject> {
        let definitions = self
            .tables
            .built_in
            .find(crate::crd::GROUP, "v1", "customresourcedefinitions")
            .expect("the built-in table serves customresourcedefinitions");
        self.store.all_with(&definitions.ar)
    }

    /// Whether `ar` is a kind a definition serves.
    pub(crate) fn is_custom(&self, ar: &ApiResource) -> bool {
        self.tables
            .current
            .read()
            .1
            .iter()
            .any(|custom| custom.group == ar.group && custom.plural == ar.plural)
    }

    /// The namespaces, for the server's own lifecycle work on them.
    pub(crate) fn namespace_api(&self) -> Api<DynamicObject> {
        self.store.all_with(&self.namespaces().ar)
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // kube-apiserver's outermost filters: every answer names its request's audit ID (the
        // client's, when it sent one) and, unless it says otherwise, is not to be cached.
        let audit_id = request
            .headers()
            .get(AUDIT_ID)
            .filter(|id| !id.is_empty())
            .cloned()
            .unwrap_or_else(|| {
                header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                    .expect("a UUID is a header value")
            });
        let mut response = self.answer(request).await;
        let headers = response.headers_mut();
        headers.insert(AUDIT_ID, audit_id);
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(header::HeaderValue::from_static("no-cache, private"));
        response
    }

    /// The answer, laid out as kube-apiserver lays out JSON and gzipped when large and asked.
    async fn answer<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let query = parse_query(parts.uri.query().unwrap_or(""));
        let path_segments = segments(parts.uri.path());
        let segs: Vec<&str> = path_segments.iter().flatten().map(String::as_str).collect();
        // A resource's or discovery document's answer is negotiated as kube-apiserver
        // negotiates it, once; the other documents only tell YAML from the rest.
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (form, aggregated) = if is_resource_path(&segs) {
            (crate::negotiate::negotiate(accept), None)
        } else if is_discovery_path(&segs) {
            let root = matches!(segs.as_slice(), ["api"] | ["apis"]);
            match crate::negotiate::negotiate_discovery(accept, root) {
                Some(chosen) => (
                    Some(crate::negotiate::Negotiated {
                        format: chosen.format,
                        conversion: None,
                        pretty: chosen.pretty,
                    }),
                    chosen.aggregated,
                ),
                None => (None, None),
            }
        } else {
            (None, None)
        };
        let layout = {
            let user_agent = parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let layout = crate::json_framing::layout_for(
                &segs,
                query.get("pretty").map(String::as_str),
                user_agent,
            );
            // `pretty=1` in the negotiated Accept clause indents too (kube's
            // `mediaType.Pretty || isPrettyPrint(req)`).
            if form.is_some_and(|form| form.pretty) {
                crate::json_framing::Layout::Indented
            } else {
                layout
            }
        };
        let gzip = parts
            .headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(crate::compression::wants_gzip);
        let response = self
            .answer_unframed(parts, body, query, path_segments, form, aggregated)
            .await;
        let response = crate::json_framing::laid_out(response, layout).await;
        if gzip {
            crate::compression::large_answers_gzipped(response).await
        } else {
            response
        }
    }

    async fn answer_unframed<B>(
        &self,
        parts: http::request::Parts,
        body: B,
        query: HashMap<String, String>,
        segments: Option<Vec<String>>,
        form: Option<crate::negotiate::Negotiated>,
        aggregated: Option<&'static str>,
    ) -> Response<Body>
    where
        B: http_body::Body + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut requester = None;
        if let Some(tokens) = &self.tokens {
            let public = matches!(
                parts.uri.path(),
                "/version" | "/healthz" | "/readyz" | "/livez"
            );
            let authorization = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            requester = tokens.authenticate(authorization).cloned();
            if !public && requester.is_none() {
                return errors::failure(401, "Unauthorized", "Unauthorized");
            }
        }
        let body = match read_body(body).await {
            Ok(body) => body,
            Err(response) => return *response,
        };
        let accept = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let Some(segments) = segments else {
            return errors::no_route();
        };
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let if_none_match = parts
            .headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let yaml = if is_resource_path(&segs) || is_discovery_path(&segs) {
            form.is_some_and(|form| form.format == crate::negotiate::Format::Yaml)
        } else {
            crate::media::wants_yaml(&accept)
        };
        let request = Req {
            method: parts.method.clone(),
            query,
            raw_query: parts.uri.query().unwrap_or("").to_string(),
            accept,
            form,
            aggregated,
            content_type,
            user_agent,
            if_none_match,
            body,
            repeated_keys: Vec::new(),
        };
        // The reviews of `kubectl auth whoami` answer who is asking.
        let response = crate::reviews::REQUESTER
            .scope(requester, self.route(&segs, request))
            .await;
        if yaml {
            crate::media::as_yaml(response).await
        } else {
            response
        }
    }

    /// The answer of the handler `segs` (the path's segments) names.
    async fn route(&self, segs: &[&str], request: Req) -> Response<Body> {
        // Version and discovery documents are GET routes of kube-apiserver's (any other
        // method is a 405); the health and metrics endpoints answer any method, as its mux does.
        let document = matches!(
            segs,
            ["version"] | ["api"] | ["apis"] | ["api", _] | ["apis", _, _] | ["openapi", ..]
        );
        if document && request.method != Method::GET {
            return errors::method_not_allowed(&request.method);
        }
        // kube-apiserver's handlers negotiate the answer's type before anything else.
        let negotiated = if is_resource_path(segs) || is_discovery_path(segs) {
            request.form.is_some()
        } else {
            true
        };
        if !negotiated {
            return crate::media::not_acceptable();
        }
        match segs {
            ["version"] => errors::json(StatusCode::OK, &discovery::version()),
            ["metrics"] => {
                // Prometheus asks for OpenMetrics; anything else gets the classic text format.
                let openmetrics = request.accept.contains("application/openmetrics-text");
                errors::bytes_response(
                    StatusCode::OK,
                    self.metrics
                        .exposition(&self.store, openmetrics)
                        .into_bytes(),
                    if openmetrics {
                        "application/openmetrics-text; version=1.0.0; charset=utf-8"
                    } else {
                        "text/plain; version=0.0.4; charset=utf-8"
                    },
                )
            }
            [endpoint @ ("healthz" | "livez" | "readyz"), rest @ ..] => crate::health::answer(
                endpoint,
                rest,
                &self.health_checks(endpoint),
                &request.raw_query,
            ),
            ["api"] => self.discovery_root(&request, true),
            ["apis"] => self.discovery_root(&request, false),
            ["api", version] => self.resource_list("", version),
            ["apis", group, version] => self.resource_list(group, version),
            ["openapi", "v2"] => crate::openapi_v2::document(
                &self.table(),
                &request.accept,
                request.if_none_match.as_deref(),
            ),
            ["openapi", "v3"] => openapi::root(&self.table(), request.if_none_match.as_deref()),
            ["openapi", "v3", "api", version] => self.openapi("", version, &request),
            ["openapi", "v3", "apis", group, version] => self.openapi(group, version, &request),
            ["api", version, rest @ ..] => self.resource_request("", version, rest, request).await,
            ["apis", group, version, rest @ ..] => {
                self.resource_request(group, version, rest, request).await
            }
            _ => errors::no_route(),
        }
    }

    /// The checks of `/healthz`, `/livez` or `/readyz` (see `health.rs`).
    fn health_checks(&self, endpoint: &str) -> Vec<crate::health::Check> {
        use crate::health::Check;
        let mut checks = vec![
            Check::ok("ping"),
            Check::ok("log"),
            Check {
                name: "etcd",
                failure: (self.store.mvcc().etcd_connected() == Some(false))
                    .then(|| "the store's watch of etcd is not established".to_string()),
            },
        ];
        if endpoint == "readyz" {
            checks.push(Check {
                name: "shutdown",
                failure: self
                    .draining
                    .is_cancelled()
                    .then(|| "process is shutting down".to_string()),
            });
        }
        checks
    }

    fn discovery_root(&self, request: &Req, core: bool) -> Response<Body> {
        if let Some(version) = request.aggregated {
            return errors::json_as(
                StatusCode::OK,
                &discovery::aggregated(&self.table(), core, version),
                &discovery::aggregated_content_type(version),
            );
        }
        let body = if core {
            discovery::core_versions(&self.table())
        } else {
            discovery::group_list(&self.table())
        };
        errors::json(StatusCode::OK, &body)
    }

    fn resource_list(&self, group: &str, version: &str) -> Response<Body> {
        match discovery::resource_list(&self.table(), group, version) {
            Some(list) => errors::json(StatusCode::OK, &list),
            None => errors::no_route(),
        }
    }

    fn openapi(&self, group: &str, version: &str, request: &Req) -> Response<Body> {
        openapi::group_version(
            &self.table(),
            group,
            version,
            request.query.get("hash").map(String::as_str),
            request.if_none_match.as_deref(),
        )
    }

    async fn resource_request(
        &self,
        group: &str,
        version: &str,
        rest: &[&str],
        request: Req,
    ) -> Response<Body> {
        let table = self.table();
        let Some(target) = target(&table, group, version, rest) else {
            return errors::no_route();
        };
        let mut request = request;
        if request
            .content_type
            .starts_with("application/vnd.kubernetes.protobuf")
            && !request.body.is_empty()
        {
            match crate::proto::to_json(&request.body) {
                Ok(json) => match serde_json::to_vec(&json) {
                    Ok(bytes) => {
                        request.body = Bytes::from(bytes);
                        request.content_type = "application/json".into();
                    }
                    Err(e) => return errors::failure(500, "InternalError", &e.to_string()),
                },
                Err(crate::proto::ProtoError::Malformed(why)) => {
                    return errors::failure(
                        400,
                        "BadRequest",
                        &format!("the protobuf body of the request could not be decoded: {why}"),
                    )
                }
                Err(crate::proto::ProtoError::UnknownKind(kind)) => {
                    return errors::error(&apistore::Error::UnsupportedMediaType {
                        message: format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (no protobuf form of {kind} is served)"
                        ),
                    })
                }
            }
        }
        match crate::media::json_body(&request.method, &request.content_type, &request.body) {
            Ok(Some(read)) => {
                request.content_type = read.content_type;
                request.body = read.body;
                request.repeated_keys = read.repeated_keys;
            }
            Ok(None) => {}
            Err(e) => return errors::error(&e),
        }
        // Metadata asked for in the wrong number is refused before anything is read or written
        // (kube-apiserver finds it when it converts the answer, after a write is made).
        let answers_a_list = match kube_verb(&request, &target) {
            "list" | "deletecollection" => Some(true),
            "watch" => None,
            _ => Some(false),
        };
        let custom = self.tables.current.read().1.iter().any(|ar| {
            ar.group == target.resource.ar.group && ar.plural == target.resource.ar.plural
        });
        if custom
            && request.form.is_some_and(|form| {
                form.format == crate::negotiate::Format::Protobuf && form.conversion.is_none()
            })
        {
            // A custom resource has no protobuf form: the clause that won for a built-in kind
            // is skipped, and another may win.
            request.form = crate::negotiate::negotiate_custom(&request.accept);
            if request.form.is_none() {
                return crate::media::not_acceptable();
            }
        }
        if let Some(refused) = answers_a_list
            .and_then(|list| metadata_of_the_wrong_number(&request, target.resource, custom, list))
        {
            return refused;
        }
        let started = std::time::Instant::now();
        let verb = verb_of(&request, &target);
        let labels = MetricLabels::of(&request, &target);
        let writes = request.method != Method::GET;
        let changes_existing =
            matches!(request.method, Method::PUT | Method::PATCH | Method::DELETE);
        let may_leave_garbage = writes
            && (request.method == Method::DELETE
                || memchr::memmem::find(&request.body, b"ownerReferences").is_some()
                || memchr::memmem::find(&request.body, b"finalizers").is_some());
        let mut response = match self.serve(&target, request).await {
            Ok(response) => response,
            Err(e) => errors::error(&e),
        };
        // A definition written or deleted changes the kinds served, at once.
        let definitions = target.resource.ar.group == crate::crd::GROUP
            && target.resource.ar.plural == "customresourcedefinitions";
        if definitions && writes && response.status().is_success() {
            if let Err(e) = self.reload_custom_resources().await {
                response = errors::error(&e);
            }
        }
        if response.status().is_success() {
            self.after_write(&target, changes_existing, may_leave_garbage)
                .await;
        }
        self.metrics.record(
            &labels.request(verb, group, version),
            response.status().as_u16(),
            started.elapsed(),
        );
        response
    }
}

/// How often [`Server::follow_deletions`] looks at what is being deleted.
const DELETION_RESYNC_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);

/// Objects read per page by [`Server::warm_up`]: kube-apiserver's and kubectl's page size.
const WARM_UP_PAGE: u32 = 500;

/// What a resource path names in `table`; `None` when nothing is served there.
fn target<'t>(
    table: &'t ResourceTable,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Option<Target<'t>> {
    {
        let (namespace, rest) = match rest {
            ["namespaces", ns, resource, tail @ ..]
                if !(group.is_empty() && tail.is_empty() && is_namespace_subresource(resource)) =>
            {
                (Some((*ns).to_string()), [&[*resource][..], tail].concat())
            }
            _ => (None, rest.to_vec()),
        };
        let (plural, name, subresource) = match rest.as_slice() {
            [plural] => (*plural, None, None),
            [plural, name] => (*plural, Some((*name).to_string()), None),
            [plural, name, sub] => (*plural, Some((*name).to_string()), Some(*sub)),
            _ => return None,
        };
        let resource = table.find(group, version, plural)?;
        if namespace.is_some() != resource.ar.namespaced && !(namespace.is_none() && name.is_none())
        {
            return None;
        }
        let known = match subresource {
            None => true,
            Some("status") => resource.ar.has_status_subresource(),
            Some(sub) => resource.subresources.iter().any(|s| s.name == sub),
        };
        known.then(|| Target {
            resource,
            namespace,
            name,
            subresource: subresource.map(str::to_string),
        })
    }
}

impl Server {
    /// The controllers' work a successful write may call for: a garbage collector pass becomes
    /// due, and a namespace or a definition being deleted may have let go of the last object it
    /// waited for (a finalizer removed), so its cleanup goes on at once.
    async fn after_write(
        &self,
        target: &Target<'_>,
        changes_existing: bool,
        may_leave_garbage: bool,
    ) {
        if may_leave_garbage {
            self.garbage_due
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if !changes_existing {
            return;
        }
        let ar = &target.resource.ar;
        if self.is_custom(ar) && self.definition_terminating(&ar.group, &ar.plural) {
            let definition = format!("{}.{}", ar.plural, ar.group);
            if let Err(e) = self.settle_definition(&definition).await {
                eprintln!("apistore-server: settling definition {definition:?}: {e}");
            }
        }
        if let Some(namespace) = target.namespace.as_deref() {
            let terminating = self
                .namespace_api()
                .read(namespace, |ns| ns.metadata.deletion_timestamp.is_some())
                .unwrap_or(false);
            if terminating {
                if let Err(e) = self.settle_namespace(namespace).await {
                    eprintln!("apistore-server: settling namespace {namespace:?}: {e}");
                }
            }
        }
    }

    async fn serve(&self, target: &Target<'_>, request: Req) -> apistore::Result<Response<Body>> {
        let resource = target.resource;
        let kube_verb = kube_verb(&request, target);
        if !resource.serves(kube_verb, target.subresource.as_deref()) {
            return Ok(errors::method_not_allowed(&request.method));
        }
        let backend = &resource.backend;
        let ns = target.namespace.as_deref();
        let status = target.subresource.as_deref() == Some("status");
        if let (Some("scale"), Some(paths)) = (target.subresource.as_deref(), &resource.scale) {
            return self.scale(target, paths, &request).await;
        }
        let writer = target
            .subresource
            .as_deref()
            .and_then(|sub| resource.subresources.iter().find(|s| s.name == sub))
            .and_then(|s| s.writer.as_ref());
        if let (Some(writer), &Method::PUT, Some(name)) = (writer, &request.method, &target.name) {
            let options = write_options(&request.query, WriteVerb::Update)?;
            let warnings = field_warnings(resource, &request, options.field_validation);
            let obj = self.body_object(target, &request, Some(name), options.field_validation)?;
            let pp = PostParams {
                dry_run: options.dry_run,
                field_manager: request.field_manager(),
            };
            let out = writer.replace(ns, name, &pp, obj, false).await?;
            return Ok(with_warnings(
                self.object_response(resource, StatusCode::OK, &out, &request),
                &warnings,
            ));
        }
        match (&request.method, &target.name) {
            (&Method::GET, None) if is_true(request.query.get("watch")) => {
                self.watch(target, &request).await
            }
            (&Method::GET, None) => {
                let list = backend.list(ns, &list_params(&request.query)?).await?;
                Ok(self.list_response(resource, list, &request))
            }
            (&Method::GET, Some(name)) => match target.subresource.as_deref() {
                Some(sub) if sub != "status" => {
                    let out = backend.get_subresource(ns, name, sub).await?;
                    Ok(errors::json(StatusCode::OK, &out))
                }
                _ => {
                    let obj = match request.query.get("resourceVersion") {
                        Some(version) if !version.is_empty() => {
                            backend.get_at(ns, name, &GetParams::at(version)).await?
                        }
                        _ => backend.get(ns, name).await?,
                    };
                    Ok(self.object_response(resource, StatusCode::OK, &obj, &request))
                }
            },
            (&Method::POST, None) => {
                let options = write_options(&request.query, WriteVerb::Create)?;
                let mut warnings = field_warnings(resource, &request, options.field_validation);
                let obj = self.body_object(target, &request, None, options.field_validation)?;
                warnings.extend(duplicate_owners_warning(&obj));
                if self.is_custom(&resource.ar)
                    && self.definition_terminating(&resource.ar.group, &resource.ar.plural)
                {
                    return Err(apistore::Error::MethodNotAllowed {
                        message:
                            "create not allowed while custom resource definition is terminating"
                                .into(),
                        details: Box::new(apistore::StatusDetails {
                            group: Some(resource.ar.group.clone()),
                            kind: Some(resource.ar.plural.clone()),
                            ..apistore::StatusDetails::default()
                        }),
                    });
                }
                if let Some(ns) = ns {
                    self.check_namespace_accepts(ns).await?;
                }
                let pp = PostParams {
                    dry_run: options.dry_run,
                    field_manager: request.field_manager(),
                };
                match backend.create(ns, &pp, obj).await? {
                    Answer::Object(created) => Ok(with_warnings(
                        self.object_response(resource, StatusCode::CREATED, &created, &request),
                        &warnings,
                    )),
                    Answer::Status(status) => Ok(errors::json(
                        status_code(&status, StatusCode::CREATED),
                        &status,
                    )),
                }
            }
            (&Method::PUT, Some(name)) => {
                let options = write_options(&request.query, WriteVerb::Update)?;
                let mut warnings = field_warnings(resource, &request, options.field_validation);
                let obj =
                    self.body_object(target, &request, Some(name), options.field_validation)?;
                warnings.extend(duplicate_owners_warning(&obj));
                let pp = PostParams {
                    dry_run: options.dry_run,
                    field_manager: request.field_manager(),
                };
                // A PUT that creates (a core Event, a tag of an image stream) is admitted by
                // what it makes, and answered 201.
                let effect = if status {
                    PutEffect::Updates
                } else {
                    let creates = resource.ar.creates_on_update();
                    backend.put_effect(ns, name, creates).await?
                };
                self.admit_put(effect, ns).await?;
                let code = put_code(effect);
                let out = backend.replace(ns, name, &pp, obj, status).await?;
                Ok(with_warnings(
                    self.object_response(resource, code, &out, &request),
                    &warnings,
                ))
            }
            (&Method::PATCH, Some(name)) => {
                let apply = crate::media::media_type(&request.content_type)
                    == "application/apply-patch+yaml";
                // kube-apiserver refuses a patch type first (415), then its options (422), and
                // reads the body last (400).
                let patch = match patch_body(resource, &request) {
                    Err(e) if e.code() == 415 => return Err(e),
                    parsed => parsed,
                };
                let options = write_options(&request.query, WriteVerb::Patch { apply })?;
                let patch = match patch {
                    // A JSON patch that cannot be carried out is refused once the object is found.
                    Err(e) if e.code() == 422 => {
                        backend.get(ns, name).await?;
                        return Err(e);
                    }
                    parsed => parsed?,
                };
                if apply {
                    if let Some(refusal) = untyped_apply(target, name, &request.body) {
                        return Ok(refusal);
                    }
                }
                let mut warnings = match options.field_validation {
                    FieldValidation::Ignore => Vec::new(),
                    _ => patch_problems(resource, &request, &patch),
                };
                // An apply is decoded as YAML: under Strict a key given twice refuses it, as
                // kube-apiserver's strict YAML decoder does; under Warn it is a warning.
                let mut strict_refusal = None;
                if let (true, Some(repeated)) = (
                    apply && options.field_validation != FieldValidation::Ignore,
                    yaml_problems(&request),
                ) {
                    let error = format!("error converting YAML to JSON: {repeated}");
                    if options.field_validation == FieldValidation::Strict {
                        strict_refusal = Some(apistore::Error::bad_request(format!(
                            "error strict decoding YAML: {error}"
                        )));
                    } else {
                        warnings.push(error);
                    }
                }
                if let (PatchBody::Plain(Patch::Json(_)), None, false) = (
                    &patch,
                    resource.known_fields,
                    options.field_validation == FieldValidation::Ignore,
                ) {
                    warnings.extend(self.unknown_after_json_patch(target, name, &patch).await);
                }
                if options.field_validation == FieldValidation::Strict && !warnings.is_empty() {
                    self.refuse_patch(target, name, &patch, &warnings).await?;
                }
                if let Some(refusal) = self.type_refusal(target, name, &patch).await {
                    return Err(refusal);
                }
                // An apply names its manager itself; kube-apiserver does not default it.
                let field_manager = match &patch {
                    PatchBody::Plain(Patch::Apply(_)) => request.query.get("fieldManager").cloned(),
                    _ => request.field_manager(),
                };
                let pp = PatchParams {
                    dry_run: options.dry_run,
                    field_manager,
                    force: is_true(request.query.get("force")),
                };
                if let (Some(refusal), PatchBody::Plain(plain)) = (strict_refusal, &patch) {
                    // kube-apiserver decodes strictly once the apply has found no conflict: a
                    // conflicting apply is answered its 409 first. Tried without writing.
                    let trial = PatchParams {
                        dry_run: true,
                        ..pp.clone()
                    };
                    backend.patch(ns, name, &trial, plain, status).await?;
                    return Err(refusal);
                }
                // An apply of what is absent creates it: it is admitted and answered as a PUT
                // that creates is. The look-up comes first, so a write by another client between
                // it and the apply does not change the code.
                let applies = matches!(patch, PatchBody::Plain(Patch::Apply(_)));
                let effect = if applies && !status {
                    backend.put_effect(ns, name, true).await?
                } else {
                    PutEffect::Updates
                };
                self.admit_put(effect, ns).await?;
                let out = match patch {
                    PatchBody::Plain(patch) => backend.patch(ns, name, &pp, &patch, status).await?,
                    PatchBody::Strategic(doc) => {
                        self.strategic_patch(target, name, &pp, doc, status).await?
                    }
                };
                let code = put_code(effect);
                Ok(with_warnings(
                    self.object_response(resource, code, &out, &request),
                    &warnings,
                ))
            }
            (&Method::DELETE, Some(name)) => {
                let dp = delete_options(&request.query, &request.body)?;
                let is_namespace =
                    resource.ar.group.is_empty() && resource.ar.plural == "namespaces";
                if is_namespace {
                    return self.delete_namespace(name, &dp, &request).await;
                }
                let is_definition = resource.ar.group == crate::crd::GROUP
                    && resource.ar.plural == "customresourcedefinitions";
                match backend.delete(ns, name, &dp).await? {
                    // A definition is marked Terminating by its first delete; its objects are
                    // deleted next, and it goes once they are (see `crd_cleanup`).
                    Answer::Object(out) if is_definition => {
                        if !dp.dry_run {
                            self.settle_definition(name).await?;
                        }
                        Ok(self.object_response(resource, StatusCode::OK, &out, &request))
                    }
                    // Still there, waiting on its finalizers: the object, marked. Left for the
                    // garbage collector, it is collected now, while the client waits, as far
                    // as nothing else holds it up (a server used in-process has no collector
                    // running by itself).
                    Answer::Object(out) if out.metadata.finalizers.is_some() => {
                        if !dp.dry_run && crate::garbage_collector::awaits_collector(&out) {
                            self.collect_for(backend.as_ref(), ns, &out).await;
                        }
                        Ok(self.object_response(resource, StatusCode::OK, &out, &request))
                    }
                    Answer::Object(out) => Ok(errors::json(
                        StatusCode::OK,
                        &deleted_status(resource, &out),
                    )),
                    Answer::Status(status) => {
                        Ok(errors::json(status_code(&status, StatusCode::OK), &status))
                    }
                }
            }
            (&Method::DELETE, None) => {
                let dp = delete_options(&request.query, &request.body)?;
                let list = backend
                    .delete_collection(ns, &dp, &list_params(&request.query)?)
                    .await?;
                // As for one object: what waits for the collector is collected now.
                if !dp.dry_run {
                    if let Some(waiting) = list
                        .items
                        .iter()
                        .find(|o| crate::garbage_collector::awaits_collector(o))
                    {
                        self.collect_for(backend.as_ref(), ns, waiting).await;
                    }
                }
                Ok(self.list_response(resource, list, &request))
            }
            (method, _) => Ok(errors::method_not_allowed(method)),
        }
    }

    /// A custom resource's `scale` subresource (`kubectl scale`): an `autoscaling/v1` Scale read
    /// from the object's replicas paths; a write sets the desired replicas in the object,
    /// retried on a conflict unless the Scale names its own `resourceVersion`.
    async fn scale(
        &self,
        target: &Target<'_>,
        paths: &crate::resources::ScalePaths,
        request: &Req,
    ) -> apistore::Result<Response<Body>> {
        let backend = &target.resource.backend;
        let ns = target.namespace.as_deref();
        let name = target.name.as_deref().unwrap_or_default();
        let scale_of = |obj: &DynamicObject| {
            let mut scale = json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": obj.metadata.name, "namespace": obj.metadata.namespace,
                    "uid": obj.metadata.uid, "resourceVersion": obj.metadata.resource_version,
                    "creationTimestamp": obj.metadata.creation_timestamp},
                "spec": {"replicas": obj.data.pointer(&paths.spec_replicas).cloned().unwrap_or(json!(0))},
                "status": {"replicas": obj.data.pointer(&paths.status_replicas).cloned().unwrap_or(json!(0))}});
            if let Some(selector) = paths
                .label_selector
                .as_deref()
                .and_then(|p| obj.data.pointer(p))
            {
                scale["status"]["selector"] = selector.clone();
            }
            scale
        };
        if request.method == Method::GET {
            let obj = backend.get(ns, name).await?;
            return Ok(errors::json(StatusCode::OK, &scale_of(&obj)));
        }
        let media = crate::media::media_type(&request.content_type);
        let verb = match request.method {
            Method::PUT => WriteVerb::Update,
            _ => WriteVerb::Patch {
                apply: media == "application/apply-patch+yaml",
            },
        };
        let options = write_options(&request.query, verb)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|e| {
            apistore::Error::bad_request(format!("the Scale could not be decoded: {e}"))
        })?;
        let mut last = None;
        for _ in 0..5 {
            let obj = backend.get(ns, name).await?;
            let mut wanted = scale_of(&obj);
            match (&request.method, media.as_str()) {
                (&Method::PUT, _) => wanted = body.clone(),
                (_, "application/merge-patch+json") => json_patch::merge(&mut wanted, &body),
                (_, "application/json-patch+json") => {
                    let ops: json_patch::Patch = serde_json::from_value(body.clone())
                        .map_err(|e| apistore::Error::bad_request(e.to_string()))?;
                    Patch::apply_json(&mut wanted, &ops)
                        .map_err(|e| apistore::Error::bad_request(e.to_string()))?;
                }
                _ => return Err(unsupported(target.resource)),
            }
            let Some(replicas) = wanted.pointer("/spec/replicas").and_then(Value::as_i64) else {
                return Err(apistore::Error::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    vec![apistore::StatusCause::new(
                        "FieldValueRequired",
                        "spec.replicas",
                        "Required value".into(),
                    )],
                ));
            };
            let pinned = wanted
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .filter(|rv| !rv.is_empty())
                .map(str::to_string);
            let mut next = obj.clone();
            set_pointer(&mut next.data, &paths.spec_replicas, json!(replicas));
            next.metadata.resource_version =
                pinned.clone().or(obj.metadata.resource_version.clone());
            let pp = PostParams {
                dry_run: options.dry_run,
                field_manager: request.field_manager(),
            };
            match backend.replace(ns, name, &pp, next, false).await {
                Ok(written) => return Ok(errors::json(StatusCode::OK, &scale_of(&written))),
                Err(e) if e.is_conflict() && pinned.is_none() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| apistore::Error::internal("the scale kept conflicting")))
    }

    /// The object `name` as JSON with `patch` applied to it, without writing anything; `None`
    /// when it cannot be read or the patch does not apply (the patch then fails on its own).
    async fn patched_document(
        &self,
        target: &Target<'_>,
        name: &str,
        patch: &PatchBody,
    ) -> Option<Value> {
        let resource = target.resource;
        let current = resource
            .backend
            .get(target.namespace.as_deref(), name)
            .await
            .ok()?;
        let mut doc = serde_json::to_value(&current).ok()?;
        let applied = match patch {
            PatchBody::Plain(Patch::Merge(merge)) => {
                json_patch::merge(&mut doc, merge);
                true
            }
            PatchBody::Plain(Patch::Json(ops)) => Patch::apply_json(&mut doc, ops).is_ok(),
            PatchBody::Strategic(strategic) => crate::smp::apply(
                &mut doc,
                strategic,
                resource.merge_keys.as_deref().unwrap_or(&[]),
            )
            .is_ok(),
            PatchBody::Plain(Patch::Apply(_)) => false,
        };
        applied.then_some(doc)
    }

    /// The unknown fields a JSON patch writes into an object of a kind not known by its schema
    /// (an image kind, a custom resource): found in the patched object, as kube-apiserver's
    /// strict decode of it finds them.
    async fn unknown_after_json_patch(
        &self,
        target: &Target<'_>,
        name: &str,
        patch: &PatchBody,
    ) -> Vec<String> {
        match self.patched_document(target, name, patch).await {
            Some(doc) => {
                let patched = doc.to_string();
                crate::strict::problems(target.resource, patched.as_bytes(), Form::Object)
            }
            None => Vec::new(),
        }
    }

    /// kube-apiserver's 422 for a patch of a compiled-in kind whose result has a value of the
    /// wrong type (`go_decode.rs`). A merge or strategic patch writes such a value only if it
    /// holds one, so the object is read only then; a JSON patch is applied to find out.
    async fn type_refusal(
        &self,
        target: &Target<'_>,
        name: &str,
        patch: &PatchBody,
    ) -> Option<apistore::Error> {
        let ar = &target.resource.ar;
        match patch {
            PatchBody::Strategic(body) => {
                crate::go_decode::strategic_patch_refusal(&ar.group, &ar.kind, body)
            }
            PatchBody::Plain(Patch::Merge(body)) => {
                crate::go_decode::merged_patch_refusal(&ar.group, &ar.kind, body)?;
                let doc = self.patched_document(target, name, patch).await?;
                crate::go_decode::merged_patch_refusal(&ar.group, &ar.kind, &doc)
            }
            PatchBody::Plain(Patch::Json(_)) => {
                crate::schemas::of_built_in(&ar.group, &ar.kind)?;
                let doc = self.patched_document(target, name, patch).await?;
                crate::go_decode::merged_patch_refusal(&ar.group, &ar.kind, &doc)
            }
            PatchBody::Plain(_) => None,
        }
    }

    /// kube-apiserver's refusal of a patch under `fieldValidation=Strict` that writes unknown
    /// or duplicate fields: a 422 naming the patched object and them. When the object cannot
    /// be read or the patch not applied, the patch goes on to fail with that error, as it
    /// does upstream.
    async fn refuse_patch(
        &self,
        target: &Target<'_>,
        name: &str,
        patch: &PatchBody,
        problems: &[String],
    ) -> apistore::Result<()> {
        match self.patched_document(target, name, patch).await {
            Some(doc) => Err(crate::strict::patch_refused(&doc.to_string(), problems)),
            None => Ok(()),
        }
    }

    /// A strategic merge patch: applied to the object as it is now, with the kind's merge keys,
    /// and written as a replace that requires the revision it was applied to (retried on a
    /// conflict, as kube-apiserver retries a patch).
    async fn strategic_patch(
        &self,
        target: &Target<'_>,
        name: &str,
        pp: &PatchParams,
        doc: Value,
        status: bool,
    ) -> apistore::Result<DynamicObject> {
        let resource = target.resource;
        let ns = target.namespace.as_deref();
        let keys = resource.merge_keys.as_deref().unwrap_or(&[]);
        let mut last = None;
        for _ in 0..5 {
            let current = resource.backend.get(ns, name).await?;
            let revision = current.metadata.resource_version.clone();
            let mut value = serde_json::to_value(&current)
                .map_err(|e| apistore::Error::internal(e.to_string()))?;
            crate::smp::apply(&mut value, &doc, keys)?;
            let mut patched: DynamicObject = serde_json::from_value(value).map_err(|e| {
                apistore::Error::bad_request(format!(
                    "the strategic merge patch does not give a {}: {e}",
                    resource.ar.kind
                ))
            })?;
            // A patch that sets no resourceVersion applies to the object it was read from.
            if patched.metadata.resource_version.is_none()
                || doc.pointer("/metadata/resourceVersion").is_none()
            {
                patched.metadata.resource_version = revision;
            }
            let post = PostParams {
                dry_run: pp.dry_run,
                field_manager: pp.field_manager.clone(),
            };
            match resource
                .backend
                .replace(ns, name, &post, patched, status)
                .await
            {
                Err(e) if e.is_conflict() && doc.pointer("/metadata/resourceVersion").is_none() => {
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| apistore::Error::internal("the patch kept conflicting")))
    }

    /// NamespaceLifecycle admission: a namespaced object is created only in a namespace that
    /// exists and is not being deleted.
    async fn check_namespace_accepts(&self, namespace: &str) -> apistore::Result<()> {
        // A read answers from memory without waiting on a commit, and `read` looks at the
        // stored namespace without copying it: this runs before every namespaced create.
        let terminating = self
            .namespace_api()
            .read(namespace, |ns| ns.metadata.deletion_timestamp.is_some());
        match terminating {
            Err(e) if e.is_not_found() => {
                Err(apistore::Error::not_found("", "namespaces", namespace))
            }
            Err(e) => Err(e),
            Ok(true) => {
                Err(apistore::Error::Forbidden {
                    message: format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    ),
                    details: Box::default(),
                })
            }
            Ok(false) => Ok(()),
        }
    }

    /// NamespaceLifecycle admission of a PUT or apply by what it will do: a create needs a
    /// namespace that exists and is not terminating; a tag that makes its image stream is the
    /// update of a stream made up on the spot, which only a missing namespace refuses.
    async fn admit_put(&self, effect: PutEffect, namespace: Option<&str>) -> apistore::Result<()> {
        match (effect, namespace) {
            (PutEffect::Creates, Some(ns)) => self.check_namespace_accepts(ns).await,
            (PutEffect::Adds { new_stream: true }, Some(ns)) => {
                self.check_namespace_exists(ns).await
            }
            _ => Ok(()),
        }
    }

    /// NamespaceLifecycle admission of a write other than a create: the namespace must exist.
    async fn check_namespace_exists(&self, namespace: &str) -> apistore::Result<()> {
        match self.namespace_api().read(namespace, |_| ()) {
            Err(e) if e.is_not_found() => {
                Err(apistore::Error::not_found("", "namespaces", namespace))
            }
            other => other,
        }
    }

    /// Deletes a namespace: its `kubernetes` finalizer holds it, `Terminating`, while what is
    /// in it is deleted; it goes once nothing is left (see `namespace_lifecycle`).
    async fn delete_namespace(
        &self,
        name: &str,
        dp: &DeleteParams,
        request: &Req,
    ) -> apistore::Result<Response<Body>> {
        if SYSTEM_NAMESPACES[..3].contains(&name) {
            return Err(apistore::Error::Forbidden {
                message: format!(
                    "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
                ),
                details: Box::default(),
            });
        }
        // kube-apiserver answers with the namespace as marked; its controller empties it after.
        let out = self.namespace_api().into_async().delete(name, dp).await?;
        if !dp.dry_run {
            self.settle_namespace(name).await?;
        }
        Ok(self.object_response(self.namespaces(), StatusCode::OK, &out, request))
    }

    async fn watch(&self, target: &Target<'_>, request: &Req) -> apistore::Result<Response<Body>> {
        // YAML has no stream form: kube-apiserver refuses a watch negotiated to it (it does
        // not go on to the next clause), in a Status written in YAML.
        if request
            .form
            .is_some_and(|form| form.format == crate::negotiate::Format::Yaml)
        {
            return Ok(errors::failure(
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json;stream=watch, \
                 application/vnd.kubernetes.protobuf;stream=watch",
            ));
        }
        let q = &request.query;
        let mut wp = WatchParams {
            label_selector: q.get("labelSelector").filter(|s| !s.is_empty()).cloned(),
            field_selector: q.get("fieldSelector").filter(|s| !s.is_empty()).cloned(),
            bookmarks: is_true(q.get("allowWatchBookmarks")),
            ..WatchParams::default()
        };
        if let Some(seconds) = q.get("timeoutSeconds").filter(|s| !s.is_empty()) {
            wp.timeout = Some(seconds.parse().map_err(|_| {
                apistore::Error::bad_request(format!("invalid timeoutSeconds: {seconds:?}"))
            })?);
        }
        if let Some(send) = q.get("sendInitialEvents").filter(|s| !s.is_empty()) {
            wp.send_initial_events = Some(is_true(Some(send)));
        }
        wp.version_match = version_match(q.get("resourceVersionMatch"), true)?;
        let version = q.get("resourceVersion").cloned().unwrap_or_default();
        let events = target
            .resource
            .backend
            .watch(target.namespace.as_deref(), &wp, &version)
            .await?;
        let form = match response_shape(request)? {
            Shape::Table(include) => watch::Form::Table {
                columns: target.resource.columns.clone(),
                include,
                headers: true,
            },
            Shape::Metadata(api_version) => watch::Form::Metadata(api_version),
            Shape::Objects => watch::Form::Objects,
        };
        let labels = MetricLabels::of(request, target);
        let guard = self.metrics.watch_started(&labels.request(
            "WATCH",
            &target.resource.ar.group,
            &target.resource.ar.version,
        ));
        let mut response = Response::new(BodyExt::boxed(WatchBody::new(
            events,
            form,
            self.encoded.clone(),
            guard,
            self.draining.clone(),
        )));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }

    fn list_response<T: Borrow<DynamicObject>>(
        &self,
        resource: &ServedResource,
        list: ObjectList<T>,
        request: &Req,
    ) -> Response<Body> {
        match response_shape(request) {
            Ok(Shape::Table(include)) => errors::json(
                StatusCode::OK,
                &table(
                    &resource.columns,
                    &list.items,
                    json!(list.metadata),
                    include,
                    true,
                ),
            ),
            Ok(Shape::Metadata(api_version)) => errors::json(
                StatusCode::OK,
                &json!({"kind": "PartialObjectMetadataList", "apiVersion": api_version,
                    "metadata": list.metadata,
                    "items": list.items.iter()
                        .map(|obj| partial_object_metadata(obj.borrow(), api_version))
                        .collect::<Vec<_>>()}),
            ),
            // Encoded straight from the items: no JSON tree of the page is built first.
            Ok(Shape::Objects) => errors::json(
                StatusCode::OK,
                &ListBody {
                    kind: format!("{}List", resource.ar.kind),
                    api_version: &resource.ar.api_version,
                    metadata: &list.metadata,
                    items: Items(&list.items),
                },
            ),
            Err(e) => errors::error(&e),
        }
    }

    fn object_response(
        &self,
        resource: &ServedResource,
        code: StatusCode,
        obj: &DynamicObject,
        request: &Req,
    ) -> Response<Body> {
        match response_shape(request) {
            Ok(Shape::Table(include)) => errors::json(
                code,
                &table(
                    &resource.columns,
                    std::slice::from_ref(obj),
                    json!({"resourceVersion": obj.metadata.resource_version}),
                    include,
                    true,
                ),
            ),
            Ok(Shape::Metadata(api_version)) => {
                errors::json(code, &partial_object_metadata(obj, api_version))
            }
            Ok(Shape::Objects) => errors::json(code, obj),
            Err(e) => errors::error(&e),
        }
    }

    /// The object of a create or replace body, checked against the path.
    fn body_object(
        &self,
        target: &Target<'_>,
        request: &Req,
        name: Option<&str>,
        validation: FieldValidation,
    ) -> apistore::Result<DynamicObject> {
        let ar = &target.resource.ar;
        if validation == FieldValidation::Strict {
            if let Err(strict) =
                crate::strict::check(target.resource, &request.body, &yaml_problems(request))
            {
                // Go's strict decoder reports unknown fields only when the body decodes: a
                // value of the wrong type is the error it answers.
                if let Ok(value @ Value::Object(_)) = serde_json::from_slice(&request.body) {
                    if let Some(why) = go_type_error(target, &value) {
                        return Err(type_refused(target, &value, &why));
                    }
                }
                return Err(strict);
            }
        }
        // Without Strict a field given twice takes its last value, as kube-apiserver's decoder
        // does; the generic decode is tried only when the direct one refuses.
        // A compiled-in kind's nulls are read as its Go decoder reads them.
        let settled = crate::schemas::of_built_in(&ar.group, &ar.kind)
            .filter(|_| memchr::memmem::find(&request.body, b"null").is_some())
            .and_then(|schema| {
                let mut value: Value = serde_json::from_slice(&request.body).ok()?;
                crate::go_decode::settle_nulls(schema, &mut value);
                Some(value)
            });
        let direct = match &settled {
            Some(value) => <DynamicObject as serde::Deserialize>::deserialize(value),
            None => serde_json::from_slice(&request.body),
        };
        let obj: DynamicObject = match direct {
            Ok(obj) => obj,
            Err(e) => match serde_json::from_slice::<Value>(&request.body) {
                Ok(value @ Value::Object(_)) => {
                    match <DynamicObject as serde::Deserialize>::deserialize(&value) {
                        Ok(obj) => obj,
                        Err(_) => {
                            let why =
                                go_type_error(target, &value).unwrap_or_else(|| e.to_string());
                            return Err(type_refused(target, &value, &why));
                        }
                    }
                }
                _ => {
                    return Err(apistore::Error::bad_request(
                        crate::go_decode::unrecognized(&ar.kind, &request.body, &e),
                    ))
                }
            },
        };
        if let Some(types) = &obj.types {
            if !types.kind.is_empty() && types.kind != ar.kind {
                return Err(apistore::Error::bad_request(format!(
                    "the kind of the object ({}) does not match the kind of the resource ({})",
                    types.kind, ar.kind
                )));
            }
            if !types.api_version.is_empty() && types.api_version != ar.api_version {
                return Err(apistore::Error::bad_request(format!(
                    "the API version in the data ({}) does not match the expected API version ({})",
                    types.api_version, ar.api_version
                )));
            }
        }
        if let (Some(name), Some(body_name)) = (name, obj.metadata.name.as_deref()) {
            if !body_name.is_empty() && body_name != name {
                return Err(apistore::Error::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
        }
        Ok(obj)
    }
}

/// Go's words for the first value of a create or replace body its type refuses; `None` when
/// there is none the schema can name.
fn go_type_error(target: &Target<'_>, body: &Value) -> Option<String> {
    let ar = &target.resource.ar;
    match crate::schemas::of_built_in(&ar.group, &ar.kind) {
        Some(schema) => crate::go_decode::type_error(schema, body),
        // A custom resource's body is decoded as unstructured JSON and its `metadata` alone
        // into ObjectMeta, so the path starts inside `metadata`.
        None => body.get("metadata").and_then(|meta| {
            crate::go_decode::type_error(crate::schemas::object_meta_only(), meta)
        }),
    }
}

/// kube-apiserver's 400 for a create or replace body whose values its Go type refuses (a
/// number for a label, a string for `metadata`), `why`: named by the kind and version the body
/// gives.
fn type_refused(target: &Target<'_>, body: &Value, why: &str) -> apistore::Error {
    let ar = &target.resource.ar;
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let kind = text("kind").unwrap_or(&ar.kind);
    let version = text("apiVersion")
        .map(|v| v.rsplit('/').next().unwrap_or(v))
        .unwrap_or(&ar.version);
    apistore::Error::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {}: {why}",
        ar.kind
    ))
}

/// A list answer, encoded field by field from borrowed parts.
#[derive(serde::Serialize)]
#[serde(bound = "")]
struct ListBody<'a, T: Borrow<DynamicObject>> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    metadata: &'a apistore::ListMeta,
    items: Items<'a, T>,
}

/// Objects, owned or shared, encoded as a JSON array.
struct Items<'a, T>(&'a [T]);

impl<T: Borrow<DynamicObject>> serde::Serialize for Items<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Borrow::borrow))
    }
}

/// A request as the handlers see it.
struct Req {
    method: Method,
    /// A resource or discovery request's negotiated answer form (`None` otherwise, or when
    /// nothing the client accepts can be written).
    form: Option<crate::negotiate::Negotiated>,
    /// The `apidiscovery.k8s.io` version of the aggregated discovery document negotiated at
    /// `/api` or `/apis`; `None` for the legacy one.
    aggregated: Option<&'static str>,
    query: HashMap<String, String>,
    /// The query as sent, for the endpoints that read a parameter given more than once.
    raw_query: String,
    accept: String,
    content_type: String,
    /// The client's `User-Agent`, which names the field manager of a write that names none.
    user_agent: String,
    /// `If-None-Match`: the entity tags of the copy of an OpenAPI document the client holds.
    if_none_match: Option<String>,
    body: Bytes,
    /// The keys a YAML body (or an apply's body) gives twice, as `media::repeated_keys` words
    /// them; the body has their last values.
    repeated_keys: Vec<String>,
}

impl Req {
    /// The field manager of a write: `fieldManager`, else the `User-Agent` up to its first `/`
    /// (kube-apiserver's default; `kubectl` always names one).
    fn field_manager(&self) -> Option<String> {
        if let Some(manager) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return Some(manager.clone());
        }
        let prefix = self.user_agent.split('/').next().unwrap_or("").trim();
        (!prefix.is_empty()).then(|| prefix.chars().take(128).collect())
    }
}

/// A resource path: the kind, the namespace and name it names, and its subresource.
struct Target<'t> {
    resource: &'t ServedResource,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

/// The verb of a request as discovery and RBAC name it (`get`, `list`, `deletecollection`).
fn kube_verb(request: &Req, target: &Target<'_>) -> &'static str {
    match (&request.method, target.name.is_some()) {
        (&Method::GET, false) if is_true(request.query.get("watch")) => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "",
    }
}

/// What kube-apiserver's generic store answers for an object it deleted at once: `Success`,
/// naming the object by its resource (`"kind": "configmaps"`, as upstream) and uid, which
/// `kubectl delete --wait` watches for.
fn deleted_status(resource: &ServedResource, obj: &DynamicObject) -> apistore::Status {
    apistore::Status {
        metadata: Some(apistore::ListMeta::default()),
        status: Some("Success".into()),
        details: Some(apistore::StatusDetails {
            name: obj.metadata.name.clone(),
            group: Some(resource.ar.group.clone()).filter(|g| !g.is_empty()),
            kind: Some(resource.ar.plural.clone()),
            uid: obj.metadata.uid.clone(),
            ..apistore::StatusDetails::default()
        }),
        ..apistore::Status::default()
    }
}

/// The HTTP code a `Status` answer carries (`fallback` when it carries none).
fn status_code(status: &apistore::Status, fallback: StatusCode) -> StatusCode {
    status
        .code
        .and_then(|c| u16::try_from(c).ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(fallback)
}

/// kube-apiserver's name of a request's verb in its metrics.
/// The labels of a resource request's metrics beside its verb, group and version.
struct MetricLabels {
    resource: String,
    subresource: String,
    scope: &'static str,
    dry_run: String,
}

impl MetricLabels {
    fn of(request: &Req, target: &Target<'_>) -> MetricLabels {
        let scope = if target.name.is_some() {
            "resource"
        } else if target.namespace.is_some() {
            "namespace"
        } else {
            "cluster"
        };
        MetricLabels {
            resource: target.resource.ar.plural.clone(),
            subresource: target.subresource.clone().unwrap_or_default(),
            scope,
            dry_run: request.query.get("dryRun").cloned().unwrap_or_default(),
        }
    }

    fn request<'a>(
        &'a self,
        verb: &'static str,
        group: &'a str,
        version: &'a str,
    ) -> metrics::Request<'a> {
        metrics::Request {
            verb,
            group,
            version,
            resource: &self.resource,
            subresource: &self.subresource,
            scope: self.scope,
            dry_run: &self.dry_run,
        }
    }
}

fn verb_of(request: &Req, target: &Target<'_>) -> &'static str {
    match (&request.method, target.name.is_some()) {
        (&Method::GET, _) if is_true(request.query.get("watch")) => "WATCH",
        (&Method::GET, false) => "LIST",
        (&Method::GET, true) => "GET",
        (&Method::POST, _) => "POST",
        (&Method::PUT, _) => "PUT",
        (&Method::PATCH, _)
            if crate::media::media_type(&request.content_type)
                == "application/apply-patch+yaml" =>
        {
            "APPLY"
        }
        (&Method::PATCH, _) => "PATCH",
        (&Method::DELETE, true) => "DELETE",
        (&Method::DELETE, false) => "DELETECOLLECTION",
        _ => "OTHER",
    }
}

fn is_namespace_subresource(segment: &str) -> bool {
    matches!(segment, "status" | "finalize")
}

/// The code of a PUT or apply: 201 when it made something.
fn put_code(effect: PutEffect) -> StatusCode {
    match effect {
        PutEffect::Updates => StatusCode::OK,
        PutEffect::Creates | PutEffect::Adds { .. } => StatusCode::CREATED,
    }
}

fn is_true(value: Option<&String>) -> bool {
    matches!(value.map(String::as_str), Some("true" | "1" | "True"))
}

/// The path's segments, percent-decoded; `None` for paths kube-apiserver would not route
/// (empty segments, `.` or `..`, an encoded `/`).
fn segments(path: &str) -> Option<Vec<String>> {
    let trimmed = path.strip_prefix('/')?;
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed
        .split('/')
        .map(|raw| {
            let decoded = percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .ok()?
                .into_owned();
            let bad =
                decoded.is_empty() || decoded == "." || decoded == ".." || decoded.contains('/');
            (!bad).then_some(decoded)
        })
        .collect()
}

/// The query's parameters (form encoding: `+` is a space), the last of each name kept.
fn parse_query(query: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// Reads a body, refusing one over [`MAX_BODY_BYTES`] with 413.
async fn read_body<B>(body: B) -> Result<Bytes, Box<Response<Body>>>
where
    B: http_body::Body + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Box::new(errors::failure(
                413,
                "RequestEntityTooLarge",
                "the request body is too large: the limit is 3145728 bytes",
            )))
        }
        Err(e) => Err(Box::new(errors::failure(
            400,
            "BadRequest",
            &format!("reading the request body: {e}"),
        ))),
    }
}

/// `resourceVersionMatch` of a list (`watch` false) or a watch; an unknown value is
/// apimachinery's 422 on ListOptions, naming the values the verb takes.
fn version_match(value: Option<&String>, watch: bool) -> apistore::Result<VersionMatch> {
    match value.map(String::as_str) {
        None | Some("") => Ok(VersionMatch::Unset),
        Some("Exact") => Ok(VersionMatch::Exact),
        Some("NotOlderThan") => Ok(VersionMatch::NotOlderThan),
        Some(other) => {
            let supported = if watch {
                "\"NotOlderThan\""
            } else {
                "\"Exact\", \"NotOlderThan\", \"\""
            };
            Err(invalid_list_options(apistore::StatusCause::new(
                "FieldValueNotSupported",
                "resourceVersionMatch",
                format!("Unsupported value: {other:?}: supported values: {supported}"),
            )))
        }
    }
}

fn invalid_list_options(cause: apistore::StatusCause) -> apistore::Error {
    apistore::Error::invalid("meta.k8s.io", "ListOptions", "", vec![cause])
}

fn list_params(q: &HashMap<String, String>) -> apistore::Result<ListParams> {
    if q.get("sendInitialEvents").is_some_and(|v| !v.is_empty()) {
        return Err(invalid_list_options(apistore::StatusCause::forbidden(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        )));
    }
    let limit = match q.get("limit").filter(|s| !s.is_empty()) {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| apistore::Error::bad_request(format!("invalid limit: {text:?}")))?,
        ),
        None => None,
    };
    Ok(ListParams {
        label_selector: q.get("labelSelector").filter(|s| !s.is_empty()).cloned(),
        field_selector: q.get("fieldSelector").filter(|s| !s.is_empty()).cloned(),
        // A negative or zero limit means no limit, as in kube-apiserver.
        limit: limit
            .filter(|l| *l > 0)
            .map(|l| u32::try_from(l).unwrap_or(u32::MAX)),
        continue_token: q.get("continue").filter(|s| !s.is_empty()).cloned(),
        resource_version: q.get("resourceVersion").filter(|s| !s.is_empty()).cloned(),
        version_match: version_match(q.get("resourceVersionMatch"), false)?,
    })
}

/// `Some(include)` when the Accept header asks for a Table.
/// How the Accept header asks for objects.
enum Shape {
    /// As they are.
    Objects,
    /// As Table rows carrying this much of their objects.
    Table(IncludeObject),
    /// As `PartialObjectMetadata` of this API version (`as=PartialObjectMetadata` or
    /// `…List`, which kube-rs's `*_metadata` verbs and client-go's metadata informers ask for).
    Metadata(&'static str),
}

/// The shape the negotiated Accept clause asks for (`Req::form`).
fn response_shape(request: &Req) -> apistore::Result<Shape> {
    use crate::negotiate::Conversion;
    match request.form.and_then(|form| form.conversion) {
        Some((Conversion::Table, _)) => {
            IncludeObject::parse(request.query.get("includeObject").map(String::as_str))
                .map(Shape::Table)
                .ok_or_else(|| {
                    apistore::Error::bad_request(
                        "includeObject must be one of None, Metadata or Object",
                    )
                })
        }
        Some((Conversion::Metadata | Conversion::MetadataList, api_version)) => {
            Ok(Shape::Metadata(api_version))
        }
        None => Ok(Shape::Objects),
    }
}

/// kube-apiserver's 406 for metadata asked for in the wrong number: `PartialObjectMetadata`
/// of a list, or `PartialObjectMetadataList` of one object (`custom`: a kind a
/// CustomResourceDefinition serves).
fn metadata_of_the_wrong_number(
    request: &Req,
    resource: &ServedResource,
    custom: bool,
    list: bool,
) -> Option<Response<Body>> {
    use crate::negotiate::Conversion;
    let asked = request.form.and_then(|form| form.conversion)?.0;
    let (name, of) = match (asked, list) {
        (Conversion::Metadata, true) => ("PartialObjectMetadata", "is a list"),
        (Conversion::MetadataList, false) => ("PartialObjectMetadataList", "is not a list"),
        _ => return None,
    };
    Some(errors::failure(
        406,
        "NotAcceptable",
        &format!(
            "you requested {name}, but the requested object {of} ({})",
            go_type_name(resource, custom, list)
        ),
    ))
}

/// The Go type kube-apiserver holds an object (or list) of `resource` in when it answers, as
/// `%T` prints it: the internal type of a built-in kind, the unstructured one of a custom kind.
fn go_type_name(resource: &ServedResource, custom: bool, list: bool) -> String {
    let list_suffix = if list { "List" } else { "" };
    if custom {
        return format!("*unstructured.Unstructured{list_suffix}");
    }
    let package = match resource.ar.group.as_str() {
        "" => "core",
        group => group.split('.').next().unwrap_or(group),
    };
    format!("*{package}.{}{list_suffix}", resource.ar.kind)
}

/// Whether `segs` name a resource (or its objects or subresources) rather than a discovery
/// document: `/api/{version}/…` and `/apis/{group}/{version}/…`.
fn is_resource_path(segs: &[&str]) -> bool {
    matches!(segs, ["api", _, _, ..] | ["apis", _, _, _, ..])
}

/// `/api`, `/apis`, a group or a group version: the discovery documents.
fn is_discovery_path(segs: &[&str]) -> bool {
    matches!(
        segs,
        ["api"] | ["apis"] | ["api", _] | ["apis", _] | ["apis", _, _]
    )
}

/// What a PATCH body asks for.
enum PatchBody {
    /// A merge or JSON patch, which the store applies.
    Plain(Patch),
    /// A strategic merge patch, applied here with the kind's merge keys.
    Strategic(Value),
}

/// A JSON patch operation that needs a `value` and has none gets `null`, as evanphx/json-patch
/// reads it.
fn with_null_value(mut op: Value) -> Value {
    if let Some(fields) = op.as_object_mut() {
        let needs_value = matches!(
            fields.get("op").and_then(Value::as_str),
            Some("add" | "replace" | "test")
        );
        if needs_value && !fields.contains_key("value") {
            fields.insert("value".into(), Value::Null);
        }
    }
    op
}

/// JSON patches longer than this are refused (413), as kube-apiserver refuses them.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The patch a PATCH body carries, by its Content-Type. A body that is not JSON of the patch's
/// shape is refused in the words of kube-apiserver's Go decoders.
fn patch_body(resource: &ServedResource, request: &Req) -> apistore::Result<PatchBody> {
    let media = crate::media::media_type(&request.content_type);
    // Go's words for a body that does not decode into `go_type`.
    let go_words = |e: &serde_json::Error, go_type: &str| -> String {
        if let Some(syntax) = crate::go_decode::syntax_error(&request.body) {
            return syntax;
        }
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(value) => format!(
                "json: cannot unmarshal {} into Go value of type {go_type}",
                crate::go_decode::json_kind(&value)
            ),
            Err(_) => e.to_string(),
        }
    };
    let object = |e: &serde_json::Error| go_words(e, "map[string]interface {}");
    match media.as_str() {
        "application/merge-patch+json" => match serde_json::from_slice::<Value>(&request.body) {
            Ok(merge @ Value::Object(_)) => Ok(PatchBody::Plain(Patch::Merge(merge))),
            // Unless told to ignore fields, kube-apiserver decodes the patch first (to find
            // unknown ones); else the merge itself refuses it.
            outcome => {
                let ignore =
                    request.query.get("fieldValidation").map(String::as_str) == Some("Ignore");
                Err(apistore::Error::bad_request(match outcome {
                    _ if ignore => "Invalid JSON Patch".to_string(),
                    Err(e) => format!("error decoding patch: {}", object(&e)),
                    Ok(other) => format!(
                        "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        crate::go_decode::json_kind(&other)
                    ),
                }))
            }
        },
        "application/json-patch+json" => {
            let ops: Vec<Value> = serde_json::from_slice(&request.body)
                .map_err(|e| apistore::Error::bad_request(go_words(&e, "jsonpatch.Patch")))?;
            if let Some(other) = ops.iter().find(|op| !op.is_object()) {
                return Err(apistore::Error::bad_request(format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                    crate::go_decode::json_kind(other)
                )));
            }
            if ops.len() > MAX_JSON_PATCH_OPERATIONS {
                return Err(apistore::Error::TooLarge {
                    message: format!(
                        "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                        ops.len()
                    ),
                });
            }
            // kube-apiserver's JSON patch (evanphx/json-patch) reads a missing `value` as null,
            // and finds an operation it cannot carry out (no `op`, an unknown one, no `path`)
            // only when applying it: the bare 422 of any patch that does not apply.
            let mut ops: Vec<Value> = ops.into_iter().map(with_null_value).collect();
            if let Some(schema) = crate::schemas::of_built_in(&resource.ar.group, &resource.ar.kind)
            {
                crate::go_decode::settle_patch_nulls(schema, &mut ops);
            }
            match serde_json::from_value(Value::Array(ops)) {
                Ok(ops) => Ok(PatchBody::Plain(Patch::Json(ops))),
                Err(_) => Err(apistore::Error::json_patch_not_applied()),
            }
        }
        "application/strategic-merge-patch+json" if resource.merge_keys.is_some() => {
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(patch @ Value::Object(_)) => Ok(PatchBody::Strategic(patch)),
                Ok(other) => Err(apistore::Error::bad_request(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    crate::go_decode::json_kind(&other)
                ))),
                Err(e) => Err(apistore::Error::bad_request(object(&e))),
            }
        }
        "application/strategic-merge-patch+json" => Err(unsupported(resource)),
        // Block-form YAML was turned into JSON before (`media`).
        "application/apply-patch+yaml" => Ok(PatchBody::Plain(Patch::Apply(
            serde_json::from_slice(&request.body).map_err(|e| {
                apistore::Error::bad_request(format!("the apply patch could not be decoded: {e}"))
            })?,
        ))),
        _ => Err(unsupported(resource)),
    }
}

/// Unless `fieldValidation=Ignore`, the unknown and duplicate fields of the body, which the
/// answer carries as warnings (kubectl prints them; the write goes ahead). `Strict` refuses
/// them before this is read.
fn field_warnings(
    resource: &ServedResource,
    request: &Req,
    validation: FieldValidation,
) -> Vec<String> {
    match validation {
        FieldValidation::Warn => {
            let mut problems = crate::strict::problems(resource, &request.body, Form::Object);
            problems.extend(yaml_problems(request));
            problems
        }
        FieldValidation::Ignore | FieldValidation::Strict => Vec::new(),
    }
}

/// The strict decoding error of the keys a YAML body gives twice (none for JSON bodies, whose
/// repeated fields the JSON scan names).
fn yaml_problems(request: &Req) -> Option<String> {
    (!request.repeated_keys.is_empty())
        .then(|| crate::media::repeated_keys_error(&request.repeated_keys))
}

/// kube-apiserver's answer to a server-side apply naming a field its kind lacks, whatever
/// `fieldValidation` says: the apply configuration cannot be typed, a 500 with no reason
/// (`failed to create typed patch object (ns/name; group/version, Kind=K): .path: field not
/// declared in schema`). `None` when every field is known, or the kind says nothing of its
/// fields.
fn untyped_apply(target: &Target<'_>, name: &str, body: &[u8]) -> Option<Response<Body>> {
    let resource = target.resource;
    let unknown: Vec<String> = match (resource.known_fields, &resource.unknown_fields) {
        (Some(known), _) => crate::strict::scan(body, Some(known.root()), Form::Object)
            .into_iter()
            .filter_map(|problem| match problem {
                crate::strict::Problem::Unknown(path) => Some(path),
                crate::strict::Problem::Duplicate(_) => None,
            })
            .collect(),
        (None, Some(find)) => find(body),
        (None, None) => return None,
    };
    let undeclared: Vec<String> = unknown
        .iter()
        .map(|path| format!(".{path}: field not declared in schema"))
        .collect();
    let errors = match undeclared.as_slice() {
        [] => return None,
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    let ar = &resource.ar;
    let group_version = if ar.group.is_empty() {
        format!("/{}", ar.version)
    } else {
        format!("{}/{}", ar.group, ar.version)
    };
    Some(errors::json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &apistore::Status {
            status: Some("Failure".into()),
            message: Some(format!(
                "failed to create typed patch object ({}/{name}; {group_version}, Kind={}): {errors}",
                target.namespace.as_deref().unwrap_or(""),
                ar.kind
            )),
            reason: None,
            details: None,
            code: Some(500),
            metadata: Some(apistore::ListMeta::default()),
        },
    ))
}

/// kube-apiserver's warning for owner references naming one uid more than once (the store
/// keeps the first of each).
fn duplicate_owners_warning(obj: &DynamicObject) -> Option<String> {
    let owners = obj.metadata.owner_references.as_deref().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut duplicated: Vec<&str> = Vec::new();
    for owner in owners {
        if !seen.insert(owner.uid.as_str()) && !duplicated.contains(&owner.uid.as_str()) {
            duplicated.push(&owner.uid);
        }
    }
    (!duplicated.is_empty()).then(|| {
        format!(
            ".metadata.ownerReferences contains duplicate entries; API server dedups owner references in 1.20+, and may reject such requests as early as 1.24; please fix your requests; duplicate UID(s) observed: [{}]",
            duplicated.join(" ")
        )
    })
}

/// The unknown and duplicate fields a patch writes. A server-side apply is left to the
/// store, which reads it field by field.
fn patch_problems(resource: &ServedResource, request: &Req, patch: &PatchBody) -> Vec<String> {
    match patch {
        PatchBody::Plain(Patch::Apply(_)) => Vec::new(),
        PatchBody::Plain(Patch::Json(_)) => {
            crate::strict::json_patch_problems(resource, &request.body)
        }
        PatchBody::Plain(Patch::Merge(_)) | PatchBody::Strategic(_) => {
            crate::strict::problems(resource, &request.body, Form::Patch)
        }
    }
}

/// `response` with a `Warning: 299 - "…"` header per warning, as kube-apiserver sends them.
fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for warning in warnings {
        // A line break cannot be in a header: it becomes a space, as Go's server writes it.
        let quoted = warning
            .replace(['\n', '\r'], " ")
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        if let Ok(value) = http::HeaderValue::from_str(&format!("299 - \"{quoted}\"")) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

/// Sets the value at JSON pointer `pointer` of `target`, making the objects on the way.
fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let mut at = target;
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, segment) in segments.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = at else { return };
        if i + 1 == segments.len() {
            map.insert(segment.clone(), value);
            return;
        }
        at = map.entry(segment.clone()).or_insert(Value::Null);
    }
}

/// kube-apiserver's 415 for a patch type the kind does not take: the Content-Types it does.
fn unsupported(resource: &ServedResource) -> apistore::Error {
    let strategic = if resource.merge_keys.is_some() {
        "application/strategic-merge-patch+json, "
    } else {
        ""
    };
    apistore::Error::UnsupportedMediaType {
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, {strategic}application/apply-patch+yaml"
        ),
    }
}

impl<B> tower::Service<Request<B>> for Server
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let server = self.clone();
        Box::pin(async move { Ok(server.handle(request).await) })
    }
}
