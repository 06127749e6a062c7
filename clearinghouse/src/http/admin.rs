//! The admin API: tenants and what they hold, and the audit. Every route needs the admin
//! token as `Authorization: Bearer <token>`.

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use shared::wire::{ClassReport, CreateTenantRequest, ErrorCode, Problem, PurchaseSpec};

use super::body;
use super::reply;
use super::resource::{Door::Api, resource};
use crate::controls::Controls;
use crate::ledger::{Command, Ledger, TenantName};

/// The admin token, as app data.
#[derive(Clone)]
pub struct AdminToken(pub String);

impl AdminToken {
    /// Whether `given` is the token.
    pub fn matches(&self, given: &str) -> bool {
        crate::hex::same(given, &self.0)
    }
}

/// The largest class report: a class of a few hundred seats, each check with its words.
pub const MAX_CLASS: usize = 1024 * 1024;
/// The most seats a class report holds.
pub const MAX_SEATS: usize = 1000;

/// Every admin route, as `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/admin/v1/tenants"),
    ("post", "/admin/v1/tenants"),
    ("delete", "/admin/v1/tenants/{tenant}"),
    ("post", "/admin/v1/tenants/{tenant}/reset"),
    ("post", "/admin/v1/tenants/{tenant}/purchases"),
    ("get", "/admin/v1/tenants/{tenant}/audit"),
    ("get", "/admin/v1/tenants/{tenant}/history"),
    ("get", "/admin/v1/classes"),
    ("put", "/admin/v1/classes/{class}"),
];

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .wrap(actix_web::middleware::from_fn(super::guard::api))
            .service(resource(
                "/tenants",
                Api,
                vec![
                    (Method::GET, web::to(list)),
                    (Method::POST, web::to(create)),
                ],
            ))
            .service(resource(
                "/tenants/{tenant}",
                Api,
                vec![(Method::DELETE, web::to(delete))],
            ))
            .service(resource(
                "/tenants/{tenant}/reset",
                Api,
                vec![(Method::POST, web::to(reset))],
            ))
            .service(resource(
                "/tenants/{tenant}/purchases",
                Api,
                vec![(Method::POST, web::to(add_purchase))],
            ))
            .service(resource(
                "/tenants/{tenant}/audit",
                Api,
                vec![(Method::GET, web::to(audit))],
            ))
            .service(resource(
                "/tenants/{tenant}/history",
                Api,
                vec![(Method::GET, web::to(history))],
            ))
            .service(resource(
                "/classes",
                Api,
                vec![(Method::GET, web::to(classes))],
            ))
            .service(resource(
                "/classes/{class}",
                Api,
                vec![(Method::PUT, web::to(put_class))],
            ))
            .configure(super::controls::configure),
    );
}

pub(super) fn authorize(request: &HttpRequest, token: &AdminToken) -> Result<(), Problem> {
    // The scheme's name is case-insensitive (RFC 9110 11.1).
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty());
    match given {
        Some(given) if token.matches(given) => Ok(()),
        Some(_) => Err(Problem::new(
            ErrorCode::Unauthorized,
            "the admin token was refused: it is not the one this clearinghouse printed when it started (its admin-token line), nor the --admin-token it was started with",
        )),
        None => Err(Problem::new(
            ErrorCode::Unauthorized,
            "the admin API needs the header 'Authorization: Bearer <token>' with the admin token the clearinghouse printed when it started",
        )),
    }
}

pub(super) fn path_tenant(request: &HttpRequest) -> Result<TenantName, Problem> {
    TenantName::parse(request.match_info().get("tenant").unwrap_or_default())
        .map_err(|e| e.problem())
}

async fn run(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    token: web::Data<AdminToken>,
    command: impl FnOnce(&HttpRequest) -> Result<(TenantName, Command), Problem>,
    success: StatusCode,
) -> HttpResponse {
    let prepared = authorize(&request, &token).and_then(|()| command(&request));
    match prepared {
        Ok((tenant, command)) => reply::reply(ledger.execute(tenant, command, None).await, success),
        Err(p) => reply::problem(&p),
    }
}

/// Runs `command` on the tenant the path names.
async fn on_tenant(
    r: HttpRequest,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
    command: Command,
) -> HttpResponse {
    run(r, l, t, |r| Ok((path_tenant(r)?, command)), StatusCode::OK).await
}

