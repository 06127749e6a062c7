//! What a license server asks the Clearinghouse, whatever the connection method: the same
//! request goes over HTTP (automatic), into the web site's forms, or is read to a
//! representative, and the same kind of ID comes back.

use serde::{Deserialize, Serialize};
use shared::id::{ConfirmationCode, IdKind, KeyPackId, LicenseServerId};
use shared::tasks::{Chosen, Task};

pub use shared::tasks::capitalised;
use shared::wire::{
    ActivateRequest, DeactivateRequest, InstallCalsRequest, MigrateCalsRequest, ReactivateRequest,
    RecoverCalsRequest,
};

/// A request to the Clearinghouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "request", rename_all = "kebab-case")]
pub enum Request {
    /// Activate the license server.
    Activate(ActivateRequest),
    /// Reactivate it under a new license server ID.
    Reactivate(ReactivateRequest),
    /// Deactivate it.
    Deactivate(DeactivateRequest),
    /// Install CALs bought under a license program.
    InstallCals(InstallCalsRequest),
    /// Migrate CALs from another license server.
    MigrateCals(MigrateCalsRequest),
    /// Recover CALs lost in a restore onto a new installation.
    RecoverCals(RecoverCalsRequest),
}

/// What the Clearinghouse gives back for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A license server ID (activation, reactivation).
    LicenseServerId(LicenseServerId),
    /// A confirmation code (deactivation).
    ConfirmationCode(ConfirmationCode),
    /// A license key pack ID (CALs installed or migrated).
    KeyPack(KeyPackId),
}

impl Request {
    /// The API route the automatic method posts it to.
    pub fn path(&self) -> &'static str {
        match self {
            Request::Activate(_) => "/api/v1/activations",
            Request::Reactivate(_) => "/api/v1/reactivations",
            Request::Deactivate(_) => "/api/v1/deactivations",
            Request::InstallCals(_) => "/api/v1/key-packs",
            Request::MigrateCals(_) => "/api/v1/migrations",
            Request::RecoverCals(_) => "/api/v1/recoveries",
        }
    }

    /// The kind of ID that answers it.
    pub fn answer_kind(&self) -> IdKind {
        match self {
            Request::Activate(_) | Request::Reactivate(_) => IdKind::LicenseServerId,
            Request::Deactivate(_) => IdKind::ConfirmationCode,
            Request::InstallCals(_) | Request::MigrateCals(_) | Request::RecoverCals(_) => {
                IdKind::KeyPackId
            }
        }
    }

    /// The Clearinghouse's task it asks for: what the web site's options and the
    /// representative call it, and which fields they ask.
    pub fn task(&self) -> Task {
        match self {
            Request::Activate(_) => Task::Activate,
            Request::Reactivate(_) => Task::Reactivate,
            Request::Deactivate(_) => Task::Deactivate,
            Request::InstallCals(_) => Task::Install,
            Request::MigrateCals(_) => Task::Migrate,
            Request::RecoverCals(_) => Task::Recover,
        }
    }

    /// What the request chose that changes what is asked: its license program and
    /// migration reason.
    pub fn chosen(&self) -> Chosen {
        match self {
            Request::InstallCals(r) => Chosen {
                program: Some(r.license.program()),
                reason: None,
            },
            Request::RecoverCals(r) => Chosen {
                program: Some(r.license.program()),
                reason: None,
            },
            Request::MigrateCals(r) => Chosen {
                program: Some(r.license.program()),
                reason: Some(r.reason),
            },
            _ => Chosen::default(),
        }
    }
}
