//! The CALs a license server has issued to clients, as its state keeps them; the rules
//! that issue, renew, expire and revoke them are in `crate::work::issuance`.

use serde::{Deserialize, Serialize};
use shared::vocab::{LicenseType, ProductVersion};

use super::Stamp;

/// The state of a CAL issued to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CalStatus {
    /// A temporary Per Device CAL.
    Temporary,
    /// A permanent Per Device CAL, or a Per User CAL.
    Active,
    /// Revoked: available to another client, counted against the revoke limit until it
    /// would have expired.
    Revoked,
}

/// A CAL issued to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCal {
    /// The device or user.
    pub client: String,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// Temporary, active or revoked.
    pub status: CalStatus,
    /// The CALs' version: the key pack's for a permanent CAL, the session host's for a
    /// temporary one.
    pub product_version: ProductVersion,
    /// The local number of the key pack it was taken from (permanent Per Device CALs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pack: Option<u32>,
    /// The user's organizational unit, if the session host said (Per User CALs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    /// When it was issued (or last renewed).
    pub issued_at: Stamp,
    /// When it expires.
    pub expires_at: Stamp,
}
