//! scratch
#[path = "../benches/common.rs"]
mod common;
use std::time::Instant;
use apistore::{PostParams, Store, ListParams};
fn main() {
    let store = Store::memory();
    for i in 0..100_000 {
        let ns = format!("ns-{:03}", i % 100);
        store.namespaced::<common::Stream>(&ns).create(&PostParams::default(), &common::stream(&format!("obj-{i:08}"), &[])).unwrap();
    }
    let api = store.all::<common::Stream>();
    let s = Instant::now();
    let r = store.mvcc().range(&apistore::backend::KeyRange::prefix(b"/registry/"), apistore::mvcc::RangeOptions{revision:0, limit: 500, count: false}).unwrap();
    println!("range 500: {:?} {}", s.elapsed(), r.kvs.len());
    let s = Instant::now();
    let r = store.mvcc().range(&apistore::backend::KeyRange::prefix(b"/registry/"), apistore::mvcc::RangeOptions{revision:0, limit: 1, count: true}).unwrap();
    println!("count all: {:?} {:?}", s.elapsed(), r.count);
    let s = Instant::now();
    let p = api.list(&ListParams::default().limit(500).labels("x=y")).unwrap();
    println!("label none: {:?} {}", s.elapsed(), p.items.len());
    for _ in 0..3 {
    let s = Instant::now();
    let p = api.list(&ListParams::default().limit(500)).unwrap();
    println!("page: {:?} {}", s.elapsed(), p.items.len());
    }
}
