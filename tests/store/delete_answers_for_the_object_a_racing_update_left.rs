//! A delete that races an update: the update lands between the delete's read and its commit.
//! The delete reads the object again, checks its preconditions and admission on that fresh
//! object, and returns it stamped with the deletion's revision. (Kubernetes' storage tests
//! `DeleteWithConflict` and `ValidateDeletionWithSuggestion`.)
use apistore::ObjectMetaExt;
use std::sync::atomic::{AtomicUsize, Ordering};

use apistore::{
    DeleteParams, Error, ObjectMeta, PostParams, Preconditions, Resource, StatusCause, Store,
    StrategyContext,
};
use serde::{Deserialize, Serialize};

/// How many times the admission below ran, and whether it should update the object (on its
/// first call) or refuse deletes.
static ADMISSIONS: AtomicUsize = AtomicUsize::new(0);

/// A kind whose delete admission updates the object on its first call, as another client
/// would in between, and refuses the delete of an object labelled `keep=yes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Racy {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    value: u32,
}

impl Resource for Racy {
    const GROUP: &'static str = "example.com";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "Racy";
    const PLURAL: &'static str = "racies";
    const NAMESPACED: bool = true;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
    fn validate_delete(&self, ctx: &StrategyContext<'_>) -> Result<(), Error> {
        let call = ADMISSIONS.fetch_add(1, Ordering::SeqCst);
        if self.metadata.name_str() == "raced" && call == 0 {
            ctx.store()
                .namespaced::<Racy>(self.metadata.namespace_str())
                .update(self.metadata.name_str(), |mut r| {
                    r.value += 1;
                    Ok(r)
                })?;
        }
        let keep = self.metadata.labels.as_ref().and_then(|l| l.get("keep"));
        if keep.is_some_and(|k| k == "yes") {
            return Err(Error::invalid(
                Self::GROUP,
                Self::KIND,
                self.metadata.name_str(),
                vec![StatusCause::forbidden("metadata.labels[keep]", "kept")],
            ));
        }
        Ok(())
    }
}

fn racy(name: &str) -> Racy {
    Racy {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        value: 1,
    }
}

fn rv(obj: &Racy) -> u64 {
    obj.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

// One test, so the admission counter sees one delete at a time.
#[test]
fn a_delete_raced_by_an_update_answers_for_the_updated_object_and_checks_it_again() {
    let store = Store::memory();
    let api = store.namespaced::<Racy>("ns");

    // The update lands after the delete's first read: the delete loses its compare, reads
    // again, admits again, and deletes the updated object.
    let created = api.create(&PostParams::default(), &racy("raced")).unwrap();
    ADMISSIONS.store(0, Ordering::SeqCst);
    let deleted = api
        .delete(
            "raced",
            &DeleteParams::default().preconditions(Preconditions {
                uid: created.metadata.uid.clone(),
                resource_version: None,
            }),
        )
        .unwrap();
    assert_eq!(
        ADMISSIONS.load(Ordering::SeqCst),
        2,
        "admitted once per attempt"
    );
    assert_eq!(deleted.value, 2, "the object as the racing update left it");
    assert_eq!(
        rv(&deleted),
        store.resource_version(),
        "stamped with the deletion"
    );
    assert_eq!(
        rv(&deleted),
        rv(&created) + 2,
        "the update, then the deletion"
    );
    assert!(api.get("raced").unwrap_err().is_not_found());

    // A resourceVersion precondition read before the race no longer holds afterwards.
    let created = api.create(&PostParams::default(), &racy("raced")).unwrap();
    ADMISSIONS.store(0, Ordering::SeqCst);
    let err = api
        .delete(
            "raced",
            &DeleteParams::default().preconditions(Preconditions {
                uid: None,
                resource_version: created.metadata.resource_version.clone(),
            }),
        )
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        api.get("raced").unwrap().value,
        2,
        "the object stays, updated"
    );

    // Admission that refuses: that error, asked once, and nothing deleted.
    let mut kept = racy("kept");
    kept.metadata.labels = Some([("keep".to_string(), "yes".to_string())].into());
    api.create(&PostParams::default(), &kept).unwrap();
    ADMISSIONS.store(0, Ordering::SeqCst);
    let before = store.resource_version();
    let err = api.delete("kept", &DeleteParams::default()).unwrap_err();
    assert!(err.is_invalid(), "{err}");
    assert_eq!(ADMISSIONS.load(Ordering::SeqCst), 1);
    assert_eq!(store.resource_version(), before);
    assert!(api.get("kept").is_ok());
}
