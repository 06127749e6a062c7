//! The `license-server` command line against a real clearinghouse: every flow by every
//! method from flags alone (the web and telephone ones in two runs, as a script does
//! them), the migration matrix with real daemons, and the telephone prompts in a real
//! terminal.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Lab, Run, ServerCli, license_server_bin};

const METHODS: [&str; 3] = ["automatic", "web", "telephone"];

/// Runs a flow by `method`. The web method fills in the clearinghouse's web site itself
/// (`--fill-forms`). For the telephone, the first run prints the handoff and stops (exit
/// 4); the lab answers it as the representative would, and the second run types the ID
/// in with `--id`.
async fn flow(lab: &Lab, cli: &ServerCli, method: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = vec!["--json"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--method", method]);
    if method == "web" {
        all.push("--fill-forms");
    }
    let first = cli.run(&all).await;
    if method != "telephone" {
        return first;
    }
    assert_eq!(first.code, 4, "{first:?}");
    let id = lab.answer_handoff(&first.json()).await;
    all.extend_from_slice(&["--id", &id]);
    cli.run(&all).await
}

fn status_of(run: &Run) -> Value {
    run.json()
}

async fn activated(lab: &Lab, name: &str, os: &str) -> ServerCli {
    let cli = lab.cli_install(name, os).await;
    cli.run(&["activate"]).await.ok();
    cli
}

fn license_server_id(status: &Value) -> String {
    status["activation"]["license_server_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const SELECT_40: &[&str] = &[
    "install-cals",
    "--program",
    "select",
    "--agreement-number",
    "4412903",
    "--product-version",
    "2019",
    "--license-type",
    "per-device",
    "--quantity",
    "40",
];

#[tokio::test]
async fn activation_installation_reactivation_and_deactivation_by_each_method() {
    let lab = Lab::new().await;
    for method in METHODS {
        let cli = lab.cli_install(&format!("LS-{method}"), "2022").await;
        let activated = flow(&lab, &cli, method, &["activate"]).await.ok().json();
        assert_eq!(activated["status"], "activated", "{method}");
        let first_id = activated["license_server_id"].as_str().unwrap().to_owned();

        let installed = flow(&lab, &cli, method, SELECT_40).await.ok().json();
        assert_eq!(installed["key_pack"]["installed"], 40, "{method}");

        let reactivated = flow(&lab, &cli, method, &["reactivate", "--reason", "upgraded"])
            .await
            .ok()
            .json();
        assert_ne!(
            reactivated["license_server_id"],
            first_id.as_str(),
            "{method}"
        );

        let deactivated = flow(&lab, &cli, method, &["deactivate"]).await.ok().json();
        assert_eq!(deactivated["status"], "deactivated", "{method}");

        let status = status_of(&cli.run(&["status", "--json"]).await.ok());
        assert_eq!(status["activation"]["status"], "deactivated", "{method}");
        assert_eq!(status["key_packs"].as_array().unwrap().len(), 1, "{method}");
    }
    let audit = lab.app.audit("default").await;
    assert!(audit.ok, "{:?}", audit.problems);
}

/// Every method x reason x reachability through the binary, with the source as a real
/// `serve` daemon when it is reachable.
#[tokio::test]
async fn every_method_reason_and_reachability_migrates_through_the_command_line() {
    for method in METHODS {
        for reason in ["source-replaced", "source-not-functioning"] {
            for reachable in [true, false] {
                let case = format!("{method} / {reason} / reachable {reachable}");
                let lab = Lab::new().await;
                let source = activated(&lab, "SOURCE", "2019").await;
                source.run(SELECT_40).await.ok();
                let source_id = license_server_id(&source.run(&["status", "--json"]).await.json());
                let target = activated(&lab, "TARGET", "2022").await;

                let daemon = if reachable {
                    Some(source.serve().await)
                } else {
                    None
                };
                let mut args = vec!["migrate-cals", "--reason", reason];
                match &daemon {
                    Some((_, addr)) => args.extend_from_slice(&["--source", addr]),
                    None => args.extend_from_slice(&[
                        "--source-unreachable",
                        "--source-id",
                        &source_id,
                        "--source-os",
                        "2019",
                    ]),
                }
                args.extend_from_slice(&SELECT_40[1..9]);
                args.extend_from_slice(&["--quantity", "25", "--confirm-manual-removal"]);
                let migrated = flow(&lab, &target, method, &args).await;
                assert_eq!(migrated.code, 0, "{case}: {migrated:?}");
                let migrated = migrated.json();

                let reminded = reason == "source-not-functioning" || !reachable;
                assert_eq!(migrated["reminder"].is_string(), reminded, "{case}");
                assert_eq!(migrated["key_pack"]["installed"], 25, "{case}");
                let source_status = source.run(&["status", "--json"]).await.json();
                let left: u64 = source_status["key_packs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["installed"].as_u64().unwrap() - k["removed"].as_u64().unwrap())
                    .sum();
                assert_eq!(left, if reminded { 40 } else { 15 }, "{case}");
                let audit = lab.app.audit("default").await;
                assert!(audit.ok, "{case}: {:?}", audit.problems);
                assert_eq!(lab.app.held(source_id.parse().unwrap()).await, 15, "{case}");
                if let Some((mut child, _)) = daemon {
                    child.kill().await.unwrap();
                }
            }
        }
    }
}

#[tokio::test]
async fn a_reminder_not_confirmed_stops_with_exit_4_and_changes_nothing() {
    let lab = Lab::new().await;
    let source = activated(&lab, "SOURCE", "2019").await;
    source.run(SELECT_40).await.ok();
    let source_id = license_server_id(&source.run(&["status", "--json"]).await.json());
    let target = activated(&lab, "TARGET", "2022").await;
    let mut args = vec![
        "migrate-cals",
        "--reason",
        "source-not-functioning",
        "--source-unreachable",
        "--source-id",
        &source_id,
        "--source-os",
        "2019",
    ];
    args.extend_from_slice(&SELECT_40[1..]);
    let stopped = target.run(&args).await;
    assert_eq!(stopped.code, 4, "{stopped:?}");
    assert!(stopped.stderr.contains("manually"), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("--confirm-manual-removal"),
        "{}",
        stopped.stderr
    );
    let status = target.run(&["status", "--json"]).await.json();
    assert!(status["key_packs"].as_array().unwrap().is_empty());
    assert_eq!(lab.app.held(source_id.parse().unwrap()).await, 40);
}

#[tokio::test]
async fn a_refusal_prints_one_line_with_the_clearinghouse_code_and_exits_1() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let mut args = SELECT_40.to_vec();
    args[4] = "4412904";
    let refused = cli.run(&args).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("4412904"), "{}", refused.stderr);
    let json = cli.run(&[&["--json"], &args[..]].concat()).await;
    let error: Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["code"], "unknown_agreement");
}

