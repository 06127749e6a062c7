//! Every way a ledger request can be refused, each with the message a person can act on and
//! the stable error code a program branches on.

use shared::id::{KeyPackError, KeyPackId, LicenseServerId, ProductId};
use shared::vocab::{LicenseProgram, LicenseType, ProductVersion, WindowsServer};
use shared::wire::{ErrorCode, Problem};
use thiserror::Error;

use crate::store::StoreError;

/// Why the ledger refused or failed a request. A refused request changed nothing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The store below failed; nothing of the batch was applied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record could not be read back.
    #[error("a ledger record is unreadable: {0}")]
    Corrupt(String),
    /// The writer has stopped (the clearinghouse is shutting down).
    #[error("the clearinghouse is shutting down; retry against a running one")]
    ShuttingDown,
    /// No tenant of that name.
    #[error("there is no tenant {0:?}; create it with the admin API or name an existing one")]
    UnknownTenant(String),
    /// A tenant of that name exists.
    #[error("tenant {0:?} already exists")]
    TenantExists(String),
    /// The default tenant serves requests that name none.
    #[error("the default tenant cannot be deleted; reset it instead")]
    DefaultTenantUndeletable,
    /// A tenant name that is not valid.
    #[error(
        "{0:?} is not a tenant name: use 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit"
    )]
    InvalidTenantName(String),
    /// No license server has this ID.
    #[error("no license server has the ID {id} in this tenant")]
    UnknownLicenseServer {
        /// The ID given.
        id: LicenseServerId,
        /// The request field that named it.
        field: &'static str,
    },
    /// The ID was replaced by reactivation.
    #[error(
        "license server ID {id} was replaced when the license server was reactivated; use its current ID {current}"
    )]
    LicenseServerReplaced {
        /// The old ID given.
        id: LicenseServerId,
        /// The current ID.
        current: LicenseServerId,
        /// The request field that named it.
        field: &'static str,
    },
    /// The license server is deactivated.
    #[error("license server {0} is deactivated; reactivate it before it can receive anything")]
    LicenseServerDeactivated(LicenseServerId),
    /// The product ID is already activated.
    #[error(
        "product ID {product_id} {} license server {license_server_id}{}; reactivate it instead",
        if *.deactivated { "was activated as" } else { "is already activated as" },
        if *.deactivated { ", which is deactivated now" } else { "" }
    )]
    AlreadyActivated {
        /// The product ID.
        product_id: ProductId,
        /// Its license server's current ID.
        license_server_id: LicenseServerId,
        /// Whether that license server is deactivated.
        deactivated: bool,
    },
    /// The product ID given does not belong to the license server.
    #[error("product ID {product_id} is not the product ID of license server {license_server_id}")]
    ProductIdMismatch {
        /// The product ID given.
        product_id: ProductId,
        /// The license server named.
        license_server_id: LicenseServerId,
    },
    /// No purchase matches the proof.
    #[error("{0} is not known to this tenant: check the number on your purchase paperwork")]
    UnknownPurchase(String),
    /// The number belongs to another program.
    #[error(
        "agreement {number} was bought under {actual}, not {given}: choose {actual} as the license program"
    )]
    WrongProgram {
        /// The agreement number.
        number: String,
        /// Its program.
        actual: LicenseProgram,
        /// The program given.
        given: LicenseProgram,
    },
    /// The Open License authorization number does not match.
    #[error("the authorization number does not match Open License {license_number}")]
    AuthorizationMismatch {
        /// The license number.
        license_number: String,
    },
    /// The retail license code was used already.
    #[error(
        "license code {code} was already used for key pack {key_pack}; a license code is used once"
    )]
    LicenseCodeUsed {
        /// The code.
        code: String,
        /// The key pack it went to.
        key_pack: KeyPackId,
    },
    /// The CALs asked for are not what the retail license pack holds.
    #[error(
        "license code {code} is for {}; ask for exactly those, or leave the CALs out (the code says them)",
        cals(*.quantity, *.product_version, *.license_type)
    )]
    RetailMismatch {
        /// The code.
        code: String,
        /// What it holds.
        product_version: ProductVersion,
        /// What it holds.
        license_type: LicenseType,
        /// What it holds.
        quantity: u32,
    },
    /// No CALs were said, and the proof is not a retail license code (which says them).
    #[error(
        "say which CALs to install from {purchase}: product version, license type and quantity (only a retail license code says them itself)"
    )]
    CalsRequired {
        /// The purchase, described.
        purchase: String,
    },
    /// The purchase holds none of the CALs asked for.
    #[error("{purchase} holds no {product_version} {license_type} CALs")]
    NotPurchased {
        /// The purchase, described.
        purchase: String,
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
    },
    /// Fewer CALs remain than were asked for.
    #[error(
        "{purchase} has {} left, fewer than the {asked} asked for",
        cals(*.remaining, *.product_version, *.license_type)
    )]
    Exhausted {
        /// The purchase, described.
        purchase: String,
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
        /// How many were asked for.
        asked: u16,
        /// How many remain.
        remaining: u32,
    },
    /// The migration's source must be named.
    #[error("{0}")]
    SourceRequired(&'static str),
    /// The source and the target are one license server.
    #[error("the source and the target are the same license server; migrate from another one")]
    SameServer,
    /// Several license servers hold such CALs, so the source must be named.
    #[error(
        "{count} license servers hold {product_version} {license_type} CALs of this purchase: give the source license server ID"
    )]
    SourceAmbiguous {
        /// How many.
        count: usize,
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
    },
    /// No license server but the target holds such CALs, and no source was named.
    #[error(
        "no other license server holds {product_version} {license_type} CALs of this purchase: check the program and product, or give the source license server ID"
    )]
    NoSourceHolds {
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
    },
    /// The source holds fewer of these CALs than asked to migrate.
    #[error(
        "{source_desc} holds {} of this purchase, fewer than the {asked} asked for",
        cals(*.held, *.product_version, *.license_type)
    )]
    NothingToMigrate {
        /// The source, described.
        source_desc: String,
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
        /// How many were asked for.
        asked: u16,
        /// How many it holds.
        held: u32,
    },
    /// The source's CALs were migrated before.
    #[error(
        "these CALs were already migrated: {} went to license server {to} as key pack {key_pack}",
        shared::vocab::counted(*.quantity, "CAL")
    )]
    AlreadyMigrated {
        /// Where they went.
        to: LicenseServerId,
        /// The key pack they went into.
        key_pack: KeyPackId,
        /// How many.
        quantity: u16,
    },
    /// Nothing to recover.
    #[error(
        "license server {license_server_id} holds {} of this purchase, fewer than the {asked} asked for",
        cals(*.held, *.product_version, *.license_type)
    )]
    NothingToRecover {
        /// The license server.
        license_server_id: LicenseServerId,
        /// What was asked for.
        product_version: ProductVersion,
        /// What was asked for.
        license_type: LicenseType,
        /// How many were asked for.
        asked: u16,
        /// How many it holds.
        held: u32,
    },
    /// The license server runs an older Windows Server than the CALs asked for.
    #[error(
        "license server {license_server_id} runs {os}, and a license server takes only CALs of its own Windows Server version or older: ask for CALs of {os} or older, or install {product_version} CALs on a license server running {} or newer",
        product_version.release()
    )]
    CalsTooNew {
        /// The license server.
        license_server_id: LicenseServerId,
        /// What it runs, as its product ID says.
        os: WindowsServer,
        /// The CALs asked for.
        product_version: ProductVersion,
    },
    /// The key pack ID does not open for the license server.
    #[error(transparent)]
    KeyPack(#[from] KeyPackError),
    /// The key pack ID opens, but the ledger has no record of it.
    #[error("this Clearinghouse has no record of key pack {0}")]
    UnknownKeyPack(KeyPackId),
    /// The license server was issued every serial a key pack can have.
    #[error(
        "license server {0} has received the most key packs one license server can (ten million)"
    )]
    TooManyKeyPacks(LicenseServerId),
    /// A purchase with this proof exists.
    #[error("{0} already exists in this tenant")]
    PurchaseExists(String),
    /// A purchase spec that cannot be added.
    #[error("{message}")]
    InvalidPurchase {
        /// What is wrong.
        message: String,
    },
    /// The idempotency key was used with another request.
    #[error(
        "idempotency key {0:?} was already used with a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused(String),
    /// A request with this idempotency key is still being applied.
    #[error(
        "a request with idempotency key {0:?} is still being applied; retry after it has been answered"
    )]
    RequestInProgress(String),
    /// A clock set so far off that it cannot be represented.
    #[error(
        "that time is out of range for the tenant's clock: it goes from 1970 to the start of the year 9000"
    )]
    ClockOutOfRange,
    /// A snapshot that cannot be imported; nothing was.
    #[error("{0}; nothing was imported")]
    InvalidSnapshot(String),
}

