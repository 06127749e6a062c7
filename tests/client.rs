//! The licensing client as a library, against a real clearinghouse and real license server
//! daemons: every flow by every connection method, the migration matrix, what a person
//! types in, and retries under injected faults.

use std::time::Duration;

use licensing_client::peer::daemon::Daemon;
use licensing_client::peer::{Peer, RemoveCals};
use licensing_client::state::{Activation, KeyPackSource};
use licensing_client::{
    ClearinghouseError, Desk, EntryError, Error, LicenseServer, Migration, ReminderCause, Source,
};
use serde_json::json;
use shared::id::{IdError, IdKind, KeyPackError};
use shared::vocab::{
    ConnectionMethod, LicenseType, MigrationReason, ProductVersion, ReactivationReason,
    WindowsServer,
};
use shared::wire::ErrorCode;

use crate::helpers::{Lab, cal_request, select_proof};

const METHODS: [ConnectionMethod; 3] = [
    ConnectionMethod::Automatic,
    ConnectionMethod::WebBrowser,
    ConnectionMethod::Telephone,
];

fn v2019_per_device(quantity: u16) -> shared::wire::CalRequest {
    cal_request(
        ProductVersion::WindowsServer2019,
        LicenseType::PerDevice,
        quantity,
    )
}

/// A migration of 25 of the source's 2019 Per Device CALs.
fn migration(reason: MigrationReason, source: Source) -> Migration {
    Migration {
        reason,
        source,
        license: select_proof(),
        cals: v2019_per_device(25),
    }
}

fn unreachable(source: &LicenseServer, os: WindowsServer) -> Source {
    Source::Unreachable {
        license_server_id: Some(Lab::id_of(source)),
        os: Some(os),
        name: None,
    }
}

