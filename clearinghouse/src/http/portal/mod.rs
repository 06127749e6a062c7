//! The web browser method's door: the Remote Desktop Licensing web site, server-rendered
//! over the same ledger as the API.
//!
//! A task is a few pages of forms; what earlier pages collected rides along in hidden
//! fields, and is checked again when the last page is submitted, so no page trusts
//! another. The submission carries an idempotency key made on the first page, so a form
//! sent twice (a double click, a reload) gets the first answer. Every form carries an
//! anti-forgery token signed for the browser's session ([`session`]), and a POST from a
//! page of another site is refused before its form is read.
//!
//! Routes: `GET /` (choose a task), `GET /start?task=..` (its first page),
//! `POST /task/{task}` (every later page), `GET /instructor` (the training lab classes
//! kept, and what was done in the tenant, newest first, by every door; `POST /instructor`
//! signs in with the admin token),
//! `GET /site.css`. The tenant is `?tenant=NAME` in each URL.

mod pages;
pub mod session;

use actix_web::error::{InternalError, UrlencodedError};
use actix_web::http::header::{CACHE_CONTROL, ContentType, LOCATION, SET_COOKIE};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;
use serde::Deserialize;

use shared::vocab::ConnectionMethod;

use super::admin::AdminToken;
use super::guard;
use super::resource::{Door::Site, resource};
use crate::controls::Controls;
use crate::ledger::clock::rfc3339;
use crate::ledger::{Answer, Ledger, TenantName};
use crate::submission::{self, Submission};
use crate::tasks::{self, Form, Task};
use pages::Frame;
use session::SiteKey;

/// The largest form body taken.
pub const FORM_LIMIT: usize = 16 * 1024;
/// What the instructor's sign-in form is signed for.
const SIGN_IN: &str = "instructor";
/// What a seat's sign-in form is signed for.
const SEAT_SIGN_IN: &str = "seat";

/// Every route of the site, as `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/start"),
    ("post", "/task/{task}"),
    ("get", "/instructor"),
    ("post", "/instructor"),
    ("post", "/seat"),
    ("get", "/site.css"),
];

/// Registers the site's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(FORM_LIMIT)
            .error_handler(form_error),
    )
    .service(resource("/", Site, vec![(Method::GET, web::to(select))]))
    .service(resource(
        "/start",
        Site,
        vec![(Method::GET, web::to(start))],
    ))
    .service(resource(
        "/task/{task}",
        Site,
        vec![(Method::POST, web::to(advance))],
    ))
    .service(resource(
        "/instructor",
        Site,
        vec![
            (Method::GET, web::to(instructor)),
            (Method::POST, web::to(sign_in)),
        ],
    ))
    .service(resource(
        "/seat",
        Site,
        vec![(Method::POST, web::to(seat_sign_in))],
    ))
    .service(resource(
        "/site.css",
        Site,
        vec![(Method::GET, web::to(style))],
    ));
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

