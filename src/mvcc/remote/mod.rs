//! The revision layer on an etcd cluster: etcd orders and keeps every write, and this layer's
//! in-memory index is a cache fed by etcd's watch, as kube-apiserver's watch cache is.
//!
//! # Design notes
//!
//! * **One history.** A write is one etcd `Txn` whose compares are this layer's compares (mod
//!   revision, 0 = absent), so the revision etcd gives it is its resourceVersion, and every
//!   store opened on the cluster sees the same revisions.
//! * **The index follows etcd.** At open the index is filled by one consistent read of the
//!   key space (paged, every page at the first page's revision); a watch from the next revision
//!   then feeds it (`follow.rs`). Reads, lists and watches are served from the index, so they
//!   cost what they cost locally.
//! * **Read your writes.** A write is answered once the index has applied its revision. A
//!   failed compare is answered once the index holds the version that made it fail, so a
//!   caller that reads again and retries sees what etcd saw.
//! * **Fresh reads.** [`Mvcc::sync_range`] of more than one key first reads etcd's revision (a
//!   count of one key, answered from etcd's in-memory index): when it is the index's, nothing
//!   was written since and the index is fresh. Otherwise (and at once for one key) it asks
//!   etcd which keys of the range changed after the index's revision, and how many the range
//!   holds (etcd reads the range's values for that), and waits until the index shows none
//!   changed and as many keys. It does not use watch progress requests: before 3.4.25 and
//!   3.5.8, etcd answers one with its current revision even while events before it are still
//!   on their way (etcd issue 15220), and a cache that trusted it would skip them.
//! * **History window.** The index holds history from the revision it was opened at; older
//!   reads answer `Compacted` (410 Expired), as kube-apiserver's cache does for revisions
//!   older than its window.
//! * **Compaction** is etcd's. [`Mvcc::compact`] moves the `compact_rev_key` of the key
//!   space with a compare-and-swap on its version (kube-apiserver's coordination: one store at
//!   a time, never backwards) and then compacts etcd; every store's index compacts itself when
//!   its watch delivers that key's new value.
//! * **Failures.** A write etcd does not answer within the request timeout fails with
//!   [`MvccError::Unavailable`]; nothing is acknowledged that etcd has not committed. A broken
//!   watch is resumed from the revision after the last one applied; when that revision is
//!   compacted, the key space is read again and the differences are applied as changes at
//!   their revisions, so a change feed sees no gap and no duplicate.

mod follow;

use super::commit::validate_shape;
use super::queue::{self, Reply};
use super::{Mvcc, MvccError, Pending, Txn, TxnOp, TxnResult};
use crate::backend::{KeyRange, MemoryBackend};
use etcd_client as etcd;
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The key, under the key space's root, that records the revision etcd was last compacted
/// to (kube-apiserver's `compact_rev_key`). No other write may use it.
const COMPACT_KEY: &[u8] = b"compact_rev_key";
/// How long a fresh read waits for the index to move before it asks etcd again.
const RECHECK_EVERY: Duration = Duration::from_millis(100);
/// How long a read asking for a revision this index has not seen yet waits for it (as
/// kube-apiserver's cache waits before answering "too large resource version").
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);
/// The default bound on one etcd request.
pub const DEFAULT_ETCD_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach an etcd cluster and where in its key space this layer keeps its keys.
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    endpoints: Vec<String>,
    remote_root: Vec<u8>,
    local_root: Vec<u8>,
    request_timeout: Duration,
}

impl EtcdOptions {
    /// The cluster's client URLs (`http://host:2379`); keys are kept as they are, at the root
    /// of etcd's key space, until [`EtcdOptions::under`] says otherwise.
    pub fn new<I, S>(endpoints: I) -> EtcdOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EtcdOptions {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            remote_root: Vec::new(),
            local_root: Vec::new(),
            request_timeout: DEFAULT_ETCD_REQUEST_TIMEOUT,
        }
    }

    /// Keeps the keys under `prefix` in etcd: a key `root + rest` (see
    /// [`EtcdOptions::root`]) is stored at `prefix + rest`, and the watch covers `prefix`.
    #[must_use]
    pub fn under(mut self, prefix: impl Into<Vec<u8>>) -> EtcdOptions {
        self.remote_root = prefix.into();
        self
    }

    /// Every key written starts with `root`, which `prefix` replaces in etcd (default: empty).
    #[must_use]
    pub fn root(mut self, root: impl Into<Vec<u8>>) -> EtcdOptions {
        self.local_root = root.into();
        self
    }

    /// Bounds each etcd request (default [`DEFAULT_ETCD_REQUEST_TIMEOUT`]).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> EtcdOptions {
        self.request_timeout = timeout;
        self
    }
}

/// How this layer's keys map to etcd's.
#[derive(Clone, Debug)]
struct KeyMap {
    local: Vec<u8>,
    remote: Vec<u8>,
}

