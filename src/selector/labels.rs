//! Label selectors (`app=web,tier in (a,b),!canary`).
//!
//! Design notes: a hand-written lexer and recursive-descent parser mirroring apimachinery's
//! (`labels/selector.go`): identifiers run until whitespace or one of `=!(),><`; operators are
//! matched longest-first; `in`/`notin` are keywords only where an operator is expected. The
//! parsed requirements are stably sorted by key and their value sets sorted and de-duplicated,
//! which is the canonical form `String()` prints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::SelectorError;
use crate::store::validation::{label_value_problems, qualified_name_problems};

/// A requirement's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>1`
    GreaterThan,
    /// `key<1`
    LessThan,
}

/// Which part of a requirement failed validation: an error points at it.
#[derive(Clone, Copy, Debug)]
enum Faulty {
    Key,
    Values,
}

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating the key, values and their count as Kubernetes does.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Requirement, String> {
        Requirement::checked(key, operator, values).map_err(|(_, message)| message)
    }

    /// [`Requirement::new`], saying whether the key or the values are at fault.
    fn checked(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, (Faulty, String)> {
        let problems = qualified_name_problems(key);
        if !problems.is_empty() {
            return Err((
                Faulty::Key,
                format!("key: Invalid value: {key:?}: {}", problems.join("; ")),
            ));
        }
        Requirement::with_values(key, operator, values).map_err(|m| (Faulty::Values, m))
    }

    /// Validates the values of a requirement whose key is valid.
    fn with_values(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, String> {
        let set: BTreeSet<String> = values.into_iter().collect();
        match operator {
            Operator::In | Operator::NotIn if set.is_empty() => return Err(
                "values: Required value: for 'in', 'notin' operators, values set can't be empty"
                    .into(),
            ),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if set.len() != 1 => {
                return Err(
                    "values: Invalid value: exact-match compatibility requires one single value"
                        .into(),
                )
            }
            Operator::Exists | Operator::DoesNotExist if !set.is_empty() => {
                return Err(
                    "values: Forbidden: values set must be empty for exists and does not exist"
                        .into(),
                )
            }
            Operator::GreaterThan | Operator::LessThan => {
                if set.len() != 1 {
                    return Err("values: Required value: for 'Gt', 'Lt' operators, exactly one value is required".into());
                }
                for v in &set {
                    if v.parse::<i64>().is_err() {
                        return Err(format!("values[0]: Invalid value: {v:?}: for 'Gt', 'Lt' operators, the value must be an integer"));
                    }
                }
            }
            _ => {}
        }
        if !matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for v in &set {
                let problems = label_value_problems(v);
                if !problems.is_empty() {
                    return Err(format!(
                        "values: Invalid value: {v:?}: {}",
                        problems.join("; ")
                    ));
                }
            }
        }
        Ok(Requirement {
            key: key.to_string(),
            operator,
            values: set.into_iter().collect(),
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and de-duplicated.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// True when `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let contains = |v: &String| self.values.binary_search(v).is_ok();
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => value.is_some_and(contains),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(contains),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }

    /// True when the requirement pins the key to exactly one value (`=`, `==`, one-value `in`).
    pub fn requires_exact_match(&self) -> Option<&str> {
        match self.operator {
            Operator::Equals | Operator::DoubleEquals => self.values.first().map(String::as_str),
            Operator::In if self.values.len() == 1 => self.values.first().map(String::as_str),
            _ => None,
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        match self.operator {
            Operator::In | Operator::NotIn => write!(f, "({})", self.values.join(",")),
            _ => f.write_str(self.values.first().map(String::as_str).unwrap_or("")),
        }
    }
}

/// A parsed label selector: requirements ANDed together. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the Kubernetes string form.
    pub fn parse(input: &str) -> Result<LabelSelector, SelectorError> {
        Parser::new(input).parse()
    }

    /// A selector from requirements (sorted by key, stably).
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements }
    }

    /// The selector that matches everything.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LabelSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

/// The structured form (`metav1.LabelSelector`): `matchLabels` and `matchExpressions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorSpec {
    /// `key: value` pairs, each an `=` requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (empty for `Exists`/`DoesNotExist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl LabelSelectorSpec {
    /// Converts to the same AST the string form parses to (`LabelSelectorAsSelector`).
    pub fn to_selector(&self) -> Result<LabelSelector, String> {
        let mut requirements = Vec::new();
        for (k, v) in self.match_labels.iter().flatten() {
            requirements.push(Requirement::new(k, Operator::Equals, vec![v.clone()])?);
        }
        for expr in self.match_expressions.iter().flatten() {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            };
            requirements.push(Requirement::new(
                &expr.key,
                operator,
                expr.values.clone().unwrap_or_default(),
            )?);
        }
        Ok(LabelSelector::from_requirements(requirements))
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    End,
    Ident,
    In,
    NotIn,
    Bang,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    Open,
    Close,
    Comma,
    Error,
}

