//! Watch: every change to a resource after a revision, filtered per watcher, as Kubernetes
//! watch events.
//!
//! Design notes — the slow-watcher policy. Kubernetes' watch cache gives each watcher a small
//! buffer and closes watchers that fall behind; clients then relist. Here a watcher is a
//! cursor over the mvcc change feed, which reads the store's own retained history (the
//! in-memory revision log), so:
//! * writers never wait for watchers: a commit only wakes them;
//! * a watcher that falls behind loses nothing: it reads the history it missed on the
//!   consumer's own thread, at its own pace, and is "live" again once caught up — there is no
//!   per-watcher buffer to overflow and no memory grows with its lag;
//! * only when compaction removes history the watcher has not read yet does it end, with one
//!   terminal `Error` event carrying 410 Expired, as Kubernetes ends a too-old watch.
//!
//! Catching up yields to writers: while commits are in flight, a watcher far behind reads its
//! history in turns spaced so that all such watchers together use a fraction of one core
//! (see `pacing`); it catches up fully once writers go quiet.
//!
//! A watch is also an async stream (`poll_next_shared`, `futures_core::Stream`): the same
//! steps, but where the blocking calls park the thread (for a commit, a bookmark, a timeout or
//! a catch-up turn) a poll registers its task's waker and returns `Pending`. A server holding
//! a thousand watches then needs a few threads, not a thousand.
//!
//! Events are decoded through the store's decoded-object cache, so N watchers of one change
//! decode it once. Selector transitions follow the API server: an update that moves an object
//! into a watcher's selection is `Added`, out of it `Deleted` (with the previous content at the
//! update's revision). Within one revision, events come in key order.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, Status, StatusCause};
use crate::mvcc::{Change, ChangeFeed, ChangeKind, MvccError, Recorded, Slot, TaskWake};
use crate::store::api::{parse_resource_version, Api};
use crate::store::list::Filter;
use crate::store::meta::TypeMeta;
use crate::store::pacing::{Pacing, TURN_REVISIONS};
use crate::store::params::{ListParams, VersionMatch, WatchParams};
use crate::store::strategy::Resource;
use crate::store::StrategyContext;

/// How often a watcher with bookmarks enabled reports its position when idle.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(1);
/// The annotation of the bookmark that ends the initial events of a streaming list.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A watch event (`kube::api::WatchEvent`).
// The variants stay unboxed, as kube-rs's, so `WatchEvent::Error(status)` matches as users expect.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "object", rename_all = "UPPERCASE")]
#[serde(bound(
    deserialize = "K: serde::de::DeserializeOwned",
    serialize = "K: Serialize"
))]
pub enum WatchEvent<K> {
    /// An object entered the watched set (created, or changed into the selection).
    Added(K),
    /// An object in the set changed.
    Modified(K),
    /// An object left the set (deleted, or changed out of the selection); it carries the last
    /// state in the set, stamped with the revision of the change.
    Deleted(K),
    /// Every matching change up to this resourceVersion has been delivered.
    Bookmark(Bookmark),
    /// The watch failed; always the last event.
    Error(Status),
}

impl<K: Clone> WatchEvent<Arc<K>> {
    /// The event with its own copy of the object (none is made when no one else holds it).
    pub fn into_owned(self) -> WatchEvent<K> {
        match self {
            WatchEvent::Added(o) => WatchEvent::Added(Arc::unwrap_or_clone(o)),
            WatchEvent::Modified(o) => WatchEvent::Modified(Arc::unwrap_or_clone(o)),
            WatchEvent::Deleted(o) => WatchEvent::Deleted(Arc::unwrap_or_clone(o)),
            WatchEvent::Bookmark(b) => WatchEvent::Bookmark(b),
            WatchEvent::Error(status) => WatchEvent::Error(status),
        }
    }
}

/// A bookmark: only a resourceVersion (and, for the end of initial events, an annotation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    /// `apiVersion` and `kind` of the watched resource.
    #[serde(flatten)]
    pub types: TypeMeta,
    /// The bookmark's metadata.
    pub metadata: BookmarkMeta,
}

/// The metadata of a [`Bookmark`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookmarkMeta {
    /// All events up to this revision were delivered.
    pub resource_version: String,
    /// `k8s.io/initial-events-end: "true"` on the bookmark that ends the initial events.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A running watch: an iterator of [`WatchEvent`]s. Dropping it unsubscribes.
