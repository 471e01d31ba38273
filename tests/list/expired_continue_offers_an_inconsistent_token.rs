//! A token whose revision was compacted answers 410 with a fresh rv=-1 token that continues at
//! the latest revision.
use crate::common;
use apistore::{ListParams, PostParams};
use common::*;

#[test]
fn a_compacted_continue_token_gives_410_with_a_working_inconsistent_token() {
    on_each_store(|store| {
        for (ns, name) in [("first", "bar"), ("second", "bar"), ("second", "foo")] {
            store
                .namespaced::<Pod>(ns)
                .create(&PostParams::default(), &pod(name))
                .unwrap();
        }
        let pods = all_pod_api(store);
        let first = pods.list(&ListParams::default().at("0").limit(1)).unwrap();
        assert_eq!(keys(&first), ["first/bar"]);
        let old = first.metadata.continue_.clone().unwrap();
        let updated = store
            .namespaced::<Pod>("second")
            .update("foo", |mut p| {
                p.metadata.labels = Some([("state".to_string(), "new".to_string())].into());
                Ok(p)
            })
            .unwrap();
        store.compact(rv(&updated)).unwrap();
        bump(store);
        let err = pods
            .list(&ListParams::default().continue_token(&old).limit(1))
            .unwrap_err();
        assert!(err.is_gone());
        let status = err.status();
        let fresh = status.metadata.unwrap().continue_.expect("a fresh token");
        assert_eq!(fresh, token(-1, "first/bar\u{0}"));
        let p = pods
            .list(&ListParams::default().continue_token(&fresh).limit(1))
            .unwrap();
        assert_eq!(keys(&p), ["second/bar"]);
        let page_rv: u64 = p
            .metadata
            .resource_version
            .clone()
            .unwrap()
            .parse()
            .unwrap();
        assert!(page_rv >= rv(&updated));
        let last = pods
            .list(
                &ListParams::default()
                    .continue_token(&p.metadata.continue_.unwrap())
                    .limit(1),
            )
            .unwrap();
        assert_eq!(keys(&last), ["second/foo"]);
        assert_eq!(
            last.items[0].metadata.labels.as_ref().unwrap()["state"],
            "new"
        );
        assert_eq!(last.metadata.continue_, None);
        assert_eq!(last.metadata.resource_version, p.metadata.resource_version);
    });
}

#[test]
fn tampered_tokens_are_bad_requests_that_never_escape_the_prefix() {
    let store = apistore::Store::memory();
    store
        .namespaced::<Pod>("a")
        .create(&PostParams::default(), &pod("x"))
        .unwrap();
    store
        .namespaced::<Pod>("b")
        .create(&PostParams::default(), &pod("y"))
        .unwrap();
    let a = pod_api(&store, "a");
    for bad in [
        token(5, "../b/"),
        token(5, "../../"),
        token(5, "x/../../b"),
        "%%%".to_string(),
        token(5, "./y"),
    ] {
        let err = a
            .list(&ListParams::default().continue_token(&bad))
            .unwrap_err();
        assert!(err.is_bad_request(), "{bad}");
        assert!(
            err.to_string().starts_with("invalid continue token: "),
            "{err}"
        );
    }
    // A token from the all-namespaces list, replayed on one namespace, still reads only it.
    let other = a
        .list(&ListParams::default().continue_token(&token(-1, "b/y")))
        .unwrap();
    assert!(other
        .items
        .iter()
        .all(|p| p.metadata.namespace.as_deref() == Some("a")));
}