impl KeyMap {
    fn to_remote(&self, key: &[u8]) -> Result<Vec<u8>, MvccError> {
        let rest = key.strip_prefix(self.local.as_slice()).ok_or_else(|| {
            MvccError::InvalidTxn(format!(
                "key {:?} is outside the key space {:?}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&self.local)
            ))
        })?;
        if rest == COMPACT_KEY {
            return Err(MvccError::InvalidTxn(
                "compact_rev_key is reserved for compaction".into(),
            ));
        }
        let mut out = Vec::with_capacity(self.remote.len() + rest.len());
        out.extend_from_slice(&self.remote);
        out.extend_from_slice(rest);
        Ok(out)
    }

    fn to_local(&self, key: &[u8]) -> Option<Vec<u8>> {
        let rest = key.strip_prefix(self.remote.as_slice())?;
        let mut out = Vec::with_capacity(self.local.len() + rest.len());
        out.extend_from_slice(&self.local);
        out.extend_from_slice(rest);
        Some(out)
    }

    /// The remote range `[start, end)` holding the keys of `range` (`None`: none can be in
    /// this key space).
    fn remote_range(&self, range: &KeyRange) -> Option<(Vec<u8>, Vec<u8>)> {
        let root_start = if self.remote.is_empty() {
            vec![0]
        } else {
            self.remote.clone()
        };
        let mapped = |key: &[u8], past: bool| -> Option<Vec<u8>> {
            key.strip_prefix(self.local.as_slice()).map(|rest| {
                let mut out = [self.remote.as_slice(), rest].concat();
                if past {
                    out.push(0);
                }
                out
            })
        };
        let start = match &range.start {
            Bound::Unbounded => root_start.clone(),
            Bound::Included(k) | Bound::Excluded(k) => {
                match mapped(k, matches!(range.start, Bound::Excluded(_))) {
                    Some(start) => start,
                    None if k.as_slice() < self.local.as_slice() => root_start.clone(),
                    None => return None,
                }
            }
        };
        let end = match &range.end {
            Bound::Unbounded => self.range_end(),
            Bound::Included(k) | Bound::Excluded(k) => {
                match mapped(k, matches!(range.end, Bound::Included(_))) {
                    Some(end) => end,
                    None if k.as_slice() < self.local.as_slice() => return None,
                    None => self.range_end(),
                }
            }
        };
        (start < end || end == [0]).then_some((start, end))
    }

    fn compact_key(&self) -> Vec<u8> {
        [self.remote.as_slice(), COMPACT_KEY].concat()
    }

    /// The end of the range of keys starting with the remote root (etcd's prefix end; `\0`
    /// for the whole key space).
    fn range_end(&self) -> Vec<u8> {
        let mut end = self.remote.clone();
        while let Some(last) = end.pop() {
            if last < 0xff {
                end.push(last + 1);
                return end;
            }
        }
        vec![0]
    }
}

/// The link to etcd of a [`Mvcc`] opened with [`Mvcc::open_etcd`].
pub(super) struct Remote {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    client: etcd::Client,
    keys: KeyMap,
    timeout: Duration,
    /// The revision the index has applied, and the tasks waiting for one.
    applied: Arc<Applied>,
    /// Whether the follower's watch is established now.
    connected: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Never waits: the last handle may be dropped on one of the runtime's own threads or
        // inside a caller's async task.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> MvccError {
    MvccError::Unavailable(format!("{what}: {e}"))
}

/// Runs `future` on `handle` and blocks this thread for its output (the caller may itself be
/// a task of another runtime, where `block_on` is not allowed).
fn run_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    future: impl Future<Output = Result<T, MvccError>> + Send + 'static,
) -> Result<T, MvccError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| MvccError::Unavailable("the etcd client runtime stopped".into()))?
}

/// When a failed etcd request may be sent again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// A read: again after any transport failure or unavailable member.
    Read,
    /// A write: again only when it cannot have reached etcd (the connection was refused),
    /// since a write whose answer was lost may have been committed.
    Write,
}

/// A pause before sending a failed request again (the client then picks another member).
const RETRY_PAUSE: Duration = Duration::from_millis(25);

fn never_sent(e: &etcd::Error) -> bool {
    let text = e.to_string();
    text.contains("tcp connect error") || text.contains("Connection refused")
}

fn worth_repeating(e: &etcd::Error) -> bool {
    match e {
        etcd::Error::GRpcStatus(status) => matches!(
            status.code(),
            tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Unknown
                | tonic::Code::Cancelled
        ),
        etcd::Error::TransportError(_) | etcd::Error::IoError(_) => true,
        _ => never_sent(e),
    }
}

