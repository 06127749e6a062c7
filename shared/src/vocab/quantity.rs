//! How many CALs a request asks for: 1 to 9,999, the most one key pack ID can carry.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A number of CALs, from 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(u16);

/// A quantity outside 1 to 9,999, or not a number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("quantity must be a whole number from 1 to 9,999, not {found:?}")]
pub struct QuantityError {
    /// What was given.
    pub found: String,
}

impl Quantity {
    /// The most CALs one key pack can hold.
    pub const MAX: u16 = 9_999;

    /// `n` CALs, if `n` is from 1 to 9,999.
    pub fn new(n: u16) -> Result<Self, QuantityError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(QuantityError {
                found: n.to_string(),
            })
        }
    }

    /// The number of CALs.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || QuantityError {
            found: s.to_owned(),
        };
        let n: u16 = s.trim().parse().map_err(|_| err())?;
        Quantity::new(n).map_err(|_| err())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as any number so that 0, negatives, 70,000 and 2.5 get our message, not
        // serde's; 5.0 is 5, as a JSON Schema integer is.
        let n = serde_json::Number::deserialize(deserializer)?;
        let whole = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        whole
            .and_then(|w| u16::try_from(w).ok())
            .and_then(|w| Quantity::new(w).ok())
            .ok_or_else(|| {
                serde::de::Error::custom(QuantityError {
                    found: n.to_string(),
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_9999_are_quantities() {
        assert_eq!(Quantity::new(1).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::new(9_999).map(Quantity::get), Ok(9_999));
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(10_000).is_err());
    }

    #[test]
    fn text_and_json_out_of_range_get_the_same_message() {
        let text = "0".parse::<Quantity>().unwrap_err().to_string();
        assert_eq!(
            text,
            "quantity must be a whole number from 1 to 9,999, not \"0\""
        );
        let json = serde_json::from_str::<Quantity>("70000")
            .unwrap_err()
            .to_string();
        assert!(
            json.starts_with("quantity must be a whole number from 1 to 9,999, not \"70000\""),
            "{json}"
        );
        assert!("ten".parse::<Quantity>().is_err());
        assert_eq!("25".parse::<Quantity>().map(Quantity::get), Ok(25));
    }
}
