//! Random-input runs of the same checks the cargo-fuzz targets make (label selector, field
//! selector, object names, store operations, continue token, image reference, manifest, log
//! frame), so every `cargo test` fuzzes a little even without a fuzzer.
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn label_selectors_never_panic_and_reprint_stably(s in r"[a-z0-9=!(),<> .\\/_-]{0,40}|[a-z]{1,3}( (in|notin) \([a-z,]{0,8}\))?(,[a-z!]{1,3}(=|==|!=)[a-z]{0,3})*") {
        apistore::testing::check_label_selector(s.as_bytes());
    }

    #[test]
    fn field_selectors_never_panic_and_reprint_stably(s in r"[a-z.=!,\\ ]{0,40}") {
        apistore::testing::check_field_selector(s.as_bytes());
    }

    #[test]
    fn object_names_never_panic_or_reach_another_namespace(s in r"[a-z0-9.%/-]{0,6}\x00[a-zA-Z0-9._%/-]{0,12}") {
        apistore::testing::check_object_names(s.as_bytes());
    }

    #[test]
    fn store_operation_sequences_agree_with_the_model(ops in proptest::collection::vec(any::<u8>(), 0..96)) {
        apistore::testing::check_store_operations(&ops);
    }

    #[test]
    fn continue_tokens_never_panic_or_escape(s in r"[a-z./\\\x00-]{0,30}|[A-Za-z0-9_-]{0,60}") {
        apistore::testing::check_continue_token(s.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn image_references_never_panic_and_reprint_stably(s in r"([a-z0-9.:-]{1,12}/)?[a-zA-Z0-9._/-]{0,20}(:[A-Za-z0-9_.-]{0,8})?(@sha256:[0-9a-f]{0,64})?") {
        apistore::testing::check_image_reference(s.as_bytes());
    }

    #[test]
    fn manifests_never_panic(s in r#"\{("schemaVersion":[0-9],)?("mediaType":"[a-z./+-]{0,40}",)?("fsLayers":\[\{"blobSum":"x"\}\],)?("history":\[\{"v1Compatibility":"[{}a-z:"]{0,10}"\}\],)?("config":\{"digest":"d"\},)?"layers":\[\]\}"#) {
        apistore::testing::check_manifest(s.as_bytes());
    }

    #[test]
    fn sha256_digests_of_random_bytes_verify(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let digest = apistore::image::Digest::sha256_of(&bytes);
        prop_assert!(digest.verifies(&bytes));
        prop_assert_eq!(apistore::image::Digest::parse(&digest.to_string()).unwrap(), digest);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn log_frames_of_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = apistore::testing::check_log_frame(&bytes);
    }

    #[test]
    fn compressed_log_frame_headers_with_random_payloads_never_panic(
        declared in any::<u32>(),
        block in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        // A frame marked compressed whose checksum holds, so the decompressor sees the bytes.
        let mut payload = declared.to_le_bytes().to_vec();
        payload.extend_from_slice(&block);
        let mut frame = ((payload.len() as u32) | (1 << 31)).to_le_bytes().to_vec();
        frame.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        frame.extend_from_slice(&payload);
        let _ = apistore::testing::check_log_frame(&frame);
    }
}
