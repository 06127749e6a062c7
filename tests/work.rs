//! The license server at work between migrations: CALs issued to the clients of session
//! hosts (temporary, permanent, renewed, expired, revoked), Per User CALs recorded and not
//! enforced, the version rule, its clock moved forward, and its event log.

use std::time::Duration;

use licensing_client::methods::telephone::CallHolder;
use licensing_client::peer::daemon::Daemon;
use licensing_client::peer::{ClientConnection, Peer};
use licensing_client::state::{EventFilter, EventLevel, Stamp};
use licensing_client::work::issuance::{Change, Grant, Refusal, RevokeError};
use licensing_client::{Error, LicenseServer, Migration, Source};
use serde_json::Value;
use shared::vocab::{
    ConnectionMethod, LicenseType, MigrationReason, ProductVersion, WindowsServer,
};

use crate::helpers::{Lab, cal_request, select_proof};

const DAY: u64 = 24 * 60 * 60;

fn connect(server: &LicenseServer, client: &str) -> Result<Grant, Error> {
    server.connect_client(client, LicenseType::PerDevice, WindowsServer::V2019)
}

/// A device connected twice: its permanent CAL's expiry and key pack.
fn permanent(server: &LicenseServer, client: &str) -> (Stamp, u32) {
    connect(server, client).unwrap();
    match connect(server, client).unwrap() {
        Grant::Permanent {
            expires_at,
            key_pack,
            change: Change::Issued,
        } => (expires_at, key_pack),
        other => panic!("{other:?}"),
    }
}

/// An activated Windows Server 2019 license server holding `quantity` Windows Server 2019
/// Per Device CALs.
async fn holding(lab: &Lab, quantity: u16) -> LicenseServer {
    let server = lab.activated("LS", WindowsServer::V2019).await;
    server
        .install_cals(
            select_proof(),
            Some(cal_request(
                ProductVersion::WindowsServer2019,
                LicenseType::PerDevice,
                quantity,
            )),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    server
}

fn available(server: &LicenseServer) -> u32 {
    server.state().unwrap().key_packs[0].available()
}

#[tokio::test]
async fn a_device_gets_a_temporary_cal_first_and_a_permanent_one_next() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let before = server.state().unwrap().clock();
    let first = connect(&server, "PC-01").unwrap();
    let after = server.state().unwrap().clock();
    let Grant::Temporary { expires_at, new } = first else {
        panic!("{first:?}");
    };
    assert!(new);
    assert!(
        (before.plus(90 * DAY)..=after.plus(90 * DAY)).contains(&expires_at),
        "a temporary CAL lasts 90 days"
    );
    assert_eq!(
        available(&server),
        40,
        "a temporary CAL takes none of the key pack"
    );

    let Grant::Permanent {
        expires_at,
        key_pack,
        change: Change::Issued,
    } = connect(&server, "PC-01").unwrap()
    else {
        panic!("the second connection gets a permanent CAL");
    };
    let days = (expires_at.0 - server.state().unwrap().clock().0) / DAY;
    assert!((51..=89).contains(&days), "{days} days");
    assert_eq!(key_pack, 1);
    assert_eq!(available(&server), 39);
}

#[tokio::test]
async fn a_permanent_cal_is_renewed_only_within_seven_days_of_its_expiry() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let (expires_at, _) = permanent(&server, "PC-01");

    server
        .move_clock(None, Some(Stamp(expires_at.0 - 8 * DAY)))
        .unwrap();
    assert!(matches!(
        connect(&server, "PC-01").unwrap(),
        Grant::Permanent { change: Change::Kept, expires_at: e, .. } if e == expires_at
    ));
    server
        .move_clock(None, Some(Stamp(expires_at.0 - 3 * DAY)))
        .unwrap();
    let Grant::Permanent {
        change: Change::Renewed,
        expires_at: renewed,
        ..
    } = connect(&server, "PC-01").unwrap()
    else {
        panic!("not renewed");
    };
    assert!(renewed.0 >= expires_at.0 - 3 * DAY + 52 * DAY);
    assert_eq!(available(&server), 39, "a renewal takes no second CAL");
}

#[tokio::test]
async fn an_expired_permanent_cal_returns_to_its_key_pack() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let (expires_at, _) = permanent(&server, "PC-01");
    assert_eq!(available(&server), 39);
    server.move_clock(None, Some(expires_at)).unwrap();
    assert!(server.issued_cals().unwrap().is_empty());
    assert_eq!(available(&server), 40);
}

#[tokio::test]
async fn a_device_is_refused_once_its_temporary_cal_expires_with_none_available() {
    let lab = Lab::new().await;
    // 2019 CALs only: a 2022 session host needs 2022 or newer.
    let server = lab.source("LS", WindowsServer::V2022).await;
    let host = WindowsServer::V2022;
    let ask = || server.connect_client("PC-07", LicenseType::PerDevice, host);
    assert!(matches!(ask().unwrap(), Grant::Temporary { new: true, .. }));
    assert!(matches!(
        ask().unwrap(),
        Grant::Temporary { new: false, .. }
    ));
    server
        .move_clock(Some(Duration::from_secs(90 * DAY)), None)
        .unwrap();
    let refused = ask().unwrap_err();
    assert!(
        matches!(refused, Error::Cal(Refusal::NoCalAvailable { .. })),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .starts_with("The remote session was disconnected because there are no Remote Desktop client access licenses available for this computer"),
        "{refused}"
    );
    let warnings = EventFilter {
        level: Some(EventLevel::Warning),
        ..EventFilter::default()
    };
    let state = server.state().unwrap();
    assert!(
        warnings
            .apply(&state)
            .iter()
            .any(|e| e.message.contains("PC-07 was refused"))
    );
}

