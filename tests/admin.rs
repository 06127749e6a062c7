//! The admin API's door: how a token is asked for, read and refused; a tenant's history
//! of changes and the training lab's class reports. (The `clearinghouse` command line over
//! it is tested with the binary, in `clearinghouse/tests/binary.rs`.)

use licensing_client::methods::telephone::CallHolder;
use licensing_client::methods::web::FormFiller;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::vocab::{ConnectionMethod, LicenseType, ProductVersion};
use shared::wire::{Action, ClassReport, ErrorCode, History};

use crate::helpers::{Lab, TestApp, cal_request, created, ok, problem, select_proof};

#[tokio::test]
async fn a_request_without_the_token_is_told_how_to_authenticate() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"clearinghouse admin\""
    );
    let p = problem(response, ErrorCode::Unauthorized).await;
    assert!(p.detail.contains("needs the header"), "{}", p.detail);
}

#[tokio::test]
async fn a_wrong_token_is_said_to_be_refused_not_missing() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    let p = problem(response, ErrorCode::Unauthorized).await;
    assert!(p.detail.contains("was refused"), "{}", p.detail);
}

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let app = TestApp::spawn().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = app
            .client
            .get(app.url("/admin/v1/tenants"))
            .header(
                "authorization",
                format!("{scheme} {}", app.server.admin_token()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

async fn history(app: &TestApp, tenant: &str) -> History {
    ok(app
        .admin(
            Method::GET,
            &format!("/admin/v1/tenants/{tenant}/history"),
            None,
        )
        .await)
    .await
}

#[tokio::test]
async fn the_history_keeps_each_change_with_the_connection_method_it_came_by() {
    let lab = Lab::new().await;
    let server = lab.install("LS1", shared::vocab::WindowsServer::V2022);
    let id = server
        .activate(ConnectionMethod::WebBrowser, &mut FormFiller::new(true))
        .await
        .unwrap();
    let pack = server
        .install_cals(
            select_proof(),
            Some(cal_request(
                ProductVersion::WindowsServer2019,
                LicenseType::PerDevice,
                5,
            )),
            ConnectionMethod::Telephone,
            &mut CallHolder::new(true),
        )
        .await
        .unwrap();
    server
        .deactivate(ConnectionMethod::Automatic, &mut lab.person())
        .await
        .unwrap();
    let history = history(&lab.app, "default").await;
    let done: Vec<(u64, Action, ConnectionMethod)> = history
        .entries
        .iter()
        .map(|e| (e.n, e.action, e.connection_method))
        .collect();
    assert_eq!(
        done,
        [
            (0, Action::Activated, ConnectionMethod::WebBrowser),
            (1, Action::CalsInstalled, ConnectionMethod::Telephone),
            (2, Action::Deactivated, ConnectionMethod::Automatic),
        ]
    );
    assert_eq!(history.entries[0].license_server_id, id.to_string());
    assert_eq!(history.entries[1].ids, [pack.key_pack_id.to_string()]);
}

#[tokio::test]
async fn a_refused_request_leaves_no_history() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let refused = app
        .install(
            server,
            json!({"program": "select", "agreement_number": "9999999"}),
            crate::helpers::cals("2019", "per-device", 5),
        )
        .await;
    assert!(refused.status().is_client_error());
    let history = history(&app, "default").await;
    assert_eq!(history.entries.len(), 1, "{history:?}");
    assert_eq!(history.entries[0].action, Action::Activated);
}

#[tokio::test]
async fn the_history_of_an_unknown_tenant_is_not_found() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(Method::GET, "/admin/v1/tenants/nobody/history", None)
        .await;
    problem(response, ErrorCode::UnknownTenant).await;
}

fn class_report(name: &str) -> serde_json::Value {
    json!({
        "name": name,
        "scenario": "migrate-telephone",
        "title": "Migrate CALs by telephone",
        "graded_at": "2026-11-26T10:00:00Z",
        "seats": [{
            "seat": 1,
            "tenant": format!("{name}-01"),
            "checks": [{"check": "LS-NEW is activated", "passed": false, "missing": "activate it"}],
        }],
    })
}

