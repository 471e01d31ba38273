//! The commit path: group commit, pipelined staging, the log append and sync, publication.
//! See `docs/design/durability.md` for how the pieces fit together.

use super::*;

impl Mvcc {
    /// Commits `txn`: all of it under one new revision, or nothing.
    ///
    /// # Errors
    /// [`MvccError::CompareFailed`] when a compare does not hold, [`MvccError::InvalidTxn`] for
    /// an empty key or a key written twice, [`MvccError::Backend`] when the engine write fails
    /// (then nothing is visible and no revision is consumed).
    pub fn commit(&self, txn: Txn) -> Result<TxnResult, MvccError> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return self.submit_remote(remote, txn)?.wait();
        }
        validate_shape(&txn)?;
        let _in_flight = InFlight::enter(&self.inner.commits_in_flight);
        let waiter = Waiter::for_this_thread();
        let lead = self.inner.queue.lock().push(Request {
            txn,
            waiter: waiter.clone(),
            can_lead: true,
        });
        if !lead {
            match waiter.wait() {
                Reply::Done(result) => return result,
                Reply::Lead => {}
            }
        }
        self.lead_group();
        match waiter.wait() {
            Reply::Done(result) => result,
            Reply::Lead => Err(MvccError::InvalidTxn("commit reply lost".into())),
        }
    }

    /// Queues `txn` for the next commit group and returns at once: the [`Pending`] reports
    /// the outcome [`Mvcc::commit`] would have returned, once the group is written (and, in
    /// a durable store, synced to the log). One thread can keep many commits in flight this
    /// way, as an async server keeps many requests in flight, and they share log syncs
    /// exactly as concurrent [`Mvcc::commit`]s do. Submitted transactions are ordered among
    /// themselves as they were submitted.
    ///
    /// # Errors
    /// [`MvccError::InvalidTxn`] for a malformed transaction (before anything is queued);
    /// [`MvccError::Log`] when the background committer threads cannot be started. Every other
    /// failure arrives through the [`Pending`].
    pub fn submit(&self, txn: Txn) -> Result<Pending, MvccError> {
        #[cfg(feature = "etcd")]
        if let Some(remote) = self.remote() {
            return self.submit_remote(remote, txn);
        }
        validate_shape(&txn)?;
        let committer = self.committer()?;
        let (waiter, pending) =
            queue::submitted(self.inner.clone() as Arc<dyn std::any::Any + Send + Sync>);
        self.inner
            .commits_in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lead = self.inner.queue.lock().push(Request {
            txn,
            waiter,
            can_lead: false,
        });
        if lead {
            committer.request_lead();
        }
        Ok(pending)
    }

    /// The committer threads, started on first use.
    fn committer(&self) -> Result<&queue::CommitterThreads, MvccError> {
        if let Some(committer) = self.inner.committer.get() {
            return Ok(committer);
        }
        let started = queue::CommitterThreads::start(Arc::downgrade(&self.inner), |inner| {
            Mvcc {
                inner: inner.clone(),
            }
            .lead_group();
        })
        .map_err(|source| MvccError::Log {
            path: std::path::PathBuf::from("<committer threads>"),
            source,
        })?;
        // When a racing submit set its thread first, ours is stopped as `started` drops.
        let _ = self.inner.committer.set(started);
        self.inner
            .committer
            .get()
            .ok_or_else(|| MvccError::InvalidTxn("committer threads lost".into()))
    }

    /// Leads one group (everything queued now): stages it, and once it holds the writer lock
    /// passes leadership on (to a committer thread when a submitted request is first in line).
    fn lead_group(&self) {
        let group = std::mem::take(&mut self.inner.queue.lock().pending);
        let mut staged = self.stage_more(None, group);
        // While the group before syncs, requests queueing up join this group and are staged
        // on top of it as they come; those left when the writer lock is free join under it.
        let writer = loop {
            if let Some(writer) = self.inner.writer.try_lock_for(STAGE_POLL) {
                break writer;
            }
            let more = std::mem::take(&mut self.inner.queue.lock().pending);
            if !more.is_empty() {
                staged = self.stage_more(Some(staged), more);
            }
        };
        let late = std::mem::take(&mut self.inner.queue.lock().pending);
        let staged = self.complete(staged, late);
        let next = self.inner.queue.lock().next_leader();
        if matches!(next, NextLeader::CommitterThread) {
            if let Some(committer) = self.inner.committer.get() {
                committer.request_lead();
            }
        }
        let replies = self.write_staged(staged, writer);
        self.inner.last_group_answered.store(
            (self.inner.opened.elapsed().as_nanos() as u64).max(1),
            std::sync::atomic::Ordering::Relaxed,
        );
        let in_flight = &self.inner.commits_in_flight;
        queue::answer_all(replies.into_iter().map(|(waiter, can_lead, result)| {
            if !can_lead {
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
            (waiter, Reply::Done(result))
        }));
    }

    /// Stages `group` (on top of `staged`, which it joins, when given).
    fn stage_more(&self, staged: Option<stage::Staged>, group: Vec<Request>) -> stage::Staged {
        let later = {
            let _stage = self.inner.stage.lock();
            stage::stage(&self.inner.pipeline, &self.inner.state, group, false)
        };
        match staged {
            Some(mut staged) => {
                staged.absorb(later);
                staged
            }
            None => later,
        }
    }

    /// Under the writer lock, before the next leader is chosen: `staged` with the requests
    /// queued since (`late`) staged on top of it; or, when the group it was staged on did not
    /// commit as staged, both evaluated again against the published state.
    fn complete(&self, mut staged: stage::Staged, late: Vec<Request>) -> stage::Staged {
        let valid = self.inner.pipeline.lock().published == staged.depends_on;
        if !valid {
            let mut group = staged.group;
            group.extend(late);
            return stage::stage(&self.inner.pipeline, &self.inner.state, group, true);
        }
        if !late.is_empty() {
            let later = stage::stage(&self.inner.pipeline, &self.inner.state, late, false);
            staged.absorb(later);
        }
        staged
    }

    /// Logs, syncs and publishes a completed group under the writer lock (`_writer`).
    /// Returns each committer's result, for the caller to deliver once the lock is released.
    fn write_staged(
        &self,
        staged: stage::Staged,
        _writer: parking_lot::MutexGuard<'_, ()>,
    ) -> Vec<(Arc<Waiter>, bool, Result<TxnResult, MvccError>)> {
        let stage::Staged {
            group,
            mut results,
            mut published,
            rows,
            seq,
            ..
        } = staged;
        let started = std::time::Instant::now();
        let last_revision = published.last().map_or(0, |(_, v)| v.revision);
        let entry = LogEntry::Commit {
            last_revision,
            rows,
        };
        let mut wal = self.inner.wal.as_ref().map(|w| w.lock());
        let log_len_before = wal.as_ref().map_or(0, |w| w.segment_len());
        let mut failure: Option<MvccError> = None;
        let mut synced = false;
        if let (Some(wal), false) = (wal.as_mut(), published.is_empty()) {
            match wal.append(&entry, true) {
                Ok(()) => synced = true,
                Err(e) => failure = Some(e),
            }
        }
        let rows = match entry {
            LogEntry::Commit { rows, .. } => rows,
            LogEntry::Compact { .. } => Vec::new(),
        };
        if failure.is_none() && !rows.is_empty() {
            match &self.inner.applier {
                // Durable: the group is in the log; the engine catches up in the background.
                Some(applier) => applier.enqueue(rows, last_revision),
                None => {
                    if let Err(e) = self.inner.backend.write(commit_batch(rows, last_revision)) {
                        if let Some(wal) = wal.as_mut() {
                            wal.truncate_to(log_len_before);
                        }
                        failure = Some(MvccError::Backend(e));
                    }
                }
            }
        }
        let committed = failure.is_none();
        if let Some(e) = failure {
            let message = e.to_string();
            let mut first = Some(e);
            for result in &mut results {
                *result = Err(first.take().unwrap_or_else(|| {
                    MvccError::Backend(BackendError::Injected(format!("group failed: {message}")))
                }));
            }
            published.clear();
        }
        if !published.is_empty() {
            let current = self.publish_versions(published, 0);
            if let (Some(wal), Some(applier)) = (wal.as_mut(), &self.inner.applier) {
                let limit = self
                    .inner
                    .checkpoint_bytes
                    .load(std::sync::atomic::Ordering::Relaxed);
                if wal.segment_len() > limit && self.inner.backend.is_persistent() {
                    // The old segments end at `current`; they go once the engine holds it.
                    // A failed new segment keeps appending to the old one: replay stays correct.
                    if let Ok(keep) = wal.start_segment(current) {
                        applier.checkpoint(current, keep);
                    }
                }
            }
        }
        // After the state: a staging that sees this group settled reads its versions there.
        self.inner.pipeline.lock().settle(seq, committed);
        if committed {
            let stats = &self.inner.stats;
            let relaxed = std::sync::atomic::Ordering::Relaxed;
            stats.groups.fetch_add(1, relaxed);
            let done = results.iter().filter(|r| r.is_ok()).count() as u64;
            stats.transactions.fetch_add(done, relaxed);
            stats.log_syncs.fetch_add(u64::from(synced), relaxed);
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            stats.write_nanos.fetch_add(nanos, relaxed);
        }
        group
            .into_iter()
            .zip(results)
            .map(|(request, result)| (request.waiter, request.can_lead, result))
            .collect()
    }
}

