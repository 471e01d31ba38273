#![no_main]
//! Fuzz target: see `apistore::testing::check_object_names` for the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    apistore::testing::check_object_names(data);
});
