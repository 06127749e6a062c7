//! The test controls of a tenant: injected faults, the journal, seeds and replays, the
//! tenant clock and snapshots, each observed through the real HTTP API.

use std::time::{Duration, Instant};

use clearinghouse::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::wire::{
    ErrorCode, FaultList, JournalPage, Problem, ReplayReport, TenantClock, TenantInfo,
};

use crate::helpers::{TestApp, cals, created, ok, problem, select_4412903, spawn_with};

impl TestApp {
    async fn journal(&self, tenant: &str, query: &str) -> JournalPage {
        ok(self
            .control(Method::GET, tenant, &format!("/journal{query}"), None)
            .await)
        .await
    }

    async fn journal_lines(&self, tenant: &str) -> String {
        let response = self
            .control(Method::GET, tenant, "/journal?format=jsonl", None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    async fn advance_clock(&self, tenant: &str, by: &str) -> TenantClock {
        ok(self
            .control(Method::POST, tenant, "/clock", Some(json!({"advance": by})))
            .await)
        .await
    }

    async fn export(&self, tenant: &str) -> String {
        let response = self.control(Method::GET, tenant, "/snapshot", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    async fn import(&self, tenant: &str, snapshot: String) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/admin/v1/tenants/{tenant}/snapshot")))
            .bearer_auth(self.server.admin_token())
            .header("content-type", "application/json")
            .body(snapshot)
            .send()
            .await
            .unwrap()
    }

    async fn tenant_names(&self) -> Vec<String> {
        let tenants: Vec<TenantInfo> =
            ok(self.admin(Method::GET, "/admin/v1/tenants", None).await).await;
        tenants.into_iter().map(|t| t.name).collect()
    }
}

async fn injected(response: reqwest::Response, status: u16) -> Problem {
    assert_eq!(response.status().as_u16(), status);
    let p: Problem = response.json().await.unwrap();
    assert_eq!(p.code, ErrorCode::InjectedFault);
    p
}

#[tokio::test]
async fn a_latency_fault_delays_the_answers_of_its_route() {
    let app = TestApp::spawn().await;
    app.set_fault(
        "default",
        json!({"kind": "latency", "ms": 300, "route": "/api/v1/catalog"}),
    )
    .await;
    let begun = Instant::now();
    assert_eq!(app.get("/api/v1/catalog").await.status(), StatusCode::OK);
    assert!(begun.elapsed() >= Duration::from_millis(300));
    let page = app.journal("default", "").await;
    assert_eq!(page.entries[0].faults, vec!["latency"]);
}

#[tokio::test]
async fn an_error_fault_answers_its_status_and_applies_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    app.set_fault(
        "default",
        json!({"kind": "error", "status": 503, "route": "/api/v1/key-packs"}),
    )
    .await;
    let p = injected(
        app.install(server, select_4412903(), cals("2019", "per-user", 2))
            .await,
        503,
    )
    .await;
    assert!(p.detail.contains("nothing was applied"), "{}", p.detail);
    assert_eq!(app.held(server).await, 0, "other routes are not hit");
    assert_eq!(app.audit("default").await.allocated, 0);
}

/// The statuses of twenty status requests against a tenant with a 50% error fault.
async fn statuses_under_a_shared_error(seed: u64) -> Vec<u16> {
    let mut app = TestApp::spawn().await;
    app.create_tenant("flaky", seed).await;
    app.tenant = Some("flaky".to_owned());
    let server = app.activate().await;
    app.set_fault(
        "flaky",
        json!({"kind": "error", "status": 500, "share": 0.5}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let path = format!("/api/v1/license-servers/{server}");
        statuses.push(app.get(&path).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn an_error_fault_with_a_share_hits_the_same_requests_every_run() {
    let first = statuses_under_a_shared_error(31).await;
    let second = statuses_under_a_shared_error(31).await;
    assert_eq!(first, second);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn an_outage_refuses_every_request_until_the_tenant_clock_passes_its_end() {
    let app = TestApp::spawn().await;
    app.set_fault("default", json!({"kind": "outage", "seconds": 600}))
        .await;
    let during = app.get("/api/v1/catalog").await;
    assert_eq!(during.headers()["retry-after"], "600");
    problem(during, ErrorCode::ServiceUnavailable).await;

    app.advance_clock("default", "601s").await;
    assert_eq!(app.get("/api/v1/catalog").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_reply_is_applied_and_a_retry_with_its_key_gets_the_first_answer() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    app.set_fault("default", json!({"kind": "drop-reply", "next": 1}))
        .await;
    let body = json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-user", 4)});
    let lost = app
        .client
        .post(app.url("/api/v1/key-packs"))
        .header("Idempotency-Key", "drop-1")
        .json(&body)
        .send()
        .await;
    assert!(lost.is_err(), "the connection closes without an answer");

    let retry = app.post("/api/v1/key-packs", &body, Some("drop-1")).await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let answer: Value = created(retry).await;
    assert_eq!(app.held(server).await, 4, "applied once, not twice");
    let page = app.journal("default", "").await;
    let dropped = page
        .entries
        .iter()
        .find(|e| e.faults == vec!["drop-reply"])
        .unwrap();
    assert_eq!(dropped.ids, vec![answer["key_pack_id"].as_str().unwrap()]);
}

#[tokio::test]
async fn faults_are_listed_and_cleared_one_by_one_or_all_at_once() {
    let app = TestApp::spawn().await;
    let first = app
        .set_fault(
            "default",
            json!({"kind": "latency", "min_ms": 1, "max_ms": 5}),
        )
        .await;
    app.set_fault("default", json!({"kind": "drop-reply", "share": 0.1}))
        .await;
    let listed: FaultList = ok(app.control(Method::GET, "default", "/faults", None).await).await;
    assert_eq!(listed.faults.len(), 2);

    let path = format!("/faults/{}", first["id"]);
    let left: FaultList = ok(app.control(Method::DELETE, "default", &path, None).await).await;
    assert_eq!(left.faults.len(), 1);
    problem(
        app.control(Method::DELETE, "default", &path, None).await,
        ErrorCode::NotFound,
    )
    .await;

    let none: FaultList = ok(app
        .control(Method::DELETE, "default", "/faults", None)
        .await)
    .await;
    assert!(none.faults.is_empty());
}

#[tokio::test]
async fn a_fault_naming_an_unknown_route_is_refused_with_the_routes_it_can_name() {
    let app = TestApp::spawn().await;
    let p = problem(
        app.control(
            Method::POST,
            "default",
            "/faults",
            Some(json!({"kind": "outage", "seconds": 5, "route": "/api/v1/keypacks"})),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("route"));
    assert!(p.detail.contains("/api/v1/key-packs"), "{}", p.detail);
}

#[tokio::test]
async fn a_fault_with_a_share_out_of_range_is_refused() {
    let app = TestApp::spawn().await;
    let p = problem(
        app.control(
            Method::POST,
            "default",
            "/faults",
            Some(json!({"kind": "error", "status": 500, "share": 1.5})),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert_eq!(p.field.as_deref(), Some("share"));
}

#[tokio::test]
async fn the_faults_of_one_tenant_leave_another_alone() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("calm", 1).await;
    app.set_fault("default", json!({"kind": "outage", "seconds": 60}))
        .await;
    app.tenant = Some("calm".to_owned());
    assert_eq!(app.get("/api/v1/catalog").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_journal_records_route_key_status_and_ids_issued() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let body = json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-user", 9999)});
    app.post("/api/v1/key-packs", &body, Some("too-many")).await;

    let page = app.journal("default", "").await;
    let [activation, refusal] = page.entries.as_slice() else {
        panic!("two entries: {page:?}");
    };
    assert_eq!(activation.route, "/api/v1/activations");
    assert_eq!(activation.status, 201);
    assert_eq!(activation.ids, vec![server.to_string()]);
    assert_eq!(activation.applied, Some(0));
    assert_eq!(refusal.idempotency_key.as_deref(), Some("too-many"));
    assert_eq!(refusal.status, 409);
    assert!(refusal.ids.is_empty() && refusal.applied.is_none());
    assert_eq!(refusal.request.as_ref().unwrap()["cals"]["quantity"], 9999);
}

#[tokio::test]
async fn the_journal_keeps_its_bound_and_counts_what_it_dropped() {
    let app = TestApp::from(
        spawn_with(Config {
            journal_capacity: 5,
            ..Config::ephemeral()
        })
        .await,
    );
    for _ in 0..8 {
        app.get("/api/v1/catalog").await;
    }
    let page = app.journal("default", "").await;
    assert_eq!(page.dropped, 3);
    let numbers: Vec<u64> = page.entries.iter().map(|e| e.n).collect();
    assert_eq!(numbers, vec![4, 5, 6, 7, 8]);
}

#[tokio::test]
async fn the_journal_reads_page_by_page_and_as_json_lines() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.get("/api/v1/catalog").await;
    }
    let first = app.journal("default", "?limit=2").await;
    assert_eq!(first.next_after, Some(2));
    let second = app.journal("default", "?after=2&limit=2").await;
    assert_eq!(second.entries[0].n, 3);
    let lines = app.journal_lines("default").await;
    assert_eq!(lines.lines().count(), 5);
    for line in lines.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["route"], "/api/v1/catalog");
    }
}

#[tokio::test]
async fn replaying_a_journal_into_a_fresh_tenant_with_the_same_seed_reproduces_every_id() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("original", 4242).await;
    app.tenant = Some("original".to_owned());
    let old = app.activate().await;
    let new = app.activate().await;
    app.install_ok(old, select_4412903(), cals("2019", "per-device", 20))
        .await;
    created::<Value>(
        app.migrate(
            new,
            json!({"license_server_id": old, "os": "2019", "reachable": true}),
            select_4412903(),
            cals("2019", "per-device", 20),
        )
        .await,
    )
    .await;
    app.install(new, select_4412903(), cals("2019", "per-user", 9999))
        .await;
    let deactivated = app
        .post(
            "/api/v1/deactivations",
            &json!({"license_server_id": old}),
            Some("bye"),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    let journal = app.journal_lines("original").await;

    app.create_tenant("rerun", 4242).await;
    let response = app
        .client
        .post(app.url("/admin/v1/tenants/rerun/replay"))
        .bearer_auth(app.server.admin_token())
        .header("content-type", "application/json")
        .body(journal)
        .send()
        .await
        .unwrap();
    let report: ReplayReport = ok(response).await;
    assert_eq!(report.mismatches, Vec::<String>::new());
    assert_eq!((report.replayed, report.ids_reproduced), (5, 5));
    assert_eq!(report.skipped, 1, "the refused install");
    app.tenant = Some("rerun".to_owned());
    assert_eq!(app.held(new).await, 20);
}

#[tokio::test]
async fn a_seed_set_later_draws_the_ids_of_that_seed() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("one", 1).await;
    app.create_tenant("two", 2).await;
    let info: TenantInfo = ok(app
        .control(Method::PUT, "two", "/seed", Some(json!({"seed": 1})))
        .await)
    .await;
    assert_eq!(info.seed, 1);
    let product_id = app.product_id();
    let mut ids = Vec::new();
    for tenant in ["one", "two"] {
        app.tenant = Some(tenant.to_owned());
        ids.push(app.activate_product(product_id).await);
    }
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn moving_a_tenants_clock_expires_its_idempotency_keys() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let body = |n| json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-user", n)});
    app.post("/api/v1/key-packs", &body(1), Some("day-1")).await;
    let reused = app.post("/api/v1/key-packs", &body(2), Some("day-1")).await;
    problem(reused, ErrorCode::IdempotencyKeyReused).await;

    app.advance_clock("default", "24h").await;
    let fresh = app.post("/api/v1/key-packs", &body(2), Some("day-1")).await;
    assert_eq!(fresh.status(), StatusCode::CREATED);
    assert_eq!(app.held(server).await, 3);
}

#[tokio::test]
async fn a_tenants_clock_is_set_alone_and_reads_back() {
    let app = TestApp::spawn().await;
    app.create_tenant("future", 1).await;
    let set: TenantClock = ok(app
        .control(
            Method::POST,
            "future",
            "/clock",
            Some(json!({"set": "2031-02-03T04:05:06Z"})),
        )
        .await)
    .await;
    assert!(set.now.starts_with("2031-02-03T04:05:0"), "{}", set.now);
    let default: TenantClock = ok(app.control(Method::GET, "default", "/clock", None).await).await;
    assert_eq!(default.offset_ms, 0);
}

#[tokio::test]
async fn a_clock_request_that_is_not_a_time_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({"set": "next tuesday"}), "set"),
        (json!({"advance": "a while"}), "advance"),
    ] {
        let p = problem(
            app.control(Method::POST, "default", "/clock", Some(body))
                .await,
            ErrorCode::InvalidField,
        )
        .await;
        assert_eq!(p.field.as_deref(), Some(field));
    }
}

#[tokio::test]
async fn a_snapshot_carries_a_tenant_to_another_clearinghouse() {
    let mut lab = TestApp::spawn().await;
    lab.create_tenant("prepared", 77).await;
    lab.tenant = Some("prepared".to_owned());
    let server = lab.activate().await;
    let body = json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-user", 5)});
    lab.post("/api/v1/key-packs", &body, Some("seat")).await;
    lab.advance_clock("prepared", "3h").await;
    let snapshot = lab.export("prepared").await;

    let mut seat = TestApp::spawn().await;
    let imported: TenantInfo = created(seat.import("seat-1", snapshot).await).await;
    assert_eq!(imported.seed, 77);
    seat.tenant = Some("seat-1".to_owned());
    assert_eq!(seat.status(server).await, lab.status(server).await);
    assert!(seat.audit("seat-1").await.ok);
    let replay = seat.post("/api/v1/key-packs", &body, Some("seat")).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    // The history travels too: the same changes, by the same methods, with the same IDs.
    let theirs: shared::wire::History =
        ok(lab.control(Method::GET, "prepared", "/history", None).await).await;
    let ours: shared::wire::History =
        ok(seat.control(Method::GET, "seat-1", "/history", None).await).await;
    assert_eq!(ours.entries, theirs.entries);
    assert_eq!(ours.entries.len(), 2);
    let clock: TenantClock = ok(seat.control(Method::GET, "seat-1", "/clock", None).await).await;
    assert!(clock.offset_ms >= 3 * 3600 * 1000 - 60_000, "{clock:?}");
    let product_id = lab.product_id();
    assert_eq!(
        seat.activate_product(product_id).await,
        lab.activate_product(product_id).await,
        "seed and sequence travel: the next IDs are the same"
    );
}

#[tokio::test]
async fn damaged_truncated_and_foreign_snapshots_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let snapshot = app.export("default").await;
    let damaged = snapshot.replacen("\"purchased\":", "\"purchased\":1", 1);
    let truncated = snapshot[..snapshot.len() / 2].to_owned();
    let foreign = r#"{"format": "moto-state", "version": 1}"#.to_owned();
    let newer = snapshot.replacen("\"version\":1", "\"version\":2", 1);
    for (file, says) in [
        (damaged, "checksum"),
        (truncated, "cut short"),
        (foreign, "not a clearinghouse snapshot"),
        ("not json at all".to_owned(), "not a clearinghouse snapshot"),
        (newer, "version 2 is not supported"),
    ] {
        let p = problem(app.import("copy", file).await, ErrorCode::InvalidSnapshot).await;
        assert!(p.detail.contains(says), "{}", p.detail);
        assert!(p.detail.contains("nothing was imported"), "{}", p.detail);
    }
    assert_eq!(app.tenant_names().await, vec!["default"]);
}

#[tokio::test]
async fn a_snapshot_into_an_existing_tenant_is_refused() {
    let app = TestApp::spawn().await;
    let snapshot = app.export("default").await;
    problem(
        app.import("default", snapshot).await,
        ErrorCode::AlreadyExists,
    )
    .await;
}

#[tokio::test]
async fn a_snapshot_whose_ledger_does_not_balance_is_refused() {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn().await;
    let snapshot = app.export("default").await;
    let start = snapshot.find("\"body\":").unwrap() + "\"body\":".len();
    let body =
        snapshot[start..snapshot.len() - 1].replacen("\"unallocated\":", "\"unallocated\":1", 1);
    let sha: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let forged = format!(
        r#"{{"format":"clearinghouse-tenant-snapshot","sha256":"{sha}","version":1,"body":{body}}}"#
    );
    let p = problem(
        app.import("forged", forged).await,
        ErrorCode::InvalidSnapshot,
    )
    .await;
    assert!(p.detail.contains("does not pass the audit"), "{}", p.detail);
    assert_eq!(app.tenant_names().await, vec!["default"]);
}

#[tokio::test]
async fn a_journal_spanning_a_moved_clock_replays_with_the_same_ids() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("original", 77).await;
    app.tenant = Some("original".to_owned());
    let server = app.activate().await;
    let body = |quantity: u32| json!({"license_server_id": server, "license": select_4412903(), "cals": cals("2019", "per-device", quantity)});
    created::<Value>(app.post("/api/v1/key-packs", &body(3), Some("K")).await).await;
    app.advance_clock("original", "25h").await;
    // The key expired with the day: the same key with another request is a new request.
    created::<Value>(app.post("/api/v1/key-packs", &body(4), Some("K")).await).await;
    let journal = app.journal_lines("original").await;

    app.create_tenant("rerun", 77).await;
    let response = app
        .client
        .post(app.url("/admin/v1/tenants/rerun/replay"))
        .bearer_auth(app.server.admin_token())
        .header("content-type", "application/json")
        .body(journal)
        .send()
        .await
        .unwrap();
    let report: ReplayReport = ok(response).await;
    assert_eq!(report.mismatches, Vec::<String>::new());
    assert_eq!((report.replayed, report.ids_reproduced), (3, 3));
    app.tenant = Some("rerun".to_owned());
    assert_eq!(app.held(server).await, 7);
}

/// A snapshot of `tenant` whose body is changed by `edit`, with its checksum made again:
/// what a person editing the file by hand would write.
async fn edited_snapshot(app: &TestApp, tenant: &str, edit: impl Fn(&str) -> String) -> String {
    use sha2::{Digest, Sha256};
    let snapshot = app.export(tenant).await;
    let start = snapshot.find("\"body\":").unwrap() + "\"body\":".len();
    let body = edit(&snapshot[start..snapshot.len() - 1]);
    let sha: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        r#"{{"format":"clearinghouse-tenant-snapshot","sha256":"{sha}","version":1,"body":{body}}}"#
    )
}

