//! The JSON API of the automatic method, route by route and rule by rule, against a real
//! clearinghouse on a loopback port.

use serde_json::{Value, json};
use shared::id::{KeyPackContents, KeyPackId, LicenseServerId};
use shared::vocab::{LicenseType, ProductVersion};
use shared::wire::ErrorCode;

use crate::helpers::{
    TestApp, cals, company, created, ok, problem, reachable_source, select_4412903,
};

// Activation, reactivation, deactivation.

#[tokio::test]
async fn activation_gives_a_license_server_id_that_reports_activated() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let status = app.status(id).await;
    assert_eq!(status["status"], "activated");
    assert_eq!(status["key_packs"], json!([]));
}

#[tokio::test]
async fn a_product_id_is_activated_once() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let id = app.activate_product(product_id).await;
    let again = app
        .post(
            "/api/v1/activations",
            &json!({"product_id": product_id, "company": company()}),
            None,
        )
        .await;
    let p = problem(again, ErrorCode::AlreadyActivated).await;
    assert!(p.detail.contains(&id.to_string()), "{}", p.detail);
    assert!(p.detail.contains("reactivate"), "{}", p.detail);
}

#[tokio::test]
async fn activation_requires_the_company_information() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let response = app
        .post(
            "/api/v1/activations",
            &json!({"product_id": product_id, "company": {"first_name": "Ada", "last_name": "L", "country_region": "GB"}}),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert_eq!(p.field.as_deref(), Some("company"));
    assert!(p.detail.contains("company is required"), "{}", p.detail);
}

#[tokio::test]
async fn reactivation_gives_a_new_id_and_the_old_one_receives_nothing() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let old = app.activate_product(product_id).await;
    let key_pack = app
        .install_ok(old, select_4412903(), cals("2019", "per-device", 5))
        .await;
    let body: Value = created(
        app.post(
            "/api/v1/reactivations",
            &json!({"license_server_id": old, "product_id": product_id, "reason": "certificate-corrupted"}),
            None,
        )
        .await,
    )
    .await;
    let new: LicenseServerId = body["license_server_id"].as_str().unwrap().parse().unwrap();
    assert_ne!(new, old);

    let status = app.status(old).await;
    assert_eq!(status["status"], "replaced");
    assert_eq!(status["replaced_by"], json!(new));
    let refused = app
        .install(old, select_4412903(), cals("2019", "per-device", 1))
        .await;
    let p = problem(refused, ErrorCode::LicenseServerReplaced).await;
    assert!(p.detail.contains(&new.to_string()), "{}", p.detail);

    // The CALs stay with the license server under its new ID.
    let held = app.status(new).await["key_packs"][0]["key_pack_id"].clone();
    assert_eq!(held, json!(key_pack));
}

#[tokio::test]
async fn reactivation_needs_the_license_servers_own_product_id() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let other = app.product_id();
    let response = app
        .post(
            "/api/v1/reactivations",
            &json!({"license_server_id": id, "product_id": other, "reason": "redeployed"}),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert_eq!(p.field.as_deref(), Some("product_id"));
}

#[tokio::test]
async fn an_unknown_reactivation_reason_lists_the_real_ones() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let id = app.activate_product(product_id).await;
    let response = app
        .post(
            "/api/v1/reactivations",
            &json!({"license_server_id": id, "product_id": product_id, "reason": "bored"}),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert_eq!(p.field.as_deref(), Some("reason"));
    assert!(p.detail.contains("private-key-compromised"), "{}", p.detail);
}

#[tokio::test]
async fn deactivation_gives_a_confirmation_code_and_stops_all_receiving() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let body: Value = ok(app
        .post(
            "/api/v1/deactivations",
            &json!({"license_server_id": id}),
            None,
        )
        .await)
    .await;
    let code: shared::id::ConfirmationCode =
        body["confirmation_code"].as_str().unwrap().parse().unwrap();
    assert_eq!(code.groups().len(), 7);
    assert_eq!(app.status(id).await["status"], "deactivated");

    let refused = app
        .install(id, select_4412903(), cals("2019", "per-device", 1))
        .await;
    problem(refused, ErrorCode::LicenseServerDeactivated).await;
    let again = app
        .post(
            "/api/v1/deactivations",
            &json!({"license_server_id": id}),
            None,
        )
        .await;
    problem(again, ErrorCode::LicenseServerDeactivated).await;
}

