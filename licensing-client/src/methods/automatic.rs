//! The automatic connection method: the license server sends its request straight to the
//! Clearinghouse API.
//!
//! A request is retried on timeouts, lost connections and 5xx answers, always under the
//! same idempotency key: if the first attempt was applied and only its reply was lost, the
//! retry gets that first answer back instead of a second key pack.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use shared::wire::{
    ErrorCode, IDEMPOTENCY_KEY_HEADER, KeyPackIssued, KeyPackRecord, LicenseServerActivated,
    LicenseServerDeactivated, LicenseServerStatus, Problem, SEAT_TOKEN_HEADER, TENANT_HEADER,
};

use thiserror::Error;

use crate::methods::request::{Reply, Request};
use crate::state::ClearinghouseAddress;

/// How hard the automatic method tries before it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles after each.
    pub first_delay: Duration,
    /// The longest wait between attempts (a `Retry-After` is honoured up to this).
    pub max_delay: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What the automatic method is doing, for a progress indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Attempt `attempt` is on its way.
    Sending {
        /// Counted from 1.
        attempt: u32,
    },
    /// An attempt failed and the request will be sent again after `delay`.
    Retrying {
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        reason: String,
        /// The wait before the next.
        delay: Duration,
    },
}

/// A Clearinghouse reached over HTTP.
#[derive(Debug, Clone)]
pub struct Clearinghouse {
    http: reqwest::Client,
    address: ClearinghouseAddress,
    retry: RetryPolicy,
}

/// The Clearinghouse could not be asked, or said no.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClearinghouseError {
    /// The Clearinghouse refused the request; nothing was done.
    #[error("the Clearinghouse refused the request: {0}")]
    Refused(Problem),
    /// No answer came, after every retry. The request may have been applied: running the
    /// same command again is safe and gives its answer.
    #[error(
        "the request to the Clearinghouse at {url} did not get through after {attempts} attempts (the last: {reason}); running the same command again is safe{hint}"
    )]
    NoAnswer {
        /// Where it was asked.
        url: String,
        /// How many times.
        attempts: u32,
        /// The last failure.
        reason: String,
        /// What to check when nothing answered at the address at all.
        hint: String,
    },
    /// An answer this client does not understand.
    #[error("the Clearinghouse gave an answer this license server does not understand: {0}")]
    Unexpected(String),
}

impl ClearinghouseError {
    /// The Clearinghouse's error code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClearinghouseError::Refused(problem) => Some(problem.code),
            _ => None,
        }
    }
}

enum Failure {
    /// Worth another attempt.
    Transient(String, Option<Duration>),
    /// Final.
    Final(ClearinghouseError),
}

impl Clearinghouse {
    /// A client for the Clearinghouse at `address`.
    pub fn new(address: ClearinghouseAddress, retry: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .unwrap_or_default();
        Clearinghouse {
            http,
            address,
            retry,
        }
    }

