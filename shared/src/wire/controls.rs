//! Bodies of the test controls on the admin API: faults, the journal, seeds, the tenant
//! clock and replays. None of them is a licensing rule; they shape how a tenant answers
//! and record what it answered.

use serde::{Deserialize, Serialize};

use crate::vocab::ConnectionMethod;

/// A fault to inject into a tenant's answers, on every API route or on one.
///
/// A `share` is the fraction of matching requests hit (0 < share <= 1), drawn from the
/// tenant's seeded random source, so the same requests meet the same faults every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Every matching request waits before it is handled: `ms`, or a random time
    /// between `min_ms` and `max_ms`.
    Latency {
        /// Only this route, e.g. `/api/v1/key-packs`; every API route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^/api/v1/"))]
        route: Option<String>,
        /// A fixed delay, in milliseconds (at most 60,000).
        #[serde(
            default,
            deserialize_with = "crate::wire::whole::read_some",
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(maximum = 60_000))]
        ms: Option<u64>,
        /// The shortest delay of a range, in milliseconds (at most 60,000).
        #[serde(
            default,
            deserialize_with = "crate::wire::whole::read_some",
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(maximum = 60_000))]
        min_ms: Option<u64>,
        /// The longest delay of a range, in milliseconds (at most 60,000).
        #[serde(
            default,
            deserialize_with = "crate::wire::whole::read_some",
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(maximum = 60_000))]
        max_ms: Option<u64>,
    },
    /// A share of matching requests is answered with `status` and not applied.
    Error {
        /// Only this route; every API route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^/api/v1/"))]
        route: Option<String>,
        /// The HTTP status answered (400 to 599).
        #[serde(deserialize_with = "crate::wire::whole::read")]
        #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
        status: u16,
        /// The share of requests hit (above 0, at most 1); all of them when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1))]
        share: Option<f64>,
    },
    /// Every matching request is answered 503 for `seconds` of the tenant's clock.
    Outage {
        /// Only this route; every API route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^/api/v1/"))]
        route: Option<String>,
        /// How long the outage lasts, in seconds (1 to 604,800: a week).
        #[serde(deserialize_with = "crate::wire::whole::read")]
        #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 604_800))]
        seconds: u64,
    },
    /// The request is applied and made durable, then the connection is closed without
    /// an answer: for the `next` matching requests, or a `share` of them.
    DropReply {
        /// Only this route; every API route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(pattern = "^/api/v1/"))]
        route: Option<String>,
        /// How many of the next matching requests lose their answer (at least 1).
        #[serde(
            default,
            deserialize_with = "crate::wire::whole::read_some",
            skip_serializing_if = "Option::is_none"
        )]
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        next: Option<u32>,
        /// The share of matching requests that lose their answer (above 0, at most 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1))]
        share: Option<f64>,
    },
}

impl FaultSpec {
    /// The route the fault is limited to, if any.
    pub fn route(&self) -> Option<&str> {
        match self {
            FaultSpec::Latency { route, .. }
            | FaultSpec::Error { route, .. }
            | FaultSpec::Outage { route, .. }
            | FaultSpec::DropReply { route, .. } => route.as_deref(),
        }
    }
}

/// A fault as set on a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultInfo {
    /// Its number within the tenant, to clear it by.
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many requests it hit so far.
    pub hits: u64,
    /// For `drop-reply` with `next`: how many more requests it will hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// For an outage: when it ends, on the tenant's clock (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A tenant's faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultList {
    /// The tenant.
    pub tenant: String,
    /// Its faults, oldest first.
    pub faults: Vec<FaultInfo>,
}

/// Set a tenant's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    /// The new seed (0 to 2^63 - 1); IDs drawn from now on derive from it.
    #[serde(deserialize_with = "super::admin::seed::read")]
    pub seed: u64,
}

/// Set or move a tenant's clock. Exactly one field is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// Set the clock to this time (RFC 3339, e.g. `2027-01-31T09:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// Move the clock forward by this much (e.g. `90s`, `25h`, `2days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
}

/// The time on a tenant's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantClock {
    /// The tenant.
    pub tenant: String,
    /// Now, on its clock (RFC 3339, UTC).
    pub now: String,
    /// Now, on its clock, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// How far its clock is from the clearinghouse's, in milliseconds.
    pub offset_ms: i64,
}

/// One request a tenant received and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalEntry {
    /// Its number in the tenant's journal, from 1; numbers are never reused.
    pub n: u64,
    /// When it was answered, on the tenant's clock (RFC 3339).
    pub at: String,
    /// The same time in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The HTTP method.
    pub method: String,
    /// The route, e.g. `/api/v1/key-packs`.
    pub route: String,
    /// The path as requested.
    pub path: String,
    /// The idempotency key it carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The status answered (or that would have been, for a dropped reply).
    pub status: u16,
    /// The IDs issued: license server IDs, key pack IDs, confirmation codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// The request body, when it was read as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    /// For a request that changed the ledger: its place in the order the ledger applied
    /// the tenant's changes (what a replay follows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<u64>,
    /// Whether the answer was a replay of an earlier one with the same idempotency key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    /// The injected fault that shaped the answer, if any: `latency`, `error`, `outage`
    /// or `drop-reply`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// The door it came through: `automatic` (the API), `web` (the licensing web site) or
    /// `telephone` (the phone line).
    #[serde(default = "automatic")]
    pub connection_method: ConnectionMethod,
    /// For a telephone call recorded whole: how it was held (`voice`: a SIP call answered
    /// on the keypad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<CallMedium>,
    /// For a telephone call recorded whole: what was said and keyed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<TranscriptLine>,
}

/// How a telephone call was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallMedium {
    /// The text line: typed lines.
    Text,
    /// The voice line: a SIP call, the representative's words spoken, the caller's
    /// answers keyed.
    Voice,
}

/// Who said a line of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The Clearinghouse's representative.
    Representative,
    /// The caller.
    Caller,
}

/// A line of a call's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptLine {
    /// Who said it.
    pub by: Party,
    /// What was said, as written; what the caller keyed, its keys ending with `#`.
    pub text: String,
}

fn automatic() -> ConnectionMethod {
    ConnectionMethod::Automatic
}

/// A page of a tenant's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalPage {
    /// The tenant.
    pub tenant: String,
    /// The entries, oldest first.
    pub entries: Vec<JournalEntry>,
    /// How many of the oldest entries were dropped to keep the journal in its bound.
    pub dropped: u64,
    /// The number to pass as `after` for the next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

/// What replaying a journal into a tenant did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayReport {
    /// The tenant replayed into.
    pub tenant: String,
    /// Requests that had changed the ledger and were applied again, in their order.
    pub replayed: u64,
    /// Entries left out: reads, refusals, and answers that were themselves replays.
    pub skipped: u64,
    /// IDs issued again exactly as the journal recorded them.
    pub ids_reproduced: u64,
    /// Every difference from the journal, one sentence each.
    pub mismatches: Vec<String>,
}
