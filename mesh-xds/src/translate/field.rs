//! Field paths of rejected values.
//!
//! Translation works on `mesh_core::ConfigError` (a field path and a reason) while it
//! descends into a resource, prefixing the path at each level on the way back up, and
//! turns it into a [`ResourceError`] naming the resource at the top. mesh-core's own
//! errors name *its* fields (`choice_count`, `percentage`); where those differ from the
//! proto's, [`At::for_field`] puts the proto field in their place.

use std::fmt;

use mesh_core::ConfigError;

use super::ResourceError;

/// A translation step's result: the value, or what is wrong and where.
pub(super) type FieldResult<T> = Result<T, ConfigError>;

/// An error at `field`.
pub(super) fn reject<T>(field: impl Into<String>, reason: impl Into<String>) -> FieldResult<T> {
    Err(ConfigError::new(field, reason))
}

/// Rejects a field that is set when the client cannot honour it.
pub(super) fn unsupported(set: bool, field: &str, what: &str) -> FieldResult<()> {
    if set { reject(field, format!("{what} is not supported")) } else { Ok(()) }
}

/// Adds or replaces the field path of an error.
pub(super) trait At<T> {
    /// Prefixes the error's field path with `parent`.
    fn at(self, parent: impl fmt::Display) -> FieldResult<T>;
    /// Replaces the error's field path with `field` (keeps the reason).
    fn for_field(self, field: impl Into<String>) -> FieldResult<T>;
}

impl<T> At<T> for FieldResult<T> {
    fn at(self, parent: impl fmt::Display) -> FieldResult<T> {
        self.map_err(|e| e.within(parent))
    }

    fn for_field(self, field: impl Into<String>) -> FieldResult<T> {
        self.map_err(|e| ConfigError::new(field, e.reason))
    }
}

impl ResourceError {
    /// The error of resource `name`.
    pub(super) fn of(name: &str, e: ConfigError) -> Self {
        Self { resource: name.to_string(), field: e.field, reason: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compose() {
        let e = reject::<()>("safe_regex", "bad").at("match").at("routes[1]").at("virtual_hosts[0]").expect_err("err");
        assert_eq!(e.field, "virtual_hosts[0].routes[1].match.safe_regex");
        let e = reject::<()>("choice_count", "too small").for_field("least_request_lb_config.choice_count");
        assert_eq!(e.expect_err("err").field, "least_request_lb_config.choice_count");
        let r = ResourceError::of("c", ConfigError::new("type", "no"));
        assert_eq!(r.to_string(), "resource \"c\": type: no");
    }
}
