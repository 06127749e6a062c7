//! Error documents (RFC 9457 problem details) with stable error codes.
//!
//! A client branches on `code`, never on the wording; `detail` is written for the person
//! who has to fix the request and says what to do.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable error code. New codes may be added; existing ones keep
/// their meaning and their HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The body is not JSON, or not the shape the route takes.
    MalformedRequest,
    /// A field is present but not valid; `field` names it.
    InvalidField,
    /// An ID has a typo; `group` names the first group that fails its check digit.
    IdTypo,
    /// A valid ID of the wrong kind, e.g. a license server ID where a key pack ID belongs.
    WrongIdKind,
    /// A key pack ID that was issued for another license server.
    KeyPackNotForServer,
    /// No license server has this ID.
    UnknownLicenseServer,
    /// The product ID was already activated; reactivate instead.
    AlreadyActivated,
    /// The license server is deactivated and receives nothing until reactivated.
    LicenseServerDeactivated,
    /// The license server was reactivated under a new ID; this one receives nothing.
    LicenseServerReplaced,
    /// No agreement or license matches the program and proof given.
    UnknownAgreement,
    /// The agreement or license exists, but the proof given does not match it (another
    /// program, another authorization number).
    WrongProof,
    /// The retail license code was already used.
    LicenseCodeUsed,
    /// Fewer CALs remain than were asked for; `remaining` says how many.
    QuantityExhausted,
    /// The source license server holds none of the CALs asked to be migrated.
    NothingToMigrate,
    /// These CALs were already migrated.
    AlreadyMigrated,
    /// The license server has no unissued CALs to recover.
    NothingToRecover,
    /// The CALs are of a newer Windows Server version than the license server runs, which
    /// cannot install them; `field` names the product version.
    CalsTooNew,
    /// The idempotency key was used before with another request.
    IdempotencyKeyReused,
    /// A request with the same idempotency key is still being applied.
    RequestInProgress,
    /// The request body is larger than the service takes.
    PayloadTooLarge,
    /// The request body is not of a type the route takes (the API takes
    /// `application/json`).
    UnsupportedMediaType,
    /// The request body did not arrive in time.
    RequestTimeout,
    /// The route exists, but not for this method; `Allow` says which it takes.
    MethodNotAllowed,
    /// The request came from a page of another site (its `Origin`), which may not act on
    /// this one.
    CrossSiteRequest,
    /// The admin token is missing or wrong.
    Unauthorized,
    /// The tenant is a class's seat, and the request does not carry its seat token.
    SeatTokenRequired,
    /// No such route or record.
    NotFound,
    /// The tenant named by the request does not exist.
    UnknownTenant,
    /// What the request would create (a tenant, an agreement) already exists.
    AlreadyExists,
    /// The service is unavailable (an outage or a fault injected for testing).
    ServiceUnavailable,
    /// A fault injected for testing answered instead of the service; the request was not
    /// applied. Its status is the one the fault was set with.
    InjectedFault,
    /// A snapshot is damaged, truncated, of another format or version, or does not
    /// balance; nothing was imported.
    InvalidSnapshot,
    /// Something failed inside the service; the request was not applied.
    Internal,
}

impl ErrorCode {
    /// The HTTP status an answer with this code carries.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            MalformedRequest => 400,
            Unauthorized => 401,
            UnknownLicenseServer | UnknownAgreement | NotFound | UnknownTenant => 404,
            AlreadyActivated
            | LicenseServerDeactivated
            | LicenseServerReplaced
            | LicenseCodeUsed
            | QuantityExhausted
            | NothingToMigrate
            | AlreadyMigrated
            | NothingToRecover
            | RequestInProgress
            | AlreadyExists => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            RequestTimeout => 408,
            MethodNotAllowed => 405,
            CrossSiteRequest | SeatTokenRequired => 403,
            InvalidField | IdTypo | WrongIdKind | KeyPackNotForServer | IdempotencyKeyReused
            | WrongProof | InvalidSnapshot | CalsTooNew => 422,
            Internal | InjectedFault => 500,
            ServiceUnavailable => 503,
        }
    }

    /// A short summary that does not change from one occurrence to the next.
    pub fn title(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MalformedRequest => "The request is malformed",
            InvalidField => "A field is not valid",
            IdTypo => "An ID has a typo",
            WrongIdKind => "An ID of the wrong kind was given",
            KeyPackNotForServer => "The key pack ID belongs to another license server",
            UnknownLicenseServer => "Unknown license server",
            AlreadyActivated => "The license server is already activated",
            LicenseServerDeactivated => "The license server is deactivated",
            LicenseServerReplaced => "The license server was reactivated under a new ID",
            UnknownAgreement => "Unknown agreement or license",
            WrongProof => "The proof of purchase does not match",
            LicenseCodeUsed => "The license code was already used",
            QuantityExhausted => "Not enough CALs remain",
            NothingToMigrate => "The source license server holds no such CALs",
            AlreadyMigrated => "These CALs were already migrated",
            NothingToRecover => "No CALs to recover",
            CalsTooNew => "The license server cannot install CALs of that version",
            IdempotencyKeyReused => "The idempotency key was used with another request",
            RequestInProgress => "A request with this idempotency key is in progress",
            PayloadTooLarge => "The request body is too large",
            UnsupportedMediaType => "The request body is not JSON",
            RequestTimeout => "The request body did not arrive in time",
            MethodNotAllowed => "The route does not take this method",
            CrossSiteRequest => "A request from another site",
            Unauthorized => "Unauthorized",
            SeatTokenRequired => "The tenant is a seat, and its token is missing or wrong",
            NotFound => "Not found",
            UnknownTenant => "Unknown tenant",
            AlreadyExists => "It already exists",
            ServiceUnavailable => "The Clearinghouse is unavailable",
            InjectedFault => "A fault injected for testing",
            InvalidSnapshot => "The snapshot cannot be imported",
            Internal => "Something went wrong in the Clearinghouse",
        }
    }

    /// Every code.
    pub const ALL: [ErrorCode; 33] = {
        use ErrorCode::*;
        [
            MalformedRequest,
            InvalidField,
            IdTypo,
            WrongIdKind,
            KeyPackNotForServer,
            UnknownLicenseServer,
            AlreadyActivated,
            LicenseServerDeactivated,
            LicenseServerReplaced,
            UnknownAgreement,
            WrongProof,
            LicenseCodeUsed,
            QuantityExhausted,
            NothingToMigrate,
            AlreadyMigrated,
            NothingToRecover,
            CalsTooNew,
            IdempotencyKeyReused,
            RequestInProgress,
            PayloadTooLarge,
            UnsupportedMediaType,
            RequestTimeout,
            MethodNotAllowed,
            CrossSiteRequest,
            Unauthorized,
            SeatTokenRequired,
            NotFound,
            UnknownTenant,
            AlreadyExists,
            ServiceUnavailable,
            InjectedFault,
            InvalidSnapshot,
            Internal,
        ]
    };

    /// The code as it appears in JSON, e.g. `quantity_exhausted`.
    pub fn as_str(self) -> String {
        snake_case_name(self)
    }
}

