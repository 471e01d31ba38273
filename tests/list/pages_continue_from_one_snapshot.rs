//! Pagination and continue tokens on the multi-level fixture and the other list suites.
use crate::common;
use apistore::ObjectMetaExt;
use apistore::{ListParams, PostParams, VersionMatch};
use common::*;

#[test]
fn filtered_pages_fill_up_and_carry_a_token_only_when_keys_follow() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let pods = all_pod_api(store);
        let list = |sel: &str, limit: u32| {
            pods.list(&ListParams::default().fields(sel).limit(limit))
                .unwrap()
        };
        let page = list("metadata.name=barfoo", 1);
        assert_eq!(keys(&page), ["third/barfoo"]);
        assert_eq!(
            page.metadata.continue_,
            Some(token(f.c as i64, "third/barfoo\u{0}"))
        );
        assert_eq!(
            page.metadata.remaining_item_count, None,
            "no count with a selector"
        );
        let page = list("metadata.name=barfoo", 2);
        assert_eq!(keys(&page), ["third/barfoo"]);
        assert_eq!(page.metadata.continue_, None);
        let page = list("metadata.name=bar", 2);
        assert_eq!(keys(&page), ["first/bar", "second/bar"]);
        assert!(page.metadata.continue_.is_some());
        let page = list("metadata.name=foo", 2);
        assert_eq!(keys(&page), ["second/foo", "third/foo"]);
        assert_eq!(
            page.metadata.continue_, None,
            "limit reached on the last key"
        );
        assert_eq!(
            keys(&list("metadata.name=foo", 5)),
            ["second/foo", "third/foo"]
        );
        assert_eq!(keys(&list("metadata.name=barfoo", 5)), ["third/barfoo"]);
        let at_l = pods
            .list(
                &ListParams::default()
                    .fields("metadata.name=bar")
                    .limit(2)
                    .at(&f.l.to_string())
                    .matching(VersionMatch::NotOlderThan),
            )
            .unwrap();
        assert_eq!(keys(&at_l), ["first/bar", "second/bar"]);
    });
}

#[test]
fn a_continue_token_with_a_filter_resumes_after_its_start_key() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        for limit in [1, 2] {
            let page = store
                .all::<Pod>()
                .list(
                    &ListParams::default()
                        .fields("metadata.name=foo")
                        .limit(limit)
                        .continue_token(&token(f.l as i64, "third/barfoo")),
                )
                .unwrap();
            assert_eq!(keys(&page), ["third/foo"]);
        }
    });
}

#[test]
fn whole_lists_and_non_metadata_fields() {
    on_each_store(|store| {
        seed_multi_level(store);
        let pods = all_pod_api(store);
        let all = pods.list(&ListParams::default()).unwrap();
        assert_eq!(
            keys(&all),
            [
                "first/bar",
                "second/bar",
                "second/foo",
                "third/barfoo",
                "third/foo"
            ]
        );
        let on_node = pods
            .list(
                &ListParams::default()
                    .fields("spec.nodeName=fakeNode")
                    .limit(5),
            )
            .unwrap();
        assert_eq!(keys(&on_node), ["first/bar"]);
        let deleted = pods
            .list(&ListParams::default().fields("metadata.name=baz").limit(5))
            .unwrap();
        assert!(deleted.items.is_empty());
    });
}

