//! A clearinghouse started in-process answers its health and readiness endpoints.

use shared::wire::Health;

use crate::helpers::spawn_clearinghouse;

#[tokio::test]
async fn an_in_process_clearinghouse_reports_healthy_and_ready() {
    let server = spawn_clearinghouse().await;
    for path in ["/health", "/ready"] {
        let response = reqwest::get(format!("{}{path}", server.url()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let health: Health = response.json().await.unwrap();
        assert_eq!(health.status, "ok");
        assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_route_is_not_found() {
    let server = spawn_clearinghouse().await;
    let response = reqwest::get(format!("{}/no-such-route", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    server.shutdown().await;
}
