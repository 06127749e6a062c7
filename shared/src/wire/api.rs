//! Request and answer bodies of the Clearinghouse API, one pair per operation.

use serde::{Deserialize, Serialize};

use crate::id::{ConfirmationCode, KeyPackId, LicenseServerId, ProductId};
use crate::vocab::{
    CompanyInfo, LicenseProgram, LicenseProof, LicenseType, MigrationReason, ProductVersion,
    Quantity, ReactivationReason, WindowsServer,
};

/// Activate a license server: its product ID and company information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The product ID the license server shows.
    pub product_id: ProductId,
    /// Who the license server belongs to.
    pub company: CompanyInfo,
}

/// Reactivate a license server: it gets a new license server ID and the old one stops
/// receiving anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReactivateRequest {
    /// The current license server ID.
    pub license_server_id: LicenseServerId,
    /// The product ID the license server shows.
    pub product_id: ProductId,
    /// Why it is reactivated.
    pub reason: ReactivationReason,
}

/// A license server ID given by activation or reactivation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseServerActivated {
    /// The license server ID to enter on the license server.
    pub license_server_id: LicenseServerId,
}

/// Deactivate a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    /// The license server to deactivate.
    pub license_server_id: LicenseServerId,
}

/// The confirmation that a license server was deactivated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseServerDeactivated {
    /// The confirmation code to enter on the license server.
    pub confirmation_code: ConfirmationCode,
}

/// The CALs asked for: product version, license type and quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalRequest {
    /// The Windows Server version of the CALs.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many.
    pub quantity: Quantity,
}

/// Install CALs bought under a license program on a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InstallCalsRequest {
    /// The license server that will install the key pack.
    pub license_server_id: LicenseServerId,
    /// The license program and its proof of purchase.
    pub license: LicenseProof,
    /// The CALs. A retail license code says which CALs it is for, so with one they may be
    /// left out (given, they must be those); every other program needs them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cals: Option<CalRequest>,
}

/// The license server CALs are migrated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SourceServer {
    /// Its license server ID, when known (required when it is not reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_server_id: Option<LicenseServerId>,
    /// Its name or IP address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The operating system it runs, when known (required when it is being replaced and
    /// is not reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<WindowsServer>,
    /// Whether the target could reach it on the network.
    pub reachable: bool,
}

/// Migrate CALs from a source license server to this (target) license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MigrateCalsRequest {
    /// The target license server, which will install the key pack.
    pub license_server_id: LicenseServerId,
    /// Why the CALs move.
    pub reason: MigrationReason,
    /// Where they move from.
    pub source: SourceServer,
    /// The license program and its proof of purchase.
    pub license: LicenseProof,
    /// The CALs.
    pub cals: CalRequest,
}

/// Recover the unissued CALs a license server lost when its database was restored onto a
/// new installation of its operating system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecoverCalsRequest {
    /// The license server that lost its CALs.
    pub license_server_id: LicenseServerId,
    /// The license program and proof the CALs were bought under.
    pub license: LicenseProof,
    /// The CALs it lost.
    pub cals: CalRequest,
}

/// A key pack issued for a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyPackIssued {
    /// The ID to enter on the license server (keep a copy).
    pub key_pack_id: KeyPackId,
    /// The license server it is bound to.
    pub license_server_id: LicenseServerId,
    /// The program the CALs were bought under.
    pub license_program: LicenseProgram,
    /// The CALs it holds.
    pub cals: CalRequest,
}

/// How a key pack came to its license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum KeyPackOrigin {
    /// Installed from a license program.
    Installed,
    /// Migrated from another license server.
    Migrated,
    /// Reissued for CALs lost when the license server's database was restored onto a new
    /// installation.
    Recovered,
}

/// What the Clearinghouse records of one key pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyPackRecord {
    /// The key pack ID.
    pub key_pack_id: KeyPackId,
    /// The license server ID it was issued for.
    pub license_server_id: LicenseServerId,
    /// The program the CALs were bought under.
    pub license_program: LicenseProgram,
    /// The CALs it was issued with.
    pub cals: CalRequest,
    /// How many of them are still allocated to this license server (the rest were migrated
    /// away or reissued).
    pub held: u16,
    /// How it came to the license server.
    pub origin: KeyPackOrigin,
    /// For migrated CALs: the license server ID the source has now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_from: Option<LicenseServerId>,
}

/// Whether a license server is activated, as `GetActivationStatus` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ActivationStatus {
    /// Activated and able to receive CALs.
    Activated,
    /// Deactivated: receives nothing until reactivated.
    Deactivated,
    /// Reactivated under a new license server ID: this ID receives nothing any more.
    Replaced,
}

/// What the Clearinghouse knows of a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseServerStatus {
    /// The license server ID asked about.
    pub license_server_id: LicenseServerId,
    /// Its activation status.
    pub status: ActivationStatus,
    /// The license server ID that replaced it, if it was reactivated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<LicenseServerId>,
    /// The key packs issued for it, with what each still holds.
    pub key_packs: Vec<KeyPackRecord>,
}

/// The answer of the health endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` when the service answers.
    pub status: String,
    /// The version of the service.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_request_reads_from_plain_json() {
        let body = r#"{
            "license_server_id": "PLACEHOLDER",
            "license": {"program": "enterprise-agreement", "agreement_number": "6543210"},
            "cals": {"product_version": "2022", "license_type": "per-user", "quantity": 50}
        }"#;
        let mut rng = <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(9);
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng),
            &mut rng,
        );
        let body = body.replace("PLACEHOLDER", &id.to_string());
        let request: InstallCalsRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(request.license_server_id, id);
        assert_eq!(request.cals.map(|c| c.quantity.get()), Some(50));
        assert_eq!(
            request.license.program(),
            LicenseProgram::EnterpriseAgreement
        );
    }

    #[test]
    fn a_misspelled_field_is_refused_by_name() {
        let err = serde_json::from_str::<CalRequest>(
            r#"{"product_version":"2022","license_type":"per-user","qty":5}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `qty`"), "{err}");
    }
}

/// The Clearinghouse's telephone desks and where its simulated phone line answers them
/// (`GET /api/v1/phone-lines`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneLines {
    /// The `host:port` of the phone line, where every number below is answered; `null`
    /// when the clearinghouse runs without one.
    pub line: Option<String>,
    /// Every desk, the international one last.
    pub desks: Vec<PhoneDesk>,
}

/// A telephone desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneDesk {
    /// Its name.
    pub desk: String,
    /// Its (fictional) number.
    pub number: String,
    /// The countries/regions it serves, by code; empty for the international desk.
    pub countries: Vec<String>,
}
