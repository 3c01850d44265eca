//! [`FieldPath`]: where a field sits inside an object (`spec.http[0].route[1].weight`),
//! built while walking the model so that issues name the exact field and [`locate`]
//! can find its line.
//!
//! [`locate`]: super::locate

use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key (`http`, or a header name inside `headers`).
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from the root of a Kubernetes object to one of its fields. Displays with dots
/// between keys and brackets around indexes, as serde_yaml_ng writes paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of the object's `spec`.
    pub fn spec() -> Self {
        Self(vec![Segment::Key("spec".into())])
    }

    /// The path of the object's `metadata.name`.
    pub fn metadata_name() -> Self {
        Self(vec![Segment::Key("metadata".into()), Segment::Key("name".into())])
    }

    /// This path, then `key`.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_string()));
        Self(segments)
    }

    /// This path, then `[index]`.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_serde_yaml() {
        let p = FieldPath::spec().key("http").index(0).key("route").index(1).key("weight");
        assert_eq!(p.to_string(), "spec.http[0].route[1].weight");
        assert_eq!(FieldPath::metadata_name().to_string(), "metadata.name");
    }
}