/// The snake_case name serde gives `code`, derived from its `Debug` name so the two can
/// never disagree.
fn snake_case_name(code: ErrorCode) -> String {
    let debug = format!("{code:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An error document: what went wrong, for programs (`code`) and people (`detail`).
///
/// In JSON it also carries `type` (`urn:clearinghouse:error:<code>`) and `title`, both
/// derived from the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ProblemDocument", from = "ProblemDocument")]
pub struct Problem {
    /// The stable code to branch on.
    pub code: ErrorCode,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time and what to do about it.
    pub detail: String,
    /// The request field at fault, e.g. `cals.quantity` or `license.agreement_number`.
    pub field: Option<String>,
    /// For an ID typo: the first group (1 to 7) that fails its check digit.
    pub group: Option<u8>,
    /// For exhausted quantities: how many CALs remain.
    pub remaining: Option<u32>,
}

/// The JSON form of a [`Problem`] (RFC 9457).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ProblemDocument {
    /// A URI naming the kind of problem: `urn:clearinghouse:error:` and the code.
    #[serde(rename = "type", default)]
    kind: String,
    /// The kind of problem, in words.
    #[serde(default)]
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong this time and what to do about it.
    detail: String,
    /// The stable code to branch on.
    code: ErrorCode,
    /// The request field at fault, e.g. `cals.quantity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// For an ID typo: the first group (1 to 7) that fails its check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<u8>,
    /// For exhausted quantities: how many CALs remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remaining: Option<u32>,
}

impl From<Problem> for ProblemDocument {
    fn from(p: Problem) -> Self {
        ProblemDocument {
            kind: format!("urn:clearinghouse:error:{}", p.code.as_str()),
            title: p.code.title().to_owned(),
            status: p.status,
            detail: p.detail,
            code: p.code,
            field: p.field,
            group: p.group,
            remaining: p.remaining,
        }
    }
}

impl From<ProblemDocument> for Problem {
    fn from(d: ProblemDocument) -> Self {
        Problem {
            code: d.code,
            status: d.status,
            detail: d.detail,
            field: d.field,
            group: d.group,
            remaining: d.remaining,
        }
    }
}

impl Problem {
    /// A problem with `code` and a `detail` for the person reading it.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Problem {
            status: code.status(),
            detail: detail.into(),
            code,
            field: None,
            group: None,
            remaining: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Names the ID group at fault.
    pub fn with_group(mut self, group: usize) -> Self {
        self.group = u8::try_from(group).ok();
        self
    }

    /// Answers with `status` instead of the code's own (for injected faults).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Says how many CALs remain.
    pub fn with_remaining(mut self, remaining: u32) -> Self {
        self.remaining = Some(remaining);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Problem {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ProblemDocument as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Problem {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <ProblemDocument as utoipa::ToSchema>::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_in_the_type_uri_is_the_code_in_json() {
        let p = Problem::new(ErrorCode::QuantityExhausted, "only 3 remain").with_remaining(3);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["code"], "quantity_exhausted");
        assert_eq!(json["type"], "urn:clearinghouse:error:quantity_exhausted");
        assert_eq!(json["status"], 409);
        assert_eq!(json["remaining"], 3);
        assert!(json.get("field").is_none());
        assert_eq!(serde_json::from_value::<Problem>(json).unwrap(), p);
    }

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code:?}");
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
