//! Many clients at once: the single writer never issues more than an agreement holds.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use shared::wire::{ErrorCode, Problem};

use crate::helpers::{TestApp, cals};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_draining_one_agreement_get_exactly_its_quantity() {
    let mut app = TestApp::spawn().await;
    let id = app.activate().await;
    // School agreement 3391570 holds 120 Windows Server 2016 Per Device CALs.
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for client in 0..64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut issued = 0u32;
            let mut exhausted = 0u32;
            for request in 0..4 {
                let body = json!({
                    "license_server_id": id,
                    "license": {"program": "school-agreement", "agreement_number": "3391570"},
                    "cals": cals("2016", "per-device", 1),
                });
                let key = format!("c{client}-r{request}");
                let response = app.post("/api/v1/key-packs", &body, Some(&key)).await;
                match response.status() {
                    StatusCode::CREATED => issued += 1,
                    _ => {
                        let p: Problem = response.json().await.unwrap();
                        assert_eq!(p.code, ErrorCode::QuantityExhausted, "{}", p.detail);
                        assert_eq!(p.remaining, Some(0));
                        exhausted += 1;
                    }
                }
            }
            (issued, exhausted)
        }));
    }
    let mut issued = 0;
    let mut exhausted = 0;
    for task in tasks {
        let (i, e) = task.await.unwrap();
        issued += i;
        exhausted += e;
    }
    assert_eq!(issued, 120);
    assert_eq!(exhausted, 64 * 4 - 120);
    assert_eq!(app.held(id).await, 120);
    let audit = app.audit("default").await;
    assert!(audit.ok, "{:?}", audit.problems);
}
