//! The property the project is known by: random interleavings of writes, compactions and
//! paginated lists with random limits and selectors. The concatenated pages of every list equal
//! the model's one-shot list at that list's revision, with no duplicate or missing item; every
//! page has at most `limit` items; a token appears iff the page is full and a key follows;
//! compacted tokens answer 410 with a working inconsistent-continue token.
use crate::common;
use apistore::ObjectMetaExt;
use std::collections::BTreeMap;

use apistore::{ListParams, Store, VersionMatch};
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Write(WriteOp),
    List {
        scope: Option<usize>,
        selector: usize,
        limit: u32,
        exact_back: Option<usize>,
        mid: Vec<Mid>,
    },
}

#[derive(Clone, Debug)]
enum Mid {
    Nothing,
    Write(WriteOp),
    CompactAll,
}

const NAMESPACES: [&str; 3] = ["a", "a-b", "b"];
const LABELS: [&str; 3] = ["x", "y", "z"];
const SELECTORS: [&str; 4] = ["", "app=x", "app!=x", "app in (x,z)"];

fn op() -> impl Strategy<Value = Op> {
    let mid = prop_oneof![
        4 => Just(Mid::Nothing),
        2 => write_op(3, 6, 3).prop_map(Mid::Write),
        1 => Just(Mid::CompactAll),
    ];
    prop_oneof![
        9 => write_op(3, 6, 3).prop_map(Op::Write),
        3 => (proptest::option::of(0..3usize), 0..4usize, 0..5u32, proptest::option::of(0..8usize), proptest::collection::vec(mid, 0..6))
            .prop_map(|(scope, selector, limit, exact_back, mid)| Op::List { scope, selector, limit, exact_back, mid }),
    ]
}

