//! The web browser and telephone connection methods: the license server cannot reach the
//! Clearinghouse itself, so a person carries the request to the licensing web site or a
//! representative and types back the ID they are given.
//!
//! A [`Handoff`] says where to go and what to give; it also checks what is typed back,
//! group by group, before anything is installed.

use shared::id::{AnyId, IdError, IdKind, LicenseServerId, check_group};
use shared::vocab::{CompanyField, CompanyInfo, CountryRegion, PhoneBook, Proof, Term};

use shared::id::KeyPackError;
use thiserror::Error;

use crate::methods::request::{Reply, Request};
use crate::state::ClearinghouseAddress;

/// Where a person takes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desk {
    /// The licensing web site.
    Web {
        /// The address to open (it names the tenant, if any).
        url: String,
    },
    /// A Clearinghouse representative on the telephone.
    Telephone {
        /// The number to call (fictional: the simulated phone line answers it).
        number: String,
        /// The desk that answers it.
        desk: String,
        /// The country/region the number was chosen for.
        country: CountryRegion,
        /// Whether the number is the international line (no local one for the country).
        international: bool,
        /// The Clearinghouse whose phone line answers the number.
        clearinghouse: ClearinghouseAddress,
    },
}

impl Desk {
    /// The web site of the Clearinghouse at `address`.
    pub fn web(address: &ClearinghouseAddress) -> Self {
        let base = address.url.trim_end_matches('/');
        let url = match &address.tenant {
            Some(tenant) => format!("{base}/?tenant={tenant}"),
            None => format!("{base}/"),
        };
        Desk::Web { url }
    }

    /// The telephone desk for `country` (from the phone book in `fixtures/`) of the
    /// Clearinghouse at `address`.
    pub fn telephone(country: CountryRegion, address: &ClearinghouseAddress) -> Self {
        let line = PhoneBook::embedded().line_for(country);
        Desk::Telephone {
            number: line.number.clone(),
            desk: line.desk.clone(),
            country,
            international: line.is_international(),
            clearinghouse: address.clone(),
        }
    }
}

/// A request to carry to the web site or a representative, and the check of the answer.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// Where to take it.
    pub desk: Desk,
    /// What is asked.
    pub request: Request,
    /// The ID the license server shows for it: its product ID to be activated, its license
    /// server ID for everything else.
    pub shown_id: AnyId,
    /// The license server's company information, which the web site asks for too.
    pub company: CompanyInfo,
    /// The license server a key pack ID must be issued for.
    target: Option<LicenseServerId>,
}

impl Handoff {
    pub(crate) fn new(
        desk: Desk,
        request: Request,
        shown_id: AnyId,
        company: CompanyInfo,
        target: Option<LicenseServerId>,
    ) -> Self {
        Handoff {
            desk,
            request,
            shown_id,
            company,
            target,
        }
    }

    /// The kind of ID to type back.
    pub fn expects(&self) -> IdKind {
        self.request.answer_kind()
    }

    /// The Clearinghouse's name for the task (as the web site's options and the
    /// representative's purposes name it), and the answer to each field they ask, by the
    /// field's name.
    pub fn answers(&self) -> (&'static str, Vec<(String, String)>) {
        answers(self)
    }

    /// Checks group `group` (1 to 7) as it is typed.
    pub fn check_group(&self, group: usize, text: &str) -> Result<(), EntryError> {
        check_group(group, text).map_err(EntryError::from)
    }

    /// Reads a whole ID as typed: a typo names its group, another kind of ID is named, and
    /// a key pack ID must be one issued for this license server.
    pub fn accept(&self, text: &str) -> Result<Reply, EntryError> {
        let any: AnyId = text.parse()?;
        let expected = self.expects();
        if any.kind() != expected {
            return Err(IdError::WrongKind {
                found: any.kind(),
                expected,
            }
            .into());
        }
        Ok(match expected {
            IdKind::LicenseServerId => Reply::LicenseServerId(any.try_into()?),
            IdKind::ConfirmationCode => Reply::ConfirmationCode(any.try_into()?),
            IdKind::KeyPackId => {
                let id = any.try_into()?;
                if let Some(target) = &self.target {
                    shared::id::KeyPackId::open(&id, target)?;
                }
                Reply::KeyPack(id)
            }
            IdKind::ProductId => {
                return Err(IdError::WrongKind {
                    found: IdKind::ProductId,
                    expected,
                }
                .into());
            }
        })
    }
}

/// An ID typed in (web or telephone method) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A typo, a wrong length, or the wrong kind of ID.
    #[error("{0}")]
    Id(#[from] IdError),
    /// A key pack ID for another license server, or one changed after it was issued.
    #[error("{0}")]
    KeyPack(#[from] KeyPackError),
}

/// The Clearinghouse's name for the task of `handoff`, and its answer to each field the
/// web site's forms and the representative ask, under the same names.
fn answers(handoff: &Handoff) -> (&'static str, Vec<(String, String)>) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut put = |name: &str, value: String| fields.push((name.to_owned(), value));
    let company = &handoff.company;
    for field in CompanyField::ALL {
        if field == CompanyField::CountryRegion {
            // The site lists countries by code.
            put(field.key(), company.country_region().code().to_owned());
        } else if let Some(value) = company.get(field) {
            put(field.key(), value.to_owned());
        }
    }
    let task = match &handoff.request {
        Request::Activate(r) => {
            put("product_id", r.product_id.to_string());
            "activate"
        }
        Request::Reactivate(r) => {
            put("license_server_id", r.license_server_id.to_string());
            put("product_id", r.product_id.to_string());
            put("reason", r.reason.slug().to_owned());
            "reactivate"
        }
        Request::Deactivate(r) => {
            put("license_server_id", r.license_server_id.to_string());
            "deactivate"
        }
        Request::InstallCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            license_fields(&r.license, &r.cals, &mut put);
            "install-cals"
        }
        Request::RecoverCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            license_fields(&r.license, &r.cals, &mut put);
            "recover-cals"
        }
        Request::MigrateCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            put("reason", r.reason.slug().to_owned());
            if let Some(id) = r.source.license_server_id {
                put("source_license_server_id", id.to_string());
            }
            put("source_os", r.source.os.slug().to_owned());
            license_fields(&r.license, &r.cals, &mut put);
            "manage-cals"
        }
    };
    (task, fields)
}

fn license_fields(
    license: &shared::vocab::LicenseProof,
    cals: &shared::wire::CalRequest,
    put: &mut impl FnMut(&str, String),
) {
    put("program", license.program().slug().to_owned());
    match license.proof() {
        Proof::LicenseCode(code) => put("license_code", code.to_string()),
        Proof::OpenLicense {
            authorization_number,
            license_number,
        } => {
            put("authorization_number", authorization_number.to_string());
            put("license_number", license_number.to_string());
        }
        Proof::AgreementNumber(number) => put("agreement_number", number.to_string()),
    }
    put("product_version", cals.product_version.slug().to_owned());
    put("license_type", cals.license_type.slug().to_owned());
    put("quantity", cals.quantity.to_string());
}
