//! Liveness and readiness: what a test harness or a container waits on instead of sleeping.
//!
//! The server binds its socket only after its store is open, so a clearinghouse that
//! answers at all is ready, unless a part of it has died: the ledger's writer, without
//! which every request fails. Both routes say so then (503), rather than live on
//! half-dead; the binary exits too.

use actix_web::{HttpResponse, get, web};
use shared::wire::Health;

use crate::ledger::Ledger;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health).service(ready);
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

#[get("/health")]
async fn health(ledger: web::Data<Ledger>) -> HttpResponse {
    state(&ledger)
}

#[get("/ready")]
async fn ready(ledger: web::Data<Ledger>) -> HttpResponse {
    state(&ledger)
}