/// Runs `attempt` until it succeeds, fails in a way `repeat` does not send again, or
/// `timeout` passes.
async fn call<T, F, Fut>(
    timeout: Duration,
    what: &str,
    repeat: Repeat,
    mut attempt: F,
) -> Result<T, MvccError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, etcd::Error>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, attempt()).await {
            Ok(Ok(out)) => return Ok(out),
            Ok(Err(e)) => {
                let again = match repeat {
                    Repeat::Read => worth_repeating(&e),
                    Repeat::Write => never_sent(&e),
                };
                if !again || tokio::time::Instant::now() + RETRY_PAUSE >= deadline {
                    return Err(unavailable(what, e));
                }
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(_) => return Err(unavailable(what, format!("no answer within {timeout:?}"))),
        }
    }
}

/// The revision the index has applied, and the tasks waiting for one: each waiter is woken
/// once, when its revision is applied (a channel every waiter watched woke all 64 writers of
/// a 64-in-flight load at every revision, a quarter of a million wake-ups a second).
pub(super) struct Applied {
    revision: std::sync::atomic::AtomicU64,
    waiting: parking_lot::Mutex<BTreeMap<u64, Vec<oneshot::Sender<()>>>>,
}

impl Applied {
    fn new(revision: u64) -> Arc<Applied> {
        Arc::new(Applied {
            revision: std::sync::atomic::AtomicU64::new(revision),
            waiting: parking_lot::Mutex::new(BTreeMap::new()),
        })
    }

    fn current(&self) -> u64 {
        self.revision.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records that the index holds `revision`, and wakes who waited for it or less.
    pub(super) fn advance(&self, revision: u64) {
        self.revision
            .fetch_max(revision, std::sync::atomic::Ordering::SeqCst);
        let due = {
            let mut waiting = self.waiting.lock();
            let later = waiting.split_off(&(revision + 1));
            std::mem::replace(&mut *waiting, later)
        };
        for sender in due.into_values().flatten() {
            let _ = sender.send(());
        }
    }

    /// Waits until the index has applied `revision`, or `timeout` passes (then false).
    async fn wait(&self, revision: u64, timeout: Duration) -> bool {
        if self.current() >= revision {
            return true;
        }
        let (sender, receiver) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock();
            // Checked again under the lock `advance` takes after storing the revision.
            if self.current() >= revision {
                return true;
            }
            waiting.entry(revision).or_default().push(sender);
        }
        let woken = matches!(tokio::time::timeout(timeout, receiver).await, Ok(Ok(())));
        if !woken {
            // A revision this key space may never reach: forget the waiters that gave up.
            let mut waiting = self.waiting.lock();
            if let Some(senders) = waiting.get_mut(&revision) {
                senders.retain(|s| !s.is_closed());
                if senders.is_empty() {
                    waiting.remove(&revision);
                }
            }
        }
        woken
    }
}

