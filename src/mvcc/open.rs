//! Opening a store: loading the engine's rows into the index, and for a durable store,
//! recovering from the write-ahead log (replaying what the engine does not hold yet).

use super::commit::commit_batch;
use super::wal::LogFaults;
use super::*;

impl Mvcc {
    /// Opens the mvcc state held by `backend`, creating the format record on a fresh engine.
    ///
    /// # Errors
    /// [`MvccError::UnsupportedFormat`] for an engine written by an unknown format version,
    /// [`MvccError::Corrupt`] for undecodable records, [`MvccError::Backend`] on engine failure.
    pub fn open(backend: Arc<dyn Backend>) -> Result<Self, MvccError> {
        let mut state = State {
            current: 1,
            ..State::default()
        };
        Self::ensure_format(&backend)?;
        if let Some(bytes) = backend.get(Table::Meta, META_COMPACTED)? {
            state.compacted = decode_u64("compacted", &bytes)?;
        }
        if let Some(bytes) = backend.get(Table::Meta, META_REVISION)? {
            state.current = decode_u64("revision", &bytes)?.max(1);
        }
        for item in backend.scan(Table::Revisions, KeyRange::all()) {
            let (key, value) = item?;
            let (revision, sub) = parse_revision_key(&key)?;
            let record = decode_record(&value)?;
            let version = Version {
                revision,
                sub,
                create_revision: record.create_revision,
                version: record.version,
                value: record.value.map(Arc::from),
            };
            state.insert(record.key, version);
        }
        let current = state.current;
        let recent = recent::RecentChanges::new();
        recent.set_compacted(state.compacted);
        Ok(Mvcc {
            inner: Arc::new(Inner {
                backend,
                state: RwLock::new(state),
                queue: Mutex::new(Queue::default()),
                writer: Mutex::new(()),
                stage: Mutex::new(()),
                pipeline: Mutex::new(stage::Pipeline::default()),
                published: publish::Publication::new(current),
                recent,
                wal: None,
                applier: None,
                checkpoint_bytes: std::sync::atomic::AtomicU64::new(DEFAULT_CHECKPOINT_BYTES),
                commits_in_flight: std::sync::atomic::AtomicUsize::new(0),
                last_group_answered: std::sync::atomic::AtomicU64::new(0),
                stats: StatCounters::default(),
                opened: std::time::Instant::now(),
                committer: std::sync::OnceLock::new(),
                #[cfg(feature = "etcd")]
                remote: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Opens a durable store: `backend` plus a write-ahead log in `wal_dir`. Every commit is
    /// acknowledged only after its log record is written and `fdatasync`ed (group commit: one
    /// sync per group of concurrent commits). Recovery replays every logged commit and
    /// compaction the engine does not hold yet, then checkpoints.
    ///
    /// # Errors
    /// As [`Mvcc::open`], plus [`MvccError::Log`] and [`MvccError::LogCorrupt`].
    pub fn open_durable(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
    ) -> Result<Self, MvccError> {
        Self::open_durable_inner(backend, wal_dir, None)
    }

    /// As [`Mvcc::open_durable`], with injected log-file faults (for tests of failure paths).
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    ///
    /// # Errors
    /// As [`Mvcc::open_durable`].
    pub fn open_durable_with_faults(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
        faults: Arc<LogFaults>,
    ) -> Result<Self, MvccError> {
        Self::open_durable_inner(backend, wal_dir, Some(faults))
    }

    fn open_durable_inner(
        backend: Arc<dyn Backend>,
        wal_dir: &std::path::Path,
        faults: Option<Arc<LogFaults>>,
    ) -> Result<Self, MvccError> {
        let (mut wal, entries) = Wal::open(wal_dir)?;
        if let Some(faults) = faults {
            wal.set_faults(faults);
        }
        // Make sure the format record exists before replaying into the engine.
        Self::ensure_format(&backend)?;
        let applied = match backend.get(Table::Meta, META_REVISION)? {
            Some(bytes) => decode_u64("revision", &bytes)?,
            None => 1,
        };
        let mut compactions = Vec::new();
        for entry in entries {
            match entry {
                LogEntry::Commit {
                    last_revision,
                    rows,
                } if last_revision > applied => {
                    // The rows are encoded records: `Mvcc::open` below decodes and checks them.
                    backend.write(commit_batch(rows, last_revision))?;
                }
                LogEntry::Commit { .. } => {}
                LogEntry::Compact { revision } => compactions.push(revision),
            }
        }
        let mut mvcc = Self::open(backend)?;
        for revision in compactions {
            mvcc.compact(revision)?;
        }
        mvcc.inner.backend.flush()?;
        if mvcc.inner.backend.is_persistent() || !wal.has_segment() {
            wal.rotate(mvcc.current_revision())?;
        }
        let applier = apply::Applier::start(
            mvcc.inner.backend.clone(),
            wal.dir().to_path_buf(),
            mvcc.current_revision(),
        )
        .map_err(|e| MvccError::Log {
            path: wal.dir().to_path_buf(),
            source: e,
        })?;
        match Arc::get_mut(&mut mvcc.inner) {
            Some(inner) => {
                inner.wal = Some(Mutex::new(wal));
                inner.applier = Some(applier);
            }
            None => {
                return Err(MvccError::InvalidTxn(
                    "store handle shared during open".into(),
                ))
            }
        }
        Ok(mvcc)
    }

    /// Checks the format record; on a fresh engine (no revisions stored) writes it. An engine
    /// holding revisions but no format record is corrupt.
    pub(super) fn ensure_format(backend: &Arc<dyn Backend>) -> Result<(), MvccError> {
        if let Some(bytes) = backend.get(Table::Meta, META_FORMAT)? {
            let found = decode_u32("format", &bytes)?;
            if found != FORMAT_VERSION {
                return Err(MvccError::UnsupportedFormat {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            return Ok(());
        }
        if backend
            .scan(Table::Revisions, KeyRange::all())
            .next()
            .is_some()
        {
            return Err(MvccError::Corrupt {
                table: Table::Meta,
                detail: "revisions are stored but the format record is missing".into(),
            });
        }
        let mut batch = WriteBatch::new();
        batch.put(Table::Meta, META_FORMAT, FORMAT_VERSION.to_be_bytes());
        batch.put(Table::Meta, META_REVISION, 1u64.to_be_bytes());
        backend.write(batch)?;
        Ok(())
    }
}