impl Mvcc {
    /// Puts committed versions (in revision order) into the index, records each revision's
    /// changes for the change feeds, and publishes the newest revision, or `at_least` when
    /// that is newer (a revision known to hold nothing more). Returns the published revision.
    pub(super) fn publish_versions(
        &self,
        published: Vec<(Vec<u8>, Version)>,
        at_least: u64,
    ) -> u64 {
        let mut state = self.inner.state.write();
        // Each revision's changes are built once here, read by every change feed without
        // the index lock; skipped while no feed is open.
        let revisions = self.inner.recent.wanted().then(|| {
            let mut revisions: Vec<u64> = published.iter().map(|(_, v)| v.revision).collect();
            revisions.dedup();
            revisions
        });
        for (key, version) in published {
            state.insert(key, version);
        }
        if let Some(revisions) = revisions {
            for revision in revisions {
                self.inner
                    .recent
                    .record(revision, state.recorded_at(revision));
            }
        }
        state.current = state.current.max(at_least);
        let current = state.current;
        drop(state);
        self.inner.published.publish(current);
        current
    }
}

/// The engine batch of one commit group: its encoded rows and the new applied revision.
pub(super) fn commit_batch(
    rows: impl IntoIterator<Item = (u64, u32, Vec<u8>)>,
    last_revision: u64,
) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for (revision, sub, bytes) in rows {
        batch.put(Table::Revisions, revision_key(revision, sub), bytes);
    }
    batch.put(Table::Meta, META_REVISION, last_revision.to_be_bytes());
    batch
}

pub(super) fn validate_shape(txn: &Txn) -> Result<(), MvccError> {
    if let [TxnOp::Put { key, .. } | TxnOp::Delete { key }] = txn.ops.as_slice() {
        // One write cannot repeat a key: skip the set.
        if key.is_empty() {
            return Err(MvccError::InvalidTxn("empty key".into()));
        }
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    for op in &txn.ops {
        let key = match op {
            TxnOp::Put { key, .. } | TxnOp::Delete { key } => key,
        };
        if key.is_empty() {
            return Err(MvccError::InvalidTxn("empty key".into()));
        }
        if !seen.insert(key.as_slice()) {
            return Err(MvccError::InvalidTxn(format!(
                "key {:?} is written twice",
                String::from_utf8_lossy(key)
            )));
        }
    }
    Ok(())
}
