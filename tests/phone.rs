//! The telephone method: the clearinghouse's phone line and its simulated representative,
//! talked to as a person with `nc` would (line by line) and held by the library; and the
//! same requests through the API, the web site and the phone line leaving the same ledger.

use std::time::Duration;

use clearinghouse::Config;
use clearinghouse::phone::PhoneSettings;
use licensing_client::methods::telephone::CallHolder;
use licensing_client::methods::web::FormFiller;
use licensing_client::{LicenseServer, Migration, Operator, Source};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde_json::Value;
use shared::id::LicenseServerId;
use shared::vocab::{
    ConnectionMethod, LicenseType, MigrationReason, ProductVersion, WindowsServer,
};
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

/// A clearinghouse whose phone line answers with `settings`.
async fn app_with_phone(settings: PhoneSettings) -> TestApp {
    TestApp::from(
        spawn_with(Config {
            phone: settings,
            ..Config::ephemeral()
        })
        .await,
    )
}

/// Gets an install-CALs call to the question of the quantity.
async fn install_up_to_quantity(caller: &mut Caller, server: LicenseServerId) {
    install_from(caller, server, "4412903").await;
}

/// Gets an install-CALs call for CALs of `agreement` to the question of the quantity.
async fn install_from(caller: &mut Caller, server: LicenseServerId, agreement: &str) {
    caller
        .give_id("license_server_id", &server.to_string())
        .await;
    caller.answer("ASK program", "select").await;
    caller.answer("ASK first_name", "Ada").await;
    caller.answer("ASK last_name", "Lovelace").await;
    caller.answer("ASK company", "Analytical Engines Ltd").await;
    caller.answer("ASK country_region", "United Kingdom").await;
    caller.skip_until("ASK agreement_number").await;
    caller.say(agreement).await;
    caller.answer("ASK product_version", "2019").await;
    caller.answer("ASK license_type", "per-device").await;
}

#[tokio::test]
async fn every_line_the_representative_says_starts_with_a_tag() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "5").await;
    caller.answer("ASK confirm", "yes").await;
    caller.take_id().await;
    caller.rest_of_the_call().await;
    const TAGS: [&str; 8] = [
        "HELLO", "SAY", "ASK", "HEARD", "SORRY", "READ", "DONE", "BYE",
    ];
    for line in caller.heard.iter().filter(|l| !l.starts_with("> ")) {
        let tag = line.split(' ').next().unwrap();
        assert!(TAGS.contains(&tag), "untagged line {line:?}");
    }
    assert!(caller.heard.last().unwrap().starts_with("BYE done"));
}

#[tokio::test]
async fn a_cal_installation_by_phone_issues_the_key_pack_read_out() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "2").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "12").await;
    caller.answer("ASK confirm", "yes").await;
    let key_pack = caller.take_id().await;

    let status = app.status(server).await;
    assert_eq!(status["key_packs"][0]["key_pack_id"], Value::from(key_pack));
    assert_eq!(app.held(server).await, 12);
    assert!(app.audit("default").await.ok);
}

#[tokio::test]
async fn cals_lost_in_a_restore_are_recovered_by_phone_without_creating_cals() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    app.install_ok(server, select_4412903(), cals("2019", "per-device", 10))
        .await;
    let before = app.audit("default").await;
    let mut caller = Caller::dial_for(&app, "recover CALs").await;
    caller
        .give_id("license_server_id", &server.to_string())
        .await;
    caller.answer("ASK program", "select").await;
    caller.answer("ASK first_name", "Ada").await;
    caller.answer("ASK last_name", "Lovelace").await;
    caller.answer("ASK company", "Analytical Engines Ltd").await;
    caller.answer("ASK country_region", "GB").await;
    caller.answer("ASK company.optional", "no").await;
    caller.answer("ASK agreement_number", "4412903").await;
    caller.answer("ASK product_version", "2019").await;
    caller.answer("ASK license_type", "per-device").await;
    caller.answer("ASK quantity", "10").await;
    caller.answer("ASK confirm", "yes").await;
    let key_pack = caller.take_id().await;

    let status = app.status(server).await;
    let records = status["key_packs"].as_array().unwrap();
    assert!(
        records
            .iter()
            .any(|k| k["key_pack_id"] == key_pack.as_str())
    );
    let after = app.audit("default").await;
    assert!(after.ok);
    assert_eq!(after.purchased, before.purchased);
    assert_eq!(after.allocated, before.allocated, "no CAL was created");
}

