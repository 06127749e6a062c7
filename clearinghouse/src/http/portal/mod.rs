//! The web browser method's door: the Remote Desktop Licensing web site, server-rendered
//! over the same ledger as the API.
//!
//! A task is a few pages of forms; what earlier pages collected rides along in hidden
//! fields, and is checked again when the last page is submitted, so no page trusts
//! another. The submission carries an idempotency key made on the first page, so a form
//! sent twice (a double click, a reload) gets the first answer. Every form carries an
//! anti-forgery token matched against a cookie (`SameSite=Strict`).
//!
//! Routes: `GET /` (choose a task), `GET /start?task=..` (its first page),
//! `POST /task/{task}` (every later page), `GET /instructor` (what was done in the tenant,
//! newest first, by every door). The tenant is `?tenant=NAME` in each URL.

mod pages;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, ContentType, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;
use serde::Deserialize;

use shared::vocab::ConnectionMethod;

use super::admin::AdminToken;
use crate::controls::Controls;
use crate::ledger::clock::rfc3339;
use crate::ledger::{Answer, Ledger, TenantName};
use crate::submission::{self, Submission};
use crate::tasks::{self, Form, Task};
use pages::Frame;

/// The cookie holding the anti-forgery token.
const CSRF_COOKIE: &str = "clearinghouse_csrf";
/// The largest form body taken.
const FORM_LIMIT: usize = 16 * 1024;

/// Registers the site's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(FORM_LIMIT))
        .route("/", web::get().to(select))
        .route("/start", web::get().to(start))
        .route("/task/{task}", web::post().to(advance))
        .route("/instructor", web::get().to(instructor));
}

#[derive(Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

