//! Helpers shared by the tests that read and damage log segments by hand.
#![allow(dead_code)]

use apistore::backend::{Backend, MemoryBackend};
use apistore::mvcc::{Mvcc, MvccError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The newest segment of the log in `wal`.
pub fn segment(wal: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(wal)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.pop().expect("one segment")
}

/// Where the written frames end: segments are preallocated, so the file is longer.
pub fn data_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)
}

/// Opens the log in `wal` over a fresh engine, so everything comes from the log.
pub fn reopen(wal: &Path) -> Result<Mvcc, MvccError> {
    let engine: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    Mvcc::open_durable(engine, wal)
}

/// Drops the last `bytes` bytes of what the newest segment holds, as a crash mid-write does.
pub fn tear_log_tail(wal: &Path, bytes: u64) {
    let seg = segment(wal);
    let end = data_end(&std::fs::read(&seg).expect("read")) as u64;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open");
    file.set_len(end - bytes).expect("truncate");
}

/// The name the test harness knows test `function` of the module at `module_path` by (the
/// module path without the crate name), for re-running the test binary as a child process
/// limited to that one test.
pub fn harness_name(module_path: &str, function: &str) -> String {
    let within = module_path
        .split_once("::")
        .map_or(module_path, |(_, rest)| rest);
    format!("{within}::{function}")
}
