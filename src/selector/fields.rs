//! Field selectors (`metadata.name=web,spec.nodeName!=`).
//!
//! Design notes: as apimachinery's `fields/selector.go`: terms split on unescaped commas (empty
//! terms skipped), each term split at the first `!=`, `==` or `=`; values unescape `\\`, `\,`
//! and `\=`, and any other escape or an unescaped `,`/`=` in a value is an error. Terms are
//! sorted by their text, so the printed form is canonical. Which fields a kind supports is the
//! store's business, not the parser's.

use std::fmt;

use super::SelectorError;

/// One term: `field=value` or `field!=value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldTerm {
    /// The field path (`metadata.name`).
    pub field: String,
    /// The value, unescaped.
    pub value: String,
    /// True for `!=`.
    pub negated: bool,
}

impl FieldTerm {
    /// True when `actual` (a missing field reads as `""`) satisfies the term.
    pub fn matches(&self, actual: &str) -> bool {
        (actual == self.value) != self.negated
    }
}

impl fmt::Display for FieldTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A parsed field selector: terms ANDed. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Escapes `\`, `,` and `=` in a value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn unescape_value(input: &str, value: &str, offset: usize) -> Result<String, SelectorError> {
    let error = |position: usize, message: String| SelectorError {
        input: input.to_string(),
        position,
        message,
    };
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(error(
                    offset + i - 1,
                    format!("invalid field selector: invalid escape sequence: \\{c}"),
                ));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => {
                return Err(error(
                    offset + i,
                    format!("invalid field selector: unescaped {c} in value"),
                ))
            }
            _ => out.push(c),
        }
    }
    if escaped {
        return Err(error(
            offset + value.len() - 1,
            "invalid field selector: invalid escape sequence: \\".into(),
        ));
    }
    Ok(out)
}

/// Splits on commas not preceded by an escaping backslash; returns (offset, term).
fn split_terms(input: &str) -> Vec<(usize, &str)> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push((start, &input[start..i]));
            start = i + 1;
        }
    }
    terms.push((start, &input[start..]));
    terms
}

impl FieldSelector {
    /// Parses the Kubernetes string form.
    pub fn parse(input: &str) -> Result<FieldSelector, SelectorError> {
        let mut parts = split_terms(input);
        parts.sort_by(|a, b| a.1.cmp(b.1));
        let mut terms = Vec::new();
        for (offset, part) in parts {
            if part.is_empty() {
                continue;
            }
            let mut found = None;
            for (i, _) in part.char_indices() {
                let rest = &part[i..];
                if let Some(op) = ["!=", "==", "="]
                    .into_iter()
                    .find(|op| rest.starts_with(op))
                {
                    found = Some((i, op));
                    break;
                }
            }
            let Some((at, op)) = found else {
                return Err(SelectorError {
                    input: input.to_string(),
                    position: offset,
                    message: format!("invalid selector: '{input}'; can't understand '{part}'"),
                });
            };
            let value_offset = offset + at + op.len();
            terms.push(FieldTerm {
                field: part[..at].to_string(),
                value: unescape_value(input, &part[at + op.len()..], value_offset)?,
                negated: op == "!=",
            });
        }
        // Canonical order: by printed form, so printing and re-parsing gives the same AST.
        terms.sort_by_cached_key(|t| t.to_string());
        Ok(FieldSelector { terms })
    }

    /// The selector that matches everything.
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// A selector from terms.
    pub fn from_terms(terms: Vec<FieldTerm>) -> FieldSelector {
        FieldSelector { terms }
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// True when every term holds; `get` reads a field (missing reads as `""`).
    pub fn matches<F: Fn(&str) -> Option<String>>(&self, get: F) -> bool {
        self.terms
            .iter()
            .all(|t| t.matches(get(&t.field).as_deref().unwrap_or("")))
    }

    /// The value `field` must equal, if a `=` term pins it.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && !t.negated)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_field_selectors() {
        for ok in [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            r"x=a||y\=b",
            r"x=a\=\=b",
            "a=a,",
        ] {
            assert!(FieldSelector::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "x=a||y=b",
            "x==a==b",
            "x=a,b",
            "x in (a)",
            "x in (a,b,c)",
            "x",
            r"x=a\",
            r"x=\q",
        ] {
            assert!(FieldSelector::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn escaped_values_match_and_print_back() {
        let sel = FieldSelector::parse(r"foo=bar,baz=blah,complex=\=value\\\,\\").unwrap();
        let get = |f: &str| match f {
            "foo" => Some("bar".to_string()),
            "baz" => Some("blah".to_string()),
            "complex" => Some(r"=value\,\".to_string()),
            _ => None,
        };
        assert!(sel.matches(get));
        assert_eq!(FieldSelector::parse(&sel.to_string()).unwrap(), sel);
        let split: Vec<&str> = split_terms(r"k=\,,k2=v2")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert_eq!(split, [r"k=\,", "k2=v2"]);
    }

    #[test]
    fn missing_fields_read_as_empty() {
        let sel = FieldSelector::parse("spec.nodeName!=bar").unwrap();
        assert!(sel.matches(|_| None));
        let sel = FieldSelector::parse("spec.nodeName=").unwrap();
        assert!(sel.matches(|_| None));
    }
}
