#![no_main]
//! Fuzz target: see `apistore::testing::check_label_selector` for the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = apistore::testing::check_label_selector(data);
});
