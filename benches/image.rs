//! Image costs (issue 7): create of an Image from a schema2 manifest with 10 layers (parse +
//! digest + derive + store) on memory and on the durable default, and reference parsing.

use std::time::Duration;

use apistore::image::{Digest, DockerImageReference, Image, ImageApi};
use apistore::{Config, ObjectMeta, PostParams, Store};
use criterion::{criterion_main, Criterion};

const MANIFEST: &str = include_str!("schema2-10-layers.json");
const CONFIG: &str = include_str!("../tests/fixtures/manifests/schema2-config.json");

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = [
        ("memory", Store::memory()),
        (
            "sled_durable",
            Store::open(Config::sled(dir.path())).expect("open"),
        ),
    ];
    let mut group = c.benchmark_group("image");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for (name, store) in stores {
        let images = ImageApi::new(&store).images();
        let mut n = 0u64;
        group.bench_function(format!("{name}/create_from_schema2_10_layers"), |b| {
            b.iter(|| {
                n += 1;
                // Each image gets its own manifest bytes, so the digest is computed every time.
                let manifest = MANIFEST.replacen(
                    "\"schemaVersion\": 2",
                    &format!("\"schemaVersion\": 2, \"n\": {n}"),
                    1,
                );
                let digest = Digest::sha256_of(manifest.as_bytes()).to_string();
                let image = Image {
                    metadata: ObjectMeta {
                        name: Some(digest.clone()),
                        ..ObjectMeta::default()
                    },
                    docker_image_reference: format!("registry.example.com/team/app@{digest}"),
                    docker_image_manifest: manifest,
                    docker_image_config: CONFIG.to_string(),
                    ..Image::default()
                };
                images
                    .create(&PostParams::default(), &image)
                    .expect("create")
            })
        });
    }
    let hex = "a".repeat(64);
    let spec = format!("registry.example.com:5000/team/app:v1.2@sha256:{hex}");
    group.bench_function("reference_parse", |b| {
        b.iter(|| DockerImageReference::parse(std::hint::black_box(&spec)).expect("parse"))
    });
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
