//! Power-loss safety of checkpoints, read from the system calls. A child process runs a
//! durable store through several checkpoints under `strace -f -y`; from the trace:
//! - every file of the engine was `fsync`ed or `fdatasync`ed after its last write and before
//!   any log segment was deleted (a deleted segment's commits then live only in the engine);
//! - every file or directory the engine created, and the log's directory, had its directory
//!   entry synced (an `fsync` of its parent) before any log segment was deleted;
//! - nothing was written to a log segment before its entry and the log directory's were synced.
//!
//! `strace` comes from Debian's `strace` package, which `.ci/run` installs. Without it the test
//! says so and passes, except under CI (`CI=true`), where it fails.

use apistore::backend::{Backend, MemoryBackend, RedbBackend, SledBackend};
use apistore::mvcc::{Mvcc, Txn};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const CHILD_ENV: &str = "APISTORE_STRACE_CHILD";
/// Segment size that starts a checkpoint in the child: a few dozen commits each.
const CHECKPOINT_BYTES: u64 = 64 * 1024;
const COMMITS: usize = 400;

/// The child: runs only when re-executed by the parent with `APISTORE_STRACE_CHILD` set.
#[test]
fn strace_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (engine, dir) = spec.split_once(',').expect("engine,dir");
    let dir = Path::new(dir);
    let backend: Arc<dyn Backend> = match engine {
        "sled" => Arc::new(SledBackend::open(dir.join("engine")).expect("sled")),
        "redb" => Arc::new(RedbBackend::open(dir.join("engine")).expect("redb")),
        _ => Arc::new(MemoryBackend::new()),
    };
    let mvcc = Mvcc::open_durable(backend, &dir.join("wal")).expect("open");
    mvcc.set_checkpoint_bytes(CHECKPOINT_BYTES);
    // Values that do not compress, so the log grows as fast as the data.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..COMMITS {
        let value: Vec<u8> = (0..2048)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        mvcc.commit(Txn::new().put(format!("/registry/k/{i:06}"), value))
            .expect("commit");
    }
    mvcc.flush().expect("flush");
}

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One finished system call of the trace: its name, the path of its first descriptor
/// argument (or of its first path argument), the path a successful `openat` returned, whether
/// it succeeded, and where it started and ended (line numbers: the trace's order).
#[derive(Debug)]
struct Call {
    name: String,
    path: Option<String>,
    opened: Option<String>,
    creates: bool,
    ok: bool,
    start: usize,
    end: usize,
}

/// The text between the first `<` after `from` and its `>`: strace `-y` decorations.
fn decorated(text: &str) -> Option<String> {
    let open = text.find('<')?;
    let close = text[open..].find('>')?;
    Some(text[open + 1..open + close].to_string())
}

/// The first quoted string of `args` (a path argument).
fn quoted(args: &str) -> Option<String> {
    let open = args.find('"')?;
    let close = args[open + 1..].find('"')?;
    Some(args[open + 1..open + 1 + close].to_string())
}

/// Parses `strace -f -y` output, joining `<unfinished ...>` / `<... resumed>` halves.
fn parse(trace: &str, cwd: &Path) -> Vec<Call> {
    let mut pending: HashMap<String, (String, usize)> = HashMap::new();
    let mut calls = Vec::new();
    for (line_no, line) in trace.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let (text, start) = if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((head, start)) = pending.remove(pid) else {
                continue;
            };
            let tail = resumed.split_once("resumed>").map_or("", |(_, t)| t);
            (format!("{head}{tail}"), start)
        } else if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_string(), (head.to_string(), line_no));
            continue;
        } else {
            (rest.to_string(), line_no)
        };
        let Some((name, rest)) = text.split_once('(') else {
            continue;
        };
        // `args) = result`, with the result column padded by spaces.
        let Some((args, result)) = rest.rsplit_once(" = ") else {
            continue;
        };
        let Some(args) = args.trim_end().strip_suffix(')') else {
            continue;
        };
        let ok = !result.trim_start().starts_with('-');
        let absolute = |p: String| {
            if p.starts_with('/') {
                p
            } else {
                cwd.join(p).display().to_string()
            }
        };
        let path = match name {
            "openat" | "mkdirat" | "unlinkat" | "renameat" | "renameat2" => {
                // (dirfd<dir>, "path", ...): absolute paths in this test, or relative to cwd.
                quoted(args).map(absolute)
            }
            "mkdir" | "unlink" | "rename" | "creat" => quoted(args).map(absolute),
            _ => decorated(args),
        };
        let renamed_to = match name {
            "rename" | "renameat" | "renameat2" => args
                .rsplit_once(", \"")
                .and_then(|(_, t)| t.split_once('"'))
                .map(|(p, _)| absolute(p.to_string())),
            _ => None,
        };
        let creates = match name {
            "openat" => args.contains("O_CREAT"),
            "mkdir" | "mkdirat" | "creat" | "rename" | "renameat" | "renameat2" => true,
            _ => false,
        };
        calls.push(Call {
            name: name.to_string(),
            path: renamed_to.or(path),
            opened: (name == "openat").then(|| decorated(result)).flatten(),
            creates,
            ok,
            start,
            end: line_no,
        });
    }
    calls
}

