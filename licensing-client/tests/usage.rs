//! The `license-server` command line on its own (no Clearinghouse needed): help, exit
//! codes and the one-line errors of user mistakes. The flows against a Clearinghouse are
//! tested end to end in the workspace's `tests/` crate.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn license_server(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_license-server"))
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .env_remove("CLEARINGHOUSE_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn install(dir: &Path) {
    let output = license_server(
        dir,
        &[
            "install",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--company",
            "Engines",
            "--country",
            "GB",
            "--seed",
            "1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let output = license_server(dir.path(), &["--help"]);
    let text = String::from_utf8_lossy(&output.stdout);
    for line in ["0  done", "2  bad input", "3  no answer", "4  stopped"] {
        assert!(text.contains(line), "{line}: {text}");
    }
}

#[test]
fn an_unknown_operating_system_is_named_with_the_accepted_ones_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = license_server(dir.path(), &["install", "--os", "2001"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("2001") && text.contains("2008-r2"), "{text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
}

#[test]
fn a_missing_company_field_is_named_and_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let output = license_server(
        dir.path(),
        &[
            "install",
            "--first-name",
            "Ada",
            "--company",
            "Engines",
            "--country",
            "GB",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("last name"), "{}", stderr(&output));
    assert!(!dir.path().join("license-server.json").exists());
}

#[test]
fn status_without_a_license_server_says_how_to_install_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = license_server(dir.path(), &["status"]);
    assert_eq!(output.status.code(), Some(5));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("license-server install"), "{text}");
}

#[test]
fn installing_twice_in_one_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    let output = license_server(
        dir.path(),
        &[
            "install",
            "--first-name",
            "B",
            "--last-name",
            "C",
            "--company",
            "D",
            "--country",
            "US",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("already installed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_malformed_id_typed_in_exits_2_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    let output = license_server(
        dir.path(),
        &["activate", "--method", "web", "--id", "12345-678"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("not an ID"), "{}", stderr(&output));
    let status = license_server(dir.path(), &["status", "--json"]);
    let state: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(state["activation"]["status"], "not-activated");
}

#[test]
fn flows_without_a_terminal_name_the_missing_flag() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    let output = license_server(dir.path(), &["reactivate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--reason"), "{}", stderr(&output));
}

#[test]
fn completions_are_printed_for_bash() {
    let dir = tempfile::tempdir().unwrap();
    let output = license_server(dir.path(), &["completions", "bash"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("migrate-cals"));
}

#[test]
fn a_timeout_out_of_range_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    let output = license_server(dir.path(), &["activate", "--timeout", "1e20"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("at most 3600"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_clearinghouse_url_that_cannot_be_reached_by_http_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    let output = license_server(dir.path(), &["set", "--clearinghouse", "ftp://example.org"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("http://"), "{}", stderr(&output));
    let output = license_server(dir.path(), &["set", "--tenant", "lab seat"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn output_to_a_reader_that_went_away_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path());
    for args in [&["status"][..], &["events"], &["completions", "bash"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_license-server"))
            .arg("--state-dir")
            .arg(dir.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // As `| head -0` does: the reader is gone before anything is written.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = stderr(&output);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
