//! Liveness and readiness: what a test harness or a container waits on instead of sleeping.
//!
//! The server binds its socket only after its store is open, so a clearinghouse that
//! answers at all is ready, unless a part of it has died: the ledger's writer, without
//! which every request fails. Both routes say so then (503), rather than live on
//! half-dead; the binary exits too.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use shared::wire::Health;

use super::resource::{Door::Api, resource};
use crate::ledger::Ledger;

/// Every route of the health door, as `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[("get", "/health"), ("get", "/ready")];

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(
        "/health",
        Api,
        vec![(Method::GET, web::to(health))],
    ))
    .service(resource("/ready", Api, vec![(Method::GET, web::to(ready))]));
}

fn state(ledger: &Ledger) -> HttpResponse {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    if ledger.is_running() {
        HttpResponse::Ok().json(Health {
            status: "ok".to_owned(),
            version,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "the ledger's writer has stopped: no request can be applied; restart the clearinghouse".to_owned(),
            version,
        })
    }
}

async fn health(ledger: web::Data<Ledger>) -> HttpResponse {
    state(&ledger)
}

async fn ready(ledger: web::Data<Ledger>) -> HttpResponse {
    state(&ledger)
}