impl Mvcc {
    /// Opens the revision layer on an etcd cluster: reads the key space once, then follows
    /// etcd's watch. See the module notes of `mvcc::remote`.
    ///
    /// # Errors
    /// [`MvccError::Unavailable`] when etcd cannot be reached or read within the request
    /// timeout.
    pub fn open_etcd(options: EtcdOptions) -> Result<Mvcc, MvccError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("apistore-etcd")
            .enable_all()
            .build()
            .map_err(|e| unavailable("starting the etcd client runtime", e))?;
        let handle = runtime.handle().clone();
        let keys = KeyMap {
            local: options.local_root.clone(),
            remote: options.remote_root.clone(),
        };
        let timeout = options.request_timeout;
        let endpoints = options.endpoints.clone();
        let (client, loaded) = {
            let keys = keys.clone();
            run_on(&handle, async move {
                let connect = etcd::ConnectOptions::new()
                    .with_connect_timeout(timeout)
                    .with_timeout(timeout)
                    .with_keep_alive(Duration::from_secs(10), timeout);
                let client = call(timeout, "connecting to etcd", Repeat::Read, || {
                    etcd::Client::connect(endpoints.clone(), Some(connect.clone()))
                })
                .await?;
                let loaded = follow::load(&client, &keys, timeout).await?;
                Ok((client, loaded))
            })?
        };
        let mvcc = Mvcc::open(Arc::new(MemoryBackend::new()))?;
        let revision = loaded.revision;
        {
            let mut state = mvcc.inner.state.write();
            // History before the first read is not in this index: older reads are expired.
            state.compacted = revision;
            for (key, version) in loaded.versions {
                state.insert(key, version);
            }
            state.current = revision;
        }
        mvcc.inner.recent.set_compacted(revision);
        mvcc.inner.published.publish(revision);
        let applied = Applied::new(revision);
        let connected = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let follower = follow::Follower {
            store: Arc::downgrade(&mvcc.inner),
            client: client.clone(),
            keys: keys.clone(),
            timeout,
            position: revision,
            connected: connected.clone(),
        };
        let remote = Remote {
            runtime: Some(runtime),
            handle: handle.clone(),
            client,
            keys,
            timeout,
            applied,
            connected,
        };
        if mvcc.inner.remote.set(remote).is_err() {
            return Err(MvccError::InvalidTxn("the etcd link was set twice".into()));
        }
        handle.spawn(follower.run());
        Ok(mvcc)
    }

    /// The etcd link, when this layer is on etcd.
    pub(super) fn remote(&self) -> Option<&Remote> {
        self.inner.remote.get()
    }

    /// [`Mvcc::sync_range`] for a layer on etcd.
    pub(super) fn sync_range_remote(
        &self,
        remote: &Remote,
        range: &KeyRange,
    ) -> Result<u64, MvccError> {
        let Some((start, end)) = remote.keys.remote_range(range) else {
            return Ok(self.current_revision());
        };
        let deadline = std::time::Instant::now() + FRESHNESS_WAIT;
        // When etcd's revision is the index's, nothing at all was written after it: fresh,
        // for the cost of a count read of one key (what kube-apiserver asks for its revision).
        // Only a cluster that moved on needs the range compared, which makes etcd read the
        // range's values. A get's one key is compared at once: that costs etcd one value, and
        // a probe first would be a second round trip whenever the cluster moved on. (A
        // revision of 0 means etcd's answer had no header, which tells nothing.)
        let at = self.current_revision();
        if !is_one_key(range) {
            let now = remote.run(remote.revision_now())?;
            if now != 0 && now <= at {
                return Ok(at);
            }
        }
        loop {
            let at = self.current_revision();
            let held = self.live_in(range, at)?;
            let (changed, total) =
                remote.run(remote.changes_after(start.clone(), end.clone(), at))?;
            if !changed && total == held {
                return Ok(at);
            }
            if std::time::Instant::now() >= deadline {
                return Err(MvccError::Unavailable(format!(
                    "this store's index did not catch up with etcd within {FRESHNESS_WAIT:?}"
                )));
            }
            // The watch has changes of the range on their way: wait for the index to move.
            let _ = remote.run(remote.catch_up_within(at + 1, RECHECK_EVERY));
        }
    }

    /// The live keys of `range` in the index at `at`.
    fn live_in(&self, range: &KeyRange, at: u64) -> Result<usize, MvccError> {
        let counted = self.range(
            range,
            super::RangeOptions {
                revision: at,
                limit: 1,
                count: true,
            },
        )?;
        Ok(counted.count.unwrap_or(0))
    }

    /// [`Mvcc::wait_until`] for a layer on etcd.
    pub(super) fn wait_until_remote(
        &self,
        remote: &Remote,
        revision: u64,
    ) -> Result<u64, MvccError> {
        if self.current_revision() >= revision {
            return Ok(self.current_revision());
        }
        if remote.run(remote.catch_up_within(revision, FRESHNESS_WAIT))? {
            return Ok(self.current_revision());
        }
        Err(MvccError::FutureRevision {
            requested: revision,
            current: self.current_revision(),
        })
    }

    /// Whether the watch feeding the index is established now.
    pub(super) fn remote_connected(remote: &Remote) -> bool {
        remote.connected.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// [`Mvcc::submit`] for a layer on etcd: the transaction goes to etcd as one `Txn`.
    pub(super) fn submit_remote(&self, remote: &Remote, txn: Txn) -> Result<Pending, MvccError> {
        validate_shape(&txn)?;
        let plain = remote.request(&txn, &[])?;
        let unchanged = self.unchanged_writes(&txn);
        let elided = if unchanged.is_empty() {
            None
        } else {
            Some(remote.request(&txn, &unchanged)?)
        };
        let (waiter, pending) =
            queue::submitted(self.inner.clone() as Arc<dyn std::any::Any + Send + Sync>);
        let current = self.inner.published.clone_reader();
        let commit = remote.commit(elided, plain, current, Arc::downgrade(&self.inner));
        remote.handle.spawn(async move {
            let result = commit.await;
            queue::answer_all(std::iter::once((waiter, Reply::Done(result))));
        });
        Ok(pending)
    }

    /// The writes of `txn` that change nothing as the index stands (a put of the bytes the
    /// key holds, a delete of an absent key), each with the mod revision it assumes (0 =
    /// absent). A write whose key the transaction compares counts only when the compare
    /// names the version the index holds. Local commits skip such writes and consume no
    /// revision for a transaction of nothing else (the no-op update rule); on etcd they are
    /// left out of the `Txn` and replaced by a compare that the assumption holds.
    fn unchanged_writes(&self, txn: &Txn) -> Vec<(Vec<u8>, u64)> {
        let compared = |key: &[u8]| {
            txn.compares.iter().find_map(|c| match c {
                super::Compare::ModRevision { key: k, revision } if k == key => Some(*revision),
                _ => None,
            })
        };
        let mut out = Vec::new();
        for op in &txn.ops {
            let (key, stored) = match op {
                TxnOp::Put { key, .. } | TxnOp::Delete { key } => (key, self.latest_value(key)),
            };
            let unchanged = match (op, &stored) {
                (TxnOp::Put { value, .. }, Some((_, bytes))) => **bytes == **value,
                (TxnOp::Delete { .. }, None) => true,
                _ => false,
            };
            let at = stored.map_or(0, |(at, _)| at);
            if unchanged && compared(key).is_none_or(|expected| expected == at) {
                out.push((key.clone(), at));
            }
        }
        out
    }

    /// [`Mvcc::compact`] for a layer on etcd.
    pub(super) fn compact_remote(&self, remote: &Remote, revision: u64) -> Result<(), MvccError> {
        {
            let state = self.inner.state.read();
            if revision <= state.compacted {
                return Ok(());
            }
            Self::check_retained(&state, revision)?;
        }
        let moved = remote.run(remote.compact(revision))?;
        // The index compacts when its watch delivers the key's new value.
        if let Some(at) = moved {
            if !remote.run(remote.catch_up_within(at, remote.timeout))? {
                return Err(MvccError::Unavailable(format!(
                    "the compaction to {revision} is not in this index yet"
                )));
            }
        }
        Ok(())
    }

    /// Compacts the index alone (etcd was compacted to `revision`).
    fn compact_index(&self, revision: u64) {
        let mut state = self.inner.state.write();
        let revision = revision.min(state.current);
        if revision > state.compacted {
            state.compact(revision);
            drop(state);
            self.inner.recent.set_compacted(revision);
        }
    }
}

