//! The OpenAPI document describes exactly the routes the clearinghouse serves, names every
//! operation, and says what the server holds to: its bounds are the server's, its
//! integers are read as JSON Schema reads them. (Schemathesis holds the server to the
//! whole document in CI: `.ci/schemathesis`.)

use std::collections::BTreeSet;

use serde_json::{Value, json};
use shared::wire::ErrorCode;

use crate::helpers::{TestApp, ok, problem};

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.clone(), path.clone()));
        }
    }
    out
}

fn declared() -> BTreeSet<(String, String)> {
    use clearinghouse::http::{admin, api, controls, health, portal};
    api::ROUTES
        .iter()
        .chain(admin::ROUTES)
        .chain(controls::ROUTES)
        .chain(health::ROUTES)
        .chain(portal::ROUTES)
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

async fn served_document(app: &TestApp) -> Value {
    ok(app.get("/api/v1/openapi.json").await).await
}

#[tokio::test]
async fn the_served_document_lists_exactly_the_declared_routes() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(documented(&doc), declared());
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let id = "29453-80734-02157-73682-19300-36420-62121";
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{license_server_id}", id)
            .replace("{key_pack_id}", id)
            .replace("{tenant}", "default")
            .replace("{task}", "activate")
            .replace("{id}", "1");
        let response = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
            .bearer_auth(app.server.admin_token())
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 405, "{method} {path}");
        if response.status() == 404 {
            let text = response.text().await.unwrap();
            assert!(
                !text.contains("there is no route"),
                "{method} {path} is not routed"
            );
            assert!(
                !text.contains("There is no such page"),
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn every_operation_has_a_unique_snake_case_id() {
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let id = doc["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
            .to_owned();
        assert!(
            id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{id}"
        );
        assert!(ids.insert(id.clone()), "{id} is used twice");
    }
    for id in [
        "activate_license_server",
        "install_cals",
        "migrate_cals",
        "create_tenant",
    ] {
        assert!(ids.contains(id), "{id}");
    }
}

#[tokio::test]
async fn the_documents_bounds_are_the_servers() {
    use clearinghouse::controls::faults::{MAX_LATENCY_MS, MAX_OUTAGE_SECONDS};
    let app = TestApp::spawn().await;
    let doc = served_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let variants = schemas["FaultSpec"]["oneOf"].as_array().unwrap();
    let field = |name: &str| {
        variants
            .iter()
            .find_map(|v| v["properties"].get(name))
            .unwrap_or_else(|| panic!("no fault field {name}"))
    };
    assert_eq!(field("max_ms")["maximum"], json!(MAX_LATENCY_MS));
    assert_eq!(field("seconds")["maximum"], json!(MAX_OUTAGE_SECONDS));
    assert_eq!(
        schemas["CreateTenantRequest"]["properties"]["name"]["pattern"],
        clearinghouse::http::openapi::TENANT_PATTERN
    );
    assert_eq!(
        schemas["Quantity"]["maximum"],
        json!(shared::vocab::Quantity::MAX)
    );
}

#[tokio::test]
async fn a_tenant_name_matches_the_documented_pattern_exactly_when_the_server_takes_it() {
    use clearinghouse::ledger::TenantName;
    // The pattern, ^[a-z0-9][a-z0-9-]{0,62}$, by hand: no regex engine is at hand.
    let matches = |name: &str| {
        let bytes = name.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes[0] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    };
    assert_eq!(
        clearinghouse::http::openapi::TENANT_PATTERN,
        "^[a-z0-9][a-z0-9-]{0,62}$"
    );
    let long = "a".repeat(63);
    let too_long = "a".repeat(64);
    for name in [
        "default", "lab-01", "0", "-lab", "Lab", "", "lab_1", &long, &too_long, "lab-",
    ] {
        assert_eq!(TenantName::parse(name).is_ok(), matches(name), "{name:?}");
    }
}

#[tokio::test]
async fn an_integer_written_with_a_zero_fraction_is_read_as_json_schema_reads_it() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(
            reqwest::Method::PUT,
            "/admin/v1/tenants/default/seed",
            Some(json!({"seed": 5.0})),
        )
        .await;
    let tenant: Value = ok(response).await;
    assert_eq!(tenant["seed"], 5);
}

#[tokio::test]
async fn a_seed_past_the_documented_int64_range_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .admin(
            reqwest::Method::PUT,
            "/admin/v1/tenants/default/seed",
            Some(json!({"seed": 9_223_372_036_854_775_808_u64})),
        )
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert!(
        p.detail.contains("from 0 to 9223372036854775807"),
        "{}",
        p.detail
    );
    // And a seed the clearinghouse draws is in that range.
    let created = app
        .admin(
            reqwest::Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "drawn"})),
        )
        .await;
    let tenant: Value = created.json().await.unwrap();
    assert!(tenant["seed"].as_u64().unwrap() <= i64::MAX as u64);
}
