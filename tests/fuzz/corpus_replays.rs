//! Replays the committed cargo-fuzz corpus (and fixed seeds) through the same checks the fuzz
//! targets make, so `cargo test` exercises them without a fuzzer.

use apistore::mvcc::record::{decode_record, encode_record, RecordRef};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    apistore::testing::fuzz_corpus(target)
}

/// `len` bytes from a xorshift generator: the same inputs on every run.
fn random_bytes(rng: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            *rng as u8
        })
        .collect()
}

#[test]
fn mvcc_record_corpus_never_panics_and_round_trips() {
    let mut inputs = corpus("mvcc_record");
    assert!(inputs.len() >= 3, "the committed corpus is present");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..64usize {
        inputs.push(random_bytes(&mut rng, len));
    }
    let mut decoded = 0;
    for data in inputs {
        if let Ok(r) = decode_record(&data) {
            decoded += 1;
            let again = encode_record(&RecordRef {
                key: &r.key,
                value: r.value.as_deref(),
                create_revision: r.create_revision,
                version: r.version,
            });
            assert_eq!(again, data);
        }
    }
    assert!(decoded >= 2, "the valid seeds decode");
}

#[test]
fn label_selector_corpus_never_panics_and_reprints_stably() {
    let inputs = corpus("label_selector");
    assert!(inputs.len() >= 10, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_label_selector(&data);
    }
}

#[test]
fn field_selector_corpus_never_panics_and_reprints_stably() {
    let inputs = corpus("field_selector");
    assert!(inputs.len() >= 10, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_field_selector(&data);
    }
}

#[test]
fn continue_token_corpus_never_panics_or_escapes_its_prefix() {
    let inputs = corpus("continue_token");
    assert!(inputs.len() >= 5, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_continue_token(&data);
    }
}

#[test]
fn image_reference_corpus_never_panics_and_reprints_stably() {
    let inputs = corpus("image_reference");
    assert!(inputs.len() >= 10, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_image_reference(&data);
    }
}

#[test]
fn manifest_corpus_never_panics() {
    let inputs = corpus("manifest");
    assert!(inputs.len() >= 5, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_manifest(&data);
    }
}

#[test]
fn value_frame_corpus_never_panics_and_reencodes_stably() {
    let inputs = corpus("value_frame");
    assert!(inputs.len() >= 4, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_value_frame(&data);
    }
}

#[test]
fn log_frame_corpus_never_panics_and_reencodes_stably() {
    let inputs = corpus("log_frame");
    assert!(inputs.len() >= 6, "the committed corpus is present");
    let mut intact = 0;
    for data in inputs {
        let frame = apistore::testing::check_log_frame(&data);
        intact += usize::from(frame.is_some());
        // Every cut inside the first frame is damage or the end of the log, never a panic.
        let first = frame.unwrap_or(data.len());
        for cut in 0..first {
            assert_eq!(apistore::testing::check_log_frame(&data[..cut]), None);
        }
    }
    assert!(
        intact >= 3,
        "at least the seeds decode: a plain commit, a compaction and a compressed commit"
    );
}

#[test]
fn object_names_corpus_never_panics_or_reaches_another_namespace() {
    let inputs = corpus("object_names");
    assert!(inputs.len() >= 20, "the committed corpus is present");
    for data in inputs {
        apistore::testing::check_object_names(&data);
    }
}

#[test]
fn store_operations_corpus_agrees_with_the_model() {
    let mut inputs = corpus("store_operations");
    assert!(inputs.len() >= 16, "the committed corpus is present");
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for len in (8..200usize).step_by(8) {
        inputs.push(random_bytes(&mut rng, len));
    }
    for data in inputs {
        apistore::testing::check_store_operations(&data);
    }
}
