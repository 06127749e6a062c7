//! The licensing web site (the web browser method's door), page by page as a browser
//! without JavaScript uses it: every task through its forms, the errors shown next to
//! their fields with what was typed kept, the anti-forgery check, and escaping.

use reqwest::StatusCode;
use shared::id::{KeyPackId, LicenseServerId};

use crate::helpers::{Portal, TestApp, cals, select_4412903};

const PRODUCT_ID: &str = "10974-31221-16202-49672-18729-77270-17360";

fn company() -> Vec<(&'static str, &'static str)> {
    vec![
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("company", "Analytical Engines Ltd"),
        ("country_region", "GB"),
    ]
}

fn with_company<'a>(mut values: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    values.extend(company());
    values
}

#[tokio::test]
async fn the_first_page_offers_every_task() {
    let app = TestApp::spawn().await;
    let page = Portal::new(&app).get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    for task in [
        "Activate a license server",
        "Install client access licenses",
        "Manage CALs",
        "Reactivate a license server",
        "Deactivate a license server",
    ] {
        assert!(page.html.contains(task), "{task}");
    }
}

#[tokio::test]
async fn an_unknown_tenant_in_the_address_is_named() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    portal.tenant = Some("lab-99".into());
    let page = portal.get("/").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("no tenant lab-99"), "{}", page.html);
}

