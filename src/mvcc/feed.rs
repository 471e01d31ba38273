//! A cursor over the change feed: replays retained history, then follows live commits.
//!
//! The feed holds no buffer of its own beyond one revision's changes: it reads from the
//! index's revision log, so a slow reader costs nothing to writers and loses nothing, until a
//! compaction passes its position — then it reports [`MvccError::Compacted`].

use super::{Change, Mvcc, MvccError};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Revisions read per refill.
const REFILL_REVISIONS: usize = 1024;

/// An ordered cursor over every change after a revision. See [`Mvcc::feed`].
#[derive(Debug)]
pub struct ChangeFeed {
    mvcc: Mvcc,
    /// Every change with revision ≤ `position` has been handed out (or buffered).
    position: u64,
    buffered: VecDeque<Change>,
}

impl ChangeFeed {
    pub(super) fn new(mvcc: Mvcc, after: u64) -> Self {
        ChangeFeed {
            mvcc,
            position: after,
            buffered: VecDeque::new(),
        }
    }

    /// The revision through which changes have been read.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    fn refill(&mut self) -> Result<(), MvccError> {
        if !self.buffered.is_empty() || self.position >= self.mvcc.current_revision() {
            return Ok(());
        }
        let changes = self.mvcc.changes_after(self.position, REFILL_REVISIONS)?;
        match changes.last() {
            Some(last) => self.position = last.revision,
            None => self.position = self.mvcc.current_revision().max(self.position),
        }
        self.buffered.extend(changes);
        Ok(())
    }

    /// The next change if one is committed already.
    ///
    /// # Errors
    /// [`MvccError::Compacted`] when compaction removed changes the feed had not read yet.
    pub fn try_next(&mut self) -> Result<Option<Change>, MvccError> {
        self.refill()?;
        Ok(self.buffered.pop_front())
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