/// The tenant the URL names, checked to exist, and its state.
async fn tenant(
    ledger: &Ledger,
    name: Option<&str>,
) -> Result<(TenantName, crate::ledger::TenantState), String> {
    let tenant = match name.filter(|n| !n.is_empty()) {
        Some(name) => TenantName::parse(name).map_err(|e| e.to_string())?,
        None => TenantName::default_tenant(),
    };
    match ledger.tenant_state(&tenant) {
        Ok(Some(state)) => Ok((tenant, state)),
        Ok(None) => Err(format!(
            "there is no tenant {tenant}: check the address the license server showed"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A page request for a tenant that exists, in a browser's session.
struct Visit<'k> {
    tenant: TenantName,
    /// The tenant's state (whether it is a class's seat, which needs its token).
    state: crate::ledger::TenantState,
    session: String,
    /// Whether the session is new (its cookie is to be set).
    fresh: bool,
    key: &'k SiteKey,
}

impl<'k> Visit<'k> {
    /// The visit `request` makes to the tenant named `name`, or the page that says there
    /// is no such tenant.
    async fn of(
        request: &HttpRequest,
        ledger: &Ledger,
        key: &'k SiteKey,
        name: Option<&str>,
    ) -> Result<Visit<'k>, HttpResponse> {
        let (session, fresh) = session::session(request);
        match tenant(ledger, name).await {
            Ok((tenant, state)) => {
                let visit = Visit {
                    tenant,
                    state,
                    session,
                    fresh,
                    key,
                };
                // A class's seat is its student's: its pages wait for the seat's token,
                // typed once per session. The instructor signs in with the admin token.
                let path = request.path();
                let open = path.starts_with("/instructor") || path == "/seat";
                if visit.state.is_seat() && !open && !visit.seated(request) {
                    let markup = pages::seat_sign_in(&visit.frame(SEAT_SIGN_IN), None);
                    return Err(visit.answer(StatusCode::OK, markup));
                }
                Ok(visit)
            }
            Err(message) => {
                let markup = pages::trouble(&Frame::plain(None), "Unknown tenant", &message);
                Err(page(
                    StatusCode::NOT_FOUND,
                    markup,
                    fresh.then_some(&session),
                ))
            }
        }
    }

    /// What the pages carry, their forms signed for `purpose`.
    fn frame(&self, purpose: &str) -> Frame<'_> {
        Frame {
            tenant: shown_tenant(&self.tenant),
            csrf: self.key.sign(&[&self.session, purpose]),
        }
    }

    /// Whether a form posted for `purpose` came from this site's page in this session.
    fn signed(&self, purpose: &str, posted: Option<&str>) -> bool {
        !self.fresh
            && self
                .key
                .verify(&[&self.session, purpose], posted.unwrap_or_default())
    }

    /// `markup` as this visit's answer, with `status`.
    fn answer(&self, status: StatusCode, markup: Markup) -> HttpResponse {
        page(status, markup, self.fresh.then_some(&self.session))
    }

    /// Whether the session signed in to the instructor page.
    fn instructor(&self, request: &HttpRequest) -> bool {
        session::cookie(request, session::INSTRUCTOR_COOKIE)
            .is_some_and(|pass| self.key.instructor_signed_in(&self.session, &pass))
    }

    /// Whether the session signed in to the tenant's seat.
    fn seated(&self, request: &HttpRequest) -> bool {
        let tenant = self.tenant.as_str();
        session::cookie(request, &session::seat_cookie(tenant))
            .is_some_and(|pass| self.key.seat_signed_in(&self.session, tenant, &pass))
    }
}

/// A page; `session` is set as the session cookie when given.
fn page(status: StatusCode, markup: Markup, session: Option<&String>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(ContentType::html())
        .insert_header((CACHE_CONTROL, "no-store"));
    if let Some(session) = session {
        response.insert_header((
            SET_COOKIE,
            format!(
                "{}={session}; Path=/; HttpOnly; SameSite=Strict",
                session::SESSION_COOKIE
            ),
        ));
    }
    response.body(markup.into_string())
}

/// The page that refuses a form posted from a page of another site.
fn from_another_site() -> HttpResponse {
    let markup = pages::trouble(
        &Frame::plain(None),
        "This form came from another site",
        "a page of another site sent this form, so it was not read: fill in the form on this site's own pages",
    );
    page(StatusCode::FORBIDDEN, markup, None)
}

/// The page of a method a page does not take.
pub fn method_not_allowed(detail: &str) -> HttpResponse {
    let markup = pages::trouble(&Frame::plain(None), "This page cannot do that", detail);
    page(StatusCode::METHOD_NOT_ALLOWED, markup, None)
}

/// The page of an address that is no page of the site.
pub fn not_found(path: &str) -> HttpResponse {
    let markup = pages::trouble(
        &Frame::plain(None),
        "There is no such page",
        &format!("this site has no page {path}: start from its first page"),
    );
    page(StatusCode::NOT_FOUND, markup, None)
}

/// The page of a form larger than a form may be.
pub fn too_large() -> HttpResponse {
    let markup = pages::trouble(
        &Frame::plain(None),
        "This form is too large",
        &format!(
            "a form may hold at most {} KiB: shorten what you typed and send it again",
            FORM_LIMIT / 1024
        ),
    );
    page(StatusCode::PAYLOAD_TOO_LARGE, markup, None)
}

/// The page of a form that could not be read.
fn form_error(error: UrlencodedError, _request: &HttpRequest) -> actix_web::Error {
    let (status, title, message) = match &error {
        UrlencodedError::Overflow { .. } => {
            return InternalError::from_response(error, too_large()).into();
        }
        UrlencodedError::ContentType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This form was not sent as a form",
            "the site takes forms as application/x-www-form-urlencoded, as a browser sends them"
                .to_owned(),
        ),
        UrlencodedError::Payload(e) if guard::timeout(e).is_some() => (
            StatusCode::REQUEST_TIMEOUT,
            "This form took too long to arrive",
            guard::timeout(e).unwrap_or_default(),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "This form is damaged",
            "the form could not be read: open the page again and fill it in".to_owned(),
        ),
    };
    let markup = pages::trouble(&Frame::plain(None), title, &message);
    InternalError::from_response(error, page(status, markup, None)).into()
}