/// What the trace shows: the problems found, and how many segments were deleted and how many
/// engine writes were seen (so the check cannot pass on an empty trace).
fn check_trace(calls: &[Call], root: &Path) -> (Vec<String>, usize, usize) {
    let root = root.display().to_string();
    let engine = format!("{root}/engine");
    let wal = format!("{root}/wal/");
    let under = |p: &str, prefix: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
    let mut writes: HashMap<String, Vec<usize>> = HashMap::new();
    let mut syncs: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    let mut created: HashMap<String, usize> = HashMap::new();
    let mut removed: HashMap<String, usize> = HashMap::new();
    // The log directory and its segments, where they were created.
    let mut log_entries: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    let (mut segments_deleted, mut engine_writes) = (0, 0);
    for call in calls.iter().filter(|c| c.ok) {
        let path = call.opened.clone().or_else(|| call.path.clone());
        let Some(path) = path else { continue };
        if !under(&path, &root) {
            continue;
        }
        match call.name.as_str() {
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "ftruncate"
            | "fallocate" => {
                if under(&path, &engine) {
                    writes.entry(path).or_default().push(call.end);
                    engine_writes += 1;
                } else if path.starts_with(&wal)
                    && !matches!(call.name.as_str(), "ftruncate" | "fallocate")
                {
                    // What is appended to a segment is acknowledged once synced: the segment's
                    // entry and the log directory's must be durable before any data is written
                    // (sizing the segment comes first and acknowledges nothing).
                    let log_dir = wal.trim_end_matches('/').to_string();
                    for entry in [&path, &log_dir] {
                        let Some(&at) = log_entries.get(entry) else {
                            continue;
                        };
                        let parent = Path::new(entry).parent().map(|p| p.display().to_string());
                        let synced = parent.is_some_and(|p| {
                            syncs
                                .get(&p)
                                .is_some_and(|s| s.iter().any(|&(b, e)| b > at && e < call.start))
                        });
                        if !synced {
                            problems.push(format!(
                                "{entry}: created at line {at}, its directory not synced before {path} was written at line {}",
                                call.start
                            ));
                        }
                    }
                }
            }
            "fsync" | "fdatasync" => syncs.entry(path).or_default().push((call.start, call.end)),
            "unlink" | "unlinkat" if path.starts_with(&wal) && path.ends_with(".log") => {
                segments_deleted += 1;
                let deleted_at = call.start;
                let synced_between = |p: &str, after: usize| {
                    syncs
                        .get(p)
                        .is_some_and(|s| s.iter().any(|&(b, e)| b > after && e < deleted_at))
                };
                for (file, at) in &writes {
                    let Some(&last) = at.iter().filter(|&&w| w < deleted_at).max() else {
                        continue;
                    };
                    let gone = removed.get(file).is_some_and(|&r| r < deleted_at);
                    if !gone && !synced_between(file, last) {
                        problems.push(format!(
                            "{file}: written at line {last}, not synced before {path} was deleted at line {deleted_at}"
                        ));
                    }
                }
                for (entry, &at) in &created {
                    let gone = removed.get(entry).is_some_and(|&r| r < deleted_at);
                    let parent = Path::new(entry).parent().map(|p| p.display().to_string());
                    if at < deleted_at && !gone && !parent.is_some_and(|p| synced_between(&p, at)) {
                        problems.push(format!(
                            "{entry}: created at line {at}, its directory not synced before {path} was deleted at line {deleted_at}"
                        ));
                    }
                }
                removed.insert(path, call.end);
            }
            "unlink" | "unlinkat" => {
                removed.insert(path, call.end);
            }
            _ => {}
        }
        // New entries the engine's checkpoint depends on: the engine's files and directories,
        // and the log directory itself. (A new log segment's entry is the log's own business:
        // it is synced before the segment's first commit is acknowledged, and deleting an
        // older segment does not depend on it.)
        if call.creates {
            if let Some(new) = call.opened.clone().or_else(|| call.path.clone()) {
                if new.starts_with(&wal) || new == wal.trim_end_matches('/') {
                    log_entries.entry(new.clone()).or_insert(call.end);
                }
                if under(&new, &engine) || new == wal.trim_end_matches('/') {
                    created.entry(new.clone()).or_insert(call.end);
                    // A path made again after a removal is a new entry.
                    if removed.remove(&new).is_some() {
                        created.insert(new, call.end);
                    }
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    (problems, segments_deleted, engine_writes)
}

fn run_under_strace(engine: &str) {
    if !strace_available() {
        assert!(
            std::env::var("CI").is_err(),
            "strace is required under CI (.ci/run installs it)"
        );
        eprintln!("strace is not installed (Debian: apt-get install strace): skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("absolute");
    let store_dir = root.join("store");
    std::fs::create_dir(&store_dir).expect("store dir");
    let trace_path: PathBuf = root.join("trace");
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(&trace_path)
        .args([
            "-e",
            "trace=openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,\
             write,pwrite64,writev,pwritev,pwritev2,ftruncate,fallocate,fsync,fdatasync",
        ])
        .arg(&exe)
        .args([
            "--exact",
            &crate::wal_common::harness_name(module_path!(), "strace_child"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{engine},{}", store_dir.display()))
        .current_dir(&root)
        .status()
        .expect("run strace");
    assert!(status.success(), "the traced child failed: {status}");
    let trace = std::fs::read_to_string(&trace_path).expect("trace");
    let calls = parse(&trace, &root);
    let (problems, segments_deleted, engine_writes) = check_trace(&calls, &store_dir);
    if engine == "memory" {
        // The memory engine holds nothing across a restart: its log is never deleted.
        assert_eq!(segments_deleted, 0, "{engine}: the log is all there is");
        assert!(
            calls
                .iter()
                .any(|c| c.name == "fdatasync"
                    && c.path.as_deref().is_some_and(|p| p.contains("/wal/"))),
            "{engine}: commits were synced to the log"
        );
    } else {
        assert!(
            segments_deleted >= 3,
            "{engine}: the child went through several checkpoints ({segments_deleted} segments deleted)"
        );
        assert!(engine_writes > 0, "{engine}: the engine wrote its files");
    }
    assert!(
        problems.is_empty(),
        "{engine}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn sled_checkpoints_are_synced_before_the_log_is_deleted() {
    run_under_strace("sled");
}

#[test]
fn redb_checkpoints_are_synced_before_the_log_is_deleted() {
    run_under_strace("redb");
}

#[test]
fn a_log_over_the_memory_engine_is_written_only_once_its_entries_are_synced() {
    run_under_strace("memory");
}

#[test]
fn the_trace_check_finds_an_unsynced_write_and_an_unsynced_entry() {
    // A hand-written trace: the engine file is written and its entry created, and a segment is
    // deleted with neither synced; then both are synced and the next deletion is clean.
    let trace = "\
1 openat(AT_FDCWD</r>, \"/r/s/engine/db\", O_RDWR|O_CREAT, 0644) = 5</r/s/engine/db>
1 pwrite64(5</r/s/engine/db>, \"x\", 1, 0) = 1
1 unlinkat(AT_FDCWD</r>, \"/r/s/wal/1.log\", 0) = 0
1 fsync(5</r/s/engine/db>) = 0
2 fsync(6</r/s/engine> <unfinished ...>
2 <... fsync resumed>) = 0
1 unlink(\"/r/s/wal/2.log\") = 0
";
    let calls = parse(trace, Path::new("/r"));
    let (problems, deleted, writes) = check_trace(&calls, Path::new("/r/s"));
    assert_eq!((deleted, writes), (2, 1));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("/r/s/engine/db: created"));
    assert!(problems[1].contains("/r/s/engine/db: written"));
}
