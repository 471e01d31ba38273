//! Replays the committed corpus of the `server_requests` fuzz target (and inputs made here
//! from a fixed seed) through its check: every request is answered, refusals are `Status`
//! objects with their own code, and a refused request changes nothing.

use apistore_server::testing::check_request;

#[test]
fn server_requests_corpus_is_answered_and_refusals_change_nothing() {
    let inputs = apistore::testing::fuzz_corpus("server_requests");
    assert!(inputs.len() >= 20, "the committed corpus is present");
    let mut statuses = std::collections::BTreeSet::new();
    for data in &inputs {
        if let Some(status) = check_request(data) {
            statuses.insert(status);
        }
    }
    for expected in [200, 201, 400, 404, 405, 409, 415, 422] {
        assert!(
            statuses.contains(&expected),
            "the corpus reaches a {expected} answer (it reached {statuses:?})"
        );
    }
}

/// Random bytes after each known method, content type, accept and path: the paths' queries
/// and bodies garbled.
#[test]
fn garbled_requests_are_answered_and_refusals_change_nothing() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..300 {
        let len = (next() % 96) as usize;
        let data: Vec<u8> = (0..len + 4).map(|_| next() as u8).collect();
        check_request(&data);
    }
}