#[tokio::test]
async fn a_deactivated_server_receives_again_once_reactivated() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let id = app.activate_product(product_id).await;
    app.post(
        "/api/v1/deactivations",
        &json!({"license_server_id": id}),
        None,
    )
    .await;
    let body: Value = created(
        app.post(
            "/api/v1/reactivations",
            &json!({"license_server_id": id, "product_id": product_id, "reason": "redeployed"}),
            None,
        )
        .await,
    )
    .await;
    let new: LicenseServerId = body["license_server_id"].as_str().unwrap().parse().unwrap();
    app.install_ok(new, select_4412903(), cals("2019", "per-device", 1))
        .await;
}

#[tokio::test]
async fn an_unknown_license_server_is_named() {
    let app = TestApp::spawn().await;
    let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
    let product_id = shared::id::ProductId::generate(shared::vocab::WindowsServer::V2022, &mut rng);
    let unknown = LicenseServerId::issue(&product_id, &mut rng);
    let p = problem(
        app.get(&format!("/api/v1/license-servers/{unknown}")).await,
        ErrorCode::UnknownLicenseServer,
    )
    .await;
    assert!(p.detail.contains(&unknown.to_string()));
}

// Installing CALs.

#[tokio::test]
async fn installing_cals_gives_a_key_pack_id_the_server_can_open() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let key_pack = app
        .install_ok(id, select_4412903(), cals("2019", "per-user", 40))
        .await;
    assert_eq!(
        key_pack.open(&id),
        Ok(KeyPackContents {
            product_version: ProductVersion::WindowsServer2019,
            license_type: LicenseType::PerUser,
            quantity: shared::vocab::Quantity::new(40).unwrap(),
        })
    );
    assert_eq!(app.held(id).await, 40);
}

#[tokio::test]
async fn installing_takes_from_the_agreement_and_conserves_its_total() {
    let mut app = TestApp::spawn().await;
    let before = app.audit("default").await;
    let id = app.activate().await;
    app.install_ok(id, select_4412903(), cals("2019", "per-device", 100))
        .await;
    let after = app.audit("default").await;
    assert!(after.ok, "{:?}", after.problems);
    assert_eq!(after.purchased, before.purchased);
    assert_eq!(after.allocated, before.allocated + 100);
    assert_eq!(after.unallocated, before.unallocated - 100);
}

#[tokio::test]
async fn asking_for_more_than_remains_says_how_many_remain() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    app.install_ok(id, select_4412903(), cals("2016", "per-device", 70))
        .await;
    let p = problem(
        app.install(id, select_4412903(), cals("2016", "per-device", 6))
            .await,
        ErrorCode::QuantityExhausted,
    )
    .await;
    assert_eq!(p.remaining, Some(5));
    assert!(
        p.detail
            .contains("5 Windows Server 2016 Per Device CALs left"),
        "{}",
        p.detail
    );
    assert_eq!(app.held(id).await, 70, "nothing changed");
}

#[tokio::test]
async fn a_product_the_agreement_does_not_hold_is_refused() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(id, select_4412903(), cals("2025", "per-user", 1))
            .await,
        ErrorCode::QuantityExhausted,
    )
    .await;
    assert_eq!(p.remaining, Some(0));
    assert!(
        p.detail
            .contains("holds no Windows Server 2025 Per User CALs"),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn an_unknown_agreement_is_refused() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(
            id,
            json!({"program": "select", "agreement_number": "1111111"}),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::UnknownAgreement,
    )
    .await;
    assert!(p.detail.contains("1111111"), "{}", p.detail);
}

