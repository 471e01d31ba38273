//! Image costs. Issue 7: create of an Image from a schema2 manifest with 10 layers (parse +
//! digest + derive + store) on memory and on the durable default, one at a time and from 32
//! threads at once (throughput under group commit), and reference parsing.
//! Issue 8: mapping create into a stream of 100 tags × 10 history entries, ImageStreamTag get,
//! and the layers of a stream over 1,000 images.

use std::time::{Duration, Instant};

use apistore::image::{
    Digest, DockerImageReference, Image, ImageApi, ImageStream, ImageStreamMapping,
    NamedTagEventList, TagEvent,
};
use apistore::{Config, ObjectMeta, PostParams, Store, Time};
use criterion::{criterion_main, Criterion};

const MANIFEST: &str = include_str!("schema2-10-layers.json");
const CONFIG: &str = include_str!("../tests/fixtures/manifests/schema2-config.json");

/// Threads creating images at once in the concurrent durable variant.
const CREATORS: usize = 32;

/// An Image carrying the 10-layer schema2 manifest made unique by `n` (so its digest, and the
/// Image name, are computed afresh every time) and its config blob.
fn image_from_manifest(n: u64) -> Image {
    let manifest = MANIFEST.replacen(
        "\"schemaVersion\": 2",
        &format!("\"schemaVersion\": 2, \"n\": {n}"),
        1,
    );
    let digest = Digest::sha256_of(manifest.as_bytes()).to_string();
    Image {
        metadata: ObjectMeta {
            name: Some(digest.clone()),
            ..ObjectMeta::default()
        },
        docker_image_reference: format!("registry.example.com/team/app@{digest}"),
        docker_image_manifest: manifest,
        docker_image_config: CONFIG.to_string(),
        ..Image::default()
    }
}

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
                images
                    .create(&PostParams::default(), &image_from_manifest(n))
                    .expect("create")
            })
        });
    }
    // Throughput on the durable default: creates from many threads share log syncs (group
    // commit), as a registry pushing many images would. Reported per create.
    let concurrent_dir = tempfile::tempdir().expect("tempdir");
    let durable = Store::open(Config::sled(concurrent_dir.path())).expect("open");
    let images = ImageApi::new(&durable).images();
    let counter = std::sync::atomic::AtomicU64::new(0);
    group.bench_function(
        format!("sled_durable/create_from_schema2_10_layers_{CREATORS}_threads"),
        |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(CREATORS as u64);
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..CREATORS {
                        s.spawn(|| {
                            for _ in 0..per_thread {
                                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                images
                                    .create(&PostParams::default(), &image_from_manifest(n))
                                    .expect("create");
                            }
                        });
                    }
                });
                // Time per create: the threads' total work over the elapsed time.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_thread * CREATORS as u64) as f64)
            })
        },
    );
    let hex = "a".repeat(64);
    let spec = format!("registry.example.com:5000/team/app:v1.2@sha256:{hex}");
    group.bench_function("reference_parse", |b| {
        b.iter(|| DockerImageReference::parse(std::hint::black_box(&spec)).expect("parse"))
    });
    group.finish();
    streams(c);
}

const TAGS: usize = 100;
const HISTORY: usize = 10;
/// Threads mapping into the stream at once (each into `TAGS / MAPPERS` tags of its own).
const MAPPERS: usize = 50;

/// A mapping of a new image `id` into tag `tag` of the big stream.
fn mapping_of(id: usize, tag: usize) -> ImageStreamMapping {
    ImageStreamMapping {
        metadata: ObjectMeta {
            name: Some("big".into()),
            ..ObjectMeta::default()
        },
        image: Image {
            metadata: ObjectMeta {
                name: Some(image_name(id)),
                ..ObjectMeta::default()
            },
            docker_image_reference: format!("registry.example.com/team/app@{}", image_name(id)),
            ..Image::default()
        },
        tag: format!("tag-{tag:03}"),
        ..ImageStreamMapping::default()
    }
}

fn image_name(i: usize) -> String {
    format!("sha256:{i:064x}")
}

/// A stream with `TAGS` tags of `HISTORY` events each, over `TAGS * HISTORY` distinct images.
fn big_stream() -> ImageStream {
    let mut stream = ImageStream {
        metadata: ObjectMeta {
            name: Some("big".into()),
            ..ObjectMeta::default()
        },
        ..ImageStream::default()
    };
    for t in 0..TAGS {
        let items = (0..HISTORY)
            .map(|h| {
                let image = image_name(t * HISTORY + h);
                TagEvent {
                    created: Some(Time::now()),
                    docker_image_reference: format!("registry.example.com/team/app@{image}"),
                    image,
                    generation: 1,
                    ..TagEvent::default()
                }
            })
            .collect();
        stream.status.tags.push(NamedTagEventList {
            tag: format!("tag-{t:03}"),
            items,
            ..NamedTagEventList::default()
        });
    }
    stream
}