#[tokio::test]
async fn a_mistyped_key_pack_id_names_its_group_exits_2_and_installs_nothing() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let mut args: Vec<&str> = SELECT_40.to_vec();
    args.extend_from_slice(&["--method", "web", "--json"]);
    let handoff = cli.run(&args).await.json();
    let id = lab.answer_handoff(&handoff).await;
    // Two different neighbouring digits of one group swapped.
    let mut chars: Vec<char> = id.chars().collect();
    let at = (0..chars.len() - 1)
        .find(|&i| i % 6 < 4 && chars[i] != chars[i + 1])
        .unwrap();
    chars.swap(at, at + 1);
    let typo: String = chars.into_iter().collect();
    let group = format!("group {} of 7", at / 6 + 1);
    let args = [&args[..], &["--id", &typo]].concat();
    let refused = cli.run(&args).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains(&group), "{}", refused.stderr);
    let status = cli.run(&["status", "--json"]).await.json();
    assert!(status["key_packs"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn no_answer_from_the_clearinghouse_exits_3_and_says_a_rerun_is_safe() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    lab.app
        .set_fault(
            "default",
            serde_json::json!({"kind": "outage", "seconds": 600}),
        )
        .await;
    let args = [SELECT_40, &["--attempts", "2"]].concat();
    let failed = cli.run(&args).await;
    assert_eq!(failed.code, 3, "{failed:?}");
    assert!(failed.stderr.contains("again is safe"), "{}", failed.stderr);
}

/// The telephone method in a real terminal, as a person holds it: the terminal dials the
/// simulated line, the license server ID is read to the representative (a misheard group
/// asked again), the key pack ID is read back, and then typed group by group, a typo
/// caught the moment it is entered.
#[tokio::test]
async fn a_person_holds_the_telephone_call_and_types_the_key_pack_id() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let status = cli.run(&["status", "--json"]).await.json();
    let id = license_server_id(&status);
    let mut tmux = Tmux::start(&format!(
        "{} --state-dir {} install-cals --method telephone --program select --agreement-number 4412903 --product-version 2019 --license-type per-user --quantity 5",
        license_server_bin().display(),
        cli.state_dir.display()
    ));
    tmux.wait_for("Dial the simulated line now?").await;
    let screen = tmux.capture();
    assert!(screen.contains("+44 20 7946 0571"), "{screen}");
    tmux.key("Enter");

    let answer = |tmux: &mut Tmux, text: &str| tmux.send(text);
    tmux.wait_for("Which number did you dial?").await;
    answer(&mut tmux, "+44 20 7946 0571");
    tmux.wait_for("Which tenant").await;
    answer(&mut tmux, "");
    tmux.wait_for("What are you calling about?").await;
    answer(&mut tmux, "install client access licenses");
    for (i, group) in id.split('-').enumerate() {
        let asked = format!("License server ID, group {} of 7", i + 1);
        tmux.wait_for(&asked).await;
        if i == 2 {
            tmux.send(&misheard(group));
            tmux.wait_for("Sorry, group 3 of 7 has a typo").await;
            tmux.wait_for(&asked).await;
        }
        tmux.send(group);
    }
    for (question, text) in [
        ("License program?", "Select License"),
        ("First name?", "Ada"),
        ("Last name?", "Lovelace"),
        ("Company?", "Analytical Engines Ltd"),
        ("Country/region?", "GB"),
        (
            "Would you like to give the optional company information",
            "no",
        ),
    ] {
        tmux.wait_for(question).await;
        tmux.send(text);
    }
    for (question, text) in [
        ("Agreement number?", "4412903"),
        ("Product version?", "2019"),
        ("License type?", "Per User"),
        ("Quantity?", "5"),
        ("Shall I process this request now?", "yes"),
    ] {
        tmux.wait_for(question).await;
        tmux.send(text);
    }
    let mut groups = Vec::new();
    for i in 1..=7 {
        let line = tmux.wait_for(&format!("Representative: group {i}: ")).await;
        let group = line
            .split(": ")
            .nth(2)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_owned();
        groups.push(group);
        tmux.send("ok");
    }
    tmux.wait_for("The call has ended. Press Enter to go on.")
        .await;
    tmux.key("Enter");

    for (i, group) in groups.iter().enumerate() {
        tmux.wait_for(&format!("Group {} of 7", i + 1)).await;
        if i == 2 {
            tmux.send(&misheard(group));
            // Refused as typed: the prompt asks for the group again, empty.
            tmux.wait_for("group 3 of 7 has a typo").await;
        }
        tmux.send(group);
    }
    tmux.wait_for("CALs installed").await;
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(
        status["key_packs"][0]["key_pack_id"],
        groups.join("-").as_str()
    );
    assert_eq!(lab.app.held(id.parse().unwrap()).await, 5);
}

