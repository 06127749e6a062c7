//! Bodies of the admin API: tenants, what they hold, and the audit of the ledger.

use serde::{Deserialize, Serialize};

use crate::vocab::{LicenseProof, LicenseType, ProductVersion};

/// Create a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// Its name: 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit.
    pub name: String,
    /// Its random seed; the same seed and the same requests give the same IDs. Drawn at
    /// random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Whether to seed it with the fixture agreements and license codes (default true).
    #[serde(default = "yes")]
    pub fixtures: bool,
}

fn yes() -> bool {
    true
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    /// Its name.
    pub name: String,
    /// Its random seed.
    pub seed: u64,
}

/// CALs bought under an agreement: a product version, a license type and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchasedCals {
    /// The Windows Server version.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many were bought (1 to 10,000,000).
    pub quantity: u32,
}

/// An agreement, Open License or retail license pack added to a tenant.
///
/// A retail license pack holds exactly one entry in `cals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseSpec {
    /// The program and the proof that identifies the purchase.
    pub license: LicenseProof,
    /// What was bought.
    pub cals: Vec<PurchasedCals>,
}

/// What an audit of a tenant's ledger found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The tenant audited.
    pub tenant: String,
    /// Whether every check passed.
    pub ok: bool,
    /// Agreements, licenses and license codes checked for conservation.
    pub purchases_checked: u64,
    /// Key packs checked for their binding and their counts.
    pub key_packs_checked: u64,
    /// CALs bought, in all.
    pub purchased: u64,
    /// CALs allocated to license servers, in all.
    pub allocated: u64,
    /// CALs not yet allocated, in all.
    pub unallocated: u64,
    /// Every violation found, one sentence each.
    pub problems: Vec<String>,
}
