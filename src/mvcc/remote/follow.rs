//! Filling the index from etcd and keeping it current: the first consistent read, the watch
//! that follows, and what happens when the watch breaks.

use super::{call, KeyMap, Repeat, COMPACT_KEY};
use crate::mvcc::index::Version;
use crate::mvcc::{Inner, Mvcc, MvccError};
use etcd_client as etcd;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Keys read per page of a full read of the key space.
const PAGE: i64 = 10_000;
/// The longest pause between attempts to re-establish a broken watch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an idle follower checks that its store is still open.
const ALIVE_CHECK: Duration = Duration::from_secs(1);

/// The key space as etcd held it at one revision.
pub(super) struct Loaded {
    pub revision: u64,
    /// Each live key's version (local keys, in key order).
    pub versions: Vec<(Vec<u8>, Version)>,
    /// The revision `compact_rev_key` names, if it exists.
    pub compacted: u64,
}

/// Reads every key under the remote root at one revision, a page at a time.
pub(super) async fn load(
    client: &etcd::Client,
    keys: &KeyMap,
    timeout: Duration,
) -> Result<Loaded, MvccError> {
    let kv = client.kv_client();
    let end = keys.range_end();
    let mut start = keys.remote.clone();
    if start.is_empty() {
        start = vec![0];
    }
    let compact_key = keys.compact_key();
    let mut revision = 0i64;
    let mut versions = Vec::new();
    let mut compacted = 0;
    loop {
        let mut options = etcd::GetOptions::new()
            .with_range(end.clone())
            .with_limit(PAGE);
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let page = call(timeout, "reading the key space", Repeat::Read, || {
            let (mut kv, start, options) = (kv.clone(), start.clone(), options.clone());
            async move { kv.get(start, Some(options)).await }
        })
        .await?;
        if revision == 0 {
            revision = page.header().map_or(0, |h| h.revision());
        }
        for item in page.kvs() {
            if item.key() == compact_key.as_slice() {
                compacted = parse_revision(item.value());
                continue;
            }
            let Some(key) = keys.to_local(item.key()) else {
                continue;
            };
            versions.push((key, version_of(item, 0)));
        }
        match page.kvs().last() {
            Some(last) if page.more() => {
                start = [last.key(), &[0][..]].concat();
            }
            _ => break,
        }
    }
    Ok(Loaded {
        revision: u64::try_from(revision).unwrap_or(0).max(1),
        versions,
        compacted,
    })
}