/// The live objects at `rev`: key → label.
fn view(model: &LabelModel, rev: u64) -> BTreeMap<String, String> {
    model
        .live_at(rev)
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn matches(selector: &str, label: &str) -> bool {
    match selector {
        "" => true,
        "app=x" => label == "x",
        "app!=x" => label != "x",
        "app in (x,z)" => label == "x" || label == "z",
        _ => unreachable!(),
    }
}

fn run(store: &Store, ops: Vec<Op>) {
    let mut model = LabelModel::new();
    assert_eq!(store.resource_version(), model.current());
    for op in ops {
        match op {
            Op::Write(write) => apply_write(store, &mut model, &NAMESPACES, &LABELS, &write),
            Op::List {
                scope,
                selector,
                limit,
                exact_back,
                mid,
            } => {
                let api = match scope {
                    Some(ns) => store.namespaced::<Pod>(NAMESPACES[ns]),
                    None => store.all::<Pod>(),
                };
                let in_scope = |key: &str| {
                    scope.is_none_or(|ns| key.starts_with(&format!("{}/", NAMESPACES[ns])))
                };
                let sel = SELECTORS[selector];
                let mut lp = ListParams::default().labels(sel).limit(limit);
                let current = store.resource_version();
                let mut snapshot = current;
                if let Some(back) = exact_back {
                    let want = current.saturating_sub(back as u64).max(1);
                    lp = lp.at(&want.to_string()).matching(VersionMatch::Exact);
                    if model.is_compacted(want) {
                        let err = api.list(&lp).unwrap_err();
                        assert!(err.is_gone(), "{err}");
                        continue;
                    }
                    snapshot = want;
                }
                let mut got: Vec<String> = Vec::new();
                let mut consistent = true;
                let mut mids = mid.into_iter();
                loop {
                    let page = match api.list(&lp) {
                        Ok(page) => page,
                        Err(err) => {
                            assert!(err.is_gone(), "{err}");
                            let fresh = err
                                .status()
                                .metadata
                                .and_then(|m| m.continue_)
                                .expect("inconsistent-continue token");
                            consistent = false;
                            lp = ListParams::default()
                                .labels(sel)
                                .limit(limit)
                                .continue_token(&fresh);
                            continue;
                        }
                    };
                    // The zero-copy variant reads exactly the same page.
                    let shared = api.list_shared(&lp).expect("the same page, shared");
                    assert_eq!(shared.metadata, page.metadata);
                    assert!(shared.items.iter().map(|i| &**i).eq(page.items.iter()));
                    let rev: u64 = page
                        .metadata
                        .resource_version
                        .clone()
                        .unwrap()
                        .parse()
                        .unwrap();
                    if consistent {
                        assert_eq!(rev, snapshot, "every page reads the list's snapshot");
                    }
                    if limit > 0 {
                        assert!(page.items.len() <= limit as usize);
                    }
                    let page_keys = keys(&page);
                    let view = view(&model, rev);
                    for item in &page.items {
                        let key = format!(
                            "{}/{}",
                            item.metadata.namespace_str(),
                            item.metadata.name_str()
                        );
                        let label = item.metadata.labels.as_ref().unwrap()["app"].clone();
                        assert_eq!(view.get(&key), Some(&label), "item {key} as of {rev}");
                        assert!(matches(sel, &label));
                    }
                    if let (Some(last_prev), Some(first)) = (got.last(), page_keys.first()) {
                        assert!(
                            last_prev.as_bytes() < first.as_bytes(),
                            "pages ascend without duplicates"
                        );
                    }
                    let full = limit > 0 && page.items.len() == limit as usize;
                    let follows = page_keys.last().is_some_and(|last| {
                        view.keys()
                            .any(|k| in_scope(k) && k.as_bytes() > last.as_bytes())
                    });
                    assert_eq!(
                        page.metadata.continue_.is_some(),
                        full && follows,
                        "token rule at {rev}: {page_keys:?}"
                    );
                    if page.metadata.continue_.is_some() && sel.is_empty() {
                        let last = page_keys.last().unwrap();
                        let remaining = view
                            .keys()
                            .filter(|k| in_scope(k) && k.as_bytes() > last.as_bytes())
                            .count();
                        assert_eq!(page.metadata.remaining_item_count, Some(remaining as i64));
                    }
                    got.extend(page_keys);
                    let Some(token) = page.metadata.continue_ else {
                        break;
                    };
                    match mids.next().unwrap_or(Mid::Nothing) {
                        Mid::Nothing => {}
                        Mid::Write(write) => {
                            apply_write(store, &mut model, &NAMESPACES, &LABELS, &write)
                        }
                        Mid::CompactAll => {
                            let target = store.resource_version();
                            store.compact(target).unwrap();
                            model.compact(target);
                        }
                    }
                    lp = ListParams::default()
                        .labels(sel)
                        .limit(limit)
                        .continue_token(&token);
                }
                if consistent {
                    let expected: Vec<String> = view(&model, snapshot)
                        .iter()
                        .filter(|(k, l)| in_scope(k) && matches(sel, l))
                        .map(|(k, _)| k.clone())
                        .collect();
                    let mut expected_sorted = expected.clone();
                    expected_sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
                    assert_eq!(
                        got, expected_sorted,
                        "pages concatenate to the one-shot list at {snapshot}"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn paginated_lists_on_memory_equal_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(&Store::memory(), ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn paginated_lists_on_sled_equal_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        run(&Store::open(apistore::Config::sled(dir.path())).unwrap(), ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// Nothing kept decoded: every item of every page is decoded from its value.
    #[test]
    fn paginated_lists_without_decoded_objects_equal_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(&Store::open(apistore::Config::memory().object_cache_entries(0)).unwrap(), ops);
    }

    /// A cache too small for older snapshots: their pages mix kept and decoded objects.
    #[test]
    fn paginated_lists_with_a_tiny_cache_equal_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(&Store::open(apistore::Config::memory().object_cache_entries(64)).unwrap(), ops);
    }
}
