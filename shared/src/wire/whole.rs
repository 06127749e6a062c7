//! Whole numbers as JSON Schema reads them: `5` and `5.0` alike, since a JSON Schema
//! `integer` is any number without a fraction, and a client generated from the API's
//! document may send either.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// A whole number of `T`'s range, written with or without a zero fraction.
pub fn read<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..18_446_744_073_709_551_615.0).contains(f))
            .map(|f| f as u64)
    });
    whole.and_then(|w| T::try_from(w).ok()).ok_or_else(|| {
        D::Error::custom(format!(
            "{number} is not a whole number in the range this field takes"
        ))
    })
}

/// A whole number of `T`'s range that may be absent (or `null`).
pub fn read_some<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<u64>>(#[serde(deserialize_with = "read")] T);
    Ok(Option::<Whole<T>>::deserialize(deserializer)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Count {
        #[serde(deserialize_with = "read")]
        n: u16,
    }

    #[test]
    fn a_whole_number_is_read_with_or_without_a_zero_fraction() {
        let with: Count = serde_json::from_str(r#"{"n": 5.0}"#).unwrap();
        let without: Count = serde_json::from_str(r#"{"n": 5}"#).unwrap();
        assert_eq!((with.n, without.n), (5, 5));
    }

    #[test]
    fn a_fraction_a_negative_or_a_number_past_the_range_is_refused() {
        for body in [
            r#"{"n": 5.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 70000}"#,
            r#"{"n": "5"}"#,
        ] {
            assert!(serde_json::from_str::<Count>(body).is_err(), "{body}");
        }
    }
}