#[tokio::test]
async fn a_license_server_deactivated_by_phone_is_given_a_confirmation_code() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "5").await;
    caller
        .give_id("license_server_id", &server.to_string())
        .await;
    caller.answer("ASK confirm", "yes").await;
    let line = caller.until("READ").await;
    assert!(line.starts_with("READ confirmation_code.1 "), "{line}");
    assert_eq!(app.status(server).await["status"], "deactivated");
}

#[tokio::test]
async fn each_group_is_read_back_and_a_misheard_group_is_asked_again() {
    let mut app = TestApp::spawn().await;
    let product = app.product_id().to_string();
    let groups: Vec<&str> = product.split('-').collect();
    let mut caller = Caller::dial_for(&app, "activate").await;
    caller.answer("ASK product_id.1", groups[0]).await;
    let heard = caller.until("HEARD product_id.1").await;
    let spoken: String = groups[0].chars().map(|c| format!(" {c}")).collect();
    assert_eq!(heard, format!("HEARD product_id.1{spoken}"));

    // One digit of group 2 misheard.
    let mut misheard: Vec<char> = groups[1].chars().collect();
    misheard[2] = if misheard[2] == '0' { '1' } else { '0' };
    caller
        .answer("ASK product_id.2", &misheard.iter().collect::<String>())
        .await;
    let sorry = caller.until("SORRY").await;
    assert!(
        sorry.starts_with("SORRY product_id.2 group 2 of 7 has a typo"),
        "{sorry}"
    );
    caller.answer("ASK product_id.2", groups[1]).await;
    caller.until("HEARD product_id.2").await;
    let next = caller.until("ASK").await;
    assert!(next.starts_with("ASK product_id.3"), "{next}");
}

#[tokio::test]
async fn another_kind_of_id_is_refused_and_taken_again_from_its_first_group() {
    let mut app = TestApp::spawn().await;
    let product = app.product_id().to_string();
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    // Every group checks out, but it is the product ID, not the license server ID.
    caller.give_id("license_server_id", &product).await;
    let sorry = caller.until("SORRY").await;
    assert!(
        sorry.starts_with("SORRY license_server_id ") && sorry.contains("product ID"),
        "{sorry}"
    );
    let next = caller.until("ASK").await;
    assert!(next.starts_with("ASK license_server_id.1 "), "{next}");
}

#[tokio::test]
async fn a_quantity_above_what_the_agreement_holds_is_refused_at_the_quantity() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "1000").await;
    caller.answer("ASK confirm", "yes").await;
    let sorry = caller.until("SORRY").await;
    assert!(
        sorry.starts_with("SORRY quantity ") && sorry.contains("250"),
        "{sorry}"
    );
    assert_eq!(app.held(server).await, 0);

    // Only the quantity is asked again.
    let next = caller.until("ASK").await;
    assert!(next.starts_with("ASK quantity "), "{next}");
    caller.say("10").await;
    caller.answer("ASK confirm", "yes").await;
    caller.take_id().await;
    assert_eq!(app.held(server).await, 10);
}

#[tokio::test]
async fn a_caller_who_hangs_up_before_the_go_ahead_is_issued_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "7").await;
    caller.until("ASK confirm").await;
    drop(caller);

    // A later call is answered: the line did not wait for the one that hung up.
    let mut later = Caller::dial(&app).await;
    later.until("ASK number").await;
    // Give a wrongly early submission time to land before looking.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.held(server).await, 0);
    let journal: Value = ok(app
        .control(reqwest::Method::GET, "default", "/journal", None)
        .await)
    .await;
    let entries = journal["entries"].as_array().unwrap();
    assert!(
        entries.iter().all(|e| e["route"] != "/api/v1/key-packs"),
        "{journal}"
    );
}

#[tokio::test]
async fn saying_bye_ends_the_call_and_says_nothing_was_issued() {
    let app = TestApp::spawn().await;
    let mut caller = Caller::dial_for(&app, "activate").await;
    caller.answer("ASK product_id.1", "bye").await;
    let rest = caller.rest_of_the_call().await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(rest[0].starts_with("BYE hung-up ") && rest[0].contains("Nothing was issued"));
}