#[derive(Clone, Debug)]
struct Item {
    tok: Tok,
    text: String,
    position: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

fn symbol(text: &str) -> Option<Tok> {
    Some(match text {
        "!" => Tok::Bang,
        "!=" => Tok::NotEquals,
        "=" => Tok::Equals,
        "==" => Tok::DoubleEquals,
        ">" => Tok::Greater,
        "<" => Tok::Less,
        "(" => Tok::Open,
        ")" => Tok::Close,
        "," => Tok::Comma,
        _ => return None,
    })
}

fn lex(input: &str) -> Vec<Item> {
    let bytes = input.as_bytes();
    let mut items = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            items.push(Item {
                tok: Tok::End,
                text: String::new(),
                position: i,
            });
            return items;
        }
        let start = i;
        if is_special(bytes[i]) {
            // Longest match among the operator spellings.
            let mut best: Option<(Tok, usize)> = None;
            let mut j = i;
            while j < bytes.len() && is_special(bytes[j]) {
                j += 1;
                match symbol(&input[start..j]) {
                    Some(tok) => best = Some((tok, j)),
                    None if best.is_some() => break,
                    None => {}
                }
            }
            match best {
                Some((tok, end)) => {
                    items.push(Item {
                        tok,
                        text: input[start..end].to_string(),
                        position: start,
                    });
                    i = end;
                }
                None => {
                    items.push(Item {
                        tok: Tok::Error,
                        text: input[start..j].to_string(),
                        position: start,
                    });
                    items.push(Item {
                        tok: Tok::End,
                        text: String::new(),
                        position: j,
                    });
                    return items;
                }
            }
        } else {
            while i < bytes.len() && !is_space(bytes[i]) && !is_special(bytes[i]) {
                i += 1;
            }
            let text = &input[start..i];
            let tok = match text {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Ident,
            };
            items.push(Item {
                tok,
                text: text.to_string(),
                position: start,
            });
        }
    }
}

// ---------------------------------------------------------------- parser

struct Parser<'a> {
    input: &'a str,
    items: Vec<Item>,
    at: usize,
}