async fn list(r: HttpRequest, l: web::Data<Ledger>, t: web::Data<AdminToken>) -> HttpResponse {
    run(
        r,
        l,
        t,
        |_| Ok((TenantName::default_tenant(), Command::ListTenants)),
        StatusCode::OK,
    )
    .await
}

async fn create(
    r: HttpRequest,
    p: web::Payload,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
) -> HttpResponse {
    with_body(
        r,
        p,
        l,
        t,
        body::MAX_BODY,
        |_, request: CreateTenantRequest| {
            let tenant = TenantName::parse(&request.name).map_err(|e| e.problem())?;
            if let Some(token) = &request.seat_token {
                shared::wire::check_seat_token(token).map_err(|message| {
                    Problem::new(ErrorCode::InvalidField, message).with_field("seat_token")
                })?;
            }
            Ok((tenant, Command::CreateTenant(request)))
        },
    )
    .await
}

/// Runs a command built from the route and a JSON body, answering 201 when applied.
async fn with_body<T: serde::de::DeserializeOwned>(
    r: HttpRequest,
    p: web::Payload,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
    limit: usize,
    command: impl FnOnce(&HttpRequest, T) -> Result<(TenantName, Command), Problem>,
) -> HttpResponse {
    let parsed = async {
        authorize(&r, &t)?;
        let value: T = body::json_within(&body::read_up_to(p, limit).await?, limit)?;
        command(&r, value)
    };
    match parsed.await {
        Ok(prepared) => run(r, l, t, |_| Ok(prepared), StatusCode::CREATED).await,
        Err(p) => reply::problem(&p),
    }
}

async fn delete(
    r: HttpRequest,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
    c: web::Data<Controls>,
) -> HttpResponse {
    forgetting_controls(r, l, t, c, Command::DeleteTenant).await
}

async fn reset(
    r: HttpRequest,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
    c: web::Data<Controls>,
) -> HttpResponse {
    forgetting_controls(r, l, t, c, Command::ResetTenant).await
}

/// Runs a command that removes the tenant's state, and with it its faults and journal.
async fn forgetting_controls(
    r: HttpRequest,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
    c: web::Data<Controls>,
    command: Command,
) -> HttpResponse {
    let tenant = path_tenant(&r).ok();
    let response = on_tenant(r, l, t, command).await;
    if response.status().is_success()
        && let Some(tenant) = tenant
    {
        c.forget(&tenant);
    }
    response
}

async fn add_purchase(
    r: HttpRequest,
    p: web::Payload,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
) -> HttpResponse {
    with_body(r, p, l, t, body::MAX_BODY, |r, spec: PurchaseSpec| {
        Ok((path_tenant(r)?, Command::AddPurchase(spec)))
    })
    .await
}

async fn audit(r: HttpRequest, l: web::Data<Ledger>, t: web::Data<AdminToken>) -> HttpResponse {
    on_tenant(r, l, t, Command::Audit).await
}

async fn history(r: HttpRequest, l: web::Data<Ledger>, t: web::Data<AdminToken>) -> HttpResponse {
    on_tenant(r, l, t, Command::History).await
}

async fn classes(r: HttpRequest, l: web::Data<Ledger>, t: web::Data<AdminToken>) -> HttpResponse {
    run(
        r,
        l,
        t,
        |_| Ok((TenantName::default_tenant(), Command::ListClasses)),
        StatusCode::OK,
    )
    .await
}

async fn put_class(
    r: HttpRequest,
    p: web::Payload,
    l: web::Data<Ledger>,
    t: web::Data<AdminToken>,
) -> HttpResponse {
    with_body(r, p, l, t, MAX_CLASS, |r, report: ClassReport| {
        let name = r.match_info().get("class").unwrap_or_default();
        // A class is named as a tenant is: its seats' tenants start with its name.
        TenantName::parse(name).map_err(|_| {
            Problem::new(
                ErrorCode::InvalidField,
                format!(
                    "{name:?} is no class name: 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit"
                ),
            )
        })?;
        if report.seats.len() > MAX_SEATS {
            return Err(Problem::new(
                ErrorCode::InvalidField,
                format!(
                    "the report holds {} seats: a class has at most {MAX_SEATS}",
                    report.seats.len()
                ),
            )
            .with_field("seats"));
        }
        if report.name != name {
            return Err(Problem::new(
                ErrorCode::InvalidField,
                format!(
                    "the report names class {:?} and the address class {name:?}: they must be the same",
                    report.name
                ),
            ));
        }
        Ok((TenantName::default_tenant(), Command::PutClass(Box::new(report))))
    })
    .await
}
