//! The admin routes of a tenant's test controls: faults, journal, seed, clock, snapshots
//! and replays. Each only translates between HTTP and the controls or the ledger.

use actix_web::http::{Method, StatusCode};
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use shared::wire::{
    ClockRequest, ErrorCode, FaultList, FaultSpec, JournalEntry, Problem, ReplayReport, SeedRequest,
};

use super::admin::{AdminToken, authorize, path_tenant};
use super::resource::{Door::Api, resource};
use super::{api, body, reply, stream};
use crate::controls::Controls;
use crate::ledger::clock::parse_rfc3339;
use crate::ledger::snapshot;
use crate::ledger::{Answer, ClockChange, Command, Ledger, TenantName, TenantState};

/// The largest snapshot or journal taken in one request.
pub const MAX_FILE: usize = 256 * 1024 * 1024;

/// Every route of the controls, as `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/admin/v1/tenants/{tenant}/faults"),
    ("post", "/admin/v1/tenants/{tenant}/faults"),
    ("delete", "/admin/v1/tenants/{tenant}/faults"),
    ("delete", "/admin/v1/tenants/{tenant}/faults/{id}"),
    ("get", "/admin/v1/tenants/{tenant}/journal"),
    ("delete", "/admin/v1/tenants/{tenant}/journal"),
    ("put", "/admin/v1/tenants/{tenant}/seed"),
    ("get", "/admin/v1/tenants/{tenant}/clock"),
    ("post", "/admin/v1/tenants/{tenant}/clock"),
    ("get", "/admin/v1/tenants/{tenant}/snapshot"),
    ("post", "/admin/v1/tenants/{tenant}/snapshot"),
    ("post", "/admin/v1/tenants/{tenant}/replay"),
];

/// Registers the routes inside the admin scope, which holds the token check's routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let tenant = |rest: &str, routes| resource(&format!("/tenants/{{tenant}}{rest}"), Api, routes);
    cfg.service(tenant(
        "/faults",
        vec![
            (Method::GET, web::to(list_faults)),
            (Method::POST, web::to(set_fault)),
            (Method::DELETE, web::to(clear_faults)),
        ],
    ))
    .service(tenant(
        "/faults/{id}",
        vec![(Method::DELETE, web::to(clear_fault))],
    ))
    .service(tenant(
        "/journal",
        vec![
            (Method::GET, web::to(journal)),
            (Method::DELETE, web::to(clear_journal)),
        ],
    ))
    .service(tenant("/seed", vec![(Method::PUT, web::to(set_seed))]))
    .service(tenant(
        "/clock",
        vec![
            (Method::GET, web::to(read_clock)),
            (Method::POST, web::to(change_clock)),
        ],
    ))
    .service(tenant(
        "/snapshot",
        vec![
            (Method::GET, web::to(export_snapshot)),
            (Method::POST, web::to(import_snapshot)),
        ],
    ))
    .service(tenant("/replay", vec![(Method::POST, web::to(replay))]));
}

/// What every control route starts from: the ledger, the controls and the tenant.
struct Ctx {
    ledger: web::Data<Ledger>,
    controls: web::Data<Controls>,
    tenant: TenantName,
}

/// A request refused before its handler runs, answered as a problem document.
#[derive(Debug)]
struct Refused(Problem);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        reply::problem(&self.0)
    }
}

/// Every control route starts from a `Ctx`: the token checked, the tenant read from the
/// path.
impl FromRequest for Ctx {
    type Error = Refused;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ctx::new(request).map_err(Refused))
    }
}

impl Ctx {
    fn new(request: &HttpRequest) -> Result<Self, Problem> {
        let missing = || Problem::new(ErrorCode::Internal, "the controls are not configured");
        let token = request
            .app_data::<web::Data<AdminToken>>()
            .ok_or_else(missing)?;
        authorize(request, token)?;
        Ok(Ctx {
            ledger: request
                .app_data::<web::Data<Ledger>>()
                .cloned()
                .ok_or_else(missing)?,
            controls: request
                .app_data::<web::Data<Controls>>()
                .cloned()
                .ok_or_else(missing)?,
            tenant: path_tenant(request)?,
        })
    }

