//! The CEL validation rules of a custom resource's schema (`x-kubernetes-validations`),
//! compiled once per CRD version and evaluated on every write as the apiextensions apiserver
//! evaluates them: `self` is the value at the rule's node, `oldSelf` the value at the same
//! place in the object being replaced. A rule that names `oldSelf` (a transition rule) runs
//! only on an update that has such a value, unless it sets `optionalOldSelf` (then `oldSelf`
//! is a CEL optional and the rule always runs); any other rule is skipped where the value did not
//! change (kube-apiserver's validation ratcheting), so tightening a rule never locks an
//! object that already broke it out of other writes.
//!
//! The language is the `cel` crate's with Kubernetes' CEL libraries (`kube-cel`: strings,
//! lists, sets, regex, quantity, URL, IP, semver, format), as kube-rs's own CEL support has it;
//! a rule calling a function neither has is skipped rather than refused. Of cel-go's type
//! check there is one part: a rule reading a field its schema does not have refuses the
//! definition (`undefined field`). There is no cost budget.

use std::sync::{Arc, LazyLock};

use apistore::StatusCause;
use kube_cel::cel::common::ast::{EntryExpr, Expr, IdedExpr};
use kube_cel::cel::objects::OptionalValue;
use kube_cel::cel::{self, Context, ExecutionError, Program};
use kube_cel::KubeCelExt;

/// The functions every rule runs with; each evaluation binds its values in a scope of its own.
static FUNCTIONS: LazyLock<Context<'static>> = LazyLock::new(|| Context::default().with_all());

/// The longest rule (or message expression) a definition may carry, in bytes.
const MAX_RULE_BYTES: usize = 8 * 1024;

/// Stack to keep free per byte of a rule: the parser and the interpreter recurse once per
/// level of the expression, which costs up to about 9 KiB a level in a debug build.
const STACK_PER_BYTE: usize = 12 * 1024;

/// Runs `f`, which compiles or evaluates an expression of `len` bytes, on a stack with room
/// for its recursion: the caller's when enough is left, a fresh one otherwise.
fn with_stack<R>(len: usize, f: impl FnOnce() -> R) -> R {
    let needed = 64 * 1024 + len * STACK_PER_BYTE;
    stacker::maybe_grow(needed, needed + (1 << 20), f)
}

/// The reasons a rule may give its failures (`reason`).
const REASONS: [&str; 4] = [
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

/// One compiled rule.
pub struct Rule {
    program: Program,
    source: String,
    message: Option<String>,
    /// `messageExpression`, and its length in bytes.
    message_expression: Option<(Program, usize)>,
    reason: Option<String>,
    /// `fieldPath` without its leading dot: where a failure is reported, below the node.
    field_path: Option<String>,
    uses_old_self: bool,
    /// `optionalOldSelf`: the rule also runs where there is no old value, with `oldSelf` a
    /// CEL optional (`oldSelf.hasValue()`, `oldSelf.value()`).
    optional_old_self: bool,
    /// The rule's index in its node's `x-kubernetes-validations`.
    index: usize,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("rule", &self.source).finish()
    }
}