/// Puts the stream back to `TAGS` × `HISTORY` (untimed between measured batches).
fn reset(api: &ImageApi) {
    let streams = api.streams("bench");
    let mut stream = big_stream();
    let current = streams.get("big").expect("stream");
    stream.metadata.resource_version = current.metadata.resource_version;
    streams
        .replace_unrestricted("big", &PostParams::default(), &stream)
        .expect("reset");
}

/// Issue 8: mapping create into a 100 × 10 stream, ImageStreamTag get, and the layers of a
/// stream over 1,000 images (each with 10 layers).
fn streams(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = [
        ("memory", Store::memory()),
        (
            "sled_durable",
            Store::open(Config::sled(dir.path())).expect("open"),
        ),
    ];
    let mut group = c.benchmark_group("image_streams");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let layered: Image = {
        let mut image = Image {
            docker_image_manifest: MANIFEST.to_string(),
            docker_image_config: CONFIG.to_string(),
            ..Image::default()
        };
        apistore::image::manifest::derive_metadata(&mut image).expect("derive");
        image.docker_image_manifest.clear();
        image.docker_image_config.clear();
        image
    };
    for (name, store) in stores {
        let api = ImageApi::new(&store);
        for i in 0..TAGS * HISTORY {
            let mut image = layered.clone();
            image.metadata.name = Some(image_name(i));
            image.docker_image_reference =
                format!("registry.example.com/team/app@{}", image_name(i));
            api.images()
                .create(&PostParams::default(), &image)
                .expect("image");
        }
        api.streams("bench")
            .create_unrestricted(&PostParams::default(), &big_stream())
            .expect("stream");

        let mut n = 0usize;
        group.bench_function(format!("{name}/mapping_create_100x10"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for i in 0..iters {
                    if i % 50 == 0 {
                        reset(&api);
                    }
                    n += 1;
                    let mapping = mapping_of(1_000_000 + n, n % TAGS);
                    let start = Instant::now();
                    api.mappings("bench").create(&mapping).expect("mapping");
                    spent += start.elapsed();
                }
                spent
            })
        });
        // Throughput: mappers on threads of their own, each into tags of its own (so no
        // mapping finds its tag moved by another), as a registry pushes many images at once;
        // they share stream writes. The stream is put back to 100 × 10 between batches of
        // `MAPPERS * 4` mappings (untimed: each tag gains 2 events a batch), so its size stays
        // about what the target names. The mappers are started once per measurement and meet
        // at a barrier between batches, as a server's worker threads outlive its requests: a
        // thread started and ended per batch cost a tenth of the time measured.
        group.bench_function(
            format!("{name}/mapping_create_100x10_{MAPPERS}_threads"),
            |b| {
                b.iter_custom(|iters| {
                    let batches = iters.div_ceil(MAPPERS as u64 * 4);
                    let per_thread = iters.div_ceil(MAPPERS as u64 * batches).max(1);
                    let start = std::sync::Barrier::new(MAPPERS + 1);
                    let done = std::sync::Barrier::new(MAPPERS + 1);
                    let first = n;
                    let mut spent = Duration::ZERO;
                    std::thread::scope(|s| {
                        for t in 0..MAPPERS {
                            let (api, start, done) = (&api, &start, &done);
                            s.spawn(move || {
                                for batch in 0..batches as usize {
                                    start.wait();
                                    for k in 0..per_thread as usize {
                                        let tag = t * (TAGS / MAPPERS) + k % (TAGS / MAPPERS);
                                        let id = 2_000_000
                                            + first
                                            + batch * MAPPERS * 1_000
                                            + t * 1_000
                                            + k;
                                        api.mappings("bench")
                                            .create(&mapping_of(id, tag))
                                            .expect("mapping");
                                    }
                                    done.wait();
                                }
                            });
                        }
                        for _ in 0..batches {
                            reset(&api);
                            start.wait();
                            let begun = Instant::now();
                            done.wait();
                            spent += begun.elapsed();
                        }
                    });
                    n += batches as usize * MAPPERS * 1_000;
                    let measured = batches * per_thread * MAPPERS as u64;
                    spent.mul_f64(iters as f64 / measured as f64)
                })
            },
        );
        reset(&api);
        let tags = api.stream_tags("bench");
        group.bench_function(format!("{name}/stream_tag_get"), |b| {
            b.iter(|| tags.get("big:tag-042").expect("istag"))
        });
        group.bench_function(format!("{name}/layers_1000_images"), |b| {
            b.iter(|| api.layers("bench", "big").expect("layers"))
        });
    }
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
