//! The Clearinghouse telephone numbers: which desk a license server in each country/region
//! calls, and at what number.
//!
//! The real list ships inside RD Licensing Manager and only the United States/Canada
//! number is published, so the simulation's numbers are fictional, from ranges set aside
//! for fiction, and shown marked as simulated. They live in `fixtures/phone-lines.json`,
//! which both sides read: the license server to show the number, the clearinghouse's
//! phone line to know which desk was called. A country/region without a desk of its own
//! calls the international desk, as the wizard does for regions it has no number for.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;
use thiserror::Error;

use super::CountryRegion;

/// The phone book built from `fixtures/phone-lines.json`.
const EMBEDDED: &str = include_str!("../../../fixtures/phone-lines.json");

/// A Clearinghouse desk and its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneLine {
    /// The desk's name, e.g. "United Kingdom".
    pub desk: String,
    /// The number to call, as shown, e.g. "+44 20 7946 0571".
    pub number: String,
    /// The countries/regions it serves; empty for the international desk.
    pub countries: Vec<CountryRegion>,
}

impl PhoneLine {
    /// Whether this is the international desk, for countries without one of their own.
    pub fn is_international(&self) -> bool {
        self.countries.is_empty()
    }

    /// The number as a person should see it: marked as a simulated line.
    pub fn shown_number(&self) -> String {
        format!("{} (simulated)", self.number)
    }
}

/// Why a phone book cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneBookError {
    /// Not the JSON document expected.
    #[error("not a phone book ({0})")]
    Format(String),
    /// A country/region code that does not exist.
    #[error("desk {desk:?}: {code:?} is not a country/region code")]
    UnknownCountry {
        /// The desk.
        desk: String,
        /// The code.
        code: String,
    },
    /// A country/region given to two desks.
    #[error("{country} is served by two desks ({first:?} and {second:?})")]
    TwoDesks {
        /// The country/region.
        country: CountryRegion,
        /// One desk.
        first: String,
        /// The other.
        second: String,
    },
    /// A number that is not one, or is another desk's.
    #[error("desk {desk:?}: {reason}")]
    BadNumber {
        /// The desk.
        desk: String,
        /// What is wrong with its number.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookFile {
    #[allow(dead_code)]
    simulated: String,
    desks: Vec<DeskFile>,
    international: DeskFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeskFile {
    desk: String,
    number: String,
    #[serde(default)]
    countries: Vec<String>,
}

/// Every desk of the Clearinghouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneBook {
    desks: Vec<PhoneLine>,
    international: PhoneLine,
}

/// The digits of a phone number, which is what two spellings of it share.
fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

impl PhoneBook {
    /// Reads a phone book in the format of `fixtures/phone-lines.json`.
    pub fn parse(json: &str) -> Result<PhoneBook, PhoneBookError> {
        let file: BookFile =
            serde_json::from_str(json).map_err(|e| PhoneBookError::Format(e.to_string()))?;
        let mut served: Vec<(CountryRegion, String)> = Vec::new();
        let mut numbers = HashSet::new();
        let mut line = |desk: DeskFile| -> Result<PhoneLine, PhoneBookError> {
            let bad = |reason: String| PhoneBookError::BadNumber {
                desk: desk.desk.clone(),
                reason,
            };
            if desk.desk.trim().is_empty() {
                return Err(bad("a desk needs a name".into()));
            }
            let number = digits(&desk.number);
            if !(7..=15).contains(&number.len()) {
                return Err(bad(format!(
                    "{:?} is not a phone number (7 to 15 digits)",
                    desk.number
                )));
            }
            if !numbers.insert(number) {
                return Err(bad(format!("{:?} is another desk's number", desk.number)));
            }
            let mut countries = Vec::new();
            for code in &desk.countries {
                let country: CountryRegion =
                    code.parse().map_err(|_| PhoneBookError::UnknownCountry {
                        desk: desk.desk.clone(),
                        code: code.clone(),
                    })?;
                if let Some((_, first)) = served.iter().find(|(c, _)| *c == country) {
                    return Err(PhoneBookError::TwoDesks {
                        country,
                        first: first.clone(),
                        second: desk.desk.clone(),
                    });
                }
                served.push((country, desk.desk.clone()));
                countries.push(country);
            }
            Ok(PhoneLine {
                desk: desk.desk,
                number: desk.number,
                countries,
            })
        };
        let desks = file
            .desks
            .into_iter()
            .map(&mut line)
            .collect::<Result<Vec<_>, _>>()?;
        let mut international = file.international;
        international.countries.clear();
        let international = line(international)?;
        Ok(PhoneBook {
            desks,
            international,
        })
    }

