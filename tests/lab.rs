//! The training lab: every shipped scenario stood up, solved by the scripted student and
//! graded; solved the wrong ways and graded fail on the right check; a class of seats
//! graded, reset and graded again; grades that outlive a clearinghouse restart; seats kept
//! apart by their tokens. (The `lab` command itself is tested beside it, in
//! `lab/tests/cli.rs`.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clearinghouse::config::{Config, Storage};
use clearinghouse::server::RunningServer;
use lab::scenario::Step;
use lab::{Host, UpOptions, grade, host, student};
use shared::vocab::ConnectionMethod;
use shared::wire::SeatGrade;

use crate::helpers::{Caller, ServerCli, UK_NUMBER};

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/labs")
        .join(format!("{name}.toml"))
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn options(name: &str, seats: u32, dir: &Path) -> UpOptions {
    UpOptions {
        scenario: scenario(name),
        seats,
        dir: dir.to_owned(),
        name: None,
        clearinghouse: None,
        addr: loopback(),
        phone_addr: loopback(),
        sip_addr: None,
        seed: 7,
        seat_tokens: false,
    }
}

/// A class of `seats` on scenario `name`, on a clearinghouse the lab starts itself.
async fn class(name: &str, seats: u32) -> (Host, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::up(options(name, seats, dir.path()), std::process::id())
        .await
        .unwrap_or_else(|e| panic!("class {name} stands up: {e}"));
    (host, dir)
}

async fn grade_of(host: &Host, seat: u32) -> SeatGrade {
    grade::grade(&host.class, Some(seat))
        .await
        .unwrap()
        .remove(0)
}

fn passes(grade: &SeatGrade) -> bool {
    grade.checks.iter().all(|c| c.passed)
}

/// The check that failed, with what it says is missing.
fn failed(grade: &SeatGrade) -> Vec<(String, String)> {
    grade
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| (c.check.clone(), c.missing.clone().unwrap_or_default()))
        .collect()
}

async fn solve(host: &Host, seat: u32, steps: &[Step]) {
    let record = host.class.file.seat(seat).unwrap();
    student::play(&host.class, record, steps)
        .await
        .unwrap_or_else(|e| panic!("the steps play: {e}"));
}

/// Stands `name` up with one seat, checks the seat fails before and passes after the
/// reference solution.
async fn solved_right(name: &str) {
    let (host, _dir) = class(name, 1).await;
    let before = grade_of(&host, 1).await;
    assert!(
        !passes(&before),
        "{name}: a fresh seat passes already: {before:?}"
    );
    solve(&host, 1, &host.class.scenario.solution.clone()).await;
    let after = grade_of(&host, 1).await;
    assert!(passes(&after), "{name}: {:?}", failed(&after));
    host.stop().await.unwrap();
}

#[tokio::test]
async fn the_automatic_migration_scenario_is_solved_and_passes() {
    solved_right("migrate-automatic").await;
}

#[tokio::test]
async fn the_web_browser_migration_scenario_is_solved_and_passes() {
    solved_right("migrate-web-browser").await;
}

#[tokio::test]
async fn the_telephone_migration_scenario_is_solved_and_passes() {
    solved_right("migrate-telephone").await;
}

#[tokio::test]
async fn the_source_not_functioning_scenario_is_solved_and_passes() {
    solved_right("source-not-functioning").await;
}

#[tokio::test]
async fn the_pre_2008_r2_source_scenario_is_solved_and_passes() {
    solved_right("source-older-than-2008-r2").await;
}

#[tokio::test]
async fn the_unreachable_source_scenario_is_solved_and_passes() {
    solved_right("unreachable-source").await;
}

#[tokio::test]
async fn the_restore_and_recovery_by_telephone_scenario_is_solved_and_passes() {
    solved_right("restore-new-installation").await;
}

#[tokio::test]
async fn the_grace_period_scenario_is_solved_and_passes() {
    solved_right("grace-period-per-user").await;
}

