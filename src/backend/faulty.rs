//! A fault-injecting wrapper: fails the Nth `write` or `flush` of the engine it wraps.
//!
//! Used by the tests that prove a failed commit leaves no trace; shipped in the crate so engine
//! implementors can run the same checks on their own engines.

use super::{Backend, BackendError, KeyRange, ScanItem, Table, WriteBatch};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Wraps an engine; `fail_write_at(n)` / `fail_flush_at(n)` make the nth following call fail
/// (counting from 1) without touching the inner engine. 0 disarms.
#[derive(Debug)]
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    writes_until_fault: Countdown,
    flushes_until_fault: Countdown,
}

impl FaultyBackend {
    /// Wraps `inner`, disarmed.
    #[must_use]
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        FaultyBackend {
            inner,
            writes_until_fault: Countdown::default(),
            flushes_until_fault: Countdown::default(),
        }
    }

    /// Makes the `n`th following `write` fail (0 disarms).
    pub fn fail_write_at(&self, n: u64) {
        self.writes_until_fault.arm(n);
    }

    /// Makes the `n`th following `flush` fail (0 disarms).
    pub fn fail_flush_at(&self, n: u64) {
        self.flushes_until_fault.arm(n);
    }
}

/// A fault trigger shared by the fault injectors: armed with N, the Nth following
/// [`Countdown::trip`] returns true (once); armed with 0 it never fires.
#[derive(Debug, Default)]
pub(crate) struct Countdown(AtomicU64);

impl Countdown {
    /// Arms the trigger for the `n`th following call (0 disarms).
    pub(crate) fn arm(&self, n: u64) {
        self.0.store(n, Ordering::SeqCst);
    }

    /// Counts one call; true when it is the armed one.
    pub(crate) fn trip(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 0).then(|| n - 1)
            })
            .is_ok_and(|before| before == 1)
    }
}

impl Backend for FaultyBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.inner.get(table, key)
    }

    fn scan<'a>(
        &'a self,
        table: Table,
        range: KeyRange,
    ) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
        self.inner.scan(table, range)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), BackendError> {
        if self.writes_until_fault.trip() {
            return Err(BackendError::Injected("write".into()));
        }
        self.inner.write(batch)
    }

    fn flush(&self) -> Result<(), BackendError> {
        if self.flushes_until_fault.trip() {
            return Err(BackendError::Injected("flush".into()));
        }
        self.inner.flush()
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn is_persistent(&self) -> bool {
        self.inner.is_persistent()
    }
}
