//! The Clearinghouse API as both sides see it: paths and headers, request and answer
//! bodies, and the problem documents that carry errors.
//!
//! Every type here is plain data built from the validated vocabulary, so a body that
//! deserializes is already well formed; what the ledger thinks of it is another matter.

mod admin;
mod api;
mod controls;
mod problem;
pub(crate) mod whole;

pub use admin::*;
pub use api::*;
pub use controls::*;
pub use problem::{ErrorCode, Problem};

/// The path every API route lives under.
pub const API_BASE: &str = "/api/v1";
/// The header carrying the client-chosen key that makes a mutating request idempotent.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The header set to `true` on an answer replayed for a repeated idempotency key.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// The header naming the tenant a request is for; requests without it go to the default.
pub const TENANT_HEADER: &str = "Clearinghouse-Tenant";
/// The header carrying a seat's token, on the API requests for a tenant that has one.
pub const SEAT_TOKEN_HEADER: &str = "Clearinghouse-Seat-Token";
/// The path every admin route lives under.
pub const ADMIN_BASE: &str = "/admin/v1";
/// The tenant that requests naming none are for.
pub const DEFAULT_TENANT: &str = "default";
/// The media type of error documents (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
