//! Bearer tokens from a kube-apiserver `--token-auth-file`: CSV lines `token,user,uid[,"groups"]`.

use std::collections::HashMap;
use std::path::Path;

/// Who a token authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The user's uid.
    pub uid: String,
    /// The user's groups.
    pub groups: Vec<String>,
}

/// The tokens the server accepts.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    users: HashMap<String, User>,
}

/// Why a token file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not `token,user,uid[,groups]`.
    #[error("{path}:{line}: {why}")]
    Line {
        /// The file.
        path: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
}

/// Splits one CSV record (double quotes group commas, `""` is a quote).
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("an unterminated quote".into());
    }
    out.push(field);
    Ok(out)
}

impl Tokens {
    /// Parses a token file's text (`path` names it in errors).
    ///
    /// # Errors
    /// [`TokenFileError::Line`] for a line that is not `token,user,uid[,groups]`.
    pub fn parse(text: &str, path: &str) -> Result<Tokens, TokenFileError> {
        let mut users = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| TokenFileError::Line {
                path: path.to_string(),
                line: index + 1,
                why,
            };
            let record = fields(line).map_err(bad)?;
            if record.len() < 3 || record[0].is_empty() || record[1].is_empty() {
                return Err(bad("expected token,user,uid[,groups]".into()));
            }
            let groups = record
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            users.insert(
                record[0].clone(),
                User {
                    name: record[1].clone(),
                    uid: record[2].clone(),
                    groups,
                },
            );
        }
        Ok(Tokens { users })
    }

    /// Reads a token file.
    ///
    /// # Errors
    /// As [`Tokens::parse`], and [`TokenFileError::Io`].
    pub fn load(path: &Path) -> Result<Tokens, TokenFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Io {
            path: shown.clone(),
            source,
        })?;
        Tokens::parse(&text, &shown)
    }

    /// The user an `Authorization` header authenticates, if any.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&User> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        self.users.get(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_are_read_as_kube_apiserver_reads_them() {
        let tokens = Tokens::parse(
            "# comment\nt1,alice,1\nt2,bob,2,\"dev,ops\"\n\n",
            "tokens.csv",
        )
        .unwrap();
        assert_eq!(
            tokens.authenticate(Some("Bearer t1")).unwrap().name,
            "alice"
        );
        assert_eq!(
            tokens.authenticate(Some("Bearer t2")).unwrap().groups,
            ["dev", "ops"]
        );
        assert!(tokens.authenticate(Some("Bearer t3")).is_none());
        assert!(tokens.authenticate(Some("Basic t1")).is_none());
        assert!(tokens.authenticate(None).is_none());
        assert!(matches!(
            Tokens::parse("t1,alice", "f"),
            Err(TokenFileError::Line { line: 1, .. })
        ));
        assert!(matches!(
            Tokens::parse("ok,a,1\nt,\"open,1", "f"),
            Err(TokenFileError::Line { line: 2, .. })
        ));
    }
}