pub struct Watch<K: Resource> {
    api: Api<K>,
    filter: Filter,
    prefix: Vec<u8>,
    feed: Option<ChangeFeed>,
    /// Events with revision ≤ this are skipped (a start in the future).
    skip_through: u64,
    /// Events ready to go out, holding the store's shared objects (copied on the way out
    /// unless the caller takes them shared).
    pending: VecDeque<WatchEvent<Arc<K>>>,
    bookmarks: bool,
    deadline: Option<Instant>,
    /// When the last bookmark went out (bookmarks are sent about once per interval).
    last_report: Instant,
    /// The highest revision delivered or bookmarked.
    reported: u64,
    done: bool,
    /// The catch-up turn in progress: when it began and how many revisions it may still read.
    turn: Option<(Instant, u32)>,
    /// An async watcher's next catch-up turn, when it has taken one that has not come yet.
    turn_at: Option<Instant>,
    /// The id an async watcher waits under (given on its first wait).
    task: Option<u64>,
}

impl<K: Resource> std::fmt::Debug for Watch<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("position", &self.feed.as_ref().map(ChangeFeed::position))
            .field("done", &self.done)
            .finish()
    }
}

impl<K: Resource> Api<K> {
    /// Watches this resource from `version`: `""` or `"0"` starts with an `Added` event for
    /// every matching object and then follows changes; `"N"` delivers every change after N
    /// (a 410 `Error` event if N was compacted). `WatchParams::initial_events()` ends the
    /// initial events with a bookmark annotated `k8s.io/initial-events-end`.
    pub fn watch(&self, wp: &WatchParams, version: &str) -> Result<Watch<K>> {
        self.check_scope()?;
        validate_watch_options(wp)?;
        let filter = Filter::new(
            &self.kind,
            wp.label_selector.as_deref(),
            wp.field_selector.as_deref(),
        )?;
        let requested = parse_resource_version(version)?;
        if requested > 0 {
            // A revision learnt from another store of the cluster may not be here yet.
            self.store
                .fresh_for(version, &crate::backend::KeyRange::all())?;
        }
        let mvcc = &self.store.shared.mvcc;
        let prefix = self.watch_prefix();
        let mut watch = Watch {
            api: self.clone(),
            filter,
            prefix,
            feed: None,
            skip_through: 0,
            pending: VecDeque::new(),
            bookmarks: wp.bookmarks,
            deadline: wp
                .timeout
                .map(|s| Instant::now() + Duration::from_secs(u64::from(s))),
            last_report: Instant::now(),
            reported: 0,
            done: false,
            turn: None,
            turn_at: None,
            task: None,
        };
        let initial = wp.send_initial_events.unwrap_or(requested == 0);
        if initial {
            let current = mvcc.current_revision();
            if requested > current {
                watch.fail(Error::TooLargeResourceVersion { requested, current });
                return Ok(watch);
            }
            let list = self.list_shared(&ListParams {
                label_selector: wp.label_selector.clone(),
                field_selector: wp.field_selector.clone(),
                ..ListParams::default()
            })?;
            let snapshot: u64 = list
                .metadata
                .resource_version
                .as_deref()
                .and_then(|rv| rv.parse().ok())
                .unwrap_or(current);
            watch
                .pending
                .extend(list.items.into_iter().map(WatchEvent::Added));
            if wp.send_initial_events == Some(true) && wp.bookmarks {
                watch.pending.push_back(WatchEvent::Bookmark(Bookmark {
                    types: TypeMeta {
                        api_version: self.kind.api_version.clone(),
                        kind: self.kind.kind.clone(),
                    },
                    metadata: BookmarkMeta {
                        resource_version: snapshot.to_string(),
                        annotations: [(INITIAL_EVENTS_END.to_string(), "true".to_string())].into(),
                    },
                }));
            }
            watch.reported = snapshot;
            watch.open_feed(snapshot);
            return Ok(watch);
        }
        let current = mvcc.current_revision();
        // `sendInitialEvents=false` from ""/"0": no initial events, changes from now on.
        let requested = if requested == 0 { current } else { requested };
        if requested > current {
            watch.skip_through = requested;
            watch.reported = requested;
            watch.open_feed(current);
        } else {
            watch.reported = requested;
            watch.open_feed(requested);
        }
        Ok(watch)
    }

