//! The OpenAPI document describes exactly the routes the clearinghouse serves.

use std::collections::BTreeSet;

use serde_json::Value;
use shared::wire::ErrorCode;

use crate::helpers::{TestApp, ok};

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
    clearinghouse::http::api::ROUTES
        .iter()
        .chain(clearinghouse::http::admin::ROUTES)
        .chain(clearinghouse::http::controls::ROUTES)
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_served_document_lists_exactly_the_declared_routes() {
    let app = TestApp::spawn().await;
    let doc: Value = ok(app.get("/api/v1/openapi.json").await).await;
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(documented(&doc), declared());
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let doc: Value = serde_json::from_str(clearinghouse::http::api::OPENAPI).unwrap();
    let id = "29453-80734-02157-73682-19300-36420-62121";
    for (method, path) in documented(&doc) {
        let concrete = path
            .replace("{license_server_id}", id)
            .replace("{key_pack_id}", id)
            .replace("{tenant}", "default");
        let response = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
            .bearer_auth(app.server.admin_token())
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 405, "{method} {path}");
        if response.status() == 404 {
            let p: shared::wire::Problem = response.json().await.unwrap();
            assert_ne!(
                p.code,
                ErrorCode::NotFound,
                "{method} {path} is not routed: {}",
                p.detail
            );
        }
    }
}
