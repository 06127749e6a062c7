//! The licensing web site in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), as a person would use it. Each page is saved as a screenshot under
//! `target/screenshots/` so a person can look at them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use shared::id::{KeyPackId, LicenseServerId};

use crate::helpers::{Portal, TestApp, cals, select_4412903};

/// A headless Chromium of its own, behind its own chromedriver; both stop when dropped.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    async fn start(test: &str) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (Debian's chromium-driver; CI installs it)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1000,1200",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session starts");
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/screenshots")
            .join(test);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            _driver: driver,
            profile,
            shots,
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Types `value` into the text box named `name`, or chooses it in the list so named.
    async fn fill(&self, name: &str, value: &str) {
        let element = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap();
        if element.tag_name().await.unwrap() == "select" {
            element.select_by_value(value).await.unwrap();
        } else {
            element.clear().await.unwrap();
            element.send_keys(value).await.unwrap();
        }
    }

    /// Fills in the page's fields that are in `values` and presses `button`.
    async fn page(&self, values: &[(&str, &str)], button: &str, shot: &str) {
        for (name, value) in values {
            if self
                .client
                .find(Locator::Css(&format!(
                    "main [name='{name}']:not([type='hidden'])"
                )))
                .await
                .is_ok()
            {
                self.fill(name, value).await;
            }
        }
        self.shot(shot).await;
        self.press(&format!("button[value='{button}']")).await;
    }

    /// Clicks the element `css` and waits until the page it leads to has loaded.
    async fn press(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old page's root goes stale once the browser has moved on.
        while old.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "no new page after clicking {css}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            if matches!(state, Ok(serde_json::Value::String(s)) if s == "complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page after {css} did not load"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Goes through `task` from the first page, filling in `values`, up to its result.
    async fn task(&self, base: &str, task: &str, values: &[(&str, &str)]) -> String {
        self.client.goto(&format!("{base}/")).await.unwrap();
        self.shot("select-option").await;
        self.client
            .find(Locator::Css(&format!("input[value='{task}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.press("button[type='submit']").await;
        for page in 1..=6 {
            if self
                .client
                .find(Locator::Css("button[value='submit']"))
                .await
                .is_ok()
            {
                self.page(&[], "submit", &format!("{task}-verify")).await;
                break;
            }
            self.page(values, "next", &format!("{task}-{page}")).await;
        }
        let id = self
            .client
            .find(Locator::Id("copy"))
            .await
            .unwrap_or_else(|e| panic!("{task} reached no result page: {e}"));
        self.shot(&format!("{task}-result")).await;
        id.prop("value").await.unwrap().unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver is killed with its handle, but a session a failed test never closed
        // leaves Chromium running: it is found by its own profile directory.
        let _ = std::process::Command::new("pkill")
            .arg("-f")
            .arg(self.profile.path())
            .status();
    }
}

const COMPANY: [(&str, &str); 4] = [
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("company", "Analytical Engines Ltd"),
    ("country_region", "GB"),
];

fn with_company<'a>(values: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = values.to_vec();
    all.extend(COMPANY);
    all
}

#[tokio::test]
async fn an_activation_an_installation_and_a_migration_through_the_browser() {
    let mut app = TestApp::spawn().await;
    let base = app.server.url();
    let browser = Browser::start("flows").await;

    let product_id = app.product_id().to_string();
    let target: LicenseServerId = browser
        .task(
            &base,
            "activate",
            &with_company(&[("product_id", &product_id)]),
        )
        .await
        .parse()
        .unwrap();
    assert_eq!(app.status(target).await["status"], "activated");

    let target_id = target.to_string();
    let installed: KeyPackId = browser
        .task(
            &base,
            "install-cals",
            &with_company(&[
                ("license_server_id", &target_id),
                ("program", "select"),
                ("agreement_number", "4412903"),
                ("product_version", "2019"),
                ("license_type", "per-user"),
                ("quantity", "15"),
            ]),
        )
        .await
        .parse()
        .unwrap();
    assert_eq!(installed.open(&target).unwrap().quantity.get(), 15);

    let source = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 40))
        .await;
    let source_id = source.to_string();
    let migrated: KeyPackId = browser
        .task(
            &base,
            "manage-cals",
            &with_company(&[
                ("license_server_id", &target_id),
                ("reason", "source-not-functioning"),
                ("program", "select"),
                ("source_license_server_id", &source_id),
                ("source_os", "2019"),
                ("agreement_number", "4412903"),
                ("product_version", "2019"),
                ("license_type", "per-device"),
                ("quantity", "25"),
            ]),
        )
        .await
        .parse()
        .unwrap();
    assert_eq!(migrated.open(&target).unwrap().quantity.get(), 25);
    assert_eq!(app.held(target).await, 40);
    assert_eq!(app.held(source).await, 15);
    assert!(app.audit("default").await.ok);

    // The trainer signs in to the instructor page with the admin token, once.
    browser
        .client
        .goto(&format!("{base}/instructor"))
        .await
        .unwrap();
    browser.fill("token", app.server.admin_token()).await;
    browser.shot("instructor-sign-in").await;
    browser.press("button[type='submit']").await;
    browser.shot("instructor").await;
    let page = browser.client.source().await.unwrap();
    assert!(page.contains("CALs migrated"), "{page}");
    assert!(page.contains(&migrated.to_string()), "{page}");
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_script_typed_into_the_company_name_is_shown_as_text_and_never_runs() {
    let mut app = TestApp::spawn().await;
    let base = app.server.url();
    let browser = Browser::start("hostile-text").await;
    let hostile =
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
    let product_id = app.product_id().to_string();
    let values = [
        ("product_id", product_id.as_str()),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("company", hostile),
        ("country_region", "GB"),
    ];
    browser
        .client
        .goto(&format!("{base}/start?task=activate"))
        .await
        .unwrap();
    browser.page(&values, "next", "hostile-1").await;
    browser.page(&values, "next", "hostile-2").await;
    browser.shot("hostile-verify").await;
    let title = browser.client.title().await.unwrap();
    assert!(!title.contains("pwned"), "{title}");
    let shown = browser
        .client
        .find(Locator::Css("table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains(hostile), "{shown}");
    assert!(browser.client.find(Locator::Css("main img")).await.is_err());
    browser.client.clone().close().await.unwrap();
}

/// A site of another origin on this host (another loopback port), serving `html` to every
/// request until it is dropped.
async fn another_site(html: String) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0; 8192];
            let _ = stream.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_page_of_another_site_on_this_host_can_neither_post_the_api_nor_send_a_form() {
    let mut app = TestApp::spawn().await;
    let base = app.server.url();
    let server = app.activate().await;
    // The attacker's own visit: a session of theirs, and a form token good for it.
    let mut attacker = Portal::new(&app);
    let (_, mut fields) = attacker.start("deactivate").await;
    fields.push(("license_server_id".into(), server.to_string()));
    let mut next = fields.clone();
    next.extend([("step".into(), "0".into()), ("go".into(), "next".into())]);
    let verify = attacker.post("deactivate", &next).await;
    fields.extend([
        ("step".into(), verify.input("step").unwrap()),
        ("go".into(), "submit".into()),
    ]);
    let session = attacker.cookie("clearinghouse_session").unwrap();
    let inputs: String = fields
        .iter()
        .map(|(name, value)| format!("<input type=hidden name=\"{name}\" value=\"{value}\">"))
        .collect();
    // Plants the session (cookies ignore ports), calls the API as `no-cors` allows, then
    // sends the form.
    let html = format!(
        r#"<!doctype html><html><body><form id="f" method="post" action="{base}/task/deactivate">{inputs}</form>
<script>
document.cookie = "clearinghouse_session={session}; path=/";
fetch("{base}/api/v1/deactivations", {{method: "POST", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: '{{"license_server_id":"{server}"}}'}})
  .catch(() => {{}})
  .finally(() => document.getElementById("f").submit());
</script></body></html>"#
    );
    let (evil, site) = another_site(html).await;
    let browser = Browser::start("cross-site").await;
    browser.client.goto(&format!("{evil}/")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser
        .client
        .current_url()
        .await
        .unwrap()
        .as_str()
        .starts_with(&base)
    {
        assert!(Instant::now() < deadline, "the form was never sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let heading = browser.client.find(Locator::Css("h1")).await.unwrap();
    assert_eq!(
        heading.text().await.unwrap(),
        "This form came from another site"
    );
    browser.shot("refused").await;
    assert_eq!(app.status(server).await["status"], "activated");
    site.abort();
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn the_instructor_page_shows_a_class_its_grades_and_what_each_seat_did() {
    let dir = tempfile::tempdir().unwrap();
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let options = lab::UpOptions {
        scenario: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/labs/migrate-telephone.toml"),
        seats: 2,
        dir: dir.path().to_owned(),
        name: Some("tuesday".into()),
        clearinghouse: None,
        addr: any,
        phone_addr: any,
        sip_addr: None,
        seed: 3,
        seat_tokens: false,
    };
    let host = lab::Host::up(options, std::process::id()).await.unwrap();
    let seat = host.class.file.seat(1).unwrap();
    lab::student::play(&host.class, seat, &host.class.scenario.solution)
        .await
        .unwrap();
    lab::Host::grade_and_report(&host.class).await.unwrap();

    let browser = Browser::start("instructor-class").await;
    let base = host.url().to_owned();
    browser
        .client
        .goto(&format!("{base}/instructor?tenant=tuesday-01"))
        .await
        .unwrap();
    browser.fill("token", &host.class.file.admin_token).await;
    browser.press("button[type='submit']").await;
    browser.shot("class").await;
    let text = browser
        .client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "Class tuesday: Replace a license server: migrate its CALs by the telephone connection method",
        "Seat 1",
        "pass (6 of 6)",
        "Seat 2",
        "fail (2 of 6)",
        "LS-NEW is not activated yet: activate it first",
        "CALs migrated (Telephone)",
        "License server deactivated (Automatic connection)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} is not on the page:\n{text}"
        );
    }
    // The set-up's changes are not the student's.
    let class = text.split("What was done in tenant").next().unwrap();
    assert!(!class.contains("CALs installed"), "{class}");
    // The seat's own history, below the class: every change, by its method.
    assert!(
        text.contains("What was done in tenant tuesday-01"),
        "{text}"
    );
    browser.client.clone().close().await.unwrap();
    host.stop().await.unwrap();
}
