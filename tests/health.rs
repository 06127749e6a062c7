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

/// A store whose every commit panics: a part of the clearinghouse dying.
struct DyingStore(clearinghouse::store::MemoryStore);

impl clearinghouse::store::Store for DyingStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, clearinghouse::store::StoreError> {
        self.0.get(key)
    }

    fn scan<'a>(&'a self, prefix: &[u8]) -> clearinghouse::store::Scan<'a> {
        self.0.scan(prefix)
    }

    fn commit(
        &self,
        batch: &clearinghouse::store::Batch,
    ) -> Result<(), clearinghouse::store::StoreError> {
        if batch
            .writes()
            .any(|(key, _)| key.windows(3).any(|w| w == b"kp/"))
        {
            panic!("the store fails while the writer commits a key pack");
        }
        self.0.commit(batch)
    }
}

#[tokio::test]
async fn a_dead_ledger_writer_is_reported_and_stops_the_clearinghouse() {
    let config = clearinghouse::Config {
        storage: clearinghouse::config::Storage::Given(std::sync::Arc::new(DyingStore(
            clearinghouse::store::MemoryStore::new(),
        ))),
        ..clearinghouse::Config::ephemeral()
    };
    let mut app = crate::helpers::TestApp::from(crate::helpers::spawn_with(config).await);
    let server = app.activate().await;
    // Installing CALs writes a key pack: the writer dies committing it.
    let failed = app
        .install(
            server,
            crate::helpers::select_4412903(),
            crate::helpers::cals("2019", "per-device", 1),
        )
        .await;
    assert_eq!(failed.status(), 503);
    for path in ["/health", "/ready"] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), 503, "{path}");
        let health: Health = response.json().await.unwrap();
        assert!(health.status.contains("writer has stopped"), "{health:?}");
    }
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), app.server.wait())
        .await
        .expect("the clearinghouse stops on its own");
    assert!(stopped.is_err(), "it stops with an error");
}