#[derive(Deserialize)]
struct InstructorQuery {
    tenant: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
struct StartQuery {
    tenant: Option<String>,
    task: Option<String>,
}

/// The tenant the URL names, checked to exist.
async fn tenant(ledger: &Ledger, name: Option<&str>) -> Result<TenantName, String> {
    let tenant = match name.filter(|n| !n.is_empty()) {
        Some(name) => TenantName::parse(name).map_err(|e| e.to_string())?,
        None => TenantName::default_tenant(),
    };
    match ledger.tenant_state(&tenant) {
        Ok(Some(_)) => Ok(tenant),
        Ok(None) => Err(format!(
            "there is no tenant {tenant}: check the address the license server showed"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A page request for a tenant that exists, with its anti-forgery token.
struct Visit {
    tenant: TenantName,
    csrf: String,
    /// Whether the token is new (the cookie is to be set).
    fresh: bool,
}

impl Visit {
    /// The visit `request` makes to the tenant named `name`, or the page that says there
    /// is no such tenant.
    async fn of(
        request: &HttpRequest,
        ledger: &Ledger,
        name: Option<&str>,
    ) -> Result<Visit, HttpResponse> {
        let (csrf, fresh) = csrf_token(request);
        match tenant(ledger, name).await {
            Ok(tenant) => Ok(Visit {
                tenant,
                csrf,
                fresh,
            }),
            Err(message) => {
                let frame = Frame {
                    tenant: None,
                    csrf: &csrf,
                };
                let markup = pages::trouble(&frame, "Unknown tenant", &message);
                Err(page(StatusCode::NOT_FOUND, markup, &csrf, fresh))
            }
        }
    }

    fn frame(&self) -> Frame<'_> {
        Frame {
            tenant: shown_tenant(&self.tenant),
            csrf: &self.csrf,
        }
    }

    /// `markup` as this visit's answer, with `status`.
    fn answer(&self, status: StatusCode, markup: Markup) -> HttpResponse {
        page(status, markup, &self.csrf, self.fresh)
    }
}

/// The request's anti-forgery token, or a new one to set.
fn csrf_token(request: &HttpRequest) -> (String, bool) {
    let existing = request
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == CSRF_COOKIE && is_token(value))
        .map(|(_, value)| value.to_owned());
    match existing {
        Some(token) => (token, false),
        None => (format!("{:032x}", rand::random::<u128>()), true),
    }
}

fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn page(status: StatusCode, markup: Markup, csrf: &str, set_cookie: bool) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(ContentType::html())
        .insert_header((CACHE_CONTROL, "no-store"));
    if set_cookie {
        response.insert_header((
            SET_COOKIE,
            format!("{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict"),
        ));
    }
    response.body(markup.into_string())
}

fn shown_tenant(tenant: &TenantName) -> Option<&str> {
    (tenant.as_str() != shared::wire::DEFAULT_TENANT).then_some(tenant.as_str())
}

async fn select(
    request: HttpRequest,
    query: web::Query<TenantQuery>,
    ledger: web::Data<Ledger>,
) -> HttpResponse {
    match Visit::of(&request, &ledger, query.tenant.as_deref()).await {
        Ok(visit) => visit.answer(StatusCode::OK, pages::select(&visit.frame())),
        Err(response) => response,
    }
}

async fn start(
    request: HttpRequest,
    query: web::Query<StartQuery>,
    ledger: web::Data<Ledger>,
) -> HttpResponse {
    let visit = match Visit::of(&request, &ledger, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let frame = visit.frame();
    let Some(task) = query.task.as_deref().and_then(Task::from_slug) else {
        let markup = pages::trouble(&frame, "Choose what to do", "choose one of the options");
        return visit.answer(StatusCode::NOT_FOUND, markup);
    };
    let mut form = Form::new();
    form.insert("nonce".into(), format!("{:032x}", rand::random::<u128>()));
    let steps = task.steps(tasks::Chosen::default());
    let filling = pages::Filling {
        task,
        form: &form,
        steps: &steps,
    };
    visit.answer(StatusCode::OK, pages::step(&frame, &filling, 0, &[]))
}

async fn advance(
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TenantQuery>,
    form: web::Form<Form>,
    ledger: web::Data<Ledger>,
    controls: web::Data<Controls>,
) -> HttpResponse {
    let form = form.into_inner();
    let visit = match Visit::of(&request, &ledger, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let (tenant, csrf) = (&visit.tenant, visit.csrf.as_str());
    let frame = visit.frame();
    let posted = form.get("csrf").map(String::as_str).unwrap_or_default();
    if visit.fresh || posted != csrf {
        let markup = pages::trouble(
            &frame,
            "This form has expired",
            "the form was not sent from this site's page, or it expired: open the page again and fill it in",
        );
        return visit.answer(StatusCode::FORBIDDEN, markup);
    }
    let Some(task) = Task::from_slug(&path) else {
        let markup = pages::trouble(&frame, "Unknown task", "choose one of the options");
        return visit.answer(StatusCode::NOT_FOUND, markup);
    };
    let mut form = form;
    tasks::normalise(task, &mut form);
    let nonce_ok = form.get("nonce").is_some_and(|n| is_token(n));
    if !nonce_ok {
        let markup = pages::trouble(&frame, "This form is damaged", "open the page again");
        return visit.answer(StatusCode::BAD_REQUEST, markup);
    }
    let steps = tasks::steps(task, &form);
    let index = form
        .get("step")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
        .min(steps.len());
    let filling = pages::Filling {
        task,
        form: &form,
        steps: &steps,
    };
    let show_step = |index: usize, errors: &[tasks::FieldError]| {
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        visit.answer(status, pages::step(&frame, &filling, index, errors))
    };
    match form.get("go").map(String::as_str) {
        Some("back") => show_step(index.saturating_sub(1), &[]),
        Some("submit") if index == steps.len() => match tasks::command(task, &form) {
            Err((at, errors)) => show_step(at, &errors),
            Ok(command) => {
                let nonce = form.get("nonce").map(String::as_str).unwrap_or_default();
                let submission = Submission {
                    tenant,
                    command,
                    exchange: nonce,
                    method: ConnectionMethod::WebBrowser,
                    path: request.path(),
                };
                let reply = submission.run(&ledger, &controls).await;
                match reply.outcome {
                    Ok(answer) => {
                        let (id, details) = issued(&answer);
                        let markup = pages::result(&frame, task, &id, &details);
                        visit.answer(StatusCode::OK, markup)
                    }
                    Err(problem) => match tasks::at_fault(task, &form, &problem) {
                        Some((at, field)) => show_step(at, &[(field, problem.detail)]),
                        None => {
                            let markup = pages::verify(&frame, &filling, Some(&problem.detail));
                            visit.answer(StatusCode::UNPROCESSABLE_ENTITY, markup)
                        }
                    },
                }
            }
        },
        _ if index == steps.len() => {
            visit.answer(StatusCode::OK, pages::verify(&frame, &filling, None))
        }
        _ => {
            let errors = tasks::check(task, &steps[index], &form);
            if !errors.is_empty() {
                return show_step(index, &errors);
            }
            if let Some(refused) =
                submission::check_receiving(&ledger, tenant, task, &steps[index], &form).await
            {
                return show_step(index, &[refused]);
            }
            if index + 1 < steps.len() {
                show_step(index + 1, &[])
            } else {
                visit.answer(StatusCode::OK, pages::verify(&frame, &filling, None))
            }
        }
    }
}

/// The ID an answer gave, and what to show beside it.
fn issued(answer: &Answer) -> (String, Vec<(String, String)>) {
    match answer {
        Answer::Activated(a) => (a.license_server_id.to_string(), Vec::new()),
        Answer::Deactivated(d) => (d.confirmation_code.to_string(), Vec::new()),
        Answer::KeyPack(k) => (
            k.key_pack_id.to_string(),
            vec![
                ("License server ID".into(), k.license_server_id.to_string()),
                ("License program".into(), k.license_program.to_string()),
                ("Product version".into(), k.cals.product_version.to_string()),
                ("License type".into(), k.cals.license_type.to_string()),
                ("Quantity".into(), k.cals.quantity.to_string()),
            ],
        ),
        other => (answer_ids(other), Vec::new()),
    }
}

fn answer_ids(answer: &Answer) -> String {
    answer.issued_ids().join(", ")
}

/// How many of a tenant's latest requests the instructor page shows.
const INSTRUCTOR_ROWS: usize = 200;

/// What was done in the tenant, newest first, whichever door it came through: the
/// tenant's journal, its changes only.
async fn instructor(
    request: HttpRequest,
    query: web::Query<InstructorQuery>,
    ledger: web::Data<Ledger>,
    controls: web::Data<Controls>,
    token: web::Data<AdminToken>,
) -> HttpResponse {
    let visit = match Visit::of(&request, &ledger, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    // It shows every ID issued in the tenant, and an ID is all some tasks ask for.
    if !query.token.as_deref().is_some_and(|t| token.matches(t)) {
        let markup = pages::trouble(
            &visit.frame(),
            "The instructor page needs the admin token",
            "add &token=<the admin token the clearinghouse printed when it started> to the address",
        );
        return visit.answer(StatusCode::UNAUTHORIZED, markup);
    }
    let tenant = &visit.tenant;
    let rows: Vec<pages::Activity> = controls
        .journal
        .recent_changes(tenant, INSTRUCTOR_ROWS)
        .into_iter()
        .filter_map(|c| {
            let what = activity(&c.route)?;
            // An activation names no license server ID: the one it issued is the server.
            let license_server = c.license_server_id.clone().or_else(|| {
                (c.route.ends_with("/activations"))
                    .then(|| c.ids.first().cloned())
                    .flatten()
            });
            Some(pages::Activity {
                at: rfc3339(c.at_ms),
                method: c.connection_method,
                what,
                license_server,
                ids: c.ids,
                outcome: match (c.status, &c.refusal) {
                    (200..=299, _) if c.replayed => "done (a repeat)".to_owned(),
                    (200..=299, _) => "done".to_owned(),
                    (status, Some(why)) => format!("refused ({status}): {why}"),
                    (status, None) => format!("refused ({status})"),
                },
            })
        })
        .collect();
    visit.answer(
        StatusCode::OK,
        pages::instructor(&visit.frame(), tenant.as_str(), &rows),
    )
}

/// What a request to an API route did, in words.
fn activity(route: &str) -> Option<&'static str> {
    Some(match route.strip_prefix(shared::wire::API_BASE)? {
        "/activations" => "License server activated",
        "/reactivations" => "License server reactivated",
        "/deactivations" => "License server deactivated",
        "/key-packs" => "CALs installed",
        "/migrations" => "CALs migrated",
        "/recoveries" => "CALs recovered",
        _ => return None,
    })
}
