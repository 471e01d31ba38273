//! Events expire a while after their last write, as kube-apiserver's `--event-ttl` (an hour by
//! default) makes etcd expire them: controllers write events all the time, and without expiry
//! they would fill the store.

use std::collections::HashMap;
use std::time::Duration;

use apistore::{ApiResource, DeleteParams, DynamicObject, ListParams, Preconditions, Store};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// kube-apiserver's default `--event-ttl`.
pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(3600);

/// How often expired events are looked for: a minute, or the TTL if shorter.
pub fn sweep_period(ttl: Duration) -> Duration {
    ttl.min(Duration::from_secs(60)).max(Duration::from_secs(1))
}

/// When `event` was last written: the latest of its creation and its field managers' times
/// (the store stamps the writer's entry on every write through the server).
fn last_written(event: &DynamicObject) -> Option<DateTime<Utc>> {
    let meta = serde_json::to_value(&event.metadata).ok()?;
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let created = meta.get("creationTimestamp").and_then(parse);
    let written = meta
        .get("managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("time").and_then(parse));
    created.into_iter().chain(written).max()
}

/// The expiry of events: their time to live, and when each was last seen to change (the
/// field managers' times miss a write that names no manager).
#[derive(Debug)]
pub struct EventExpiry {
    ttl: Duration,
    /// By uid: the resourceVersion last seen, and since when it is known to be unchanged.
    seen: parking_lot::Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl EventExpiry {
    /// Expiry after `ttl`; zero keeps events.
    pub fn new(ttl: Duration) -> EventExpiry {
        EventExpiry {
            ttl,
            seen: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Deletes the events of `events` last written `ttl` or more before `now`; answers how
    /// many went. An event first seen is dated by its metadata; one seen to change since the
    /// last sweep, by `now`. Each delete is conditional on the version read, so an event
    /// written meanwhile stays.
    ///
    /// # Errors
    /// A store error listing the events (a failed delete is left for the next sweep).
    pub async fn sweep(
        &self,
        store: &Store,
        events: &ApiResource,
        now: DateTime<Utc>,
    ) -> apistore::Result<usize> {
        let Ok(ttl) = chrono::Duration::from_std(self.ttl) else {
            return Ok(0);
        };
        if self.ttl.is_zero() {
            return Ok(0);
        }
        let all = store.all_with(events).into_async();
        let listed = all.list_shared(&ListParams::default()).await?;
        let mut due = Vec::new();
        {
            let mut seen = self.seen.lock();
            let mut next = HashMap::with_capacity(listed.items.len());
            for event in &listed.items {
                let (Some(uid), Some(version)) =
                    (&event.metadata.uid, &event.metadata.resource_version)
                else {
                    continue;
                };
                let since = match seen.remove(uid) {
                    Some((seen_version, since)) if seen_version == *version => since,
                    Some(_) => now,
                    None => last_written(event).unwrap_or(now),
                };
                if now - since >= ttl {
                    due.push(event.clone());
                }
                next.insert(uid.clone(), (version.clone(), since));
            }
            *seen = next;
        }
        let mut expired = 0;
        for event in due {
            let (Some(namespace), Some(name)) = (&event.metadata.namespace, &event.metadata.name)
            else {
                continue;
            };
            let dp = DeleteParams::default().preconditions(Preconditions {
                uid: None,
                resource_version: event.metadata.resource_version.clone(),
            });
            let api = store.namespaced_with(namespace, events).into_async();
            if api.delete(name, &dp).await.is_ok() {
                expired += 1;
            }
        }
        Ok(expired)
    }
}
