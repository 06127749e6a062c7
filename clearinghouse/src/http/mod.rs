//! The HTTP doors of the clearinghouse. Each door only translates between HTTP and the
//! ledger; none holds a licensing rule.
//!
//! - `health`: `/health` and `/ready`.
//! - `api`: the JSON API of the automatic method, under `/api/v1`.
//! - `admin`: tenants and audits, under `/admin/v1`, behind the admin token.
//! - `controls`: the test controls of a tenant (faults, journal, seed, clock, snapshots,
//!   replays), under `/admin/v1` too.
//! - `portal`: the licensing web site of the web browser method, at `/`.
//! - `door`: the middleware over the API where faults act and the journal is written.
//! - `guard`: what a page of another site may not do, the time a body has to arrive, and
//!   the headers every answer carries.
//! - `body` and `reply`: reading requests and writing answers, the same for every route;
//!   `stream`: reading a large body (a snapshot, a journal) as it arrives.
//! - `openapi`: the OpenAPI document of every route, its schemas derived from the wire
//!   types.
//! - `resource`: a path and the methods it takes (405 with `Allow` for the others, `HEAD`
//!   with every `GET`).

pub mod admin;
pub mod api;
mod body;
pub mod controls;
pub mod door;
pub mod guard;
pub mod health;
pub mod openapi;
pub mod portal;
mod reply;
pub mod resource;
mod stream;

use actix_web::{HttpRequest, HttpResponse, web};
use shared::wire::{ErrorCode, Problem};

/// Registers every route, and a problem document for everything else.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    api::configure(cfg);
    admin::configure(cfg);
    portal::configure(cfg);
    cfg.default_service(web::to(no_route));
}

/// No route: a problem document under the APIs, a page of the web site elsewhere.
async fn no_route(request: HttpRequest) -> HttpResponse {
    let path = request.path();
    if guard::is_site(path) {
        return portal::not_found(path);
    }
    reply::problem(&Problem::new(
        ErrorCode::NotFound,
        format!(
            "there is no route {} {path}; the API is described at /api/v1/openapi.json",
            request.method(),
        ),
    ))
}
