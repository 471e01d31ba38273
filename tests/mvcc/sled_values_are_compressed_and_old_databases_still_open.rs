//! The sled engine frames and LZ4-compresses values itself (sled's own zstd option cost more
//! processor time than the commit path). A database this build creates round-trips values and
//! stores JSON in far fewer bytes; a database written by an earlier build (sled compression
//! on, values as they are) still opens and reads back its values.

use apistore::backend::{Backend, KeyRange, SledBackend, Table, WriteBatch};

/// Writes `rows` the way earlier builds did: sled's zstd on, one-byte table prefix, raw values.
fn write_like_an_earlier_build(path: &std::path::Path, rows: &[(&[u8], Vec<u8>)]) {
    let db = sled::Config::new()
        .path(path)
        .use_compression(true)
        .compression_factor(1)
        .open()
        .expect("open sled as earlier builds did");
    for (key, value) in rows {
        let mut stored_key = vec![Table::Revisions.tag()];
        stored_key.extend_from_slice(key);
        db.insert(stored_key, value.clone()).expect("insert");
    }
    db.flush().expect("flush");
}

fn json_value(i: usize) -> Vec<u8> {
    format!(
        r#"{{"metadata":{{"name":"obj-{i:06}","namespace":"ns-{:03}","labels":{{"app":"web"}}}},"spec":{{"tags":[{}]}}}}"#,
        i % 100,
        (0..8)
            .map(|t| format!(r#"{{"name":"v{t}.0","from":"quay.io/example/app@sha256:{t:064x}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    )
    .into_bytes()
}

#[test]
fn a_database_of_an_earlier_build_opens_and_reads_its_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    let rows: Vec<(&[u8], Vec<u8>)> = vec![(b"a", json_value(1)), (b"b", b"x".to_vec())];
    write_like_an_earlier_build(&path, &rows);
    let backend = SledBackend::open(&path).expect("open an earlier build's database");
    for (key, value) in &rows {
        assert_eq!(
            backend.get(Table::Revisions, key).expect("get").as_ref(),
            Some(value)
        );
    }
    let mut batch = WriteBatch::new();
    batch.put(Table::Revisions, b"c".to_vec(), json_value(2));
    backend.write(batch).expect("write");
    drop(backend);
    let reopened = SledBackend::open(&path).expect("reopen");
    let scanned: Vec<(Vec<u8>, Vec<u8>)> = reopened
        .scan(Table::Revisions, KeyRange::all())
        .collect::<Result<_, _>>()
        .expect("scan");
    assert_eq!(
        scanned,
        vec![
            (b"a".to_vec(), json_value(1)),
            (b"b".to_vec(), b"x".to_vec()),
            (b"c".to_vec(), json_value(2)),
        ]
    );
}

#[test]
fn a_new_database_round_trips_values_and_stores_json_compressed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sled");
    let backend = SledBackend::open(&path).expect("open");
    let mut batch = WriteBatch::new();
    let mut live = 0usize;
    for i in 0..5_000usize {
        let value = json_value(i);
        live += value.len();
        batch.put(Table::Revisions, format!("k{i:06}").into_bytes(), value);
    }
    batch.put(Table::Meta, b"empty".to_vec(), Vec::new());
    backend.write(batch).expect("write");
    backend.flush().expect("flush");
    drop(backend);
    let reopened = SledBackend::open(&path).expect("reopen");
    assert_eq!(
        reopened.get(Table::Revisions, b"k004321").expect("get"),
        Some(json_value(4321))
    );
    assert_eq!(
        reopened.get(Table::Meta, b"empty").expect("get"),
        Some(Vec::new())
    );
    drop(reopened);
    let on_disk: u64 = walk(&path);
    assert!(
        (on_disk as usize) < live,
        "{on_disk} bytes on disk for {live} bytes of JSON values"
    );
}

fn walk(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
