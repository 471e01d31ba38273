#![no_main]
//! Fuzz target: see `apistore::testing::check_store_operations` for the properties checked.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    apistore::testing::check_store_operations(data);
});