/// The rules of one schema node (`x-kubernetes-validations` at `path`); what cannot be
/// compiled is a problem of the definition, under `path`.
pub fn compile(
    rules: &serde_json::Value,
    path: &str,
    problems: &mut Vec<StatusCause>,
) -> Vec<Rule> {
    let path = format!("{path}.x-kubernetes-validations");
    let Some(items) = rules.as_array() else {
        problems.push(StatusCause::new(
            "FieldValueInvalid",
            &path,
            "Invalid value: must be a list of rules".into(),
        ));
        return Vec::new();
    };
    let mut compiled = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let text = |name: &str| {
            item.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(source) = text("rule") else {
            problems.push(StatusCause::new(
                "FieldValueRequired",
                &format!("{at}.rule"),
                "Required value: rule is not specified".into(),
            ));
            continue;
        };
        if source.len() > MAX_RULE_BYTES {
            problems.push(StatusCause::new(
                "FieldValueTooLong",
                &format!("{at}.rule"),
                format!("Too long: may not be more than {MAX_RULE_BYTES} bytes"),
            ));
            continue;
        }
        let program = match with_stack(source.len(), || Program::compile(&source)) {
            Ok(program) => program,
            Err(e) => {
                problems.push(StatusCause::new(
                    "FieldValueInvalid",
                    &format!("{at}.rule"),
                    format!("Invalid value: {source:?}: compilation failed: {e}"),
                ));
                continue;
            }
        };
        let message_expression = text("messageExpression");
        if message_expression
            .as_ref()
            .is_some_and(|m| m.len() > MAX_RULE_BYTES)
        {
            problems.push(StatusCause::new(
                "FieldValueTooLong",
                &format!("{at}.messageExpression"),
                format!("Too long: may not be more than {MAX_RULE_BYTES} bytes"),
            ));
            continue;
        }
        let message_expression = match message_expression
            .map(|m| (m.len(), with_stack(m.len(), || Program::compile(&m))))
        {
            None => None,
            Some((len, Ok(program))) => Some((program, len)),
            Some((_, Err(e))) => {
                problems.push(StatusCause::new(
                    "FieldValueInvalid",
                    &format!("{at}.messageExpression"),
                    format!("Invalid value: messageExpression compilation failed: {e}"),
                ));
                continue;
            }
        };
        let reason = text("reason");
        if let Some(reason) = reason.as_deref().filter(|r| !REASONS.contains(r)) {
            problems.push(StatusCause::new(
                "FieldValueNotSupported",
                &format!("{at}.reason"),
                format!(
                    "Unsupported value: {reason:?}: supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\""
                ),
            ));
            continue;
        }
        let uses_old_self = program.references().has_variable("oldSelf");
        compiled.push(Rule {
            program,
            source,
            message: text("message"),
            message_expression,
            reason,
            field_path: text("fieldPath").map(|p| p.trim_start_matches('.').to_string()),
            uses_old_self,
            optional_old_self: item.get("optionalOldSelf") == Some(&serde_json::Value::Bool(true)),
            index: i,
        });
    }
    compiled
}

impl Rule {
    /// The rule's index in its node's `x-kubernetes-validations`, and its text.
    pub fn at(&self) -> (usize, &str) {
        (self.index, &self.source)
    }

    /// The field paths the rule reads from `self` and `oldSelf` (`self.spec.replicas` is
    /// `["spec", "replicas"]`), each as far as a chain of field selections goes.
    pub fn read_paths(&self) -> Vec<Vec<String>> {
        with_stack(self.source.len(), || {
            let mut paths = Vec::new();
            collect_paths(self.program.expression(), &mut paths);
            paths
        })
    }
}

/// The selection chain `expr` is, if it starts at `self` or `oldSelf`.
fn chain(expr: &IdedExpr) -> Option<Vec<String>> {
    match &expr.expr {
        Expr::Ident(name) if name == "self" || name == "oldSelf" => Some(Vec::new()),
        Expr::Select(select) => {
            let mut path = chain(&select.operand)?;
            path.push(select.field.clone());
            Some(path)
        }
        _ => None,
    }
}

fn collect_paths(expr: &IdedExpr, paths: &mut Vec<Vec<String>>) {
    if let Some(path) = chain(expr).filter(|p| !p.is_empty()) {
        paths.push(path);
        return;
    }
    match &expr.expr {
        Expr::Select(select) => collect_paths(&select.operand, paths),
        Expr::Call(call) => {
            call.target.iter().for_each(|t| collect_paths(t, paths));
            call.args.iter().for_each(|a| collect_paths(a, paths));
        }
        // A macro that names its variable `self` reads its own values, not the node's.
        Expr::Comprehension(c) if c.iter_var != "self" && c.iter_var != "oldSelf" => {
            for part in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                collect_paths(part, paths);
            }
        }
        Expr::List(list) => list.elements.iter().for_each(|e| collect_paths(e, paths)),
        Expr::Map(map) => map.entries.iter().for_each(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => {
                collect_paths(&e.key, paths);
                collect_paths(&e.value, paths);
            }
            EntryExpr::StructField(f) => collect_paths(&f.value, paths),
        }),
        _ => {}
    }
}