    /// The phone book in `fixtures/phone-lines.json`, built in.
    pub fn embedded() -> &'static PhoneBook {
        static BOOK: OnceLock<PhoneBook> = OnceLock::new();
        BOOK.get_or_init(|| {
            // A tidy test holds the fixture valid; an invalid one fails every build's tests.
            PhoneBook::parse(EMBEDDED).unwrap_or_else(|e| {
                panic!("fixtures/phone-lines.json is invalid: {e}");
            })
        })
    }

    /// The desk a license server in `country` calls.
    pub fn line_for(&self, country: CountryRegion) -> &PhoneLine {
        self.desks
            .iter()
            .find(|d| d.countries.contains(&country))
            .unwrap_or(&self.international)
    }

    /// The desk whose number was dialled, however it was spelt.
    /// The international prefix `00` may stand for `+`, and a number of 10 digits or
    /// more may leave out its country code.
    pub fn dialled(&self, number: &str) -> Option<&PhoneLine> {
        let typed = digits(number);
        let dialled = typed.strip_prefix("00").unwrap_or(&typed);
        if dialled.len() < 7 {
            return None;
        }
        self.lines().find(|d| {
            let listed = digits(&d.number);
            listed == dialled || (dialled.len() >= 10 && listed.ends_with(dialled))
        })
    }

    /// Every desk, the international one last.
    pub fn lines(&self) -> impl Iterator<Item = &PhoneLine> {
        self.desks
            .iter()
            .chain(std::iter::once(&self.international))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> CountryRegion {
        code.parse().unwrap()
    }

    #[test]
    fn the_embedded_book_is_valid() {
        PhoneBook::parse(EMBEDDED).unwrap();
    }

    #[test]
    fn the_united_states_and_canada_share_a_desk() {
        let book = PhoneBook::embedded();
        assert_eq!(book.line_for(country("US")), book.line_for(country("CA")));
        assert!(!book.line_for(country("US")).is_international());
    }

    #[test]
    fn a_country_without_a_desk_calls_the_international_one() {
        let line = PhoneBook::embedded().line_for(country("IS"));
        assert!(line.is_international());
    }

    #[test]
    fn a_number_is_found_however_it_is_spelt() {
        let book = PhoneBook::embedded();
        let uk = book.line_for(country("GB"));
        assert_eq!(book.dialled("+44-20-7946-0571"), Some(uk));
        assert_eq!(book.dialled("00442079460571"), Some(uk));
        let us = book.line_for(country("US"));
        assert_eq!(book.dialled("(888) 555-0148"), Some(us));
        assert_eq!(book.dialled("555-0148"), None);
        assert_eq!(book.dialled("+44 20 7946 0572"), None);
    }

    #[test]
    fn the_shown_number_is_marked_as_simulated() {
        let line = PhoneBook::embedded().line_for(country("GB"));
        assert_eq!(line.shown_number(), "+44 20 7946 0571 (simulated)");
    }

    #[test]
    fn a_country_served_twice_is_refused() {
        let json = r#"{"simulated":"","desks":[
            {"desk":"A","number":"+1 555 0100 01","countries":["US"]},
            {"desk":"B","number":"+1 555 0100 02","countries":["US"]}],
            "international":{"desk":"I","number":"+1 555 0100 03"}}"#;
        let err = PhoneBook::parse(json).unwrap_err();
        assert!(matches!(err, PhoneBookError::TwoDesks { .. }), "{err}");
    }

    #[test]
    fn an_unknown_country_code_and_a_shared_number_are_refused() {
        let unknown = r#"{"simulated":"","desks":[
            {"desk":"A","number":"+1 555 0100 01","countries":["XX"]}],
            "international":{"desk":"I","number":"+1 555 0100 03"}}"#;
        assert!(matches!(
            PhoneBook::parse(unknown),
            Err(PhoneBookError::UnknownCountry { .. })
        ));
        let shared = r#"{"simulated":"","desks":[
            {"desk":"A","number":"+1 555 0100 01","countries":["US"]}],
            "international":{"desk":"I","number":"+1-555-0100-01"}}"#;
        assert!(matches!(
            PhoneBook::parse(shared),
            Err(PhoneBookError::BadNumber { .. })
        ));
    }
}