    /// Where it is.
    pub fn address(&self) -> &ClearinghouseAddress {
        &self.address
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address.url.trim_end_matches('/'))
    }

    /// Sends `request` under `idempotency_key`, retrying as the policy allows.
    pub async fn send(
        &self,
        request: &Request,
        idempotency_key: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Reply, ClearinghouseError> {
        let url = self.url(request.path());
        let mut delay = self.retry.first_delay;
        let attempts = self.retry.attempts.max(1);
        let mut attempt = 1;
        loop {
            progress(Progress::Sending { attempt });
            let failure = match self.attempt(&url, request, idempotency_key).await {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            let (reason, retry_after) = match failure {
                Failure::Final(e) => return Err(e),
                Failure::Transient(reason, retry_after) => (reason, retry_after),
            };
            if attempt >= attempts {
                let hint = self.hint(&reason);
                return Err(ClearinghouseError::NoAnswer {
                    url,
                    attempts,
                    reason,
                    hint,
                });
            }
            let wait = retry_after.unwrap_or(delay).min(self.retry.max_delay);
            progress(Progress::Retrying {
                attempt,
                reason,
                delay: wait,
            });
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(self.retry.max_delay);
            attempt += 1;
        }
    }

    /// What to check when `reason` says nothing listens at the Clearinghouse's address: a
    /// clearinghouse started on another port, or not started.
    fn hint(&self, reason: &str) -> String {
        if !reason.starts_with(COULD_NOT_CONNECT) {
            return String::new();
        }
        format!(
            ". Nothing answers at {}: start the clearinghouse there, or point this license server at the one that runs (`license-server set --clearinghouse URL`; a clearinghouse prints its URL on its `ready` line)",
            self.address.url
        )
    }

    async fn attempt(&self, url: &str, request: &Request, key: &str) -> Result<Reply, Failure> {
        let body = match request {
            Request::Activate(r) => serde_json::to_vec(r),
            Request::Reactivate(r) => serde_json::to_vec(r),
            Request::Deactivate(r) => serde_json::to_vec(r),
            Request::InstallCals(r) => serde_json::to_vec(r),
            Request::MigrateCals(r) => serde_json::to_vec(r),
            Request::RecoverCals(r) => serde_json::to_vec(r),
        }
        .map_err(|e| Failure::Final(ClearinghouseError::Unexpected(e.to_string())))?;
        let sent = self
            .with_tenant(self.http.post(url))
            .header(IDEMPOTENCY_KEY_HEADER, key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = sent.map_err(|e| {
            if e.is_builder() {
                // A URL or header that can never be sent: retrying would not help.
                Failure::Final(ClearinghouseError::Unexpected(format!(
                    "the request could not be made: {e}; check the Clearinghouse URL and tenant (`license-server set`)"
                )))
            } else {
                Failure::Transient(describe(&e), None)
            }
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Transient(describe(&e), None))?;
        if status.is_success() {
            return decode_reply(request, &bytes).map_err(Failure::Final);
        }
        let problem = serde_json::from_slice::<Problem>(&bytes).ok();
        let in_progress = problem
            .as_ref()
            .is_some_and(|p| p.code == ErrorCode::RequestInProgress);
        if status.is_server_error() || in_progress {
            let reason = match &problem {
                Some(p) => format!(
                    "the Clearinghouse answered {}: {}",
                    status.as_u16(),
                    p.detail
                ),
                None => format!("the Clearinghouse answered {status}"),
            };
            return Err(Failure::Transient(reason, retry_after));
        }
        Err(Failure::Final(match problem {
            Some(problem) => ClearinghouseError::Refused(problem),
            None => ClearinghouseError::Unexpected(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            )),
        }))
    }

    /// What the Clearinghouse records of license server `id`.
    pub async fn license_server(
        &self,
        id: &shared::id::LicenseServerId,
    ) -> Result<LicenseServerStatus, ClearinghouseError> {
        self.get(&format!("/api/v1/license-servers/{}", id.compact()))
            .await
    }

    /// What the Clearinghouse records of key pack `key_pack_id` of license server `id`.
    pub async fn key_pack(
        &self,
        id: &shared::id::LicenseServerId,
        key_pack_id: &shared::id::KeyPackId,
    ) -> Result<KeyPackRecord, ClearinghouseError> {
        self.get(&format!(
            "/api/v1/license-servers/{}/key-packs/{}",
            id.compact(),
            key_pack_id.compact()
        ))
        .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClearinghouseError> {
        let url = self.url(path);
        let response = self
            .with_tenant(self.http.get(&url))
            .send()
            .await
            .map_err(|e| {
                let reason = describe(&e);
                ClearinghouseError::NoAnswer {
                    url: url.clone(),
                    attempts: 1,
                    hint: self.hint(&reason),
                    reason,
                }
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClearinghouseError::Unexpected(describe(&e)))?;
        if status == StatusCode::OK {
            parse(&bytes)
        } else {
            Err(match serde_json::from_slice::<Problem>(&bytes) {
                Ok(problem) => ClearinghouseError::Refused(problem),
                Err(_) => ClearinghouseError::Unexpected(format!("HTTP {status}")),
            })
        }
    }

    fn with_tenant(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = match &self.address.tenant {
            Some(tenant) => request.header(TENANT_HEADER, tenant),
            None => request,
        };
        match &self.address.seat_token {
            Some(token) => request.header(SEAT_TOKEN_HEADER, token),
            None => request,
        }
    }
}

fn decode_reply(request: &Request, bytes: &[u8]) -> Result<Reply, ClearinghouseError> {
    Ok(match request {
        Request::Activate(_) | Request::Reactivate(_) => {
            Reply::LicenseServerId(parse::<LicenseServerActivated>(bytes)?.license_server_id)
        }
        Request::Deactivate(_) => {
            Reply::ConfirmationCode(parse::<LicenseServerDeactivated>(bytes)?.confirmation_code)
        }
        Request::InstallCals(_) | Request::MigrateCals(_) | Request::RecoverCals(_) => {
            Reply::KeyPack(parse::<KeyPackIssued>(bytes)?.key_pack_id)
        }
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClearinghouseError> {
    serde_json::from_slice(bytes).map_err(|e| ClearinghouseError::Unexpected(e.to_string()))
}

/// A reqwest failure in words, with its cause (reqwest's own message omits it).
/// How `describe` begins when nothing listens at the address.
const COULD_NOT_CONNECT: &str = "no answer, could not connect";

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "no answer, timed out"
    } else if error.is_connect() {
        COULD_NOT_CONNECT
    } else {
        "no answer, connection lost"
    };
    match std::error::Error::source(error) {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_owned(),
    }
}
