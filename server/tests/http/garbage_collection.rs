//! The garbage collector over the stored kinds, as kube-controller-manager's acts: dependents
//! whose owners are all gone are deleted, `Orphan` leaves them without the reference,
//! `Foreground` deletes them before their owner, and an owner of a kind the server does not
//! store keeps its dependent.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{run, send, server, Answer, JSON};

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn config_map(s: &apistore_server::Server, name: &str, owners: Value) -> Answer {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "ownerReferences": owners}});
    let made = send(
        s,
        Method::POST,
        CONFIG_MAPS,
        JSON,
        &serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(made.code, StatusCode::CREATED, "{}", made.body);
    made
}

fn owned_by(owner: &Answer, block: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner.body["metadata"]["name"],
        "uid": owner.body["metadata"]["uid"], "blockOwnerDeletion": block})
}

async fn exists(s: &apistore_server::Server, name: &str) -> bool {
    send(s, Method::GET, &format!("{CONFIG_MAPS}/{name}"), "", b"")
        .await
        .code
        == StatusCode::OK
}

/// Passes of the collector until `done`, at most five.
async fn collect_until(s: &apistore_server::Server, done: impl AsyncFn() -> bool) {
    for _ in 0..5 {
        s.collect_garbage().await;
        if done().await {
            return;
        }
    }
    panic!("the collector did not get there in five passes");
}

#[test]
fn dependents_of_an_owner_gone_are_deleted_unless_an_owner_cannot_be_checked() {
    run(async {
        let s = server();
        let owner = config_map(&s, "owner", json!(null)).await;
        config_map(&s, "dependent", json!([owned_by(&owner, false)])).await;
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
            "uid": "0b7c3bd2-6c7e-4b43-9d8e-5a1f5f0c2d11"});
        config_map(&s, "of-a-deployment", json!([deployment])).await;
        config_map(&s, "shared", json!([owned_by(&owner, false), deployment])).await;
        let survivor = config_map(&s, "survivor", json!(null)).await;
        config_map(
            &s,
            "two-owners",
            json!([owned_by(&owner, false), owned_by(&survivor, false)]),
        )
        .await;
        s.collect_garbage().await;
        assert!(exists(&s, "dependent").await, "its owner is there");

        let deleted = send(&s, Method::DELETE, &format!("{CONFIG_MAPS}/owner"), "", b"").await;
        assert_eq!(deleted.code, StatusCode::OK);
        collect_until(&s, async || !exists(&s, "dependent").await).await;
        // An owner the server does not store cannot be checked: kube's collector waits too.
        assert!(exists(&s, "of-a-deployment").await);
        assert!(exists(&s, "shared").await);
        // A dependent with an owner left keeps it and loses the reference to the one gone.
        let two = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/two-owners"),
            "",
            b"",
        )
        .await;
        assert_eq!(
            two.body["metadata"]["ownerReferences"],
            json!([owned_by(&survivor, false)])
        );
    });
}

#[test]
fn an_orphaning_delete_leaves_the_dependents_without_their_reference() {
    run(async {
        let s = server();
        let owner = config_map(&s, "owner", json!(null)).await;
        config_map(&s, "dependent", json!([owned_by(&owner, true)])).await;
        let deleted = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/owner?propagationPolicy=Orphan"),
            "",
            b"",
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
        assert_eq!(deleted.body["metadata"]["finalizers"], json!(["orphan"]));
        assert!(deleted.body["metadata"]["deletionTimestamp"].is_string());
        collect_until(&s, async || !exists(&s, "owner").await).await;
        let dependent = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/dependent"),
            "",
            b"",
        )
        .await;
        assert_eq!(dependent.code, StatusCode::OK);
        assert!(
            dependent.body["metadata"].get("ownerReferences").is_none(),
            "{}",
            dependent.body
        );
    });
}

