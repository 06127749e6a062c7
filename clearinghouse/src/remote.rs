//! A client of a running clearinghouse's admin API, for the `clearinghouse` subcommands
//! (audit, faults, journal, seed, clock, snapshots, replays) and for other tools.

use reqwest::Method;
use shared::wire::{ADMIN_BASE, Problem};
use thiserror::Error;

/// Why an admin request did not succeed.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// Nothing answered.
    #[error("cannot reach {url}: {source} (is the clearinghouse running? pass --url)")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What the connection reported.
        source: reqwest::Error,
    },
    /// The clearinghouse refused the request.
    #[error("{}", .0.detail)]
    Refused(Problem),
    /// The answer could not be read.
    #[error("the answer from {url} is unreadable: {detail}")]
    Unreadable {
        /// The URL asked.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
}

/// One tenant of a running clearinghouse, reached with the admin token.
#[derive(Debug, Clone)]
pub struct Remote {
    url: String,
    tenant: String,
    token: String,
    client: reqwest::Client,
}

impl Remote {
    /// The tenant `tenant` of the clearinghouse at `url`.
    pub fn new(url: &str, tenant: &str, token: &str) -> Self {
        Remote {
            url: url.trim_end_matches('/').to_owned(),
            tenant: tenant.to_owned(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends `body` to the tenant's admin route `rest` (e.g. `/faults`) and returns the
    /// answer's body.
    pub async fn send(
        &self,
        method: Method,
        rest: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, RemoteError> {
        let url = format!("{}{ADMIN_BASE}/tenants/{}{rest}", self.url, self.tenant);
        let mut request = self.client.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| RemoteError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| RemoteError::Unreadable {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(RemoteError::Refused(problem)),
            Err(_) => Err(RemoteError::Unreadable {
                url,
                detail: format!("status {status}: {}", String::from_utf8_lossy(&bytes)),
            }),
        }
    }

    /// Like [`Remote::send`] with a JSON body, reading a JSON answer.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        rest: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, RemoteError> {
        let body = body.map(|b| b.to_string().into_bytes());
        let bytes = self.send(method, rest, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| RemoteError::Unreadable {
            url: format!("{}{ADMIN_BASE}/tenants/{}{rest}", self.url, self.tenant),
            detail: e.to_string(),
        })
    }
}
