//! Tenants: isolated ledgers in one clearinghouse, administered over the admin API.

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::wire::{ErrorCode, TenantInfo};

use crate::helpers::{TestApp, cals, created, ok, problem, select_4412903};

#[tokio::test]
async fn a_tenant_cannot_see_another_tenants_license_servers() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("lab-seat-1", 1).await;
    let id = app.activate().await;
    app.tenant = Some("lab-seat-1".to_owned());
    problem(
        app.get(&format!("/api/v1/license-servers/{id}")).await,
        ErrorCode::UnknownLicenseServer,
    )
    .await;
}

#[tokio::test]
async fn each_tenant_draws_on_its_own_agreements() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("a", 1).await;
    app.tenant = Some("a".to_owned());
    let id = app.activate().await;
    app.install_ok(id, select_4412903(), cals("2016", "per-device", 75))
        .await;
    app.tenant = None;
    let other = app.activate().await;
    app.install_ok(other, select_4412903(), cals("2016", "per-device", 75))
        .await;
}

#[tokio::test]
async fn an_unknown_tenant_is_named() {
    let mut app = TestApp::spawn().await;
    app.tenant = Some("nobody".to_owned());
    let product_id = app.product_id();
    let p = problem(
        app.post(
            "/api/v1/activations",
            &json!({"product_id": product_id, "company": crate::helpers::company()}),
            None,
        )
        .await,
        ErrorCode::UnknownTenant,
    )
    .await;
    assert!(p.detail.contains("nobody"), "{}", p.detail);
}

#[tokio::test]
async fn a_tenant_name_with_other_characters_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "Lab Seat"})),
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(
        p.detail.contains("lower-case letters, digits and dashes"),
        "{}",
        p.detail
    );
}

#[tokio::test]
async fn creating_a_tenant_twice_says_it_exists() {
    let app = TestApp::spawn().await;
    app.create_tenant("twice", 3).await;
    let again = app
        .admin(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "twice"})),
        )
        .await;
    problem(again, ErrorCode::AlreadyExists).await;
}

#[tokio::test]
async fn a_tenant_created_without_fixtures_holds_nothing() {
    let mut app = TestApp::spawn().await;
    let response = app
        .admin(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "empty", "fixtures": false})),
        )
        .await;
    let _: TenantInfo = created(response).await;
    app.tenant = Some("empty".to_owned());
    let id = app.activate().await;
    problem(
        app.install(id, select_4412903(), cals("2019", "per-device", 1))
            .await,
        ErrorCode::UnknownAgreement,
    )
    .await;
}

#[tokio::test]
async fn purchases_added_to_a_tenant_can_be_installed() {
    let mut app = TestApp::spawn().await;
    app.admin(
        Method::POST,
        "/admin/v1/tenants",
        Some(json!({"name": "custom", "fixtures": false})),
    )
    .await;
    let spec = json!({
        "license": {"program": "enterprise-agreement", "agreement_number": "12345678"},
        "cals": [{"product_version": "2025", "license_type": "per-user", "quantity": 1000000}]
    });
    let response = app
        .admin(
            Method::POST,
            "/admin/v1/tenants/custom/purchases",
            Some(spec.clone()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let again = app
        .admin(
            Method::POST,
            "/admin/v1/tenants/custom/purchases",
            Some(spec),
        )
        .await;
    problem(again, ErrorCode::AlreadyExists).await;

    app.tenant = Some("custom".to_owned());
    let id = app.activate().await;
    app.install_ok(
        id,
        json!({"program": "enterprise-agreement", "agreement_number": "12345678"}),
        cals("2025", "per-user", 9999),
    )
    .await;
    let audit = app.audit("custom").await;
    assert!(audit.ok);
    assert_eq!(audit.purchased, 1_000_000);
    assert_eq!(audit.allocated, 9999);
}

#[tokio::test]
async fn a_purchase_with_a_quantity_out_of_bounds_is_refused() {
    let app = TestApp::spawn().await;
    let spec = json!({
        "license": {"program": "select", "agreement_number": "7777777"},
        "cals": [{"product_version": "2025", "license_type": "per-user", "quantity": 0}]
    });
    let p = problem(
        app.admin(
            Method::POST,
            "/admin/v1/tenants/default/purchases",
            Some(spec),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(p.detail.contains("from 1 to 10000000"), "{}", p.detail);
}

#[tokio::test]
async fn reset_puts_a_tenant_back_as_created() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("resettable", 42).await;
    app.tenant = Some("resettable".to_owned());
    let fresh = app.audit("resettable").await;
    let product_id = app.product_id();
    let first_id = app.activate_product(product_id).await;
    app.install_ok(first_id, select_4412903(), cals("2019", "per-device", 50))
        .await;

    let info: TenantInfo = ok(app
        .admin(Method::POST, "/admin/v1/tenants/resettable/reset", None)
        .await)
    .await;
    assert_eq!(info.seed, 42);
    assert_eq!(app.audit("resettable").await, fresh);
    // Same seed, same first request: the same license server ID as before the reset.
    assert_eq!(app.activate_product(product_id).await, first_id);
    assert_eq!(app.held(first_id).await, 0);
}

#[tokio::test]
async fn a_deleted_tenant_is_gone_and_the_default_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    app.create_tenant("gone", 1).await;
    let _: TenantInfo = ok(app
        .admin(Method::DELETE, "/admin/v1/tenants/gone", None)
        .await)
    .await;
    problem(
        app.admin(Method::GET, "/admin/v1/tenants/gone/audit", None)
            .await,
        ErrorCode::UnknownTenant,
    )
    .await;
    let p = problem(
        app.admin(Method::DELETE, "/admin/v1/tenants/default", None)
            .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(p.detail.contains("reset it instead"), "{}", p.detail);
}

#[tokio::test]
async fn tenants_are_listed() {
    let app = TestApp::spawn().await;
    app.create_tenant("listed", 5).await;
    let tenants: Vec<TenantInfo> =
        ok(app.admin(Method::GET, "/admin/v1/tenants", None).await).await;
    let names: Vec<&str> = tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["default", "listed"]);
}

#[tokio::test]
async fn every_admin_route_refuses_a_missing_or_wrong_token() {
    let app = TestApp::spawn().await;
    let routes = clearinghouse::http::admin::ROUTES
        .iter()
        .chain(clearinghouse::http::controls::ROUTES);
    for (method, path) in routes {
        let path = path.replace("{tenant}", "default").replace("{id}", "1");
        let method: Method = method.to_uppercase().parse().unwrap();
        for (token, said) in [
            (None, "Authorization: Bearer"),
            (Some("wrong"), "was refused"),
        ] {
            let mut request = app
                .client
                .request(method.clone(), app.url(&path))
                .json(&json!({"name": "x"}));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let p = problem(request.send().await.unwrap(), ErrorCode::Unauthorized).await;
            assert!(p.detail.contains(said), "{method} {path}: {}", p.detail);
        }
    }
}

#[tokio::test]
async fn the_same_seed_and_requests_give_the_same_ids_in_another_tenant() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("run-1", 777).await;
    app.create_tenant("run-2", 777).await;
    let mut ids = Vec::new();
    for tenant in ["run-1", "run-2"] {
        app.tenant = Some(tenant.to_owned());
        let product_id: shared::id::ProductId =
            "10974-31221-16202-49672-18729-77270-17360".parse().unwrap();
        let server = app.activate_product(product_id).await;
        let key_pack = app
            .install_ok(server, select_4412903(), cals("2019", "per-user", 3))
            .await;
        ids.push((server, key_pack));
    }
    assert_eq!(ids[0], ids[1]);
}
