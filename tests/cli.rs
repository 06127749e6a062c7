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
            tmux.wait_for("group 3 of 7 has a typo: check its five digits against what the representative read out")
                .await;
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
        // A server of its own for each terminal, so that tests run side by side.
        static TERMINALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = TERMINALS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = format!("license-server-test-{}-{n}", std::process::id());
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

/// Select License 4400017's Windows Server 2008 Per Device CALs (30 of them).
const SELECT_2008: &[&str] = &[
    "--program",
    "select",
    "--agreement-number",
    "4400017",
    "--product-version",
    "2008",
    "--license-type",
    "per-device",
];

/// An activated Windows Server 2008 source holding 30 2008 Per Device CALs, as its daemon
/// serves it, and its license server ID.
async fn old_source(lab: &Lab) -> (ServerCli, String, tokio::process::Child, String) {
    let source = activated(lab, "OLD08", "2008").await;
    let install = [&["install-cals"], SELECT_2008, &["--quantity", "30"]].concat();
    source.run(&install).await.ok();
    let id = license_server_id(&source.run(&["status", "--json"]).await.json());
    let (daemon, addr) = source.serve().await;
    (source, id, daemon, addr)
}

#[tokio::test]
async fn a_source_older_than_2008_r2_keeps_its_cals_until_they_are_removed_by_hand() {
    let lab = Lab::new().await;
    let (source, source_id, mut daemon, addr) = old_source(&lab).await;
    let target = activated(&lab, "NEW", "2022").await;
    let migrate = [
        &[
            "migrate-cals",
            "--reason",
            "source-replaced",
            "--source",
            &addr,
        ],
        SELECT_2008,
        &["--quantity", "17", "--confirm-manual-removal"],
    ]
    .concat();
    let migrated = target.run(&migrate).await.ok();
    assert!(migrated.stdout.contains("manually"), "{migrated:?}");
    assert_eq!(lab.app.held(source_id.parse().unwrap()).await, 13);

    // The step skipped shows on the source: it holds 30, the Clearinghouse allocates 13.
    let status = source.run(&["status"]).await.ok();
    assert!(
        status.stdout.contains(
            "WARNING: this license server holds 30 Windows Server 2008 or Windows Server 2008 R2 - Installed TS or RDS Per Device CALs, but the Clearinghouse says 17 of them were migrated to another license server (13 still allocated here)"
        ),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("license-server remove-cals --key-pack 1 --count 17"),
        "{}",
        status.stdout
    );
    let json = source.run(&["status", "--json"]).await.json();
    let not_removed = &json["clearinghouse_check"]["not_removed"][0];
    assert_eq!(not_removed["holds"], 30);
    assert_eq!(not_removed["allocated"], 13);
    assert_eq!(not_removed["remove"], serde_json::json!([[1, 17]]));

    let removed = source
        .run(&["remove-cals", "--key-pack", "1", "--count", "17"])
        .await
        .ok();
    assert!(
        removed.stdout.contains("17 CALs removed from key pack 1"),
        "{}",
        removed.stdout
    );
    let status = source.run(&["status", "--json"]).await.json();
    assert_eq!(status["key_packs"][0]["removed_by_hand"], 17);
    assert_eq!(
        status["clearinghouse_check"]["not_removed"],
        serde_json::json!([])
    );
    let events = source
        .run(&["events", "--contains", "removed by hand"])
        .await
        .ok();
    assert_eq!(events.stdout.lines().count(), 1, "{}", events.stdout);
    daemon.kill().await.unwrap();
}

#[tokio::test]
async fn removing_more_cals_than_a_key_pack_holds_unissued_is_refused_and_removes_nothing() {
    let lab = Lab::new().await;
    let (source, _, mut daemon, _) = old_source(&lab).await;
    let refused = source
        .run(&["remove-cals", "--key-pack", "1", "--count", "31"])
        .await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(
            "key pack 1 has 30 CALs unissued, fewer than the 31 asked to remove: remove at most 30"
        ),
        "{}",
        refused.stderr
    );
    let unknown = source
        .run(&["remove-cals", "--key-pack", "7", "--all"])
        .await;
    assert_eq!(unknown.code, 2, "{unknown:?}");
    let status = source.run(&["status", "--json"]).await.json();
    assert!(status["key_packs"][0].get("removed_by_hand").is_none());
    daemon.kill().await.unwrap();
}

