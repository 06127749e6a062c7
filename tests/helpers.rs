//! Shared test helpers: a clearinghouse of its own for each test (port 0, in-memory store)
//! and one helper per endpoint, so that tests read as the requests they make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clearinghouse::ledger::{Clock, ManualClock};
use clearinghouse::{Config, RunningServer};
use licensing_client::methods::automatic::RetryPolicy;
use licensing_client::state::ClearinghouseAddress;
use licensing_client::{Handoff, LicenseServer, Operator, Reminder, Setup};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::id::{IdKind, KeyPackId, LicenseServerId, ProductId};
use shared::vocab::{
    CompanyFields, CompanyInfo, ConnectionMethod, LicenseProof, LicenseType, ProductVersion,
    Quantity, WindowsServer,
};
use shared::wire::{AuditReport, CalRequest, ErrorCode, Problem, TENANT_HEADER};

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

    /// A product ID never seen before, of a license server running the newest release
    /// (so it takes CALs of every version).
    pub fn product_id(&mut self) -> ProductId {
        self.product_id_of(WindowsServer::V2025)
    }

    /// A product ID never seen before, of a license server running `release`.
    pub fn product_id_of(&mut self, release: WindowsServer) -> ProductId {
        ProductId::generate(release, &mut self.rng)
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

    /// Sends an admin request about `tenant`: `rest` follows `/admin/v1/tenants/{tenant}`.
    pub async fn control(
        &self,
        method: reqwest::Method,
        tenant: &str,
        rest: &str,
        body: Option<Value>,
    ) -> Response {
        self.admin(method, &format!("/admin/v1/tenants/{tenant}{rest}"), body)
            .await
    }

    /// Injects the fault `spec` into `tenant` and returns what the clearinghouse made of it.
    pub async fn set_fault(&self, tenant: &str, spec: Value) -> Value {
        created(
            self.control(reqwest::Method::POST, tenant, "/faults", Some(spec))
                .await,
        )
        .await
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

// The licensing client's side: license servers in temporary state directories, talking to
// a clearinghouse of their own.

/// A retry policy quick enough for tests: faults are waited out in a second or two.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 8,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(1500),
        timeout: Duration::from_secs(2),
    }
}