#[test]
fn exact_lists_with_limits_page_history() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let pods = all_pod_api(store);
        let page = |i: usize, limit: u32| {
            pods.list(
                &ListParams::default()
                    .at(&f.r[i].to_string())
                    .matching(VersionMatch::Exact)
                    .limit(limit),
            )
            .unwrap()
        };
        let p = page(2, 1);
        assert_eq!(keys(&p), ["first/bar"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.r[2] as i64, "first/bar\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(1));
        let p = page(3, 2);
        assert_eq!(keys(&p), ["first/bar", "second/bar"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.r[3] as i64, "second/bar\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(1));
        let p = page(4, 4);
        assert_eq!(p.items.len(), 4);
        assert_eq!(p.metadata.continue_, None);
        assert_eq!(page(5, 1).metadata.remaining_item_count, Some(4));
        let p = page(6, 2);
        assert_eq!(keys(&p), ["first/bar", "second/bar"]);
        assert_eq!(p.metadata.remaining_item_count, Some(4));
        let p = page(7, 4);
        assert_eq!(
            keys(&p),
            ["first/bar", "second/bar", "second/baz", "second/foo"]
        );
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.r[7] as i64, "second/foo\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(2));
        let p = page(8, 8);
        assert_eq!(p.items.len(), 5);
        assert_eq!(p.metadata.continue_, None);
        let p = pods
            .list(
                &ListParams::default()
                    .at(&f.c.to_string())
                    .matching(VersionMatch::Exact)
                    .limit(1),
            )
            .unwrap();
        assert_eq!(keys(&p), ["first/bar"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.c as i64, "first/bar\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(4));
    });
}

#[test]
fn continue_tokens_read_at_their_own_revision() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let pods = all_pod_api(store);
        let cont = |start: &str, rv: i64, limit: u32| {
            pods.list(
                &ListParams::default()
                    .continue_token(&token(rv, start))
                    .limit(limit),
            )
        };
        let err = cont("first/bar\u{0}", f.r[0] as i64, 1).unwrap_err();
        assert!(err.is_gone());
        assert!(err
            .to_string()
            .starts_with("The provided continue parameter is too old"));
        let p = cont("first/bar\u{0}", f.r[1] as i64, 1).unwrap();
        assert!(p.items.is_empty());
        assert_eq!(p.metadata.resource_version, Some(f.r[1].to_string()));
        assert_eq!(p.metadata.continue_, None);
        assert_eq!(
            keys(&cont("first/bar\u{0}", f.r[2] as i64, 1).unwrap()),
            ["second/bar"]
        );
        let p = cont("first/bar\u{0}", f.r[5] as i64, 1).unwrap();
        assert_eq!(keys(&p), ["second/bar"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.r[5] as i64, "second/bar\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(3));
        assert_eq!(
            keys(&cont("second/bar\u{0}", f.r[3] as i64, 2).unwrap()),
            ["second/foo"]
        );
        let p = cont("second/bar\u{0}", f.r[6] as i64, 2).unwrap();
        assert_eq!(keys(&p), ["second/baz", "second/foo"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.r[6] as i64, "second/foo\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(2));
        let p = cont("second/foo\u{0}", f.r[7] as i64, 4).unwrap();
        assert_eq!(keys(&p), ["third/barfoo", "third/foo"]);
        assert_eq!(p.metadata.continue_, None);
        let p = cont("first/bar\u{0}", f.c as i64, 1).unwrap();
        assert_eq!(keys(&p), ["second/bar"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.c as i64, "second/bar\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(3));
        assert_eq!(p.metadata.resource_version, Some(f.c.to_string()));
    });
}

#[test]
fn a_negative_token_revision_continues_at_the_latest_revision() {
    on_each_store(|store| {
        let f = seed_multi_level(store);
        let pods = all_pod_api(store);
        let p = pods
            .list(&ListParams::default().continue_token(&token(-1, "first/bar\u{0}")))
            .unwrap();
        assert_eq!(p.items.len(), 4);
        assert_eq!(p.metadata.resource_version, Some(f.c.to_string()));
        let p = pods
            .list(
                &ListParams::default()
                    .continue_token(&token(-1, "first/bar\u{0}"))
                    .limit(2),
            )
            .unwrap();
        assert_eq!(keys(&p), ["second/bar", "second/foo"]);
        assert_eq!(
            p.metadata.continue_,
            Some(token(f.c as i64, "second/foo\u{0}"))
        );
        assert_eq!(p.metadata.remaining_item_count, Some(2));
        let p = pods
            .list(&ListParams::default().continue_token(&token(-1, "second/foo\u{0}")))
            .unwrap();
        assert_eq!(keys(&p), ["third/barfoo", "third/foo"]);
    });
}

#[test]
fn pages_of_one_list_never_see_later_writes() {
    on_each_store(|store| {
        let pods = pod_api(store, "paging");
        for i in 0..4 {
            pods.create(&PostParams::default(), &pod(&format!("test-{i}")))
                .unwrap();
        }
        let mut names = Vec::new();
        let mut calls = 0;
        let mut lp = ListParams::default().limit(1);
        let mut rvs = std::collections::BTreeSet::new();
        loop {
            let page = pods.list(&lp).unwrap();
            calls += 1;
            rvs.insert(page.metadata.resource_version.clone());
            names.extend(page.items.iter().map(|p| p.metadata.name_str().to_string()));
            if calls == 2 {
                pods.create(&PostParams::default(), &pod("test-5")).unwrap();
            }
            match page.metadata.continue_ {
                Some(t) => lp = ListParams::default().limit(1).continue_token(&t),
                None => break,
            }
        }
        assert_eq!(calls, 4);
        assert_eq!(names, ["test-0", "test-1", "test-2", "test-3"]);
        assert_eq!(rvs.len(), 1);
    });
}

#[test]
fn a_rare_match_at_the_end_of_a_large_range_returns_one_item_without_token() {
    let store = apistore::Store::memory();
    let pods = pod_api(&store, "ns");
    for i in 0..1000 {
        pods.create(&PostParams::default(), &pod(&format!("pod-{i}")))
            .unwrap();
    }
    let page = pods
        .list(
            &ListParams::default()
                .fields("metadata.name!=x,metadata.namespace=ns")
                .labels("")
                .limit(1),
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let rare = pods
        .list(
            &ListParams::default()
                .fields("metadata.name=pod-999")
                .limit(1),
        )
        .unwrap();
    assert_eq!(keys(&rare), ["ns/pod-999"]);
    assert_eq!(rare.metadata.continue_, None);
    let rare_scan = store
        .all::<Pod>()
        .list(
            &ListParams::default()
                .fields("metadata.name=pod-999")
                .limit(1),
        )
        .unwrap();
    assert_eq!(keys(&rare_scan), ["ns/pod-999"]);
    assert_eq!(rare_scan.metadata.continue_, None);
}

#[test]
fn continuation_with_a_filter_pages_matching_items() {
    on_each_store(|store| {
        let create = |ns: &str, name: &str| {
            store
                .namespaced::<Pod>(ns)
                .create(&PostParams::default(), &pod(name))
                .unwrap()
        };
        create("1", "foo");
        create("2", "bar");
        create("3", "foo");
        let last = rv(&create("4", "foo"));
        let pods = all_pod_api(store);
        let p = pods
            .list(&ListParams::default().fields("metadata.name!=bar").limit(2))
            .unwrap();
        assert_eq!(keys(&p), ["1/foo", "3/foo"]);
        assert_eq!(p.metadata.resource_version, Some(last.to_string()));
        let t = p.metadata.continue_.unwrap();
        let p = pods
            .list(
                &ListParams::default()
                    .fields("metadata.name!=bar")
                    .limit(2)
                    .continue_token(&t),
            )
            .unwrap();
        assert_eq!(keys(&p), ["4/foo"]);
        assert_eq!(p.metadata.continue_, None);
        assert_eq!(p.metadata.resource_version, Some(last.to_string()));
    });
}

#[test]
fn a_continued_list_with_limit_zero_returns_the_rest() {
    on_each_store(|store| {
        for (ns, name) in [("first", "bar"), ("second", "bar"), ("second", "foo")] {
            store
                .namespaced::<Pod>(ns)
                .create(&PostParams::default(), &pod(name))
                .unwrap();
        }
        let pods = all_pod_api(store);
        let p = pods.list(&ListParams::default().limit(1)).unwrap();
        assert_eq!(keys(&p), ["first/bar"]);
        let t = p.metadata.continue_.unwrap();
        let rest = pods
            .list(&ListParams::default().continue_token(&t))
            .unwrap();
        assert_eq!(keys(&rest), ["second/bar", "second/foo"]);
        assert_eq!(rest.metadata.continue_, None);
        let p2 = pods
            .list(&ListParams::default().continue_token(&t).limit(1))
            .unwrap();
        assert_eq!(keys(&p2), ["second/bar"]);
        let p3 = pods
            .list(
                &ListParams::default()
                    .continue_token(&p2.metadata.continue_.unwrap())
                    .limit(1),
            )
            .unwrap();
        assert_eq!(keys(&p3), ["second/foo"]);
        assert_eq!(p3.metadata.continue_, None);
        assert_eq!(p.metadata.resource_version, p3.metadata.resource_version);
    });
}