#[tokio::test]
async fn a_device_back_after_its_permanent_cal_expired_gets_a_permanent_cal_not_a_second_temporary_one()
 {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let (expires_at, _) = permanent(&server, "PC-A");
    server.move_clock(None, Some(expires_at)).unwrap();
    assert_eq!(available(&server), 40, "the expired CAL went back");
    assert!(matches!(
        connect(&server, "PC-A").unwrap(),
        Grant::Permanent {
            change: Change::Issued,
            ..
        }
    ));
    assert_eq!(available(&server), 39);
}

#[tokio::test]
async fn a_device_whose_cal_went_to_another_is_refused_rather_than_given_a_new_temporary_cal() {
    let lab = Lab::new().await;
    let server = holding(&lab, 1).await;
    let (expires_at, _) = permanent(&server, "PC-A");
    server.move_clock(None, Some(expires_at)).unwrap();
    // While PC-A was away, PC-B took the one CAL.
    permanent(&server, "PC-B");
    let refused = connect(&server, "PC-A").unwrap_err();
    assert!(
        matches!(refused, Error::Cal(Refusal::NoCalForReturningDevice { .. })),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .contains("has had its one temporary CAL"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_per_user_cal_counts_against_the_newer_cals_that_serve_its_session_host() {
    let lab = Lab::new().await;
    let server = lab.activated("LS", WindowsServer::V2022).await;
    let agreement = "4417718"; // Select License: 2022 Per User 400.
    server
        .install_cals(
            serde_json::from_value(
                serde_json::json!({"program": "select", "agreement_number": agreement}),
            )
            .unwrap(),
            Some(cal_request(
                ProductVersion::WindowsServer2022,
                LicenseType::PerUser,
                10,
            )),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    server
        .connect_user(
            r"CONTOSO\alice",
            LicenseType::PerUser,
            WindowsServer::V2019,
            None,
        )
        .unwrap();
    let report = server
        .create_report(licensing_client::state::Scope::AllTrustedDomains)
        .unwrap();
    let lines: Vec<(ProductVersion, u32, u32)> = report
        .lines
        .iter()
        .map(|l| (l.product_version, l.installed, l.issued))
        .collect();
    assert_eq!(lines, [(ProductVersion::WindowsServer2022, 10, 1)]);
}

#[tokio::test]
async fn a_key_pack_of_cals_newer_than_the_server_says_they_stay_allocated_to_it() {
    let lab = Lab::new().await;
    let server = lab.install("LS", WindowsServer::V2019);
    // A product ID of the first layout names no release, so the Clearinghouse cannot
    // apply the version rule and the license server is the one that refuses.
    let state_file = server.dir().join(licensing_client::state::STATE_FILE);
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    state["identity"]["product_id"] = "10974-31221-16202-49672-18729-77270-17360".into();
    std::fs::write(&state_file, serde_json::to_vec(&state).unwrap()).unwrap();
    server
        .activate(ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    let retail: shared::vocab::LicenseProof = serde_json::from_value(
        serde_json::json!({"program": "retail", "license_code": "883PB-8RRWV-DT32X-FVY4X-TYMV3"}),
    )
    .unwrap();
    let refused = server
        .install_cals(
            retail,
            None,
            ConnectionMethod::WebBrowser,
            &mut lab.person(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::IssuedTooNew { .. }), "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains("holds 10 Windows Server 2022 Per Device CALs"),
        "{message}"
    );
    assert!(message.contains("stay allocated to it"), "{message}");
    assert!(message.contains("migrate them from it"), "{message}");
    assert!(server.state().unwrap().key_packs.is_empty());
}

#[tokio::test]
async fn a_not_activated_server_issues_only_temporary_cals() {
    let lab = Lab::new().await;
    let server = lab.install("LS", WindowsServer::V2019);
    for _ in 0..3 {
        assert!(matches!(
            connect(&server, "PC-01").unwrap(),
            Grant::Temporary { .. }
        ));
    }
}

#[tokio::test]
async fn per_user_cals_are_recorded_and_not_enforced() {
    let lab = Lab::new().await;
    // Per Device CALs only: no Per User CAL is installed.
    let server = lab.source("LS", WindowsServer::V2019).await;
    for user in ["alice", "bob", "carol"] {
        let grant = server
            .connect_client(user, LicenseType::PerUser, WindowsServer::V2019)
            .unwrap();
        assert!(matches!(grant, Grant::PerUser { .. }), "{grant:?}");
    }
    assert_eq!(server.issued_cals().unwrap().len(), 3);
    assert_eq!(
        available(&server),
        40,
        "Per User CALs take nothing from a key pack"
    );
    let state = server.state().unwrap();
    let over = EventFilter {
        contains: Some("are not enforced".into()),
        ..EventFilter::default()
    };
    assert_eq!(over.apply(&state).len(), 3, "each one over is logged");
}

#[tokio::test]
async fn at_most_a_fifth_of_a_versions_cals_may_be_revoked_at_once() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let devices: Vec<String> = (1..=9).map(|i| format!("PC-{i:02}")).collect();
    let mut expiries = Vec::new();
    for device in &devices {
        expiries.push(permanent(&server, device).0);
    }
    assert_eq!(available(&server), 31);
    for device in &devices[..8] {
        server.revoke_cal(device).unwrap();
    }
    assert_eq!(available(&server), 39, "a revoked CAL is available at once");
    let refused = server.revoke_cal(&devices[8]).unwrap_err();
    let Error::Revoke(RevokeError::LimitReached {
        limit,
        next_allowed_on,
        ..
    }) = refused
    else {
        panic!("{refused}");
    };
    assert_eq!(limit, 8, "20% of 40");
    assert_eq!(
        next_allowed_on,
        expiries[..8].iter().copied().min().unwrap()
    );

    // Once the first revoked CAL would have expired, one more may be revoked.
    server.move_clock(None, Some(next_allowed_on)).unwrap();
    permanent(&server, "PC-10");
    server.revoke_cal("PC-10").unwrap();
}

#[tokio::test]
async fn a_temporary_or_per_user_cal_cannot_be_revoked() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    connect(&server, "PC-01").unwrap();
    server
        .connect_client("alice", LicenseType::PerUser, WindowsServer::V2019)
        .unwrap();
    for client in ["PC-01", "alice"] {
        let refused = server.revoke_cal(client).unwrap_err();
        assert!(
            matches!(refused, Error::Revoke(RevokeError::NothingToRevoke { .. })),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn session_hosts_get_cals_through_the_daemon() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let daemon = Daemon::start(server.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let peer = Peer::new(&daemon.addr().to_string()).unwrap();
    let asked = ClientConnection {
        client: "PC-01".into(),
        license_type: LicenseType::PerDevice,
        session_host_os: WindowsServer::V2016,
        ou: None,
    };
    assert!(matches!(
        peer.connect_client(&asked).await.unwrap(),
        Grant::Temporary { new: true, .. }
    ));
    assert!(matches!(
        peer.connect_client(&asked).await.unwrap(),
        Grant::Permanent {
            change: Change::Issued,
            ..
        }
    ));
    let nameless = ClientConnection {
        client: String::new(),
        ..asked
    };
    let refused = peer.connect_client(&nameless).await.unwrap_err();
    assert!(refused.to_string().contains("client name"), "{refused}");
    daemon.stop().await;
}

#[tokio::test]
async fn cals_newer_than_the_servers_os_are_refused_before_the_clearinghouse_is_asked() {
    let lab = Lab::new().await;
    let server = lab.activated("LS", WindowsServer::V2019).await;
    let refused = server
        .install_cals(
            select_proof(),
            Some(cal_request(
                ProductVersion::WindowsServer2022,
                LicenseType::PerUser,
                5,
            )),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::TooNew(_)), "{refused}");
    let message = refused.to_string();
    assert!(message.contains("it runs Windows Server 2019"), "{message}");
    assert!(message.contains("nothing was installed"), "{message}");

    let journal: Value = crate::helpers::ok(
        lab.app
            .control(reqwest::Method::GET, "default", "/journal", None)
            .await,
    )
    .await;
    let entries = journal["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["route"] != "/api/v1/key-packs"));

    // The same or an older version installs.
    server
        .install_cals(
            select_proof(),
            Some(cal_request(
                ProductVersion::WindowsServer2016,
                LicenseType::PerDevice,
                5,
            )),
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_migration_of_newer_cals_is_refused_too() {
    let lab = Lab::new().await;
    let source = lab.source("OLD", WindowsServer::V2022).await;
    let target = lab.activated("NEW", WindowsServer::V2016).await;
    let migration = Migration {
        reason: MigrationReason::SourceReplaced,
        source: Source::Unreachable {
            license_server_id: Some(Lab::id_of(&source)),
            os: Some(WindowsServer::V2022),
            name: None,
        },
        license: select_proof(),
        cals: cal_request(
            ProductVersion::WindowsServer2019,
            LicenseType::PerDevice,
            40,
        ),
    };
    let refused = target
        .migrate_cals(migration, ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::TooNew(_)), "{refused}");
    assert_eq!(lab.app.held(Lab::id_of(&source)).await, 40);
}

#[tokio::test]
async fn the_clock_moves_only_forward() {
    let lab = Lab::new().await;
    let server = lab.install("LS", WindowsServer::V2019);
    let now = server.state().unwrap().clock();
    let moved = server
        .move_clock(Some(Duration::from_secs(10 * DAY)), None)
        .unwrap();
    assert!(moved.0 >= now.0 + 10 * DAY);
    let refused = server.move_clock(None, Some(now)).unwrap_err();
    assert!(matches!(refused, Error::BadClock(_)), "{refused}");
}

#[tokio::test]
async fn the_command_line_lists_and_filters_the_event_log() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2019").await;
    cli.run(&["activate"]).await.ok();
    cli.run(&["clock", "--advance", "30days"]).await.ok();
    cli.run(&["connect", "--client", "PC-01", "--host-os", "2019"])
        .await
        .ok();

    let all = cli.run(&["events"]).await.ok();
    assert!(
        all.stdout.contains("  info     activated by the"),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout
            .contains("temporary Per Device CAL was issued to PC-01")
    );

    let found = cli.run(&["events", "--contains", "CLOCK"]).await.ok();
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", found.stdout);
    assert!(lines[0].contains("the clock was moved forward"));

    let warnings = cli.run(&["events", "--level", "warning"]).await.ok();
    assert_eq!(warnings.stdout, "", "no warning yet");

    let last: Value = cli
        .run(&["events", "--last", "1", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert!(last[0]["message"].as_str().unwrap().contains("PC-01"));

    let bad = cli.run(&["events", "--level", "loud"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("information or warning"),
        "{}",
        bad.stderr
    );
}

/// A license server with 40 Windows Server 2019 Per Device CALs, 2 of them issued, and a
/// backup of it.
async fn backed_up(lab: &Lab) -> (LicenseServer, std::path::PathBuf) {
    let server = lab.source("LS", WindowsServer::V2019).await;
    permanent(&server, "PC-01");
    permanent(&server, "PC-02");
    let file = lab.dir.path().join("ls.backup.json");
    server.backup(&file).unwrap();
    (server, file)
}

#[tokio::test]
async fn a_backup_restored_onto_the_same_installation_brings_the_unissued_licenses_back() {
    let lab = Lab::new().await;
    let (server, file) = backed_up(&lab).await;
    // After the backup, two more devices take CALs.
    permanent(&server, "PC-03");
    permanent(&server, "PC-04");
    assert_eq!(available(&server), 36);

    let restored = server.restore(&file).unwrap();
    assert!(restored.same_installation);
    assert!(restored.not_restored.is_empty());
    let pack = &server.state().unwrap().key_packs[0];
    assert_eq!((pack.total(), pack.available()), (40, 38));
}

#[tokio::test]
async fn onto_a_new_installation_unissued_licenses_are_lost_until_recovered_by_phone() {
    let lab = Lab::new().await;
    let (old, file) = backed_up(&lab).await;
    let id = Lab::id_of(&old);
    let before = lab.app.audit("default").await;

    // The operating system replaced: a new installation of the same server.
    let new = lab.install("LS-REBUILT", WindowsServer::V2019);
    let restored = new.restore(&file).unwrap();
    assert!(!restored.same_installation);
    assert_eq!(restored.not_restored, vec![(1, 38)]);
    let state = new.state().unwrap();
    assert_eq!(state.activation.license_server_id(), Some(id));
    assert_eq!(
        (state.key_packs[0].total(), state.key_packs[0].available()),
        (2, 0)
    );
    let warning = EventFilter {
        level: Some(EventLevel::Warning),
        ..EventFilter::default()
    };
    let events = warning.apply(&state);
    assert!(
        events
            .iter()
            .any(|e| e.message.contains("38 unissued licenses were not restored")),
        "{events:?}"
    );

    // No more than were lost may be recovered.
    let too_many = new
        .recover_cals(
            select_proof(),
            cal_request(
                ProductVersion::WindowsServer2019,
                LicenseType::PerDevice,
                39,
            ),
            ConnectionMethod::Telephone,
            &mut CallHolder::new(true),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(too_many, Error::NotLost { lost: 38, .. }),
        "{too_many}"
    );

    let recovered = new
        .recover_cals(
            select_proof(),
            cal_request(
                ProductVersion::WindowsServer2019,
                LicenseType::PerDevice,
                38,
            ),
            ConnectionMethod::Telephone,
            &mut CallHolder::new(true),
        )
        .await
        .unwrap();
    assert_eq!(recovered.installed, 38);
    let state = new.state().unwrap();
    let total: u32 = state.key_packs.iter().map(|k| k.total()).sum();
    let available: u32 = state.key_packs.iter().map(|k| k.available()).sum();
    assert_eq!((total, available), (40, 38));

    // The Clearinghouse reissued them: no CAL was created.
    let after = lab.app.audit("default").await;
    assert!(after.ok, "{after:?}");
    assert_eq!(
        (after.purchased, after.allocated),
        (before.purchased, before.allocated)
    );
    assert_eq!(lab.app.held(id).await, 40);
}

#[tokio::test]
async fn a_damaged_or_foreign_backup_is_refused_and_changes_nothing() {
    let lab = Lab::new().await;
    let (server, file) = backed_up(&lab).await;
    let before = server.state().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();

    let changed = lab.dir.path().join("changed.json");
    std::fs::write(
        &changed,
        text.replacen("\"installed\": 40", "\"installed\": 400", 1),
    )
    .unwrap();
    let cut = lab.dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let foreign = lab.dir.path().join("foreign.json");
    std::fs::write(&foreign, r#"{"format": 1, "tenant": "default"}"#).unwrap();

    let damaged = server.restore(&changed).unwrap_err();
    assert!(
        damaged.to_string().contains("checksum does not match"),
        "{damaged}"
    );
    for file in [&cut, &foreign] {
        let refused = server.restore(file).unwrap_err();
        assert!(
            refused
                .to_string()
                .ends_with("is not a license server backup"),
            "{refused}"
        );
    }
    let missing = server
        .restore(&lab.dir.path().join("missing.json"))
        .unwrap_err();
    assert!(missing.to_string().contains("missing.json"), "{missing}");
    assert_eq!(server.state().unwrap(), before);
}

#[tokio::test]
async fn a_backup_of_another_license_server_is_refused() {
    let lab = Lab::new().await;
    let (_, file) = backed_up(&lab).await;
    let other = lab.activated("OTHER", WindowsServer::V2019).await;
    let before = other.state().unwrap();
    let refused = other.restore(&file).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("restore it onto its own server or a new installation"),
        "{refused}"
    );
    assert_eq!(other.state().unwrap(), before);
}

#[tokio::test]
async fn cal_usage_reports_count_per_user_cals_by_scope_and_save_as_csv() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2022").await;
    cli.run(&["activate"]).await.ok();
    cli.run(&[
        "install-cals",
        "--program",
        "select",
        "--agreement-number",
        "4417718",
        "--product-version",
        "2022",
        "--license-type",
        "per-user",
        "--quantity",
        "50",
    ])
    .await
    .ok();
    for (user, ou) in [
        (r"CONTOSO\alice", Some("Sales")),
        (r"CONTOSO\bob", Some("Finance")),
        ("dave@fabrikam", None),
        ("carol", None),
    ] {
        let mut args = vec!["connect", "--client", user, "--license-type", "per-user"];
        if let Some(ou) = ou {
            args.extend(["--ou", ou]);
        }
        cli.run(&args).await.ok();
    }

    let scopes: [&[&str]; 3] = [
        &["--domain", "contoso"],
        &["--domain", "CONTOSO", "--ou", "sales"],
        &["--all-trusted-domains"],
    ];
    for (n, scope) in scopes.iter().enumerate() {
        let mut args = vec!["report", "create"];
        args.extend_from_slice(scope);
        let created = cli.run(&args).await.ok();
        assert!(
            created
                .stdout
                .contains(&format!("CAL usage report {}", n + 1))
        );
    }
    let listed = cli.run(&["report", "list"]).await.ok();
    assert_eq!(listed.stdout.lines().count(), 3, "{}", listed.stdout);

    let issued_in = |n: u32| {
        let file = lab.dir.path().join(format!("report-{n}.csv"));
        let cli = &cli;
        async move {
            let n_text = n.to_string();
            cli.run(&["report", "save", &n_text, file.to_str().unwrap()])
                .await
                .ok();
            let mut reader = csv::Reader::from_path(&file).unwrap();
            let headers = reader.headers().unwrap().clone();
            assert_eq!(
                headers.iter().collect::<Vec<_>>(),
                [
                    "Report created",
                    "Scope",
                    "Product version",
                    "Per User CALs installed",
                    "Per User CALs issued"
                ]
            );
            let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            assert_eq!(rows.len(), 1, "one product version");
            assert_eq!(&rows[0][2], "Windows Server 2022");
            assert_eq!(&rows[0][3], "50", "installed, whatever the scope");
            (rows[0][1].to_owned(), rows[0][4].parse::<u32>().unwrap())
        }
    };
    assert_eq!(issued_in(1).await, ("Domain contoso".to_owned(), 2));
    assert_eq!(issued_in(2).await, ("OU=sales, CONTOSO".to_owned(), 1));
    assert_eq!(issued_in(3).await, ("All trusted domains".to_owned(), 4));

    cli.run(&["report", "delete", "2"]).await.ok();
    let gone = cli.run(&["report", "show", "2"]).await;
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(
        gone.stderr.contains("there is no report 2"),
        "{}",
        gone.stderr
    );
    let listed = cli.run(&["report", "list"]).await.ok();
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);

    // A number is never given twice, even after the newest report is deleted.
    cli.run(&["report", "delete", "3"]).await.ok();
    let next = cli
        .run(&["report", "create", "--all-trusted-domains"])
        .await
        .ok();
    assert!(
        next.stdout.contains("CAL usage report 4"),
        "{}",
        next.stdout
    );
}

#[tokio::test]
async fn a_report_needs_a_scope() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2022").await;
    let refused = cli.run(&["report", "create", "--ou", "Sales"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--domain"), "{}", refused.stderr);
}

mod session_hosts {
    use super::*;
    use licensing_client::work::session_host::{Admitted, ConnectError, HostError, SessionHost};

    fn host(lab: &Lab, name: &str, os: WindowsServer, stations: Option<u32>) -> SessionHost {
        SessionHost::install(&lab.dir.path().join(name), name, os, stations).unwrap()
    }

    async fn serving(server: &LicenseServer) -> Daemon {
        Daemon::start(server.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    /// An address where nothing listens.
    fn nobody() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    }

    #[tokio::test]
    async fn a_missing_session_host_is_named_with_the_command_that_installs_one() {
        let lab = Lab::new().await;
        let missing = SessionHost::open(&lab.dir.path().join("nowhere")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("license-server session-host --host-dir"),
            "{missing}"
        );
        host(&lab, "RDSH", WindowsServer::V2022, None);
        let twice = SessionHost::install(
            &lab.dir.path().join("RDSH"),
            "RDSH",
            WindowsServer::V2022,
            None,
        )
        .unwrap_err();
        assert!(twice.to_string().contains("another --host-dir"), "{twice}");
    }

    #[tokio::test]
    async fn without_licensing_settings_a_host_runs_on_its_grace_period_then_refuses() {
        let lab = Lab::new().await;
        let rdsh = host(&lab, "RDSH", WindowsServer::V2022, None);
        assert_eq!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Grace {
                days_left: 120,
                warning: None
            }
        );
        rdsh.advance_clock(104 * DAY).unwrap();
        assert_eq!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Grace {
                days_left: 16,
                warning: None
            },
            "no warning 16 days before the end"
        );
        rdsh.advance_clock(DAY).unwrap();
        assert!(matches!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Grace {
                days_left: 15,
                warning: Some(_)
            }
        ));
        rdsh.advance_clock(DAY).unwrap();
        let Admitted::Grace {
            days_left: 14,
            warning: Some(warning),
        } = rdsh.connect("PC-01", None).await.unwrap()
        else {
            panic!("no warning 14 days before the end");
        };
        assert!(
            warning.contains("Remote Desktop Services will stop working in 14 days"),
            "{warning}"
        );
        rdsh.advance_clock(14 * DAY).unwrap();
        let refused = rdsh.connect("PC-01", None).await.unwrap_err();
        assert!(
            refused.to_string().starts_with("The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license."),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn a_configured_host_asks_its_license_servers_in_order() {
        let lab = Lab::new().await;
        let server = lab.source("LS", WindowsServer::V2019).await;
        let daemon = serving(&server).await;
        let rdsh = host(&lab, "RDSH", WindowsServer::V2019, None);
        let daemon_addr = daemon.addr().to_string();
        rdsh.configure(
            Some(LicenseType::PerDevice),
            Some(vec![nobody(), daemon_addr.clone()]),
        )
        .unwrap();
        let Admitted::Licensed {
            license_server,
            grant: Grant::Temporary { .. },
        } = rdsh.connect("PC-01", None).await.unwrap()
        else {
            panic!("the first connection gets a temporary CAL");
        };
        assert_eq!(license_server, daemon_addr);
        assert!(matches!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Licensed {
                grant: Grant::Permanent { .. },
                ..
            }
        ));
        assert_eq!(available(&server), 39);
        daemon.stop().await;
    }

    #[tokio::test]
    async fn a_host_whose_license_server_has_no_matching_cals_is_refused_after_the_temporary_cal() {
        let lab = Lab::new().await;
        // Per User CALs only, asked for Per Device.
        let server = lab.activated("LS", WindowsServer::V2022).await;
        let license: shared::vocab::LicenseProof = serde_json::from_value(
            serde_json::json!({"program": "select", "agreement_number": "4417718"}),
        )
        .unwrap();
        server
            .install_cals(
                license,
                Some(cal_request(
                    ProductVersion::WindowsServer2022,
                    LicenseType::PerUser,
                    20,
                )),
                ConnectionMethod::Automatic,
                &mut lab.person(),
            )
            .await
            .unwrap();
        let daemon = serving(&server).await;
        let rdsh = host(&lab, "RDSH", WindowsServer::V2022, None);
        rdsh.configure(
            Some(LicenseType::PerDevice),
            Some(vec![daemon.addr().to_string()]),
        )
        .unwrap();
        assert!(matches!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Licensed {
                grant: Grant::Temporary { .. },
                ..
            }
        ));
        server
            .move_clock(Some(Duration::from_secs(90 * DAY)), None)
            .unwrap();
        let refused = rdsh.connect("PC-01", None).await.unwrap_err();
        assert!(
            matches!(
                &refused,
                HostError::Connect(ConnectError::Refused { reason, .. })
                    if reason.contains("no Remote Desktop client access licenses available")
            ),
            "{refused}"
        );
        daemon.stop().await;
    }

    #[tokio::test]
    async fn a_multipoint_system_needs_a_cal_for_every_station() {
        let lab = Lab::new().await;
        let server = lab.activated("LS", WindowsServer::V2022).await;
        let daemon = serving(&server).await;
        let multipoint = host(&lab, "MPS", WindowsServer::V2022, Some(3));
        multipoint
            .configure(
                Some(LicenseType::PerUser),
                Some(vec![daemon.addr().to_string()]),
            )
            .unwrap();
        for station in 1..=3 {
            assert!(matches!(
                multipoint.connect("", Some(station)).await.unwrap(),
                Admitted::Licensed {
                    grant: Grant::PerUser { .. },
                    ..
                }
            ));
        }
        let mut clients: Vec<String> = server
            .issued_cals()
            .unwrap()
            .into_iter()
            .map(|c| c.client)
            .collect();
        clients.sort();
        assert_eq!(clients, ["MPS-station-1", "MPS-station-2", "MPS-station-3"]);
        let refused = multipoint.connect("", Some(4)).await.unwrap_err();
        assert!(
            matches!(
                refused,
                HostError::Connect(ConnectError::NoSuchStation { stations: 3, .. })
            ),
            "{refused}"
        );
        daemon.stop().await;
    }

    #[tokio::test]
    async fn a_host_whose_license_server_is_down_says_so_in_the_diagnosers_words() {
        let lab = Lab::new().await;
        let rdsh = host(&lab, "RDSH", WindowsServer::V2022, None);
        let missing = nobody();
        rdsh.configure(Some(LicenseType::PerUser), Some(vec![missing.clone()]))
            .unwrap();
        let Admitted::Grace {
            warning: Some(warning),
            days_left,
        } = rdsh.connect(r"CONTOSO\alice", None).await.unwrap()
        else {
            panic!("the host runs on its grace period and warns");
        };
        assert_eq!(days_left, 120);
        assert!(
            warning.starts_with(&format!(
                "License server {missing} is not available. This could be caused by network connectivity problems, the Remote Desktop Licensing service is stopped on the license server, or RD Licensing isn't available"
            )),
            "{warning}"
        );
        assert!(
            !warning.contains("licensing mode is not configured"),
            "{warning}"
        );
        assert!(!warning.contains("--source-unreachable"), "{warning}");
    }

    #[tokio::test]
    async fn with_no_license_server_reachable_a_host_refuses_once_its_grace_period_ends() {
        let lab = Lab::new().await;
        let rdsh = host(&lab, "RDSH", WindowsServer::V2022, None);
        let missing = nobody();
        rdsh.configure(Some(LicenseType::PerDevice), Some(vec![missing.clone()]))
            .unwrap();
        assert!(matches!(
            rdsh.connect("PC-01", None).await.unwrap(),
            Admitted::Grace { .. }
        ));
        rdsh.advance_clock(120 * DAY).unwrap();
        let refused = rdsh.connect("PC-01", None).await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains(&format!("License server {missing} is not available.")),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_rebuilt_database_reinstalls_the_key_packs_and_loses_what_was_issued() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    permanent(&server, "PC-01");
    permanent(&server, "PC-02");
    let warning = server.rebuild_warning().unwrap();
    assert!(
        warning.contains("The 2 CALs issued to clients are lost"),
        "{warning}"
    );

    let rebuilt = server.rebuild().unwrap();
    assert_eq!(rebuilt.reinstalled, vec![(1, 40)]);
    assert_eq!(rebuilt.issued_lost, 2);
    assert!(server.issued_cals().unwrap().is_empty());
    assert_eq!(available(&server), 40);
    assert_eq!(
        lab.app.held(Lab::id_of(&server)).await,
        40,
        "the Clearinghouse is not asked"
    );
}

#[tokio::test]
async fn key_packs_from_before_a_reactivation_are_recovered_after_a_rebuild_by_the_web_site() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    server
        .reactivate(
            shared::vocab::ReactivationReason::Redeployed,
            ConnectionMethod::Automatic,
            &mut lab.person(),
        )
        .await
        .unwrap();
    let rebuilt = server.rebuild().unwrap();
    assert_eq!(rebuilt.to_recover, vec![(1, 40)]);
    assert_eq!(available(&server), 0);

    let recovered = server
        .recover_cals(
            select_proof(),
            cal_request(
                ProductVersion::WindowsServer2019,
                LicenseType::PerDevice,
                40,
            ),
            ConnectionMethod::WebBrowser,
            &mut licensing_client::methods::web::FormFiller::new(true),
        )
        .await
        .unwrap();
    assert_eq!(recovered.installed, 40);
    let total: u32 = server
        .state()
        .unwrap()
        .key_packs
        .iter()
        .map(|k| k.total())
        .sum();
    assert_eq!(total, 40);
    assert!(lab.app.audit("default").await.ok);
}

#[tokio::test]
async fn the_command_line_rebuilds_only_once_confirmed() {
    let lab = Lab::new().await;
    let cli = lab.cli_install("LS", "2019").await;
    cli.run(&["activate"]).await.ok();
    cli.run(&[
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
        "10",
    ])
    .await
    .ok();
    let before: Value = cli.run(&["status", "--json"]).await.json();
    let refused = cli.run(&["rebuild"]).await;
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("CALs issued to clients are lost"),
        "{}",
        refused.stderr
    );
    let after: Value = cli.run(&["status", "--json"]).await.json();
    assert_eq!(before["events"], after["events"], "nothing was changed");

    let rebuilt = cli.run(&["rebuild", "--yes"]).await.ok();
    assert!(
        rebuilt.stdout.contains("10 CALs reinstalled"),
        "{}",
        rebuilt.stdout
    );
}

#[tokio::test]
async fn a_revoked_cal_that_expires_is_not_returned_twice() {
    let lab = Lab::new().await;
    let server = lab.source("LS", WindowsServer::V2019).await;
    let (expires_at, _) = permanent(&server, "PC-01");
    server.revoke_cal("PC-01").unwrap();
    assert_eq!(available(&server), 40);
    server.move_clock(None, Some(expires_at)).unwrap();
    assert!(server.issued_cals().unwrap().is_empty());
    assert_eq!(available(&server), 40);
}

#[tokio::test]
async fn one_cal_may_always_be_revoked_even_of_a_small_key_pack() {
    let lab = Lab::new().await;
    let server = holding(&lab, 4).await;
    permanent(&server, "PC-01");
    permanent(&server, "PC-02");
    // 20% of 4 is 0.8: one, the floor.
    server.revoke_cal("PC-01").unwrap();
    let refused = server.revoke_cal("PC-02").unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Revoke(RevokeError::LimitReached { limit: 1, .. })
        ),
        "{refused}"
    );
}

#[tokio::test]
async fn the_clock_cannot_be_moved_past_the_year_9000() {
    let lab = Lab::new().await;
    let server = lab.install("LS", WindowsServer::V2019);
    let far = server
        .move_clock(Some(Duration::from_secs(10_000 * 366 * DAY)), None)
        .unwrap_err();
    assert!(matches!(far, Error::BadClock(_)), "{far}");
    let set = server
        .move_clock(None, Some("9999-12-01T00:00:00Z".parse().unwrap()))
        .unwrap_err();
    assert!(matches!(set, Error::BadClock(_)), "{set}");
    // Still usable.
    connect(&server, "PC-01").unwrap();
}

/// Migrates `quantity` of `source`'s 2019 Per Device CALs of Select 4412903 to a new
/// target, the source reached through its daemon (which removes them from it).
async fn migrate_from_daemon(lab: &Lab, source: &LicenseServer, quantity: u16) {
    let target = lab.activated("NEW", WindowsServer::V2022).await;
    let daemon = Daemon::start(source.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let migration = Migration {
        reason: MigrationReason::SourceReplaced,
        source: Source::Reachable(daemon.addr().to_string()),
        license: select_proof(),
        cals: cal_request(
            ProductVersion::WindowsServer2019,
            LicenseType::PerDevice,
            quantity,
        ),
    };
    target
        .migrate_cals(migration, ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    daemon.stop().await;
}

#[tokio::test]
async fn a_restore_keeps_the_cals_migrated_away_since_the_backup() {
    let lab = Lab::new().await;
    let source = lab.source("OLD", WindowsServer::V2019).await;
    let file = lab.dir.path().join("old.backup.json");
    source.backup(&file).unwrap();

    migrate_from_daemon(&lab, &source, 25).await;
    assert_eq!(available(&source), 15);

    source.restore(&file).unwrap();
    assert_eq!(
        available(&source),
        15,
        "the 25 migrated CALs are the target's"
    );
    assert_eq!(source.state().unwrap().removals.len(), 1);
}

#[tokio::test]
async fn a_restore_keeps_the_cals_removed_by_hand_since_the_backup() {
    let lab = Lab::new().await;
    let source = lab.source("OLD", WindowsServer::V2019).await;
    let file = lab.dir.path().join("old.backup.json");
    source.backup(&file).unwrap();
    source
        .remove_cals(
            &licensing_client::work::removal::KeyPackRef::Local(1),
            Some(25),
        )
        .unwrap();
    assert_eq!(available(&source), 15);
    source.restore(&file).unwrap();
    assert_eq!(
        available(&source),
        15,
        "the CALs removed by hand stay removed"
    );
}

#[tokio::test]
async fn a_source_that_gave_up_its_cals_from_other_key_packs_is_not_told_to_remove_more() {
    let lab = Lab::new().await;
    let source = lab.activated("OLD", WindowsServer::V2019).await;
    for quantity in [20, 10] {
        source
            .install_cals(
                select_proof(),
                Some(cal_request(
                    ProductVersion::WindowsServer2019,
                    LicenseType::PerDevice,
                    quantity,
                )),
                ConnectionMethod::Automatic,
                &mut lab.person(),
            )
            .await
            .unwrap();
    }
    // Fifteen devices hold CALs of the first key pack, so the source gives up five of it
    // and five of the second, while the Clearinghouse takes all ten from the first.
    for n in 0..15 {
        permanent(&source, &format!("PC-{n:02}"));
    }
    migrate_from_daemon(&lab, &source, 10).await;
    let found = source.reconcile(Duration::from_secs(2)).await.unwrap();
    assert_eq!(found, Vec::new());
}

#[tokio::test]
async fn a_backup_of_a_never_activated_server_is_refused_by_an_activated_one() {
    let lab = Lab::new().await;
    let fresh = lab.install("FRESH", WindowsServer::V2019);
    let file = lab.dir.path().join("fresh.backup.json");
    fresh.backup(&file).unwrap();
    let server = lab.source("LS", WindowsServer::V2019).await;
    let before = server.state().unwrap();
    let refused = server.restore(&file).unwrap_err();
    assert!(refused.to_string().contains("never activated"), "{refused}");
    assert_eq!(server.state().unwrap(), before);
}

#[tokio::test]
async fn a_backup_is_restored_only_onto_the_release_it_was_taken_on() {
    let lab = Lab::new().await;
    let (_, file) = backed_up(&lab).await;
    let older = lab.install("OLDER", WindowsServer::V2016);
    let before = older.state().unwrap();
    let refused = older.restore(&file).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("was taken on a license server running Windows Server 2019, and this one runs Windows Server 2016"),
        "{refused}"
    );
    assert_eq!(older.state().unwrap(), before);
}