fn shown_tenant(tenant: &TenantName) -> Option<&str> {
    (tenant.as_str() != shared::wire::DEFAULT_TENANT).then_some(tenant.as_str())
}

/// The site's style sheet: a file of its own, so that the pages' policy allows no inline
/// style.
async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(pages::STYLE)
}

async fn select(
    request: HttpRequest,
    query: web::Query<TenantQuery>,
    ledger: web::Data<Ledger>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    match Visit::of(&request, &ledger, &key, query.tenant.as_deref()).await {
        Ok(visit) => visit.answer(StatusCode::OK, pages::select(&visit.frame(""))),
        Err(response) => response,
    }
}

async fn start(
    request: HttpRequest,
    query: web::Query<StartQuery>,
    ledger: web::Data<Ledger>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    let visit = match Visit::of(&request, &ledger, &key, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let Some(task) = query.task.as_deref().and_then(Task::from_slug) else {
        let markup = pages::trouble(
            &visit.frame(""),
            "Choose what to do",
            "choose one of the options",
        );
        return visit.answer(StatusCode::NOT_FOUND, markup);
    };
    let mut form = Form::new();
    form.insert("nonce".into(), crate::hex::random_128());
    let steps = task.steps(tasks::Chosen::default());
    let filling = pages::Filling {
        task,
        form: &form,
        steps: &steps,
    };
    let markup = pages::step(&visit.frame(task.slug()), &filling, 0, &[]);
    visit.answer(StatusCode::OK, markup)
}

async fn advance(
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TenantQuery>,
    form: web::Form<Form>,
    ledger: web::Data<Ledger>,
    controls: web::Data<Controls>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    if guard::from_another_site(&request) {
        return from_another_site();
    }
    let form = form.into_inner();
    let visit = match Visit::of(&request, &ledger, &key, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let Some(task) = Task::from_slug(&path) else {
        let markup = pages::trouble(
            &visit.frame(""),
            "Unknown task",
            "choose one of the options",
        );
        return visit.answer(StatusCode::NOT_FOUND, markup);
    };
    let tenant = &visit.tenant;
    let frame = visit.frame(task.slug());
    if !visit.signed(task.slug(), form.get("csrf").map(String::as_str)) {
        let markup = pages::trouble(
            &frame,
            "This form has expired",
            "the form was not sent from this site's page, or it expired (the clearinghouse restarted, or the browser's cookies were cleared): open the page again and fill it in",
        );
        return visit.answer(StatusCode::FORBIDDEN, markup);
    }
    let mut form = form;
    tasks::normalise(task, &mut form);
    let nonce_ok = form.get("nonce").is_some_and(|n| session::is_number(n));
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

/// What was done in the tenant, newest first, whichever door it came through: every
/// change from the ledger's history (it outlives a restart), and the requests refused
/// since the clearinghouse started from its journal. Above it, the training lab classes
/// the clearinghouse keeps, seat by seat.
async fn instructor(
    request: HttpRequest,
    query: web::Query<InstructorQuery>,
    ledger: web::Data<Ledger>,
    controls: web::Data<Controls>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    let visit = match Visit::of(&request, &ledger, &key, query.tenant.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    // It shows every ID issued in the tenant, and an ID is all some tasks ask for.
    if !visit.instructor(&request) {
        let banner = query.token.is_some().then_some(
            "the admin token does not go in the address, where it stays in logs and the browser's history: type it here instead",
        );
        let markup = pages::sign_in(&visit.frame(SIGN_IN), banner);
        return visit.answer(StatusCode::OK, markup);
    }
    let tenant = &visit.tenant;
    let history = match history_of(&ledger, tenant).await {
        Ok(history) => history,
        Err(p) => return unavailable(&visit, &p),
    };
    // Newest first: the history is in the order the changes were applied, and a stable
    // sort by time keeps that order among changes of the same millisecond.
    let mut rows: Vec<(u64, pages::Activity)> = history
        .entries
        .into_iter()
        .rev()
        .map(|e| {
            let row = pages::Activity {
                at: e.at,
                method: e.connection_method,
                what: e.action.describe(),
                license_server: Some(e.license_server_id),
                ids: e.ids,
                outcome: "done".to_owned(),
                transcript: Vec::new(),
            };
            (e.at_ms, row)
        })
        .collect();
    rows.extend(
        controls
            .journal
            .recent_changes(tenant, INSTRUCTOR_ROWS)
            .into_iter()
            .filter(|c| !(200..=299).contains(&c.status))
            .filter_map(|c| {
                let row = pages::Activity {
                    at: rfc3339(c.at_ms),
                    method: c.connection_method,
                    what: activity(&c.route)?,
                    license_server: c.license_server_id.clone(),
                    ids: c.ids,
                    outcome: match &c.refusal {
                        Some(why) => format!("refused ({}): {why}", c.status),
                        None => format!("refused ({})", c.status),
                    },
                    transcript: Vec::new(),
                };
                Some((c.at_ms, row))
            }),
    );
    rows.extend(
        controls
            .journal
            .recent_calls(tenant, INSTRUCTOR_ROWS)
            .into_iter()
            .map(|call| {
                let row = pages::Activity {
                    at: call.at,
                    method: call.connection_method,
                    what: "Voice call",
                    license_server: None,
                    outcome: if call.ids.is_empty() {
                        "nothing issued".to_owned()
                    } else {
                        "ID issued".to_owned()
                    },
                    ids: call.ids,
                    transcript: call.transcript,
                };
                (call.at_ms, row)
            }),
    );
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    rows.truncate(INSTRUCTOR_ROWS);
    let rows: Vec<pages::Activity> = rows.into_iter().map(|(_, row)| row).collect();
    let classes = match class_views(&ledger).await {
        Ok(classes) => classes,
        Err(p) => return unavailable(&visit, &p),
    };
    visit.answer(
        StatusCode::OK,
        pages::instructor(&visit.frame(""), tenant.as_str(), &classes, &rows),
    )
}

/// The page said when the ledger cannot answer.
fn unavailable(visit: &Visit<'_>, problem: &shared::wire::Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let markup = pages::trouble(
        &visit.frame(""),
        "The ledger did not answer",
        &problem.detail,
    );
    visit.answer(status, markup)
}

async fn history_of(
    ledger: &Ledger,
    tenant: &TenantName,
) -> Result<shared::wire::History, shared::wire::Problem> {
    match ledger
        .execute(tenant.clone(), crate::ledger::Command::History, None)
        .await
        .outcome?
    {
        Answer::History(history) => Ok(history),
        _ => Err(shared::wire::Problem::new(
            shared::wire::ErrorCode::Internal,
            "the ledger answered a history request with something else",
        )),
    }
}

/// Every class kept, each seat with what it did by which method (from its tenant's
/// history).
async fn class_views(ledger: &Ledger) -> Result<Vec<pages::ClassView>, shared::wire::Problem> {
    let classes = match ledger
        .execute(
            TenantName::default_tenant(),
            crate::ledger::Command::ListClasses,
            None,
        )
        .await
        .outcome?
    {
        Answer::Classes(classes) => classes,
        _ => Vec::new(),
    };
    let mut views = Vec::with_capacity(classes.len());
    for class in classes {
        let mut seats = Vec::with_capacity(class.seats.len());
        for seat in &class.seats {
            // A seat whose tenant is gone (deleted by hand) shows no history.
            let done = match TenantName::parse(&seat.tenant) {
                Ok(tenant) => history_of(ledger, &tenant)
                    .await
                    .map(|h| h.entries)
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            seats.push((seat.clone(), done));
        }
        views.push(pages::ClassView { class, seats });
    }
    Ok(views)
}

#[derive(Deserialize)]
struct SignIn {
    csrf: Option<String>,
    token: Option<String>,
}

/// A sign-in form posted for `purpose`, checked as every form is: sent from this site's
/// page, for a tenant that exists, signed for the browser's session. Otherwise the answer
/// to give instead (the `page` again, saying why).
async fn posted_sign_in<'k>(
    request: &HttpRequest,
    query: &TenantQuery,
    form: &SignIn,
    ledger: &Ledger,
    key: &'k SiteKey,
    purpose: &str,
    page: fn(&Frame<'_>, Option<&str>) -> Markup,
) -> Result<Visit<'k>, HttpResponse> {
    if guard::from_another_site(request) {
        return Err(from_another_site());
    }
    let visit = Visit::of(request, ledger, key, query.tenant.as_deref()).await?;
    if !visit.signed(purpose, form.csrf.as_deref()) {
        let markup = page(
            &visit.frame(purpose),
            Some("the form expired: sign in again"),
        );
        return Err(visit.answer(StatusCode::FORBIDDEN, markup));
    }
    Ok(visit)
}

/// Signs the session in to the instructor page with the admin token, typed once.
async fn sign_in(
    request: HttpRequest,
    query: web::Query<TenantQuery>,
    form: web::Form<SignIn>,
    ledger: web::Data<Ledger>,
    token: web::Data<AdminToken>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    let posted = posted_sign_in(
        &request,
        &query,
        &form,
        &ledger,
        &key,
        SIGN_IN,
        pages::sign_in,
    );
    let visit = match posted.await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let frame = visit.frame(SIGN_IN);
    if !form
        .token
        .as_deref()
        .is_some_and(|t| token.matches(t.trim()))
    {
        let markup = pages::sign_in(
            &frame,
            Some(
                "that is not the admin token: it is the one the clearinghouse printed when it started (or the --admin-token it was given)",
            ),
        );
        return visit.answer(StatusCode::FORBIDDEN, markup);
    }
    let pass = key.instructor_pass(&visit.session);
    signed_in(
        format!("/instructor{}", frame.query()),
        session::INSTRUCTOR_COOKIE,
        &pass,
        "/instructor",
    )
}

/// The answer to a sign-in: to `location`, with the cookie `name` holding `pass` for the
/// pages under `path`.
fn signed_in(location: String, name: &str, pass: &str, path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .insert_header((
            SET_COOKIE,
            format!(
                "{name}={pass}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={}",
                session::INSTRUCTOR_FOR.as_secs()
            ),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .finish()
}

/// Signs the session in to a class's seat with the seat's token, typed once.
async fn seat_sign_in(
    request: HttpRequest,
    query: web::Query<TenantQuery>,
    form: web::Form<SignIn>,
    ledger: web::Data<Ledger>,
    key: web::Data<SiteKey>,
) -> HttpResponse {
    let posted = posted_sign_in(
        &request,
        &query,
        &form,
        &ledger,
        &key,
        SEAT_SIGN_IN,
        pages::seat_sign_in,
    );
    let visit = match posted.await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    let frame = visit.frame(SEAT_SIGN_IN);
    if !visit.state.admits(form.token.as_deref()) {
        let markup = pages::seat_sign_in(
            &frame,
            Some(
                "that is not this seat's token: it is the one the trainer gave with the seat's commands",
            ),
        );
        return visit.answer(StatusCode::FORBIDDEN, markup);
    }
    let tenant = visit.tenant.as_str();
    let pass = key.seat_pass(&visit.session, tenant);
    signed_in(
        format!("/{}", frame.query()),
        &session::seat_cookie(tenant),
        &pass,
        "/",
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
