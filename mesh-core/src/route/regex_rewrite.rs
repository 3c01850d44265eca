//! Regex path rewriting (Istio's `rewrite.uriRegexRewrite {match, rewrite}`, Envoy's
//! `regex_rewrite {pattern, substitution}`).
//!
//! Semantics are Envoy's, which are RE2's `GlobalReplace`: every non-overlapping match of
//! the pattern in the *path* (the query string is kept as it was) is replaced by the
//! substitution, in which `\1`…`\9` stand for capture groups, `\0` for the whole match
//! and `\\` for a backslash. Any other backslash, or a group the pattern does not have,
//! is rejected when the configuration is built (RE2 would refuse the rewrite then too),
//! so a bad rule never reaches the request path. Patterns use the `regex` crate, whose
//! syntax is RE2's and which, like RE2, matches in linear time.

use std::fmt;

use regex::{Captures, Regex, RegexBuilder};

use crate::ConfigError;

/// Rewrites the path of a request by regex.
#[derive(Clone)]
pub struct RegexRewrite {
    regex: Regex,
    substitution: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
}

impl RegexRewrite {
    /// A rewrite replacing matches of `pattern` (RE2 syntax, unanchored) with
    /// `substitution` (RE2 rewrite syntax). Errors name `pattern` or `substitution`.
    pub fn new(pattern: &str, substitution: &str) -> Result<Self, ConfigError> {
        let regex = RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|e| {
            let reason = e.to_string();
            let last = reason.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(&reason).trim().to_string();
            ConfigError::new("pattern", format!("invalid regex {pattern:?}: {last}"))
        })?;
        let pieces = parse_substitution(substitution, regex.captures_len() - 1)?;
        Ok(Self { regex, substitution: substitution.to_string(), pieces })
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The substitution, as configured.
    pub fn substitution(&self) -> &str {
        &self.substitution
    }

    /// The rewritten `path_and_query`: matches in the path are replaced, the query (from
    /// the first `?`) is kept as is.
    pub fn rewrite(&self, path_and_query: &str) -> String {
        let (path, query) = match path_and_query.find('?') {
            Some(i) => path_and_query.split_at(i),
            None => (path_and_query, ""),
        };
        let replaced = self.regex.replace_all(path, |caps: &Captures<'_>| {
            let mut out = String::new();
            for piece in &self.pieces {
                match piece {
                    Piece::Literal(s) => out.push_str(s),
                    Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                }
            }
            out
        });
        format!("{replaced}{query}")
    }
}

/// Splits an RE2 rewrite string into literals and group references.
fn parse_substitution(s: &str, groups: usize) -> Result<Vec<Piece>, ConfigError> {
    let bad = |reason: String| ConfigError::new("substitution", reason);
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            literal.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => literal.push('\\'),
            Some(d @ '0'..='9') => {
                let n = d as usize - '0' as usize;
                if n > groups {
                    return Err(bad(format!("{s:?} refers to group \\{n} but the pattern has {groups} group(s)")));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(n));
            }
            other => {
                let after = other.map_or_else(|| "the end".to_string(), |c| format!("{c:?}"));
                return Err(bad(format!(
                    "{s:?}: a backslash must be followed by a digit or another backslash, not {after}"
                )));
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

impl fmt::Debug for RegexRewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegexRewrite({:?} → {:?})", self.regex.as_str(), self.substitution)
    }
}

impl PartialEq for RegexRewrite {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str() && self.substitution == other.substitution
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(pattern: &str, substitution: &str, path: &str) -> String {
        RegexRewrite::new(pattern, substitution).expect("valid").rewrite(path)
    }

    #[test]
    fn envoy_examples() {
        assert_eq!(rw(r"^/service/([^/]+)(/.*)$", r"\2/instance/\1", "/service/foo/v1/api"), "/v1/api/instance/foo");
        assert_eq!(rw("one", "two", "/xxx/one/yyy/one/zzz"), "/xxx/two/yyy/two/zzz");
        assert_eq!(rw(r"^(.*?)one(.*)$", r"\1two\2", "/xxx/one/yyy/one/zzz"), "/xxx/two/yyy/one/zzz");
        assert_eq!(rw("(?i)/xxx/", "/yyy/", "/aaa/XxX/bbb"), "/aaa/yyy/bbb");
    }

    #[test]
    fn query_is_kept_and_escapes_are_literal() {
        assert_eq!(rw("^/v1/(.*)$", r"/v2/\1", "/v1/a?x=/v1/b"), "/v2/a?x=/v1/b");
        assert_eq!(rw("a", r"\\$1\0", "/a"), r"/\$1a");
        assert_eq!(rw("(x)?a", r"[\1]", "/a"), "/[]", "a group that did not take part is empty");
    }

    #[test]
    fn bad_rules_name_the_field() {
        assert_eq!(RegexRewrite::new("(", "x").expect_err("bad pattern").field, "pattern");
        assert_eq!(RegexRewrite::new("(a)", r"\2").expect_err("no group 2").field, "substitution");
        assert_eq!(RegexRewrite::new("a", r"\x").expect_err("bad escape").field, "substitution");
        assert_eq!(RegexRewrite::new("a", "tail\\").expect_err("trailing").field, "substitution");
    }
}
