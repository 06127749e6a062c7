//! The Clearinghouse telephone numbers, by the country/region chosen for a license server.
//!
//! The real list ships inside RD Licensing Manager; only the United States/Canada number,
//! (888) 571-2048, is published. Every other number here is fictitious, taken from ranges
//! set aside for drama and examples where a country has one, so no one is ever dialled
//! for real. Countries without a line of their own use the international line, as the
//! wizard does for regions it has no local number for.

use super::CountryRegion;

/// The number of the Clearinghouse for `(country code, number)`.
const LINES: &[(&str, &str)] = &[
    ("US", "(888) 571-2048"),
    ("CA", "(888) 571-2048"),
    ("GB", "+44 20 7946 0571"),
    ("IE", "+353 1 555 0571"),
    ("AU", "+61 491 570 157"),
    ("NZ", "+64 9 555 0571"),
    ("DE", "+49 30 555 0571"),
    ("FR", "+33 1 99 00 05 71"),
    ("NL", "+31 20 555 0571"),
    ("ES", "+34 91 555 0571"),
    ("IT", "+39 02 555 0571"),
    ("JP", "+81 3 5550 0571"),
    ("IN", "+91 22 5550 0571"),
    ("BR", "+55 11 5550 0571"),
];

/// The international line, for countries and regions without one of their own.
pub const INTERNATIONAL_LINE: &str = "+1 (425) 555-0157";

/// A Clearinghouse telephone line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneLine {
    /// The number to call.
    pub number: &'static str,
    /// Whether it is the international line rather than one for the country/region.
    pub international: bool,
}

impl CountryRegion {
    /// The Clearinghouse number a license server in this country/region calls.
    pub fn clearinghouse_line(self) -> PhoneLine {
        match LINES.iter().find(|(code, _)| *code == self.code()) {
            Some((_, number)) => PhoneLine {
                number,
                international: false,
            },
            None => PhoneLine {
                number: INTERNATIONAL_LINE,
                international: true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> CountryRegion {
        code.parse().unwrap()
    }

    #[test]
    fn the_united_states_and_canada_share_the_published_number() {
        assert_eq!(country("US").clearinghouse_line().number, "(888) 571-2048");
        assert_eq!(country("CA").clearinghouse_line().number, "(888) 571-2048");
    }

    #[test]
    fn a_country_without_its_own_line_gets_the_international_one() {
        let line = country("IS").clearinghouse_line();
        assert!(line.international);
        assert_eq!(line.number, INTERNATIONAL_LINE);
    }

    #[test]
    fn every_listed_country_code_exists() {
        for (code, _) in LINES {
            assert!(code.parse::<CountryRegion>().is_ok(), "{code}");
        }
    }
}