    /// The tenant's seed and clock; refused for a tenant that does not exist.
    fn state(&self) -> Result<TenantState, Problem> {
        match self.ledger.tenant_state(&self.tenant) {
            Ok(Some(state)) => Ok(state),
            Ok(None) => {
                Err(crate::ledger::LedgerError::UnknownTenant(self.tenant.to_string()).problem())
            }
            Err(e) => Err(e.problem()),
        }
    }

    async fn run(&self, command: Command, success: StatusCode) -> HttpResponse {
        reply::reply(
            self.ledger
                .execute(self.tenant.clone(), command, None)
                .await,
            success,
        )
    }

    fn faults(&self) -> Result<HttpResponse, Problem> {
        Ok(HttpResponse::Ok().json(FaultList {
            tenant: self.tenant.to_string(),
            faults: self.controls.faults.list(&self.tenant)?,
        }))
    }
}

fn answer(result: Result<HttpResponse, Problem>) -> HttpResponse {
    result.unwrap_or_else(|p| reply::problem(&p))
}

async fn list_faults(ctx: Ctx) -> HttpResponse {
    answer(ctx.state().and_then(|_| ctx.faults()))
}

async fn set_fault(ctx: Ctx, p: web::Payload) -> HttpResponse {
    let result = async {
        let spec: FaultSpec = body::json(&body::read(p).await?)?;
        let state = ctx.state()?;
        let routes: Vec<&str> = api::ROUTES
            .iter()
            .map(|(_, path)| *path)
            .filter(|path| *path != "/api/v1/openapi.json")
            .collect();
        let info = ctx
            .controls
            .faults
            .set(&ctx.tenant, state.seed, state.now_ms, spec, &routes)?;
        Ok(HttpResponse::Created().json(info))
    };
    answer(result.await)
}

async fn clear_faults(ctx: Ctx) -> HttpResponse {
    answer(ctx.state().and_then(|_| {
        ctx.controls.faults.clear(&ctx.tenant, None);
        ctx.faults()
    }))
}

