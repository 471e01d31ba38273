//! Decoding arbitrary bytes as a stored mvcc record never panics; a decoded record re-encodes
//! to the same bytes.
#![no_main]
use apistore::mvcc::record::{decode_record, encode_record, RecordRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode_record(data) {
        let again = encode_record(&RecordRef {
            key: &r.key,
            value: r.value.as_deref(),
            create_revision: r.create_revision,
            version: r.version,
        });
        assert_eq!(again, data);
    }
});