/// A clearinghouse and a directory for the license servers of one test.
pub struct Lab {
    pub app: TestApp,
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub async fn new() -> Lab {
        Lab {
            app: TestApp::spawn().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Where license servers reach the clearinghouse.
    pub fn address(&self) -> ClearinghouseAddress {
        ClearinghouseAddress {
            url: self.app.server.url(),
            tenant: self.app.tenant.clone(),
            seat_token: None,
        }
    }

    /// The state directory of license server `name`.
    pub fn state_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// What license server `name` running `os` in `country` is installed with.
    pub fn setup(&self, name: &str, os: WindowsServer, country: &str) -> Setup {
        let fields = CompanyFields {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            company: Some("Analytical Engines Ltd".into()),
            country_region: Some(country.into()),
            email: Some("ada@example.org".into()),
            ..CompanyFields::default()
        };
        Setup {
            name: name.to_owned(),
            os,
            company: CompanyInfo::new(fields).unwrap(),
            connection_method: ConnectionMethod::Automatic,
            clearinghouse: self.address(),
        }
    }

    /// Installs license server `name` running `os`, in country `country`.
    pub fn install_in(&self, name: &str, os: WindowsServer, country: &str) -> LicenseServer {
        // Each name gets its own product ID, the same on every run.
        let seed = name.bytes().fold(os as u64, |h, b| {
            h.wrapping_mul(1_099_511_628_211) ^ u64::from(b)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let setup = self.setup(name, os, country);
        LicenseServer::install(&self.state_dir(name), setup, &mut rng)
            .unwrap()
            .with_retry(quick_retries())
    }

    /// Installs license server `name` running `os` in the United Kingdom.
    pub fn install(&self, name: &str, os: WindowsServer) -> LicenseServer {
        self.install_in(name, os, "GB")
    }

    /// Installs and activates license server `name` (automatic method).
    pub async fn activated(&self, name: &str, os: WindowsServer) -> LicenseServer {
        let server = self.install(name, os);
        server
            .activate(ConnectionMethod::Automatic, &mut self.person())
            .await
            .unwrap();
        server
    }

    /// An activated source holding 40 Windows Server 2019 Per Device CALs of Select
    /// agreement 4412903.
    pub async fn source(&self, name: &str, os: WindowsServer) -> LicenseServer {
        let server = self.activated(name, os).await;
        server
            .install_cals(
                select_proof(),
                Some(cal_request(
                    ProductVersion::WindowsServer2019,
                    LicenseType::PerDevice,
                    40,
                )),
                ConnectionMethod::Automatic,
                &mut self.person(),
            )
            .await
            .unwrap();
        server
    }

    /// Someone who takes web and telephone requests to this clearinghouse, and confirms
    /// reminders.
    pub fn person(&self) -> Person {
        Person {
            url: self.app.server.url(),
            tenant: self.app.tenant.clone(),
            confirm: true,
            retype: None,
            handoffs: Vec::new(),
            reminders: Vec::new(),
        }
    }

    /// The license server ID of `server`.
    pub fn id_of(server: &LicenseServer) -> LicenseServerId {
        server
            .state()
            .unwrap()
            .activation
            .license_server_id()
            .expect("the license server is activated")
    }
}

/// Select agreement 4412903, as the client takes it.
pub fn select_proof() -> LicenseProof {
    serde_json::from_value(select_4412903()).unwrap()
}

/// CALs as the client takes them.
pub fn cal_request(version: ProductVersion, kind: LicenseType, quantity: u16) -> CalRequest {
    CalRequest {
        product_version: version,
        license_type: kind,
        quantity: Quantity::new(quantity).unwrap(),
    }
}

/// What a [`Person`] types given the ID they were told.
pub type Retype = Box<dyn Fn(&str) -> String + Send>;

/// The person at a license server, for the web and telephone methods: takes the request
/// to the clearinghouse as the web site's forms or a representative would, and types
/// back the ID given (or something else, to test what is typed).
pub struct Person {
    url: String,
    tenant: Option<String>,
    /// Whether reminders are confirmed.
    pub confirm: bool,
    /// Types this instead of the ID given, when set: given the real ID, returns the text.
    pub retype: Option<Retype>,
    /// Every handoff seen.
    pub handoffs: Vec<Handoff>,
    /// Every reminder seen.
    pub reminders: Vec<Reminder>,
}

impl Operator for Person {
    async fn obtain(
        &mut self,
        handoff: &Handoff,
    ) -> Result<Option<String>, licensing_client::Error> {
        self.handoffs.push(handoff.clone());
        let body = serde_json::to_value(&handoff.request).unwrap()["request"].clone();
        let mut request = reqwest::Client::new()
            .post(format!("{}{}", self.url, handoff.request.path()))
            .json(&body);
        if let Some(tenant) = &self.tenant {
            request = request.header(TENANT_HEADER, tenant);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        let id = ["license_server_id", "confirmation_code", "key_pack_id"]
            .into_iter()
            .find_map(|key| answer[key].as_str())
            .map(|id| match handoff.expects() {
                // Activation answers carry one ID; a key pack answer carries two.
                IdKind::KeyPackId => answer["key_pack_id"].as_str().unwrap_or(id).to_owned(),
                _ => id.to_owned(),
            })
            .unwrap_or_else(|| panic!("the clearinghouse gave no ID: {answer}"));
        Ok(Some(match &self.retype {
            Some(retype) => retype(&id),
            None => id,
        }))
    }

    async fn confirm(&mut self, reminder: &Reminder) -> bool {
        self.reminders.push(reminder.clone());
        self.confirm
    }
}

/// The `license-server` binary, built by `cargo test --workspace` alongside these tests.
pub fn license_server_bin() -> PathBuf {
    workspace_bin("license-server", "licensing-client")
}

/// The binary `name` of workspace package `package`, built by `cargo test --workspace`
/// alongside these tests.
pub fn workspace_bin(name: &str, package: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/end_to_end-<hash> -> target/<profile>/<name>
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test --workspace`, which builds it, or `cargo build -p {package}` first",
        bin.display()
    );
    bin
}

/// What a run of the command line printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The standard output, read as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: stdout {:?}, stderr {:?}", self.stdout, self.stderr))
    }

    /// Checks the run succeeded, and returns it.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// The command line of one license server (one state directory) of a [`Lab`].
pub struct ServerCli {
    pub state_dir: PathBuf,
}

impl ServerCli {
    /// Runs `license-server --state-dir <dir> <args>`, with no terminal attached.
    pub async fn run(&self, args: &[&str]) -> Run {
        let output = tokio::process::Command::new(license_server_bin())
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(args)
            .env_remove("CLEARINGHOUSE_URL")
            .env_remove("CLEARINGHOUSE_TENANT")
            .env_remove("CLEARINGHOUSE_SEAT_TOKEN")
            .env_remove("LICENSE_SERVER_STATE")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts `serve` on a free port and returns the daemon and its address.
    pub async fn serve(&self) -> (tokio::process::Child, String) {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(license_server_bin())
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the daemon says it is ready")
        .unwrap();
        let addr = line
            .trim()
            .strip_prefix("ready http://")
            .unwrap_or_else(|| panic!("not a ready line: {line:?}"))
            .to_owned();
        (child, addr)
    }
}

impl Lab {
    /// The command line of license server `name`.
    pub fn cli(&self, name: &str) -> ServerCli {
        ServerCli {
            state_dir: self.state_dir(name),
        }
    }

    /// Installs license server `name` running `os` with the command line.
    pub async fn cli_install(&self, name: &str, os: &str) -> ServerCli {
        let cli = self.cli(name);
        let url = self.app.server.url();
        // Each name gets its own product ID, the same on every run.
        let seed = name.bytes().map(u64::from).sum::<u64>().to_string();
        cli.run(&[
            "install",
            "--name",
            name,
            "--os",
            os,
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--company",
            "Analytical Engines Ltd",
            "--country",
            "GB",
            "--clearinghouse",
            &url,
            "--seed",
            &seed,
        ])
        .await
        .ok();
        cli
    }

    /// Plays the web site or the representative for a handoff printed by `--json`: sends
    /// its request to the clearinghouse and returns the ID to type back.
    pub async fn answer_handoff(&self, handoff: &Value) -> String {
        let request = &handoff["handoff"]["request"];
        let path = match request["operation"].as_str().unwrap() {
            "activate" => "/api/v1/activations",
            "reactivate" => "/api/v1/reactivations",
            "deactivate" => "/api/v1/deactivations",
            "install-cals" => "/api/v1/key-packs",
            "migrate-cals" => "/api/v1/migrations",
            "recover-cals" => "/api/v1/recoveries",
            other => panic!("unknown operation {other}"),
        };
        let response = self.app.post(path, &request["request"], None).await;
        let answer: Value = response.json().await.unwrap();
        let key = match handoff["handoff"]["expects"].as_str().unwrap() {
            "license server ID" => "license_server_id",
            "confirmation code" => "confirmation_code",
            _ => "key_pack_id",
        };
        answer[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {answer}"))
            .to_owned()
    }
}

/// The licensing web site as a browser without JavaScript uses it: the anti-forgery cookie
/// it was given, and forms posted field by field.
pub struct Portal {
    pub base: String,
    pub tenant: Option<String>,
    client: reqwest::Client,
    /// The cookies the site set, as `name=value`.
    cookies: Vec<String>,
    /// Headers sent with every request, e.g. the `Origin` a browser adds.
    pub headers: Vec<(&'static str, String)>,
}

/// A page the site answered.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub html: String,
}

impl Page {
    /// The value of hidden or text input `name`, as the page carries it.
    pub fn input(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(self.html[start..end].to_owned())
    }

    /// The ID on a result page, as its groups joined by `-`.
    pub fn result_id(&self) -> String {
        let marker = "id=\"copy\" readonly value=\"";
        let start = self
            .html
            .find(marker)
            .unwrap_or_else(|| panic!("no ID on the page: {}", self.html))
            + marker.len();
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].to_owned()
    }

    /// The error shown next to field `name`, if any.
    pub fn error_at(&self, name: &str) -> Option<String> {
        let marker = format!("id=\"f-{name}-error\">");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('<')? + start;
        Some(self.html[start..end].to_owned())
    }
}

impl Portal {
    pub fn new(app: &TestApp) -> Portal {
        Portal {
            base: app.server.url(),
            tenant: app.tenant.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Uses `other`'s cookies, as a second tab of the same browser does.
    pub fn share_cookie(&mut self, other: &Portal) {
        self.cookies = other.cookies.clone();
    }

    /// Sets cookie `name` to `value`, as a page of another site on the same host can.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
        self.cookies.push(format!("{name}={value}"));
    }

    /// The value of the cookie `name`, if the site set it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    fn with_cookies(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookies.join("; "))
        }
    }

    fn query(&self) -> String {
        match &self.tenant {
            Some(t) => format!("?tenant={t}"),
            None => String::new(),
        }
    }

    async fn read(&mut self, response: Response) -> Page {
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.set_cookie(name, value);
        }
        Page {
            status: response.status(),
            html: response.text().await.unwrap(),
        }
    }

    /// GETs `path` (with the tenant).
    pub async fn get(&mut self, path: &str) -> Page {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &self.tenant {
            Some(t) => format!("{}{path}{separator}tenant={t}", self.base),
            None => format!("{}{path}", self.base),
        };
        let response = self
            .with_cookies(self.client.get(url))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Opens the first page of `task`; returns it with its anti-forgery token and nonce.
    pub async fn start(&mut self, task: &str) -> (Page, Vec<(String, String)>) {
        let page = self.get(&format!("/start?task={task}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        let carried = vec![
            ("csrf".to_owned(), page.input("csrf").unwrap()),
            ("nonce".to_owned(), page.input("nonce").unwrap()),
        ];
        (page, carried)
    }

    /// Posts `fields` to `task`'s form.
    pub async fn post(&mut self, task: &str, fields: &[(String, String)]) -> Page {
        self.post_to(&format!("/task/{task}"), fields).await
    }

    /// Posts `fields` to `path` (with the tenant).
    pub async fn post_to(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let url = format!("{}{path}{}", self.base, self.query());
        let request = self.with_cookies(self.client.post(url).form(fields));
        let response = request.send().await.unwrap();
        self.read(response).await
    }

    /// Signs in to the instructor page with `token`, as its form does: the answer.
    pub async fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/instructor").await;
        let fields = [
            ("csrf".to_owned(), form.input("csrf").unwrap()),
            ("token".to_owned(), token.to_owned()),
        ];
        self.post_to("/instructor", &fields).await
    }

    /// Fills in every page of `task` with `values` and submits it: the final page.
    pub async fn complete(&mut self, task: &str, values: &[(&str, &str)]) -> Page {
        let (_, mut fields) = self.start(task).await;
        fields.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut step = "0".to_owned();
        // A task has at most a handful of pages.
        for _ in 0..8 {
            let mut posted = fields.clone();
            posted.push(("step".into(), step));
            posted.push(("go".into(), "next".into()));
            let page = self.post(task, &posted).await;
            if page.status != StatusCode::OK {
                return page;
            }
            step = page.input("step").unwrap();
            if page.html.contains("value=\"submit\"") {
                let mut posted = fields.clone();
                posted.push(("step".into(), step));
                posted.push(("go".into(), "submit".into()));
                return self.post(task, &posted).await;
            }
        }
        panic!("{task} did not reach its verification page in 8 pages");
    }
}

/// A caller on the clearinghouse's phone line, scripted line by line as a person with `nc`
/// would talk; everything heard is kept, to show when a test fails.
pub struct Caller {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    mouth: tokio::net::tcp::OwnedWriteHalf,
    pub heard: Vec<String>,
}

/// The number of the United Kingdom desk in `fixtures/phone-lines.json`.
pub const UK_NUMBER: &str = "+44 20 7946 0571";

impl Caller {
    /// Calls the phone line of `app`.
    pub async fn dial(app: &TestApp) -> Caller {
        Caller::dial_at(
            &app.server
                .phone_addr()
                .expect("the phone line answers")
                .to_string(),
        )
        .await
    }

    /// Calls the phone line at `line` (`host:port`).
    pub async fn dial_at(line: &str) -> Caller {
        let stream = tokio::net::TcpStream::connect(line).await.unwrap();
        let (reader, mouth) = stream.into_split();
        use tokio::io::AsyncBufReadExt;
        Caller {
            lines: tokio::io::BufReader::new(reader).lines(),
            mouth,
            heard: Vec::new(),
        }
    }

    /// Calls, and gets through the number, the tenant and the purpose.
    pub async fn dial_for(app: &TestApp, purpose: &str) -> Caller {
        let mut caller = Caller::dial(app).await;
        caller.answer("ASK number", UK_NUMBER).await;
        caller
            .answer("ASK tenant", app.tenant.as_deref().unwrap_or(""))
            .await;
        caller.answer("ASK purpose", purpose).await;
        caller
    }

    /// The next line, or `None` when the line is closed.
    pub async fn next(&mut self) -> Option<String> {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the representative went quiet: {:#?}", self.heard))
            .ok()
            .flatten()?;
        self.heard.push(line.clone());
        Some(line)
    }

    /// Listens until a line starting with `start` (e.g. `ASK quantity`), and returns it.
    pub async fn until(&mut self, start: &str) -> String {
        loop {
            match self.next().await {
                Some(line) if line.starts_with(start) => return line,
                Some(_) => {}
                None => panic!("the call ended before {start:?}: {:#?}", self.heard),
            }
        }
    }

    /// Says `text`.
    pub async fn say(&mut self, text: &str) {
        use tokio::io::AsyncWriteExt;
        self.heard.push(format!("> {text}"));
        self.mouth
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
    }

    /// Waits for the line starting with `start`, then says `text`.
    pub async fn answer(&mut self, start: &str, text: &str) {
        self.until(start).await;
        self.say(text).await;
    }

    /// Reads `id` group by group where field `name` is asked for.
    pub async fn give_id(&mut self, name: &str, id: &str) {
        for (i, group) in id.split('-').enumerate() {
            self.answer(&format!("ASK {name}.{}", i + 1), group).await;
        }
    }

    /// Answers every optional question with an empty line until one starting with `start`.
    pub async fn skip_until(&mut self, start: &str) -> String {
        loop {
            let line = self.until("ASK ").await;
            if line.starts_with(start) {
                return line;
            }
            if line.starts_with("ASK company.optional ") {
                self.say("no").await;
                continue;
            }
            assert!(line.contains("(an empty line skips it)"), "{line}");
            self.say("").await;
        }
    }

    /// The ID read out, each group acknowledged.
    pub async fn take_id(&mut self) -> String {
        let mut groups = Vec::new();
        loop {
            let line = self.next().await.unwrap_or_else(|| {
                panic!("the call ended before the ID was read: {:#?}", self.heard)
            });
            if line.starts_with("READ ") {
                groups.push(line.rsplit(' ').next().unwrap().to_owned());
                self.say("ok").await;
            } else if line.starts_with("DONE ") {
                return groups.join("-");
            } else {
                assert!(!line.starts_with("SORRY "), "{:#?}", self.heard);
            }
        }
    }

    /// Listens to the end of the call; the lines heard on the way.
    pub async fn rest_of_the_call(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Some(line) = self.next().await {
            rest.push(line);
        }
        rest
    }
}

/// `value` without the times it holds, which differ by when each door was used.
pub fn forget_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.ends_with("_at") && key != "at");
            map.values_mut().for_each(forget_times);
        }
        Value::Array(items) => items.iter_mut().for_each(forget_times),
        _ => {}
    }
}