/// `n` CALs of a version and type, e.g. "1 Windows Server 2019 Per Device CAL".
fn cals(n: u32, version: ProductVersion, license_type: LicenseType) -> String {
    shared::vocab::counted(n, &format!("{version} {license_type} CAL"))
}

impl LedgerError {
    /// Whether the error is the request's final answer, to be replayed for its idempotency
    /// key; otherwise (a failure of the service, a tenant that does not exist, a key
    /// conflict) a retry may go through.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            LedgerError::Store(_)
                | LedgerError::Corrupt(_)
                | LedgerError::ShuttingDown
                | LedgerError::UnknownTenant(_)
                | LedgerError::IdempotencyKeyReused(_)
                | LedgerError::RequestInProgress(_)
        )
    }

    /// The error as a problem document.
    pub fn problem(&self) -> Problem {
        use ErrorCode as C;
        use LedgerError as E;
        let problem = |code| Problem::new(code, self.to_string());
        match self {
            // The cause is logged by the writer; the caller learns only what to do.
            E::Store(_) | E::Corrupt(_) => Problem::new(
                C::Internal,
                "the Clearinghouse could not store the request, so it was not applied; retry it with the same idempotency key",
            ),
            E::ShuttingDown => problem(C::ServiceUnavailable),
            E::UnknownTenant(_) => problem(C::UnknownTenant),
            E::TenantExists(_) | E::PurchaseExists(_) => problem(C::AlreadyExists),
            E::DefaultTenantUndeletable => problem(C::InvalidField).with_field("name"),
            E::InvalidTenantName(_) => problem(C::InvalidField).with_field("name"),
            E::UnknownLicenseServer { field, .. } => {
                problem(C::UnknownLicenseServer).with_field(*field)
            }
            E::LicenseServerReplaced { field, .. } => {
                problem(C::LicenseServerReplaced).with_field(*field)
            }
            E::LicenseServerDeactivated(_) => problem(C::LicenseServerDeactivated),
            E::AlreadyActivated { .. } => problem(C::AlreadyActivated).with_field("product_id"),
            E::ProductIdMismatch { .. } => problem(C::InvalidField).with_field("product_id"),
            E::UnknownPurchase(_) => problem(C::UnknownAgreement).with_field("license"),
            E::WrongProgram { .. } => problem(C::WrongProof).with_field("license.program"),
            E::AuthorizationMismatch { .. } => {
                problem(C::WrongProof).with_field("license.authorization_number")
            }
            E::LicenseCodeUsed { .. } => {
                problem(C::LicenseCodeUsed).with_field("license.license_code")
            }
            E::RetailMismatch { .. } => problem(C::InvalidField).with_field("cals"),
            E::CalsRequired { .. } => problem(C::InvalidField).with_field("cals.product_version"),
            E::NotPurchased { .. } => problem(C::QuantityExhausted).with_remaining(0),
            E::Exhausted { remaining, .. } => problem(C::QuantityExhausted)
                .with_field("cals.quantity")
                .with_remaining(*remaining),
            E::SourceRequired(_) | E::SameServer | E::SourceAmbiguous { .. } => {
                problem(C::InvalidField).with_field("source.license_server_id")
            }
            E::NothingToMigrate { held, .. } => problem(C::NothingToMigrate).with_remaining(*held),
            E::NoSourceHolds { .. } => problem(C::NothingToMigrate).with_remaining(0),
            E::AlreadyMigrated { .. } => problem(C::AlreadyMigrated),
            E::NothingToRecover { held, .. } => problem(C::NothingToRecover).with_remaining(*held),
            E::CalsTooNew { .. } => problem(C::CalsTooNew).with_field("cals.product_version"),
            E::KeyPack(KeyPackError::NotForThisServer { .. }) => {
                problem(C::KeyPackNotForServer).with_field("key_pack_id")
            }
            E::KeyPack(_) => problem(C::InvalidField).with_field("key_pack_id"),
            E::UnknownKeyPack(_) => problem(C::NotFound).with_field("key_pack_id"),
            E::InvalidPurchase { .. } => problem(C::InvalidField).with_field("cals"),
            E::TooManyKeyPacks(_) => problem(C::QuantityExhausted),
            E::IdempotencyKeyReused(_) => problem(C::IdempotencyKeyReused),
            E::RequestInProgress(_) => problem(C::RequestInProgress),
            E::InvalidSnapshot(_) => problem(C::InvalidSnapshot),
            E::ClockOutOfRange => problem(C::InvalidField),
        }
    }
}
