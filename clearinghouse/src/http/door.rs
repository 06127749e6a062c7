//! What stands between the API routes and a tenant's ledger for testing's sake: the
//! tenant's injected faults act here, and every answer is written to its journal.
//!
//! Handlers leave a [`Note`] on the request (the body read, the IDs issued, the order in
//! which the ledger applied it); this middleware adds what HTTP knows (route, status,
//! faults) and records the lot.

use std::net::Shutdown;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage};
use shared::vocab::ConnectionMethod;
use shared::wire::{IDEMPOTENCY_KEY_HEADER, SEAT_TOKEN_HEADER};

use super::{body, reply};
use crate::controls::{Controls, Recorded};
use crate::ledger::Ledger;

/// A handle on a connection's socket, kept so that a fault can close it without an answer.
pub struct ConnSocket(pub socket2::Socket);

/// What a handler learned about its request, for the journal.
#[derive(Debug, Default, Clone)]
pub struct Note {
    /// The body as received.
    pub body: Option<Bytes>,
    /// The IDs issued.
    pub ids: Vec<String>,
    /// Its place in the order of the tenant's changes.
    pub applied: Option<u64>,
    /// Whether the answer was a replay.
    pub replayed: bool,
    /// Why it was refused, if it was.
    pub refusal: Option<String>,
}

/// Routes that describe the API rather than reach a tenant: no faults, no journal.
const UNJOURNALED: &[&str] = &["/api/v1/openapi.json"];

/// The middleware over the API routes.
pub async fn door(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let begun = Instant::now();
    let route = request.match_pattern();
    let ledger = request.app_data::<web::Data<Ledger>>().cloned();
    let controls = request.app_data::<web::Data<Controls>>().cloned();
    let tenant = body::tenant(request.request()).ok();
    let (Some(route), Some(ledger), Some(controls), Some(tenant)) =
        (route, ledger, controls, tenant)
    else {
        return Ok(next.call(request).await?.map_into_boxed_body());
    };
    // An unknown tenant has no faults and no journal; its handler says it is unknown.
    let state = match ledger.tenant_state(&tenant) {
        Ok(Some(state)) if !UNJOURNALED.contains(&route.as_str()) => state,
        _ => return Ok(next.call(request).await?.map_into_boxed_body()),
    };
    // A class's seat is its student's alone: no request reaches it, or is journaled in
    // it, without the seat's token.
    let given = request
        .headers()
        .get(SEAT_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    // Only the methods the API takes: any other is answered 405 by its route, seat or not.
    let api_method = matches!(request.method().as_str(), "GET" | "HEAD" | "POST");
    if api_method && !state.admits(given) {
        let detail = match given {
            Some(_) => format!(
                "tenant {tenant} is a class's seat, and the {SEAT_TOKEN_HEADER} header does not hold its token: use the token the trainer gave for this seat"
            ),
            None => format!(
                "tenant {tenant} is a class's seat: give its token in the {SEAT_TOKEN_HEADER} header (the license server keeps it: `license-server set --seat-token`)"
            ),
        };
        let problem =
            shared::wire::Problem::new(shared::wire::ErrorCode::SeatTokenRequired, detail);
        return Ok(request.into_response(reply::problem(&problem)));
    }
    let plan = controls.faults.plan(&tenant, &route, state.now_ms);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let idempotency_key = request
        .headers()
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = match plan.refuse {
        Some(refusal) => {
            let mut response = reply::problem(&refusal.problem);
            if let Some(seconds) = refusal.retry_after
                && let Ok(value) = seconds.to_string().parse()
            {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            request.into_response(response)
        }
        None => next.call(request).await?.map_into_boxed_body(),
    };
    let note = response
        .request()
        .extensions_mut()
        .remove::<Note>()
        .unwrap_or_default();
    if plan.drop_reply
        && let Some(socket) = response.request().conn_data::<ConnSocket>()
    {
        // The request was applied and committed; the client just never hears of it.
        let _ = socket.0.shutdown(Shutdown::Both);
    }
    let elapsed = u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX);
    controls.journal.record(
        &tenant,
        Recorded {
            at_ms: state.now_ms.saturating_add(elapsed),
            method,
            route,
            path,
            idempotency_key,
            status: response.status().as_u16(),
            ids: note.ids,
            body: note.body,
            applied: note.applied,
            replayed: note.replayed,
            refusal: note.refusal,
            faults: plan.hits,
            connection_method: ConnectionMethod::Automatic,
            medium: None,
            transcript: Vec::new(),
        },
    );
    Ok(response)
}