#[tokio::test]
async fn a_clock_moved_past_the_year_9000_is_refused_and_the_ledger_goes_on() {
    let mut app = TestApp::spawn().await;
    let p = problem(
        app.control(
            Method::POST,
            "default",
            "/clock",
            Some(json!({"advance": "3000000days"})),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(
        p.detail.contains("the start of the year 9000"),
        "{}",
        p.detail
    );
    // Nothing died: the clock reads, the ledger applies, the server is ready.
    let clock: TenantClock = ok(app.control(Method::GET, "default", "/clock", None).await).await;
    assert!(clock.now.starts_with("20"), "{clock:?}");
    app.activate().await;
    assert_eq!(reqwest::get(app.url("/ready")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_clock_set_to_the_end_of_the_year_9999_is_refused() {
    let app = TestApp::spawn().await;
    let p = problem(
        app.control(
            Method::POST,
            "default",
            "/clock",
            Some(json!({"set": "9999-12-31T23:59:58Z"})),
        )
        .await,
        ErrorCode::InvalidField,
    )
    .await;
    assert!(p.detail.contains("year 9000"), "{}", p.detail);
    let clock = app.control(Method::GET, "default", "/clock", None).await;
    assert_eq!(clock.status(), StatusCode::OK);
    let journal = app.control(Method::GET, "default", "/journal", None).await;
    assert_eq!(journal.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_snapshot_with_a_clock_past_the_year_9000_is_refused() {
    let app = TestApp::spawn().await;
    let forged = edited_snapshot(&app, "default", |body| {
        let at = body.find("\"clock_ms\":").unwrap() + "\"clock_ms\":".len();
        let end = at + body[at..].find([',', '}']).unwrap();
        format!("{}300000000000000{}", &body[..at], &body[end..])
    })
    .await;
    let p = problem(
        app.import("future", forged).await,
        ErrorCode::InvalidSnapshot,
    )
    .await;
    assert!(p.detail.contains("year 9000"), "{}", p.detail);
    assert_eq!(app.tenant_names().await, vec!["default"]);
    assert_eq!(reqwest::get(app.url("/ready")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_latest_clock_still_reads_back_and_journals() {
    let app = TestApp::spawn().await;
    let clock: TenantClock = ok(app
        .control(
            Method::POST,
            "default",
            "/clock",
            Some(json!({"set": "8999-12-31T23:59:59Z"})),
        )
        .await)
    .await;
    assert!(clock.now.starts_with("8999-12-31T23:59:59"), "{clock:?}");
    let journal = app.control(Method::GET, "default", "/journal", None).await;
    assert_eq!(journal.status(), StatusCode::OK);
}