/// Whether `in`/`notin` are keywords (operator position) or plain identifiers (values, keys).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Operator,
    Values,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Parser<'a> {
        Parser {
            input,
            items: lex(input),
            at: 0,
        }
    }

    fn peek(&self, context: Context) -> (Tok, &str, usize) {
        let item = &self.items[self.at.min(self.items.len() - 1)];
        let tok = match (context, item.tok) {
            (Context::Values, Tok::In | Tok::NotIn) => Tok::Ident,
            (_, tok) => tok,
        };
        (tok, &item.text, item.position)
    }

    fn next(&mut self, context: Context) -> (Tok, String, usize) {
        let (tok, text, position) = self.peek(context);
        let out = (tok, text.to_string(), position);
        if self.at < self.items.len() - 1 {
            self.at += 1;
        }
        out
    }

    fn error(&self, position: usize, message: String) -> SelectorError {
        SelectorError {
            input: self.input.to_string(),
            position,
            message,
        }
    }

    fn parse(mut self) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (tok, text, position) = self.peek(Context::Values);
            match tok {
                Tok::Ident | Tok::Bang => {
                    requirements.push(self.requirement()?);
                    let (tok, text, position) = self.next(Context::Values);
                    match tok {
                        Tok::End => break,
                        Tok::Comma => {
                            let (next, text, position) = self.peek(Context::Values);
                            if next != Tok::Ident && next != Tok::Bang {
                                return Err(self.error(
                                    position,
                                    format!("found '{text}', expected: identifier after ','"),
                                ));
                            }
                        }
                        _ => {
                            return Err(self.error(
                                position,
                                format!("found '{text}', expected: ',' or 'end of string'"),
                            ))
                        }
                    }
                }
                Tok::End => break,
                _ => {
                    let text = text.to_string();
                    return Err(self.error(
                        position,
                        format!("found '{text}', expected: !, identifier, or 'end of string'"),
                    ));
                }
            }
        }
        Ok(LabelSelector::from_requirements(requirements))
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (mut tok, mut key, mut position) = self.next(Context::Values);
        let negated = tok == Tok::Bang;
        if negated {
            (tok, key, position) = self.next(Context::Values);
        }
        if tok != Tok::Ident {
            return Err(self.error(
                position,
                format!("unable to parse requirement: found '{key}', expected: identifier"),
            ));
        }
        let key_position = position;
        // A bad key is reported where the key starts, bad values where the values start.
        let build = |me: &Self, op: Operator, values: Vec<String>, values_position: usize| {
            Requirement::checked(&key, op, values).map_err(|(faulty, m)| {
                let at = match faulty {
                    Faulty::Key => key_position,
                    Faulty::Values => values_position,
                };
                me.error(at, format!("unable to parse requirement: {m}"))
            })
        };
        let (ahead, _, _) = self.peek(Context::Values);
        if negated || ahead == Tok::End || ahead == Tok::Comma {
            let op = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return build(self, op, Vec::new(), key_position);
        }
        let (tok, text, position) = self.next(Context::Operator);
        let op = match tok {
            Tok::In => Operator::In,
            Tok::NotIn => Operator::NotIn,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::NotEquals => Operator::NotEquals,
            Tok::Greater => Operator::GreaterThan,
            Tok::Less => Operator::LessThan,
            _ => {
                return Err(self.error(position, format!(
                    "unable to parse requirement: found '{text}', expected: in, notin, =, ==, !=, gt, lt"
                )))
            }
        };
        let (_, _, values_position) = self.peek(Context::Values);
        let values = match op {
            Operator::In | Operator::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        build(self, op, values, values_position)
    }

    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, text, position) = self.next(Context::Values);
        if tok != Tok::Open {
            return Err(self.error(
                position,
                format!("unable to parse requirement: found '{text}' expected: '('"),
            ));
        }
        let (tok, text, position) = self.peek(Context::Values);
        match tok {
            Tok::Close => {
                self.next(Context::Values);
                Ok(vec![String::new()])
            }
            Tok::Ident | Tok::Comma => {
                let values = self.identifiers()?;
                let (tok, text, position) = self.next(Context::Values);
                if tok != Tok::Close {
                    return Err(self.error(
                        position,
                        format!("unable to parse requirement: found '{text}', expected: ')'"),
                    ));
                }
                Ok(values)
            }
            _ => {
                let text = text.to_string();
                Err(self.error(position, format!("unable to parse requirement: found '{text}', expected: ',', ')' or identifier")))
            }
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values = Vec::new();
        loop {
            let (tok, text, position) = self.next(Context::Values);
            match tok {
                Tok::Ident => {
                    values.push(text);
                    let (next, text, position) = self.peek(Context::Values);
                    match next {
                        Tok::Comma => continue,
                        Tok::Close => return Ok(values),
                        _ => {
                            let text = text.to_string();
                            return Err(self.error(position, format!("unable to parse requirement: found '{text}', expected: ',' or ')'")));
                        }
                    }
                }
                Tok::Comma => {
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    let (next, _, _) = self.peek(Context::Values);
                    if next == Tok::Close {
                        values.push(String::new());
                        return Ok(values);
                    }
                    if next == Tok::Comma {
                        self.next(Context::Values);
                        values.push(String::new());
                    }
                }
                _ => {
                    return Err(self.error(
                        position,
                        format!(
                        "unable to parse requirement: found '{text}', expected: ',', or identifier"
                    ),
                    ))
                }
            }
        }
    }

    fn exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, _, _) = self.peek(Context::Values);
        if tok == Tok::End || tok == Tok::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, text, position) = self.next(Context::Values);
        if tok == Tok::Ident {
            return Ok(vec![text]);
        }
        Err(self.error(
            position,
            format!("unable to parse requirement: found '{text}', expected: identifier"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn valid_selectors_parse_and_print_canonically() {
        let cases = [
            ("x=a,y=b,z=c", "x=a,y=b,z=c"),
            ("", ""),
            ("x!=a,y=b", "x!=a,y=b"),
            ("x=", "x="),
            ("x= ", "x="),
            ("x=,z= ", "x=,z="),
            ("!x", "!x"),
            ("x>1", "x>1"),
            ("x>1,z<5", "x>1,z<5"),
            ("\rx", "x"),
            (
                "this-is-a-dns.domain.com/key-with-dash in (so,what)",
                "this-is-a-dns.domain.com/key-with-dash in (so,what)",
            ),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
            ),
            ("x in (abc,)", "x in (,abc)"),
            ("x in ()", "x in ()"),
            ("x in (a,,,)", "x in (,a)"),
            (
                "x notin (abc,,def),bar,z in (),w",
                "bar,w,x notin (,abc,def),z in ()",
            ),
            ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
            ("a ", "a"),
            ("notin=in", "notin=in"),
            ("x in (b,a)", "x in (a,b)"),
        ];
        for (input, canonical) in cases {
            let parsed = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(parsed.to_string(), canonical, "{input:?}");
            assert_eq!(LabelSelector::parse(canonical).unwrap(), parsed);
        }
    }

    #[test]
    fn invalid_selectors_are_errors() {
        for input in [
            "x=a||y=b",
            "x==a==b",
            "!x=a",
            "x<a",
            "x,,y",
            ",x,y",
            "x nott in (y)",
            "a in (xyz),",
            "a in (xyz)b notin ()",
            "a in (xyz abc)",
            "a notin(",
            "a (",
            "(",
            "x=a b",
            "a/b/c",
        ] {
            assert!(
                LabelSelector::parse(input).is_err(),
                "{input:?} should not parse"
            );
        }
    }

    #[test]
    fn matching() {
        let yes = [
            ("x=y", labels(&[("x", "y")])),
            ("x!=y,z!=w", labels(&[("x", "z"), ("z", "a")])),
            ("notin=in", labels(&[("notin", "in")])),
            ("x", labels(&[("x", "z")])),
            ("!x", labels(&[("y", "z")])),
            ("x>1", labels(&[("x", "2")])),
            ("x<1", labels(&[("x", "0")])),
            ("x!=y", labels(&[])),
        ];
        for (sel, l) in yes {
            assert!(LabelSelector::parse(sel).unwrap().matches(&l), "{sel}");
        }
        let no = [
            ("x=z", labels(&[])),
            ("x!=y,z!=w", labels(&[("x", "z"), ("z", "w")])),
            ("x", labels(&[("y", "z")])),
            ("!x", labels(&[("x", "z")])),
            ("x>1", labels(&[("x", "0")])),
            (
                "foo=bar,foobar=bar,baz=blah",
                labels(&[("foo", "bar"), ("baz", "blah")]),
            ),
        ];
        for (sel, l) in no {
            assert!(!LabelSelector::parse(sel).unwrap().matches(&l), "{sel}");
        }
    }

    #[test]
    fn errors_carry_input_and_position() {
        let err = LabelSelector::parse("a in (xyz abc)").unwrap_err();
        assert_eq!(err.input, "a in (xyz abc)");
        assert_eq!(err.position, 10);
    }

    #[test]
    fn invalid_keys_and_values_are_reported_where_they_start() {
        let bad_value = LabelSelector::parse("app=web,x=a||y").unwrap_err();
        assert_eq!(bad_value.position, 10, "{bad_value}");
        assert!(bad_value.message.contains("values"), "{bad_value}");
        let bad_set = LabelSelector::parse("app=web, tier in (a, -b)").unwrap_err();
        assert_eq!(bad_set.position, 17, "{bad_set}");
        let bad_key = LabelSelector::parse("app=web,-x=a").unwrap_err();
        assert_eq!(bad_key.position, 8, "{bad_key}");
        assert!(bad_key.message.contains("key"), "{bad_key}");
        let bad_number = LabelSelector::parse("n>ten").unwrap_err();
        assert_eq!(bad_number.position, 2, "{bad_number}");
    }

    #[test]
    fn structured_form_converts_to_the_same_ast() {
        let spec = LabelSelectorSpec {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["b".into(), "a".into()]),
            }]),
        };
        assert_eq!(
            spec.to_selector().unwrap(),
            LabelSelector::parse("app=web,tier in (a,b)").unwrap()
        );
    }
}