/// One transaction as etcd gets it, with what is needed to read its answer.
struct Request {
    txn: etcd::Txn,
    /// Compared keys (local form), the mod revision each compare expects, and whether the
    /// caller asked for the compare (or it stands for a write left out).
    compared: Vec<(Vec<u8>, u64, bool)>,
    /// The compares again, with the keys in etcd's form.
    remote_compared: Vec<(Vec<u8>, u64)>,
    /// What each write leaves (etcd's key; the value put, or `None` for a delete).
    effects: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Whether the `Txn` writes anything.
    writes: bool,
}

/// How a sent transaction ended.
enum Sent {
    /// etcd committed it.
    Answered(etcd::TxnResponse),
    /// A compare did not hold: a read of every compared key made right after (the `Txn`
    /// itself carries no failure branch: etcd takes longer over a `Txn` with one).
    Refused(etcd::TxnResponse),
    /// The answer was lost, and a read afterwards found the write done, at this revision.
    Committed(u64),
}

/// What a read of its keys tells of a transaction whose answer was lost.
enum Outcome {
    /// Its writes are there and its compares no longer hold: it committed, at this revision.
    Done(u64),
    /// Its compares still hold: it did not commit, and may be sent again.
    NotDone,
    /// Neither: another write came in between.
    Unknown,
}

/// Sends a write. A write refused before it left is sent again; one whose answer was lost
/// (the member died with it in flight) is looked up: done, it is answered as committed; not
/// done, it is sent again; anything else fails, naming etcd.
async fn send_write(
    kv: &mut etcd::KvClient,
    request: &Request,
    timeout: Duration,
) -> Result<Sent, MvccError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let attempt = tokio::time::timeout_at(deadline, kv.txn(request.txn.clone())).await;
        let e = match attempt {
            Ok(Ok(response)) if response.succeeded() => return Ok(Sent::Answered(response)),
            Ok(Ok(_)) => {
                return read_compared(kv, request, deadline)
                    .await
                    .map(Sent::Refused)
            }
            Ok(Err(e)) => e,
            Err(_) => {
                return Err(unavailable(
                    "etcd transaction",
                    format!("no answer within {timeout:?}"),
                ))
            }
        };
        if !worth_repeating(&e) || tokio::time::Instant::now() + RETRY_PAUSE >= deadline {
            return Err(unavailable("etcd transaction", e));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
        if never_sent(&e) {
            continue;
        }
        match outcome(kv, request, deadline).await {
            Outcome::Done(revision) => return Ok(Sent::Committed(revision)),
            Outcome::NotDone => continue,
            Outcome::Unknown => return Err(unavailable("etcd transaction", e)),
        }
    }
}

/// Reads every compared key of `request`, in the order of its compares.
async fn read_compared(
    kv: &etcd::KvClient,
    request: &Request,
    deadline: tokio::time::Instant,
) -> Result<etcd::TxnResponse, MvccError> {
    let reads: Vec<etcd::TxnOp> = request
        .remote_compared
        .iter()
        .map(|(k, _)| etcd::TxnOp::get(k.clone(), Some(etcd::GetOptions::new().with_keys_only())))
        .collect();
    match tokio::time::timeout_at(deadline, kv.clone().txn(etcd::Txn::new().and_then(reads))).await
    {
        Ok(Ok(read)) => Ok(read),
        Ok(Err(e)) => Err(unavailable("reading the keys of a refused transaction", e)),
        Err(_) => Err(unavailable(
            "reading the keys of a refused transaction",
            "no answer in time",
        )),
    }
}

