//! The store on real etcd: the revision layer against a reference model, the store's verbs,
//! several stores sharing one cluster, and failures of members and connections.
#![cfg(all(feature = "etcd", feature = "testing"))]

#[path = "../mvcc_model/mod.rs"]
mod mvcc_model;

mod compactions_reach_every_store_on_the_cluster;
mod failures_between_the_store_and_etcd;
mod fresh_reads_through_another_store_see_every_acknowledged_write;
mod layer_on_etcd_matches_the_reference_model;
mod writes_answer_when_the_index_holds_them;