#[test]
fn a_foreground_delete_keeps_the_owner_until_its_blocking_dependents_are_gone() {
    run(async {
        let s = server();
        let owner = config_map(&s, "owner", json!(null)).await;
        let blocking = config_map(&s, "blocking", json!([owned_by(&owner, true)])).await;
        config_map(&s, "grandchild", json!([owned_by(&blocking, true)])).await;
        // A finalizer of another controller holds the grandchild: all above it wait.
        let held = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/grandchild"),
            "application/merge-patch+json",
            br#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
        )
        .await;
        assert_eq!(held.code, StatusCode::OK);
        let deleted = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}/owner"),
            JSON,
            br#"{"propagationPolicy":"Foreground"}"#,
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
        assert_eq!(
            deleted.body["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
        for _ in 0..4 {
            s.collect_garbage().await;
        }
        assert!(exists(&s, "owner").await, "waits for its dependents");
        let child = send(&s, Method::GET, &format!("{CONFIG_MAPS}/blocking"), "", b"").await;
        assert_eq!(
            child.body["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
        let grandchild = send(
            &s,
            Method::GET,
            &format!("{CONFIG_MAPS}/grandchild"),
            "",
            b"",
        )
        .await;
        assert!(grandchild.body["metadata"]["deletionTimestamp"].is_string());

        let released = send(
            &s,
            Method::PATCH,
            &format!("{CONFIG_MAPS}/grandchild"),
            "application/merge-patch+json",
            br#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
        assert_eq!(released.code, StatusCode::OK);
        collect_until(&s, async || !exists(&s, "owner").await).await;
        assert!(!exists(&s, "blocking").await);
        assert!(!exists(&s, "grandchild").await);
    });
}

#[test]
fn a_foreground_or_orphaning_delete_is_carried_out_before_it_is_answered() {
    run(async {
        let s = server();
        for (policy, dependent_left) in [("Foreground", false), ("Orphan", true)] {
            let owner = config_map(&s, "owner", json!(null)).await;
            config_map(&s, "dependent", json!([owned_by(&owner, true)])).await;
            let deleted = send(
                &s,
                Method::DELETE,
                &format!("{CONFIG_MAPS}/owner?propagationPolicy={policy}"),
                "",
                b"",
            )
            .await;
            assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
            // No collector runs by itself in-process: the delete did the passes it needed.
            assert!(!exists(&s, "owner").await, "{policy}");
            assert_eq!(exists(&s, "dependent").await, dependent_left, "{policy}");
            if dependent_left {
                send(
                    &s,
                    Method::DELETE,
                    &format!("{CONFIG_MAPS}/dependent"),
                    "",
                    b"",
                )
                .await;
            }
        }
        // And for a collection delete.
        config_map(&s, "a", json!(null)).await;
        config_map(&s, "b", json!(null)).await;
        let deleted = send(
            &s,
            Method::DELETE,
            &format!("{CONFIG_MAPS}?propagationPolicy=Foreground"),
            "",
            b"",
        )
        .await;
        assert_eq!(deleted.code, StatusCode::OK, "{}", deleted.body);
        assert!(!exists(&s, "a").await && !exists(&s, "b").await);
    });
}

/// A delete of the `target`-th object (of those made) with a propagation policy.
#[derive(Clone, Debug)]
struct Delete {
    target: usize,
    policy: &'static str,
}

fn graph_and_deletes() -> impl proptest::strategy::Strategy<Value = (Vec<Vec<usize>>, Vec<Delete>)>
{
    use proptest::prelude::*;
    // Object `i` is owned by a subset of the objects before it: no cycles.
    let owners = (1..7usize).prop_flat_map(|n| {
        (0..n)
            .map(|i| proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(3)))
            .collect::<Vec<_>>()
    });
    owners.prop_flat_map(|owners| {
        let n = owners.len();
        let delete = (
            0..n,
            prop_oneof![Just("Background"), Just("Foreground"), Just("Orphan")],
        )
            .prop_map(|(target, policy)| Delete { target, policy });
        (Just(owners), proptest::collection::vec(delete, 1..5))
    })
}

/// What kube's collector leaves once it has settled: the objects alive with, for each, the
/// owners it still names.
fn settle_model(alive: &mut [Option<Vec<usize>>], delete: &Delete) {
    if alive[delete.target].is_none() {
        return;
    }
    alive[delete.target] = None;
    if delete.policy == "Orphan" {
        for refs in alive.iter_mut().flatten() {
            refs.retain(|&o| o != delete.target);
        }
    }
    // Dependents whose owners are all gone go (in the background or the foreground alike, once
    // settled); the others lose the references to owners gone.
    loop {
        let gone: Vec<usize> = (0..alive.len())
            .filter(|&i| {
                alive[i].as_ref().is_some_and(|refs| {
                    !refs.is_empty() && refs.iter().all(|&o| alive[o].is_none())
                })
            })
            .collect();
        if gone.is_empty() {
            break;
        }
        for i in gone {
            alive[i] = None;
        }
    }
    let dead: Vec<usize> = (0..alive.len()).filter(|&i| alive[i].is_none()).collect();
    for refs in alive.iter_mut().flatten() {
        refs.retain(|o| !dead.contains(o));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    #[test]
    fn random_owner_graphs_and_deletes_settle_as_kubes_collector_leaves_them(
        (owners, deletes) in graph_and_deletes()
    ) {
        run(async {
            let s = server();
            let mut made: Vec<Answer> = Vec::new();
            for (i, of) in owners.iter().enumerate() {
                let refs: Vec<Value> = of.iter().map(|&o| owned_by(&made[o], true)).collect();
                let refs = if refs.is_empty() { json!(null) } else { json!(refs) };
                made.push(config_map(&s, &format!("o{i}"), refs).await);
            }
            let mut model: Vec<Option<Vec<usize>>> = owners.iter().cloned().map(Some).collect();
            for delete in &deletes {
                let path = format!("{CONFIG_MAPS}/o{}?propagationPolicy={}", delete.target, delete.policy);
                send(&s, Method::DELETE, &path, "", b"").await;
                for _ in 0..10 {
                    s.collect_garbage().await;
                }
                settle_model(&mut model, delete);
                for (i, expected) in model.iter().enumerate() {
                    let got = send(&s, Method::GET, &format!("{CONFIG_MAPS}/o{i}"), "", b"").await;
                    match expected {
                        None => assert_eq!(got.code, StatusCode::NOT_FOUND, "o{i} after {deletes:?}"),
                        Some(refs) => {
                            assert_eq!(got.code, StatusCode::OK, "o{i} after {deletes:?}");
                            let names: Vec<String> = got.body["metadata"]["ownerReferences"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|r| r["name"].as_str().unwrap_or_default().to_string())
                                .collect();
                            let want: Vec<String> = refs.iter().map(|o| format!("o{o}")).collect();
                            assert_eq!(names, want, "o{i} after {deletes:?}");
                        }
                    }
                }
            }
        });
    }
}