/// Reads the keys of `request` to learn whether it committed.
async fn outcome(
    kv: &etcd::KvClient,
    request: &Request,
    deadline: tokio::time::Instant,
) -> Outcome {
    let mut keys: Vec<&Vec<u8>> = request
        .remote_compared
        .iter()
        .map(|(k, _)| k)
        .chain(request.effects.iter().map(|(k, _)| k))
        .collect();
    keys.sort();
    keys.dedup();
    let read = etcd::Txn::new().and_then(
        keys.iter()
            .map(|k| etcd::TxnOp::get((*k).clone(), None))
            .collect::<Vec<_>>(),
    );
    let Ok(Ok(answer)) = tokio::time::timeout_at(deadline, kv.clone().txn(read)).await else {
        return Outcome::Unknown;
    };
    let mut found: std::collections::HashMap<Vec<u8>, (u64, Vec<u8>)> =
        std::collections::HashMap::new();
    for response in answer.op_responses() {
        if let etcd::TxnOpResponse::Get(get) = response {
            for kv in get.kvs() {
                let revision = u64::try_from(kv.mod_revision()).unwrap_or(0);
                found.insert(kv.key().to_vec(), (revision, kv.value().to_vec()));
            }
        }
    }
    let compares_hold = request
        .remote_compared
        .iter()
        .all(|(k, expected)| found.get(k).map_or(0, |(r, _)| *r) == *expected);
    if compares_hold {
        return Outcome::NotDone;
    }
    let mut revision = 0;
    for (k, effect) in &request.effects {
        match (effect, found.get(k)) {
            (Some(value), Some((at, stored))) if stored == value => revision = revision.max(*at),
            (None, None) => {}
            _ => return Outcome::Unknown,
        }
    }
    // A write of deletes alone leaves no revision to wait for: its outcome stays unknown.
    if revision == 0 {
        return Outcome::Unknown;
    }
    Outcome::Done(revision)
}

