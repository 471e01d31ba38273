//! The write-ahead log: where a commit becomes durable.
//!
//! # Design notes
//!
//! * **Frames.** `[len: u32 LE][crc32c(payload): u32 LE][payload]`, payload a bincode
//!   [`LogEntry`]. One frame per commit group, so a group costs one `write` + one `fdatasync`.
//! * **Large frames are compressed.** A payload of 16 KiB or more is stored LZ4-compressed
//!   (`[decoded length: u32 LE][LZ4 block]`, marked by the top bit of `len`) when that makes
//!   it smaller. A group rewriting a large object (an image stream of a thousand tag events is
//!   260 KB of JSON) otherwise spent most of its cycle copying those bytes into the page cache
//!   and syncing them; a busy group of small objects is past 16 KiB too. A single writer's
//!   groups stay small and are written as they are. Builds without compressed frames read
//!   one as damage, so a log written by this build must not be opened by an older one.
//!   `docs/design/durability.md` has the measurements behind it.
//! * **Segments** are files `wal/<first revision, 20 digits>.log`. A checkpoint (engine flush)
//!   starts a new segment and deletes the older ones, whose entries the engine now holds.
//!   Creating or deleting a segment syncs the directory. A segment is made its full size when
//!   created (so a sync never commits a size change) and a filler thread writes its blocks
//!   with zeros just ahead of the appends (so a sync never commits a block allocation either;
//!   see `fill.rs`).
//! * **Recovery** reads every segment in order. A frame that is cut short or fails its checksum
//!   at the very end of the last segment is a torn write: the file is truncated there. A bad
//!   frame followed by a good one is corruption: [`MvccError::LogCorrupt`] names the file and
//!   offset, and nothing is silently dropped.
//! * **Failure leaves no trace.** If an append or sync fails, the segment is truncated back to
//!   its length before the group, so the failed group can never be replayed; if even that
//!   fails, the log refuses further appends until the store is reopened.

use super::fill::Filler;
use super::MvccError;
use crate::backend::Countdown;
use crate::compress::Packer;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const HEADER: usize = 8;
/// Segments are preallocated to this size, so an fdatasync after an append does not also
/// commit a file-size change. The unwritten tail reads as zeros: the end of the log.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// A frame buffer larger than this is not kept for the next append.
const MAX_KEPT_FRAME_BUFFER: usize = 4 * 1024 * 1024;
/// Frames larger than this are treated as damage, never allocated.
const MAX_FRAME: usize = 512 * 1024 * 1024;
/// The top bit of a frame's `len`: the payload is LZ4-compressed.
const COMPRESSED: u32 = 1 << 31;
/// Payloads from this size on are compressed (when that makes them smaller).
const COMPRESS_FROM: usize = 16 * 1024;

/// One logged step of the store.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum LogEntry {
    /// A commit group: rows `(revision, sub, encoded record)`, and the group's last revision.
    Commit {
        /// Last revision of the group.
        last_revision: u64,
        /// The versions written.
        rows: Vec<(u64, u32, Vec<u8>)>,
    },
    /// A compaction to `revision`.
    Compact {
        /// The new compaction point.
        revision: u64,
    },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_fixed_int_encoding()
}

