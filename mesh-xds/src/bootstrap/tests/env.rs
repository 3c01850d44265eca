//! `from_env` precedence and error sources, through `from_env_with` (no process-wide variables are
//! touched, so these tests need no lock and cannot disturb other tests).

use std::collections::HashMap;

use serde_json::json;

use super::{TempFile, minimal, with};
use crate::bootstrap::{Bootstrap, BootstrapError};

fn from_env(vars: &[(&str, &str)]) -> Result<Bootstrap, BootstrapError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Bootstrap::from_env_with(|name| vars.get(name).cloned())
}

#[test]
fn the_file_wins_over_the_inline_config() {
    let file = TempFile::new("file-wins", &with("/node/id", json!("from-file")).to_string());
    let inline = with("/node/id", json!("from-config")).to_string();
    let path = file.path().to_str().unwrap();
    let b = from_env(&[("GRPC_XDS_BOOTSTRAP", path), ("GRPC_XDS_BOOTSTRAP_CONFIG", &inline)]).unwrap();
    assert_eq!(b.node.id, "from-file");
}

#[test]
fn the_inline_config_is_used_when_no_file_is_named() {
    let inline = with("/node/id", json!("from-config")).to_string();
    assert_eq!(from_env(&[("GRPC_XDS_BOOTSTRAP_CONFIG", &inline)]).unwrap().node.id, "from-config");
    // An empty GRPC_XDS_BOOTSTRAP counts as unset.
    let b = from_env(&[("GRPC_XDS_BOOTSTRAP", ""), ("GRPC_XDS_BOOTSTRAP_CONFIG", &inline)]).unwrap();
    assert_eq!(b.node.id, "from-config");
}

#[test]
fn neither_variable_is_not_configured() {
    for vars in [&[][..], &[("GRPC_XDS_BOOTSTRAP", ""), ("GRPC_XDS_BOOTSTRAP_CONFIG", "")][..]] {
        let err = from_env(vars).unwrap_err();
        assert!(matches!(err, BootstrapError::NotConfigured));
        assert_eq!(
            err.to_string(),
            "no xDS bootstrap: set GRPC_XDS_BOOTSTRAP (path to a JSON file) or GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself)"
        );
    }
}

#[test]
fn errors_name_the_variable_and_the_file() {
    let bad = json!({ "xds_servers": [{ "channel_creds": [{ "type": "insecure" }] }] }).to_string();
    let file = TempFile::new("invalid", &bad);
    let path = file.path().to_str().unwrap();
    let err = from_env(&[("GRPC_XDS_BOOTSTRAP", path)]).unwrap_err();
    assert_eq!(err.to_string(), format!("GRPC_XDS_BOOTSTRAP={path}: xds_servers[0].server_uri: missing"));

    let err = from_env(&[("GRPC_XDS_BOOTSTRAP_CONFIG", &bad)]).unwrap_err();
    assert_eq!(err.to_string(), "GRPC_XDS_BOOTSTRAP_CONFIG: xds_servers[0].server_uri: missing");

    let err = Bootstrap::from_file(file.path()).unwrap_err();
    assert_eq!(err.to_string(), format!("{path}: xds_servers[0].server_uri: missing"));

    let err = from_env(&[("GRPC_XDS_BOOTSTRAP_CONFIG", "not json")]).unwrap_err();
    assert!(err.to_string().starts_with("GRPC_XDS_BOOTSTRAP_CONFIG: not valid JSON: "), "{err}");
}

#[test]
fn an_unreadable_file_is_reported_with_the_variable() {
    let missing = std::env::temp_dir().join(format!("mesh-xds-bootstrap-{}-absent.json", std::process::id()));
    let path = missing.to_str().unwrap();
    let err =
        from_env(&[("GRPC_XDS_BOOTSTRAP", path), ("GRPC_XDS_BOOTSTRAP_CONFIG", &minimal().to_string())]).unwrap_err();
    assert!(matches!(err, BootstrapError::Read { .. }));
    assert!(err.to_string().starts_with(&format!("GRPC_XDS_BOOTSTRAP={path}: cannot read the file: ")), "{err}");
}

#[test]
fn from_file_reads_a_file() {
    let file = TempFile::new("from-file", &minimal().to_string());
    assert_eq!(Bootstrap::from_file(file.path()).unwrap().xds_servers[0].server_uri, "localhost:18000");
}
