//! `/metrics`: Prometheus text, with kube-apiserver's request metrics and the store's own.

use std::sync::Arc;
use std::time::Duration;

use apistore::mvcc::CommitStats;
use apistore::Store;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The labels of a request count, kube-apiserver's.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    code: String,
    component: &'static str,
    dry_run: String,
    group: String,
    resource: String,
    scope: &'static str,
    subresource: String,
    verb: &'static str,
    version: String,
}

/// The labels of a request latency, kube-apiserver's.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    component: &'static str,
    dry_run: String,
    group: String,
    resource: String,
    scope: &'static str,
    subresource: String,
    verb: &'static str,
    version: String,
}

/// The labels of a long-running request (a watch), kube-apiserver's.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LongRunningLabels {
    component: &'static str,
    group: String,
    resource: String,
    scope: &'static str,
    subresource: String,
    verb: &'static str,
    version: String,
}

/// The `component` label of every request metric, as kube-apiserver's.
const COMPONENT: &str = "apiserver";

fn latency_histogram() -> Histogram {
    // kube-apiserver's buckets for apiserver_request_duration_seconds, from 5 ms to 60 s.
    Histogram::new([
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
        10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
    ])
}

/// A request, as the metrics name it.
pub struct Request<'a> {
    /// `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY`, `DELETE` or
    /// `DELETECOLLECTION`.
    pub verb: &'static str,
    /// The API group.
    pub group: &'a str,
    /// The API version.
    pub version: &'a str,
    /// The resource's plural.
    pub resource: &'a str,
    /// The subresource (`status`), or empty.
    pub subresource: &'a str,
    /// `resource` (one named object), `namespace` or `cluster` (a collection).
    pub scope: &'static str,
    /// `All` for a dry run, else empty.
    pub dry_run: &'a str,
}

