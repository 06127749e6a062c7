//! Idempotency keys: a retry after a lost reply gets the first answer and changes
//! nothing; a key reused for another request is refused; a retry while the first request is
//! still being applied is told so; a request refused before the ledger saves nothing; keys
//! are forgotten after 24 hours of the tenant's clock.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::wire::ErrorCode;

use crate::helpers::{TestApp, cals, problem, select_4412903};

fn install_body(server: shared::id::LicenseServerId, quantity: u32) -> Value {
    json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-device", quantity)})
}

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_first_answer_marked_as_a_replay() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let first = app
        .post("/api/v1/key-packs", &install_body(id, 7), Some("k-1"))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();

    let retry = app
        .post("/api/v1/key-packs", &install_body(id, 7), Some("k-1"))
        .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first);
    assert_eq!(app.held(id).await, 7, "one key pack, not two");
}

#[tokio::test]
async fn a_refusal_is_replayed_too() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let first = app
        .post("/api/v1/key-packs", &install_body(id, 9_000), Some("k-2"))
        .await;
    let first = problem(first, ErrorCode::QuantityExhausted).await;
    let retry = app
        .post("/api/v1/key-packs", &install_body(id, 9_000), Some("k-2"))
        .await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(problem(retry, ErrorCode::QuantityExhausted).await, first);
}

#[tokio::test]
async fn a_request_refused_before_the_ledger_saves_nothing_and_its_key_stays_unused() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let mut body = install_body(id, 6);
    body["cals"]["quantity"] = json!(0);
    let first = app.post("/api/v1/key-packs", &body, Some("k-door")).await;
    problem(first, ErrorCode::InvalidField).await;
    let again = app.post("/api/v1/key-packs", &body, Some("k-door")).await;
    assert!(again.headers().get("idempotent-replayed").is_none());
    problem(again, ErrorCode::InvalidField).await;
    // The corrected request takes the same key, and is applied once.
    let corrected = app
        .post("/api/v1/key-packs", &install_body(id, 6), Some("k-door"))
        .await;
    assert_eq!(corrected.status(), StatusCode::CREATED);
    assert!(corrected.headers().get("idempotent-replayed").is_none());
    let retry = app
        .post("/api/v1/key-packs", &install_body(id, 6), Some("k-door"))
        .await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(app.held(id).await, 6);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_changes_nothing() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    app.post("/api/v1/key-packs", &install_body(id, 3), Some("k-3"))
        .await;
    let other = app
        .post("/api/v1/key-packs", &install_body(id, 4), Some("k-3"))
        .await;
    let p = problem(other, ErrorCode::IdempotencyKeyReused).await;
    assert!(p.detail.contains("k-3"), "{}", p.detail);
    assert_eq!(app.held(id).await, 3);
}

#[tokio::test]
async fn keys_are_per_tenant() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("other", 1).await;
    let id = app.activate().await;
    app.post(
        "/api/v1/key-packs",
        &install_body(id, 3),
        Some("shared-key"),
    )
    .await;
    app.tenant = Some("other".to_owned());
    let other_id = app.activate().await;
    let response = app
        .post(
            "/api/v1/key-packs",
            &install_body(other_id, 3),
            Some("shared-key"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_retry_while_the_first_is_being_applied_is_told_it_is_in_progress() {
    let mut app = TestApp::spawn_with_commit_delay(Duration::from_millis(300)).await;
    let id = app.activate().await;
    let body = install_body(id, 2);
    let (first, second) = tokio::join!(app.post("/api/v1/key-packs", &body, Some("k-4")), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.post("/api/v1/key-packs", &body, Some("k-4")).await
    });
    assert_eq!(first.status(), StatusCode::CREATED);
    problem(second, ErrorCode::RequestInProgress).await;
    let after = app.post("/api/v1/key-packs", &body, Some("k-4")).await;
    assert_eq!(after.headers()["idempotent-replayed"], "true");
    assert_eq!(app.held(id).await, 2);
}

#[tokio::test]
async fn a_key_is_remembered_for_24_hours_of_the_tenants_clock() {
    let mut app = TestApp::spawn_with_clock().await;
    let clock = app.clock.clone().unwrap();
    let id = app.activate().await;
    app.post("/api/v1/key-packs", &install_body(id, 1), Some("k-5"))
        .await;

    clock.advance(24 * 60 * 60 * 1000 - 1);
    let within = app
        .post("/api/v1/key-packs", &install_body(id, 1), Some("k-5"))
        .await;
    assert_eq!(within.headers()["idempotent-replayed"], "true");

    clock.advance(1);
    let after = app
        .post("/api/v1/key-packs", &install_body(id, 1), Some("k-5"))
        .await;
    assert_eq!(after.status(), StatusCode::CREATED);
    assert!(after.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.held(id).await, 2, "an expired key is a new request");
}

#[tokio::test]
async fn a_key_longer_than_255_characters_is_refused() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    let long = "k".repeat(256);
    let response = app
        .post("/api/v1/key-packs", &install_body(id, 1), Some(&long))
        .await;
    let p = problem(response, ErrorCode::InvalidField).await;
    assert_eq!(p.field.as_deref(), Some("Idempotency-Key"));
    assert_eq!(app.held(id).await, 0);
}
