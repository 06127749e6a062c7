//! What a license server asks the Clearinghouse, whatever the connection method: the same
//! request goes over HTTP (automatic), into the web site's forms, or is read to a
//! representative, and the same kind of ID comes back.

use serde::{Deserialize, Serialize};
use shared::id::{ConfirmationCode, IdKind, KeyPackId, LicenseServerId};
use shared::vocab::{LicenseProof, Proof};
use shared::wire::{
    ActivateRequest, CalRequest, DeactivateRequest, InstallCalsRequest, MigrateCalsRequest,
    ReactivateRequest, RecoverCalsRequest,
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

    /// What is being asked, as the web site's options and a representative name it.
    pub fn title(&self) -> &'static str {
        match self {
            Request::Activate(_) => "Activate a license server",
            Request::Reactivate(_) => "Reactivate a license server",
            Request::Deactivate(_) => "Deactivate a license server",
            Request::InstallCals(_) => "Install client access licenses",
            Request::MigrateCals(_) => "Manage CALs (migrate them to this license server)",
            Request::RecoverCals(_) => "Recover CALs lost in a restore onto a new installation",
        }
    }

    /// What to give the web site or the representative, as `(label, value)` lines.
    pub fn particulars(&self) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        let mut line = |label: &str, value: String| lines.push((label.to_owned(), value));
        match self {
            Request::Activate(r) => {
                line("Product ID", r.product_id.to_string());
                line("First name", r.company.first_name().to_owned());
                line("Last name", r.company.last_name().to_owned());
                line("Company", r.company.company().to_owned());
                line("Country/region", r.company.country_region().to_string());
            }
            Request::Reactivate(r) => {
                line("Product ID", r.product_id.to_string());
                line("License server ID", r.license_server_id.to_string());
                line("Reason", r.reason.to_string());
            }
            Request::Deactivate(r) => {
                line("License server ID", r.license_server_id.to_string());
            }
            Request::InstallCals(r) => {
                line("License server ID", r.license_server_id.to_string());
                proof_lines(&r.license, &mut line);
                cal_lines(&r.cals, &mut line);
            }
            Request::RecoverCals(r) => {
                line("License server ID", r.license_server_id.to_string());
                proof_lines(&r.license, &mut line);
                cal_lines(&r.cals, &mut line);
            }
            Request::MigrateCals(r) => {
                line("Target license server ID", r.license_server_id.to_string());
                line("Reason for recovery", r.reason.to_string());
                if let Some(id) = r.source.license_server_id {
                    line("Source license server ID", id.to_string());
                }
                if let Some(name) = &r.source.name {
                    line("Source license server name", name.clone());
                }
                line("Source operating system", r.source.os.to_string());
                let reachable = if r.source.reachable { "yes" } else { "no" };
                line("Source available on the network", reachable.to_owned());
                proof_lines(&r.license, &mut line);
                cal_lines(&r.cals, &mut line);
            }
        }
        lines
    }
}

fn proof_lines(license: &LicenseProof, line: &mut impl FnMut(&str, String)) {
    line("License program", license.program().to_string());
    match license.proof() {
        Proof::LicenseCode(code) => line("License code", code.to_string()),
        Proof::OpenLicense {
            authorization_number,
            license_number,
        } => {
            line("Authorization number", authorization_number.to_string());
            line("License number", license_number.to_string());
        }
        Proof::AgreementNumber(number) => line(
            &capitalised(license.program().agreement_number_label()),
            number.to_string(),
        ),
    }
}

fn cal_lines(cals: &CalRequest, line: &mut impl FnMut(&str, String)) {
    line("Product version", cals.product_version.to_string());
    line("License type", cals.license_type.to_string());
    line("Quantity", cals.quantity.to_string());
}

/// `text` with its first letter in capitals, as a label that starts a line.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
