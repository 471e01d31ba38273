//! List resourceVersion semantics on the multi-level fixture.
use crate::common;
use apistore::{ListParams, VersionMatch};
use common::*;

fn at(rv: u64) -> String {
    rv.to_string()
}

#[test]
fn invalid_resource_versions_and_match_combinations_are_rejected() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let pods = all_pod_api(store);
        for junk in ["abc", "-1"] {
            assert!(pods
                .list(&ListParams::default().at(junk))
                .unwrap_err()
                .is_bad_request());
        }
        let err = pods
            .list(&ListParams::default().matching(VersionMatch::Exact))
            .unwrap_err();
        assert!(err.is_invalid(), "match without rv");
        let err = pods
            .list(&ListParams::default().at("0").matching(VersionMatch::Exact))
            .unwrap_err();
        assert!(err.is_invalid(), "exact 0");
        let err = pods
            .list(
                &ListParams::default()
                    .continue_token(&token(f.l as i64, "second/foo"))
                    .at("1")
                    .matching(VersionMatch::NotOlderThan),
            )
            .unwrap_err();
        assert!(err.is_invalid(), "match with continue");
        assert!(pods
            .list(&ListParams::default().continue_token(&token(f.l as i64, "")))
            .unwrap_err()
            .is_bad_request());
        assert!(pods
            .list(&ListParams::default().continue_token(&token(0, "x")))
            .unwrap_err()
            .is_bad_request());
    });
}

#[test]
fn a_resource_version_with_a_continue_token_is_a_bad_request_unless_it_is_zero() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let second = pod_api(store, "second");
        let err = second
            .list(
                &ListParams::default()
                    .limit(1)
                    .continue_token(&token(f.l as i64, "foo"))
                    .at("1"),
            )
            .unwrap_err();
        assert!(err.is_bad_request());
        assert_eq!(
            err.to_string(),
            "specifying resource version is not allowed when using continue"
        );
        let list = second
            .list(
                &ListParams::default()
                    .continue_token(&token(f.l as i64, "foo"))
                    .at("0"),
            )
            .unwrap();
        assert_eq!(keys(&list), ["second/foo"]);
    });
}

#[test]
fn a_future_resource_version_is_too_large() {
    on_each_store(|store| {
        seed_multi_level(store);
        let err = store
            .all::<Pod>()
            .list(&ListParams::default().at(&i64::MAX.to_string()))
            .unwrap_err();
        assert!(err.is_too_large_resource_version());
    });
}

#[test]
fn basic_reads_at_latest_any_and_not_older_than() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let first = pod_api(store, "first");
        for lp in [
            ListParams::default(),
            ListParams::default().at("0"),
            ListParams::default().match_any(),
            ListParams::default().at(&at(f.l)),
            ListParams::default()
                .at(&at(f.l))
                .matching(VersionMatch::NotOlderThan),
        ] {
            let list = first.list(&lp).unwrap();
            assert_eq!(keys(&list), ["first/bar"], "{lp:?}");
            assert_eq!(list.items[0].spec.node_name, "fakeNode");
            assert_eq!(list.metadata.resource_version, Some(at(f.c)));
        }
        let exact = first
            .list(
                &ListParams::default()
                    .at(&at(f.l))
                    .matching(VersionMatch::Exact),
            )
            .unwrap();
        assert_eq!(exact.items[0].spec.node_name, "fakeNode");
        assert_eq!(exact.metadata.resource_version, Some(at(f.l)));
    });
}

#[test]
fn exact_reads_travel_back_in_history() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let exact = |ns: Option<&str>, rv: u64| {
            let lp = ListParams::default()
                .at(&at(rv))
                .matching(VersionMatch::Exact);
            let list = match ns {
                Some(ns) => pod_api(store, ns).list(&lp),
                None => all_pod_api(store).list(&lp),
            }
            .unwrap();
            assert_eq!(list.metadata.resource_version, Some(at(rv)));
            list
        };
        let list = exact(Some("first"), f.r[1]);
        assert_eq!(keys(&list), ["first/bar"]);
        assert_eq!(rv(&list.items[0]), f.r[1]);
        assert!(exact(Some("second"), f.r[1]).items.is_empty());
        assert_eq!(keys(&exact(Some("second"), f.r[2])), ["second/bar"]);
        let expected: [&[&str]; 9] = [
            &[],
            &["first/bar"],
            &["first/bar", "second/bar"],
            &["first/bar", "second/bar", "second/foo"],
            &["first/bar", "second/bar", "second/foo", "third/barfoo"],
            &[
                "first/bar",
                "second/bar",
                "second/foo",
                "third/barfoo",
                "third/foo",
            ],
            &[
                "first/bar",
                "second/bar",
                "second/baz",
                "second/foo",
                "third/barfoo",
                "third/foo",
            ],
            &[
                "first/bar",
                "second/bar",
                "second/baz",
                "second/foo",
                "third/barfoo",
                "third/foo",
            ],
            &[
                "first/bar",
                "second/bar",
                "second/foo",
                "third/barfoo",
                "third/foo",
            ],
        ];
        for (i, want) in expected.iter().enumerate().skip(1) {
            let list = exact(None, f.r[i]);
            assert_eq!(keys(&list), *want, "R{i}");
            let bar = &list.items[0];
            assert_eq!(bar.spec.node_name == "fakeNode", i >= 7, "R{i}");
        }
        assert_eq!(keys(&exact(None, f.c)), expected[8]);
        let err = store
            .all::<Pod>()
            .list(
                // Far ahead: on a shared etcd cluster, other writers move the revision on.
                &ListParams::default()
                    .at(&at(f.c + 1_000_000))
                    .matching(VersionMatch::Exact),
            )
            .unwrap_err();
        assert!(err.is_too_large_resource_version());
    });
}