#[tokio::test]
async fn the_usage_report_scenario_is_solved_and_passes() {
    solved_right("usage-report").await;
}

#[tokio::test]
async fn the_outage_scenario_is_solved_and_passes() {
    solved_right("clearinghouse-outage").await;
}

#[test]
fn every_shipped_scenario_has_a_test_that_solves_it() {
    let source = include_str!("lab.rs");
    for entry in std::fs::read_dir(scenario("x").parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                source.contains(&format!("solved_right(\"{name}\")")),
                "fixtures/labs/{name}.toml is solved by no test"
            );
        }
    }
}

/// The reference solution with every step's method replaced by `method`.
fn by_method(steps: &[Step], method: ConnectionMethod) -> Vec<Step> {
    steps
        .iter()
        .cloned()
        .map(|step| match step {
            Step::Activate { server, .. } => Step::Activate { server, method },
            Step::MigrateCals {
                server,
                from,
                reason,
                cals,
                ..
            } => Step::MigrateCals {
                server,
                from,
                reason,
                method,
                cals,
            },
            other => other,
        })
        .collect()
}

#[tokio::test]
async fn the_wrong_method_fails_the_method_check() {
    let (host, _dir) = class("migrate-telephone", 1).await;
    let steps = by_method(&host.class.scenario.solution, ConnectionMethod::Automatic);
    solve(&host, 1, &steps).await;
    let grade = grade_of(&host, 1).await;
    let failed = failed(&grade);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].0.contains("by the telephone method"),
        "{failed:?}"
    );
    assert!(
        failed[0]
            .1
            .contains("came by the automatic method, not the telephone method"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn skipping_the_manual_removal_fails_with_the_reminders_words() {
    let (host, _dir) = class("source-older-than-2008-r2", 1).await;
    let steps: Vec<Step> = host
        .class
        .scenario
        .solution
        .iter()
        .filter(|s| !matches!(s, Step::RemoveCals { .. }))
        .cloned()
        .collect();
    solve(&host, 1, &steps).await;
    let failed = failed(&grade_of(&host, 1).await);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].1.starts_with(
            "the CALs are still on the source: remove them by hand, as the reminder said"
        ),
        "{failed:?}"
    );
    assert!(failed[0].1.contains("30 of"), "{failed:?}");
}

#[tokio::test]
async fn cals_left_on_an_unreachable_source_fail_the_source_check() {
    let (host, _dir) = class("unreachable-source", 1).await;
    let steps: Vec<Step> = host.class.scenario.solution[..2].to_vec();
    solve(&host, 1, &steps).await;
    let failed = failed(&grade_of(&host, 1).await);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].0.contains("LS-OLD no longer holds"), "{failed:?}");
}

