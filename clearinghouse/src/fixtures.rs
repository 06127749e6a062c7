//! The seed data tenants start with (agreements, Open Licenses and retail license codes)
//! and the phone desks, read from `fixtures/` (built into the binary, or from a directory
//! given at start-up).

use std::path::{Path, PathBuf};

use shared::vocab::{PhoneBook, PhoneBookError};
use shared::wire::PurchaseSpec;
use thiserror::Error;

/// The fixture files that hold purchases.
const PURCHASE_FILES: [&str; 2] = ["agreements.json", "retail-codes.json"];

const EMBEDDED: [(&str, &str); 2] = [
    (
        "agreements.json",
        include_str!("../../fixtures/agreements.json"),
    ),
    (
        "retail-codes.json",
        include_str!("../../fixtures/retail-codes.json"),
    ),
];

/// A fixture file that could not be used.
#[derive(Debug, Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read fixture file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON list.
    #[error("fixture file {file} is not a JSON list of purchases: {message}")]
    NotAList {
        /// The file.
        file: String,
        /// What the JSON parser said.
        message: String,
    },
    /// The phone desks cannot be used.
    #[error("fixture file {path}: {source}")]
    PhoneBook {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: PhoneBookError,
    },
    /// One entry is not a valid purchase.
    #[error("fixture file {file}, entry {entry}: {message}")]
    Entry {
        /// The file.
        file: String,
        /// The entry, from 1.
        entry: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// The file of the phone desks.
const PHONE_FILE: &str = "phone-lines.json";

/// The phone desks in `dir`, or the built-in ones when it has no phone file (a directory
/// of purchases alone keeps working).
pub fn phone_book(dir: Option<&Path>) -> Result<PhoneBook, FixtureError> {
    let Some(path) = dir.map(|d| d.join(PHONE_FILE)).filter(|p| p.exists()) else {
        return Ok(PhoneBook::embedded().clone());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| FixtureError::Read {
        path: path.clone(),
        source,
    })?;
    PhoneBook::parse(&text).map_err(|source| FixtureError::PhoneBook { path, source })
}

/// The purchases built into the binary.
pub fn embedded() -> Result<Vec<PurchaseSpec>, FixtureError> {
    let mut out = Vec::new();
    for (file, text) in EMBEDDED {
        out.extend(parse(file, text)?);
    }
    Ok(out)
}

/// The purchases in the fixture files of `dir`.
pub fn load(dir: &Path) -> Result<Vec<PurchaseSpec>, FixtureError> {
    let mut out = Vec::new();
    for file in PURCHASE_FILES {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| FixtureError::Read {
            path: path.clone(),
            source,
        })?;
        out.extend(parse(&path.display().to_string(), &text)?);
    }
    Ok(out)
}

fn parse(file: &str, text: &str) -> Result<Vec<PurchaseSpec>, FixtureError> {
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| FixtureError::NotAList {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            serde_json::from_value(entry).map_err(|e| FixtureError::Entry {
                file: file.to_owned(),
                entry: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fixtures_are_valid_and_cover_every_program() {
        let purchases = embedded().unwrap();
        for program in <shared::vocab::LicenseProgram as shared::vocab::Term>::ALL {
            assert!(
                purchases.iter().any(|p| p.license.program() == *program),
                "no fixture for {program}"
            );
        }
    }

    #[test]
    fn a_bad_entry_is_named_by_file_and_number() {
        let err = parse("x.json", r#"[{"license":{"program":"select","agreement_number":"1234567"},"cals":[]}, {"license":{"program":"select"}}]"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("fixture file x.json, entry 2: "),
            "{err}"
        );
    }
}
