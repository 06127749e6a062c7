//! What a page of another site, a slow client or a greedy caller may not do to a
//! clearinghouse: post to the API or the web site, bypass the anti-forgery token, leave
//! out the headers that tell a browser how to treat an answer, hold connections or phone
//! seats until nobody else gets one.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shared::wire::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use clearinghouse::Config;

use crate::helpers::{Portal, TestApp, problem, spawn_with};
use crate::portal::install_form;

// The JSON API.

#[tokio::test]
async fn an_api_body_sent_as_text_is_refused_as_unsupported_and_changes_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    // What a `no-cors` fetch of another site can send.
    let response = app
        .client
        .post(app.url("/api/v1/deactivations"))
        .header("content-type", "text/plain")
        .body(json!({ "license_server_id": server }).to_string())
        .send()
        .await
        .unwrap();
    let p = problem(response, ErrorCode::UnsupportedMediaType).await;
    assert!(p.detail.contains("application/json"), "{}", p.detail);
    assert_eq!(app.status(server).await["status"], "activated");
}

#[tokio::test]
async fn an_api_request_from_another_origin_is_refused_and_changes_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let response = app
        .client
        .post(app.url("/api/v1/deactivations"))
        .header("origin", "http://evil.example")
        .json(&json!({ "license_server_id": server }))
        .send()
        .await
        .unwrap();
    problem(response, ErrorCode::CrossSiteRequest).await;
    assert_eq!(app.status(server).await["status"], "activated");
}

#[tokio::test]
async fn an_api_request_from_the_clearinghouses_own_origin_is_taken() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let response = app
        .client
        .post(app.url("/api/v1/deactivations"))
        .header("origin", app.server.url())
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "license_server_id": server }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.status(server).await["status"], "deactivated");
}

#[tokio::test]
async fn an_admin_request_from_another_port_of_the_same_host_is_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth(app.server.admin_token())
        .header("origin", "http://127.0.0.1:1")
        .json(&json!({ "name": "lab-9" }))
        .send()
        .await
        .unwrap();
    problem(response, ErrorCode::CrossSiteRequest).await;
    assert_eq!(
        app.admin(reqwest::Method::GET, "/admin/v1/tenants/lab-9/audit", None)
            .await
            .status(),
        404
    );
}

// The web site's forms.

#[tokio::test]
async fn a_form_token_of_the_senders_choosing_is_refused_and_applies_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let mut fields = install_form(&mut portal, &server.to_string(), "4412903", "5").await;
    // A page on another port of this host can set the cookie, and the field, to anything.
    let mut forger = Portal::new(&app);
    forger.set_cookie("clearinghouse_session", &"f".repeat(32));
    for (name, value) in fields.iter_mut() {
        if name == "csrf" {
            *value = "f".repeat(64);
        }
    }
    let page = forger.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert!(page.html.contains("This form has expired"), "{}", page.html);
    assert_eq!(app.held(server).await, 0);
}

#[tokio::test]
async fn a_form_token_signed_for_one_task_is_refused_by_another() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let (_, activate_fields) = portal.start("activate").await;
    let mut fields = install_form(&mut portal, &server.to_string(), "4412903", "5").await;
    let activate_token = activate_fields
        .iter()
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.clone())
        .unwrap();
    for (name, value) in fields.iter_mut() {
        if name == "csrf" {
            *value = activate_token.clone();
        }
    }
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert_eq!(app.held(server).await, 0);
}

#[tokio::test]
async fn a_form_from_another_origin_is_refused_even_with_a_good_token() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let fields = install_form(&mut portal, &server.to_string(), "4412903", "5").await;
    // The attacker's own session and token, planted in the victim's browser: only where
    // the form came from gives it away.
    portal.headers = vec![("origin", "http://127.0.0.1:1".to_owned())];
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert!(page.html.contains("another site"), "{}", page.html);
    portal.headers = vec![("sec-fetch-site", "same-site".to_owned())];
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert_eq!(app.held(server).await, 0);
    portal.headers = vec![
        ("origin", app.server.url()),
        ("sec-fetch-site", "same-origin".to_owned()),
    ];
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(app.held(server).await, 5);
}

#[tokio::test]
async fn a_form_not_sent_as_a_form_gets_a_site_page_saying_so() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/task/activate"))
        .json(&json!({ "csrf": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = response.text().await.unwrap();
    assert!(html.contains("This form was not sent as a form"), "{html}");
}

#[tokio::test]
async fn an_oversized_form_gets_a_site_page_saying_how_large_a_form_may_be() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("activate").await;
    fields.push(("company".into(), "x".repeat(64 * 1024)));
    let page = portal.post("activate", &fields).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.html.contains("at most 16 KiB"), "{}", page.html);
    assert!(page.html.contains("Start again"), "{}", page.html);
}

// The instructor page.

#[tokio::test]
async fn the_instructor_page_never_takes_the_admin_token_in_its_address() {
    let app = TestApp::spawn().await;
    let url = format!("/instructor?token={}", app.server.admin_token());
    let page = Portal::new(&app).get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Instructor sign-in"), "{}", page.html);
    assert!(
        page.html.contains("does not go in the address"),
        "{}",
        page.html
    );
    assert!(!page.html.contains("What was done"), "{}", page.html);
}