/// Encodes `entry` as one frame into `frame` (cleared first; its capacity is reused, so a
/// busy log allocates no buffer per commit), compressed when it is large.
fn encode_frame_into(entry: &LogEntry, frame: &mut Vec<u8>, packer: &mut Packer) {
    frame.clear();
    frame.extend_from_slice(&[0; HEADER]);
    // Writing into a Vec cannot fail for these plain types.
    if bincode::encode_into_std_write(entry, frame, config()).is_err() {
        frame.truncate(HEADER);
    }
    let mut flag = 0;
    if frame.len() - HEADER >= COMPRESS_FROM {
        if let Some(packed) = packer.pack(&frame[HEADER..]) {
            frame.truncate(HEADER);
            frame.extend_from_slice(packed);
            flag = COMPRESSED;
        }
    }
    let payload = &frame[HEADER..];
    // A payload past the frame limit cannot be replayed whatever its length field says.
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len < COMPRESSED)
        .unwrap_or(!COMPRESSED);
    let crc = crc32c::crc32c(payload);
    frame[..4].copy_from_slice(&(len | flag).to_le_bytes());
    frame[4..HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// A frame's stored payload length and whether the payload is compressed, from its `len`.
fn stored_len(field: u32) -> (usize, bool) {
    ((field & !COMPRESSED) as usize, field & COMPRESSED != 0)
}

enum Frame {
    Good(LogEntry, usize),
    /// Zero length: preallocated or never-written space; the end of the log.
    End,
    Bad,
}

fn parse_frame(bytes: &[u8]) -> Frame {
    let Some(header) = bytes.get(..HEADER) else {
        return if bytes.iter().all(|b| *b == 0) {
            Frame::End
        } else {
            Frame::Bad
        };
    };
    let field = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if field == 0 && crc == 0 {
        return Frame::End;
    }
    let (len, compressed) = stored_len(field);
    if len > MAX_FRAME {
        return Frame::Bad;
    }
    let Some(payload) = bytes.get(HEADER..HEADER + len) else {
        return Frame::Bad;
    };
    if crc32c::crc32c(payload) != crc {
        return Frame::Bad;
    }
    let unpacked;
    let plain = if compressed {
        // Bounded before anything is allocated: the length comes from the (checksummed, but
        // possibly damaged or hostile) log.
        match crate::compress::unpack(payload, MAX_FRAME) {
            Some(bytes) => unpacked = bytes,
            None => return Frame::Bad,
        }
        &unpacked[..]
    } else {
        payload
    };
    let limited = bincode::config::standard()
        .with_fixed_int_encoding()
        .with_limit::<MAX_FRAME>();
    match bincode::decode_from_slice::<LogEntry, _>(plain, limited) {
        Ok((entry, used)) if used == plain.len() => Frame::Good(entry, HEADER + len),
        _ => Frame::Bad,
    }
}

/// The entry a log frame at the start of `bytes` holds, with the frame's length; `None` for
/// damage or the end of the log (for the fuzz checks).
#[cfg(feature = "testing")]
pub(crate) fn decode_frame(bytes: &[u8]) -> Option<(LogEntry, usize)> {
    match parse_frame(bytes) {
        Frame::Good(entry, used) => Some((entry, used)),
        Frame::End | Frame::Bad => None,
    }
}

/// `entry` as the log frames it (for the fuzz checks).
#[cfg(feature = "testing")]
pub(crate) fn encode_frame(entry: &LogEntry) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_frame_into(entry, &mut frame, &mut Packer::default());
    frame
}

/// Cuts `file` to `len` bytes and preallocates it again: everything after `len` reads as zeros.
fn preallocated_cut(file: &File, len: u64) -> std::io::Result<()> {
    file.set_len(len)?;
    file.set_len(len.max(SEGMENT_BYTES))
}

/// Deletes every segment of `dir` that precedes `keep` (segment names order as their first
/// revisions), then syncs the directory.
///
/// # Errors
/// [`MvccError::Log`] on I/O failure; the segments not yet deleted stay and are replayed.
pub fn remove_segments_before(dir: &Path, keep: &Path) -> Result<(), MvccError> {
    let Some(keep_name) = keep.file_name() else {
        return Ok(());
    };
    let old: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| log_error(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "log")
                && p.file_name().is_some_and(|name| name < keep_name)
        })
        .collect();
    remove_all(&old)?;
    crate::durable::sync_dir(dir).map_err(|e| log_error(dir, e))
}

/// Deletes `paths`. One already gone counts as deleted: a flush and the engine writer's
/// checkpoint may both list the same old segments, and whichever unlinks one second finds it
/// gone.
fn remove_all(paths: &[PathBuf]) -> Result<(), MvccError> {
    for p in paths {
        match fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(log_error(p, e)),
            _ => {}
        }
    }
    Ok(())
}

fn segment_name(first_revision: u64) -> String {
    format!("{first_revision:020}.log")
}

/// The log of one store.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: Option<File>,
    path: PathBuf,
    len: u64,
    /// Set when a failed append could not be undone: no further appends are accepted.
    poisoned: bool,
    /// Injected failures, for tests.
    faults: Option<Arc<LogFaults>>,
    /// The frame buffer, reused by every append.
    frame: Vec<u8>,
    /// The compressor of large frames.
    packer: Packer,
    /// Keeps the segment's blocks written just past the appends.
    filler: Filler,
}

