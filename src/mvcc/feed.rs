//! A cursor over the change feed: replays retained history, then follows live commits.
//!
//! The feed holds no buffer of its own beyond the revisions it has read ahead: recent
//! revisions come from the shared recent-changes window (built once per revision by the
//! commit leader, read without the index lock), older ones from the index's revision log.
//! A slow reader costs nothing to writers and loses nothing, until a compaction passes its
//! position — then it reports [`MvccError::Compacted`].

use super::recent::{Recorded, RevisionChanges};
use super::{Change, Mvcc, MvccError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Revisions read per refill from the index (the slow path, for feeds far behind).
const REFILL_REVISIONS: usize = 1024;

/// An ordered cursor over every change after a revision. See [`Mvcc::feed`].
#[derive(Debug)]
pub struct ChangeFeed {
    mvcc: Mvcc,
    /// Every change with revision ≤ `position` has been handed out (or buffered).
    position: u64,
    /// Whole revisions read ahead, oldest first.
    buffered: VecDeque<RevisionChanges>,
    /// Changes of the front revision already handed out by [`ChangeFeed::try_next`].
    taken: usize,
}

impl ChangeFeed {
    pub(super) fn new(mvcc: Mvcc, after: u64) -> Self {
        mvcc.inner.recent.feed_opened();
        ChangeFeed {
            mvcc,
            position: after,
            buffered: VecDeque::new(),
            taken: 0,
        }
    }

    /// The revision through which changes have been read.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    fn refill(&mut self) -> Result<(), MvccError> {
        if !self.buffered.is_empty() {
            return Ok(());
        }
        let current = self.mvcc.current_revision();
        if self.position >= current {
            return Ok(());
        }
        let recent = &self.mvcc.inner.recent;
        let compacted = recent.compacted();
        if self.position < compacted {
            return Err(MvccError::Compacted {
                requested: self.position,
                compacted,
            });
        }
        if let Some(revisions) = recent.read(self.position, current) {
            if let Some((last, _)) = revisions.last() {
                self.position = *last;
                self.buffered
                    .extend(revisions.into_iter().map(|(_, changes)| changes));
                return Ok(());
            }
        }
        // Behind the recent window: read the index.
        let changes = self.mvcc.recorded_after(self.position, REFILL_REVISIONS)?;
        match changes.last() {
            Some(last) => self.position = last.change.revision,
            None => self.position = self.mvcc.current_revision().max(self.position),
        }
        let mut group: Vec<Recorded> = Vec::new();
        for change in changes {
            if group
                .last()
                .is_some_and(|g| g.change.revision != change.change.revision)
            {
                self.buffered
                    .push_back(Arc::from(std::mem::take(&mut group)));
            }
            group.push(change);
        }
        if !group.is_empty() {
            self.buffered.push_back(Arc::from(group));
        }
        Ok(())
    }

    /// The next change if one is committed already.
    ///
    /// # Errors
    /// [`MvccError::Compacted`] when compaction removed changes the feed had not read yet.
    pub fn try_next(&mut self) -> Result<Option<Change>, MvccError> {
        self.refill()?;
        let Some(front) = self.buffered.front() else {
            return Ok(None);
        };
        let change = front[self.taken].change.clone();
        self.taken += 1;
        if self.taken >= front.len() {
            self.buffered.pop_front();
            self.taken = 0;
        }
        Ok(Some(change))
    }

    /// The rest of the next revision's changes (shared, not copied) if it is committed
    /// already; for readers that deliver a revision at a time (watch).
    ///
    /// # Errors
    /// As [`ChangeFeed::try_next`].
    pub(crate) fn try_next_revision(&mut self) -> Result<Option<RevisionChanges>, MvccError> {
        self.refill()?;
        let Some(front) = self.buffered.pop_front() else {
            return Ok(None);
        };
        let taken = std::mem::take(&mut self.taken);
        Ok(Some(if taken == 0 {
            front
        } else {
            Arc::from(&front[taken..])
        }))
    }

    /// The next change, waiting up to `timeout` for one to be committed.
    ///
    /// # Errors
    /// As [`ChangeFeed::try_next`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Change>, MvccError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(change) = self.try_next()? {
                return Ok(Some(change));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.mvcc.wait_for(self.position + 1, deadline - now);
        }
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.mvcc.inner.recent.feed_closed();
    }
}

impl Iterator for ChangeFeed {
    type Item = Result<Change, MvccError>;

    /// Blocks until the next change; ends only with an error item.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_timeout(Duration::from_secs(3600)) {
                Ok(Some(change)) => return Some(Ok(change)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