async fn clear_fault(r: HttpRequest, ctx: Ctx) -> HttpResponse {
    answer(ctx.state().and_then(|_| {
        let text = r.match_info().get("id").unwrap_or_default();
        let id: u64 = text.parse().map_err(|_| {
            Problem::new(
                ErrorCode::InvalidField,
                format!("{text:?} is not a fault number; list the faults to see theirs"),
            )
            .with_field("id")
        })?;
        if ctx.controls.faults.clear(&ctx.tenant, Some(id)) == 0 {
            return Err(Problem::new(
                ErrorCode::NotFound,
                format!(
                    "tenant {} has no fault {id}; `clearinghouse fault list` (or GET .../faults) shows the numbers of its faults",
                    ctx.tenant
                ),
            ));
        }
        ctx.faults()
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    format: Option<String>,
}

fn default_limit() -> usize {
    100
}

async fn journal(r: HttpRequest, ctx: Ctx) -> HttpResponse {
    answer(ctx.state().and_then(|_| {
        let query = web::Query::<JournalQuery>::from_query(r.query_string()).map_err(|e| {
            Problem::new(
                ErrorCode::InvalidField,
                format!("the query is not understood ({e}); it takes after=<entry number>, limit=<1 to 1000> and format=jsonl"),
            )
        })?;
        if query.after > i64::MAX as u64 {
            return Err(Problem::new(
                ErrorCode::InvalidField,
                format!(
                    "after {} is past every entry number: give 0 to {}",
                    query.after,
                    i64::MAX
                ),
            )
            .with_field("after"));
        }
        if !(1..=crate::controls::journal::MAX_PAGE).contains(&query.limit) {
            return Err(Problem::new(
                ErrorCode::InvalidField,
                format!(
                    "limit {} is not a page size: give 1 to {}",
                    query.limit,
                    crate::controls::journal::MAX_PAGE
                ),
            )
            .with_field("limit"));
        }
        match query.format.as_deref() {
            None | Some("json") => Ok(HttpResponse::Ok().json(ctx.controls.journal.page(
                &ctx.tenant,
                query.after,
                query.limit,
            ))),
            Some("jsonl") => Ok(journal_lines(&ctx, query.after)),
            Some(other) => Err(Problem::new(
                ErrorCode::InvalidField,
                format!("format {other:?} is not offered; use json (pages) or jsonl (every entry, one per line)"),
            )
            .with_field("format")),
        }
    }))
}

/// Every entry after `after`, one JSON document per line.
fn journal_lines(ctx: &Ctx, mut after: u64) -> HttpResponse {
    let mut text = String::new();
    loop {
        let page =
            ctx.controls
                .journal
                .page(&ctx.tenant, after, crate::controls::journal::MAX_PAGE);
        for entry in &page.entries {
            if let Ok(line) = serde_json::to_string(entry) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        match page.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .body(text)
}

async fn clear_journal(ctx: Ctx) -> HttpResponse {
    answer(ctx.state().map(|_| {
        ctx.controls.journal.clear(&ctx.tenant);
        HttpResponse::Ok().json(ctx.controls.journal.page(&ctx.tenant, 0, 1))
    }))
}

async fn set_seed(ctx: Ctx, p: web::Payload) -> HttpResponse {
    let result = async {
        let request: SeedRequest = body::json(&body::read(p).await?)?;
        Ok(ctx
            .run(Command::SetSeed(request.seed), StatusCode::OK)
            .await)
    };
    answer(result.await)
}

async fn read_clock(ctx: Ctx) -> HttpResponse {
    ctx.run(Command::ReadClock, StatusCode::OK).await
}

/// Reads a clock request into the change it asks for.
pub fn clock_change(request: &ClockRequest) -> Result<ClockChange, Problem> {
    match (&request.set, &request.advance) {
        (Some(time), None) => parse_rfc3339(time).map(ClockChange::SetTo).ok_or_else(|| {
            Problem::new(
                ErrorCode::InvalidField,
                format!("{time:?} is not a time: write it as RFC 3339, e.g. 2027-01-31T09:00:00Z"),
            )
            .with_field("set")
        }),
        (None, Some(by)) => humantime::parse_duration(by)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok())
            .map(ClockChange::Advance)
            .ok_or_else(|| {
                Problem::new(
                    ErrorCode::InvalidField,
                    format!("{by:?} is not a length of time: write e.g. 90s, 25h or 2days"),
                )
                .with_field("advance")
            }),
        _ => Err(Problem::new(
            ErrorCode::InvalidField,
            "give exactly one of set (a time, e.g. 2027-01-31T09:00:00Z) and advance (e.g. 25h)",
        )),
    }
}

async fn change_clock(ctx: Ctx, p: web::Payload) -> HttpResponse {
    let result = async {
        let request: ClockRequest = body::json(&body::read(p).await?)?;
        let change = clock_change(&request)?;
        Ok(ctx.run(Command::SetClock(change), StatusCode::OK).await)
    };
    answer(result.await)
}

async fn export_snapshot(ctx: Ctx) -> HttpResponse {
    let mut response = ctx.run(Command::ExportSnapshot, StatusCode::OK).await;
    if response.status().is_success()
        && let Ok(value) = format!("attachment; filename=\"{}.snapshot.json\"", ctx.tenant).parse()
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn import_snapshot(ctx: Ctx, p: web::Payload) -> HttpResponse {
    let result = async {
        let body = stream::parse(p, MAX_FILE, |file| {
            snapshot::read(file).map_err(|e| e.problem())
        })
        .await?;
        Ok(ctx
            .run(Command::ImportSnapshot(Box::new(body)), StatusCode::CREATED)
            .await)
    };
    answer(result.await)
}

async fn replay(ctx: Ctx, p: web::Payload) -> HttpResponse {
    let result = async {
        ctx.state()?;
        let entries = stream::parse(p, MAX_FILE, journal_entries).await?;
        Ok(HttpResponse::Ok().json(replay_into(&ctx, entries).await))
    };
    answer(result.await)
}

/// Reads a journal in JSON lines, as `GET .../journal?format=jsonl` gives it, a line at a
/// time.
fn journal_entries(file: &mut dyn std::io::Read) -> Result<Vec<JournalEntry>, Problem> {
    use std::io::BufRead;
    let mut entries = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|_| {
            Problem::new(ErrorCode::MalformedRequest, "the journal is not UTF-8 text")
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line).map_err(|e| {
            Problem::new(
                ErrorCode::MalformedRequest,
                format!(
                    "line {} is not a journal entry ({e}); send the journal as GET .../journal?format=jsonl gives it",
                    i + 1
                ),
            )
        })?;
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(Problem::new(
            ErrorCode::MalformedRequest,
            "the journal is empty: send the entries GET .../journal?format=jsonl gives, one per line",
        ));
    }
    Ok(entries)
}

/// Applies again, in their order, the journal's requests that changed the ledger, each at
/// the time on the tenant's clock the journal gives it (the clock is left at the last),
/// and compares the IDs issued with the journal's.
async fn replay_into(ctx: &Ctx, entries: Vec<JournalEntry>) -> ReplayReport {
    let mut report = ReplayReport {
        tenant: ctx.tenant.to_string(),
        replayed: 0,
        skipped: 0,
        ids_reproduced: 0,
        mismatches: Vec::new(),
    };
    let (mut changes, rest): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|e| e.applied.is_some() && !e.replayed && e.request.is_some());
    report.skipped = rest.len() as u64;
    changes.sort_by_key(|e| e.applied);
    if let Some(first) = changes.first().and_then(|e| e.applied)
        && first > 0
    {
        report.mismatches.push(format!(
            "the journal's first change is number {first}: the {first} before it are missing (dropped from a full journal?), so later IDs will differ"
        ));
    }
    for entry in changes {
        let bytes = Bytes::from(
            entry
                .request
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        let command = match api::mutation_command(&entry.route, &bytes) {
            Some(Ok(command)) => command,
            Some(Err(p)) => {
                report.mismatches.push(format!(
                    "entry {}: its request does not read: {}",
                    entry.n, p.detail
                ));
                continue;
            }
            None => {
                report.mismatches.push(format!(
                    "entry {}: {} is not a route that changes the ledger",
                    entry.n, entry.route
                ));
                continue;
            }
        };
        // The tenant's clock as it read when the entry was answered: idempotency keys
        // expire, and are reused, at the same moments as in the journal.
        let clock = ctx
            .ledger
            .execute(
                ctx.tenant.clone(),
                Command::SetClock(ClockChange::SetTo(entry.at_ms)),
                None,
            )
            .await;
        if let Err(p) = &clock.outcome {
            report.mismatches.push(format!(
                "entry {}: the tenant's clock could not be set to {}: {}",
                entry.n, entry.at, p.detail
            ));
        }
        let reply = ctx
            .ledger
            .execute_by(
                ctx.tenant.clone(),
                command,
                entry.idempotency_key.clone(),
                entry.connection_method,
            )
            .await;
        report.replayed += 1;
        match &reply.outcome {
            Ok(answer) => {
                let ids = Answer::issued_ids(answer);
                if ids == entry.ids {
                    report.ids_reproduced += ids.len() as u64;
                } else {
                    report.mismatches.push(format!(
                        "entry {}: the journal says {:?} was issued, the replay issued {:?}",
                        entry.n, entry.ids, ids
                    ));
                }
            }
            Err(p) => report.mismatches.push(format!(
                "entry {}: the journal says it was applied, the replay was refused: {}",
                entry.n, p.detail
            )),
        }
    }
    report
}