#[tokio::test]
async fn a_class_report_is_kept_replaced_and_listed() {
    let app = TestApp::spawn().await;
    let put =
        |body: serde_json::Value| app.admin(Method::PUT, "/admin/v1/classes/tuesday", Some(body));
    let _: ClassReport = created(put(class_report("tuesday")).await).await;
    let mut second = class_report("tuesday");
    second["seats"][0]["checks"][0]["passed"] = json!(true);
    second["seats"][0]["checks"][0]
        .as_object_mut()
        .unwrap()
        .remove("missing");
    let _: ClassReport = created(put(second).await).await;
    let classes: Vec<ClassReport> =
        ok(app.admin(Method::GET, "/admin/v1/classes", None).await).await;
    assert_eq!(classes.len(), 1);
    assert!(classes[0].seats[0].checks[0].passed);
}

#[tokio::test]
async fn a_class_report_under_another_name_than_its_address_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(
            Method::PUT,
            "/admin/v1/classes/tuesday",
            Some(class_report("wednesday")),
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(p.detail.contains("must be the same"), "{}", p.detail);
    let classes: Vec<ClassReport> =
        ok(app.admin(Method::GET, "/admin/v1/classes", None).await).await;
    assert!(classes.is_empty());
}

#[tokio::test]
async fn a_class_name_that_could_name_no_tenant_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(
            Method::PUT,
            "/admin/v1/classes/Tuesday_1",
            Some(class_report("Tuesday_1")),
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(p.detail.contains("no class name"), "{}", p.detail);
}

#[tokio::test]
async fn a_class_report_of_hundreds_of_seats_is_kept() {
    let app = TestApp::spawn().await;
    let mut report = class_report("big");
    let seat = report["seats"][0].clone();
    let seats: Vec<serde_json::Value> = (1..=500)
        .map(|n| {
            let mut seat = seat.clone();
            seat["seat"] = json!(n);
            seat["checks"][0]["missing"] = json!("x".repeat(300));
            seat
        })
        .collect();
    report["seats"] = json!(seats);
    assert!(report.to_string().len() > 150 * 1024);
    let kept: ClassReport = created(
        app.admin(Method::PUT, "/admin/v1/classes/big", Some(report))
            .await,
    )
    .await;
    assert_eq!(kept.seats.len(), 500);
}

#[tokio::test]
async fn a_class_report_of_more_than_1000_seats_is_refused() {
    let app = TestApp::spawn().await;
    let mut report = class_report("huge");
    let seat = report["seats"][0].clone();
    report["seats"] = json!(vec![seat; 1001]);
    let response = app
        .admin(Method::PUT, "/admin/v1/classes/huge", Some(report))
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(p.detail.contains("at most 1000"), "{}", p.detail);
}

#[tokio::test]
async fn a_class_report_over_a_mebibyte_is_refused_whole() {
    let app = TestApp::spawn().await;
    let mut report = class_report("big");
    report["title"] = json!("x".repeat(1024 * 1024));
    let response = app
        .admin(Method::PUT, "/admin/v1/classes/big", Some(report))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_seat_token_that_is_not_6_to_32_digits_is_refused() {
    let app = TestApp::spawn().await;
    for token in [
        "12345",
        "abcdef",
        "",
        "1234567\n",
        "\u{0661}\u{0662}\u{0663}\u{0664}\u{0665}\u{0666}",
    ] {
        let response = app
            .admin(
                Method::POST,
                "/admin/v1/tenants",
                Some(json!({"name": "seat-1", "seat_token": token})),
            )
            .await;
        let p = problem(response, ErrorCode::InvalidField).await;
        assert!(
            p.detail.contains("6 to 32 digits"),
            "{token:?}: {}",
            p.detail
        );
    }
    let tenants: Vec<serde_json::Value> =
        ok(app.admin(Method::GET, "/admin/v1/tenants", None).await).await;
    assert_eq!(tenants.len(), 1, "only the default tenant: {tenants:?}");
}

#[tokio::test]
async fn a_method_the_api_does_not_take_is_405_even_for_a_seat_without_its_token() {
    let app = TestApp::spawn().await;
    let _: serde_json::Value = created(
        app.admin(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "seat-1", "seat_token": "12345678"})),
        )
        .await,
    )
    .await;
    let response = app
        .client
        .request(Method::TRACE, app.url("/api/v1/activations"))
        .header(shared::wire::TENANT_HEADER, "seat-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
