//! Tests of the bootstrap: loading (`load`), error messages (`errors`), resource names (`names`) and
//! the environment (`env`).

mod env;
mod errors;
mod load;
mod names;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Bootstrap, BootstrapError};

/// Loads `value` (as JSON text), panicking on error.
fn load(value: &Value) -> Bootstrap {
    match Bootstrap::from_json(&value.to_string()) {
        Ok(bootstrap) => bootstrap,
        Err(e) => panic!("{value}: {e}"),
    }
}

/// The error message of loading `value`.
fn load_err(value: &Value) -> String {
    match Bootstrap::from_json(&value.to_string()) {
        Ok(bootstrap) => panic!("{value} loaded: {bootstrap:?}"),
        Err(e) => e.to_string(),
    }
}

/// The smallest valid bootstrap.
fn minimal() -> Value {
    json!({
        "xds_servers": [{ "server_uri": "localhost:18000", "channel_creds": [{ "type": "insecure" }] }],
        "node": { "id": "test-node" }
    })
}

/// `minimal()` with `pointer` (a JSON pointer into it) set to `value`.
fn with(pointer: &str, value: Value) -> Value {
    let mut doc = minimal();
    set(&mut doc, pointer, value);
    doc
}

/// Sets `pointer` in `doc`, creating objects on the way.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let mut target = doc;
    for part in parent.split('/').skip(1) {
        target = match target {
            Value::Array(items) => &mut items[part.parse::<usize>().expect("an index")],
            other => other.as_object_mut().expect("an object").entry(part).or_insert(json!({})),
        };
    }
    match target {
        Value::Array(items) => items[key.parse::<usize>().expect("an index")] = value,
        other => {
            other.as_object_mut().expect("an object").insert(key.to_owned(), value);
        }
    }
}

/// A file deleted on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mesh-xds-bootstrap-{}-{name}.json", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn error_field_accessor() {
    let err = Bootstrap::from_json(&with("/xds_servers/0/server_uri", json!(7)).to_string()).unwrap_err();
    assert_eq!(err.field(), Some("xds_servers[0].server_uri"));
    assert!(matches!(err, BootstrapError::Invalid { .. }));
    assert_eq!(BootstrapError::NotConfigured.field(), None);
}