#[test]
fn exact_reads_below_the_compaction_are_expired_but_not_older_than_reads_are_fine() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        for api in [pod_api(store, "first"), all_pod_api(store)] {
            let err = api
                .list(
                    &ListParams::default()
                        .at(&at(f.r[0]))
                        .matching(VersionMatch::Exact),
                )
                .unwrap_err();
            assert!(err.is_gone());
            assert_eq!(err.code(), 410);
            assert_eq!(err.reason(), "Expired");
            assert_eq!(
                err.to_string(),
                "The resourceVersion for the provided list is too old."
            );
        }
        let list = store
            .namespaced::<Pod>("first")
            .list(
                &ListParams::default()
                    .at(&at(f.r[0]))
                    .matching(VersionMatch::NotOlderThan),
            )
            .unwrap();
        assert_eq!(keys(&list), ["first/bar"]);
    });
}

#[test]
fn empty_prefixes_list_nothing_at_the_global_revision() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let list = store
            .namespaced::<Pod>("non-existing")
            .list(&ListParams::default())
            .unwrap();
        assert!(list.items.is_empty());
        assert_eq!(list.metadata.resource_version, Some(at(f.c)));
        assert_eq!(list.metadata.continue_, None);
        let zero = store
            .namespaced::<Pod>("empty")
            .list(&ListParams::default().at("0"))
            .unwrap();
        assert!(zero.items.is_empty());
        assert!(
            zero.metadata
                .resource_version
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= f.r[0]
        );
        let after = bump(store);
        let list = store
            .namespaced::<Pod>("empty")
            .list(&ListParams::default())
            .unwrap();
        assert_eq!(list.metadata.resource_version, Some(at(after)));
    });
}

#[test]
fn a_limit_pages_with_an_exact_token_and_remaining_count() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let second = pod_api(store, "second");
        let cases = [
            (ListParams::default().limit(1), f.c),
            (ListParams::default().limit(1).at(&at(f.l)), f.l),
            (
                ListParams::default()
                    .limit(1)
                    .at(&at(f.l))
                    .matching(VersionMatch::Exact),
                f.l,
            ),
            (
                ListParams::default()
                    .limit(1)
                    .at(&at(f.l))
                    .matching(VersionMatch::NotOlderThan),
                f.c,
            ),
            (ListParams::default().limit(1).at("0"), f.c),
        ];
        for (lp, snapshot) in cases {
            let list = second.list(&lp).unwrap();
            assert_eq!(keys(&list), ["second/bar"], "{lp:?}");
            assert_eq!(list.metadata.remaining_item_count, Some(1), "{lp:?}");
            assert_eq!(
                list.metadata.continue_,
                Some(token(snapshot as i64, "bar\u{0}")),
                "{lp:?}"
            );
            assert_eq!(list.metadata.resource_version, Some(at(snapshot)));
        }
        let list = second
            .list(
                &ListParams::default()
                    .limit(2)
                    .at(&at(f.r[1]))
                    .matching(VersionMatch::Exact),
            )
            .unwrap();
        assert!(list.items.is_empty());
        assert_eq!(list.metadata.continue_, None);
        assert_eq!(list.metadata.resource_version, Some(at(f.r[1])));
        let list = second
            .list(
                &ListParams::default()
                    .limit(2)
                    .at(&at(f.r[2]))
                    .matching(VersionMatch::Exact),
            )
            .unwrap();
        assert_eq!(keys(&list), ["second/bar"]);
        assert_eq!(list.metadata.continue_, None);
    });
}

#[test]
fn items_are_never_null_and_unpaged_lists_carry_no_count() {
    let store = apistore::Store::memory();
    let list = all_pod_api(&store).list(&ListParams::default()).unwrap();
    let json = serde_json::to_value(&list).unwrap();
    assert_eq!(json["items"], serde_json::json!([]));
    assert_eq!(list.metadata.remaining_item_count, None);
}
