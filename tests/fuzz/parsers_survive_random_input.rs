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

/// A label selector the grammar accepts: one to three requirements of every operator form.
fn valid_label_selector() -> impl Strategy<Value = String> {
    let key = r"([a-z]{1,4}\.[a-z]{2,4}/)?[a-z][a-z0-9]{0,5}";
    let value = r"[a-z0-9]([a-z0-9._-]{0,4}[a-z0-9])?";
    let requirement = prop_oneof![
        (key, prop_oneof![Just("="), Just("=="), Just("!=")], value)
            .prop_map(|(k, op, v)| format!("{k}{op}{v}")),
        (
            key,
            prop_oneof![Just("in"), Just("notin")],
            proptest::collection::vec(value, 1..3)
        )
            .prop_map(|(k, op, vs)| format!("{k} {op} ({})", vs.join(","))),
        (key, any::<bool>()).prop_map(|(k, not)| if not { format!("!{k}") } else { k }),
        (key, prop_oneof![Just("<"), Just(">")], 0u32..1000)
            .prop_map(|(k, op, n)| format!("{k}{op}{n}")),
    ];
    proptest::collection::vec(requirement, 1..4).prop_map(|rs| rs.join(","))
}

/// A docker pull spec the reference grammar accepts, with a name.
fn valid_image_reference() -> impl Strategy<Value = String> {
    (
        proptest::option::of(r"[a-z]{1,6}\.(io|com)(:[1-9][0-9]{1,3})?"),
        r"[a-z0-9]{1,6}",
        r"[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?",
        proptest::option::of(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}"),
        proptest::option::of(r"[0-9a-f]{64}"),
    )
        .prop_map(|(registry, namespace, name, tag, digest)| {
            let mut spec = registry.map(|r| format!("{r}/")).unwrap_or_default();
            spec.push_str(&format!("{namespace}/{name}"));
            if let Some(tag) = tag {
                spec.push_str(&format!(":{tag}"));
            }
            if let Some(digest) = digest {
                spec.push_str(&format!("@sha256:{digest}"));
            }
            spec
        })
}

/// A schema2 manifest whose config and layers are well-formed descriptors.
fn valid_schema2_manifest() -> impl Strategy<Value = String> {
    let descriptor = (r"[0-9a-f]{64}", 1u64..1 << 30);
    (descriptor.clone(), proptest::collection::vec(descriptor, 0..5)).prop_map(|(config, layers)| {
        let layers: Vec<String> = layers
            .iter()
            .map(|(d, size)| format!(r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{size},"digest":"sha256:{d}"}}"#))
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"sha256:{}"}},"layers":[{}]}}"#,
            config.1,
            config.0,
            layers.join(",")
        )
    })
}

/// A log entry: a commit group of rows (some large enough that the frame is compressed) or
/// a compaction.
fn log_entry() -> impl Strategy<Value = apistore::mvcc::wal::LogEntry> {
    use apistore::mvcc::wal::LogEntry;
    let row = (
        1u64..1 << 40,
        any::<u32>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            // Repetitive and large: the frame passes the compression threshold and shrinks.
            (any::<u8>(), 16_384usize..40_000).prop_map(|(b, n)| vec![b; n]),
        ],
    );
    prop_oneof![
        (1u64..1 << 40, proptest::collection::vec(row, 0..4)).prop_map(|(last_revision, rows)| {
            LogEntry::Commit {
                last_revision,
                rows,
            }
        }),
        (1u64..1 << 40).prop_map(|revision| LogEntry::Compact { revision }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    #[test]
    fn valid_label_selectors_parse_and_reprint_stably(s in valid_label_selector()) {
        prop_assert!(apistore::testing::check_label_selector(s.as_bytes()), "{s:?} was refused");
    }

    #[test]
    fn valid_field_selectors_parse_and_reprint_stably(
        s in r"[a-z]{1,5}(\.[a-z]{1,5})?(=|==|!=)[a-z0-9-]{0,5}(,[a-z]{1,5}(\.[a-z]{1,5})?(=|==|!=)[a-z0-9-]{0,5}){0,2}"
    ) {
        prop_assert!(apistore::testing::check_field_selector(s.as_bytes()), "{s:?} was refused");
    }

    #[test]
    fn tokens_the_store_makes_decode_and_reencode(rv in 1i64..i64::MAX, ns in "[a-z0-9][a-z0-9-]{0,7}", name in "[a-z0-9][a-z0-9.-]{0,11}") {
        let token = apistore::testing::encode_continue_token(rv, &format!("{ns}/{name}"));
        prop_assert!(apistore::testing::check_continue_token(token.as_bytes()), "{token:?} was refused");
    }

    #[test]
    fn valid_image_references_parse_and_reprint_stably(s in valid_image_reference()) {
        prop_assert!(apistore::testing::check_image_reference(s.as_bytes()), "{s:?} was refused");
    }

    #[test]
    fn valid_schema2_manifests_yield_metadata(s in valid_schema2_manifest()) {
        prop_assert!(apistore::testing::check_manifest(s.as_bytes()), "{s:?} was refused");
    }

    #[test]
    fn log_frames_the_log_writes_decode_and_reencode(entry in log_entry()) {
        let frame = apistore::testing::encode_log_frame(&entry);
        prop_assert_eq!(apistore::testing::check_log_frame(&frame), Some(frame.len()));
    }

    #[test]
    fn value_frames_the_engine_writes_decode_and_reencode(
        value in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            (any::<u8>(), 64usize..8192).prop_map(|(b, n)| vec![b; n]),
        ]
    ) {
        let frame = apistore::testing::encode_value_frame(&value);
        prop_assert!(apistore::testing::check_value_frame(&frame));
    }
}
