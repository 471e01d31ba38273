//! Byte layout of what mvcc stores in the engine.
//!
//! * `Revisions`: key = revision (u64 big-endian) ++ sub-index (u32 big-endian), so a forward
//!   scan is the change history in commit order; value = a bincode [`Record`] (a fixed,
//!   versioned internal record — object bodies inside it are opaque bytes, JSON for the store).
//! * `Meta`: `format` (u32 BE), `revision` (u64 BE, the last applied revision), `compacted`
//!   (u64 BE, the compaction point).

use super::MvccError;
use crate::backend::Table;

/// The storage format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Meta key of the format version record.
pub const META_FORMAT: &[u8] = b"format";
/// Meta key of the last applied revision.
pub const META_REVISION: &[u8] = b"revision";
/// Meta key of the compaction point.
pub const META_COMPACTED: &[u8] = b"compacted";

/// Largest record we agree to decode: bounds allocation on corrupt input.
const DECODE_LIMIT: usize = 256 * 1024 * 1024;

/// One version of one key as stored: a put (value `Some`) or a tombstone (`None`).
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Record {
    /// The user key.
    pub key: Vec<u8>,
    /// The value, or `None` for a deletion.
    pub value: Option<Vec<u8>>,
    /// Revision at which the key's current incarnation was created (0 for a tombstone).
    pub create_revision: u64,
    /// Number of puts since the incarnation was created (0 for a tombstone).
    pub version: u64,
}

/// Borrowed twin of [`Record`] for encoding without copying; encodes to identical bytes.
#[derive(bincode::Encode)]
pub struct RecordRef<'a> {
    /// The user key.
    pub key: &'a [u8],
    /// The value, or `None` for a deletion.
    pub value: Option<&'a [u8]>,
    /// See [`Record::create_revision`].
    pub create_revision: u64,
    /// See [`Record::version`].
    pub version: u64,
}

/// Encodes a record.
#[must_use]
pub fn encode_record(record: &RecordRef<'_>) -> Vec<u8> {
    // Written by hand, byte for byte what bincode's fixed-int encoding of `RecordRef` gives
    // (the unit test below checks it): one exact allocation instead of bincode's growing
    // writer, which showed up in profiles of large values.
    let value_len = record.value.map_or(0, |v| 8 + v.len());
    let mut out = Vec::with_capacity(8 + record.key.len() + 1 + value_len + 16);
    out.extend_from_slice(&(record.key.len() as u64).to_le_bytes());
    out.extend_from_slice(record.key);
    match record.value {
        Some(value) => {
            out.push(1);
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&record.create_revision.to_le_bytes());
    out.extend_from_slice(&record.version.to_le_bytes());
    out
}

/// Decodes a record; trailing bytes or a truncated record are corruption.
///
/// # Errors
/// [`MvccError::Corrupt`] when the bytes are not a record.
pub fn decode_record(bytes: &[u8]) -> Result<Record, MvccError> {
    if bytes.len() > DECODE_LIMIT {
        return Err(corrupt(
            Table::Revisions,
            format!("record of {} bytes is too large", bytes.len()),
        ));
    }
    // postmortem: without a limit, a corrupt length prefix made bincode allocate `usize::MAX`
    // bytes and abort with "capacity overflow" (found by the fuzz corpus replay).
    let limited = bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_LIMIT>();
    match bincode::decode_from_slice::<Record, _>(bytes, limited) {
        Ok((record, used)) if used == bytes.len() => Ok(record),
        Ok((_, used)) => Err(corrupt(
            Table::Revisions,
            format!(
                "{} trailing bytes after a record of {used}",
                bytes.len() - used
            ),
        )),
        Err(e) => Err(corrupt(Table::Revisions, e.to_string())),
    }
}

/// The engine key of version `sub` of revision `revision`.
#[must_use]
pub fn revision_key(revision: u64, sub: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&revision.to_be_bytes());
    key[8..].copy_from_slice(&sub.to_be_bytes());
    key
}

/// Splits an engine key back into (revision, sub).
///
/// # Errors
/// [`MvccError::Corrupt`] when the key is not 12 bytes.
pub fn parse_revision_key(key: &[u8]) -> Result<(u64, u32), MvccError> {
    match (key.get(..8), key.get(8..)) {
        (Some(rev), Some(sub)) if key.len() == 12 => {
            let mut r = [0u8; 8];
            r.copy_from_slice(rev);
            let mut s = [0u8; 4];
            s.copy_from_slice(sub);
            Ok((u64::from_be_bytes(r), u32::from_be_bytes(s)))
        }
        _ => Err(corrupt(
            Table::Revisions,
            format!("revision key of {} bytes", key.len()),
        )),
    }
}

/// Decodes a big-endian u64 meta value.
///
/// # Errors
/// [`MvccError::Corrupt`] when the value is not 8 bytes.
pub fn decode_u64(name: &str, bytes: &[u8]) -> Result<u64, MvccError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| {
        corrupt(
            Table::Meta,
            format!("{name} has {} bytes, expected 8", bytes.len()),
        )
    })?;
    Ok(u64::from_be_bytes(arr))
}

/// Decodes a big-endian u32 meta value.
///
/// # Errors
/// [`MvccError::Corrupt`] when the value is not 4 bytes.
pub fn decode_u32(name: &str, bytes: &[u8]) -> Result<u32, MvccError> {
    let arr: [u8; 4] = bytes.try_into().map_err(|_| {
        corrupt(
            Table::Meta,
            format!("{name} has {} bytes, expected 4", bytes.len()),
        )
    })?;
    Ok(u32::from_be_bytes(arr))
}

fn corrupt(table: Table, detail: String) -> MvccError {
    MvccError::Corrupt { table, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> impl bincode::config::Config {
        bincode::config::standard().with_fixed_int_encoding()
    }

    #[test]
    fn borrowed_and_owned_records_encode_identically() {
        let owned = Record {
            key: b"k".to_vec(),
            value: Some(b"v".to_vec()),
            create_revision: 2,
            version: 3,
        };
        let borrowed = RecordRef {
            key: b"k",
            value: Some(b"v"),
            create_revision: 2,
            version: 3,
        };
        let bytes = encode_record(&borrowed);
        assert_eq!(
            bincode::encode_to_vec(&owned, config()).ok(),
            Some(bytes.clone())
        );
        assert_eq!(decode_record(&bytes).ok(), Some(owned));

        let tombstone = Record {
            key: b"gone".to_vec(),
            value: None,
            create_revision: 0,
            version: 0,
        };
        let bytes = encode_record(&RecordRef {
            key: b"gone",
            value: None,
            create_revision: 0,
            version: 0,
        });
        assert_eq!(
            bincode::encode_to_vec(&tombstone, config()).ok(),
            Some(bytes.clone())
        );
        assert_eq!(decode_record(&bytes).ok(), Some(tombstone));
    }

    #[test]
    fn revision_keys_sort_by_revision_then_sub() {
        assert!(revision_key(1, 9) < revision_key(2, 0));
        assert!(revision_key(256, 0) > revision_key(255, 7));
        assert_eq!(parse_revision_key(&revision_key(77, 3)).ok(), Some((77, 3)));
    }

    #[test]
    fn garbage_is_a_corrupt_error_not_a_panic() {
        let huge_length = [0xff; 8];
        for bytes in [
            &b""[..],
            b"\x01",
            &[0xff; 40],
            b"\x05\0\0\0\0\0\0\0abc",
            &huge_length,
        ] {
            assert!(matches!(
                decode_record(bytes),
                Err(MvccError::Corrupt { .. })
            ));
        }
    }
}