impl Remote {
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, MvccError>> + Send + 'static,
    ) -> Result<T, MvccError> {
        run_on(&self.handle, future)
    }

    /// `txn` as an etcd transaction: the compares, then its writes except those in
    /// `unchanged` (which become compares instead). A refused one is followed by a read of
    /// every compared key, to report which compare failed.
    fn request(&self, txn: &Txn, unchanged: &[(Vec<u8>, u64)]) -> Result<Request, MvccError> {
        let mut checks: Vec<(Vec<u8>, u64, bool)> = txn
            .compares
            .iter()
            .map(|c| {
                let super::Compare::ModRevision { key, revision } = c;
                (key.clone(), *revision, true)
            })
            .collect();
        for (key, at) in unchanged {
            if !checks.iter().any(|(k, _, _)| k == key) {
                checks.push((key.clone(), *at, false));
            }
        }
        let mut compares = Vec::with_capacity(checks.len());
        let mut remote_compared = Vec::with_capacity(checks.len());
        for (key, revision, _) in &checks {
            let remote = self.keys.to_remote(key)?;
            remote_compared.push((remote.clone(), *revision));
            let expected = i64::try_from(*revision)
                .map_err(|_| MvccError::InvalidTxn(format!("revision {revision} is too large")))?;
            compares.push(etcd::Compare::mod_revision(
                remote.clone(),
                etcd::CompareOp::Equal,
                expected,
            ));
        }
        let mut writes = Vec::with_capacity(txn.ops.len());
        let mut effects = Vec::with_capacity(txn.ops.len());
        for op in &txn.ops {
            let (TxnOp::Put { key, .. } | TxnOp::Delete { key }) = op;
            if unchanged.iter().any(|(k, _)| k == key) {
                continue;
            }
            let remote = self.keys.to_remote(key)?;
            writes.push(match op {
                TxnOp::Put { value, .. } => {
                    effects.push((remote.clone(), Some(value.clone())));
                    etcd::TxnOp::put(remote, value.clone(), None)
                }
                TxnOp::Delete { .. } => {
                    effects.push((remote.clone(), None));
                    etcd::TxnOp::delete(remote, None)
                }
            });
        }
        Ok(Request {
            writes: !writes.is_empty(),
            txn: etcd::Txn::new().when(compares).and_then(writes),
            compared: checks,
            remote_compared,
            effects,
        })
    }

    /// Sends `elided` (the transaction without the writes that change nothing) when there
    /// is one, and `plain` when there is none or an assumption of `elided` failed; answers as
    /// [`Mvcc::commit`] does, once the index holds the outcome (`current` reads the index's
    /// published revision).
    fn commit(
        &self,
        elided: Option<Request>,
        plain: Request,
        current: super::publish::Reader,
        index: std::sync::Weak<super::Inner>,
    ) -> impl Future<Output = Result<TxnResult, MvccError>> + Send + 'static {
        // One client handle per write: cloning tonic's client costs as much as a small
        // request's encoding.
        let mut kv = self.client.kv_client();
        let timeout = self.timeout;
        let applied = self.applied.clone();
        async move {
            async fn send(
                kv: &mut etcd::KvClient,
                request: Request,
                timeout: Duration,
            ) -> Result<(Sent, Vec<(Vec<u8>, u64, bool)>, bool), MvccError> {
                let sent = send_write(kv, &request, timeout).await?;
                Ok((sent, request.compared, request.writes))
            }
            let (sent, compared, writes) = match elided {
                Some(elided) => {
                    let answer = send(&mut kv, elided, timeout).await?;
                    let done = match &answer.0 {
                        Sent::Committed(_) | Sent::Answered(_) => true,
                        Sent::Refused(read) => failed_compare(read, &answer.1).is_some_and(|f| f.3),
                    };
                    if done {
                        answer
                    } else {
                        // A write assumed to change nothing would change something now.
                        send(&mut kv, plain, timeout).await?
                    }
                }
                None => send(&mut kv, plain, timeout).await?,
            };
            let response = match sent {
                Sent::Answered(response) => response,
                Sent::Refused(read) => {
                    return Err(refused(&read, &compared, &index, &applied, timeout).await);
                }
                Sent::Committed(revision) => {
                    if !applied.wait(revision, timeout).await {
                        return Err(MvccError::Unavailable(format!(
                            "etcd committed revision {revision}, but this store's watch has \
                             not delivered it within {timeout:?}"
                        )));
                    }
                    return Ok(TxnResult {
                        revision,
                        changed: true,
                    });
                }
            };
            let revision = header_revision(response.header());
            let changed = writes
                && response.op_responses().iter().any(|r| match r {
                    etcd::TxnOpResponse::Put(_) => true,
                    etcd::TxnOpResponse::Delete(d) => d.deleted() > 0,
                    _ => false,
                });
            if !changed {
                return Ok(TxnResult {
                    revision: current.current(),
                    changed: false,
                });
            }
            if !applied.wait(revision, timeout).await {
                return Err(MvccError::Unavailable(format!(
                    "etcd committed revision {revision}, but this store's watch has not \
                     delivered it within {timeout:?}"
                )));
            }
            Ok(TxnResult {
                revision,
                changed: true,
            })
        }
    }

    /// Whether any key of the remote range `[start, end)` changed after revision `after`,
    /// and how many keys the range holds now (not counting `compact_rev_key`). One range read
    /// of keys only; etcd counts before it filters by mod revision, so the count is the
    /// range's.
    fn changes_after(
        &self,
        start: Vec<u8>,
        end: Vec<u8>,
        after: u64,
    ) -> impl Future<Output = Result<(bool, usize), MvccError>> + Send + 'static {
        let kv = self.client.kv_client();
        let compact_key = self.keys.compact_key();
        let timeout = self.timeout;
        async move {
            let min = i64::try_from(after + 1).unwrap_or(i64::MAX);
            let holds_compact_key = compact_key >= start && compact_key < end;
            // Both reads in one read-only `Txn`: one round trip, one revision.
            let reads = etcd::Txn::new().and_then([
                etcd::TxnOp::get(
                    start,
                    Some(
                        etcd::GetOptions::new()
                            .with_range(end)
                            .with_keys_only()
                            .with_min_mod_revision(min),
                    ),
                ),
                etcd::TxnOp::get(
                    compact_key.clone(),
                    Some(etcd::GetOptions::new().with_count_only()),
                ),
            ]);
            let answer = call(timeout, "reading a range of etcd", Repeat::Read, || {
                let (mut kv, reads) = (kv.clone(), reads.clone());
                async move { kv.txn(reads).await }
            })
            .await?;
            let answers = answer.op_responses();
            let (Some(etcd::TxnOpResponse::Get(range)), Some(etcd::TxnOpResponse::Get(key))) =
                (answers.first(), answers.get(1))
            else {
                return Err(MvccError::Unavailable(
                    "etcd answered a range read without its ranges".into(),
                ));
            };
            let changed = range
                .kvs()
                .iter()
                .any(|kv| kv.key() != compact_key.as_slice());
            let mut total = usize::try_from(range.count()).unwrap_or(usize::MAX);
            if holds_compact_key && key.count() > 0 {
                total = total.saturating_sub(1);
            }
            Ok((changed, total))
        }
    }

    /// etcd's current revision, from a linearizable count of one key (etcd answers a count
    /// from its in-memory index, reading no value).
    fn revision_now(&self) -> impl Future<Output = Result<u64, MvccError>> + Send + 'static {
        let kv = self.client.kv_client();
        let compact_key = self.keys.compact_key();
        let timeout = self.timeout;
        async move {
            let answer = call(timeout, "reading etcd's revision", Repeat::Read, || {
                let (mut kv, key) = (kv.clone(), compact_key.clone());
                async move {
                    kv.get(key, Some(etcd::GetOptions::new().with_count_only()))
                        .await
                }
            })
            .await?;
            Ok(header_revision(answer.header()))
        }
    }

    /// Waits up to `wait` until the index has applied `revision`.
    fn catch_up_within(
        &self,
        revision: u64,
        wait: Duration,
    ) -> impl Future<Output = Result<bool, MvccError>> + Send + 'static {
        let applied = self.applied.clone();
        async move { Ok(applied.wait(revision, wait).await) }
    }

    /// Moves `compact_rev_key` to `revision` unless it is there already, then compacts etcd.
    /// Returns the revision of the key's write, when this call made it.
    fn compact(
        &self,
        revision: u64,
    ) -> impl Future<Output = Result<Option<u64>, MvccError>> + Send + 'static {
        let kv = self.client.kv_client();
        let client = self.client.clone();
        let key = self.keys.compact_key();
        let timeout = self.timeout;
        async move {
            loop {
                let read = call(timeout, "reading compact_rev_key", Repeat::Read, || {
                    let (mut kv, key) = (kv.clone(), key.clone());
                    async move { kv.get(key, None).await }
                })
                .await?;
                let (done, version) = match read.kvs().first() {
                    Some(kv) => (
                        std::str::from_utf8(kv.value())
                            .ok()
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(0),
                        kv.version(),
                    ),
                    None => (0, 0),
                };
                if done >= revision {
                    return Ok(None);
                }
                let swap = etcd::Txn::new()
                    .when([etcd::Compare::version(
                        key.clone(),
                        etcd::CompareOp::Equal,
                        version,
                    )])
                    .and_then([etcd::TxnOp::put(key.clone(), revision.to_string(), None)]);
                let swapped = call(timeout, "moving compact_rev_key", Repeat::Write, || {
                    let (mut kv, swap) = (kv.clone(), swap.clone());
                    async move { kv.txn(swap).await }
                })
                .await?;
                if !swapped.succeeded() {
                    // Another store moved it meanwhile: read it again.
                    continue;
                }
                let at = header_revision(swapped.header());
                let target = i64::try_from(revision).unwrap_or(i64::MAX);
                let compacted = call(timeout, "compacting etcd", Repeat::Read, || {
                    let mut client = client.clone();
                    async move { client.compact(target, None).await }
                })
                .await;
                match compacted {
                    Ok(_) => return Ok(Some(at)),
                    // Another store compacted further already.
                    Err(e) if e.to_string().contains("compacted") => return Ok(Some(at)),
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// The error of a refused transaction, answered once the index holds what made a compare
/// fail (the key at the mod revision etcd found; absent: 0), so that a caller reading again
/// before it retries sees what etcd saw.
async fn refused(
    read: &etcd::TxnResponse,
    compared: &[(Vec<u8>, u64, bool)],
    index: &std::sync::Weak<super::Inner>,
    applied: &Applied,
    timeout: Duration,
) -> MvccError {
    let failed = failed_compare(read, compared);
    if let Some((_, key, _, _, actual)) = &failed {
        let holds = || {
            index.upgrade().is_none_or(|inner| {
                let mvcc = Mvcc { inner };
                mvcc.latest_value(key).map_or(0, |(at, _)| at) == *actual
                    || (*actual > 0 && mvcc.current_revision() > *actual)
            })
        };
        let deadline = tokio::time::Instant::now() + timeout;
        while !holds() {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break;
            }
            applied.wait(applied.current() + 1, deadline - now).await;
        }
    }
    let (index, key, expected, actual) = match failed {
        Some((index, key, expected, _, actual)) => (index, key, expected, actual),
        None => (0, Vec::new(), 0, 0),
    };
    MvccError::CompareFailed {
        index,
        key: String::from_utf8_lossy(&key).into_owned(),
        expected,
        actual,
    }
}

/// The first compare of a refused `Txn` that did not hold: its position, key, expected mod
/// revision, whether the caller asked for it, and the mod revision found (`read` holds a read
/// of every compared key, in order).
fn failed_compare(
    read: &etcd::TxnResponse,
    compared: &[(Vec<u8>, u64, bool)],
) -> Option<(usize, Vec<u8>, u64, bool, u64)> {
    for (index, (answer, (key, expected, asked))) in
        read.op_responses().iter().zip(compared).enumerate()
    {
        let etcd::TxnOpResponse::Get(get) = answer else {
            continue;
        };
        let actual = get
            .kvs()
            .first()
            .map_or(0, |kv| u64::try_from(kv.mod_revision()).unwrap_or(0));
        if actual != *expected {
            return Some((index, key.clone(), *expected, *asked, actual));
        }
    }
    None
}

/// Whether `range` holds one key at most: `[k, k + "\0")`.
fn is_one_key(range: &KeyRange) -> bool {
    match (&range.start, &range.end) {
        (Bound::Included(start), Bound::Excluded(end)) => {
            end.len() == start.len() + 1 && end.starts_with(start) && end.last() == Some(&0)
        }
        _ => false,
    }
}

fn header_revision(header: Option<&etcd::ResponseHeader>) -> u64 {
    header.map_or(0, |h| u64::try_from(h.revision()).unwrap_or(0))
}