#[tokio::test]
async fn an_agreement_number_under_the_wrong_program_names_the_right_one() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(
            id,
            json!({"program": "campus-agreement", "agreement_number": "4412903"}),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::WrongProof,
    )
    .await;
    assert!(p.detail.contains("choose Select License"), "{}", p.detail);
}

#[tokio::test]
async fn an_open_license_needs_its_own_authorization_number() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let wrong = json!({"program": "open-license", "license_number": "63187240", "authorization_number": "AAAAAAAAAAAAAAA"});
    let p = problem(
        app.install(id, wrong, cals("2019", "per-device", 1)).await,
        ErrorCode::WrongProof,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("license.authorization_number"));
    let right = json!({"program": "open-license", "license_number": "63187240", "authorization_number": "K7QF2M9XR4T8WZ1"});
    app.install_ok(id, right, cals("2019", "per-device", 1))
        .await;
}

#[tokio::test]
async fn a_program_with_the_wrong_proof_field_is_refused_by_field() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(
            id,
            json!({"program": "open-license", "agreement_number": "4412903"}),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("license"));
    assert!(
        p.detail
            .contains("Open License does not use an agreement number"),
        "{}",
        p.detail
    );
}

fn retail(code: &str) -> Value {
    json!({"program": "retail", "license_code": code})
}

/// The first retail code of the fixtures: 5 Windows Server 2019 Per Device CALs.
const RETAIL_2019_DEVICE_5: &str = "FQYY6-FK442-V329X-3WKB4-DFPFW";

#[tokio::test]
async fn a_retail_license_code_is_used_once() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let first = app
        .install_ok(
            id,
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 5),
        )
        .await;
    let p = problem(
        app.install(
            id,
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 5),
        )
        .await,
        ErrorCode::LicenseCodeUsed,
    )
    .await;
    assert!(p.detail.contains(&first.to_string()), "{}", p.detail);
}

#[tokio::test]
async fn a_retail_pack_is_installed_whole_as_sold() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(
            id,
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 3),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(
        p.detail
            .contains("is for 5 Windows Server 2019 Per Device CALs"),
        "{}",
        p.detail
    );
}

// IDs typed wrong.

#[tokio::test]
async fn a_typo_in_the_license_server_id_names_its_group() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let mut groups: Vec<String> = id.groups().iter().map(|g| (*g).to_owned()).collect();
    let digit = groups[2].as_bytes()[1];
    let typo = if digit == b'9' {
        '0'
    } else {
        (digit + 1) as char
    };
    groups[2].replace_range(1..2, &typo.to_string());
    let response = app
        .post(
            "/api/v1/key-packs",
            &json!({"license_server_id": groups.join("-"), "license": select_4412903(), "cals": cals("2019", "per-device", 1)}),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::IdTypo).await;
    assert_eq!(p.group, Some(3));
    assert_eq!(p.field.as_deref(), Some("license_server_id"));
    assert!(p.detail.contains("group 3 of 7 has a typo"), "{}", p.detail);
}

#[tokio::test]
async fn a_key_pack_id_where_a_license_server_id_belongs_is_named_as_such() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let key_pack = app
        .install_ok(id, select_4412903(), cals("2019", "per-device", 1))
        .await;
    let p = problem(
        app.get(&format!("/api/v1/license-servers/{key_pack}"))
            .await,
        ErrorCode::WrongIdKind,
    )
    .await;
    assert!(
        p.detail
            .contains("this is a license key pack ID, a license server ID was expected"),
        "{}",
        p.detail
    );
}

// Verifying key packs.

#[tokio::test]
async fn a_key_pack_verifies_for_its_own_license_server() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let key_pack = app
        .install_ok(id, select_4412903(), cals("2019", "per-device", 3))
        .await;
    let record: Value = ok(app
        .get(&format!(
            "/api/v1/license-servers/{id}/key-packs/{key_pack}"
        ))
        .await)
    .await;
    assert_eq!(record["held"], 3);
    assert_eq!(record["origin"], "installed");
    assert_eq!(record["license_program"], "select");
}

