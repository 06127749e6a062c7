//! The JSON API of the automatic connection method: each route reads its body, hands one
//! command to the ledger and writes back what the ledger answered.

use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Serialize;
use shared::id::{KeyPackId, LicenseServerId};
use shared::vocab::{LicenseProgram, LicenseType, PhoneBook, ProductVersion, Term, WindowsServer};
use shared::wire::{
    API_BASE, ActivateRequest, DeactivateRequest, ErrorCode, InstallCalsRequest,
    MigrateCalsRequest, PhoneDesk, PhoneLines, Problem, ReactivateRequest, RecoverCalsRequest,
};

use super::door::{self, Note};
use super::reply::{self, id_problem};
use super::resource::{Door::Api, resource};
use super::{body, guard};
use crate::ledger::{Answer, Command, Ledger};

/// Every route of the API, as `(method, path)`: the OpenAPI document must describe
/// exactly these (a test holds them together).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/activations"),
    ("post", "/api/v1/reactivations"),
    ("post", "/api/v1/deactivations"),
    ("post", "/api/v1/key-packs"),
    ("post", "/api/v1/migrations"),
    ("post", "/api/v1/recoveries"),
    ("get", "/api/v1/license-servers/{license_server_id}"),
    (
        "get",
        "/api/v1/license-servers/{license_server_id}/key-packs/{key_pack_id}",
    ),
    ("get", "/api/v1/catalog"),
    ("get", "/api/v1/phone-lines"),
    ("get", "/api/v1/openapi.json"),
];

/// Every mutation route, under `/api/v1`, with the status it answers when applied.
const MUTATIONS: [(&str, StatusCode); 6] = [
    ("/activations", StatusCode::CREATED),
    ("/reactivations", StatusCode::CREATED),
    ("/deactivations", StatusCode::OK),
    ("/key-packs", StatusCode::CREATED),
    ("/migrations", StatusCode::CREATED),
    ("/recoveries", StatusCode::CREATED),
];

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope(API_BASE)
        .wrap(from_fn(door::door))
        .wrap(from_fn(guard::api));
    for (path, success) in MUTATIONS {
        scope = scope.service(resource(
            path,
            Api,
            vec![(Method::POST, mutation(path, success))],
        ));
    }
    let get = |path: &str, route: actix_web::Route| resource(path, Api, vec![(Method::GET, route)]);
    cfg.service(
        scope
            .service(get("/license-servers/{license_server_id}", web::to(status)))
            .service(get(
                "/license-servers/{license_server_id}/key-packs/{key_pack_id}",
                web::to(verify_key_pack),
            ))
            .service(get("/catalog", web::to(catalog)))
            .service(get("/phone-lines", web::to(phone_lines)))
            .service(get("/openapi.json", web::to(openapi))),
    );
}

/// What the API would have received for `command`: its route, the status it answers
/// when applied, and its body. Another door journals its requests in this form, so a
/// journal replays the same whichever door a request came through.
pub fn as_api_request(command: &Command) -> Option<(String, StatusCode, Bytes)> {
    let (path, body) = match command {
        Command::Activate(r) => ("/activations", serde_json::to_vec(r)),
        Command::Reactivate(r) => ("/reactivations", serde_json::to_vec(r)),
        Command::Deactivate(r) => ("/deactivations", serde_json::to_vec(r)),
        Command::InstallCals(r) => ("/key-packs", serde_json::to_vec(r)),
        Command::MigrateCals(r) => ("/migrations", serde_json::to_vec(r)),
        Command::RecoverCals(r) => ("/recoveries", serde_json::to_vec(r)),
        _ => return None,
    };
    let success = MUTATIONS.iter().find(|(p, _)| *p == path)?.1;
    Some((
        format!("{API_BASE}{path}"),
        success,
        Bytes::from(body.ok()?),
    ))
}

/// The command a mutation route's body asks for, or `None` if `route` is not a mutation
/// route. The handlers and a journal's replay read bodies through this one function.
pub fn mutation_command(route: &str, bytes: &Bytes) -> Option<Result<Command, Problem>> {
    Some(match route.strip_prefix(API_BASE)? {
        "/activations" => body::json::<ActivateRequest>(bytes).map(Command::Activate),
        "/reactivations" => body::json::<ReactivateRequest>(bytes).map(Command::Reactivate),
        "/deactivations" => body::json::<DeactivateRequest>(bytes).map(Command::Deactivate),
        "/key-packs" => body::json::<InstallCalsRequest>(bytes).map(Command::InstallCals),
        "/migrations" => body::json::<MigrateCalsRequest>(bytes).map(Command::MigrateCals),
        "/recoveries" => body::json::<RecoverCalsRequest>(bytes).map(Command::RecoverCals),
        _ => return None,
    })
}

/// The route of a mutation: POST to `path` (under the API base), answering `success`
/// when it is applied.
fn mutation(path: &'static str, success: StatusCode) -> actix_web::Route {
    web::to(
        move |request: HttpRequest, payload: web::Payload, ledger: web::Data<Ledger>| {
            let route = format!("{API_BASE}{path}");
            async move { run_mutation(request, payload, ledger, &route, success).await }
        },
    )
}

