//! The `clearinghouse` binary as a person or a script starts it: the ready line, the
//! health endpoint, graceful stop on SIGTERM, clear errors for bad start-up input, its
//! subcommands, its log, and its open-files limit under a thousand slow clients.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Started {
    child: Child,
    url: String,
    token: Option<String>,
    phone: Option<String>,
    sip: Option<String>,
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearinghouse"));
    cmd.args(args);
    with_test_env(cmd)
}

/// The binary started by `sh -c shell`, which ends in `exec "$0" "$@"`.
fn command_in_shell(shell: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(shell)
        .arg(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(args);
    with_test_env(cmd)
}

fn with_test_env(mut cmd: Command) -> Command {
    cmd.env_remove("CLEARINGHOUSE_ADDR")
        .env_remove("CLEARINGHOUSE_DATA_DIR")
        // Many run at once: each phone line on a port of its own.
        .env("CLEARINGHOUSE_PHONE_ADDR", "127.0.0.1:0")
        .env("CLEARINGHOUSE_SIP_ADDR", "127.0.0.1:0")
        .env("CLEARINGHOUSE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts the binary and reads its output up to the ready line.
fn start(args: &[&str]) -> Started {
    start_command(command(args))
}

fn start_command(mut command: Command) -> Started {
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut token = None;
    let mut phone = None;
    let mut sip = None;
    let url = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            break None;
        }
        if let Some(t) = line.trim().strip_prefix("admin-token ") {
            token = Some(t.to_owned());
        } else if let Some(addr) = line.trim().strip_prefix("phone-line ") {
            phone = Some(addr.to_owned());
        } else if let Some(uri) = line.trim().strip_prefix("sip ") {
            sip = Some(uri.to_owned());
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
    Started {
        child,
        url,
        token,
        phone,
        sip,
    }
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
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("the admin token was refused"), "{said}");
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
fn a_busy_phone_port_is_refused_with_its_own_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = command(&[
        "--addr",
        "127.0.0.1:0",
        "--phone-addr",
        &addr,
        "--in-memory",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr} for the phone line")),
        "{stderr}"
    );
    assert!(stderr.contains("--phone-addr"), "{stderr}");
}

#[test]
fn the_voice_line_is_printed_before_the_ready_line_and_answers_options() {
    let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory"]);
    let uri = started.sip.clone().expect("the voice line is printed");
    let addr = uri
        .strip_prefix("sip:clearinghouse@")
        .expect("the line's SIP URI");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let here = socket.local_addr().unwrap();
    let options = format!(
        "OPTIONS {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bKbinary\r\nFrom: <sip:t@{here}>;tag=t\r\nTo: <{uri}>\r\nCall-ID: binary-options\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    socket.send_to(options.as_bytes(), addr).unwrap();
    let mut answer = [0u8; 2048];
    let n = socket.recv(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Allow: INVITE"), "{answer}");
    terminate(&mut started.child);

    let mut without = start(&["--addr", "127.0.0.1:0", "--in-memory", "--no-sip"]);
    assert_eq!(without.sip, None);
    terminate(&mut without.child);
}

#[test]
fn without_espeak_ng_the_voice_line_says_how_to_install_it_or_go_without() {
    let out = command(&["--addr", "127.0.0.1:0", "--in-memory"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("apt-get install espeak-ng"), "{stderr}");
    assert!(stderr.contains("--no-sip"), "{stderr}");
    let mut without = start(&["--addr", "127.0.0.1:0", "--in-memory", "--no-sip"]);
    terminate(&mut without.child);
}

#[test]
fn a_sigterm_right_after_the_ready_line_stops_the_clearinghouse_cleanly() {
    for _ in 0..5 {
        let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory"]);
        let status = terminate(&mut started.child);
        assert!(status.success(), "{status}");
    }
}

#[test]
fn unasked_the_voice_line_is_left_out_with_a_warning_where_espeak_ng_is_missing() {
    let mut cmd = command(&["--addr", "127.0.0.1:0", "--in-memory"]);
    cmd.env_remove("CLEARINGHOUSE_SIP_ADDR")
        .env("PATH", "/nonexistent");
    let mut started = start_command(cmd);
    assert_eq!(started.sip, None);
    let status = terminate(&mut started.child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut started.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("no voice line"), "{stderr}");
    assert!(stderr.contains("apt-get install espeak-ng"), "{stderr}");
}

#[test]
fn a_busy_sip_port_is_refused_with_its_own_hint() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = command(&["--addr", "127.0.0.1:0", "--sip-addr", &addr, "--in-memory"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr} for the voice line")),
        "{stderr}"
    );
    assert!(stderr.contains("--no-sip"), "{stderr}");
}

#[tokio::test]
async fn the_phone_line_is_printed_and_answers_and_can_be_left_out() {
    let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory"]);
    let phone = started.phone.clone().expect("the phone line is printed");
    let stream = std::net::TcpStream::connect(&phone).unwrap();
    let mut greeting = String::new();
    BufReader::new(stream).read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("HELLO "), "{greeting}");
    let lines: serde_json::Value = reqwest::get(format!("{}/api/v1/phone-lines", started.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lines["line"], phone.as_str());
    terminate(&mut started.child);

    let mut without = start(&["--addr", "127.0.0.1:0", "--in-memory", "--no-phone"]);
    assert_eq!(without.phone, None);
    terminate(&mut without.child);
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

/// Issues key packs from `clients` concurrent clients until the server stops answering,
/// returning every key pack ID whose issuance was acknowledged.
async fn issue_until_killed(url: &str, server_id: &str, clients: usize, round: u32) -> Vec<String> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let url = format!("{url}/api/v1/key-packs");
        let body = serde_json::json!({
            "license_server_id": server_id,
            "license": {"program": "enterprise-agreement", "agreement_number": "99999999"},
            "cals": {"product_version": "2025", "license_type": "per-user", "quantity": 1},
        });
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut acked = Vec::new();
            for n in 0..100_000 {
                let sent = http
                    .post(&url)
                    .header("Idempotency-Key", format!("{round}-{client}-{n}"))
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != 201 {
                    break;
                }
                let Ok(answer) = response.json::<serde_json::Value>().await else {
                    break;
                };
                acked.push(answer["key_pack_id"].as_str().unwrap().to_owned());
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_the_process_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir,
        "--admin-token",
        "t",
    ];
    let mut started = start(&args);
    let http = reqwest::Client::new();
    let added = http
        .post(format!(
            "{}/admin/v1/tenants/default/purchases",
            started.url
        ))
        .bearer_auth("t")
        .json(&serde_json::json!({
            "license": {"program": "enterprise-agreement", "agreement_number": "99999999"},
            "cals": [{"product_version": "2025", "license_type": "per-user", "quantity": 10000000}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let activated: serde_json::Value = http
        .post(format!("{}/api/v1/activations", started.url))
        .json(&serde_json::json!({
            "product_id": "10974-31221-16202-49672-18729-77270-17360",
            "company": {"first_name": "A", "last_name": "B", "company": "C", "country_region": "US"},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let server_id = activated["license_server_id"].as_str().unwrap().to_owned();

    // Each round kills the server mid-load; a store that acknowledged before flushing
    // loses a few records in most rounds, so three rounds catch it.
    let mut acked: Vec<String> = Vec::new();
    for round in 0..3 {
        let load = tokio::spawn({
            let url = started.url.clone();
            let server_id = server_id.clone();
            async move { issue_until_killed(&url, &server_id, 16, round).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let killed = Command::new("kill")
            .args(["-KILL", &started.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let _ = started.child.wait();
        let this_round = load.await.unwrap();
        assert!(
            this_round.len() > 100,
            "only {} issued before the kill",
            this_round.len()
        );
        acked.extend(this_round);

        started = start(&args);
        let status: serde_json::Value = http
            .get(format!(
                "{}/api/v1/license-servers/{server_id}",
                started.url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored: std::collections::HashSet<&str> = status["key_packs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key_pack_id"].as_str().unwrap())
            .collect();
        let lost = acked
            .iter()
            .filter(|id| !stored.contains(id.as_str()))
            .count();
        assert_eq!(
            lost,
            0,
            "round {round}: {lost} of {} acknowledged key packs were lost",
            acked.len()
        );

        let audit: serde_json::Value = http
            .get(format!("{}/admin/v1/tenants/default/audit", started.url))
            .bearer_auth("t")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(audit["ok"], true, "{audit}");
        assert_eq!(audit["allocated"].as_u64().unwrap(), stored.len() as u64);
    }

    // Idempotency keys survived too: retrying the first request of the first round
    // replays its answer instead of issuing again.
    let retry = http
        .post(format!("{}/api/v1/key-packs", started.url))
        .header("Idempotency-Key", "0-0-0")
        .json(&serde_json::json!({
            "license_server_id": server_id,
            "license": {"program": "enterprise-agreement", "agreement_number": "99999999"},
            "cals": {"product_version": "2025", "license_type": "per-user", "quantity": 1},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: serde_json::Value = retry.json().await.unwrap();
    assert!(acked.contains(&replayed["key_pack_id"].as_str().unwrap().to_owned()));
    terminate(&mut started.child);
}

/// Runs a control subcommand against `started` and returns its stdout; fails on an error.
fn cli(started: &Started, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(args)
        .args(["--url", &started.url, "--admin-token", "t"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_cli_sets_lists_and_clears_the_faults_of_a_running_clearinghouse() {
    let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory", "--admin-token", "t"]);
    let catalog = format!("{}/api/v1/catalog", started.url);
    cli(&started, &["fault", "outage", "--seconds", "60"]);
    assert_eq!(reqwest::get(&catalog).await.unwrap().status(), 503);
    assert!(cli(&started, &["fault", "list"]).contains("\"outage\""));

    cli(&started, &["clock", "--advance", "61s"]);
    assert_eq!(reqwest::get(&catalog).await.unwrap().status(), 200);
    cli(&started, &["fault", "clear"]);
    assert!(!cli(&started, &["fault", "list"]).contains("outage"));

    let refused = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args([
            "clock",
            "--set",
            "soon",
            "--url",
            &started.url,
            "--admin-token",
            "t",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RFC 3339"));
    terminate(&mut started.child);
}

#[tokio::test]
async fn the_cli_carries_a_journal_and_a_snapshot_to_another_clearinghouse() {
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--in-memory",
        "--admin-token",
        "t",
        "--seed",
        "2024",
    ];
    let mut first = start(&args);
    let activation = serde_json::json!({
        "product_id": "10974-31221-16202-49672-18729-77270-17360",
        "company": {"first_name": "A", "last_name": "B", "company": "C", "country_region": "US"},
    });
    let activated = reqwest::Client::new()
        .post(format!("{}/api/v1/activations", first.url))
        .json(&activation)
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), 201);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(&journal, cli(&first, &["journal", "--jsonl"])).unwrap();
    let snapshot = dir.path().join("lab.snapshot.json");
    cli(&first, &["snapshot", "export", snapshot.to_str().unwrap()]);
    terminate(&mut first.child);

    let mut second = start(&args);
    let replayed = cli(&second, &["replay", journal.to_str().unwrap()]);
    assert!(replayed.contains("\"ids_reproduced\": 1"), "{replayed}");
    cli(
        &second,
        &[
            "snapshot",
            "import",
            snapshot.to_str().unwrap(),
            "--tenant",
            "seat-1",
        ],
    );
    assert!(cli(&second, &["audit", "--tenant", "seat-1"]).contains("audit ok"));
    terminate(&mut second.child);
}

/// Runs the command line with `args`: its exit code and what it printed and said.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = command(args)
        .env_remove("CLEARINGHOUSE_ADMIN_TOKEN")
        .env_remove("CLEARINGHOUSE_URL")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_subcommands_flags_go_before_the_subcommand_or_after_it() {
    let mut started = start(&["--addr", "127.0.0.1:0", "--in-memory", "--admin-token", "t"]);
    let url = started.url.clone();
    for args in [
        vec!["--url", &url, "--admin-token", "t", "audit"],
        vec!["audit", "--url", &url, "--admin-token", "t"],
        vec!["--url", &url, "audit", "--admin-token", "t"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("audit ok"), "{args:?}: {out}");
    }
    terminate(&mut started.child);
}

#[test]
fn a_flag_that_starts_a_clearinghouse_is_refused_beside_a_subcommand() {
    let (code, _, err) = run(&["--addr", "127.0.0.1:0", "audit"]);
    assert_eq!(code, 2);
    assert!(err.contains("--addr starts a clearinghouse"), "{err}");
}

#[test]
fn a_subcommand_without_a_token_says_how_to_give_it() {
    let (code, _, err) = run(&["audit", "--url", "http://127.0.0.1:9"]);
    assert_eq!(code, 2);
    assert!(err.contains("pass --admin-token"), "{err}");
}

#[tokio::test]
async fn a_request_http_cannot_read_is_logged_at_debug_level_not_as_an_error() {
    use std::io::{Read, Write};
    for (filter, shown) in [("info", false), ("info,clearinghouse::http=debug", true)] {
        let args = [
            "--addr",
            "127.0.0.1:0",
            "--in-memory",
            "--no-phone",
            "--log",
            filter,
        ];
        let mut started = start(&args);
        let addr = started.url.trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.write_all(b"GARBAGE\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 400"));
        terminate(&mut started.child);
        let mut log = String::new();
        started
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        assert!(!log.contains("ERROR"), "{filter}: {log}");
        let line = "DEBUG clearinghouse::http: a request HTTP could not read";
        assert_eq!(log.contains(line), shown, "{filter}: {log}");
    }
}

#[tokio::test]
async fn slow_bodies_by_the_thousand_neither_starve_health_and_the_phone_line_nor_stay() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SLOW: usize = 1_100;
    // This side holds one descriptor per connection too.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(
        limit >= 2 * SLOW as u64,
        "this test needs {} open files and the system allows {limit}: raise the hard limit (ulimit -Hn)",
        2 * SLOW
    );
    // Started as a shell with the common limit of 1,024 open files starts it.
    let mut started = start_command(command_in_shell(
        "ulimit -S -n 1024 && exec \"$0\" \"$@\"",
        &[
            "--addr",
            "127.0.0.1:0",
            "--in-memory",
            "--body-timeout",
            "6s",
        ],
    ));
    let addr = started.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // A body of 100 bytes promised, one sent.
        stream
            .write_all(b"POST /api/v1/activations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
            .await
            .unwrap();
        slow.push(stream);
    }
    // Well before the slow bodies' time is up, when they would free their descriptors.
    let soon = Duration::from_secs(2);
    let health = tokio::time::timeout(soon, reqwest::get(format!("{}/health", started.url)))
        .await
        .expect("/health answers while the slow bodies are open")
        .unwrap();
    assert_eq!(health.status(), 200);
    let phone = started.phone.clone().unwrap();
    let mut call = tokio::net::TcpStream::connect(&phone).await.unwrap();
    let mut hello = [0; 5];
    tokio::time::timeout(soon, call.read_exact(&mut hello))
        .await
        .expect("the phone line answers")
        .unwrap();
    assert_eq!(&hello, b"HELLO");
    // Each slow body is refused once its time is up, and its connection let go.
    let mut answers = tokio::task::JoinSet::new();
    for mut stream in slow {
        answers.spawn(async move {
            let mut answer = Vec::new();
            let read = stream.read_to_end(&mut answer);
            let _ = tokio::time::timeout(Duration::from_secs(20), read).await;
            String::from_utf8_lossy(&answer).into_owned()
        });
    }
    let mut timed_out = 0;
    while let Some(answer) = answers.join_next().await {
        let answer = answer.unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        timed_out += 1;
    }
    assert_eq!(timed_out, SLOW);
    assert!(
        terminate(&mut started.child).success(),
        "it was still running"
    );
}