#[tokio::test]
async fn a_whole_key_pack_is_uninstalled_by_hand() {
    let lab = Lab::new().await;
    let (source, _, mut daemon, _) = old_source(&lab).await;
    let removed = source
        .run(&["remove-cals", "--key-pack", "1", "--all", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(removed["uninstalled"], true);
    assert_eq!(removed["removed"], 30);
    assert_eq!(
        removed["label"],
        "Windows Server 2008 or Windows Server 2008 R2 - Installed TS or RDS Per Device CALs"
    );
    let status = source.run(&["status", "--json"]).await.json();
    assert_eq!(status["key_packs"][0]["removed_by_hand"], 30);
    daemon.kill().await.unwrap();
}

/// What a license server running `os` shows by the telephone method, and the ID its
/// representative gives: a second license server to type IDs of onto another.
async fn by_telephone(lab: &Lab, name: &str) -> ServerCli {
    let cli = lab.cli_install(name, "2022").await;
    cli.run(&["set", "--method", "telephone"]).await.ok();
    cli
}

#[tokio::test]
async fn a_license_server_id_of_another_server_is_refused_offline() {
    let lab = Lab::new().await;
    let other = activated(&lab, "OTHER", "2022").await;
    let theirs = license_server_id(&other.run(&["status", "--json"]).await.json());
    let cli = by_telephone(&lab, "X5").await;
    let refused = cli.run(&["activate", "--id", &theirs]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("belongs to another license server: it was not issued for this one"),
        "{}",
        refused.stderr
    );
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(status["activation"]["status"], "not-activated");
}

#[tokio::test]
async fn a_reactivation_refuses_another_servers_id_and_the_current_one() {
    let lab = Lab::new().await;
    let other = activated(&lab, "OTHER", "2022").await;
    let theirs = license_server_id(&other.run(&["status", "--json"]).await.json());
    let cli = by_telephone(&lab, "X5").await;
    cli.run(&["activate", "--method", "automatic"]).await.ok();
    let mine = license_server_id(&cli.run(&["status", "--json"]).await.json());
    for (typed, says) in [
        (&theirs, "belongs to another license server"),
        (&mine, "a reactivation gives a new one"),
    ] {
        let refused = cli
            .run(&["reactivate", "--reason", "upgraded", "--id", typed])
            .await;
        assert_eq!(refused.code, 2, "{refused:?}");
        assert!(refused.stderr.contains(says), "{}", refused.stderr);
    }
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(license_server_id(&status), mine);
}

#[tokio::test]
async fn a_confirmation_code_of_another_server_is_refused_offline() {
    let lab = Lab::new().await;
    let other = activated(&lab, "OTHER", "2022").await;
    let code = other.run(&["deactivate", "--json"]).await.ok().json()["confirmation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let cli = by_telephone(&lab, "X5").await;
    cli.run(&["activate", "--method", "automatic"]).await.ok();
    let refused = cli.run(&["deactivate", "--id", &code]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("this confirmation code belongs to another license server"),
        "{}",
        refused.stderr
    );
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(status["activation"]["status"], "activated");
}

/// A request for SELECT_40 taken to the web site (the first run stops with exit 4), and
/// the key pack ID the site gave for it.
async fn carried_to_the_site(lab: &Lab, cli: &ServerCli) -> String {
    let first = [SELECT_40, &["--method", "web", "--json"]].concat();
    let handoff = cli.run(&first).await;
    assert_eq!(handoff.code, 4, "{handoff:?}");
    lab.answer_handoff(&handoff.json()).await
}

#[tokio::test]
async fn a_web_request_is_completed_with_the_key_pack_id_alone() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let id = carried_to_the_site(&lab, &cli).await;
    let installed = cli
        .run(&["install-cals", "--id", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(installed["key_pack"]["installed"], 40);
    assert_eq!(installed["key_pack"]["method"], "web");
    let status = cli.run(&["status", "--json"]).await.json();
    assert!(status.get("waiting").is_none(), "{status}");
}

#[tokio::test]
async fn a_telephone_migration_is_completed_with_the_key_pack_id_alone() {
    let lab = Lab::new().await;
    let source = activated(&lab, "SOURCE", "2019").await;
    source.run(SELECT_40).await.ok();
    let target = activated(&lab, "TARGET", "2022").await;
    let first = [
        &[
            "migrate-cals",
            "--method",
            "telephone",
            "--reason",
            "source-not-functioning",
            "--confirm-manual-removal",
            "--json",
        ],
        &SELECT_40[1..9],
        &["--quantity", "25"],
    ]
    .concat();
    let handoff = target.run(&first).await;
    assert_eq!(handoff.code, 4, "{handoff:?}");
    let id = lab.answer_handoff(&handoff.json()).await;
    let migrated = target
        .run(&["migrate-cals", "--id", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(migrated["key_pack"]["installed"], 25);
    assert!(migrated["reminder"].is_string(), "{migrated}");
}

#[tokio::test]
async fn flags_given_with_the_id_must_match_the_request_taken_to_the_site() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let id = carried_to_the_site(&lab, &cli).await;
    let refused = cli
        .run(&["install-cals", "--id", &id, "--quantity", "5"])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("--quantity 5 is not what the request taken to the web site or the representative said (40)"),
        "{}",
        refused.stderr
    );
    let nothing_waiting = activated(&lab, "OTHER", "2022").await;
    let refused = nothing_waiting
        .run(&["install-cals", "--id", &id, "--method", "web"])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("no request taken to the web site or a representative is waiting"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn a_retail_license_code_alone_installs_the_cals_it_is_for() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    for method in METHODS {
        let code = match method {
            "automatic" => "XYYB3-KGC8Y-7F84V-XGXKF-68W7X",
            "web" => "883PB-8RRWV-DT32X-FVY4X-TYMV3",
            _ => "FQYY6-FK442-V329X-3WKB4-DFPFW",
        };
        let args = [
            "install-cals",
            "--program",
            "retail",
            "--license-code",
            code,
        ];
        let installed = flow(&lab, &cli, method, &args).await.ok().json();
        let (version, kind, quantity) = match method {
            "automatic" => ("2022", "per-user", 20),
            "web" => ("2022", "per-device", 10),
            _ => ("2019", "per-device", 5),
        };
        let pack = &installed["key_pack"];
        assert_eq!(pack["product_version"], version, "{method}");
        assert_eq!(pack["license_type"], kind, "{method}");
        assert_eq!(pack["installed"], quantity, "{method}");
    }
}

#[tokio::test]
async fn a_source_no_longer_functioning_needs_no_details_and_is_reminded_of_once() {
    let lab = Lab::new().await;
    let source = activated(&lab, "SOURCE", "2019").await;
    source.run(SELECT_40).await.ok();
    let target = activated(&lab, "TARGET", "2022").await;
    let args = [
        &[
            "migrate-cals",
            "--reason",
            "source-not-functioning",
            "--confirm-manual-removal",
        ],
        &SELECT_40[1..9],
        &["--quantity", "25"],
    ]
    .concat();
    let migrated = target.run(&args).await.ok();
    let said = format!("{}{}", migrated.stdout, migrated.stderr);
    assert_eq!(said.matches("manually").count(), 1, "{said}");
    assert!(
        said.contains("25 Windows Server 2019 Per Device CALs"),
        "{said}"
    );
}

#[tokio::test]
async fn a_failed_migration_prints_only_the_refusal() {
    let lab = Lab::new().await;
    let target = activated(&lab, "TARGET", "2022").await;
    let mut args = vec![
        "migrate-cals",
        "--reason",
        "source-not-functioning",
        "--confirm-manual-removal",
    ];
    args.extend_from_slice(&SELECT_40[1..9]);
    args.extend_from_slice(&["--quantity", "25"]);
    let refused = target.run(&args).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(!refused.stderr.contains("manually"), "{}", refused.stderr);
}

#[tokio::test]
async fn the_reminder_names_the_source_by_the_name_its_daemon_gives() {
    let lab = Lab::new().await;
    let (_source, _, mut daemon, addr) = old_source(&lab).await;
    let target = activated(&lab, "NEW", "2022").await;
    let migrate = [
        &[
            "migrate-cals",
            "--reason",
            "source-replaced",
            "--source",
            &addr,
        ],
        SELECT_2008,
        &["--quantity", "5", "--confirm-manual-removal", "--json"],
    ]
    .concat();
    let migrated = target.run(&migrate).await.ok().json();
    let reminder = migrated["reminder"].as_str().unwrap();
    assert!(
        reminder.starts_with("You must remove the RDS CALs from the source license server OLD08 ("),
        "{reminder}"
    );
    assert!(!reminder.contains(&addr), "{reminder}");
    daemon.kill().await.unwrap();
}

#[tokio::test]
async fn a_windows_server_2003_license_server_installs_terminal_services_cals() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "TS2003", "2003").await;
    let install = [
        "install-cals",
        "--program",
        "select",
        "--agreement-number",
        "4400017",
        "--product-version",
        "2003",
        "--license-type",
        "per-device",
        "--quantity",
        "25",
    ];
    cli.run(&install).await.ok();
    let status = cli.run(&["status"]).await.ok();
    assert!(
        status
            .stdout
            .contains("Windows Server 2003 - Installed TS Per Device CALs"),
        "{}",
        status.stdout
    );
}

#[tokio::test]
async fn a_source_that_is_no_address_is_bad_input_not_no_answer() {
    let lab = Lab::new().await;
    let target = activated(&lab, "TARGET", "2022").await;
    let args = [
        &[
            "migrate-cals",
            "--reason",
            "source-replaced",
            "--source",
            "::::",
        ],
        &SELECT_40[1..],
    ]
    .concat();
    let refused = target.run(&args).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("is not a license server's address"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn a_state_directory_that_is_a_file_is_called_a_file() {
    let lab = Lab::new().await;
    let file = lab.dir.path().join("afile");
    std::fs::write(&file, "not a directory").unwrap();
    let cli = ServerCli { state_dir: file };
    let refused = cli.run(&["status"]).await;
    assert_eq!(refused.code, 5, "{refused:?}");
    assert!(
        refused.stderr.contains("is a file, not a directory"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn every_json_error_has_a_code_and_an_unconfirmed_reminder_is_in_it() {
    let lab = Lab::new().await;
    let missing = lab.cli("NOBODY").run(&["status", "--json"]).await;
    let error: Value = serde_json::from_str(missing.stderr.trim()).unwrap();
    assert_eq!(error["code"], "not_installed");

    let target = activated(&lab, "TARGET", "2022").await;
    let args = [
        &[
            "migrate-cals",
            "--reason",
            "source-not-functioning",
            "--json",
        ],
        &SELECT_40[1..],
    ]
    .concat();
    let stopped = target.run(&args).await;
    assert_eq!(stopped.code, 4, "{stopped:?}");
    let error: Value = serde_json::from_str(stopped.stderr.trim()).unwrap();
    assert_eq!(error["code"], "reminder_not_confirmed");
    assert_eq!(error["reminder"]["cause"], "not-functioning");
    assert!(
        error["reminder"]["text"]
            .as_str()
            .unwrap()
            .contains("manually")
    );
}

#[tokio::test]
async fn a_report_without_a_scope_names_every_scope() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2022").await;
    let refused = cli.run(&["report", "create"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    for scope in ["--domain", "--ou", "--all-trusted-domains"] {
        assert!(refused.stderr.contains(scope), "{}", refused.stderr);
    }
}

#[tokio::test]
async fn one_cal_is_said_in_the_singular() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let mut args = SELECT_40.to_vec();
    args[10] = "1";
    let installed = cli.run(&args).await.ok();
    assert!(
        installed
            .stdout
            .contains("holds 1 Windows Server 2019 Per Device CAL."),
        "{}",
        installed.stdout
    );
}

#[tokio::test]
async fn install_without_a_terminal_says_the_defaults_it_takes() {
    let lab = Lab::new().await;
    let cli = lab.cli("LS");
    let installed = cli
        .run(&[
            "install",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--company",
            "Engines",
            "--country",
            "GB",
            "--city",
            "London",
            "--postal-code",
            "N1 9GU",
        ])
        .await
        .ok();
    for default in [
        "Computer name LS01 (--name)",
        "Operating system Windows Server 2022 (--os 2022)",
        "Connection method Automatic connection (--method automatic)",
        "Clearinghouse URL http://127.0.0.1:8780 (--clearinghouse)",
    ] {
        assert!(installed.stderr.contains(default), "{}", installed.stderr);
    }
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(status["identity"]["company"]["city"], "London");
    assert_eq!(status["identity"]["company"]["postal_code"], "N1 9GU");
}

#[tokio::test]
async fn set_changes_the_company_information_as_the_properties_dialog_does() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2022").await;
    cli.run(&[
        "set",
        "--company",
        "Difference Engines",
        "--email",
        "ada@example.org",
    ])
    .await
    .ok();
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(
        status["identity"]["company"]["company"],
        "Difference Engines"
    );
    assert_eq!(status["identity"]["company"]["email"], "ada@example.org");
    let refused = cli.run(&["set", "--email", "not an address"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    let status = cli.run(&["status", "--json"]).await.json();
    assert_eq!(status["identity"]["company"]["email"], "ada@example.org");
}

#[tokio::test]
async fn a_clearinghouse_not_where_the_server_points_says_how_to_point_it_elsewhere() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2022").await;
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    cli.run(&["set", "--clearinghouse", &nowhere]).await.ok();
    let failed = cli.run(&["activate", "--attempts", "1"]).await;
    assert_eq!(failed.code, 3, "{failed:?}");
    assert!(
        failed
            .stderr
            .contains("license-server set --clearinghouse URL"),
        "{}",
        failed.stderr
    );
}

#[tokio::test]
async fn the_telephone_handoff_names_the_tenant_and_where_the_line_answers() {
    let lab = Lab::new().await;
    let cli = by_telephone(&lab, "LS").await;
    let handoff = cli.run(&["activate"]).await;
    assert_eq!(handoff.code, 4, "{handoff:?}");
    let line = lab.app.server.phone_addr().unwrap().to_string();
    assert!(
        handoff.stderr.contains(&format!("answers at {line}")),
        "{}",
        handoff.stderr
    );
    assert!(
        handoff.stderr.contains("Tenant: the default one"),
        "{}",
        handoff.stderr
    );
    assert!(
        handoff
            .stderr
            .contains("Purpose of the call: \"Activate a license server\""),
        "{}",
        handoff.stderr
    );
}

#[tokio::test]
async fn install_on_a_terminal_asks_for_each_default() {
    let lab = Lab::new().await;
    let dir = lab.state_dir("LS");
    let mut tmux = Tmux::start(&format!(
        "{} --state-dir {} install --first-name Ada --last-name Lovelace --company Engines --country GB",
        license_server_bin().display(),
        dir.display()
    ));
    tmux.wait_for("Computer name [LS01]").await;
    tmux.send("LS07");
    tmux.wait_for("Operating system").await;
    tmux.key("Enter");
    tmux.wait_for("Connection method").await;
    tmux.key("Enter");
    tmux.wait_for("Clearinghouse URL [http://127.0.0.1:8780]")
        .await;
    tmux.send(&lab.app.server.url());
    tmux.wait_for("License server LS07 (Windows Server 2022)")
        .await;
    let status = ServerCli { state_dir: dir }
        .run(&["status", "--json"])
        .await
        .json();
    assert_eq!(
        status["identity"]["clearinghouse"]["url"],
        lab.app.server.url()
    );
}

#[tokio::test]
async fn on_a_terminal_the_reminder_comes_right_after_the_source_before_the_cals() {
    let lab = Lab::new().await;
    let (_source, _, mut daemon, addr) = old_source(&lab).await;
    let target = activated(&lab, "NEW", "2022").await;
    let mut tmux = Tmux::start(&format!(
        "{} --state-dir {} migrate-cals",
        license_server_bin().display(),
        target.state_dir.display()
    ));
    tmux.wait_for("Reason for migrating the CALs").await;
    tmux.key("Enter");
    tmux.wait_for("Source license server name or address").await;
    tmux.send(&addr);
    tmux.wait_for("Do you understand and want to go on?").await;
    let screen = tmux.capture();
    assert!(screen.contains("source license server OLD08"), "{screen}");
    assert!(!screen.contains("License program"), "{screen}");
    tmux.send("n");
    tmux.wait_for("The reminder was not confirmed").await;
    daemon.kill().await.unwrap();
}

#[tokio::test]
async fn a_migration_completed_with_the_id_does_not_read_its_source_again() {
    let lab = Lab::new().await;
    let (_source, source_id, mut daemon, addr) = old_source(&lab).await;
    let target = activated(&lab, "NEW", "2022").await;
    let first = [
        &[
            "migrate-cals",
            "--method",
            "web",
            "--reason",
            "source-replaced",
            "--source",
            &addr,
            "--confirm-manual-removal",
            "--json",
        ],
        SELECT_2008,
        &["--quantity", "17"],
    ]
    .concat();
    let handoff = target.run(&first).await;
    assert_eq!(handoff.code, 4, "{handoff:?}");
    let id = lab.answer_handoff(&handoff.json()).await;
    // The source is off the network by the time the key pack ID comes back.
    daemon.kill().await.unwrap();
    let migrated = target
        .run(&["migrate-cals", "--id", &id, "--json"])
        .await
        .ok()
        .json();
    assert_eq!(migrated["key_pack"]["installed"], 17);
    let reminder = migrated["reminder"].as_str().unwrap();
    assert!(reminder.contains("OLD08"), "{reminder}");
    assert_eq!(lab.app.held(source_id.parse().unwrap()).await, 13);
}

#[tokio::test]
async fn an_id_with_the_automatic_method_is_refused() {
    let lab = Lab::new().await;
    let cli = activated(&lab, "LS", "2022").await;
    let id = carried_to_the_site(&lab, &cli).await;
    let refused = cli
        .run(&["install-cals", "--id", &id, "--method", "automatic"])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("--method web or --method telephone"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        lab.app
            .held(
                license_server_id(&cli.run(&["status", "--json"]).await.json())
                    .parse()
                    .unwrap()
            )
            .await,
        40,
        "one key pack: the one the site issued"
    );
}

#[tokio::test]
async fn source_flags_given_with_the_id_must_match_the_request_taken_to_the_site() {
    let lab = Lab::new().await;
    let source = activated(&lab, "SOURCE", "2019").await;
    source.run(SELECT_40).await.ok();
    let source_id = license_server_id(&source.run(&["status", "--json"]).await.json());
    let target = activated(&lab, "TARGET", "2022").await;
    let first = [
        &[
            "migrate-cals",
            "--method",
            "web",
            "--reason",
            "source-replaced",
            "--source-unreachable",
            "--source-id",
            &source_id,
            "--source-os",
            "2019",
            "--confirm-manual-removal",
            "--json",
        ],
        &SELECT_40[1..9],
        &["--quantity", "25"],
    ]
    .concat();
    let id = lab.answer_handoff(&target.run(&first).await.json()).await;
    let refused = target
        .run(&["migrate-cals", "--id", &id, "--source-os", "2016"])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("--source-os 2016 is not what"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn one_day_left_of_the_grace_period_is_said_in_the_singular() {
    let lab = Lab::new().await;
    let host = lab.dir.path().join("RDSH").display().to_string();
    let cli = lab.cli("unused");
    let with_host = |args: &[&'static str]| -> Vec<String> {
        let mut all = vec![
            "session-host".to_owned(),
            "--host-dir".to_owned(),
            host.clone(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        all
    };
    for args in [&["install"][..], &["clock", "--advance", "119days"]] {
        let all = with_host(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        cli.run(&all).await.ok();
    }
    let all = with_host(&["connect", "--client", "PC-01"]);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let connected = cli.run(&all).await.ok();
    assert!(
        connected
            .stdout
            .contains("Connected on the grace period (1 day left)."),
        "{connected:?}"
    );
}