    fn watch_prefix(&self) -> Vec<u8> {
        let mut prefix = self.space.resource.clone();
        if let (Some(ns), true) = (&self.namespace, self.kind.namespaced) {
            prefix.extend_from_slice(ns.as_bytes());
            prefix.push(b'/');
        }
        prefix
    }
}

/// kube-apiserver's `validateWatchOptions`: `sendInitialEvents` (either way) needs
/// `resourceVersionMatch=NotOlderThan`, and a match is only for watches that set it.
fn validate_watch_options(wp: &WatchParams) -> Result<()> {
    let field = "resourceVersionMatch";
    let mut causes = Vec::new();
    if wp.send_initial_events.is_some() && wp.version_match != VersionMatch::NotOlderThan {
        causes.push(StatusCause::forbidden(
            field,
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if wp.version_match != VersionMatch::Unset {
        if wp.send_initial_events.is_none() {
            causes.push(StatusCause::forbidden(
                field,
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if wp.version_match == VersionMatch::Exact {
            causes.push(StatusCause::not_supported(
                field,
                "Exact",
                &["NotOlderThan"],
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid("meta.k8s.io", "ListOptions", "", causes))
    }
}

impl<K: Resource> Watch<K> {
    fn open_feed(&mut self, after: u64) {
        match self.api.store.shared.mvcc.feed(after) {
            Ok(feed) => self.feed = Some(feed),
            Err(e) => self.feed_error(e),
        }
    }

    /// Queues the terminal error event; nothing follows it.
    fn fail(&mut self, error: Error) {
        self.pending.push_back(WatchEvent::Error(error.status()));
        self.feed = None;
    }

    fn feed_error(&mut self, error: MvccError) {
        self.fail(error.into());
    }

    /// The revision through which this watch has delivered (or bookmarked) every change.
    pub fn resource_version(&self) -> u64 {
        self.reported
    }

    /// The next event if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<WatchEvent<K>> {
        self.next_within(Duration::ZERO)
    }

    /// The next event, waiting up to `timeout`; `None` on timeout or when the watch ended.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<WatchEvent<K>> {
        self.next_within(timeout)
    }

    /// [`Watch::try_next`] without copying the object: the event carries the store's own
    /// decoded object, shared by every watcher of the change (as kube-runtime reflectors
    /// share `Arc<K>`). The same events, in the same order, as the copying calls.
    pub fn try_next_shared(&mut self) -> Option<WatchEvent<Arc<K>>> {
        self.next_shared_within(Duration::ZERO)
    }

    /// [`Watch::recv_timeout`] without copying the object (see [`Watch::try_next_shared`]).
    pub fn recv_timeout_shared(&mut self, timeout: Duration) -> Option<WatchEvent<Arc<K>>> {
        self.next_shared_within(timeout)
    }

    /// True once the watch has ended (stopped, timed out, or after its `Error` event).
    pub fn is_done(&self) -> bool {
        self.done && self.pending.is_empty()
    }

    /// Ends the watch: later calls return `None`.
    pub fn stop(&mut self) {
        self.done = true;
        self.pending.clear();
        self.feed = None;
    }

    /// Hands the watch to a thread of its own and returns a receiver with a bounded buffer
    /// (its [`WatchReceiver::receiver`] works in crossbeam's `select!`). A receiver that falls
    /// behind makes only that thread wait; it resumes from the store's history, so nothing is
    /// lost and no writer waits. Dropping the receiver ends the thread and the watch.
    pub fn into_receiver(mut self, capacity: usize) -> WatchReceiver<K> {
        let (send, receive) = crossbeam_channel::bounded(capacity.max(1));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let pump = move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match self.next_within(Duration::from_millis(100)) {
                    Some(mut event) => loop {
                        match send.send_timeout(event, Duration::from_millis(100)) {
                            Ok(()) => break,
                            Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => {
                                if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                                    return;
                                }
                                event = back;
                            }
                            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return,
                        }
                    },
                    None if self.is_done() => return,
                    None => {}
                }
            }
        };
        let receiver = match std::thread::Builder::new()
            .name("apistore-watch".into())
            .spawn(pump)
        {
            Ok(_) => receive,
            // Without a thread the receiver reports the end of the stream at once.
            Err(_) => crossbeam_channel::bounded(0).1,
        };
        WatchReceiver { receiver, stop }
    }

    fn bookmark<T>(&self, revision: u64, annotations: BTreeMap<String, String>) -> WatchEvent<T> {
        WatchEvent::Bookmark(Bookmark {
            types: TypeMeta {
                api_version: self.api.kind.api_version.clone(),
                kind: self.api.kind.kind.clone(),
            },
            metadata: BookmarkMeta {
                resource_version: revision.to_string(),
                annotations,
            },
        })
    }

    /// Turns one change into this watcher's event, if it has one. Objects stay shared: the
    /// previous state is only copied when it goes out as a `Deleted` (stamped with the
    /// change's revision), and a decorated kind's object when it is decorated.
    fn transform(&mut self, change: &Change, slot: Option<&Slot>) {
        if change.revision <= self.skip_through || !change.kv.key.starts_with(&self.prefix) {
            return;
        }
        let deleted = |mut obj: Arc<K>, revision: u64| {
            Arc::make_mut(&mut obj).meta_mut().resource_version = Some(revision.to_string());
            WatchEvent::Deleted(obj)
        };
        // The previous object is needed as a `Deleted` event's object and to test a
        // selector; an update seen without a selector only needs to know it existed.
        let old_needed = change.kind == ChangeKind::Delete || !self.filter.is_empty();
        let old = match &change.prev {
            Some(prev) if old_needed => match self.api.decode_kv_shared(prev, None) {
                Ok(obj) => Some(obj),
                // A deletion whose last state is unreadable cannot be reported as DELETED.
                Err(e) if change.kind == ChangeKind::Delete => {
                    return self.fail(Error::StorageRead {
                        message: e.to_string(),
                    })
                }
                Err(e) => return self.fail(e),
            },
            _ => None,
        };
        let old_matches = match &old {
            Some(o) => self.filter.matches(&self.api.kind, &**o),
            None => change.prev.is_some() && !old_needed,
        };
        let event = match change.kind {
            ChangeKind::Delete => match old {
                Some(old) if old_matches => Some(deleted(old, change.revision)),
                _ => None,
            },
            ChangeKind::Put => {
                // The version's own decoded object when its writer (an update) or another
                // reader left it beside the change; the cache or a decode otherwise (and the
                // decode is left there for the watchers after this one).
                let kept = slot.and_then(|s| s.get()).and_then(Api::<K>::decoded_as);
                let new = match kept.map_or_else(|| self.api.decode_kv_shared(&change.kv, slot), Ok)
                {
                    Ok(obj) => obj,
                    Err(e) => return self.fail(e),
                };
                match (old_matches, self.filter.matches(&self.api.kind, &*new)) {
                    (false, true) => Some(WatchEvent::Added(new)),
                    (true, true) => Some(WatchEvent::Modified(new)),
                    (true, false) => old.map(|o| deleted(o, change.revision)),
                    (false, false) => None,
                }
            }
        };
        let Some(mut event) = event else {
            return;
        };
        if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = &mut event
        {
            if self.api.kind.decorates {
                let ctx = StrategyContext::new(&self.api.store);
                self.api.kind.hooks.decorate(Arc::make_mut(o), &ctx);
            }
            if !self.api.kind.hooks.stamped(o) {
                self.api.kind.hooks.decoded(Arc::make_mut(o));
            }
        }
        self.reported = self.reported.max(change.revision);
        self.pending.push_back(event);
    }

    /// Ends a used-up catch-up turn, and waits for the next one while this watcher is far
    /// behind busy writers (see `pacing`); false when `until` came first.
    fn pace(&mut self, until: Instant) -> bool {
        let pacing = &self.api.store.shared.pacing;
        if let Some((began, 0)) = self.turn {
            pacing.turn_done(began);
            self.turn = None;
        }
        if self.turn.is_some() {
            return true;
        }
        let mvcc = &self.api.store.shared.mvcc;
        let position = self.feed.as_ref().map_or(0, ChangeFeed::position);
        if !Pacing::should_pace(mvcc, position) {
            return true;
        }
        match pacing.wait_turn(mvcc, until) {
            Some(began) => {
                self.turn = Some((began, TURN_REVISIONS));
                true
            }
            None => false,
        }
    }

    /// Reads the next revision's changes (all of them, so they can go out in key order).
    fn pull(&mut self) -> bool {
        let Some(feed) = self.feed.as_mut() else {
            return false;
        };
        let changes = match feed.try_next_revision() {
            Ok(Some(changes)) => changes,
            Ok(None) => return false,
            Err(e) => {
                self.feed_error(e);
                return true;
            }
        };
        // Most revisions hold one change, read by every watcher: no ordering to allocate.
        if let [only] = &changes[..] {
            self.transform(&only.change, only.slot.as_ref());
            return true;
        }
        let mut order: Vec<&Recorded> = changes.iter().collect();
        order.sort_by(|a, b| a.change.kv.key.cmp(&b.change.kv.key));
        for recorded in order {
            self.transform(&recorded.change, recorded.slot.as_ref());
            if self.feed.is_none() {
                break;
            }
        }
        true
    }

    /// The next event already made; an `Error` ends the watch.
    fn next_pending(&mut self) -> Option<WatchEvent<Arc<K>>> {
        let event = self.pending.pop_front()?;
        if matches!(event, WatchEvent::Error(_)) {
            self.done = true;
            self.pending.clear();
        }
        Some(event)
    }

    /// Reads the next revision, counting it against the catch-up turn in progress; false
    /// when there is none yet.
    fn pull_in_turn(&mut self) -> bool {
        if !self.pull() {
            return false;
        }
        if let Some((_, left)) = self.turn.as_mut() {
            *left = left.saturating_sub(1);
        }
        true
    }

    /// Caught up: ends the turn in progress, and answers a bookmark if one is due.
    fn caught_up(&mut self) -> Option<WatchEvent<Arc<K>>> {
        if let Some((began, _)) = self.turn.take() {
            self.api.store.shared.pacing.turn_done(began);
        }
        let position = self.feed.as_ref().map_or(0, ChangeFeed::position);
        if self.bookmarks
            && position >= self.reported
            && position > self.skip_through
            && self.last_report.elapsed() >= BOOKMARK_INTERVAL
        {
            self.reported = position;
            self.last_report = Instant::now();
            return Some(self.bookmark(position, BTreeMap::new()));
        }
        None
    }

    fn next_within(&mut self, timeout: Duration) -> Option<WatchEvent<K>> {
        self.next_shared_within(timeout).map(WatchEvent::into_owned)
    }

    fn next_shared_within(&mut self, timeout: Duration) -> Option<WatchEvent<Arc<K>>> {
        let mut wait_until = Instant::now() + timeout;
        if let Some(deadline) = self.deadline {
            wait_until = wait_until.min(deadline);
        }
        loop {
            if let Some(event) = self.next_pending() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) || self.feed.is_none() {
                self.stop();
                return None;
            }
            // `try_next` promises not to wait, so it reads on without a turn.
            if !timeout.is_zero() && !self.pace(wait_until) {
                return None;
            }
            if self.pull_in_turn() {
                continue;
            }
            if let Some(bookmark) = self.caught_up() {
                return Some(bookmark);
            }
            let position = self.feed.as_ref().map_or(0, ChangeFeed::position);
            let now = Instant::now();
            if now >= wait_until {
                return None;
            }
            let mut nap = wait_until - now;
            if self.bookmarks {
                nap = nap.min(BOOKMARK_INTERVAL);
            }
            self.api.store.shared.mvcc.wait_for(position + 1, nap);
        }
    }
    /// Polls for the next event without copying the object (see [`Watch::try_next_shared`]):
    /// the async form of the watch, for servers that run their watches as tasks. The same
    /// events, in the same order, as the blocking calls; `Ready(None)` once the watch ended.
    /// A pending poll costs nothing until a commit, the next bookmark or the timeout wakes
    /// the task.
    pub fn poll_next_shared(&mut self, cx: &mut Context<'_>) -> Poll<Option<WatchEvent<Arc<K>>>> {
        loop {
            if let Some(event) = self.next_pending() {
                return Poll::Ready(Some(event));
            }
            if self.done {
                return Poll::Ready(None);
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) || self.feed.is_none() {
                self.stop();
                return Poll::Ready(None);
            }
            if let Err(turn) = self.pace_async() {
                let wake = TaskWake {
                    revision: None,
                    at: Some(self.deadline.map_or(turn, |d| d.min(turn))),
                };
                if self.wait_as_task(cx, wake) {
                    return Poll::Pending;
                }
                continue;
            }
            if self.pull_in_turn() {
                continue;
            }
            if let Some(bookmark) = self.caught_up() {
                return Poll::Ready(Some(bookmark));
            }
            let position = self.feed.as_ref().map_or(0, ChangeFeed::position);
            let mut at = self.deadline;
            if self.bookmarks {
                let due = self.last_report + BOOKMARK_INTERVAL;
                at = Some(at.map_or(due, |d| d.min(due)));
            }
            let wake = TaskWake {
                revision: Some(position + 1),
                at,
            };
            if self.wait_as_task(cx, wake) {
                return Poll::Pending;
            }
        }
    }

    /// Registers this watch's task to be woken as `wake` says; false when it should go on
    /// at once instead.
    fn wait_as_task(&mut self, cx: &mut Context<'_>, wake: TaskWake) -> bool {
        let mvcc = &self.api.store.shared.mvcc;
        let id = *self.task.get_or_insert_with(|| mvcc.task_id());
        mvcc.wake_task(id, cx.waker(), wake)
    }

    /// [`Watch::pace`] for a task: instead of sleeping until its turn, answers the time to be
    /// woken at.
    fn pace_async(&mut self) -> std::result::Result<(), Instant> {
        let pacing = &self.api.store.shared.pacing;
        if let Some((began, 0)) = self.turn {
            pacing.turn_done(began);
            self.turn = None;
        }
        let mvcc = &self.api.store.shared.mvcc;
        if let Some(at) = self.turn_at {
            if Instant::now() < at && mvcc.writers_active() {
                return Err(at);
            }
            self.turn_at = None;
            self.turn = Some((Instant::now(), TURN_REVISIONS));
            return Ok(());
        }
        if self.turn.is_some() {
            return Ok(());
        }
        let position = self.feed.as_ref().map_or(0, ChangeFeed::position);
        if !Pacing::should_pace(mvcc, position) {
            return Ok(());
        }
        let at = pacing.take_turn(mvcc);
        if at > Instant::now() {
            self.turn_at = Some(at);
            return Err(at);
        }
        self.turn = Some((Instant::now(), TURN_REVISIONS));
        Ok(())
    }
}

impl<K: Resource> Drop for Watch<K> {
    fn drop(&mut self) {
        if let Some(id) = self.task {
            self.api.store.shared.mvcc.forget_task(id);
        }
    }
}

/// The async form of a watch (kube-rs watches are streams): events with their own copy of
/// the object; [`Watch::poll_next_shared`] gives the store's shared one.
impl<K: Resource> futures_core::Stream for Watch<K> {
    type Item = WatchEvent<K>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_shared(cx)
            .map(|event| event.map(WatchEvent::into_owned))
    }
}

impl<K: Resource> Iterator for Watch<K> {
    type Item = WatchEvent<K>;

    /// Blocks until the next event; `None` once the watch ended.
    fn next(&mut self) -> Option<WatchEvent<K>> {
        loop {
            if let Some(event) = self.next_within(Duration::from_secs(3600)) {
                return Some(event);
            }
            if self.is_done() {
                return None;
            }
        }
    }
}

/// A watch running on its own thread, delivering into a bounded channel.
pub struct WatchReceiver<K> {
    receiver: crossbeam_channel::Receiver<WatchEvent<K>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<K> WatchReceiver<K> {
    /// The channel, for `recv`, `recv_timeout` or crossbeam's `select!`.
    pub fn receiver(&self) -> &crossbeam_channel::Receiver<WatchEvent<K>> {
        &self.receiver
    }
}

impl<K> std::ops::Deref for WatchReceiver<K> {
    type Target = crossbeam_channel::Receiver<WatchEvent<K>>;
    fn deref(&self) -> &Self::Target {
        &self.receiver
    }
}

impl<K> Drop for WatchReceiver<K> {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
