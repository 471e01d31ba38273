//! Making files and directory entries survive a power loss.
//!
//! Design notes: a checkpoint deletes log segments, so everything the engine holds must be on
//! stable storage first — its files' data and metadata, and the directory entries naming them.
//! sled 0.34's `flush` ends in `sync_file_range` (sled #1452), which writes data back but
//! neither flushes the device's write cache nor commits the file's metadata, and no engine
//! syncs the entries of the files and directories it creates. So after an engine's own flush,
//! [`sync_tree`] `fsync`s every file under the engine's path, every directory there, and the
//! directory holding that path. `fsync` works on any descriptor of the inode, so the engine's
//! own open descriptors need not be reached.

use std::fs::File;
use std::io;
use std::path::Path;

/// `fsync`s `path` (a file or a directory). A file the engine deleted meanwhile needs nothing.
fn sync_one(path: &Path) -> io::Result<()> {
    match File::open(path) {
        Ok(file) => file.sync_all(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `fsync`s the directory `dir`, so the entries it holds survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `fsync`s the directory holding `path` (`.` for a bare relative name).
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

/// `fsync`s every file and directory under `root` (or `root` itself when it is a file), each
/// directory after what it holds, and then the directory holding `root`.
pub(crate) fn sync_tree(root: &Path) -> io::Result<()> {
    sync_below(root)?;
    sync_parent(root)
}

fn sync_below(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() || kind.is_file() {
                sync_below(&entry.path())?;
            }
        }
    }
    sync_one(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_with_files_and_directories_syncs_and_a_missing_one_is_no_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("dirs");
        std::fs::write(dir.path().join("a/b/file"), b"x").expect("file");
        std::fs::write(dir.path().join("a/top"), b"y").expect("file");
        sync_tree(&dir.path().join("a")).expect("sync");
        sync_tree(&dir.path().join("a/top")).expect("a single file");
        sync_tree(&dir.path().join("gone")).expect("nothing to sync");
        assert!(
            sync_dir(&dir.path().join("gone")).is_err(),
            "a named directory must exist"
        );
    }
}
