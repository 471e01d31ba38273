//! Label and field selectors: the Kubernetes string grammars, typed, printable and matchable.
//!
//! Design notes: the parsers follow `k8s.io/apimachinery/pkg/labels` and `.../fields` token by
//! token, because clients send exactly those strings and expect exactly that acceptance set
//! (`x in ()` means `{""}`, `notin=in` is valid, `x=a,` is a valid field selector but not a
//! valid label selector). Both parse into an AST that prints back to the canonical string, so
//! `parse(print(parse(s))) == parse(s)`. Errors carry the input, the byte position and what was
//! expected there.

pub mod fields;
pub mod labels;

pub use fields::{FieldSelector, FieldTerm};
pub use labels::{
    LabelSelector, LabelSelectorRequirement, LabelSelectorSpec, Operator, Requirement,
};

/// A selector string that does not parse or validate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {position} of {input:?})")]
pub struct SelectorError {
    /// The whole selector string.
    pub input: String,
    /// The byte offset where the problem was found.
    pub position: usize,
    /// What was found and what was expected.
    pub message: String,
}
