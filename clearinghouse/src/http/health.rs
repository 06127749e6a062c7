//! Liveness and readiness: what a test harness or a container waits on instead of sleeping.
//!
//! The server binds its socket only after its store is open, so a clearinghouse that
//! answers at all is ready; `/ready` exists so that scripts have one URL to poll.

use actix_web::{HttpResponse, get, web};
use shared::wire::Health;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health).service(ready);
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

#[get("/health")]
async fn health() -> HttpResponse {
    ok()
}

#[get("/ready")]
async fn ready() -> HttpResponse {
    ok()
}
