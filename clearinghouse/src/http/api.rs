//! The JSON API of the automatic connection method: each route reads its body, hands one
//! command to the ledger and writes back what the ledger answered.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::id::{KeyPackId, LicenseServerId};
use shared::vocab::{LicenseProgram, LicenseType, ProductVersion, Term, WindowsServer};
use shared::wire::{
    ActivateRequest, DeactivateRequest, InstallCalsRequest, MigrateCalsRequest, Problem,
    ReactivateRequest, RecoverCalsRequest,
};

use super::body;
use super::reply::{self, id_problem};
use crate::ledger::{Command, Ledger};

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
    ("get", "/api/v1/openapi.json"),
];

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/activations", web::post().to(activate))
            .route("/reactivations", web::post().to(reactivate))
            .route("/deactivations", web::post().to(deactivate))
            .route("/key-packs", web::post().to(install_cals))
            .route("/migrations", web::post().to(migrate_cals))
            .route("/recoveries", web::post().to(recover_cals))
            .route(
                "/license-servers/{license_server_id}",
                web::get().to(status),
            )
            .route(
                "/license-servers/{license_server_id}/key-packs/{key_pack_id}",
                web::get().to(verify_key_pack),
            )
            .route("/catalog", web::get().to(catalog))
            .route("/openapi.json", web::get().to(openapi)),
    );
}

/// Runs a mutation whose body is a `T`, answering `success` when it is applied.
async fn mutation<T: DeserializeOwned>(
    request: HttpRequest,
    payload: web::Payload,
    ledger: web::Data<Ledger>,
    command: fn(T) -> Command,
    success: StatusCode,
) -> HttpResponse {
    let parsed = async {
        let tenant = body::tenant(&request)?;
        let key = body::idempotency_key(&request)?;
        let bytes = body::read(payload).await?;
        let value: T = body::json(&bytes)?;
        Ok::<_, Problem>((tenant, key, value))
    };
    match parsed.await {
        Ok((tenant, key, value)) => {
            reply::reply(ledger.execute(tenant, command(value), key).await, success)
        }
        Err(p) => reply::problem(&p),
    }
}

async fn activate(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<ActivateRequest>(r, p, l, Command::Activate, StatusCode::CREATED).await
}

async fn reactivate(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<ReactivateRequest>(r, p, l, Command::Reactivate, StatusCode::CREATED).await
}

async fn deactivate(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<DeactivateRequest>(r, p, l, Command::Deactivate, StatusCode::OK).await
}

async fn install_cals(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<InstallCalsRequest>(r, p, l, Command::InstallCals, StatusCode::CREATED).await
}

async fn migrate_cals(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<MigrateCalsRequest>(r, p, l, Command::MigrateCals, StatusCode::CREATED).await
}

async fn recover_cals(r: HttpRequest, p: web::Payload, l: web::Data<Ledger>) -> HttpResponse {
    mutation::<RecoverCalsRequest>(r, p, l, Command::RecoverCals, StatusCode::CREATED).await
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

#[derive(Serialize)]
struct Entry {
    slug: &'static str,
    name: &'static str,
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

/// The terms the API takes, straight from the shared vocabulary.
async fn catalog() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "product_versions": entries::<ProductVersion>(),
        "license_types": entries::<LicenseType>(),
        "license_programs": entries::<LicenseProgram>(),
        "operating_systems": entries::<WindowsServer>(),
    }))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}
