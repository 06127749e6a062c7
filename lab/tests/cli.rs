//! The `lab` command as a trainer types it: a class stood up in the background, graded,
//! solved and taken down; a scenario with a mistake refused with its file and line.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use shared::wire::SeatGrade;

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/labs")
        .join(format!("{name}.toml"))
}

fn passes(grade: &SeatGrade) -> bool {
    grade.checks.iter().all(|c| c.passed)
}

/// Runs the `lab` command in `dir`.
fn lab(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_lab_command_stands_a_class_up_grades_it_and_takes_it_down() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario("migrate-automatic");
    let up = lab(dir.path(), &["up", file.to_str().unwrap(), "--seats", "2"]);
    let out = String::from_utf8_lossy(&up.stdout);
    assert!(
        up.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(
        out.contains("Seat 2 (tenant migrate-automatic-02)"),
        "{out}"
    );
    assert!(out.contains("license-server --state-dir"), "{out}");
    assert!(out.contains("web site:  http://127.0.0.1:"), "{out}");
    let class = lab::class::ClassFile::read(dir.path()).unwrap();
    let daemon = class.seats[0].servers["LS-OLD"].daemon.clone().unwrap();
    assert!(std::net::TcpStream::connect(&daemon).is_ok());

    let graded = lab(dir.path(), &["grade", "--json"]);
    assert!(graded.status.success());
    let grades: Vec<SeatGrade> = serde_json::from_slice(&graded.stdout).unwrap();
    assert_eq!(grades.len(), 2);
    assert!(grades.iter().all(|g| !passes(g)));

    let solved = lab(dir.path(), &["solve", "--seat", "2"]);
    assert!(
        solved.status.success(),
        "{}",
        String::from_utf8_lossy(&solved.stderr)
    );
    let graded = lab(dir.path(), &["grade", "--seat", "2"]);
    let text = String::from_utf8_lossy(&graded.stdout);
    assert!(
        text.contains("Seat 2 (migrate-automatic-02): PASS, 6 of 6 checks"),
        "{text}"
    );

    let down = lab(dir.path(), &["down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(std::net::TcpStream::connect(&daemon).is_err());
    // Nothing the trainer did not ask to remove is removed.
    for kept in [
        "class.json",
        "seat-02/LS-NEW/license-server.json",
        "clearinghouse",
    ] {
        assert!(dir.path().join(kept).exists(), "{kept} was removed");
    }
    let after = lab(dir.path(), &["grade"]);
    assert_eq!(after.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&after.stderr).contains("is down"),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}

#[test]
fn a_scenario_with_a_mistake_is_refused_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    let text = std::fs::read_to_string(scenario("migrate-automatic"))
        .unwrap()
        .replace("os = \"2022\"", "os = \"2023\"");
    std::fs::write(&file, &text).unwrap();
    let line = text.lines().position(|l| l == "os = \"2023\"").unwrap() + 1;
    let up = lab(dir.path(), &["up", file.to_str().unwrap()]);
    assert_eq!(up.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(stderr.contains(&format!("typo.toml:{line}: ")), "{stderr}");
    assert!(stderr.contains("2023"), "{stderr}");
    // Nothing was stood up.
    assert!(!dir.path().join("class.json").exists());
}
