//! Reading JSON values while keeping track of the field path, so that every error names the field.
//!
//! Unknown fields are never looked at, hence ignored (gRPC does the same, for forward compatibility).
//! A field set to `null` counts as absent (as in protobuf's JSON mapping).

use serde_json::{Map, Value};

use super::error::FieldError;

pub(super) type Object = Map<String, Value>;

/// `parent.key` (or `key` at the root).
pub(super) fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// `parent[index]`.
pub(super) fn index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `parent["key"]`, for entries of a JSON object used as a map.
pub(super) fn entry(parent: &str, key: &str) -> String {
    format!("{parent}[{key:?}]")
}

/// The value at `path`, which must be a JSON object.
pub(super) fn object<'v>(value: &'v Value, path: &str) -> Result<&'v Object, FieldError> {
    value.as_object().ok_or_else(|| FieldError::new(display(path), "must be a JSON object"))
}

/// `obj[key]`, `None` when missing or `null`.
pub(super) fn get<'v>(obj: &'v Object, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// An optional string field.
pub(super) fn opt_string(obj: &Object, key: &str, parent: &str) -> Result<Option<String>, FieldError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FieldError::new(child(parent, key), "must be a string")),
    }
}

/// A required string field.
pub(super) fn req_string(obj: &Object, key: &str, parent: &str) -> Result<String, FieldError> {
    opt_string(obj, key, parent)?.ok_or_else(|| FieldError::new(child(parent, key), "missing"))
}

/// An optional boolean field.
pub(super) fn opt_bool(obj: &Object, key: &str, parent: &str) -> Result<Option<bool>, FieldError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(FieldError::new(child(parent, key), "must be true or false")),
    }
}

/// An optional array field.
pub(super) fn opt_array<'v>(obj: &'v Object, key: &str, parent: &str) -> Result<Option<&'v [Value]>, FieldError> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(FieldError::new(child(parent, key), "must be an array")),
    }
}

/// An optional object field.
pub(super) fn opt_object<'v>(obj: &'v Object, key: &str, parent: &str) -> Result<Option<&'v Object>, FieldError> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => object(v, &child(parent, key)).map(Some),
    }
}

/// How the root is named in messages.
fn display(path: &str) -> &str {
    if path.is_empty() { "<root>" } else { path }
}
