//! The lab's client of the clearinghouse's admin API: tenants for the seats, their test
//! controls, their audit and history, and the class report the instructor page shows.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::wire::{
    ADMIN_BASE, AuditReport, ClassReport, CreateTenantRequest, FaultSpec, History, Problem,
};

use crate::error::LabError;

/// A clearinghouse, as the trainer reaches it: its URL and admin token.
#[derive(Debug, Clone)]
pub struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Admin {
    /// The clearinghouse at `url` with its admin token.
    pub fn new(url: &str, token: &str) -> Result<Admin, LabError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| LabError::Clearinghouse {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Admin {
            http,
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates `tenant` anew, with `seed`, the fixtures and the seat token, replacing
    /// one of the same name (a seat of an earlier class, or this seat before a reset).
    pub async fn fresh_tenant(
        &self,
        tenant: &str,
        seed: u64,
        seat_token: Option<&str>,
    ) -> Result<(), LabError> {
        let response = self
            .http
            .delete(format!("{}{ADMIN_BASE}/tenants/{tenant}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let deleted = self.read::<serde_json::Value>(response).await;
        match deleted {
            Ok(_) | Err(LabError::Refused { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        let request = CreateTenantRequest {
            name: tenant.to_owned(),
            seed: Some(seed),
            fixtures: true,
            seat_token: seat_token.map(str::to_owned),
        };
        self.send::<_, serde_json::Value>(
            reqwest::Method::POST,
            &format!("{ADMIN_BASE}/tenants"),
            &request,
        )
        .await
        .map(drop)
    }

    /// Sets a fault on `tenant`.
    pub async fn set_fault(&self, tenant: &str, fault: &FaultSpec) -> Result<(), LabError> {
        self.send::<_, serde_json::Value>(
            reqwest::Method::POST,
            &format!("{ADMIN_BASE}/tenants/{tenant}/faults"),
            fault,
        )
        .await
        .map(drop)
    }

    /// The audit of `tenant`.
    pub async fn audit(&self, tenant: &str) -> Result<AuditReport, LabError> {
        self.get(&format!("{ADMIN_BASE}/tenants/{tenant}/audit"))
            .await
    }

    /// The history of `tenant`.
    pub async fn history(&self, tenant: &str) -> Result<History, LabError> {
        self.get(&format!("{ADMIN_BASE}/tenants/{tenant}/history"))
            .await
    }

    /// Keeps the class report.
    pub async fn put_class(&self, report: &ClassReport) -> Result<(), LabError> {
        self.send::<_, serde_json::Value>(
            reqwest::Method::PUT,
            &format!("{ADMIN_BASE}/classes/{}", report.name),
            report,
        )
        .await
        .map(drop)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LabError> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.read(response).await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> Result<T, LabError> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        self.read(response).await
    }

    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, LabError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<Problem>(&bytes)
                .map(|p| p.detail)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(LabError::Refused {
                url: self.url.clone(),
                status: status.as_u16(),
                detail,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| LabError::Clearinghouse {
            url: self.url.clone(),
            reason: format!("its answer did not read: {e}"),
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> LabError {
        LabError::Clearinghouse {
            url: self.url.clone(),
            reason: e.to_string(),
        }
    }
}