/// Fault injection for the log file: makes the Nth following frame write (left half-written,
/// as a crash or full disk leaves it) or the Nth following sync fail. Install it with
/// [`Mvcc::open_durable_with_faults`](super::Mvcc::open_durable_with_faults); 0 disarms.
#[derive(Debug, Default)]
pub struct LogFaults {
    writes_until_fault: Countdown,
    syncs_until_fault: Countdown,
}

// Armed only by the failure-path tests (the `testing` feature).
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl LogFaults {
    /// Makes the `n`th following frame write fail after writing half the frame (0 disarms).
    pub fn fail_write_at(&self, n: u64) {
        self.writes_until_fault.arm(n);
    }

    /// Makes the `n`th following sync fail after the frame was written (0 disarms).
    pub fn fail_sync_at(&self, n: u64) {
        self.syncs_until_fault.arm(n);
    }
}

fn log_error(path: &Path, e: std::io::Error) -> MvccError {
    MvccError::Log {
        path: path.to_path_buf(),
        source: e,
    }
}

impl Wal {
    /// Opens the log in `dir`, returning it with every intact entry in order. Cuts a torn tail.
    ///
    /// # Errors
    /// [`MvccError::LogCorrupt`] for damage followed by intact entries; [`MvccError::Log`] on I/O
    /// failure.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<LogEntry>), MvccError> {
        fs::create_dir_all(dir).map_err(|e| log_error(dir, e))?;
        // The log's own entry (and its parents', when they were just made) must survive a
        // power loss before the first commit is acknowledged.
        crate::durable::sync_parent(dir).map_err(|e| log_error(dir, e))?;
        let mut segments: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| log_error(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        segments.sort();
        let mut entries = Vec::new();
        let last_index = segments.len().saturating_sub(1);
        let mut tail = None;
        for (i, path) in segments.iter().enumerate() {
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| log_error(path, e))?;
            let mut offset = 0usize;
            loop {
                match parse_frame(&bytes[offset..]) {
                    Frame::Good(entry, used) => {
                        entries.push(entry);
                        offset += used;
                    }
                    Frame::End => break,
                    Frame::Bad => {
                        let rest = &bytes[offset..];
                        let claimed = rest
                            .get(..4)
                            .map(|h| stored_len(u32::from_le_bytes([h[0], h[1], h[2], h[3]])).0)
                            .unwrap_or(usize::MAX);
                        let next = offset.saturating_add(HEADER).saturating_add(claimed);
                        let good_after = claimed <= MAX_FRAME
                            && next < bytes.len()
                            && matches!(parse_frame(&bytes[next..]), Frame::Good(..));
                        if i != last_index || good_after {
                            return Err(MvccError::LogCorrupt {
                                path: path.clone(),
                                offset: offset as u64,
                            });
                        }
                        break;
                    }
                }
            }
            if i == last_index {
                tail = Some((path.clone(), offset as u64, bytes.len() as u64));
            }
        }
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            file: None,
            path: PathBuf::new(),
            len: 0,
            poisoned: false,
            faults: None,
            frame: Vec::new(),
            packer: Packer::default(),
            filler: Filler::start(),
        };
        if let Some((path, good_len, file_len)) = tail {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| log_error(&path, e))?;
            if good_len != file_len {
                // Cut everything after the last good frame (a torn tail, or old preallocation),
                // then preallocate again: the new tail is zeros.
                file.set_len(good_len).map_err(|e| log_error(&path, e))?;
                file.set_len(good_len.max(SEGMENT_BYTES))
                    .map_err(|e| log_error(&path, e))?;
                file.sync_all().map_err(|e| log_error(&path, e))?;
            }
            wal.filler.set_segment(file.try_clone().ok(), good_len);
            wal.file = Some(file);
            wal.path = path;
            wal.len = good_len;
        }
        Ok((wal, entries))
    }

    /// Starts a new segment whose entries begin after `revision`, then deletes every older
    /// segment. Call only after the engine durably holds everything logged so far.
    ///
    /// # Errors
    /// [`MvccError::Log`] on I/O failure (then the old segments are kept).
    pub fn rotate(&mut self, revision: u64) -> Result<(), MvccError> {
        let path = self.start_segment(revision)?;
        remove_segments_before(&self.dir, &path)
    }

    /// Starts a new segment whose entries begin after `revision` and returns its path; older
    /// segments are kept until [`remove_segments_before`] is called with that path, once the
    /// engine durably holds everything up to `revision` (a checkpoint in two steps, so appends
    /// never wait for the engine's flush).
    ///
    /// # Errors
    /// [`MvccError::Log`] on I/O failure (then appends continue in the current segment).
    pub fn start_segment(&mut self, revision: u64) -> Result<PathBuf, MvccError> {
        let path = self.dir.join(segment_name(revision + 1));
        if path == self.path && self.file.is_some() {
            return Ok(path);
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| log_error(&path, e))?;
        file.set_len(SEGMENT_BYTES)
            .and_then(|()| file.sync_all())
            .map_err(|e| log_error(&path, e))?;
        crate::durable::sync_dir(&self.dir).map_err(|e| log_error(&self.dir, e))?;
        self.filler.set_segment(file.try_clone().ok(), 0);
        self.file = Some(file);
        self.path = path.clone();
        self.len = 0;
        self.poisoned = false;
        Ok(path)
    }

    /// The directory holding the segments.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Installs fault injection (tests).
    pub fn set_faults(&mut self, faults: Arc<LogFaults>) {
        self.faults = Some(faults);
    }

    /// Whether a segment is open for appending.
    #[must_use]
    pub fn has_segment(&self) -> bool {
        self.file.is_some()
    }

    /// Bytes in the current segment.
    #[must_use]
    pub fn segment_len(&self) -> u64 {
        self.len
    }

    /// Cuts the segment back to `len` bytes, undoing appends after it (used when the engine
    /// refuses a group that was already logged). If that fails, the log refuses further appends.
    pub fn truncate_to(&mut self, len: u64) {
        let ok = self.file.as_mut().is_some_and(|f| {
            preallocated_cut(f, len)
                .and_then(|()| f.sync_data())
                .is_ok()
        });
        if ok {
            self.len = len;
            self.filler.cut(len);
        } else {
            self.poisoned = true;
        }
    }

    /// Appends `entry` and makes it durable (`fdatasync`) before returning.
    ///
    /// # Errors
    /// [`MvccError::Log`] when the write or sync fails; the segment is then cut back so the
    /// entry can never be replayed.
    pub fn append(&mut self, entry: &LogEntry, sync: bool) -> Result<(), MvccError> {
        if self.poisoned {
            return Err(MvccError::Log {
                path: self.path.clone(),
                source: std::io::Error::other(
                    "an earlier failed append could not be undone; reopen the store",
                ),
            });
        }
        let Some(file) = self.file.as_mut() else {
            return Err(log_error(
                &self.dir,
                std::io::Error::other("no open log segment"),
            ));
        };
        let mut frame = std::mem::take(&mut self.frame);
        encode_frame_into(entry, &mut frame, &mut self.packer);
        let faults = self.faults.clone();
        let injected = |what: &str| std::io::Error::other(format!("injected log {what} fault"));
        let offset = self.len;
        self.filler.before_write(offset + frame.len() as u64);
        // One positioned write (no seek): a syscall less on every commit.
        let result = (|| {
            if faults.as_ref().is_some_and(|f| f.writes_until_fault.trip()) {
                file.write_all_at(&frame[..frame.len() / 2], offset)?;
                return Err(injected("write"));
            }
            file.write_all_at(&frame, offset)?;
            if !sync {
                return Ok(());
            }
            if faults.as_ref().is_some_and(|f| f.syncs_until_fault.trip()) {
                return Err(injected("sync"));
            }
            file.sync_data()
        })();
        let frame_len = frame.len() as u64;
        if frame.capacity() <= MAX_KEPT_FRAME_BUFFER {
            self.frame = frame;
        }
        match result {
            Ok(()) => {
                self.len += frame_len;
                Ok(())
            }
            Err(e) => {
                if preallocated_cut(file, self.len)
                    .and_then(|()| file.sync_data())
                    .is_err()
                {
                    self.poisoned = true;
                }
                self.filler.cut(self.len);
                Err(log_error(&self.path, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleting_a_segment_another_checkpoint_already_deleted_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join(segment_name(1));
        fs::write(&present, b"").unwrap();
        let gone = dir.path().join(segment_name(2));
        remove_all(&[gone, present.clone()]).expect("a missing segment is already deleted");
        assert!(!present.exists());
    }
}
