//! The in-memory engine: one `BTreeMap` per table under a `RwLock`.
//!
//! It is the reference the other engines are compared with, the engine of `Store::memory()`,
//! and, with mvcc's write-ahead log in front of it, a durable in-memory store whose reopen
//! replays the whole log.

use super::{Backend, BackendError, KeyRange, ScanItem, Table, WriteBatch, WriteOp};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::fmt;

/// Rows read per lock acquisition while scanning, so a long scan never holds the lock for long.
const SCAN_CHUNK: usize = 256;

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

/// An engine that keeps everything in memory and loses it when dropped.
#[derive(Default)]
pub struct MemoryBackend {
    tables: RwLock<BTreeMap<Table, Tree>>,
}

impl MemoryBackend {
    /// An empty engine.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables = self.tables.read();
        let sizes: Vec<(Table, usize)> = tables.iter().map(|(t, m)| (*t, m.len())).collect();
        f.debug_struct("MemoryBackend")
            .field("rows", &sizes)
            .finish()
    }
}

impl Backend for MemoryBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self
            .tables
            .read()
            .get(&table)
            .and_then(|t| t.get(key))
            .cloned())
    }

    fn scan<'a>(
        &'a self,
        table: Table,
        range: KeyRange,
    ) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
        if range.is_empty() {
            return Box::new(std::iter::empty());
        }
        let mut next_start = range.start.clone();
        let mut buffer = std::collections::VecDeque::new();
        let mut done = false;
        Box::new(std::iter::from_fn(move || {
            if buffer.is_empty() && !done {
                let tables = self.tables.read();
                if let Some(tree) = tables.get(&table) {
                    let bounds = (next_start.clone(), range.end.clone());
                    buffer.extend(
                        tree.range::<Vec<u8>, _>(bounds)
                            .take(SCAN_CHUNK)
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                }
                if buffer.len() < SCAN_CHUNK {
                    done = true;
                }
                if let Some((last, _)) = buffer.back() {
                    next_start = std::ops::Bound::Excluded(last.clone());
                }
            }
            buffer.pop_front().map(Ok)
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), BackendError> {
        let mut tables = self.tables.write();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put { table, key, value } => {
                    tables.entry(table).or_default().insert(key, value);
                }
                WriteOp::Delete { table, key } => {
                    if let Some(tree) = tables.get_mut(&table) {
                        tree.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), BackendError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "memory"
    }

    fn is_persistent(&self) -> bool {
        false
    }
}
