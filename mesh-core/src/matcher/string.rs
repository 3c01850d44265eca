use std::fmt;

use regex::Regex;

use crate::ConfigError;

/// Matches a string value: exact, prefix, suffix, contains or a full-string regex,
/// optionally ignoring ASCII case (not for regexes: use `(?i)` there).
#[derive(Clone)]
pub struct StringMatcher {
    kind: Kind,
    ignore_case: bool,
}

#[derive(Clone)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(Regex),
}

impl StringMatcher {
    /// Matches exactly `value`.
    pub fn exact(value: impl Into<String>) -> Self {
        Self { kind: Kind::Exact(value.into()), ignore_case: false }
    }
    /// Matches values starting with `value`.
    pub fn prefix(value: impl Into<String>) -> Self {
        Self { kind: Kind::Prefix(value.into()), ignore_case: false }
    }
    /// Matches values ending with `value`.
    pub fn suffix(value: impl Into<String>) -> Self {
        Self { kind: Kind::Suffix(value.into()), ignore_case: false }
    }
    /// Matches values containing `value`.
    pub fn contains(value: impl Into<String>) -> Self {
        Self { kind: Kind::Contains(value.into()), ignore_case: false }
    }
    /// Matches values the regex matches in full (RE2 syntax, as Envoy's `safe_regex`).
    pub fn regex(pattern: &str) -> Result<Self, ConfigError> {
        let anchored = format!("^(?:{pattern})$");
        let re = regex::RegexBuilder::new(&anchored)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| ConfigError::new("", format!("invalid regex {pattern:?}: {}", first_line(&e.to_string()))))?;
        Ok(Self { kind: Kind::Regex(re), ignore_case: false })
    }
    /// Ignore ASCII case for exact / prefix / suffix / contains.
    #[must_use]
    pub fn ignore_case(mut self, yes: bool) -> Self {
        self.ignore_case = yes;
        if yes {
            match &mut self.kind {
                Kind::Exact(s) | Kind::Prefix(s) | Kind::Suffix(s) | Kind::Contains(s) => s.make_ascii_lowercase(),
                Kind::Regex(_) => {}
            }
        }
        self
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let ic = self.ignore_case;
        match &self.kind {
            Kind::Exact(s) => {
                if ic {
                    value.eq_ignore_ascii_case(s)
                } else {
                    value == s
                }
            }
            Kind::Prefix(s) => {
                value.len() >= s.len() && value.is_char_boundary(s.len()) && eq(&value[..s.len()], s, ic)
            }
            Kind::Suffix(s) => {
                let start = value.len().wrapping_sub(s.len());
                value.len() >= s.len() && value.is_char_boundary(start) && eq(&value[start..], s, ic)
            }
            Kind::Contains(s) => {
                if ic {
                    value.to_ascii_lowercase().contains(s.as_str())
                } else {
                    value.contains(s.as_str())
                }
            }
            Kind::Regex(re) => re.is_match(value),
        }
    }
}

fn eq(a: &str, b: &str, ignore_case: bool) -> bool {
    if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b }
}

fn first_line(s: &str) -> String {
    s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim().to_string()
}

impl fmt::Debug for StringMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (k, v) = match &self.kind {
            Kind::Exact(s) => ("exact", s.as_str()),
            Kind::Prefix(s) => ("prefix", s.as_str()),
            Kind::Suffix(s) => ("suffix", s.as_str()),
            Kind::Contains(s) => ("contains", s.as_str()),
            Kind::Regex(r) => ("regex", r.as_str()),
        };
        write!(f, "{k}({v:?}{})", if self.ignore_case { ", ignore_case" } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert!(StringMatcher::exact("a").matches("a"));
        assert!(!StringMatcher::exact("a").matches("A"));
        assert!(StringMatcher::exact("a").ignore_case(true).matches("A"));
        assert!(StringMatcher::prefix("/api").matches("/api/v1"));
        assert!(!StringMatcher::prefix("/api").matches("/ap"));
        assert!(StringMatcher::suffix(".json").matches("x.json"));
        assert!(StringMatcher::contains("ell").matches("hello"));
        let re = StringMatcher::regex("/v[0-9]+/.*").expect("valid");
        assert!(re.matches("/v12/x"));
        assert!(!re.matches("x/v12/x"), "regex must match the whole value");
        assert!(StringMatcher::regex("(").is_err());
    }

    #[test]
    fn prefix_on_multibyte_boundary_does_not_panic() {
        assert!(!StringMatcher::prefix("a").ignore_case(true).matches("é"));
        assert!(!StringMatcher::suffix("a").matches("é"));
    }
}
