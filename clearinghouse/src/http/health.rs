//! Liveness and readiness: what a test harness or a container waits on instead of sleeping.
//!
//! The server binds its socket only after its store is open, so a clearinghouse that
//! answers at all is ready, unless a part of it has died: the ledger's writer, without
//! which every request fails (the binary exits too), or the thread of its phone or voice
//! line, without which calls go unanswered. Both routes say so then (503), rather than
//! live on half-dead.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use shared::wire::Health;

use super::resource::{Door::Api, resource};
use crate::alive::Lines;
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

fn state(ledger: &Ledger, lines: Option<&Lines>) -> HttpResponse {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    let dead = lines.map(Lines::dead).unwrap_or_default();
    let status = if !ledger.is_running() {
        "the ledger's writer has stopped: no request can be applied; restart the clearinghouse"
            .to_owned()
    } else if let Some(line) = dead.first() {
        format!("the {line} has stopped: its calls go unanswered; restart the clearinghouse")
    } else {
        return HttpResponse::Ok().json(Health {
            status: "ok".to_owned(),
            version,
        });
    };
    HttpResponse::ServiceUnavailable().json(Health { status, version })
}

async fn health(ledger: web::Data<Ledger>, lines: Option<web::Data<Lines>>) -> HttpResponse {
    state(&ledger, lines.as_ref().map(|l| l.get_ref()))
}

async fn ready(ledger: web::Data<Ledger>, lines: Option<web::Data<Lines>>) -> HttpResponse {
    state(&ledger, lines.as_ref().map(|l| l.get_ref()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ledger::{LedgerSettings, SystemClock};
    use crate::store::MemoryStore;

    fn ledger() -> Ledger {
        Ledger::start(
            Arc::new(MemoryStore::new()),
            LedgerSettings {
                clock: Arc::new(SystemClock),
                fixtures: Arc::new(Vec::new()),
                seed: Some(1),
                commit_delay: None,
            },
        )
        .unwrap()
    }

    async fn status_of(response: HttpResponse) -> (u16, String) {
        let status = response.status().as_u16();
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_line_that_stopped_answering_makes_the_clearinghouse_not_ready() {
        let ledger = ledger();
        let lines = Lines::default();
        let (_phone, _) = lines.watch("phone line");
        let (voice, _) = lines.watch("voice line");
        assert_eq!(status_of(state(&ledger, Some(&lines))).await.0, 200);
        drop(voice);
        let (status, body) = status_of(state(&ledger, Some(&lines))).await;
        assert_eq!(status, 503);
        assert!(body.contains("the voice line has stopped"), "{body}");
    }
}
