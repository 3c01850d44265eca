//! `mesh-control validate`, `--help` and clap's errors, through the real binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Output};

use common::*;

fn mesh_control(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mesh-control")).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn validate_a_good_directory() {
    let dir = fixture();
    let output = mesh_control(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "5 objects valid\n");
}

#[test]
fn validate_files_and_directories_together() {
    let dir = fixture();
    let other = TempDir::new();
    other.write("extra.yaml", &virtual_service("v2", 1).replace("name: reviews", "name: extra"));
    let file = other.path().join("extra.yaml");
    let output = mesh_control(&["validate", dir.path().to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "6 objects valid\n");
}

#[test]
fn validate_a_bad_directory_prints_one_line_per_problem() {
    let dir = fixture();
    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    dir.write(
        "typo.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: typo}\nspec: {htp: []}\n",
    );
    let output = mesh_control(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 2, "{out}");
    for line in &lines {
        // file:line: Kind/namespace/name: field: reason
        let (file, rest) = line.split_once(".yaml:").unwrap_or_else(|| panic!("no file:line in {line:?}"));
        assert!(file.starts_with(dir.path().to_str().unwrap()), "{line}");
        let (number, rest) = rest.split_once(": ").unwrap();
        assert!(number.parse::<usize>().unwrap() >= 1, "{line}");
        assert!(rest.starts_with("VirtualService/default/"), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("broken.yaml:") && l.contains("VirtualService/default/broken: ")));
    assert!(lines.iter().any(|l| l.contains("typo.yaml:") && l.contains("VirtualService/default/typo: ")));
}

#[test]
fn help_covers_every_command_and_flag() {
    let help = mesh_control(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(text.contains("serve") && text.contains("validate"), "{text}");

    let serve = stdout(&mesh_control(&["serve", "--help"]));
    for flag in ["--config <DIR>", "--xds-addr <ADDR>", "--admin-addr <ADDR>", "--namespace", "--log", "--debounce-ms"]
    {
        assert!(serve.contains(flag), "serve --help lacks {flag}:\n{serve}");
    }
    assert!(serve.contains("127.0.0.1:15010") && serve.contains("127.0.0.1:15014"), "{serve}");
    let validate = stdout(&mesh_control(&["validate", "--help"]));
    assert!(validate.contains("<DIR|FILE>") && validate.contains("objects valid"), "{validate}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let output = mesh_control(&["serve", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--no-such-flag"));
    assert_eq!(mesh_control(&["validate"]).status.code(), Some(2), "a path is required");
    assert_eq!(mesh_control(&["serve", "--config", "x", "--xds-addr", "nope"]).status.code(), Some(2));
    assert_eq!(mesh_control(&[]).status.code(), Some(2));
}
