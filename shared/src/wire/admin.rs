//! Bodies of the admin API: tenants, what they hold, the audit of the ledger, the
//! history of what was done in a tenant, and the classes a training lab reports.

use serde::{Deserialize, Serialize};

use crate::vocab::{ConnectionMethod, LicenseProof, LicenseType, ProductVersion};

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
    /// A seat token, for a tenant that is a training class's seat: every request for the
    /// tenant must then carry it (on the API, the `Clearinghouse-Seat-Token` header; the
    /// web site and the phone line ask for it once). 6 to 32 digits, so that it can be
    /// keyed on a telephone too. None by default: anyone may use the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{6,32}$"))]
    pub seat_token: Option<String>,
}

/// Why `token` is no seat token, if it is not: 6 to 32 digits.
pub fn check_seat_token(token: &str) -> Result<(), String> {
    if (6..=32).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(
            "a seat token is 6 to 32 digits (a PIN that can be keyed on a telephone too)"
                .to_owned(),
        )
    }
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

/// What a change to a tenant's licenses did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A license server was activated.
    Activated,
    /// A license server was reactivated under a new ID.
    Reactivated,
    /// A license server was deactivated.
    Deactivated,
    /// CALs were installed from a purchase.
    CalsInstalled,
    /// CALs were migrated from another license server.
    CalsMigrated,
    /// CALs lost in a restore were recovered.
    CalsRecovered,
}

impl Action {
    /// The action in words, as the instructor page shows it.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Activated => "License server activated",
            Action::Reactivated => "License server reactivated",
            Action::Deactivated => "License server deactivated",
            Action::CalsInstalled => "CALs installed",
            Action::CalsMigrated => "CALs migrated",
            Action::CalsRecovered => "CALs recovered",
        }
    }
}

/// One change the ledger applied to a tenant's licenses, kept with it (so it outlives a
/// restart, unlike the journal of requests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Its place in the order of the tenant's changes, from 0.
    pub n: u64,
    /// When, on the tenant's clock (RFC 3339).
    pub at: String,
    /// The same, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The connection method the request came by: the API (automatic), the web site or
    /// the phone line.
    pub connection_method: ConnectionMethod,
    /// What was done.
    pub action: Action,
    /// The license server concerned: for an activation or reactivation, the ID it was
    /// given.
    pub license_server_id: String,
    /// The IDs issued: a license server ID, a key pack ID or a confirmation code.
    pub ids: Vec<String>,
}

/// A tenant's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct History {
    /// The tenant.
    pub tenant: String,
    /// Its changes, oldest first.
    pub entries: Vec<HistoryEntry>,
}

/// How one check of a training lab's scenario came out on one seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckGrade {
    /// The check, in the scenario's words.
    pub check: String,
    /// Whether the seat's state passes it.
    pub passed: bool,
    /// What is missing, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// One seat of a class and its grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SeatGrade {
    /// The seat's number, from 1.
    pub seat: u16,
    /// The seat's tenant.
    pub tenant: String,
    /// How many of the tenant's changes set the seat up at the scenario's start: the
    /// student's own follow them in its history.
    #[serde(default)]
    pub setup_changes: u16,
    /// Every check of the scenario, in its order; empty until the seat is graded.
    pub checks: Vec<CheckGrade>,
}

/// A training lab's class as its trainer's tool reports it: the scenario, the seats and
/// their grades. The clearinghouse keeps it and shows it on the instructor page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassReport {
    /// The class's name (its seats' tenants start with it).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$"))]
    pub name: String,
    /// The scenario's file name.
    pub scenario: String,
    /// The scenario's title.
    pub title: String,
    /// When the seats were last graded (RFC 3339), if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graded_at: Option<String>,
    /// The seats.
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub seats: Vec<SeatGrade>,
}