#[tokio::test]
async fn a_silent_caller_is_told_and_the_call_ends() {
    let app = app_with_phone(PhoneSettings {
        idle_timeout: Duration::from_millis(300),
        ..PhoneSettings::default()
    })
    .await;
    let mut caller = Caller::dial(&app).await;
    caller.until("ASK number").await;
    let rest = caller.rest_of_the_call().await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(rest[0].starts_with("BYE idle "), "{rest:?}");
}

#[tokio::test]
async fn a_line_that_is_not_text_ends_the_call() {
    let app = TestApp::spawn().await;
    let stream = tokio::net::TcpStream::connect(app.server.phone_addr().unwrap())
        .await
        .unwrap();
    let (reader, mut mouth) = stream.into_split();
    mouth.write_all(b"\xff\xfe\xfd garbage\n").await.unwrap();
    let mut heard = String::new();
    use tokio::io::AsyncReadExt;
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::BufReader::new(reader).read_to_string(&mut heard),
    )
    .await
    .expect("the call ends")
    .unwrap();
    let last = heard.lines().last().unwrap();
    assert!(last.starts_with("BYE noise "), "{heard}");
}

#[tokio::test]
async fn a_caller_who_keeps_asking_for_a_repeat_is_not_held_forever() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "3").await;
    caller.answer("ASK confirm", "yes").await;
    for _ in 0..5 {
        caller.answer("READ key_pack_id.1", "repeat").await;
    }
    let rest = caller.rest_of_the_call().await;
    let bye = rest.last().unwrap();
    assert!(
        bye.starts_with("BYE tries ") && bye.contains("stays issued"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_call_ends_when_it_has_lasted_the_longest_a_call_may() {
    let app = app_with_phone(PhoneSettings {
        longest_call: Duration::from_millis(400),
        ..PhoneSettings::default()
    })
    .await;
    let mut caller = Caller::dial(&app).await;
    caller.answer("ASK number", UK_NUMBER).await;
    // Then silence: well within the idle timeout, but past the longest call.
    caller.answer("ASK tenant", "").await;
    let rest = caller.rest_of_the_call().await;
    assert!(
        rest.last().unwrap().starts_with("BYE too-long "),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_refused_request_asked_again_on_another_call_is_asked_afresh() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    // An agreement the tenant does not have yet.
    async fn ask_for_ten(caller: &mut Caller, server: LicenseServerId) {
        install_from(caller, server, "7777777").await;
        caller.answer("ASK quantity", "10").await;
        caller.answer("ASK confirm", "yes").await;
    }
    let mut first = Caller::dial_for(&app, "install-cals").await;
    ask_for_ten(&mut first, server).await;
    let sorry = first.until("SORRY").await;
    assert!(sorry.contains("7777777"), "{sorry}");
    first.until("ASK").await;
    first.say("bye").await;
    first.rest_of_the_call().await;

    // The agreement bought meanwhile: the same request now succeeds.
    let purchase = serde_json::json!({
        "license": {"program": "select", "agreement_number": "7777777"},
        "cals": [cals("2019", "per-device", 10)],
    });
    let added = app
        .control(
            reqwest::Method::POST,
            "default",
            "/purchases",
            Some(purchase),
        )
        .await;
    assert!(
        added.status().is_success(),
        "{}",
        added.text().await.unwrap()
    );
    let mut second = Caller::dial_for(&app, "install-cals").await;
    ask_for_ten(&mut second, server).await;
    second.take_id().await;
    assert_eq!(app.held(server).await, 10);
}

#[tokio::test]
async fn a_number_that_is_not_a_clearinghouse_line_is_asked_again() {
    let app = TestApp::spawn().await;
    let mut caller = Caller::dial(&app).await;
    caller.answer("ASK number", "+1 555 0100 999").await;
    let sorry = caller.until("SORRY").await;
    assert!(sorry.starts_with("SORRY number "), "{sorry}");
    caller.answer("ASK number", "(888) 555-0148").await;
    let desk = caller.until("SAY").await;
    assert!(desk.contains("United States and Canada desk"), "{desk}");
}

#[tokio::test]
async fn a_call_dropped_while_the_id_is_read_gets_the_same_id_on_the_next_call() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut first = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut first, server).await;
    first.answer("ASK quantity", "9").await;
    first.answer("ASK confirm", "yes").await;
    let group_1 = first.until("READ key_pack_id.1").await;
    drop(first);

    let mut second = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut second, server).await;
    second.answer("ASK quantity", "9").await;
    second.answer("ASK confirm", "yes").await;
    let key_pack = second.take_id().await;
    assert!(group_1.ends_with(key_pack.split('-').next().unwrap()));
    assert_eq!(app.held(server).await, 9, "one key pack, not two");

    // Read in full, the request is done: the same request again is a new one.
    let mut third = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut third, server).await;
    third.answer("ASK quantity", "9").await;
    third.answer("ASK confirm", "yes").await;
    assert_ne!(third.take_id().await, key_pack);
    assert_eq!(app.held(server).await, 18);
}

