//! `mesh-control serve` through the real binary: refuses bad configuration with a one-line
//! reason, serves a good one, and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::*;

fn serve(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesh-control"));
    command.arg("serve").args(["--xds-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"]).args(args);
    command
}

#[test]
fn a_missing_directory_is_one_line_and_exit_1() {
    let dir = TempDir::new();
    let missing = dir.path().join("does-not-exist");
    let output = serve(&["--config", missing.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("does-not-exist"), "{stderr}");
}

#[test]
fn an_invalid_directory_lists_the_problems_and_exits_1() {
    let dir = fixture();
    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    let output = serve(&["--config", dir.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: invalid configuration"), "{stderr}");
    assert!(stderr.contains("broken.yaml:"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn an_occupied_port_is_one_line_and_exit_1() {
    let dir = fixture();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_mesh-control"))
        .args(["serve", "--config", dir.path().to_str().unwrap(), "--xds-addr", "127.0.0.1:0", "--admin-addr", &addr])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: cannot listen for the admin server on"), "{stderr}");
}

#[tokio::test]
async fn serves_until_sigterm() {
    let dir = fixture();
    let mut child = serve(&["--config", dir.path().to_str().unwrap(), "--log", "info"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The startup log line carries the bound addresses.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("mesh-control serving")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(line);
            }
        }
    });
    let line = tokio::time::timeout(WAIT, rx).await.expect("startup line in time").unwrap();
    let admin: SocketAddr = field(&line, "admin_addr").parse().unwrap();
    let xds: SocketAddr = field(&line, "xds_addr").parse().unwrap();
    assert_eq!(get(admin, "/ready").await.status, 200);
    assert!(tokio::net::TcpStream::connect(xds).await.is_ok());

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let exit = tokio::time::timeout(WAIT, exit).await.expect("exits after SIGTERM").unwrap();
    assert_eq!(exit.code(), Some(0));
}

/// `name=value` in a tracing line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} not in {line:?}")) + name.len() + 1;
    line[start..].split_whitespace().next().unwrap()
}
