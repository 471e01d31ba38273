#![no_main]
//! Fuzz target: see `apistore::testing::check_continue_token` for the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = apistore::testing::check_continue_token(data);
});
