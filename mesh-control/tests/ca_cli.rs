//! `mesh-control serve` with the CA flags, through the real binary: a bad tokens file or
//! TTL policy is one line naming the problem, exit code 1; a zero TTL is a usage error.
//! (Apart from the in-process CA tests: a spawned child briefly holds copies of the test
//! process's sockets.)
#![allow(clippy::unwrap_used)] // test helpers: a failure there is a failed test

mod ca_support;
mod common;

use std::process::Command;

use ca_support::TempDir;
#[test]
fn the_cli_refuses_a_bad_tokens_file_and_a_bad_ttl() {
    let config_dir = common::fixture();
    let dir = TempDir::new();
    std::fs::write(dir.path().join("tokens.yaml"), "- token: short\n  namespace: a\n  serviceAccount: b\n").unwrap();
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mesh-control"))
            .args(["serve", "--config", config_dir.path().to_str().unwrap()])
            .args(["--xds-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ca-addr", "127.0.0.1:0"])
            .args(["--ca-dir", dir.path().join("ca").to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = serve(&["--ca-tokens", dir.path().join("tokens.yaml").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: CA tokens file"), "{stderr}");
    assert!(last.contains("tokens.yaml: entry 1: token: shorter than 16"), "{stderr}");

    let output = serve(&["--max-workload-cert-ttl", "0d"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8(output.stderr).unwrap().contains("--max-workload-cert-ttl"));
    let output = serve(&["--workload-cert-ttl", "100d"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr).unwrap().contains("longer than the max"));
    // --ca-dir without --ca-addr is a usage error.
    let output = Command::new(env!("CARGO_BIN_EXE_mesh-control"))
        .args(["serve", "--config", config_dir.path().to_str().unwrap(), "--ca-dir", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