#[tokio::test]
async fn past_its_calls_at_once_the_line_says_it_is_busy() {
    let app = app_with_phone(PhoneSettings {
        max_calls: 1,
        ..PhoneSettings::default()
    })
    .await;
    let mut first = Caller::dial(&app).await;
    first.until("ASK number").await;
    let mut second = Caller::dial(&app).await;
    let heard = second.rest_of_the_call().await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].starts_with("BUSY "), "{heard:?}");
}

#[tokio::test]
async fn one_address_holds_only_its_share_of_the_seats_and_hears_why() {
    let app = app_with_phone(PhoneSettings {
        calls_per_address: 2,
        ..PhoneSettings::default()
    })
    .await;
    let mut first = Caller::dial(&app).await;
    first.until("ASK number").await;
    let mut second = Caller::dial(&app).await;
    second.until("ASK number").await;
    let heard = Caller::dial(&app).await.rest_of_the_call().await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].starts_with("BUSY "), "{heard:?}");
    assert!(heard[0].contains("holds 2 calls already"), "{heard:?}");
    // A call hung up gives its seat back.
    first.say("bye").await;
    first.rest_of_the_call().await;
    let mut again = Caller::dial(&app).await;
    again.until("ASK number").await;
}

#[test]
fn one_address_may_hold_16_calls_of_the_256() {
    let settings = PhoneSettings::default();
    assert_eq!((settings.calls_per_address, settings.max_calls), (16, 256));
}

#[tokio::test]
async fn many_license_servers_activate_by_phone_at_once() {
    let lab = Lab::new().await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..12 {
        let server = lab.install(&format!("LS{i:02}"), WindowsServer::V2022);
        calls.spawn(async move {
            server
                .activate(ConnectionMethod::Telephone, &mut CallHolder::new(true))
                .await
        });
    }
    let mut ids = Vec::new();
    while let Some(outcome) = calls.join_next().await {
        ids.push(outcome.unwrap().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12);
    for id in ids {
        let status = lab.app.status(id.parse().unwrap()).await;
        assert_eq!(status["status"], "activated", "{status}");
    }
}

#[tokio::test]
async fn a_telephone_activation_completes_through_the_library() {
    let lab = Lab::new().await;
    let server = lab.install("LS1", WindowsServer::V2022);
    let id = server
        .activate(ConnectionMethod::Telephone, &mut CallHolder::new(true))
        .await
        .unwrap();
    assert_eq!(Lab::id_of(&server), id);
    assert_eq!(lab.app.status(id).await["status"], "activated");
    let journal: Value = ok(lab
        .app
        .control(reqwest::Method::GET, "default", "/journal", None)
        .await)
    .await;
    let entries = journal["entries"].as_array().unwrap();
    let activations: Vec<&Value> = entries
        .iter()
        .filter(|e| e["route"] == "/api/v1/activations")
        .collect();
    assert_eq!(activations.len(), 1, "{journal}");
    assert_eq!(activations[0]["connection_method"], "telephone");
}

#[tokio::test]
async fn a_telephone_cal_migration_completes_through_the_library() {
    let lab = Lab::new().await;
    let source = lab.source("OLD", WindowsServer::V2019).await;
    let target = lab.activated("NEW", WindowsServer::V2022).await;
    let migrated = target
        .migrate_cals(
            migration_from(&source),
            ConnectionMethod::Telephone,
            &mut CallHolder::new(true),
        )
        .await
        .unwrap();
    assert_eq!(migrated.key_pack.installed, 40);
    assert_eq!(lab.app.held(Lab::id_of(&target)).await, 40);
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 0);
    assert!(lab.app.audit("default").await.ok);
}

