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
pub(crate) use terms::RETIRED_2012_R2_CODE;
pub use terms::{
    ConnectionMethod, LicenseProgram, LicenseType, MigrationReason, ProductVersion, ProofKind,
    ReactivationReason, WindowsServer,
};

/// `n` of a thing, the noun in the singular for one: `counted(1, "CAL")` is "1 CAL",
/// `counted(5, "Windows Server 2019 Per Device CAL")` is "5 Windows Server 2019 Per Device
/// CALs".
pub fn counted<N>(n: N, noun: &str) -> String
where
    N: Copy + std::fmt::Display + PartialEq + From<u8>,
{
    if n == N::from(1) {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

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
    /// What to say of a word that names no term but is a known mistake, given folded
    /// (lower-case letters and digits only).
    fn hint(folded: &str) -> Option<&'static str> {
        let _ = folded;
        None
    }
}

/// A word that names no term of the set it was read as.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what} {found:?}: {}use one of {expected}", .hint.map(|h| format!("{h}; ")).unwrap_or_default())]
pub struct UnknownTerm {
    /// The set, e.g. "license type".
    pub what: &'static str,
    /// What was given.
    pub found: String,
    /// Why it is no term, when it is a known mistake.
    pub hint: Option<&'static str>,
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
            hint: T::hint(&key),
            expected: T::ALL
                .iter()
                .map(|t| t.slug())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
