use std::fmt;

/// A configuration value that failed validation.
///
/// `field` is a dotted path from the root of the object being built
/// (`virtual_hosts[0].routes[2].match.headers[0].regex`), so that the message points at
/// the exact place to fix; `reason` says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Dotted path of the offending field.
    pub field: String,
    /// Why the value was rejected.
    pub reason: String,
}

impl ConfigError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    /// Prefixes the field path with `parent` (used while unwinding nested validation).
    #[must_use]
    pub fn within(mut self, parent: impl fmt::Display) -> Self {
        let parent = parent.to_string();
        self.field = match (parent.is_empty(), self.field.is_empty()) {
            (true, _) => self.field,
            (false, true) => parent,
            (false, false) if self.field.starts_with('[') => format!("{parent}{}", self.field),
            (false, false) => format!("{parent}.{}", self.field),
        };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() { f.write_str(&self.reason) } else { write!(f, "{}: {}", self.field, self.reason) }
    }
}

/// Adds context to validation results.
pub(crate) trait Within<T> {
    fn within(self, parent: impl fmt::Display) -> Result<T, ConfigError>;
}

impl<T> Within<T> for Result<T, ConfigError> {
    fn within(self, parent: impl fmt::Display) -> Result<T, ConfigError> {
        self.map_err(|e| e.within(parent))
    }
}
