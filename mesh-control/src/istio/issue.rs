//! [`ConfigIssue`]: one problem in the configuration, rendered the way compilers render
//! errors so that editors and CI logs link straight to it.

use std::fmt;
use std::path::PathBuf;

/// A problem found while loading or validating configuration.
///
/// Displays as `file:line: Kind/namespace/name: field: reason`; when the document could
/// not be read far enough to know its kind and name, as `file:line: reason`. `line` is
/// 1-based; 0 means the whole file (it could not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigIssue {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the offending field, or of the document (0: the whole file).
    pub line: usize,
    /// Kind of the object (`VirtualService`), empty if unknown.
    pub kind: String,
    /// Namespace of the object, empty if unknown.
    pub namespace: String,
    /// Name of the object, empty if unknown.
    pub name: String,
    /// Field path inside the object (`spec.http[0].route[1].weight`), empty if none.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl ConfigIssue {
    /// An issue that concerns a whole document or file, before its identity is known.
    pub fn at(file: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            kind: String::new(),
            namespace: String::new(),
            name: String::new(),
            field: String::new(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if !self.kind.is_empty() || !self.name.is_empty() {
            write!(f, "{}/{}/{}: ", self.kind, self.namespace, self.name)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let mut issue = ConfigIssue::at("vs.yaml", 12, "weights sum to 90, must sum to 100");
        assert_eq!(issue.to_string(), "vs.yaml:12: weights sum to 90, must sum to 100");
        issue.kind = "VirtualService".into();
        issue.namespace = "default".into();
        issue.name = "reviews".into();
        issue.field = "spec.http[0].route[1].weight".into();
        assert_eq!(
            issue.to_string(),
            "vs.yaml:12: VirtualService/default/reviews: spec.http[0].route[1].weight: weights sum to 90, must sum to 100"
        );
    }
}