/// All 40 CALs of a source made by [`Lab::source`], which is no longer on the network.
fn migration_from(source: &LicenseServer) -> Migration {
    Migration {
        reason: MigrationReason::SourceReplaced,
        source: Source::Unreachable {
            license_server_id: Some(Lab::id_of(source)),
            os: Some(WindowsServer::V2019),
            name: None,
        },
        license: select_proof(),
        cals: cal_request(
            ProductVersion::WindowsServer2019,
            LicenseType::PerDevice,
            40,
        ),
    }
}

/// What the same activation, installation and migration left in one tenant: the IDs
/// issued, and what the ledger says of each license server afterwards.
async fn the_same_requests(lab: &mut Lab, door: ConnectionMethod) -> Value {
    let tenant = door.to_string().to_lowercase().replace(' ', "-");
    lab.app.create_tenant(&tenant, 42).await;
    lab.app.tenant = Some(tenant.clone());
    // The same product IDs on every tenant.
    let install = |name: &str, os| {
        let mut rng = ChaCha8Rng::seed_from_u64(name.len() as u64 * 7919);
        let dir = lab.dir.path().join(&tenant).join(name);
        LicenseServer::install(&dir, lab.setup(name, os, "GB"), &mut rng).unwrap()
    };
    let source = install("OLD", WindowsServer::V2019);
    let target = install("NEWER", WindowsServer::V2022);

    async fn each<O: Operator>(
        door: ConnectionMethod,
        source: &LicenseServer,
        target: &LicenseServer,
        operator: &mut O,
    ) -> Vec<String> {
        let old = source.activate(door, operator).await.unwrap();
        let new = target.activate(door, operator).await.unwrap();
        let cals = cal_request(
            ProductVersion::WindowsServer2019,
            LicenseType::PerDevice,
            40,
        );
        let installed = source
            .install_cals(select_proof(), Some(cals), door, operator)
            .await
            .unwrap();
        let migrated = target
            .migrate_cals(migration_from(source), door, operator)
            .await
            .unwrap();
        vec![
            old.to_string(),
            new.to_string(),
            installed.key_pack_id.to_string(),
            migrated.key_pack.key_pack_id.to_string(),
        ]
    }
    let ids = match door {
        ConnectionMethod::Automatic => each(door, &source, &target, &mut lab.person()).await,
        ConnectionMethod::WebBrowser => {
            each(door, &source, &target, &mut FormFiller::new(true)).await
        }
        ConnectionMethod::Telephone => {
            each(door, &source, &target, &mut CallHolder::new(true)).await
        }
    };
    let mut statuses = Vec::new();
    for server in [&source, &target] {
        let mut status = lab.app.status(Lab::id_of(server)).await;
        forget_times(&mut status);
        statuses.push(status);
    }
    let mut audit = serde_json::to_value(lab.app.audit(&tenant).await).unwrap();
    audit["tenant"] = Value::Null;
    serde_json::json!({"ids": ids, "license_servers": statuses, "audit": audit})
}

#[tokio::test]
async fn the_api_the_web_site_and_the_phone_line_leave_the_same_ledger() {
    let mut lab = Lab::new().await;
    let api = the_same_requests(&mut lab, ConnectionMethod::Automatic).await;
    let web = the_same_requests(&mut lab, ConnectionMethod::WebBrowser).await;
    let phone = the_same_requests(&mut lab, ConnectionMethod::Telephone).await;
    assert_eq!(api["ids"].as_array().unwrap().len(), 4);
    assert_eq!(api, web, "the web site left another ledger than the API");
    assert_eq!(
        api, phone,
        "the phone line left another ledger than the API"
    );
}

