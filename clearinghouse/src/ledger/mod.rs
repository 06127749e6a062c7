//! The ledger: the one place that owns the Clearinghouse's rules. The JSON API, the web
//! portal and the phone line all reach it through [`Ledger::execute`].
//!
//! - [`rules`]: activation, reactivation, deactivation, CAL installation, migration, recovery.
//! - [`tenants`]: isolated ledgers in one clearinghouse.
//! - [`audit`]: recounts a tenant to prove that CALs are conserved and IDs are bound.
//! - [`records`]: what is stored under which key.
//! - [`writer`]: the single writer that applies requests in order, commits them in groups
//!   with one flush, and only then answers; idempotency keys live here too.
//! - [`clock`]: the time the ledger reads.

pub mod audit;
pub mod clock;
mod compact;
mod error;
mod known_keys;
pub mod records;
pub mod rules;
pub mod snapshot;
pub mod tenants;
mod writer;

use serde::{Deserialize, Serialize};
use shared::id::{KeyPackId, LicenseServerId};
use shared::wire::{
    ActivateRequest, AuditReport, ClassReport, CreateTenantRequest, DeactivateRequest, History,
    InstallCalsRequest, KeyPackIssued, KeyPackRecord, LicenseServerActivated,
    LicenseServerDeactivated, LicenseServerStatus, MigrateCalsRequest, PurchaseSpec,
    ReactivateRequest, RecoverCalsRequest, TenantClock, TenantInfo,
};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LedgerError;
pub use tenants::TenantName;
pub use writer::{Ledger, LedgerSettings, Reply, TenantState};

/// A request to the ledger, for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Command {
    /// Activate a license server.
    Activate(ActivateRequest),
    /// Reactivate a license server under a new ID.
    Reactivate(ReactivateRequest),
    /// Deactivate a license server.
    Deactivate(DeactivateRequest),
    /// Install CALs from a purchase.
    InstallCals(InstallCalsRequest),
    /// Migrate CALs between license servers.
    MigrateCals(MigrateCalsRequest),
    /// Reissue CALs lost in a restore onto a new installation.
    RecoverCals(RecoverCalsRequest),
    /// What is known of a license server ID.
    Status(LicenseServerId),
    /// Whether a license server ID can receive CALs now (or be deactivated): the same
    /// refusal the request would get, asked before a person fills in the rest of a form.
    Receiving(LicenseServerId),
    /// Verify a key pack ID for a license server.
    VerifyKeyPack {
        /// The license server.
        license_server_id: LicenseServerId,
        /// The key pack ID.
        key_pack_id: KeyPackId,
    },
    /// Audit the tenant.
    Audit,
    /// Create the tenant (named by the request) with this seed and fixtures.
    CreateTenant(CreateTenantRequest),
    /// Put the tenant back as it was created.
    ResetTenant,
    /// Delete the tenant.
    DeleteTenant,
    /// List every tenant.
    ListTenants,
    /// Add a purchase to the tenant.
    AddPurchase(PurchaseSpec),
    /// Give the tenant a new seed.
    SetSeed(u64),
    /// Read the tenant's clock.
    ReadClock,
    /// Set or move the tenant's clock.
    SetClock(ClockChange),
    /// Export the tenant's whole state.
    ExportSnapshot,
    /// Create the tenant from a snapshot.
    ImportSnapshot(Box<snapshot::SnapshotBody>),
    /// The tenant's history: every change to its licenses, and by which connection method.
    History,
    /// Keep a training lab's class report (under its name), replacing an earlier one.
    PutClass(Box<ClassReport>),
    /// Every class report kept.
    ListClasses,
}

/// How a tenant's clock is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClockChange {
    /// To this time, in milliseconds since the Unix epoch.
    SetTo(u64),
    /// Forward by this many milliseconds.
    Advance(u64),
}

impl Command {
    /// Whether the command changes the ledger (and so takes an idempotency key).
    pub fn is_mutation(&self) -> bool {
        !matches!(
            self,
            Command::Status(_)
                | Command::Receiving(_)
                | Command::VerifyKeyPack { .. }
                | Command::Audit
                | Command::ListTenants
                | Command::ReadClock
                | Command::ExportSnapshot
                | Command::History
                | Command::ListClasses
        )
    }

    /// Whether the command works on tenants (or their purchases) rather than on license
    /// servers.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Command::CreateTenant(_)
                | Command::ResetTenant
                | Command::DeleteTenant
                | Command::ListTenants
                | Command::AddPurchase(_)
                | Command::SetSeed(_)
                | Command::ReadClock
                | Command::SetClock(_)
                | Command::ExportSnapshot
                | Command::ImportSnapshot(_)
                | Command::History
                | Command::PutClass(_)
                | Command::ListClasses
        )
    }
}

/// What the ledger answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// A license server ID from activation or reactivation.
    Activated(LicenseServerActivated),
    /// A deactivation's confirmation code.
    Deactivated(LicenseServerDeactivated),
    /// A key pack issued.
    KeyPack(KeyPackIssued),
    /// A license server's status.
    Status(LicenseServerStatus),
    /// A key pack on record.
    KeyPackRecord(KeyPackRecord),
    /// An audit report.
    Audit(AuditReport),
    /// A tenant created, reset or deleted.
    Tenant(TenantInfo),
    /// Every tenant.
    Tenants(Vec<TenantInfo>),
    /// A purchase added.
    PurchaseAdded,
    /// The time on a tenant's clock.
    Clock(TenantClock),
    /// A tenant's whole state, as the bytes of a snapshot file.
    Snapshot(String),
    /// A tenant's history.
    History(History),
    /// A class report kept.
    ClassKept(Box<ClassReport>),
    /// Every class report kept.
    Classes(Vec<ClassReport>),
}

impl Answer {
    /// The IDs the answer issued: a license server ID, a key pack ID or a confirmation
    /// code.
    pub fn issued_ids(&self) -> Vec<String> {
        match self {
            Answer::Activated(a) => vec![a.license_server_id.to_string()],
            Answer::Deactivated(a) => vec![a.confirmation_code.to_string()],
            Answer::KeyPack(a) => vec![a.key_pack_id.to_string()],
            _ => Vec::new(),
        }
    }
}
