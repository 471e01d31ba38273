#![no_main]
//! Fuzz target: see `apistore_server::testing::check_request` for the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = apistore_server::testing::check_request(data);
});
