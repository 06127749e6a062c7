//! Bodies of the admin API: tenants, what they hold, and the audit of the ledger.

use serde::{Deserialize, Serialize};

use crate::vocab::{LicenseProof, LicenseType, ProductVersion};

/// Create a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// Its name: 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// Its random seed (0 to 2^63 - 1); the same seed and the same requests give the same
    /// IDs. Drawn at random when absent.
    #[serde(default, deserialize_with = "seed::read_some")]
    pub seed: Option<u64>,
    /// Whether to seed it with the fixture agreements and license codes (default true).
    #[serde(default = "yes")]
    pub fixtures: bool,
}

fn yes() -> bool {
    true
}

/// The largest seed. Seeds are 63-bit, so that a client reads one as a signed 64-bit
/// integer too (the JSON Schema `int64`), whatever language it is written in.
pub const MAX_SEED: u64 = i64::MAX as u64;

/// Reading seeds, refused past [`MAX_SEED`] with a message that says the range.
pub(crate) mod seed {
    use serde::{Deserialize, Deserializer, de::Error};

    use super::MAX_SEED;

    /// A seed.
    pub fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let seed: u64 = crate::wire::whole::read(deserializer)?;
        if seed > MAX_SEED {
            return Err(D::Error::custom(format!(
                "a seed is from 0 to {MAX_SEED}, not {seed}"
            )));
        }
        Ok(seed)
    }

    /// A seed that may be absent.
    pub fn read_some<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
        #[derive(Deserialize)]
        struct Seed(#[serde(deserialize_with = "read")] u64);
        Ok(Option::<Seed>::deserialize(deserializer)?.map(|s| s.0))
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantInfo {
    /// Its name.
    pub name: String,
    /// Its random seed.
    pub seed: u64,
}

/// CALs bought under an agreement: a product version, a license type and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PurchasedCals {
    /// The Windows Server version.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many were bought (1 to 10,000,000).
    #[serde(deserialize_with = "crate::wire::whole::read")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000_000))]
    pub quantity: u32,
}

/// An agreement, Open License or retail license pack added to a tenant.
///
/// A retail license pack holds exactly one entry in `cals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PurchaseSpec {
    /// The program and the proof that identifies the purchase.
    pub license: LicenseProof,
    /// What was bought.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub cals: Vec<PurchasedCals>,
}

/// What an audit of a tenant's ledger found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