#[tokio::test]
async fn migrating_in_two_goes_fails_the_one_migration_check() {
    let (host, _dir) = class("migrate-automatic", 1).await;
    let mut steps = Vec::new();
    for step in &host.class.scenario.solution {
        match step {
            Step::MigrateCals {
                server,
                from,
                reason,
                method,
                cals,
            } => {
                let half = lab::scenario::Cals {
                    quantity: cals.quantity / 2,
                    ..*cals
                };
                for _ in 0..2 {
                    steps.push(Step::MigrateCals {
                        server: server.clone(),
                        from: from.clone(),
                        reason: *reason,
                        method: *method,
                        cals: half,
                    });
                }
            }
            other => steps.push(other.clone()),
        }
    }
    solve(&host, 1, &steps).await;
    let failed = failed(&grade_of(&host, 1).await);
    // The CALs are all there, in one key pack too many.
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed[0].1.contains("in 2 key packs, not 1"), "{failed:?}");
    assert!(
        failed[1].1.contains("LS-NEW holds 2 key packs"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn an_extra_key_pack_fails_the_key_packs_check() {
    let (host, _dir) = class("migrate-automatic", 1).await;
    let mut steps = host.class.scenario.solution.clone();
    let Step::MigrateCals { cals, .. } = &steps[1] else {
        panic!("the second step migrates: {steps:?}");
    };
    steps.push(Step::InstallCals {
        server: "LS-NEW".into(),
        method: ConnectionMethod::Automatic,
        cals: lab::scenario::Cals {
            license_type: shared::vocab::LicenseType::PerUser,
            quantity: 5,
            ..*cals
        },
    });
    solve(&host, 1, &steps).await;
    let failed = failed(&grade_of(&host, 1).await);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].1.contains("LS-NEW holds 2 key packs, not 1"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn migrating_the_same_cals_twice_is_refused_and_the_seat_still_passes() {
    let (host, _dir) = class("migrate-automatic", 1).await;
    let solution = host.class.scenario.solution.clone();
    solve(&host, 1, &solution).await;
    let again = student::play(
        &host.class,
        host.class.file.seat(1).unwrap(),
        &solution[1..2],
    )
    .await
    .unwrap_err();
    let again = again.to_string();
    assert!(again.contains("step 1"), "{again}");
    assert!(
        again.contains("the Clearinghouse refused the request: these CALs were already migrated"),
        "{again}"
    );
    assert!(passes(&grade_of(&host, 1).await));
}

#[tokio::test]
async fn a_class_of_five_is_graded_and_one_seat_reset_alone() {
    let (host, _dir) = class("migrate-automatic", 5).await;
    let solution = host.class.scenario.solution.clone();
    solve(&host, 2, &solution).await;
    solve(&host, 3, &solution).await;
    let grades = grade::grade(&host.class, None).await.unwrap();
    let passed: Vec<bool> = grades.iter().map(passes).collect();
    assert_eq!(passed, [false, true, true, false, false]);
    // The tenants are the class's, one per seat.
    let tenants: Vec<&str> = grades.iter().map(|g| g.tenant.as_str()).collect();
    assert_eq!(tenants[4], "migrate-automatic-05");

    host::reset(&host.class, Some(2)).await.unwrap();
    let grades = grade::grade(&host.class, None).await.unwrap();
    let passed: Vec<bool> = grades.iter().map(passes).collect();
    assert_eq!(passed, [false, false, true, false, false]);
    // The reset seat plays the scenario again from its start, with the same IDs.
    solve(&host, 2, &solution).await;
    assert!(passes(&grade_of(&host, 2).await));
    let hint = grade::hint(&grade_of(&host, 1).await).unwrap();
    assert!(hint.starts_with("LS-NEW is not activated yet"), "{hint}");
    host.stop().await.unwrap();
}

#[tokio::test]
async fn more_seats_than_one_address_may_call_from_call_at_once_on_the_labs_own_clearinghouse() {
    // The phone line holds one address to 16 calls; a class on one machine calls from one.
    let (host, _dir) = class("migrate-telephone", 17).await;
    let solution = host.class.scenario.solution.clone();
    let plays = host
        .class
        .file
        .seats
        .iter()
        .map(|seat| student::play(&host.class, seat, &solution));
    for played in futures_util::future::join_all(plays).await {
        played.unwrap();
    }
    let grades = grade::grade(&host.class, None).await.unwrap();
    assert!(grades.iter().all(passes));
    host.stop().await.unwrap();
}

#[tokio::test]
async fn grades_and_the_history_outlive_a_clearinghouse_restart() {
    let store = tempfile::tempdir().unwrap();
    let config = || Config {
        storage: Storage::Directory(store.path().to_owned()),
        ..Config::ephemeral()
    };
    let first = RunningServer::start(config()).await.unwrap();
    let (addr, token) = (first.addr(), first.admin_token().to_owned());
    let dir = tempfile::tempdir().unwrap();
    let mut up = options("migrate-telephone", 1, dir.path());
    up.clearinghouse = Some((first.url(), token.clone()));
    let host = Host::up(up, std::process::id()).await.unwrap();
    let solution = host.class.scenario.solution.clone();
    solve(&host, 1, &solution).await;
    assert!(passes(&grade_of(&host, 1).await));

    first.shutdown().await;
    let second = RunningServer::start(Config {
        addr,
        admin_token: Some(token),
        ..config()
    })
    .await
    .unwrap();
    let grade = grade_of(&host, 1).await;
    assert!(passes(&grade), "{:?}", failed(&grade));
    let history = host
        .class
        .admin
        .history("migrate-telephone-01")
        .await
        .unwrap();
    let methods: Vec<(String, ConnectionMethod)> = history
        .entries
        .iter()
        .map(|e| (e.action.describe().to_owned(), e.connection_method))
        .collect();
    // Set up by the automatic method; then the student's, by telephone.
    assert!(
        methods.ends_with(&[
            (
                "License server activated".to_owned(),
                ConnectionMethod::Telephone
            ),
            ("CALs migrated".to_owned(), ConnectionMethod::Telephone),
            (
                "License server deactivated".to_owned(),
                ConnectionMethod::Automatic
            ),
        ]),
        "{methods:?}"
    );
    host.stop().await.unwrap();
    second.shutdown().await;
}

#[tokio::test]
async fn a_second_class_in_the_same_directory_is_refused_while_the_first_is_up() {
    let (host, dir) = class("clearinghouse-outage", 1).await;
    let again = Host::up(
        options("clearinghouse-outage", 1, dir.path()),
        std::process::id(),
    )
    .await
    .err()
    .unwrap();
    assert!(again.to_string().contains("a class is up in"), "{again}");
    host.stop().await.unwrap();
}

/// A class of two seats that keeps its seats apart with seat tokens.
async fn class_with_tokens(name: &str) -> (Host, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut up = options(name, 2, dir.path());
    up.seat_tokens = true;
    let host = Host::up(up, std::process::id()).await.unwrap();
    (host, dir)
}

#[tokio::test]
async fn a_seat_with_a_token_is_solved_through_the_web_site_and_the_api() {
    let (host, _dir) = class_with_tokens("migrate-web-browser").await;
    let token = host.class.file.seat(1).unwrap().seat_token.clone().unwrap();
    assert_eq!(token.len(), 8);
    solve(&host, 1, &host.class.scenario.solution.clone()).await;
    let grade = grade_of(&host, 1).await;
    assert!(passes(&grade), "{:?}", failed(&grade));
}

#[tokio::test]
async fn a_seat_with_a_token_is_solved_by_telephone() {
    let (host, _dir) = class_with_tokens("migrate-telephone").await;
    solve(&host, 1, &host.class.scenario.solution.clone()).await;
    let grade = grade_of(&host, 1).await;
    assert!(passes(&grade), "{:?}", failed(&grade));
}

#[tokio::test]
async fn the_api_refuses_a_seat_without_its_own_token() {
    let (host, _dir) = class_with_tokens("migrate-automatic").await;
    let first = host.class.file.seat(1).unwrap().seat_token.clone().unwrap();
    let second = host.class.file.seat(2).unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/activations", host.url());
    let body = serde_json::json!({});
    for token in [None, Some(first.as_str())] {
        let mut request = http
            .post(&url)
            .header(shared::wire::TENANT_HEADER, &second.tenant)
            .json(&body);
        if let Some(token) = token {
            request = request.header(shared::wire::SEAT_TOKEN_HEADER, token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);
        let problem: shared::wire::Problem = response.json().await.unwrap();
        assert_eq!(problem.code, shared::wire::ErrorCode::SeatTokenRequired);
        assert!(
            problem.detail.contains(&second.tenant),
            "{}",
            problem.detail
        );
    }
    // Nothing reached the seat's ledger or journal.
    let history = host.class.admin.history(&second.tenant).await.unwrap();
    assert_eq!(history.entries.len(), second.setup_changes as usize);
}

/// The `name=value` of the cookie `response` sets.
fn cookie_set_by(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_web_site_asks_a_seats_token_and_refuses_another() {
    let (host, _dir) = class_with_tokens("migrate-web-browser").await;
    let first = host.class.file.seat(1).unwrap().seat_token.clone().unwrap();
    let second = host.class.file.seat(2).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{}/?tenant={}", host.url(), second.tenant))
        .send()
        .await
        .unwrap();
    let cookie = cookie_set_by(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Seat sign-in"), "{html}");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let refused = http
        .post(format!("{}/seat?tenant={}", host.url(), second.tenant))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str()), ("token", first.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let refusal = refused.text().await.unwrap();
    assert!(refusal.contains("not this seat"), "{refusal}");
    let own = second.seat_token.clone().unwrap();
    let signed = http
        .post(format!("{}/seat?tenant={}", host.url(), second.tenant))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str()), ("token", own.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), reqwest::StatusCode::SEE_OTHER);
    let pass = cookie_set_by(&signed);
    let home = http
        .get(format!("{}/?tenant={}", host.url(), second.tenant))
        .header(reqwest::header::COOKIE, format!("{cookie}; {pass}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("Seat sign-in"), "{home}");
    // The pass is for this seat: the other seat still asks.
    let other = http
        .get(format!(
            "{}/?tenant={}",
            host.url(),
            host.class.file.seat(1).unwrap().tenant
        ))
        .header(reqwest::header::COOKIE, format!("{cookie}; {pass}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(other.contains("Seat sign-in"), "{other}");
}

#[tokio::test]
async fn the_phone_line_asks_a_seats_pin_and_refuses_another() {
    let (host, _dir) = class_with_tokens("migrate-telephone").await;
    let first = host.class.file.seat(1).unwrap().seat_token.clone().unwrap();
    let second = host.class.file.seat(2).unwrap();
    let line = host.class.file.phone_line.clone().unwrap();
    let mut caller = Caller::dial_at(&line).await;
    caller.answer("ASK number", UK_NUMBER).await;
    caller.answer("ASK tenant", &second.tenant).await;
    caller.answer("ASK seat_pin", &first).await;
    let sorry = caller.until("SORRY").await;
    assert!(sorry.starts_with("SORRY seat_pin"), "{sorry}");
    caller
        .answer("ASK seat_pin", second.seat_token.as_deref().unwrap())
        .await;
    caller.until("ASK purpose").await;
}

#[tokio::test]
async fn a_trainees_own_license_server_reaches_its_seat_with_the_seat_token() {
    let (host, dir) = class_with_tokens("clearinghouse-outage").await;
    let seat = host.class.file.seat(2).unwrap();
    let token = seat.seat_token.clone().unwrap();
    let cli = ServerCli {
        state_dir: dir.path().join("laptop"),
    };
    let installed = cli
        .run(&[
            "install",
            "--name",
            "LAPTOP-LS",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--company",
            "Contoso",
            "--country",
            "GB",
            "--clearinghouse",
            host.url(),
            "--tenant",
            &seat.tenant,
            "--seat-token",
            "12345678",
        ])
        .await;
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    // A wrong token: the seat refuses it, and says what to do.
    let refused = cli.run(&["activate", "--method", "automatic"]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is a class's seat"),
        "{}",
        refused.stderr
    );
    let set = cli.run(&["set", "--seat-token", &token]).await;
    assert_eq!(set.code, 0, "{}", set.stderr);
    let activated = cli
        .run(&["activate", "--method", "web", "--fill-forms"])
        .await;
    assert_eq!(activated.code, 0, "{}", activated.stderr);
    let history = host.class.admin.history(&seat.tenant).await.unwrap();
    let last = history.entries.last().unwrap();
    assert_eq!(last.connection_method, ConnectionMethod::WebBrowser);
}
