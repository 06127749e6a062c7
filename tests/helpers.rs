//! Shared test helpers: a clearinghouse of its own for each test (port 0, in-memory store)
//! and one helper per endpoint, so that tests read as the requests they make.

use std::sync::Arc;
use std::time::Duration;

use clearinghouse::ledger::{Clock, ManualClock};
use clearinghouse::{Config, RunningServer};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::id::{KeyPackId, LicenseServerId, ProductId};
use shared::wire::{AuditReport, ErrorCode, Problem, TENANT_HEADER};

/// A clearinghouse of its own for one test, on a free loopback port.
pub async fn spawn_clearinghouse() -> RunningServer {
    spawn_with(Config::ephemeral()).await
}

/// A clearinghouse started from `config`.
pub async fn spawn_with(config: Config) -> RunningServer {
    RunningServer::start(config)
        .await
        .expect("a clearinghouse starts on a free port with an in-memory store")
}

/// A running clearinghouse and a client for it.
pub struct TestApp {
    pub server: RunningServer,
    pub client: reqwest::Client,
    /// The tenant requests name, if not the default.
    pub tenant: Option<String>,
    /// The clock the ledger reads, when the test controls it.
    pub clock: Option<Arc<ManualClock>>,
    rng: ChaCha8Rng,
}

/// The JSON of a select agreement in the fixtures: 2019 Per Device 250, Per User 150,
/// 2016 Per Device 75.
pub fn select_4412903() -> Value {
    json!({"program": "select", "agreement_number": "4412903"})
}

/// CALs as the API takes them.
pub fn cals(product_version: &str, license_type: &str, quantity: u32) -> Value {
    json!({"product_version": product_version, "license_type": license_type, "quantity": quantity})
}

/// Company information with the four required fields.
pub fn company() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines Ltd", "country_region": "GB"})
}

impl TestApp {
    /// A fresh clearinghouse.
    pub async fn spawn() -> TestApp {
        TestApp::from(spawn_clearinghouse().await)
    }

    /// A fresh clearinghouse whose clock the test moves.
    pub async fn spawn_with_clock() -> TestApp {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let config = Config {
            clock: clock.clone() as Arc<dyn Clock>,
            ..Config::ephemeral()
        };
        let mut app = TestApp::from(spawn_with(config).await);
        app.clock = Some(clock);
        app
    }

    /// A fresh clearinghouse that holds every commit back `delay`.
    pub async fn spawn_with_commit_delay(delay: Duration) -> TestApp {
        let config = Config {
            commit_delay: Some(delay),
            ..Config::ephemeral()
        };
        TestApp::from(spawn_with(config).await)
    }

    pub fn from(server: RunningServer) -> TestApp {
        TestApp {
            server,
            client: reqwest::Client::new(),
            tenant: None,
            clock: None,
            rng: ChaCha8Rng::seed_from_u64(99),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// A product ID never seen before.
    pub fn product_id(&mut self) -> ProductId {
        ProductId::generate(&mut self.rng)
    }

    fn with_tenant(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.tenant {
            Some(t) => request.header(TENANT_HEADER, t),
            None => request,
        }
    }

    /// POSTs `body` to `path`, with an idempotency key if given.
    pub async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> Response {
        let mut request = self.with_tenant(self.client.post(self.url(path)).json(body));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("the clearinghouse answers")
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> Response {
        self.with_tenant(self.client.get(self.url(path)))
            .send()
            .await
            .expect("the clearinghouse answers")
    }

    /// Sends an admin request with the right token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(self.server.admin_token());
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the clearinghouse answers")
    }

    /// Creates a tenant with `seed`, seeded with the fixtures.
    pub async fn create_tenant(&self, name: &str, seed: u64) {
        let response = self
            .admin(
                reqwest::Method::POST,
                "/admin/v1/tenants",
                Some(json!({"name": name, "seed": seed})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// The audit of `tenant`.
    pub async fn audit(&self, tenant: &str) -> AuditReport {
        ok(self
            .admin(
                reqwest::Method::GET,
                &format!("/admin/v1/tenants/{tenant}/audit"),
                None,
            )
            .await)
        .await
    }

    /// Activates a new license server and returns its ID.
    pub async fn activate(&mut self) -> LicenseServerId {
        let product_id = self.product_id();
        self.activate_product(product_id).await
    }

    /// Activates the license server showing `product_id`.
    pub async fn activate_product(&self, product_id: ProductId) -> LicenseServerId {
        let response = self
            .post(
                "/api/v1/activations",
                &json!({"product_id": product_id, "company": company()}),
                None,
            )
            .await;
        let body: Value = created(response).await;
        body["license_server_id"].as_str().unwrap().parse().unwrap()
    }

    /// Asks for CALs to be installed on `server`.
    pub async fn install(&self, server: LicenseServerId, license: Value, cals: Value) -> Response {
        self.post(
            "/api/v1/key-packs",
            &json!({"license_server_id": server, "license": license, "cals": cals}),
            None,
        )
        .await
    }

    /// Installs CALs on `server` and returns the key pack ID.
    pub async fn install_ok(
        &self,
        server: LicenseServerId,
        license: Value,
        cals: Value,
    ) -> KeyPackId {
        let body: Value = created(self.install(server, license, cals).await).await;
        body["key_pack_id"].as_str().unwrap().parse().unwrap()
    }

    /// Asks for CALs to be migrated from `source` to `target`.
    pub async fn migrate(
        &self,
        target: LicenseServerId,
        source: Value,
        license: Value,
        cals: Value,
    ) -> Response {
        self.post(
            "/api/v1/migrations",
            &json!({
                "license_server_id": target,
                "reason": "source-replaced",
                "source": source,
                "license": license,
                "cals": cals,
            }),
            None,
        )
        .await
    }

    /// The status of a license server.
    pub async fn status(&self, server: LicenseServerId) -> Value {
        ok(self.get(&format!("/api/v1/license-servers/{server}")).await).await
    }

    /// How many CALs `server` holds, over all its key packs.
    pub async fn held(&self, server: LicenseServerId) -> u64 {
        self.status(server).await["key_packs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["held"].as_u64().unwrap())
            .sum()
    }
}

/// A reachable source license server, as the migration API takes it.
pub fn reachable_source(id: LicenseServerId) -> Value {
    json!({"license_server_id": id, "os": "2019", "reachable": true})
}

/// The body of a 200 answer.
pub async fn ok<T: DeserializeOwned>(response: Response) -> T {
    expect_status(response, StatusCode::OK).await
}

/// The body of a 201 answer.
pub async fn created<T: DeserializeOwned>(response: Response) -> T {
    expect_status(response, StatusCode::CREATED).await
}

async fn expect_status<T: DeserializeOwned>(response: Response, status: StatusCode) -> T {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The problem document of a refused request, checked to carry `code` and its status.
pub async fn problem(response: Response, code: ErrorCode) -> Problem {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let problem: Problem = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(problem.code, code, "{text}");
    assert_eq!(status.as_u16(), code.status(), "{text}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    problem
}
