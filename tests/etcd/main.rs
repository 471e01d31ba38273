//! The store on real etcd: the revision layer against a reference model, the store's verbs,
//! several stores sharing one cluster, and failures of members and connections.
#![cfg(all(feature = "etcd", feature = "testing"))]

mod revisions_match_the_reference_model;
mod smoke;