#[tokio::test]
async fn a_wrong_admin_token_does_not_sign_in() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let page = portal.sign_in("not-the-token").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.html.contains("not the admin token"), "{}", page.html);
    let page = portal.get("/instructor").await;
    assert!(page.html.contains("Instructor sign-in"), "{}", page.html);
}

#[tokio::test]
async fn an_instructor_sign_in_holds_for_its_own_session_only() {
    let app = TestApp::spawn().await;
    let mut instructor = Portal::new(&app);
    let signed_in = instructor.sign_in(app.server.admin_token()).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let page = instructor.get("/instructor").await;
    assert!(page.html.contains("What was done"), "{}", page.html);
    // The pass copied into another browser, whose session differs.
    let mut other = Portal::new(&app);
    other.get("/").await;
    let pass = instructor.cookie("clearinghouse_instructor").unwrap();
    other.set_cookie("clearinghouse_instructor", &pass);
    let page = other.get("/instructor").await;
    assert!(page.html.contains("Instructor sign-in"), "{}", page.html);
}

// What every answer tells a browser.

#[tokio::test]
async fn every_page_and_api_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/start?task=activate",
        "/instructor",
        "/api/v1/catalog",
        "/health",
        "/nowhere",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{path} has no {name}"))
        };
        let policy = header("content-security-policy");
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("form-action 'self'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
}

#[tokio::test]
async fn the_pages_take_their_style_from_the_sites_own_style_sheet() {
    let app = TestApp::spawn().await;
    let page = Portal::new(&app).get("/").await;
    // The policy allows no inline style, so none may be needed.
    assert!(!page.html.contains("<style"), "{}", page.html);
    assert!(!page.html.contains(" style="), "{}", page.html);
    assert!(page.html.contains("href=\"/site.css\""), "{}", page.html);
    let css = app.client.get(app.url("/site.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("font-family"));
}

// Slow clients (a thousand of them at once: `clearinghouse/tests/binary.rs`).

#[tokio::test]
async fn a_form_that_arrives_too_slowly_gets_a_site_page_saying_so() {
    let server = spawn_with(Config {
        body_timeout: Duration::from_secs(1),
        ..Config::ephemeral()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"POST /task/activate HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ncsrf=")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the clearinghouse answers once the body's time is up")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("This form took too long to arrive"),
        "{answer}"
    );
    assert!(answer.contains("did not arrive within 1s"), "{answer}");
}

// Every error in its door's own form.

#[tokio::test]
async fn a_method_an_api_route_does_not_take_is_405_naming_the_ones_it_does() {
    let app = TestApp::spawn().await;
    for (method, path, allow) in [
        ("DELETE", "/api/v1/activations", "POST"),
        ("POST", "/api/v1/catalog", "GET, HEAD"),
        ("PATCH", "/admin/v1/tenants", "GET, HEAD, POST"),
        ("PUT", "/health", "GET, HEAD"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(app.server.admin_token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let p = problem(response, ErrorCode::MethodNotAllowed).await;
        assert!(
            p.detail.contains(&format!("takes {allow}, not {method}")),
            "{}",
            p.detail
        );
    }
}

#[tokio::test]
async fn a_method_a_page_does_not_take_is_405_on_a_page_of_the_site() {
    let app = TestApp::spawn().await;
    let response = app.client.put(app.url("/start")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("Start again"));
}

#[tokio::test]
async fn head_is_answered_wherever_get_is_without_a_body() {
    let app = TestApp::spawn().await;
    for path in [
        "/health",
        "/ready",
        "/",
        "/site.css",
        "/api/v1/catalog",
        "/api/v1/openapi.json",
    ] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "HEAD {path}");
        assert!(response.bytes().await.unwrap().is_empty(), "HEAD {path}");
    }
}

#[tokio::test]
async fn an_address_that_is_no_page_gets_a_page_of_the_site_and_no_route_of_the_api_a_problem() {
    let app = TestApp::spawn().await;
    let page = Portal::new(&app).get("/favicon.ico").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("There is no such page"), "{}", page.html);
    let response = app.get("/api/v1/nothing-here").await;
    problem(response, ErrorCode::NotFound).await;
}

/// What the clearinghouse answers first to a request head that says `Expect:
/// 100-continue`, before any of the body is sent.
async fn first_answer_to(app: &TestApp, head: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.server.addr())
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer);
    let n = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("an answer before the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn a_body_announced_over_its_limit_is_refused_before_it_is_sent() {
    let app = TestApp::spawn().await;
    let api = first_answer_to(&app, "POST /api/v1/activations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nexpect: 100-continue\r\n\r\n").await;
    assert!(api.starts_with("HTTP/1.1 413"), "{api}");
    assert!(api.contains("payload_too_large"), "{api}");
    assert!(!api.contains("100 Continue"), "{api}");
    let form = first_answer_to(&app, "POST /task/activate HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100000\r\nexpect: 100-continue\r\n\r\n").await;
    assert!(form.starts_with("HTTP/1.1 413"), "{form}");
    assert!(form.contains("This form is too large"), "{form}");
}

#[tokio::test]
async fn a_body_announced_within_its_limit_is_asked_for() {
    let app = TestApp::spawn().await;
    let answer = first_answer_to(&app, "POST /api/v1/activations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 100 Continue"), "{answer}");
}
