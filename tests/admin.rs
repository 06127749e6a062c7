//! The admin API's door: how a token is asked for, read and refused. (The
//! `clearinghouse` command line over it is tested with the binary, in
//! `clearinghouse/tests/binary.rs`.)

use reqwest::StatusCode;
use shared::wire::ErrorCode;

use crate::helpers::{TestApp, problem};

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