/// What a rule is checked against: the node's value, and the old one where it has one.
pub struct Values<'a> {
    /// `self`.
    pub new: &'a kube_cel::cel::Value,
    /// `oldSelf`, on an update that has a value at the same place.
    pub old: Option<&'a kube_cel::cel::Value>,
    /// True when the node's value is what it was (its errors are ratcheted away).
    pub unchanged: bool,
    /// The schema type of the node (`object`, `string`, …), which failures name.
    pub type_name: &'a str,
}

impl Rule {
    /// Checks the rule at `path` (`""` for the root), adding a cause when it fails.
    pub fn check(&self, values: &Values<'_>, path: &str, causes: &mut Vec<StatusCause>) {
        if self.uses_old_self && values.old.is_none() && !self.optional_old_self {
            return;
        }
        if values.unchanged && !self.uses_old_self {
            return;
        }
        let mut context = FUNCTIONS.new_inner_scope();
        context.add_variable_from_value("self", values.new.clone());
        if self.optional_old_self {
            let old = match values.old {
                Some(old) => OptionalValue::of(old.clone()),
                None => OptionalValue::none(),
            };
            context.add_variable_from_value("oldSelf", cel::Value::Opaque(Arc::new(old)));
        } else if let Some(old) = values.old {
            context.add_variable_from_value("oldSelf", old.clone());
        }
        let field = |below: Option<&str>| {
            let joined = match (path, below) {
                ("", None) => return "<nil>".to_string(),
                ("", Some(below)) => below.to_string(),
                (path, None) => path.to_string(),
                (path, Some(below)) => format!("{path}.{below}"),
            };
            joined
        };
        let shown = self.message.as_deref().unwrap_or(&self.source);
        match with_stack(self.source.len(), || self.program.execute(&context)) {
            Ok(cel::Value::Bool(true)) => {}
            Err(ExecutionError::UndeclaredReference(name))
                if self.program.references().has_function(name.as_str()) => {}
            Err(e) => causes.push(StatusCause::new(
                "FieldValueInvalid",
                &field(None),
                format!(
                    "Invalid value: {:?}: {} evaluating rule: {shown}",
                    values.type_name,
                    lower_first(&e.to_string())
                ),
            )),
            Ok(_) => {
                let detail = self
                    .evaluated_message(&context)
                    .or_else(|| self.message.clone())
                    .unwrap_or_else(|| format!("failed rule: {}", self.source));
                let at = field(self.field_path.as_deref());
                let (reason, message) = match self.reason.as_deref() {
                    Some("FieldValueForbidden") => {
                        ("FieldValueForbidden", format!("Forbidden: {detail}"))
                    }
                    Some("FieldValueRequired") => {
                        ("FieldValueRequired", format!("Required value: {detail}"))
                    }
                    Some("FieldValueDuplicate") => (
                        "FieldValueDuplicate",
                        format!("Duplicate value: {:?}", values.type_name),
                    ),
                    _ => (
                        "FieldValueInvalid",
                        format!("Invalid value: {:?}: {detail}", values.type_name),
                    ),
                };
                causes.push(StatusCause::new(reason, &at, message));
            }
        }
    }

    /// The failure message `messageExpression` computes, when it computes a non-empty line.
    fn evaluated_message(&self, context: &Context<'_>) -> Option<String> {
        let (expression, len) = self.message_expression.as_ref()?;
        match with_stack(*len, || expression.execute(context)) {
            Ok(cel::Value::String(s)) if !s.trim().is_empty() && !s.contains('\n') => {
                Some(s.trim().to_string())
            }
            _ => None,
        }
    }
}

/// `text` with its first letter in lower case, as cel-go words its runtime errors.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