/// Runs the mutation the route and body ask for.
async fn run_mutation(
    request: HttpRequest,
    payload: web::Payload,
    ledger: web::Data<Ledger>,
    route: &str,
    success: StatusCode,
) -> HttpResponse {
    let parsed = async {
        let tenant = body::tenant(&request)?;
        let key = body::idempotency_key(&request)?;
        let bytes = body::read(payload).await?;
        request.extensions_mut().insert(Note {
            // A copy: the bytes read may share a buffer many times their size, which the
            // journal would otherwise keep alive for as long as it keeps the entry.
            body: Some(Bytes::copy_from_slice(&bytes)),
            ..Note::default()
        });
        let command = mutation_command(route, &bytes).unwrap_or_else(|| {
            Err(Problem::new(
                ErrorCode::Internal,
                format!("route {route} has no command"),
            ))
        })?;
        Ok::<_, Problem>((tenant, key, command))
    };
    match parsed.await {
        Ok((tenant, key, command)) => {
            let answer = ledger.execute(tenant, command, key).await;
            if let Some(note) = request.extensions_mut().get_mut::<Note>() {
                note.applied = answer.applied;
                note.replayed = answer.replayed;
                note.ids = answer
                    .outcome
                    .as_ref()
                    .map(Answer::issued_ids)
                    .unwrap_or_default();
                note.refusal = answer.outcome.as_ref().err().map(|p| p.detail.clone());
            }
            reply::reply(answer, success)
        }
        Err(p) => {
            let mut extensions = request.extensions_mut();
            match extensions.get_mut::<Note>() {
                Some(note) => note.refusal = Some(p.detail.clone()),
                None => {
                    extensions.insert(Note {
                        refusal: Some(p.detail.clone()),
                        ..Note::default()
                    });
                }
            }
            drop(extensions);
            reply::problem(&p)
        }
    }
}

fn path_id<T>(request: &HttpRequest, name: &str) -> Result<T, Problem>
where
    T: std::str::FromStr<Err = shared::id::IdError>,
{
    let text = request.match_info().get(name).unwrap_or_default();
    text.parse().map_err(|e| id_problem(name, &e))
}

async fn query(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    command: Result<Command, Problem>,
) -> HttpResponse {
    let tenant = match body::tenant(&request) {
        Ok(t) => t,
        Err(p) => return reply::problem(&p),
    };
    match command {
        Ok(command) => reply::reply(ledger.execute(tenant, command, None).await, StatusCode::OK),
        Err(p) => reply::problem(&p),
    }
}

async fn status(request: HttpRequest, ledger: web::Data<Ledger>) -> HttpResponse {
    let command = path_id::<LicenseServerId>(&request, "license_server_id").map(Command::Status);
    query(request, ledger, command).await
}

async fn verify_key_pack(request: HttpRequest, ledger: web::Data<Ledger>) -> HttpResponse {
    let command =
        path_id::<LicenseServerId>(&request, "license_server_id").and_then(|license_server_id| {
            let key_pack_id = path_id::<KeyPackId>(&request, "key_pack_id")?;
            Ok(Command::VerifyKeyPack {
                license_server_id,
                key_pack_id,
            })
        });
    query(request, ledger, command).await
}

/// A term the API takes: its slug and its name.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// What the API takes, e.g. `2008-r2`.
    slug: &'static str,
    /// What a person reads, e.g. `Windows Server 2008 R2`.
    name: &'static str,
}

/// The terms the API takes, straight from the shared vocabulary.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Catalog {
    /// The Windows Server versions of CALs.
    product_versions: Vec<Entry>,
    /// Per Device and Per User.
    license_types: Vec<Entry>,
    /// The license programs.
    license_programs: Vec<Entry>,
    /// The operating systems a license server runs.
    operating_systems: Vec<Entry>,
}

fn entries<T: Term>() -> Vec<Entry> {
    T::ALL
        .iter()
        .map(|t| Entry {
            slug: t.slug(),
            name: t.name(),
        })
        .collect()
}

async fn catalog() -> HttpResponse {
    HttpResponse::Ok().json(Catalog {
        product_versions: entries::<ProductVersion>(),
        license_types: entries::<LicenseType>(),
        license_programs: entries::<LicenseProgram>(),
        operating_systems: entries::<WindowsServer>(),
    })
}

/// The phone desks and where the phone line answers them.
pub struct PhoneDirectory {
    /// The phone line's address, if it answers.
    pub line: Option<std::net::SocketAddr>,
    /// The desks.
    pub book: PhoneBook,
}

async fn phone_lines(directory: web::Data<PhoneDirectory>) -> HttpResponse {
    HttpResponse::Ok().json(PhoneLines {
        line: directory.line.map(|a| a.to_string()),
        desks: directory
            .book
            .lines()
            .map(|d| PhoneDesk {
                desk: d.desk.clone(),
                number: d.number.clone(),
                countries: d.countries.iter().map(|c| c.code().to_owned()).collect(),
            })
            .collect(),
    })
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(super::openapi::document())
}
