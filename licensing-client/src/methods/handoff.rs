//! The web browser and telephone connection methods: the license server cannot reach the
//! Clearinghouse itself, so a person carries the request to the licensing web site or a
//! representative and types back the ID they are given.
//!
//! A [`Handoff`] says where to go and what to give; it also checks what is typed back,
//! group by group, before anything is installed.

use std::collections::HashMap;

use shared::id::{AnyId, IdError, IdKind, LicenseServerId, check_group};
use shared::tasks::Task;
use shared::vocab::{CompanyField, CompanyInfo, CountryRegion, PhoneBook, Proof, Term};

use shared::id::{BindingError, KeyPackError};
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
        /// The seat token the site asks for, when the tenant is a class's seat.
        seat_token: Option<String>,
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
        /// The Clearinghouse whose phone line answers the number (and the tenant the
        /// representative asks for).
        clearinghouse: ClearinghouseAddress,
        /// Where its simulated phone line answers (`host:port`), when the Clearinghouse
        /// said.
        line: Option<String>,
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
        Desk::Web {
            url,
            seat_token: address.seat_token.clone(),
        }
    }

    /// The telephone desk for `country` (from the phone book in `fixtures/`) of the
    /// Clearinghouse at `address`.
    pub fn telephone(
        country: CountryRegion,
        address: &ClearinghouseAddress,
        line: Option<String>,
    ) -> Self {
        let desk = PhoneBook::embedded().line_for(country);
        Desk::Telephone {
            number: desk.number.clone(),
            desk: desk.desk.clone(),
            country,
            international: desk.is_international(),
            clearinghouse: address.clone(),
            line,
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

    /// The Clearinghouse's task the request is for.
    pub fn task(&self) -> Task {
        self.request.task()
    }

    /// What to give the web site or the representative: every field they ask for this
    /// request, in the order they ask, under the labels they use (`shared::tasks`), each
    /// with this request's answer as a person reads it. Optional fields the license server
    /// has no answer to are left out.
    pub fn particulars(&self) -> Vec<(String, String)> {
        let task = self.task();
        let chosen = self.request.chosen();
        let (_, answers) = self.answers();
        let answers: HashMap<String, String> = answers.into_iter().collect();
        task.fields(chosen)
            .into_iter()
            .filter_map(|field| {
                let value = answers.get(field.name()).filter(|v| !v.is_empty())?;
                Some((field.label(task, chosen), field.shown(value)))
            })
            .collect()
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
            IdKind::LicenseServerId => {
                let id: LicenseServerId = any.try_into()?;
                // Issued for this license server's product ID, and new on a reactivation.
                match &self.request {
                    Request::Activate(r) => id.check_issued_for(&r.product_id)?,
                    Request::Reactivate(r) => {
                        id.check_issued_for(&r.product_id)?;
                        if id == r.license_server_id {
                            return Err(EntryError::NotNew(id));
                        }
                    }
                    _ => {}
                }
                Reply::LicenseServerId(id)
            }
            IdKind::ConfirmationCode => {
                let code: shared::id::ConfirmationCode = any.try_into()?;
                if let Request::Deactivate(r) = &self.request {
                    code.check_issued_for(&r.license_server_id)?;
                }
                Reply::ConfirmationCode(code)
            }
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
    /// A license server ID or confirmation code issued for another license server.
    #[error("{0}")]
    Binding(#[from] BindingError),
    /// The license server ID the server has now, typed back after a reactivation.
    #[error(
        "{0} is this license server's ID now: a reactivation gives a new one; type the license server ID the Clearinghouse gave for the reactivation"
    )]
    NotNew(LicenseServerId),
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
    match &handoff.request {
        Request::Activate(r) => {
            put("product_id", r.product_id.to_string());
        }
        Request::Reactivate(r) => {
            put("license_server_id", r.license_server_id.to_string());
            put("product_id", r.product_id.to_string());
            put("reason", r.reason.slug().to_owned());
        }
        Request::Deactivate(r) => {
            put("license_server_id", r.license_server_id.to_string());
        }
        Request::InstallCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            license_fields(&r.license, r.cals.as_ref(), &mut put);
        }
        Request::RecoverCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            license_fields(&r.license, Some(&r.cals), &mut put);
        }
        Request::MigrateCals(r) => {
            put("license_server_id", r.license_server_id.to_string());
            put("reason", r.reason.slug().to_owned());
            if let Some(id) = r.source.license_server_id {
                put("source_license_server_id", id.to_string());
            }
            if let Some(os) = r.source.os {
                put("source_os", os.slug().to_owned());
            }
            license_fields(&r.license, Some(&r.cals), &mut put);
        }
    }
    (handoff.request.task().slug(), fields)
}

fn license_fields(
    license: &shared::vocab::LicenseProof,
    cals: Option<&shared::wire::CalRequest>,
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
    // A retail license code says its CALs; the site asks for none then.
    if let Some(cals) = cals {
        put("product_version", cals.product_version.slug().to_owned());
        put("license_type", cals.license_type.slug().to_owned());
        put("quantity", cals.quantity.to_string());
    }
}
