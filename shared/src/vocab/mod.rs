//! The licensing vocabulary: closed sets of terms (product versions, license types,
//! programs, reasons, connection methods) and the values a person types (license codes,
//! agreement numbers, quantities, company information).
//!
//! Every term has a display name (what the wizard shows), a stable slug (what the API and
//! the command line use) and reads back from either, case and punctuation ignored.

mod company;
mod countries;
mod phone;
mod proof;
mod quantity;
mod terms;

use thiserror::Error;

pub use company::{CompanyError, CompanyField, CompanyFields, CompanyInfo, CountryRegion};
pub use phone::{PhoneBook, PhoneBookError, PhoneLine};
pub use proof::{
    AgreementNumber, AuthorizationNumber, LicenseCode, LicenseProof, OpenLicenseNumber, Proof,
    ProofError, ProofField, ProofFields, ValueError,
};
pub use quantity::{Quantity, QuantityError};
pub use terms::{
    ConnectionMethod, LicenseProgram, LicenseType, MigrationReason, ProductVersion, ProofKind,
    ReactivationReason, WindowsServer,
};

/// A closed set of terms, each with a display name, a slug and other accepted spellings.
pub trait Term: Copy + Eq + 'static {
    /// What a term of this set is called, e.g. "product version".
    const WHAT: &'static str;
    /// Every term, in the order a list shows them.
    const ALL: &'static [Self];
    /// The name a person reads, e.g. "Windows Server 2008 R2".
    fn name(self) -> &'static str;
    /// The stable machine form, e.g. "2008-r2".
    fn slug(self) -> &'static str;
    /// Other spellings that read as this term.
    fn aliases(self) -> &'static [&'static str] {
        &[]
    }
}

/// A word that names no term of the set it was read as.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what} {found:?}: use one of {expected}")]
pub struct UnknownTerm {
    /// The set, e.g. "license type".
    pub what: &'static str,
    /// What was given.
    pub found: String,
    /// The slugs that would have been accepted.
    pub expected: String,
}

/// Lower-case letters and digits only: what is compared when a term is read.
fn fold(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Reads `text` as a term of `T` by its slug, its name or an alias.
pub fn parse_term<T: Term>(text: &str) -> Result<T, UnknownTerm> {
    // The slug itself is what machines send: match it without allocating.
    if let Some(term) = T::ALL.iter().copied().find(|t| t.slug() == text) {
        return Ok(term);
    }
    let key = fold(text);
    T::ALL
        .iter()
        .copied()
        .find(|t| {
            !key.is_empty()
                && (fold(t.slug()) == key
                    || fold(t.name()) == key
                    || t.aliases().iter().any(|a| fold(a) == key))
        })
        .ok_or_else(|| UnknownTerm {
            what: T::WHAT,
            found: text.to_owned(),
            expected: T::ALL
                .iter()
                .map(|t| t.slug())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