impl Request<'_> {
    /// The request's labels and `code` as one string, each label prefixed by its length, so
    /// that no two label sets share a key whatever bytes a path carried.
    fn key(&self, code: u16) -> String {
        use std::fmt::Write;
        let parts = [
            self.verb,
            self.dry_run,
            self.group,
            self.version,
            self.resource,
            self.subresource,
            self.scope,
        ];
        let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 3).sum::<usize>() + 3);
        for part in parts {
            let _ = write!(key, "{}:{part}", part.len());
        }
        let _ = write!(key, "{code}");
        key
    }

    fn long_running(&self) -> LongRunningLabels {
        LongRunningLabels {
            component: COMPONENT,
            group: self.group.into(),
            resource: self.resource.into(),
            scope: self.scope,
            subresource: self.subresource.into(),
            verb: self.verb,
            version: self.version.into(),
        }
    }
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    watches: Family<LongRunningLabels, Gauge>,
    revision: Gauge,
    transactions: Counter,
    groups: Counter,
    log_syncs: Counter,
    write_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    /// The commit counts already added to the counters.
    seen: Mutex<CommitStats>,
    /// The request counter and latency histogram of each label set seen, under one short
    /// key: they share their values with the families, and a request finds them without
    /// building both label sets (a dozen strings) and hashing them.
    handles: parking_lot::RwLock<std::collections::HashMap<String, (Counter, Histogram)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let watches = Family::<LongRunningLabels, Gauge>::default();
        let revision = Gauge::default();
        let transactions = Counter::default();
        let groups = Counter::default();
        let log_syncs = Counter::default();
        let write_seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "apiserver_request",
            // kube-apiserver's own help texts (component-base prefixes the stability level).
            "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component",
            latency.clone(),
        );
        registry.register(
            "apiserver_longrunning_requests",
            "[STABLE] Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way",
            watches.clone(),
        );
        registry.register(
            "apistore_store_revision",
            "The store's current revision (resourceVersion)",
            revision.clone(),
        );
        registry.register(
            "apistore_commit_transactions",
            "Transactions committed",
            transactions.clone(),
        );
        registry.register(
            "apistore_commit_groups",
            "Commit groups written",
            groups.clone(),
        );
        registry.register(
            "apistore_log_syncs",
            "Syncs of the write-ahead log",
            log_syncs.clone(),
        );
        registry.register(
            "apistore_commit_write_seconds",
            "Time spent writing commit groups (log, sync, publish)",
            write_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            watches,
            revision,
            transactions,
            groups,
            log_syncs,
            write_seconds,
            seen: Mutex::new(CommitStats::default()),
            handles: parking_lot::RwLock::default(),
        }
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, request: &Request<'_>, code: u16, elapsed: Duration) {
        let key = request.key(code);
        let seconds = elapsed.as_secs_f64();
        if let Some((count, latency)) = self.handles.read().get(&key) {
            count.inc();
            latency.observe(seconds);
            return;
        }
        let count = self
            .requests
            .get_or_create(&RequestLabels {
                code: code.to_string(),
                component: COMPONENT,
                dry_run: request.dry_run.into(),
                group: request.group.into(),
                resource: request.resource.into(),
                scope: request.scope,
                subresource: request.subresource.into(),
                verb: request.verb,
                version: request.version.into(),
            })
            .clone();
        let latency = self
            .latency
            .get_or_create(&LatencyLabels {
                component: COMPONENT,
                dry_run: request.dry_run.into(),
                group: request.group.into(),
                resource: request.resource.into(),
                scope: request.scope,
                subresource: request.subresource.into(),
                verb: request.verb,
                version: request.version.into(),
            })
            .clone();
        count.inc();
        latency.observe(seconds);
        self.handles.write().insert(key, (count, latency));
    }

    /// A watch being served; dropping the guard ends it.
    pub fn watch_started(self: &Arc<Self>, request: &Request<'_>) -> WatchGuard {
        let labels = request.long_running();
        self.watches.get_or_create(&labels).inc();
        WatchGuard {
            metrics: Arc::clone(self),
            labels,
        }
    }

    /// The exposition text, with the store's figures as of now: OpenMetrics when `openmetrics`,
    /// else the Prometheus text format (0.0.4) kube-apiserver answers by default.
    pub fn exposition(&self, store: &Store, openmetrics: bool) -> String {
        let text = self.render(store);
        if openmetrics {
            text
        } else {
            prometheus_text(&text)
        }
    }

    /// The OpenMetrics exposition text, with the store's figures as of now.
    pub fn render(&self, store: &Store) -> String {
        self.revision
            .set(i64::try_from(store.resource_version()).unwrap_or(i64::MAX));
        let now = store.commit_stats();
        {
            let mut seen = self.seen.lock();
            self.transactions
                .inc_by(now.transactions.saturating_sub(seen.transactions));
            self.groups.inc_by(now.groups.saturating_sub(seen.groups));
            self.log_syncs
                .inc_by(now.log_syncs.saturating_sub(seen.log_syncs));
            self.write_seconds
                .inc_by(now.write_nanos.saturating_sub(seen.write_nanos) as f64 / 1e9);
            *seen = now;
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// `openmetrics` (what the registry encodes) in the Prometheus text format 0.0.4: a counter's
/// `HELP` and `TYPE` name its samples (`x_total`, where OpenMetrics names the family `x`), and
/// OpenMetrics' `# UNIT` and `# EOF` lines go.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64);
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let family = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let name = rest.split(' ').next()?;
            (counters.contains(name) && !name.ends_with("_total"))
                .then(|| (*prefix, name, &rest[name.len()..]))
        });
        match family {
            Some((prefix, name, tail)) => {
                out.push_str(prefix);
                out.push_str(name);
                out.push_str("_total");
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Holds a watch in `apiserver_longrunning_requests` until dropped.
pub struct WatchGuard {
    metrics: Arc<Metrics>,
    labels: LongRunningLabels,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.metrics.watches.get_or_create(&self.labels).dec();
    }
}
