//! The fuzz targets' checks, run on the committed corpus and on random input, so `cargo test`
//! replays what fuzzing found.

mod corpus_replays;
mod parsers_survive_random_input;
