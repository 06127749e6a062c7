//! The `clearinghouse` binary as a person or a script starts it: the ready line, the
//! health endpoint, graceful stop on SIGTERM, and clear errors for bad start-up input.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Started {
    child: Child,
    url: String,
    token: Option<String>,
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearinghouse"));
    cmd.args(args)
        .env_remove("CLEARINGHOUSE_ADDR")
        .env_remove("CLEARINGHOUSE_DATA_DIR")
        .env("CLEARINGHOUSE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts the binary and reads its output up to the ready line.
fn start(args: &[&str]) -> Started {
    let mut child = command(args).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut token = None;
    let url = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            break None;
        }
        if let Some(t) = line.trim().strip_prefix("admin-token ") {
            token = Some(t.to_owned());
        } else if let Some(url) = line.trim().strip_prefix("ready ") {
            break Some(url.to_owned());
        } else {
            break None;
        }
    };
    let Some(url) = url else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the clearinghouse did not print its ready line");
    };
    Started { child, url, token }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn prints_a_ready_line_then_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut started = start(&[
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        started.url.starts_with("http://127.0.0.1:"),
        "{}",
        started.url
    );

    let health: serde_json::Value = reqwest::get(format!("{}/health", started.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(format!("{}/ready", started.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    assert!(terminate(&mut started.child).success());
    assert!(dir.path().join("db").exists(), "the store is on disk");
}

#[tokio::test]
async fn a_generated_admin_token_is_printed_and_opens_the_audit() {
    let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory"]);
    let token = started.token.clone().expect("a generated token is printed");
    let audit = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(["audit", "--url", &started.url, "--admin-token", &token])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "{stdout}");
    assert!(stdout.contains("audit ok"), "{stdout}");

    let refused = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(["audit", "--url", &started.url, "--admin-token", "wrong"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Authorization: Bearer"));
    terminate(&mut started.child);
}

#[test]
fn a_given_admin_token_is_not_printed() {
    let mut started = start(&[
        "--addr",
        "127.0.0.1:0",
        "--in-memory",
        "--admin-token",
        "t0k",
    ]);
    assert_eq!(started.token, None);
    terminate(&mut started.child);
}

#[test]
fn a_broken_fixture_directory_is_refused_with_the_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agreements.json"), "[]").unwrap();
    std::fs::write(
        dir.path().join("retail-codes.json"),
        r#"[{"license":{"program":"retail","license_code":"nope"},"cals":[]}]"#,
    )
    .unwrap();
    let out = command(&["--in-memory", "--fixtures", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retail-codes.json, entry 1: "), "{stderr}");
}

#[test]
fn a_second_clearinghouse_on_the_same_data_dir_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let mut first = start(&["--addr", "127.0.0.1:0", "--data-dir", data_dir]);

    let second = command(&["--addr", "127.0.0.1:0", "--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("cannot open the store in"), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    terminate(&mut first.child);
}

#[test]
fn a_busy_port_is_refused_with_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = command(&["--addr", &addr, "--in-memory"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("port 0"), "{stderr}");
}

#[test]
fn a_bad_log_filter_is_a_usage_error() {
    let out = command(&["--in-memory", "--log", "=[["]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a log filter"), "{stderr}");
}

#[test]
fn in_memory_and_data_dir_cannot_be_combined() {
    let out = command(&["--in-memory", "--data-dir", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