/// What a caller might say, right or wrong: answers that fit some question, and noise.
fn babble(rng: &mut ChaCha8Rng) -> String {
    use rand::RngExt;
    const WORDS: [&str; 16] = [
        "yes",
        "no",
        "ok",
        "repeat",
        "1",
        "2",
        "6",
        "select",
        "2019",
        "per-device",
        "GB",
        "",
        "4412903",
        "Ada",
        "+44 20 7946 0571",
        "install-cals",
    ];
    match rng.random_range(0..10) {
        0 => (0..rng.random_range(1..40))
            .map(|_| char::from(rng.random_range(32u8..127)))
            .collect(),
        1 => (0..5)
            .map(|_| char::from(rng.random_range(b'0'..=b'9')))
            .collect(),
        2 => "é€漢字 ünïcödé".to_owned(),
        3 => "x".repeat(rng.random_range(100..600)),
        _ => WORDS[rng.random_range(0..WORDS.len())].to_owned(),
    }
}

/// The threads on which something panicked: a call's task is caught by the runtime, so
/// its panic would otherwise go unseen.
fn panicked_threads() -> &'static std::sync::Mutex<Vec<String>> {
    static THREADS: std::sync::OnceLock<std::sync::Mutex<Vec<String>>> = std::sync::OnceLock::new();
    THREADS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or_default().to_owned();
            if let Ok(mut threads) = panicked_threads().lock() {
                threads.push(name);
            }
            previous(info);
        }));
        std::sync::Mutex::new(Vec::new())
    })
}

#[tokio::test]
async fn two_hundred_callers_saying_anything_never_break_the_line_or_the_ledger() {
    let this = std::thread::current().name().unwrap_or_default().to_owned();
    panicked_threads();
    // The calls run on this test's runtime, on this thread.
    let app = TestApp::spawn().await;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for _ in 0..200 {
        let stream = tokio::net::TcpStream::connect(app.server.phone_addr().unwrap())
            .await
            .unwrap();
        let (reader, mut mouth) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(reader).lines();
        use rand::RngExt;
        use tokio::io::AsyncBufReadExt;
        // Half the callers get through to a task first, so the babble reaches its fields.
        if rng.random_bool(0.5) {
            let purpose = rng.random_range(1..=6).to_string();
            for said in [UK_NUMBER, "", purpose.as_str()] {
                mouth
                    .write_all(format!("{said}\n").as_bytes())
                    .await
                    .unwrap();
            }
        }
        for _ in 0..rng.random_range(1..40) {
            let said = babble(&mut rng);
            if mouth
                .write_all(format!("{said}\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        drop(mouth);
        // Every line heard is tagged, and the call ends by itself.
        let heard = tokio::time::timeout(Duration::from_secs(10), async {
            let mut heard = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                heard.push(line);
            }
            heard
        })
        .await
        .expect("the call ends once the caller has gone");
        const TAGS: [&str; 9] = [
            "HELLO", "SAY", "ASK", "HEARD", "SORRY", "READ", "DONE", "BYE", "BUSY",
        ];
        for line in &heard {
            assert!(TAGS.contains(&line.split(' ').next().unwrap()), "{line:?}");
        }
    }
    let mut after = Caller::dial(&app).await;
    after.until("ASK number").await;
    assert!(app.audit("default").await.ok);
    let panicked = panicked_threads().lock().unwrap().clone();
    assert!(!panicked.contains(&this), "a call panicked");
}

/// Gets an install-CALs call through the license server ID, the program `program` and the
/// company's required information, with the optional information declined.
async fn install_with_program(caller: &mut Caller, server: LicenseServerId, program: &str) {
    caller
        .give_id("license_server_id", &server.to_string())
        .await;
    caller.answer("ASK program", program).await;
    caller.answer("ASK first_name", "Ada").await;
    caller.answer("ASK last_name", "Lovelace").await;
    caller.answer("ASK company", "Analytical Engines Ltd").await;
    caller.answer("ASK country_region", "United Kingdom").await;
    caller.answer("ASK company.optional", "no").await;
}

#[tokio::test]
async fn a_retail_license_code_is_asked_for_no_cals_on_the_phone() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_with_program(&mut caller, server, "retail").await;
    caller
        .answer("ASK license_code", "XYYB3-KGC8Y-7F84V-XGXKF-68W7X")
        .await;
    let next = caller.until("ASK ").await;
    assert!(next.starts_with("ASK confirm "), "{:#?}", caller.heard);
    caller.say("yes").await;
    let key_pack = caller.take_id().await;
    let contents = key_pack
        .parse::<shared::id::KeyPackId>()
        .unwrap()
        .open(&server)
        .unwrap();
    assert_eq!(contents.quantity.get(), 20);
}

#[tokio::test]
async fn the_optional_company_information_is_declined_in_one_answer() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_with_program(&mut caller, server, "select").await;
    let next = caller.until("ASK ").await;
    assert!(
        next.starts_with("ASK agreement_number "),
        "{:#?}",
        caller.heard
    );
    assert!(
        caller
            .heard
            .iter()
            .any(|l| l.starts_with("ASK company.optional Would you like to give the optional company information (e-mail address, phone number, organizational unit, address, city, state/province, postal code)?")),
        "{:#?}",
        caller.heard
    );
}

