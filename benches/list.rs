//! W3: list 100,000 objects of 1 KiB under one resource at a fixed revision in pages
//! of 500, continuing as kube-apiserver does (with copied items, and shared through
//! `list_shared`); the same traversal with a label selector that matches 1% of objects; and
//! the cost of the first and last page on their own.

#[path = "common.rs"]
mod common;

use std::time::Duration;

use apistore::{ListParams, PostParams, Store};
use common::{stream, Stream};
use criterion::{criterion_main, Criterion};

const OBJECTS: usize = 100_000;

fn traverse(api: &apistore::Api<Stream>, base: ListParams) -> usize {
    walk(base, |lp| {
        let page = api.list(lp).expect("page");
        (page.items.len(), page.metadata.continue_)
    })
}

/// The same traversal through `list_shared`: the items are the store's objects, not copies.
fn traverse_shared(api: &apistore::Api<Stream>, base: ListParams) -> usize {
    walk(base, |lp| {
        let page = api.list_shared(lp).expect("page");
        (page.items.len(), page.metadata.continue_)
    })
}

/// Lists pages from `base` on, continuing as kube-apiserver clients do; `page` answers the
/// item count and continue token of one page.
fn walk(base: ListParams, mut page: impl FnMut(&ListParams) -> (usize, Option<String>)) -> usize {
    let mut seen = 0;
    let mut lp = base.clone();
    loop {
        let (items, token) = page(&lp);
        seen += items;
        match token {
            Some(token) => {
                lp = ListParams {
                    resource_version: None,
                    ..base.clone()
                }
                .continue_token(&token)
            }
            None => return seen,
        }
    }
}

fn bench(c: &mut Criterion) {
    let store = Store::memory();
    let api = store.all::<Stream>();
    for i in 0..OBJECTS {
        let ns = format!("ns-{:03}", i % 100);
        let labels: &[(&str, &str)] = if i % 100 == 7 {
            &[("rare", "yes")]
        } else {
            &[("rare", "no")]
        };
        store
            .namespaced::<Stream>(&ns)
            .create(
                &PostParams::default(),
                &stream(&format!("obj-{i:08}"), labels),
            )
            .expect("load");
    }
    let at = store.resource_version().to_string();
    let mut group = c.benchmark_group("list");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    let pages = ListParams::default().limit(500).at(&at);
    group.bench_function("w3_100k_pages_of_500", |b| {
        b.iter(|| assert_eq!(traverse(&api, pages.clone()), OBJECTS))
    });
    group.bench_function("w3_100k_pages_of_500_shared", |b| {
        b.iter(|| assert_eq!(traverse_shared(&api, pages.clone()), OBJECTS))
    });
    let rare = ListParams::default().limit(500).at(&at).labels("rare=yes");
    group.bench_function("w3_100k_label_selector_1pct", |b| {
        b.iter(|| assert_eq!(traverse(&api, rare.clone()), OBJECTS / 100))
    });
    let first = api.list(&pages).expect("first");
    let mut lp = pages.clone();
    let mut last_token = None;
    loop {
        let page = api.list(&lp).expect("page");
        match page.metadata.continue_ {
            Some(t) => {
                last_token = Some(t.clone());
                lp = ListParams::default().limit(500).continue_token(&t);
            }
            None => break,
        }
    }
    drop(first);
    group.bench_function("first_page_of_500", |b| {
        b.iter(|| api.list(&pages).expect("first"))
    });
    let last = ListParams::default()
        .limit(500)
        .continue_token(&last_token.expect("many pages"));
    group.bench_function("last_page_of_500", |b| {
        b.iter(|| api.list(&last).expect("last"))
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);

/// The allocator every bench runs with (see the README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
