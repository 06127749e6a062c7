//! Reading JSON bodies and headers into the shared wire types, with errors that name the
//! field at fault (and, for an ID, the group with the typo).

use actix_web::HttpRequest;
use actix_web::web::{self, Bytes};
use serde::de::DeserializeOwned;
use shared::id::AnyId;
use shared::wire::{ErrorCode, IDEMPOTENCY_KEY_HEADER, Problem, TENANT_HEADER};

use super::reply::id_problem;
use crate::ledger::TenantName;

/// The largest body any route takes.
pub const MAX_BODY: usize = 64 * 1024;

/// The longest idempotency key taken.
const MAX_KEY: usize = 255;

/// Reads `bytes` as JSON of type `T`.
pub fn json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    json_within(bytes, MAX_BODY)
}

/// Reads `bytes` as JSON of type `T`, for a route that takes bodies of up to `limit`.
pub fn json_within<T: DeserializeOwned>(bytes: &Bytes, limit: usize) -> Result<T, Problem> {
    if bytes.len() > limit {
        return Err(too_large_for(limit));
    }
    // Read in document order, so the first error reported is the first in the body.
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut reader).map_err(|e| {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Problem::new(
                ErrorCode::MalformedRequest,
                format!("the body is not valid JSON: {}", e.inner()),
            );
        };
        let path = e.path().to_string();
        let raw = lookup(&value, &path);
        let message = strip_position(&e.into_inner().to_string());
        classify(&path, raw, &message)
    })?;
    reader.end().map_err(|e| {
        Problem::new(
            ErrorCode::MalformedRequest,
            format!("the body has more after its JSON value: {e}"),
        )
    })?;
    Ok(parsed)
}

/// Reads a request body of at most [`MAX_BODY`] bytes, refusing larger ones as soon as
/// they pass the limit. (The routes that take files read them as they arrive: `stream`.)
pub async fn read(payload: web::Payload) -> Result<Bytes, Problem> {
    read_up_to(payload, MAX_BODY).await
}

/// Reads a request body of at most `limit` bytes, as [`read`] does.
pub async fn read_up_to(payload: web::Payload, limit: usize) -> Result<Bytes, Problem> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(unreadable(&e)),
        Err(_) => Err(too_large_for(limit)),
    }
}

/// The problem of a body that could not be read: it did not arrive in time, or the
/// connection failed.
pub fn unreadable(error: &actix_web::Error) -> Problem {
    let timeout = error
        .as_error::<actix_web::error::PayloadError>()
        .and_then(super::guard::timeout);
    match timeout {
        Some(message) => Problem::new(ErrorCode::RequestTimeout, message),
        None => Problem::new(
            ErrorCode::MalformedRequest,
            format!("the body could not be read: {error}"),
        ),
    }
}

/// The problem of a body over `limit` bytes.
pub fn too_large_for(limit: usize) -> Problem {
    Problem::new(
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {limit} bytes"),
    )
}

/// serde_json appends "at line 1 column 80" to its messages; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn lookup<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    if path == "." {
        return Some(value);
    }
    path.split('.')
        .try_fold(value, |v, segment| match segment.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(segment),
        })
}

fn classify(path: &str, raw: Option<&serde_json::Value>, message: &str) -> Problem {
    let field = (path != ".").then(|| path.to_owned());
    if let (Some(field), Some(serde_json::Value::String(text))) = (&field, raw)
        && field.ends_with("id")
    {
        match text.parse::<AnyId>() {
            Err(e) => return id_problem(field, &e),
            Ok(_) => {
                // A valid ID refused by its field is of the wrong kind.
                let p = Problem::new(ErrorCode::WrongIdKind, format!("{field}: {message}"));
                return p.with_field(field.clone());
            }
        }
    }
    match field {
        Some(field) => {
            Problem::new(ErrorCode::InvalidField, format!("{field}: {message}")).with_field(field)
        }
        None => Problem::new(ErrorCode::InvalidField, message.to_owned()),
    }
}

/// The tenant a request names in its header, or the default tenant.
pub fn tenant(request: &HttpRequest) -> Result<TenantName, Problem> {
    match request.headers().get(TENANT_HEADER) {
        None => Ok(TenantName::default_tenant()),
        Some(value) => {
            let text = value.to_str().unwrap_or_default();
            TenantName::parse(text).map_err(|e| e.problem().with_field(TENANT_HEADER))
        }
    }
}

/// The request's idempotency key, if it has one.
pub fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, Problem> {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    if text.is_empty() || text.len() > MAX_KEY || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Problem::new(
            ErrorCode::InvalidField,
            format!(
                "the {IDEMPOTENCY_KEY_HEADER} header must be 1 to {MAX_KEY} visible ASCII characters, e.g. a UUID"
            ),
        )
        .with_field(IDEMPOTENCY_KEY_HEADER));
    }
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use shared::wire::InstallCalsRequest;

    use super::*;

    #[test]
    fn a_typo_in_a_nested_id_is_named_with_its_field_and_group() {
        let body = Bytes::from_static(
            br#"{"license_server_id":"20000-00000-00000-00000-00000-00000-00000","license":{"program":"select","agreement_number":"1234567"},"cals":{"product_version":"2019","license_type":"per-user","quantity":1}}"#,
        );
        let p = json::<InstallCalsRequest>(&body).unwrap_err();
        assert_eq!(p.code, ErrorCode::IdTypo);
        assert_eq!(p.field.as_deref(), Some("license_server_id"));
        assert_eq!(p.group, Some(1));
    }

    #[test]
    fn a_bad_quantity_names_its_path() {
        let body = Bytes::from_static(
            br#"{"license_server_id":"29453-80734-02157-73682-19300-36420-62121","license":{"program":"select","agreement_number":"1234567"},"cals":{"product_version":"2019","license_type":"per-user","quantity":0}}"#,
        );
        let p = json::<InstallCalsRequest>(&body).unwrap_err();
        assert_eq!(p.code, ErrorCode::InvalidField);
        assert_eq!(p.field.as_deref(), Some("cals.quantity"));
        assert!(p.detail.contains("from 1 to 9,999"), "{}", p.detail);
    }

    #[test]
    fn a_license_server_id_where_a_product_id_belongs_is_the_wrong_kind() {
        let body = Bytes::from_static(
            br#"{"product_id":"29453-80734-02157-73682-19300-36420-62121","company":{}}"#,
        );
        let p = json::<shared::wire::ActivateRequest>(&body).unwrap_err();
        assert_eq!(p.code, ErrorCode::WrongIdKind);
        assert!(
            p.detail
                .contains("this is a license server ID, a product ID was expected"),
            "{}",
            p.detail
        );
    }

    #[test]
    fn malformed_json_is_a_malformed_request() {
        let p = json::<InstallCalsRequest>(&Bytes::from_static(b"{")).unwrap_err();
        assert_eq!(p.code, ErrorCode::MalformedRequest);
    }
}