#[tokio::test]
async fn a_key_pack_does_not_verify_for_another_license_server() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let other = app.activate().await;
    let key_pack = app
        .install_ok(id, select_4412903(), cals("2019", "per-device", 3))
        .await;
    problem(
        app.get(&format!(
            "/api/v1/license-servers/{other}/key-packs/{key_pack}"
        ))
        .await,
        ErrorCode::KeyPackNotForServer,
    )
    .await;
}

#[tokio::test]
async fn a_key_pack_never_issued_is_not_on_record() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let forged = KeyPackId::issue(
        &id,
        KeyPackContents {
            product_version: ProductVersion::WindowsServer2019,
            license_type: LicenseType::PerDevice,
            quantity: shared::vocab::Quantity::new(9).unwrap(),
        },
        shared::id::KeyPackSerial::new(9_999_999).unwrap(),
    );
    problem(
        app.get(&format!("/api/v1/license-servers/{id}/key-packs/{forged}"))
            .await,
        ErrorCode::NotFound,
    )
    .await;
}

// Migration.

#[tokio::test]
async fn migration_moves_cals_from_the_source_without_creating_any() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 30))
        .await;
    let before = app.audit("default").await;

    let body: Value = created(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 20),
        )
        .await,
    )
    .await;
    let key_pack: KeyPackId = body["key_pack_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(key_pack.open(&target).unwrap().quantity.get(), 20);
    assert_eq!(app.held(source).await, 10);
    assert_eq!(app.held(target).await, 20);
    let after = app.audit("default").await;
    assert!(after.ok, "{:?}", after.problems);
    assert_eq!(
        (after.purchased, after.allocated, after.unallocated),
        (before.purchased, before.allocated, before.unallocated)
    );
}

#[tokio::test]
async fn migrating_the_same_cals_twice_says_where_they_went() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 10))
        .await;
    let first: Value = created(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 10),
        )
        .await,
    )
    .await;
    let p = problem(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 10),
        )
        .await,
        ErrorCode::AlreadyMigrated,
    )
    .await;
    assert!(
        p.detail.contains(first["key_pack_id"].as_str().unwrap()),
        "{}",
        p.detail
    );
    assert!(p.detail.contains(&target.to_string()), "{}", p.detail);
}

#[tokio::test]
async fn migrating_more_than_the_source_holds_moves_nothing() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 10))
        .await;
    let p = problem(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 11),
        )
        .await,
        ErrorCode::NothingToMigrate,
    )
    .await;
    assert_eq!(p.remaining, Some(10));
    assert_eq!(app.held(source).await, 10);
    assert_eq!(app.held(target).await, 0);
}

#[tokio::test]
async fn cals_not_on_the_source_cannot_be_migrated() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    problem(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::NothingToMigrate,
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_source_must_be_named_by_its_license_server_id() {
    let mut app = TestApp::spawn().await;
    let target = app.activate().await;
    let p = problem(
        app.migrate(
            target,
            json!({"name": "old-ls", "os": "2008", "reachable": false}),
            select_4412903(),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("source.license_server_id"));
    assert!(
        p.detail.contains("not available on the network"),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn a_source_no_longer_functioning_is_found_by_its_cals() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-user", 8))
        .await;
    let response = app
        .post(
            "/api/v1/migrations",
            &json!({
                "license_server_id": target,
                "reason": "source-not-functioning",
                "source": {"os": "2012", "reachable": false},
                "license": select_4412903(),
                "cals": cals("2019", "per-user", 8),
            }),
            None,
        )
        .await;
    let _: Value = created(response).await;
    assert_eq!(app.held(source).await, 0);
    assert_eq!(app.held(target).await, 8);
    let origin = &app.status(target).await["key_packs"][0]["origin"];
    assert_eq!(origin, "migrated");
}

#[tokio::test]
async fn a_server_cannot_migrate_cals_from_itself() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    app.install_ok(id, select_4412903(), cals("2019", "per-device", 2))
        .await;
    let p = problem(
        app.migrate(
            id,
            reachable_source(id),
            select_4412903(),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(p.detail.contains("same license server"), "{}", p.detail);
}

#[tokio::test]
async fn migration_to_a_deactivated_target_is_refused_but_from_a_deactivated_source_is_not() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 4))
        .await;
    app.post(
        "/api/v1/deactivations",
        &json!({"license_server_id": source}),
        None,
    )
    .await;
    let _: Value = created(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 4),
        )
        .await,
    )
    .await;
    app.post(
        "/api/v1/deactivations",
        &json!({"license_server_id": target}),
        None,
    )
    .await;
    problem(
        app.migrate(
            target,
            reachable_source(source),
            select_4412903(),
            cals("2019", "per-device", 1),
        )
        .await,
        ErrorCode::LicenseServerDeactivated,
    )
    .await;
}

