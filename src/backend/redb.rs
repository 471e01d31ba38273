//! The redb engine: a maintained, crash-safe B-tree engine, one redb table per [`Table`].
//!
//! Batches commit with `Durability::None` (the write-ahead log is the durability point, so
//! paying redb's two fsyncs per batch would only slow commits); [`Backend::flush`] commits an
//! empty transaction with `Durability::Immediate`, which makes every earlier batch durable.

use super::{Backend, BackendError, KeyRange, ScanItem, Table, WriteBatch, WriteOp};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::path::Path;

const META: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("meta");
const REVISIONS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("revisions");

fn definition(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    match table {
        Table::Meta => META,
        Table::Revisions => REVISIONS,
    }
}

fn engine_error(e: impl Into<redb::Error>) -> BackendError {
    match e.into() {
        redb::Error::Io(io) => BackendError::Io(io),
        other => BackendError::Engine {
            engine: "redb",
            source: Box::new(other),
        },
    }
}

/// An engine on a redb database file.
pub struct RedbBackend {
    db: Database,
    /// The database file, whose directory entry a flush makes durable.
    path: std::path::PathBuf,
}

impl std::fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbBackend").finish_non_exhaustive()
    }
}

impl RedbBackend {
    /// Opens (or creates) the redb database file at `path`, creating every table.
    ///
    /// # Errors
    /// [`BackendError`] when redb cannot open or initialise the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BackendError> {
        let db = Database::create(path.as_ref()).map_err(engine_error)?;
        let txn = db.begin_write().map_err(engine_error)?;
        for table in Table::ALL {
            txn.open_table(definition(table)).map_err(engine_error)?;
        }
        txn.commit().map_err(engine_error)?;
        Ok(RedbBackend {
            db,
            path: path.as_ref().to_path_buf(),
        })
    }

    fn commit(&self, batch: &[WriteOp], durability: Durability) -> Result<(), BackendError> {
        let mut txn = self.db.begin_write().map_err(engine_error)?;
        txn.set_durability(durability).map_err(engine_error)?;
        {
            let mut tables = Vec::with_capacity(Table::ALL.len());
            for table in Table::ALL {
                tables.push((
                    table,
                    txn.open_table(definition(table)).map_err(engine_error)?,
                ));
            }
            for op in batch {
                match op {
                    WriteOp::Put { table, key, value } => {
                        if let Some((_, t)) = tables.iter_mut().find(|(n, _)| n == table) {
                            t.insert(key.as_slice(), value.as_slice())
                                .map_err(engine_error)?;
                        }
                    }
                    WriteOp::Delete { table, key } => {
                        if let Some((_, t)) = tables.iter_mut().find(|(n, _)| n == table) {
                            t.remove(key.as_slice()).map_err(engine_error)?;
                        }
                    }
                }
            }
        }
        txn.commit().map_err(engine_error)
    }
}

impl Backend for RedbBackend {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let txn = self.db.begin_read().map_err(engine_error)?;
        let t = txn.open_table(definition(table)).map_err(engine_error)?;
        Ok(t.get(key)
            .map_err(engine_error)?
            .map(|v| v.value().to_vec()))
    }

    fn scan<'a>(
        &'a self,
        table: Table,
        range: KeyRange,
    ) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
        if range.is_empty() {
            return Box::new(std::iter::empty());
        }
        let opened = self
            .db
            .begin_read()
            .map_err(engine_error)
            .and_then(|txn| txn.open_table(definition(table)).map_err(engine_error));
        let t = match opened {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
            match b {
                Bound::Included(k) => Bound::Included(k.as_slice()),
                Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                Bound::Unbounded => Bound::Unbounded,
            }
        }
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (as_ref(&range.start), as_ref(&range.end));
        match t.range::<&[u8]>(bounds) {
            Ok(iter) => Box::new(iter.map(|item| {
                item.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                    .map_err(engine_error)
            })),
            Err(e) => Box::new(std::iter::once(Err(engine_error(e)))),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), BackendError> {
        self.commit(batch.ops(), Durability::None)
    }

    fn flush(&self) -> Result<(), BackendError> {
        // redb syncs its file on an immediate commit; the file's directory entry is ours.
        self.commit(&[], Durability::Immediate)?;
        crate::durable::sync_parent(&self.path)?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "redb"
    }
}
