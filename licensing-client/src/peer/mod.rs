//! What one license server says to another over the network: a migration target reads the
//! source's identity and key packs, and asks it to remove the CALs it received; a session
//! host asks for a CAL for a client. [`Peer`] asks; [`daemon`] answers.

pub mod daemon;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::id::{KeyPackId, LicenseServerId};
use shared::vocab::{LicenseType, ProductVersion, WindowsServer};

use thiserror::Error;

use crate::state::{Activation, ServerState};

/// The path of a license server's description.
pub const INFO_PATH: &str = "/v1/license-server";
/// The path a target posts to, to have migrated CALs removed.
pub const REMOVALS_PATH: &str = "/v1/license-server/removals";
/// Where a session host asks for a CAL for a client that connects to it.
pub const CONNECTIONS_PATH: &str = "/v1/license-server/connections";

/// The source license server of a migration could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Nothing answered at the address.
    #[error(
        "the source license server {name} is not available on the network ({reason}); if it cannot be reached, say so (--source-unreachable) and give its operating system and license server ID"
    )]
    Unreachable {
        /// The name or address given.
        name: String,
        /// What failed.
        reason: String,
    },
    /// Something answered that is not a license server.
    #[error("{name} did not answer as a license server: {reason}")]
    NotALicenseServer {
        /// The name or address given.
        name: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The source refused the request.
    #[error("the source license server {name} refused: {reason}")]
    Refused {
        /// The name or address given.
        name: String,
        /// What it said.
        reason: String,
    },
    /// The source was never activated, so the Clearinghouse has no CALs of it.
    #[error("the source license server {name} was never activated: it has no CALs to migrate")]
    NeverActivated {
        /// The name or address given.
        name: String,
    },
    /// The name or address given cannot be one of a license server.
    #[error(
        "{name:?} is not a license server's address: give its name or address with the port its daemon listens on, e.g. 127.0.0.1:9001 or old08.example:9001 ({reason})"
    )]
    BadAddress {
        /// What was given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A source being replaced that is not on the network was not named.
    #[error(
        "the source license server is being replaced and is not available on the network: give its license server ID (--source-id) and operating system (--source-os)"
    )]
    NotNamed,
    /// The source given is this license server.
    #[error("the source license server is this license server: migrate from another one")]
    IsThisServer,
    /// The source could not confirm with the Clearinghouse that the CALs moved.
    #[error(
        "license key pack {key_pack_id} could not be confirmed as CALs migrated from here, so nothing was removed: {reason}"
    )]
    Unverified {
        /// The key pack ID the target presented.
        key_pack_id: KeyPackId,
        /// Why.
        reason: String,
    },
}

/// A key pack as other license servers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackSummary {
    /// Its local number.
    pub local_id: u32,
    /// Its license key pack ID.
    pub key_pack_id: KeyPackId,
    /// The Windows Server version of its CALs.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// The CALs it holds.
    pub total: u32,
    /// Those not issued to clients.
    pub available: u32,
}

/// What a license server tells another about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Its computer name.
    pub name: String,
    /// Its operating system.
    pub os: WindowsServer,
    /// Its activation.
    pub activation: Activation,
    /// Its key packs.
    pub key_packs: Vec<KeyPackSummary>,
}

impl ServerInfo {
    /// What `state` shows.
    pub fn of(state: &ServerState) -> Self {
        ServerInfo {
            name: state.identity.name.clone(),
            os: state.identity.os,
            activation: state.activation.clone(),
            key_packs: state
                .key_packs
                .iter()
                .map(|k| KeyPackSummary {
                    local_id: k.local_id,
                    key_pack_id: k.key_pack_id,
                    product_version: k.product_version,
                    license_type: k.license_type,
                    total: k.total(),
                    available: k.available(),
                })
                .collect(),
        }
    }
}

/// A target's request to remove the CALs it received: the key pack ID is the proof, since
/// only the target it was issued for can open it, and it says which CALs and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveCals {
    /// The target license server.
    pub target: LicenseServerId,
    /// The key pack ID the target installed.
    pub key_pack_id: KeyPackId,
}

/// A session host asks for a CAL for a client connecting to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConnection {
    /// The device or user.
    pub client: String,
    /// The session host's licensing mode.
    pub license_type: shared::vocab::LicenseType,
    /// The session host's operating system.
    pub session_host_os: shared::vocab::WindowsServer,
    /// The user's organizational unit, for CAL usage reports (Per User).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
}

/// What the source removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalsRemoved {
    /// CALs removed.
    pub removed: u32,
    /// CALs the source did not have unissued, which must be removed by hand.
    pub short: u32,
}

/// An error a license server daemon answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerError {
    /// What went wrong.
    pub error: String,
}

/// A license server reached over the network, by its name or address (`host:port`).
#[derive(Debug, Clone)]
pub struct Peer {
    name: String,
    base: String,
    http: reqwest::Client,
}

impl Peer {
    /// The license server at `name`: `host:port` or an `http://` URL. Anything that
    /// cannot be an address is refused here, before anything is sent.
    pub fn new(name: &str) -> Result<Self, SourceError> {
        let name = name.trim().to_owned();
        let base = if name.starts_with("http://") || name.starts_with("https://") {
            name.trim_end_matches('/').to_owned()
        } else {
            format!("http://{name}")
        };
        let bad = |reason: String| SourceError::BadAddress {
            name: name.clone(),
            reason,
        };
        let url = reqwest::Url::parse(&base).map_err(|e| bad(e.to_string()))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it names no host".to_owned()));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(bad("it has a path; give only the host and port".to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Ok(Peer { name, base, http })
    }

    /// The name it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it says of itself.
    pub async fn info(&self) -> Result<ServerInfo, SourceError> {
        let response = self
            .http
            .get(format!("{}{INFO_PATH}", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.read(response).await
    }

    /// Asks it to remove the CALs `key_pack_id` moved to `target`.
    pub async fn remove(&self, request: &RemoveCals) -> Result<CalsRemoved, SourceError> {
        let response = self
            .http
            .post(format!("{}{REMOVALS_PATH}", self.base))
            .json(request)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.read(response).await
    }

    /// Asks it, as a session host would, for a CAL for a client connecting.
    pub async fn connect_client(
        &self,
        connection: &ClientConnection,
    ) -> Result<crate::work::issuance::Grant, SourceError> {
        let response = self
            .http
            .post(format!("{}{CONNECTIONS_PATH}", self.base))
            .json(connection)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        // Only a refusal of the client is an answer; a license server that fails, or does
        // not know the route, is one that could not be used.
        let status = response.status();
        if !status.is_success()
            && status != reqwest::StatusCode::FORBIDDEN
            && status != reqwest::StatusCode::BAD_REQUEST
        {
            return Err(SourceError::NotALicenseServer {
                name: self.name.clone(),
                reason: format!("HTTP {status} to a client's connection"),
            });
        }
        self.read(response).await
    }

    fn unreachable(&self, error: &reqwest::Error) -> SourceError {
        let reason = match std::error::Error::source(error) {
            Some(cause) => cause.to_string(),
            None => error.to_string(),
        };
        SourceError::Unreachable {
            name: self.name.clone(),
            reason,
        }
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, SourceError> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        let not_one = |reason: String| SourceError::NotALicenseServer {
            name: self.name.clone(),
            reason,
        };
        if !status.is_success() {
            return Err(match serde_json::from_slice::<PeerError>(&bytes) {
                Ok(e) => SourceError::Refused {
                    name: self.name.clone(),
                    reason: e.error,
                },
                Err(_) => not_one(format!("HTTP {status}")),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| not_one(e.to_string()))
    }
}