#[tokio::test]
async fn a_no_at_the_read_back_takes_back_only_the_item_named() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_up_to_quantity(&mut caller, server).await;
    caller.answer("ASK quantity", "12").await;
    let quantity_item = caller.heard.len();
    caller.until("ASK confirm").await;
    let item = caller.heard[quantity_item..]
        .iter()
        .find(|l| l.contains(" Quantity: 12"))
        .and_then(|l| l.strip_prefix("SAY "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("{:#?}", caller.heard))
        .to_owned();
    caller.say("no").await;
    caller.answer("ASK correct", &item).await;
    // Only the quantity is asked again, not the ID's seven groups or the rest.
    let next = caller.until("ASK ").await;
    assert!(next.starts_with("ASK quantity "), "{:#?}", caller.heard);
    caller.say("7").await;
    caller.answer("ASK confirm", "yes").await;
    caller.take_id().await;
    assert_eq!(app.held(server).await, 7);
}

#[tokio::test]
async fn open_value_is_taken_as_an_other_agreement_on_the_phone() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_with_program(&mut caller, server, "Open Value").await;
    caller.answer("ASK agreement_number", "5270046").await;
    caller.answer("ASK product_version", "2016").await;
    caller.answer("ASK license_type", "per-user").await;
    caller.answer("ASK quantity", "4").await;
    caller.answer("ASK confirm", "yes").await;
    caller.take_id().await;
    assert!(
        !caller.heard.iter().any(|l| l.starts_with("SORRY program")),
        "{:#?}",
        caller.heard
    );
}

#[tokio::test]
async fn an_unknown_source_is_asked_about_once_in_plain_words() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut caller = Caller::dial_for(&app, "manage-cals").await;
    caller
        .give_id("license_server_id", &server.to_string())
        .await;
    caller.answer("ASK reason", "source-not-functioning").await;
    caller.answer("ASK program", "select").await;
    caller.answer("ASK first_name", "Ada").await;
    caller.answer("ASK last_name", "Lovelace").await;
    caller.answer("ASK company", "Analytical Engines Ltd").await;
    caller.answer("ASK country_region", "GB").await;
    caller.answer("ASK company.optional", "no").await;
    let asked = caller.until("ASK source_license_server_id.known").await;
    assert_eq!(
        asked,
        "ASK source_license_server_id.known Do you know the source license server ID? (yes or no)"
    );
}

#[tokio::test]
async fn cals_newer_than_the_license_server_runs_are_refused_at_the_product_version_on_the_phone() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id_of(WindowsServer::V2019);
    let server = app.activate_product(product_id).await;
    let mut caller = Caller::dial_for(&app, "install-cals").await;
    install_with_program(&mut caller, server, "select").await;
    caller.answer("ASK agreement_number", "4417718").await;
    caller.answer("ASK product_version", "2022").await;
    caller.answer("ASK license_type", "per-user").await;
    caller.answer("ASK quantity", "5").await;
    caller.answer("ASK confirm", "yes").await;
    let sorry = caller.until("SORRY product_version").await;
    assert!(sorry.contains("runs Windows Server 2019"), "{sorry}");
    caller.until("ASK product_version").await;
    assert_eq!(app.held(server).await, 0);
}