fn parse_revision(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn version_of(kv: &etcd::KeyValue, sub: u32) -> Version {
    Version {
        revision: u64::try_from(kv.mod_revision()).unwrap_or(0),
        sub,
        create_revision: u64::try_from(kv.create_revision()).unwrap_or(0),
        version: u64::try_from(kv.version()).unwrap_or(0),
        value: Some(Arc::from(kv.value())),
    }
}

fn tombstone(revision: u64, sub: u32) -> Version {
    Version {
        revision,
        sub,
        create_revision: 0,
        version: 0,
        value: None,
    }
}

/// Why one watch ended.
enum Ended {
    /// The store was dropped.
    StoreGone,
    /// Etcd compacted past the revision the watch was to resume from.
    Compacted(u64),
    /// The connection or the watch failed; resume from the last applied revision.
    Broken,
}

/// The task that feeds the index from etcd's watch.
pub(super) struct Follower {
    pub store: Weak<Inner>,
    pub client: etcd::Client,
    pub keys: KeyMap,
    pub timeout: Duration,
    /// Every revision up to this one is in the index.
    pub position: u64,
    pub connected: Arc<AtomicBool>,
}

impl Follower {
    pub async fn run(mut self) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let ended = self.watch().await;
            self.connected.store(false, Ordering::SeqCst);
            match ended {
                Ended::StoreGone => return,
                Ended::Compacted(at) => match self.relist(at).await {
                    Ok(()) => backoff = Duration::from_millis(50),
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                },
                Ended::Broken => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if self.store.strong_count() == 0 {
                return;
            }
        }
    }

    fn mvcc(&self) -> Option<Mvcc> {
        self.store.upgrade().map(|inner| Mvcc { inner })
    }

    /// One watch from the revision after `position`, applied until it ends.
    async fn watch(&mut self) -> Ended {
        let options = etcd::WatchOptions::new()
            .with_range(self.keys.range_end())
            .with_start_revision(i64::try_from(self.position + 1).unwrap_or(i64::MAX));
        let mut start = self.keys.remote.clone();
        if start.is_empty() {
            start = vec![0];
        }
        let client = self
            .client
            .watch_client()
            .max_decoding_message_size(64 << 20);
        let mut stream = match call(self.timeout, "starting etcd's watch", Repeat::Read, || {
            let (mut client, start, options) = (client.clone(), start.clone(), options.clone());
            async move { client.watch(start, Some(options)).await }
        })
        .await
        {
            Ok(stream) => stream,
            Err(_) => return Ended::Broken,
        };
        // One timer for the whole watch: a sleep made for every message cost a timer
        // registration per event delivered.
        let mut alive_check = tokio::time::interval(ALIVE_CHECK);
        alive_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        alive_check.reset();
        loop {
            let message = tokio::select! {
                message = stream.message() => message,
                _ = alive_check.tick() => {
                    if self.store.strong_count() == 0 {
                        return Ended::StoreGone;
                    }
                    continue;
                }
            };
            let response = match message {
                Ok(Some(response)) => response,
                Ok(None) => return Ended::Broken,
                Err(_) => return Ended::Broken,
            };
            if response.canceled() {
                let compacted = response.compact_revision();
                if compacted > 0 {
                    return Ended::Compacted(u64::try_from(compacted).unwrap_or(0));
                }
                return Ended::Broken;
            }
            if response.created() {
                self.connected.store(true, Ordering::SeqCst);
            }
            let Some(mvcc) = self.mvcc() else {
                return Ended::StoreGone;
            };
            if response.events().is_empty() {
                // The creation answer. The index's revision moves only with this key space's
                // own changes, so every revision it reports is one other stores reach too.
                continue;
            }
            let mut versions = Vec::with_capacity(response.events().len());
            let mut compact_to = None;
            let mut sub = 0u32;
            let mut last = 0;
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let revision = u64::try_from(kv.mod_revision()).unwrap_or(0);
                if revision <= self.position {
                    // Already applied (a resumed watch repeats nothing, but be sure).
                    continue;
                }
                if revision != last {
                    sub = 0;
                    last = revision;
                }
                if kv.key().strip_prefix(self.keys.remote.as_slice()) == Some(COMPACT_KEY) {
                    if event.event_type() == etcd::EventType::Put {
                        compact_to = Some(super::follow::parse_revision(kv.value()));
                    }
                    continue;
                }
                let Some(key) = self.keys.to_local(kv.key()) else {
                    continue;
                };
                let version = match event.event_type() {
                    etcd::EventType::Put => version_of(kv, sub),
                    etcd::EventType::Delete => tombstone(revision, sub),
                };
                sub += 1;
                versions.push((key, version));
            }
            let through = last.max(self.position);
            self.position = self.apply(&mvcc, versions, through);
            if let Some(at) = compact_to {
                mvcc.compact_index(at);
            }
        }
    }

    /// Publishes `versions` and `through` into the index and tells waiting writers.
    fn apply(&self, mvcc: &Mvcc, versions: Vec<(Vec<u8>, Version)>, through: u64) -> u64 {
        let current = mvcc.publish_versions(versions, through);
        if let Some(remote) = mvcc.remote() {
            remote.applied.advance(current);
        }
        current
    }

    /// After etcd compacted past `position`: reads the key space again and applies what
    /// differs from the index as changes (puts at each key's mod revision, deletes at the
    /// read's revision), so the index and its change feeds go on without a gap: a feed sees
    /// each key that changed meanwhile once, at its last value, as a watch cache that
    /// relisted does.
    async fn relist(&mut self, compacted: u64) -> Result<(), MvccError> {
        let resumed_from = self.position;
        let loaded = load(&self.client, &self.keys, self.timeout).await?;
        let Some(mvcc) = self.mvcc() else {
            return Ok(());
        };
        let mut changes: Vec<(Vec<u8>, Version)> = Vec::new();
        {
            let state = mvcc.inner.state.read();
            let mut seen: HashMap<&[u8], ()> = HashMap::with_capacity(loaded.versions.len());
            for (key, version) in &loaded.versions {
                seen.insert(key.as_slice(), ());
                let known = state
                    .live
                    .get(key.as_slice())
                    .map(|latest| latest.version.revision);
                if known != Some(version.revision) && version.revision > state.current {
                    changes.push((key.clone(), version.clone()));
                }
            }
            let deleted_at = loaded.revision.max(state.current + 1);
            for key in state.live.keys() {
                if !seen.contains_key(&**key) {
                    changes.push((key.to_vec(), tombstone(deleted_at, 0)));
                }
            }
        }
        changes.sort_by(|(a, x), (b, y)| x.revision.cmp(&y.revision).then_with(|| a.cmp(b)));
        let mut last = 0;
        let mut sub = 0;
        for (_, version) in &mut changes {
            if version.revision != last {
                last = version.revision;
                sub = 0;
            }
            version.sub = sub;
            sub += 1;
        }
        let through = loaded.revision.max(last);
        self.position = self.apply(&mvcc, changes, through);
        // History after the old position stays: change feeds there go on through the
        // differences just applied. Later compactions arrive with `compact_rev_key`.
        mvcc.compact_index(compacted.max(loaded.compacted).min(resumed_from));
        Ok(())
    }
}
