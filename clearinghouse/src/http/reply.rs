//! Turning the ledger's answers and errors into HTTP responses, in one place for every
//! route: JSON bodies, problem documents, and the replay header.

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{HttpResponse, HttpResponseBuilder};
use shared::id::IdError;
use shared::wire::{ErrorCode, IDEMPOTENT_REPLAYED_HEADER, PROBLEM_CONTENT_TYPE, Problem};

use crate::ledger::{Answer, Reply};

/// A problem document as a response.
pub fn problem(problem: &Problem) -> HttpResponse {
    problem_builder(problem).json(problem)
}

fn problem_builder(problem: &Problem) -> HttpResponseBuilder {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponseBuilder::new(status);
    builder.content_type(PROBLEM_CONTENT_TYPE);
    if problem.code == ErrorCode::Unauthorized {
        // What a 401 must say: how to authenticate (RFC 9110 11.6.1, RFC 6750 3).
        builder.insert_header((WWW_AUTHENTICATE, "Bearer realm=\"clearinghouse admin\""));
    }
    builder
}

/// The problem of an ID in `field` that could not be read.
pub fn id_problem(field: &str, error: &IdError) -> Problem {
    let detail = format!("{field}: {error}");
    match error {
        IdError::Typo { groups } => {
            let p = Problem::new(ErrorCode::IdTypo, detail).with_field(field);
            match groups.first() {
                Some(group) => p.with_group(*group),
                None => p,
            }
        }
        IdError::WrongKind { .. } => Problem::new(ErrorCode::WrongIdKind, detail).with_field(field),
        _ => Problem::new(ErrorCode::InvalidField, detail).with_field(field),
    }
}

/// The ledger's reply as a response; a success carries `success` as its status.
pub fn reply(reply: Reply, success: StatusCode) -> HttpResponse {
    let mut builder = match &reply.outcome {
        Ok(_) => {
            let mut builder = HttpResponseBuilder::new(success);
            builder.content_type("application/json");
            builder
        }
        Err(p) => problem_builder(p),
    };
    if reply.replayed {
        builder.insert_header((IDEMPOTENT_REPLAYED_HEADER, "true"));
    }
    match &reply.outcome {
        Ok(answer) => builder.body(body(answer)),
        Err(p) => builder.json(p),
    }
}

/// The answer's JSON, its fields in the order the wire types declare them.
fn body(answer: &Answer) -> Vec<u8> {
    let bytes = match answer {
        Answer::Activated(a) => serde_json::to_vec(a),
        Answer::Deactivated(a) => serde_json::to_vec(a),
        Answer::KeyPack(a) => serde_json::to_vec(a),
        Answer::Status(a) => serde_json::to_vec(a),
        Answer::KeyPackRecord(a) => serde_json::to_vec(a),
        Answer::Audit(a) => serde_json::to_vec(a),
        Answer::Tenant(a) => serde_json::to_vec(a),
        Answer::Tenants(a) => serde_json::to_vec(a),
        Answer::PurchaseAdded => serde_json::to_vec(&serde_json::json!({"added": true})),
        Answer::Clock(a) => serde_json::to_vec(a),
        Answer::Snapshot(text) => Ok(text.clone().into_bytes()),
        Answer::History(a) => serde_json::to_vec(a),
        Answer::ClassKept(a) => serde_json::to_vec(a),
        Answer::Classes(a) => serde_json::to_vec(a),
    };
    bytes.unwrap_or_default()
}