/// `group` with its first digit off by one, which a check digit always catches.
fn misheard(group: &str) -> String {
    group
        .char_indices()
        .map(|(at, c)| match (at, c.to_digit(10)) {
            (0, Some(d)) => char::from(b'0' + ((d + 1) % 10) as u8),
            _ => c,
        })
        .collect()
}

/// A tmux session of its own (its own server socket), killed when dropped.
struct Tmux {
    socket: String,
    /// How many times each text waited for has been seen, so that waiting for a text
    /// the screen shows again waits for its next showing.
    seen: std::collections::HashMap<String, usize>,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        // The shell stays a while after the command ends, so its last words can be read.
        let command = format!("{command}; sleep 60");
        let socket = format!("license-server-test-{}", std::process::id());
        let status = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "50",
                &command,
            ])
            .status()
            .expect("tmux is installed (CI installs it)");
        assert!(status.success());
        Tmux {
            socket,
            seen: std::collections::HashMap::new(),
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    /// Everything the terminal has shown, scrolled-off lines included.
    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-S", "-"]).stdout).into_owned()
    }

    /// Types `text` and Enter.
    fn send(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
        self.key("Enter");
    }

    /// Presses `key` (a tmux key name).
    fn key(&self, key: &str) {
        self.tmux(&["send-keys", key]);
    }

    /// Waits until the terminal shows `text` once more than it had when last waited for;
    /// the line it is on.
    async fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let seen = self.seen.get(text).copied().unwrap_or(0);
        loop {
            let screen = self.capture();
            if let Some(line) = screen.lines().filter(|l| l.contains(text)).nth(seen) {
                self.seen.insert(text.to_owned(), seen + 1);
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "waited 10 s for {text:?}; the terminal shows:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
