//! What stands between every request and the doors, for safety's sake rather than for
//! licensing: a page of another site may not act on the clearinghouse, a slow body may not
//! hold a connection, and every answer says how a browser is to treat it.
//!
//! - [`api`]: the JSON and admin APIs take requests from programs (no `Origin`) or from
//!   the clearinghouse's own origin, and bodies only as JSON, so that a form or a
//!   `no-cors` fetch on another site cannot post to them.
//! - [`deadline`]: a request body must arrive within its [`BodyTimeout`]; reading one
//!   that stalls fails, and the door answers 408, so a slow client cannot hold a
//!   connection (and a file descriptor) for long.
//! - [`expect`]: the answer to `Expect: 100-continue`: a body over its route's limit is
//!   refused at once, before the client sends it.
//! - [`HEADERS`]: the headers every answer carries (Content-Security-Policy and friends).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpRequest};
use futures_core::Stream;
use shared::wire::{ErrorCode, Problem};

use super::reply;

/// How long a request body may take to arrive, from the request's head on (app data).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// The headers every answer carries. The site has no script and takes its style sheet
/// from itself; nothing may frame it, and no address leaks to another site in a
/// `Referer`. (`no-referrer` would make a browser send `Origin: null` with the site's own
/// forms, which the origin check must refuse.)
pub const HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// Whether `request` comes from a page of another site: it names an `Origin` that is not
/// this clearinghouse's (as the request reached it), or a browser says it is cross-site.
pub fn from_another_site(request: &HttpRequest) -> bool {
    let headers = request.headers();
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"));
    let foreign_origin = headers.get(header::ORIGIN).is_some_and(|origin| {
        let info = request.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        origin
            .to_str()
            .map_or(true, |o| !o.eq_ignore_ascii_case(&own))
    });
    cross_site || foreign_origin
}

/// Whether a `Content-Type` says JSON: `application/json`, or `application/x-ndjson` (a
/// journal, one JSON document a line), with any parameters. Neither is a type a form or
/// a `no-cors` fetch of another site can send.
fn is_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|t| {
            t.eq_ignore_ascii_case("application/json")
                || t.eq_ignore_ascii_case("application/x-ndjson")
        })
}

/// Whether a request carries a body (a `POST` with none, e.g. a tenant's reset, needs no
/// type).
fn has_body(request: &HttpRequest) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// The middleware over the JSON API.
pub async fn api(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if from_another_site(request.request()) {
        let problem = Problem::new(
            ErrorCode::CrossSiteRequest,
            "a page of another site may not use this API: send the request from a program (no Origin header) or from the clearinghouse's own pages",
        );
        return Ok(request.into_response(reply::problem(&problem)));
    }
    if has_body(request.request()) && !is_json(request.request()) {
        let problem = Problem::new(
            ErrorCode::UnsupportedMediaType,
            "the API takes request bodies as JSON: send Content-Type: application/json",
        );
        return Ok(request.into_response(reply::problem(&problem)));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// The middleware that gives every request body its [`BodyTimeout`] to arrive.
pub async fn deadline(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    // A request without a body has nothing to wait for, and is spared the timer.
    if !has_body(request.request()) {
        return next.call(request).await;
    }
    let limit = request
        .app_data::<BodyTimeout>()
        .map_or(crate::config::DEFAULT_BODY_TIMEOUT, |t| t.0);
    let payload = request.take_payload();
    let timed = Deadline {
        inner: payload,
        limit,
        sleep: Box::pin(tokio::time::sleep(limit)),
    };
    request.set_payload(Payload::from(
        Box::pin(timed) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    next.call(request).await
}

/// A body that fails once its time is up.
struct Deadline {
    inner: Payload,
    limit: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(timed_out(self.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error a body that did not arrive in time reads as.
fn timed_out(limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the body did not arrive within {}: send it whole, at once",
            humantime::format_duration(limit)
        ),
    )
}

/// What a body read that failed because its time was up says, if it was that.
pub fn timeout(error: &PayloadError) -> Option<String> {
    match error {
        PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut => Some(e.to_string()),
        _ => None,
    }
}

/// The most a body may hold on `path`: a snapshot or journal, a form, or a JSON body.
pub fn body_limit(path: &str) -> usize {
    let file =
        path.starts_with("/admin/") && (path.ends_with("/snapshot") || path.ends_with("/replay"));
    let form = path.starts_with("/task/") || path == "/instructor" || path == "/seat";
    if file {
        super::controls::MAX_FILE
    } else if path.starts_with("/admin/v1/classes/") {
        super::admin::MAX_CLASS
    } else if form {
        super::portal::FORM_LIMIT
    } else {
        super::body::MAX_BODY
    }
}

/// Answers `Expect: 100-continue`: a request whose `Content-Length` is over its route's
/// limit gets 413 at once (a problem document, or a page of the site) instead of "100
/// Continue"; any other goes on.
pub async fn expect(
    request: actix_http::Request,
) -> Result<actix_http::Request, actix_http::Response<BoxBody>> {
    let limit = body_limit(request.path());
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(length) if length > limit as u64 => {
            let mut response = if is_site(request.path()) {
                super::portal::too_large()
            } else {
                reply::problem(&super::body::too_large_for(limit))
            };
            for (name, value) in HEADERS {
                response.headers_mut().insert(
                    header::HeaderName::from_static(name),
                    header::HeaderValue::from_static(value),
                );
            }
            Err(response.into())
        }
        _ => Ok(request),
    }
}

/// Whether `path` is a page of the web site rather than a route of an API.
pub fn is_site(path: &str) -> bool {
    !["/api/", "/admin/", "/health", "/ready"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}
