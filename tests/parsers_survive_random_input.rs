//! Random-input runs of the same checks the cargo-fuzz targets make (label selector, field
//! selector, continue token), so every `cargo test` fuzzes a little even without a fuzzer.
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
    fn continue_tokens_never_panic_or_escape(s in r"[a-z./\\\x00-]{0,30}|[A-Za-z0-9_-]{0,60}") {
        apistore::testing::check_continue_token(s.as_bytes());
    }
}