#[tokio::test]
async fn an_activation_through_the_forms_gives_the_id_the_ledger_knows() {
    let app = TestApp::spawn().await;
    let page = Portal::new(&app)
        .complete("activate", &with_company(vec![("product_id", PRODUCT_ID)]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Retain a copy"));
    let id: LicenseServerId = page.result_id().parse().unwrap();
    assert_eq!(app.status(id).await["status"], "activated");
}

#[tokio::test]
async fn installing_cals_through_the_forms_issues_a_key_pack_for_that_server() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let id = server.to_string();
    let page = Portal::new(&app)
        .complete(
            "install-cals",
            &with_company(vec![
                ("license_server_id", &id),
                ("program", "select"),
                ("agreement_number", "4412903"),
                ("product_version", "2019"),
                ("license_type", "per-device"),
                ("quantity", "12"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let key_pack: KeyPackId = page.result_id().parse().unwrap();
    assert_eq!(key_pack.open(&server).unwrap().quantity.get(), 12);
    assert_eq!(app.held(server).await, 12);
}

#[tokio::test]
async fn a_migration_through_the_forms_moves_the_cals_from_the_source() {
    let mut app = TestApp::spawn().await;
    let source = app.activate().await;
    let target = app.activate().await;
    app.install_ok(source, select_4412903(), cals("2019", "per-device", 30))
        .await;
    let (target_id, source_id) = (target.to_string(), source.to_string());
    let page = Portal::new(&app)
        .complete(
            "manage-cals",
            &with_company(vec![
                ("license_server_id", &target_id),
                ("reason", "source-not-functioning"),
                ("program", "select"),
                ("source_license_server_id", &source_id),
                ("source_os", "2019"),
                ("agreement_number", "4412903"),
                ("product_version", "2019"),
                ("license_type", "per-device"),
                ("quantity", "20"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(app.held(target).await, 20);
    assert_eq!(app.held(source).await, 10);
    assert!(app.audit("default").await.ok);
}

#[tokio::test]
async fn reactivation_and_deactivation_through_the_forms() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id();
    let server = app.activate_product(product_id).await;
    let (server_id, product) = (server.to_string(), product_id.to_string());
    let page = Portal::new(&app)
        .complete(
            "reactivate",
            &[
                ("license_server_id", &server_id),
                ("product_id", &product),
                ("reason", "redeployed"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let new: LicenseServerId = page.result_id().parse().unwrap();
    assert_eq!(app.status(server).await["status"], "replaced");
    let new_id = new.to_string();
    let page = Portal::new(&app)
        .complete("deactivate", &[("license_server_id", &new_id)])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("confirmation code"));
    assert_eq!(app.status(new).await["status"], "deactivated");
}

#[tokio::test]
async fn a_typo_in_the_license_server_id_is_shown_at_its_group_and_the_text_is_kept() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await.to_string();
    let mut digits: Vec<char> = server.chars().collect();
    digits[13] = if digits[13] == '9' { '0' } else { '9' };
    let typo: String = digits.into_iter().collect();
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("install-cals").await;
    fields.extend([
        ("step".into(), "0".into()),
        ("go".into(), "next".into()),
        ("license_server_id".into(), typo.clone()),
        ("program".into(), "select".into()),
    ]);
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page.error_at("license_server_id").unwrap();
    assert!(error.contains("group 3 of 7"), "{error}");
    assert_eq!(
        page.input("license_server_id").as_deref(),
        Some(typo.as_str())
    );
}

#[tokio::test]
async fn a_key_pack_id_pasted_as_the_license_server_id_is_named_as_such() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let key_pack = app
        .install_ok(server, select_4412903(), cals("2019", "per-device", 1))
        .await
        .to_string();
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("deactivate").await;
    fields.extend([
        ("step".into(), "0".into()),
        ("go".into(), "next".into()),
        ("license_server_id".into(), key_pack),
    ]);
    let page = portal.post("deactivate", &fields).await;
    let error = page.error_at("license_server_id").unwrap();
    assert!(error.contains("license key pack ID"), "{error}");
}

#[tokio::test]
async fn a_quantity_beyond_the_agreement_is_shown_at_the_quantity() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await.to_string();
    let page = Portal::new(&app)
        .complete(
            "install-cals",
            &with_company(vec![
                ("license_server_id", &server),
                ("program", "select"),
                ("agreement_number", "4412903"),
                ("product_version", "2019"),
                ("license_type", "per-device"),
                ("quantity", "9999"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page.error_at("quantity").unwrap();
    assert!(error.contains("250"), "{error}");
    assert_eq!(page.input("quantity").as_deref(), Some("9999"));
}

#[tokio::test]
async fn a_form_submitted_twice_gives_the_first_answer() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let fields = install_form(&mut portal, &server.to_string(), "4412903", "3").await;
    let first = portal.post("install-cals", &fields).await;
    let second = portal.post("install-cals", &fields).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert_eq!(first.result_id(), second.result_id());
    assert_eq!(app.held(server).await, 3);
}

#[tokio::test]
async fn a_post_without_the_anti_forgery_cookie_is_refused_and_applies_nothing() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let fields = install_form(&mut portal, &server.to_string(), "4412903", "5").await;
    // Another site's page posting the same fields: the browser sends no cookie.
    let page = Portal::new(&app).post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.held(server).await, 0);
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(app.held(server).await, 5);
}

#[tokio::test]
async fn text_typed_into_a_form_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("activate").await;
    fields.extend([
        ("product_id".into(), PRODUCT_ID.into()),
        ("first_name".into(), "Ada".into()),
        ("last_name".into(), "Lovelace".into()),
        ("company".into(), "<script>alert('x')</script>".into()),
        ("country_region".into(), "GB".into()),
        ("step".into(), "1".into()),
        ("go".into(), "next".into()),
    ]);
    let page = portal.post("activate", &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    assert!(page.html.contains("&lt;script&gt;alert"), "{}", page.html);
}

#[tokio::test]
async fn an_oversized_form_is_refused() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("activate").await;
    fields.push(("company".into(), "x".repeat(64 * 1024)));
    let page = portal.post("activate", &fields).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_tenant_in_the_address_receives_the_request() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("lab-01", 5).await;
    let mut portal = Portal::new(&app);
    portal.tenant = Some("lab-01".into());
    let page = portal
        .complete("activate", &with_company(vec![("product_id", PRODUCT_ID)]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Tenant: lab-01"));
    let id = page.result_id();
    // Invisible to the default tenant, known to lab-01.
    assert_eq!(
        app.get(&format!("/api/v1/license-servers/{id}"))
            .await
            .status(),
        404
    );
    app.tenant = Some("lab-01".into());
    assert_eq!(
        app.get(&format!("/api/v1/license-servers/{id}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_instructor_page_lists_what_each_door_did_newest_first() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let activated = portal
        .complete("activate", &with_company(vec![("product_id", PRODUCT_ID)]))
        .await;
    let server: LicenseServerId = activated.result_id().parse().unwrap();
    let key_pack = app
        .install_ok(server, select_4412903(), cals("2019", "per-user", 4))
        .await;
    let signed_in = portal.sign_in(app.server.admin_token()).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let page = portal.get("/instructor").await;
    assert_eq!(page.status, StatusCode::OK);
    let installed = page.html.find("CALs installed").unwrap();
    let activation = page.html.find("License server activated").unwrap();
    assert!(installed < activation, "newest first: {}", page.html);
    assert!(page.html.contains(&key_pack.to_string()));
    assert!(page.html.contains(&server.to_string()));
    assert!(page.html.contains("Web Browser"));
    assert!(page.html.contains("Automatic connection"));
}

#[tokio::test]
async fn a_journal_of_the_web_site_replays_into_the_same_ids() {
    let mut app = TestApp::spawn().await;
    app.create_tenant("web-1", 42).await;
    app.create_tenant("web-2", 42).await;
    let mut portal = Portal::new(&app);
    portal.tenant = Some("web-1".into());
    let page = portal
        .complete("activate", &with_company(vec![("product_id", PRODUCT_ID)]))
        .await;
    let first = page.result_id();
    let journal = app
        .control(reqwest::Method::GET, "web-1", "/journal?format=jsonl", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        journal.contains("\"connection_method\":\"web\""),
        "{journal}"
    );
    let report: serde_json::Value = app
        .client
        .post(app.url("/admin/v1/tenants/web-2/replay"))
        .bearer_auth(app.server.admin_token())
        .header("content-type", "application/json")
        .body(journal)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["replayed"], 1, "{report}");
    assert_eq!(report["ids_reproduced"], 1, "{report}");
    assert_eq!(report["mismatches"], serde_json::json!([]), "{report}");
    app.tenant = Some("web-2".into());
    assert_eq!(
        app.status(first.parse().unwrap()).await["status"],
        "activated"
    );
}

#[tokio::test]
async fn back_returns_to_the_previous_page_with_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let (_, mut fields) = portal.start("activate").await;
    fields.extend([
        ("product_id".into(), PRODUCT_ID.into()),
        ("first_name".into(), "Ada".into()),
        ("step".into(), "1".into()),
        ("go".into(), "back".into()),
    ]);
    let page = portal.post("activate", &fields).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.input("product_id").as_deref(), Some(PRODUCT_ID));
    assert_eq!(page.input("step").as_deref(), Some("0"));
    // What the later page had is carried along, not lost.
    assert_eq!(page.input("first_name").as_deref(), Some("Ada"));
}

#[tokio::test]
async fn an_unknown_task_or_a_damaged_form_is_refused_with_a_way_back() {
    let app = TestApp::spawn().await;
    let mut portal = Portal::new(&app);
    let page = portal.get("/start?task=buy-cals").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("Start again"));
    let (_, mut fields) = portal.start("activate").await;
    fields.retain(|(name, _)| name != "nonce");
    fields.push(("nonce".into(), "not-a-nonce".into()));
    let page = portal.post("activate", &fields).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

/// The install form for 4412903 with `quantity`, ready to submit from its last page.
pub(crate) async fn install_form(
    portal: &mut Portal,
    server: &str,
    agreement: &str,
    quantity: &str,
) -> Vec<(String, String)> {
    let (_, mut fields) = portal.start("install-cals").await;
    for (k, v) in with_company(vec![
        ("license_server_id", server),
        ("program", "select"),
        ("agreement_number", agreement),
        ("product_version", "2019"),
        ("license_type", "per-device"),
        ("quantity", quantity),
    ]) {
        fields.push((k.into(), v.into()));
    }
    fields.extend([("step".into(), "3".into()), ("go".into(), "submit".into())]);
    fields
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    for (k, v) in fields.iter_mut() {
        if k == name {
            *v = value.to_owned();
        }
    }
}

#[tokio::test]
async fn a_form_corrected_after_a_refusal_is_applied() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let mut fields = install_form(&mut portal, &server.to_string(), "4412903", "9999").await;
    let refused = portal.post("install-cals", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    set(&mut fields, "quantity", "9");
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(app.held(server).await, 9);
}

#[tokio::test]
async fn an_unknown_agreement_is_shown_at_its_number() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let fields = install_form(&mut portal, &server.to_string(), "4412904", "5").await;
    let page = portal.post("install-cals", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page.error_at("agreement_number").unwrap();
    assert!(error.contains("4412904"), "{error}");
}

#[tokio::test]
async fn a_form_sent_twice_at_once_gets_one_answer() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let mut portal = Portal::new(&app);
    let fields = install_form(&mut portal, &server.to_string(), "4412903", "6").await;
    let mut other = Portal::new(&app);
    // The same browser: the same cookie.
    other.share_cookie(&portal);
    let (first, second) = tokio::join!(
        portal.post("install-cals", &fields),
        other.post("install-cals", &fields)
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);
    assert_eq!(first.result_id(), second.result_id());
    assert_eq!(app.held(server).await, 6);
}

/// Posts `values` as page `step` of `task`, with the page's anti-forgery token and nonce.
async fn post_step(
    portal: &mut Portal,
    task: &str,
    step: usize,
    values: &[(&str, &str)],
) -> crate::helpers::Page {
    let (_, mut fields) = portal.start(task).await;
    fields.extend(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    fields.push(("step".into(), step.to_string()));
    fields.push(("go".into(), "next".into()));
    portal.post(task, &fields).await
}

/// The labels of the fields a page shows, in order.
fn labels(html: &str) -> Vec<String> {
    html.match_indices("<label for=\"f-")
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            let text = &rest[rest.find('>')? + 1..];
            Some(text[..text.find('<')?].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_retail_license_code_asks_for_no_cals_and_installs_the_ones_it_is_for() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await.to_string();
    let mut portal = Portal::new(&app);
    let page = post_step(
        &mut portal,
        "install-cals",
        1,
        &with_company(vec![("license_server_id", &server), ("program", "retail")]),
    )
    .await;
    assert_eq!(labels(&page.html), ["License code"], "{}", page.html);
    let page = portal
        .complete(
            "install-cals",
            &with_company(vec![
                ("license_server_id", &server),
                ("program", "retail"),
                ("license_code", "XYYB3-KGC8Y-7F84V-XGXKF-68W7X"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let key_pack: KeyPackId = page.result_id().parse().unwrap();
    let contents = key_pack.open(&server.parse().unwrap()).unwrap();
    assert_eq!(contents.quantity.get(), 20);
    assert_eq!(contents.product_version.to_string(), "Windows Server 2022");
}

#[tokio::test]
async fn every_wrong_company_field_is_shown_at_once() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await.to_string();
    let mut portal = Portal::new(&app);
    let page = post_step(
        &mut portal,
        "install-cals",
        1,
        &[
            ("license_server_id", &server),
            ("program", "select"),
            ("email", "not an address"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "first_name",
        "last_name",
        "company",
        "country_region",
        "email",
    ] {
        assert!(page.error_at(field).is_some(), "{field}: {}", page.html);
    }
}

#[tokio::test]
async fn a_deactivated_license_server_is_refused_on_the_page_its_id_is_typed() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let deactivated = app
        .post(
            "/api/v1/deactivations",
            &serde_json::json!({"license_server_id": server}),
            Some("off"),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    let id = server.to_string();
    let page = post_step(
        &mut Portal::new(&app),
        "install-cals",
        0,
        &[("license_server_id", &id), ("program", "select")],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.input("step").as_deref(),
        Some("0"),
        "the first page again"
    );
    let error = page.error_at("license_server_id").unwrap();
    assert!(error.contains("is deactivated"), "{error}");
}

#[tokio::test]
async fn the_source_license_server_id_is_labelled_and_checked_as_its_rule_is() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await.to_string();
    let mut portal = Portal::new(&app);
    for (reason, label) in [
        ("source-replaced", "Source license server ID"),
        (
            "source-not-functioning",
            "Source license server ID (if known)",
        ),
    ] {
        let page = post_step(
            &mut portal,
            "manage-cals",
            1,
            &with_company(vec![
                ("license_server_id", &server),
                ("reason", reason),
                ("program", "select"),
            ]),
        )
        .await;
        let shown = labels(&page.html);
        assert_eq!(shown[0], label, "{reason}: {shown:?}");
    }
    let page = post_step(
        &mut portal,
        "manage-cals",
        2,
        &with_company(vec![
            ("license_server_id", &server),
            ("reason", "source-replaced"),
            ("program", "select"),
            ("agreement_number", "4412903"),
            ("product_version", "2019"),
            ("license_type", "per-device"),
            ("quantity", "5"),
        ]),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page.error_at("source_license_server_id").unwrap();
    assert!(error.contains("required"), "{error}");
}

#[tokio::test]
async fn cals_newer_than_the_license_server_runs_are_refused_at_the_product_version() {
    let mut app = TestApp::spawn().await;
    let product_id = app.product_id_of(shared::vocab::WindowsServer::V2019);
    let server = app.activate_product(product_id).await.to_string();
    let page = Portal::new(&app)
        .complete(
            "install-cals",
            &with_company(vec![
                ("license_server_id", &server),
                ("program", "select"),
                ("agreement_number", "4417718"),
                ("product_version", "2022"),
                ("license_type", "per-user"),
                ("quantity", "5"),
            ]),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page.error_at("product_version").unwrap();
    assert!(error.contains("runs Windows Server 2019"), "{error}");
    assert!(
        app.status(server.parse().unwrap()).await["key_packs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_instructor_page_names_the_license_server_and_why_a_request_was_refused() {
    let mut app = TestApp::spawn().await;
    let server = app.activate().await;
    let refused = app
        .install(server, select_4412903(), cals("2019", "per-device", 9999))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let mut portal = Portal::new(&app);
    portal.sign_in(app.server.admin_token()).await;
    let page = portal.get("/instructor").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = page.html.find("CALs installed").unwrap();
    let rest = &page.html[row..];
    assert!(rest.contains(&server.to_string()), "{}", page.html);
    assert!(
        rest.contains("refused (409): Select License agreement number 4412903 has 250"),
        "{}",
        page.html
    );
    // The activation names the server it activated.
    let activation = &page.html[page.html.find("License server activated").unwrap()..];
    assert!(activation.contains(&server.to_string()));
}