// Recovery.

#[tokio::test]
async fn recovery_reissues_what_the_server_held_without_creating_cals() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let lost = app
        .install_ok(id, select_4412903(), cals("2019", "per-device", 12))
        .await;
    let before = app.audit("default").await;
    let body: Value = created(
        app.post(
            "/api/v1/recoveries",
            &json!({"license_server_id": id, "license": select_4412903(), "cals": cals("2019", "per-device", 12)}),
            None,
        )
        .await,
    )
    .await;
    assert_ne!(body["key_pack_id"], json!(lost));
    assert_eq!(app.held(id).await, 12, "the total is unchanged");
    let after = app.audit("default").await;
    assert!(after.ok, "{:?}", after.problems);
    assert_eq!(after.allocated, before.allocated);

    let p = problem(
        app.post(
            "/api/v1/recoveries",
            &json!({"license_server_id": id, "license": select_4412903(), "cals": cals("2019", "per-device", 13)}),
            None,
        )
        .await,
        ErrorCode::NothingToRecover,
    )
    .await;
    assert_eq!(p.remaining, Some(12));
}

// Bad requests.

#[tokio::test]
async fn a_body_that_is_not_json_is_malformed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/key-packs"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(response, ErrorCode::MalformedRequest).await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.audit("default").await;
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(200_000));
    let response = app
        .client
        .post(app.url("/api/v1/activations"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(response, ErrorCode::PayloadTooLarge).await;
    assert_eq!(app.audit("default").await, before);
}

#[tokio::test]
async fn an_unknown_field_is_named() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let response = app
        .post(
            "/api/v1/activations",
            &json!({"product_id": product_id, "company": company(), "colour": "blue"}),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(p.detail.contains("unknown field `colour`"), "{}", p.detail);
}

#[tokio::test]
async fn an_unknown_route_points_to_the_api_description() {
    let app = TestApp::spawn().await;
    let p = problem(app.get("/api/v1/nothing-here").await, ErrorCode::NotFound).await;
    assert!(p.detail.contains("/api/v1/openapi.json"), "{}", p.detail);
}

#[tokio::test]
async fn the_catalog_lists_the_terms_the_api_takes() {
    let app = TestApp::spawn().await;
    let catalog: Value = ok(app.get("/api/v1/catalog").await).await;
    let versions: Vec<&str> = catalog["product_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "2003", "2008", "2008-r2", "2012", "2016", "2019", "2022", "2025"
        ]
    );
    assert_eq!(catalog["license_programs"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn an_unnamed_source_that_nobody_matches_asks_for_its_license_server_id() {
    let mut app = TestApp::spawn().await;
    let target = app.activate().await;
    let response = app
        .post(
            "/api/v1/migrations",
            &json!({
                "license_server_id": target,
                "reason": "source-not-functioning",
                "source": {"os": "2012", "reachable": false},
                "license": select_4412903(),
                "cals": cals("2019", "per-user", 1),
            }),
            None,
        )
        .await;
    let p = problem(response, ErrorCode::NothingToMigrate).await;
    assert_eq!(p.remaining, Some(0));
    assert!(
        p.detail.contains("give the source license server ID"),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn a_retail_code_migrated_away_still_names_the_key_pack_it_was_used_for() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    let first = app
        .install_ok(
            source,
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 5),
        )
        .await;
    let _: Value = created(
        app.migrate(
            target,
            reachable_source(source),
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 5),
        )
        .await,
    )
    .await;
    let p = problem(
        app.install(
            target,
            retail(RETAIL_2019_DEVICE_5),
            cals("2019", "per-device", 5),
        )
        .await,
        ErrorCode::LicenseCodeUsed,
    )
    .await;
    assert!(p.detail.contains(&first.to_string()), "{}", p.detail);
}

// What the real Clearinghouse does that the simulator once did otherwise.

#[tokio::test]
async fn a_retail_license_code_without_cals_installs_the_cals_it_is_for() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let response = app
        .post(
            "/api/v1/key-packs",
            &json!({"license_server_id": id, "license": retail("XYYB3-KGC8Y-7F84V-XGXKF-68W7X")}),
            Some("retail-1"),
        )
        .await;
    let issued: Value = created(response).await;
    assert_eq!(issued["cals"], cals("2022", "per-user", 20));
}

#[tokio::test]
async fn other_proofs_need_their_cals_said() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let response = app
        .post(
            "/api/v1/key-packs",
            &json!({"license_server_id": id, "license": select_4412903()}),
            Some("no-cals"),
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert_eq!(p.field.as_deref(), Some("cals.product_version"));
    assert!(
        p.detail.contains("only a retail license code says them"),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn cals_newer_than_the_license_server_runs_are_refused_before_they_are_issued() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id_of(shared::vocab::WindowsServer::V2019);
    let id = app.activate_product(product_id).await;
    let p = problem(
        app.install(
            id,
            json!({"program": "select", "agreement_number": "4417718"}),
            cals("2022", "per-user", 5),
        )
        .await,
        ErrorCode::CalsTooNew,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("cals.product_version"));
    assert!(
        p.detail.contains("runs Windows Server 2019"),
        "{}",
        p.detail
    );
    assert_eq!(app.held(id).await, 0);
    assert_eq!(app.status(id).await["key_packs"], json!([]));
}

#[tokio::test]
async fn an_agreement_of_another_program_is_named_in_plain_words() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let p = problem(
        app.install(
            id,
            json!({"program": "select", "agreement_number": "6523019"}),
            cals("2022", "per-user", 5),
        )
        .await,
        ErrorCode::WrongProof,
    )
    .await;
    assert_eq!(
        p.detail,
        "agreement 6523019 was bought under Enterprise Agreement, not Select License: choose Enterprise Agreement as the license program"
    );
}

#[tokio::test]
async fn activating_a_deactivated_servers_product_id_says_it_is_deactivated() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let id = app.activate_product(product_id).await;
    let off = app
        .post(
            "/api/v1/deactivations",
            &json!({"license_server_id": id}),
            Some("off"),
        )
        .await;
    assert_eq!(off.status(), reqwest::StatusCode::OK);
    let again = app
        .post(
            "/api/v1/activations",
            &json!({"product_id": product_id, "company": company()}),
            Some("again"),
        )
        .await;
    let p = problem(again, ErrorCode::AlreadyActivated).await;
    assert!(
        p.detail.contains(&format!(
            "was activated as license server {id}, which is deactivated now"
        )),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn a_shortfall_of_one_cal_is_said_in_the_singular() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    app.install_ok(id, select_4412903(), cals("2016", "per-device", 74))
        .await;
    let p = problem(
        app.install(id, select_4412903(), cals("2016", "per-device", 2))
            .await,
        ErrorCode::QuantityExhausted,
    )
    .await;
    assert!(
        p.detail
            .contains("has 1 Windows Server 2016 Per Device CAL left"),
        "{}",
        p.detail
    );
}