async fn daemon(server: &LicenseServer) -> Daemon {
    Daemon::start(server.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Migrates 25 CALs automatically from the source served by `running`, being replaced.
async fn replace_source(
    target: &LicenseServer,
    running: &Daemon,
    person: &mut crate::helpers::Person,
) -> licensing_client::Migrated {
    let source = Source::Reachable(running.addr().to_string());
    target
        .migrate_cals(
            migration(MigrationReason::SourceReplaced, source),
            ConnectionMethod::Automatic,
            person,
        )
        .await
        .unwrap()
}

/// The CALs the source still holds, by its own count.
fn local_total(server: &LicenseServer) -> u32 {
    server
        .state()
        .unwrap()
        .key_packs
        .iter()
        .map(|k| k.total())
        .sum()
}

#[tokio::test]
async fn activation_by_each_method_gives_the_id_the_clearinghouse_issued() {
    let lab = Lab::new().await;
    for method in METHODS {
        let server = lab.install(&format!("ACT-{method:?}"), WindowsServer::V2022);
        let id = server.activate(method, &mut lab.person()).await.unwrap();
        assert_eq!(Lab::id_of(&server), id, "{method}");
        assert_eq!(lab.app.status(id).await["status"], "activated", "{method}");
    }
}

#[tokio::test]
async fn the_web_method_shows_the_site_and_the_product_id_to_activate() {
    let lab = Lab::new().await;
    let server = lab.install("WEB", WindowsServer::V2022);
    let mut person = lab.person();
    server
        .activate(ConnectionMethod::WebBrowser, &mut person)
        .await
        .unwrap();
    let handoff = &person.handoffs[0];
    assert_eq!(
        handoff.desk,
        Desk::Web {
            url: format!("{}/", lab.app.server.url()),
            seat_token: None,
        }
    );
    let state = server.state().unwrap();
    assert_eq!(handoff.shown_id, state.identity.product_id.as_any());
    assert_eq!(handoff.expects(), IdKind::LicenseServerId);
}

#[tokio::test]
async fn the_telephone_method_shows_the_number_for_the_servers_country() {
    let lab = Lab::new().await;
    // The numbers of fixtures/phone-lines.json.
    for (country, number, international) in [
        ("US", "+1 (888) 555-0148", false),
        ("CA", "+1 (888) 555-0148", false),
        ("GB", "+44 20 7946 0571", false),
        ("IS", "+1 (425) 555-0157", true),
    ] {
        let server = lab.install_in(&format!("TEL-{country}"), WindowsServer::V2022, country);
        let mut person = lab.person();
        server
            .activate(ConnectionMethod::Telephone, &mut person)
            .await
            .unwrap();
        match &person.handoffs[0].desk {
            Desk::Telephone {
                number: shown,
                international: intl,
                ..
            } => {
                assert_eq!(*shown, number, "{country}");
                assert_eq!(*intl, international, "{country}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn reactivation_by_each_method_replaces_the_id_and_keeps_the_key_packs() {
    let lab = Lab::new().await;
    for method in METHODS {
        let server = lab
            .source(&format!("REACT-{method:?}"), WindowsServer::V2022)
            .await;
        let old = Lab::id_of(&server);
        let new = server
            .reactivate(ReactivationReason::Redeployed, method, &mut lab.person())
            .await
            .unwrap();
        assert_ne!(old, new, "{method}");
        assert_eq!(Lab::id_of(&server), new);
        assert_eq!(local_total(&server), 40, "{method}");
        assert_eq!(lab.app.status(old).await["status"], "replaced", "{method}");
    }
}

#[tokio::test]
async fn deactivation_by_each_method_keeps_the_confirmation_code_and_stops_installs() {
    let lab = Lab::new().await;
    for method in METHODS {
        let server = lab
            .activated(&format!("DEACT-{method:?}"), WindowsServer::V2022)
            .await;
        let code = server.deactivate(method, &mut lab.person()).await.unwrap();
        let state = server.state().unwrap();
        assert!(
            matches!(state.activation, Activation::Deactivated { confirmation_code, .. } if confirmation_code == code),
            "{method}"
        );
        let refused = server
            .install_cals(
                select_proof(),
                Some(v2019_per_device(1)),
                ConnectionMethod::Automatic,
                &mut lab.person(),
            )
            .await
            .unwrap_err();
        assert!(matches!(refused, Error::Deactivated(_)), "{refused}");
    }
}

#[tokio::test]
async fn installation_by_each_method_installs_the_key_pack_the_clearinghouse_issued() {
    let lab = Lab::new().await;
    for method in METHODS {
        let server = lab
            .activated(&format!("INST-{method:?}"), WindowsServer::V2022)
            .await;
        let pack = server
            .install_cals(
                select_proof(),
                Some(v2019_per_device(7)),
                method,
                &mut lab.person(),
            )
            .await
            .unwrap();
        assert_eq!(pack.installed, 7);
        assert_eq!(pack.source, KeyPackSource::Installed);
        assert_eq!(pack.method, method);
        let status = lab.app.status(Lab::id_of(&server)).await;
        assert_eq!(
            status["key_packs"][0]["key_pack_id"],
            json!(pack.key_pack_id)
        );
    }
    assert!(lab.app.audit("default").await.ok);
}

/// Every method x reason x reachability: the target gets the CALs, the source gives
/// them up only when the wizard contacts it and no reminder applies, the reminder shows
/// exactly when the wizard shows it, and the ledger balances.
#[tokio::test]
async fn every_method_reason_and_reachability_migrates_the_cals_asked() {
    for method in METHODS {
        for reason in [
            MigrationReason::SourceReplaced,
            MigrationReason::SourceNotFunctioning,
        ] {
            for reachable in [true, false] {
                let case = format!("{method} / {reason} / reachable {reachable}");
                let lab = Lab::new().await;
                let source = lab.source("SOURCE", WindowsServer::V2019).await;
                let target = lab.activated("TARGET", WindowsServer::V2022).await;
                let running = if reachable {
                    Some(daemon(&source).await)
                } else {
                    None
                };
                let from = match &running {
                    Some(d) => Source::Reachable(d.addr().to_string()),
                    None => unreachable(&source, WindowsServer::V2019),
                };
                let mut person = lab.person();
                let migrated = target
                    .migrate_cals(migration(reason, from), method, &mut person)
                    .await
                    .unwrap_or_else(|e| panic!("{case}: {e}"));

                let reminded = reason == MigrationReason::SourceNotFunctioning || !reachable;
                assert_eq!(person.reminders.len(), usize::from(reminded), "{case}");
                assert_eq!(migrated.reminder.is_some(), reminded, "{case}");
                assert_eq!(migrated.key_pack.installed, 25, "{case}");
                assert_eq!(
                    migrated.key_pack.source,
                    KeyPackSource::Migrated {
                        reason,
                        from: Some(Lab::id_of(&source))
                    },
                    "{case}"
                );
                let expected_left = if reminded { 40 } else { 15 };
                assert_eq!(local_total(&source), expected_left, "{case}");
                assert_eq!(
                    migrated.removed_from_source.map(|r| r.removed),
                    (!reminded).then_some(25),
                    "{case}"
                );
                assert_eq!(lab.app.held(Lab::id_of(&source)).await, 15, "{case}");
                assert_eq!(lab.app.held(Lab::id_of(&target)).await, 25, "{case}");
                let audit = lab.app.audit("default").await;
                assert!(audit.ok, "{case}: {:?}", audit.problems);
                if method != ConnectionMethod::Automatic {
                    assert_eq!(person.handoffs.len(), 1, "{case}");
                    assert_eq!(
                        person.handoffs[0].shown_id,
                        Lab::id_of(&target).as_any(),
                        "{case}"
                    );
                }
                if let Some(d) = running {
                    d.stop().await;
                }
            }
        }
    }
}

#[tokio::test]
async fn a_reachable_source_older_than_2008_r2_brings_the_reminder_and_keeps_its_cals() {
    let lab = Lab::new().await;
    // A Windows Server 2008 license server holds 2008 CALs (the version rule).
    let source = lab.activated("OLD", WindowsServer::V2008).await;
    let license: shared::vocab::LicenseProof =
        serde_json::from_value(json!({"program": "select", "agreement_number": "4400017"}))
            .unwrap();
    let cals = cal_request(
        ProductVersion::WindowsServer2008,
        LicenseType::PerDevice,
        30,
    );
    source
        .install_cals(
            license.clone(),
            Some(cals),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    let target = lab.activated("NEW", WindowsServer::V2022).await;
    let running = daemon(&source).await;
    let mut person = lab.person();
    let migration = Migration {
        reason: MigrationReason::SourceReplaced,
        source: Source::Reachable(running.addr().to_string()),
        license,
        cals,
    };
    let migrated = target
        .migrate_cals(migration, ConnectionMethod::Automatic, &mut person)
        .await
        .unwrap();
    assert_eq!(
        person.reminders[0].cause,
        ReminderCause::OlderThan2008R2 {
            os: WindowsServer::V2008
        }
    );
    assert!(person.reminders[0].to_string().contains("manually"));
    assert_eq!(migrated.removed_from_source, None);
    assert_eq!(local_total(&source), 30);
    running.stop().await;
}

#[tokio::test]
async fn a_reachable_deactivated_source_brings_the_reminder() {
    let lab = Lab::new().await;
    let source = lab.source("GONE", WindowsServer::V2019).await;
    let source_id = Lab::id_of(&source);
    source
        .deactivate(ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    let target = lab.activated("NEW", WindowsServer::V2022).await;
    let running = daemon(&source).await;
    let mut person = lab.person();
    replace_source(&target, &running, &mut person).await;
    assert_eq!(person.reminders[0].cause, ReminderCause::Deactivated);
    assert_eq!(local_total(&source), 40);
    assert_eq!(lab.app.held(source_id).await, 15);
    running.stop().await;
}

#[tokio::test]
async fn declining_the_reminder_changes_nothing() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let mut person = lab.person();
    person.confirm = false;
    let stopped = target
        .migrate_cals(
            migration(
                MigrationReason::SourceNotFunctioning,
                unreachable(&source, WindowsServer::V2019),
            ),
            ConnectionMethod::Automatic,
            &mut person,
        )
        .await
        .unwrap_err();
    assert!(matches!(stopped, Error::Unconfirmed(_)), "{stopped}");
    assert!(target.state().unwrap().key_packs.is_empty());
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 40);
    assert_eq!(lab.app.held(Lab::id_of(&target)).await, 0);
}

#[tokio::test]
async fn an_unreachable_source_address_says_how_to_migrate_without_it() {
    let lab = Lab::new().await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = target
        .migrate_cals(
            migration(
                MigrationReason::SourceReplaced,
                Source::Reachable(port.to_string()),
            ),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("--source-unreachable"),
        "{error}"
    );
    assert!(target.state().unwrap().key_packs.is_empty());
}

/// Installs CALs by `method` while the person types `retype(id)` for the ID they were
/// given; what the flow said of it.
async fn install_typing(
    lab: &Lab,
    server: &LicenseServer,
    method: ConnectionMethod,
    retype: crate::helpers::Retype,
) -> Error {
    let mut person = lab.person();
    person.retype = Some(retype);
    server
        .install_cals(
            select_proof(),
            Some(v2019_per_device(3)),
            method,
            &mut person,
        )
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_typo_in_a_typed_key_pack_id_names_its_group_and_installs_nothing() {
    let lab = Lab::new().await;
    let server = lab.activated("TYPO", WindowsServer::V2022).await;
    // The representative's 4th group, misheard: one digit off.
    let misheard = Box::new(|id: &str| {
        let mut digits: Vec<char> = id.chars().collect();
        let at = 3 * 6 + 2;
        digits[at] = if digits[at] == '9' { '0' } else { '9' };
        digits.into_iter().collect()
    });
    let error = install_typing(&lab, &server, ConnectionMethod::Telephone, misheard).await;
    assert!(
        matches!(&error, Error::Entry(EntryError::Id(IdError::Typo { groups })) if groups == &vec![4]),
        "{error}"
    );
    assert!(error.to_string().contains("group 4 of 7"), "{error}");
    assert!(server.state().unwrap().key_packs.is_empty());
}

#[tokio::test]
async fn a_license_server_id_typed_for_a_key_pack_id_is_named_as_the_wrong_kind() {
    let lab = Lab::new().await;
    let server = lab.activated("KIND", WindowsServer::V2022).await;
    let own_id = Lab::id_of(&server).to_string();
    let error = install_typing(
        &lab,
        &server,
        ConnectionMethod::WebBrowser,
        Box::new(move |_| own_id.clone()),
    )
    .await;
    assert!(
        matches!(
            error,
            Error::Entry(EntryError::Id(IdError::WrongKind {
                found: IdKind::LicenseServerId,
                expected: IdKind::KeyPackId
            }))
        ),
        "{error}"
    );
    assert!(server.state().unwrap().key_packs.is_empty());
}

#[tokio::test]
async fn a_key_pack_id_issued_for_another_license_server_is_refused() {
    let lab = Lab::new().await;
    let server = lab.activated("MINE", WindowsServer::V2022).await;
    let other = lab.activated("OTHER", WindowsServer::V2022).await;
    let foreign = lab
        .app
        .install_ok(
            Lab::id_of(&other),
            crate::helpers::select_4412903(),
            crate::helpers::cals("2019", "per-device", 2),
        )
        .await
        .to_string();
    let error = install_typing(
        &lab,
        &server,
        ConnectionMethod::WebBrowser,
        Box::new(move |_| foreign.clone()),
    )
    .await;
    assert!(
        matches!(
            error,
            Error::Entry(EntryError::KeyPack(KeyPackError::NotForThisServer { .. }))
        ),
        "{error}"
    );
    assert!(server.state().unwrap().key_packs.is_empty());
}

#[tokio::test]
async fn a_refusal_by_the_clearinghouse_carries_its_code_and_changes_nothing() {
    let lab = Lab::new().await;
    let server = lab.activated("BIG", WindowsServer::V2022).await;
    let error = server
        .install_cals(
            select_proof(),
            Some(v2019_per_device(9999)),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap_err();
    let Error::Clearinghouse(refusal) = &error else {
        panic!("{error}");
    };
    assert_eq!(refusal.code(), Some(ErrorCode::QuantityExhausted));
    assert!(error.to_string().contains("250"), "{error}");
    let state = server.state().unwrap();
    assert!(state.key_packs.is_empty());
    assert!(state.pending.is_empty());
}

#[tokio::test]
async fn a_source_asked_twice_for_the_same_key_pack_gives_up_its_cals_once() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let running = daemon(&source).await;
    let migrated = replace_source(&target, &running, &mut lab.person()).await;
    let again = Peer::new(&running.addr().to_string())
        .unwrap()
        .remove(&RemoveCals {
            target: Lab::id_of(&target),
            key_pack_id: migrated.key_pack.key_pack_id,
        })
        .await
        .unwrap();
    assert_eq!(again.removed, 25);
    assert_eq!(local_total(&source), 15);
    running.stop().await;
}

#[tokio::test]
async fn a_source_refuses_to_give_up_cals_for_a_key_pack_of_another_server() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let running = daemon(&source).await;
    // The source's own key pack, presented as if the target had received it.
    let own = source.state().unwrap().key_packs[0].key_pack_id;
    let refused = Peer::new(&running.addr().to_string())
        .unwrap()
        .remove(&RemoveCals {
            target: Lab::id_of(&target),
            key_pack_id: own,
        })
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("another license server"),
        "{refused}"
    );
    assert_eq!(local_total(&source), 40);
    running.stop().await;
}

async fn migrate_automatically(
    lab: &Lab,
) -> (
    LicenseServer,
    LicenseServer,
    Result<licensing_client::Migrated, Error>,
) {
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let outcome = target
        .migrate_cals(
            migration(
                MigrationReason::SourceReplaced,
                unreachable(&source, WindowsServer::V2019),
            ),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await;
    (source, target, outcome)
}

async fn key_packs_at_clearinghouse(lab: &Lab, server: &LicenseServer) -> usize {
    lab.app.status(Lab::id_of(server)).await["key_packs"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_reply_dropped_after_commit_yields_one_key_pack() {
    let lab = Lab::new().await;
    lab.app
        .set_fault(
            "default",
            json!({"kind": "drop-reply", "route": "/api/v1/migrations", "next": 2}),
        )
        .await;
    let (_, target, outcome) = migrate_automatically(&lab).await;
    let migrated = outcome.unwrap();
    assert_eq!(migrated.key_pack.installed, 25);
    assert_eq!(target.state().unwrap().key_packs.len(), 1);
    assert_eq!(key_packs_at_clearinghouse(&lab, &target).await, 1);
    assert!(lab.app.audit("default").await.ok);
}

#[tokio::test]
async fn an_outage_is_waited_out_and_the_migration_applied_once() {
    let lab = Lab::new().await;
    let (source, target) = (
        lab.source("SOURCE", WindowsServer::V2019).await,
        lab.activated("TARGET", WindowsServer::V2022).await,
    );
    lab.app
        .set_fault("default", json!({"kind": "outage", "seconds": 1}))
        .await;
    let migrated = target
        .migrate_cals(
            migration(
                MigrationReason::SourceReplaced,
                unreachable(&source, WindowsServer::V2019),
            ),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    assert_eq!(migrated.key_pack.installed, 25);
    assert_eq!(key_packs_at_clearinghouse(&lab, &target).await, 1);
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 15);
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_retried_under_the_same_key() {
    let lab = Lab::new().await;
    let (source, target) = (
        lab.source("SOURCE", WindowsServer::V2019).await,
        lab.activated("TARGET", WindowsServer::V2022).await,
    );
    let fault = lab
        .app
        .set_fault(
            "default",
            json!({"kind": "latency", "route": "/api/v1/migrations", "ms": 3000}),
        )
        .await;
    // The latency ends while the client is still retrying.
    let app_url = lab
        .app
        .url(&format!("/admin/v1/tenants/default/faults/{}", fault["id"]));
    let token = lab.app.server.admin_token().to_owned();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        reqwest::Client::new()
            .delete(app_url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    });
    let migrated = target
        .migrate_cals(
            migration(
                MigrationReason::SourceReplaced,
                unreachable(&source, WindowsServer::V2019),
            ),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    clear.await.unwrap();
    assert_eq!(migrated.key_pack.installed, 25);
    assert_eq!(key_packs_at_clearinghouse(&lab, &target).await, 1);
    assert!(lab.app.audit("default").await.ok);
}

#[tokio::test]
async fn running_a_flow_again_after_no_answer_reuses_its_idempotency_key() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    // Both attempts are applied (the second as a replay) and both replies lost.
    let (request, lost) = lose_answers(&lab, &source, &target, 2).await;
    assert!(
        matches!(
            lost,
            Error::Clearinghouse(ClearinghouseError::NoAnswer { .. })
        ),
        "{lost}"
    );
    assert_eq!(target.state().unwrap().pending.len(), 1);
    let migrated = target
        .migrate_cals(request, ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    assert_eq!(migrated.key_pack.installed, 25);
    assert_eq!(key_packs_at_clearinghouse(&lab, &target).await, 1);
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 15);
    assert!(target.state().unwrap().pending.is_empty());
}

/// Migrates 25 CALs from `source` (not reachable) to `target`, trying `attempts` times
/// while the clearinghouse drops as many replies: the request, and the error it ended in.
async fn lose_answers(
    lab: &Lab,
    source: &LicenseServer,
    target: &LicenseServer,
    attempts: u32,
) -> (Migration, Error) {
    let impatient = LicenseServer::open(target.dir()).unwrap().with_retry(
        licensing_client::methods::automatic::RetryPolicy {
            attempts,
            ..crate::helpers::quick_retries()
        },
    );
    lab.app
        .set_fault(
            "default",
            json!({"kind": "drop-reply", "route": "/api/v1/migrations", "next": attempts}),
        )
        .await;
    let request = migration(
        MigrationReason::SourceReplaced,
        unreachable(source, WindowsServer::V2019),
    );
    let error = impatient
        .migrate_cals(
            request.clone(),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap_err();
    (request, error)
}

#[tokio::test]
async fn a_second_license_server_cannot_be_installed_over_the_first() {
    let lab = Lab::new().await;
    let first = lab.install("ONE", WindowsServer::V2022);
    let setup = lab.setup("TWO", WindowsServer::V2019, "US");
    let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let refused = LicenseServer::install(first.dir(), setup, &mut rng).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::State(licensing_client::StateError::AlreadyInstalled { .. })
        ),
        "{refused}"
    );
    assert_eq!(first.state().unwrap().identity.name, "ONE");
}

#[tokio::test]
async fn another_flow_between_a_lost_answer_and_its_rerun_keeps_the_first_key() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let (request, _) = lose_answers(&lab, &source, &target, 1).await;
    target
        .install_cals(
            select_proof(),
            Some(v2019_per_device(1)),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    target
        .migrate_cals(request, ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    assert_eq!(key_packs_at_clearinghouse(&lab, &target).await, 2);
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 15);
}

#[tokio::test]
async fn a_source_refuses_a_key_pack_the_clearinghouse_issued_for_an_installation() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    // Installed on the target, not migrated: it proves nothing about the source.
    let installed = target
        .install_cals(
            select_proof(),
            Some(v2019_per_device(25)),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    let running = daemon(&source).await;
    let refused = Peer::new(&running.addr().to_string())
        .unwrap()
        .remove(&RemoveCals {
            target: Lab::id_of(&target),
            key_pack_id: installed.key_pack_id,
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not migrated"), "{refused}");
    assert_eq!(local_total(&source), 40);
    running.stop().await;
}

#[tokio::test]
async fn a_typed_key_pack_id_holding_other_cals_than_asked_is_refused() {
    let lab = Lab::new().await;
    let server = lab.activated("OTHER-CALS", WindowsServer::V2022).await;
    // A real key pack of this server, for 2 CALs; the person asked for 3.
    let two = lab
        .app
        .install_ok(
            Lab::id_of(&server),
            crate::helpers::select_4412903(),
            crate::helpers::cals("2019", "per-device", 2),
        )
        .await
        .to_string();
    let error = install_typing(
        &lab,
        &server,
        ConnectionMethod::WebBrowser,
        Box::new(move |_| two.clone()),
    )
    .await;
    assert!(matches!(error, Error::NotWhatWasAsked { .. }), "{error}");
    assert!(server.state().unwrap().key_packs.is_empty());
}

/// The web method with nobody at the keyboard: the library fills in the site's forms.
#[tokio::test]
async fn the_web_method_fills_in_the_sites_forms_for_every_flow() {
    let lab = Lab::new().await;
    let web = ConnectionMethod::WebBrowser;
    let mut filler = licensing_client::methods::web::FormFiller::new(true);
    let source = lab.install("SOURCE", WindowsServer::V2019);
    let source_id = source.activate(web, &mut filler).await.unwrap();
    assert_eq!(lab.app.status(source_id).await["status"], "activated");
    let installed = source
        .install_cals(select_proof(), Some(v2019_per_device(40)), web, &mut filler)
        .await
        .unwrap();
    assert_eq!(installed.installed, 40);
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let running = daemon(&source).await;
    let migrated = target
        .migrate_cals(
            migration(
                MigrationReason::SourceReplaced,
                Source::Reachable(running.addr().to_string()),
            ),
            web,
            &mut filler,
        )
        .await
        .unwrap();
    assert_eq!(migrated.removed_from_source.map(|r| r.removed), Some(25));
    assert_eq!(lab.app.held(Lab::id_of(&target)).await, 25);
    let new_id = target
        .reactivate(ReactivationReason::Upgraded, web, &mut filler)
        .await
        .unwrap();
    target.deactivate(web, &mut filler).await.unwrap();
    assert_eq!(lab.app.status(new_id).await["status"], "deactivated");
    let audit = lab.app.audit("default").await;
    assert!(audit.ok, "{:?}", audit.problems);
    // Each went through the site: the journal says so.
    let journal = lab
        .app
        .control(
            reqwest::Method::GET,
            "default",
            "/journal?format=jsonl",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        journal.matches("\"connection_method\":\"web\"").count(),
        5,
        "{journal}"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_form_the_web_site_refuses_is_reported_with_its_field() {
    let lab = Lab::new().await;
    let server = lab.activated("BIG", WindowsServer::V2022).await;
    let error = server
        .install_cals(
            select_proof(),
            Some(v2019_per_device(9999)),
            ConnectionMethod::WebBrowser,
            &mut licensing_client::methods::web::FormFiller::new(false),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::WebSite(_)), "{error}");
    assert!(error.to_string().contains("quantity"), "{error}");
    assert!(server.state().unwrap().key_packs.is_empty());
}

#[tokio::test]
async fn a_source_refuses_a_key_pack_migrated_from_another_source() {
    let lab = Lab::new().await;
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let bystander = lab.source("BYSTANDER", WindowsServer::V2019).await;
    let target = lab.activated("TARGET", WindowsServer::V2022).await;
    let migrated = target
        .migrate_cals(
            migration(
                MigrationReason::SourceNotFunctioning,
                unreachable(&source, WindowsServer::V2019),
            ),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    // The CALs came from SOURCE: BYSTANDER, which holds the same kind, gives none up.
    let running = daemon(&bystander).await;
    let refused = Peer::new(&running.addr().to_string())
        .unwrap()
        .remove(&RemoveCals {
            target: Lab::id_of(&target),
            key_pack_id: migrated.key_pack.key_pack_id,
        })
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not from here"), "{refused}");
    assert_eq!(local_total(&bystander), 40);
    running.stop().await;
}

/// The fields the licensing web site asks for `handoff`, page after page in its order, as
/// `(name, label)`: the site walked with the handoff's own answers.
async fn fields_the_site_asks(
    lab: &Lab,
    handoff: &licensing_client::Handoff,
) -> Vec<(String, String)> {
    let (task, answers) = handoff.answers();
    let mut portal = crate::helpers::Portal::new(&lab.app);
    let (mut page, mut fields) = portal.start(task).await;
    fields.extend(answers.iter().cloned());
    let mut asked = Vec::new();
    loop {
        for (at, _) in page.html.match_indices("<label for=\"f-") {
            let rest = &page.html[at + "<label for=\"f-".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let text = &rest[rest.find('>').unwrap() + 1..];
            let text = &text[..text.find('<').unwrap()];
            asked.push((name.to_owned(), text.to_owned()));
        }
        if page.html.contains("value=\"submit\"") {
            return asked;
        }
        let step = page.input("step").unwrap();
        let mut posted = fields.clone();
        posted.push(("step".into(), step));
        posted.push(("go".into(), "next".into()));
        page = portal.post(task, &posted).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.html);
    }
}

/// A person who, before taking each request to the web site, holds its handoff sheet
/// against the fields the site asks.
struct SheetChecker<'a> {
    lab: &'a Lab,
    person: crate::helpers::Person,
}

impl licensing_client::Operator for SheetChecker<'_> {
    async fn obtain(
        &mut self,
        handoff: &licensing_client::Handoff,
    ) -> Result<Option<String>, Error> {
        let title = handoff.task().title();
        let sheet: Vec<String> = handoff.particulars().into_iter().map(|(l, _)| l).collect();
        let site = fields_the_site_asks(self.lab, handoff).await;
        // Every field the site requires is on the sheet...
        for (name, label) in &site {
            let optional = label.ends_with("(optional)") || label.ends_with("(if known)");
            assert!(
                optional || sheet.contains(label),
                "{title}: the site asks {name} ({label}), the sheet does not: {sheet:?}"
            );
        }
        // ... and the sheet lists what it gives in the site's order, under its labels.
        let in_site_order: Vec<String> = site
            .into_iter()
            .map(|(_, label)| label)
            .filter(|label| sheet.contains(label))
            .collect();
        assert_eq!(sheet, in_site_order, "{title}");
        self.person.obtain(handoff).await
    }

    async fn confirm(&mut self, _: &licensing_client::Reminder) -> bool {
        true
    }
}

#[tokio::test]
async fn the_handoff_sheet_lists_every_field_the_web_site_asks_in_its_order() {
    let lab = Lab::new().await;
    let web = ConnectionMethod::WebBrowser;
    let mut person = SheetChecker {
        lab: &lab,
        person: lab.person(),
    };
    let source = lab.source("SOURCE", WindowsServer::V2019).await;
    let server = lab.install("LS", WindowsServer::V2022);
    server.activate(web, &mut person).await.unwrap();
    server
        .install_cals(select_proof(), Some(v2019_per_device(5)), web, &mut person)
        .await
        .unwrap();
    let retail = serde_json::from_value(
        json!({"program": "retail", "license_code": "XYYB3-KGC8Y-7F84V-XGXKF-68W7X"}),
    )
    .unwrap();
    server
        .install_cals(retail, None, web, &mut person)
        .await
        .unwrap();
    for (reason, source) in [
        (
            MigrationReason::SourceReplaced,
            unreachable(&source, WindowsServer::V2019),
        ),
        (
            MigrationReason::SourceNotFunctioning,
            unreachable(&source, WindowsServer::V2019),
        ),
        (MigrationReason::SourceNotFunctioning, Source::unknown()),
    ] {
        server
            .migrate_cals(
                Migration {
                    cals: v2019_per_device(10),
                    ..migration(reason, source)
                },
                web,
                &mut person,
            )
            .await
            .unwrap();
    }
    // CALs lost in a restore onto a new installation, recovered by the web method.
    let backup = lab.dir.path().join("ls.backup.json");
    server.backup(&backup).unwrap();
    let moved = lab.install("LS-AGAIN", WindowsServer::V2022);
    moved.restore(&backup).unwrap();
    moved
        .recover_cals(select_proof(), v2019_per_device(5), web, &mut person)
        .await
        .unwrap();
    moved
        .reactivate(ReactivationReason::Upgraded, web, &mut person)
        .await
        .unwrap();
    moved.deactivate(web, &mut person).await.unwrap();
    let handoffs = &person.person.handoffs;
    assert_eq!(handoffs.len(), 9);
    // The company information the site asks of installations and migrations is on the
    // sheet, and nothing the site does not ask.
    let install: Vec<String> = handoffs[1]
        .particulars()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    for label in ["First name", "Last name", "Company", "Country/region"] {
        assert!(install.iter().any(|l| l == label), "{install:?}");
    }
    let migrate: Vec<String> = handoffs[4]
        .particulars()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert!(
        !migrate
            .iter()
            .any(|l| l.contains("available on the network")),
        "{migrate:?}"
    );
}
