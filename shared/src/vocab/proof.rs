//! The proof of purchase each license program asks for, and the formats of its numbers:
//! a 25-character retail license code, an Open License authorization number (15
//! characters) with its license number (8 digits), or a 7-digit agreement number (8 digits
//! for some enrollments).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::{LicenseProgram, ProofKind, Term};
use crate::grouped::{self, Grouping, LayoutError};

/// The characters of a retail license code: product keys leave out letters and digits that
/// are easily confused (0 and O, 1 and I, 5 and S...).
const LICENSE_CODE_ALPHABET: &[u8] = b"BCDFGHJKMPQRTVWXY2346789";

/// A proof value that could not be read: which value, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what}: {problem}")]
pub struct ValueError {
    /// The value, e.g. "license code".
    pub what: &'static str,
    /// What is wrong with it.
    pub problem: LayoutError,
}

/// Defines a proof value: a newtype over its normalized ASCII text.
macro_rules! proof_value {
    ($(#[$meta:meta])* $name:ident, $what:literal, |$input:ident| $read:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// What this value is called in messages.
            pub const WHAT: &'static str = $what;

            /// The value without separators.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str($input: &str) -> Result<Self, ValueError> {
                let bytes: Result<Vec<u8>, LayoutError> = $read;
                bytes
                    .map(|b| $name(b.into_iter().map(char::from).collect()))
                    .map_err(|problem| ValueError { what: $what, problem })
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        serde_via_str!($name);
    };
}

fn upper_alphanumeric(c: char) -> Option<u8> {
    c.is_ascii_alphanumeric()
        .then_some(c.to_ascii_uppercase() as u8)
}

fn digit(c: char) -> Option<u8> {
    c.is_ascii_digit().then_some(c as u8)
}

proof_value!(
    /// The 25-character license code of a License Pack (Retail Purchase), shown as 5 groups of 5.
    LicenseCode,
    "license code",
    |input| grouped::read(
        input,
        Grouping {
            groups: 5,
            group_len: 5,
            alphabet: "the letters BCDFGHJKMPQRTVWXY and the digits 2346789",
        },
        |c| {
            let upper = c.to_ascii_uppercase();
            (upper.is_ascii() && LICENSE_CODE_ALPHABET.contains(&(upper as u8))).then_some(upper as u8)
        },
    )
);

proof_value!(
    /// The 15-character authorization number of an Open License.
    AuthorizationNumber,
    "authorization number",
    |input| grouped::read_plain(input, &[15], "letters A-Z and digits 0-9", upper_alphanumeric)
);

proof_value!(
    /// The 8-digit license number of an Open License.
    OpenLicenseNumber,
    "license number",
    |input| grouped::read_plain(input, &[8], "digits 0-9", digit)
);

proof_value!(
    /// The agreement or enrollment number of a volume licensing agreement: 7 digits, or 8
    /// for the enrollments that carry 8.
    AgreementNumber,
    "agreement number",
    |input| grouped::read_plain(input, &[7, 8], "digits 0-9", digit)
);

impl fmt::Display for LicenseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<&str> = (0..5).map(|i| &self.0[i * 5..i * 5 + 5]).collect();
        f.write_str(&groups.join("-"))
    }
}

macro_rules! display_as_str {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(AuthorizationNumber, OpenLicenseNumber, AgreementNumber);

/// The proof itself, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proof {
    /// A retail license code.
    LicenseCode(LicenseCode),
    /// An Open License's two numbers.
    OpenLicense {
        /// The authorization number.
        authorization_number: AuthorizationNumber,
        /// The license number.
        license_number: OpenLicenseNumber,
    },
    /// An agreement or enrollment number.
    AgreementNumber(AgreementNumber),
}

/// A license program with the proof it requires: a program never carries another
/// program's kind of proof.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ProofFields", into = "ProofFields")]
pub struct LicenseProof {
    program: LicenseProgram,
    proof: Proof,
}

/// One field of a proof, as forms and the API name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofField {
    /// `license_code`.
    LicenseCode,
    /// `authorization_number`.
    AuthorizationNumber,
    /// `license_number`.
    LicenseNumber,
    /// `agreement_number`.
    AgreementNumber,
}

impl ProofField {
    /// The field's key in the API and in forms.
    pub fn key(self) -> &'static str {
        match self {
            Self::LicenseCode => "license_code",
            Self::AuthorizationNumber => "authorization_number",
            Self::LicenseNumber => "license_number",
            Self::AgreementNumber => "agreement_number",
        }
    }

    /// What the field is called for `program`, e.g. "an enrollment number".
    fn label(self, program: LicenseProgram) -> String {
        match self {
            Self::LicenseCode => "a license code".to_owned(),
            Self::AuthorizationNumber => "an authorization number".to_owned(),
            Self::LicenseNumber => "a license number".to_owned(),
            Self::AgreementNumber => format!("an {}", program.agreement_number_label()),
        }
    }

    /// The fields `program` requires.
    fn required_by(program: LicenseProgram) -> &'static [ProofField] {
        match program.proof_kind() {
            ProofKind::LicenseCode => &[Self::LicenseCode],
            ProofKind::OpenLicense => &[Self::AuthorizationNumber, Self::LicenseNumber],
            ProofKind::AgreementNumber => &[Self::AgreementNumber],
        }
    }

    const ALL: [ProofField; 4] = [
        Self::LicenseCode,
        Self::AuthorizationNumber,
        Self::LicenseNumber,
        Self::AgreementNumber,
    ];
}

impl fmt::Display for ProofField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a program and its proof do not go together.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A field the program requires is missing.
    #[error("{program} needs {}", .field.label(*.program))]
    Missing {
        /// The program.
        program: LicenseProgram,
        /// The missing field.
        field: ProofField,
    },
    /// A field the program does not use was given.
    #[error("{program} does not use {}: give only {}", .field.label(*.program), required_labels(*.program))]
    NotUsed {
        /// The program.
        program: LicenseProgram,
        /// The field that does not belong.
        field: ProofField,
    },
    /// A field is present but malformed.
    #[error("{error}")]
    Invalid {
        /// The malformed field.
        field: ProofField,
        /// What is wrong with it.
        #[source]
        error: ValueError,
    },
    /// An agreement number was given for a program that has none.
    #[error("{program} has no agreement number")]
    NotAnAgreement {
        /// The program.
        program: LicenseProgram,
    },
}

impl ProofError {
    /// The field the error is about, for forms that show errors beside their field.
    pub fn field(&self) -> Option<ProofField> {
        match self {
            Self::Missing { field, .. }
            | Self::NotUsed { field, .. }
            | Self::Invalid { field, .. } => Some(*field),
            Self::NotAnAgreement { .. } => None,
        }
    }
}

fn required_labels(program: LicenseProgram) -> String {
    let labels: Vec<String> = ProofField::required_by(program)
        .iter()
        .map(|f| f.label(program))
        .collect();
    labels.join(" and ")
}

/// A program and its proof as separate optional texts: the shape of a form or a JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFields {
    /// The license program.
    pub program: Option<LicenseProgram>,
    /// For a retail license pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_code: Option<String>,
    /// For an Open License.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_number: Option<String>,
    /// For an Open License.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_number: Option<String>,
    /// For Select, Enterprise, Campus, School, SPLA and other agreements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_number: Option<String>,
}

/// The missing program, reported like any other missing field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the license program is missing: use one of {}", LicenseProgram::ALL.iter().map(|p| p.slug()).collect::<Vec<_>>().join(", "))]
pub struct MissingProgram;

impl ProofFields {
    fn get(&self, field: ProofField) -> Option<&str> {
        let value = match field {
            ProofField::LicenseCode => &self.license_code,
            ProofField::AuthorizationNumber => &self.authorization_number,
            ProofField::LicenseNumber => &self.license_number,
            ProofField::AgreementNumber => &self.agreement_number,
        };
        // A blank form field is the same as one left out.
        value.as_deref().filter(|v| !v.trim().is_empty())
    }
}

impl LicenseProof {
    /// A License Pack (Retail Purchase) with its license code.
    pub fn retail(license_code: LicenseCode) -> Self {
        LicenseProof {
            program: LicenseProgram::RetailPurchase,
            proof: Proof::LicenseCode(license_code),
        }
    }

    /// An Open License with its authorization and license numbers.
    pub fn open_license(
        authorization_number: AuthorizationNumber,
        license_number: OpenLicenseNumber,
    ) -> Self {
        LicenseProof {
            program: LicenseProgram::OpenLicense,
            proof: Proof::OpenLicense {
                authorization_number,
                license_number,
            },
        }
    }

    /// An agreement program with its agreement or enrollment number.
    pub fn agreement(
        program: LicenseProgram,
        agreement_number: AgreementNumber,
    ) -> Result<Self, ProofError> {
        if program.proof_kind() != ProofKind::AgreementNumber {
            return Err(ProofError::NotAnAgreement { program });
        }
        Ok(LicenseProof {
            program,
            proof: Proof::AgreementNumber(agreement_number),
        })
    }

    /// Reads a program and its proof from separate fields, checking that exactly the
    /// fields the program requires are there and well formed.
    pub fn from_fields(program: LicenseProgram, fields: &ProofFields) -> Result<Self, ProofError> {
        let required = ProofField::required_by(program);
        if let Some(&field) = ProofField::ALL
            .iter()
            .find(|f| !required.contains(f) && fields.get(**f).is_some())
        {
            return Err(ProofError::NotUsed { program, field });
        }
        fn value<T: FromStr<Err = ValueError>>(
            program: LicenseProgram,
            fields: &ProofFields,
            field: ProofField,
        ) -> Result<T, ProofError> {
            let text = fields
                .get(field)
                .ok_or(ProofError::Missing { program, field })?;
            text.parse()
                .map_err(|error| ProofError::Invalid { field, error })
        }
        use ProofField as F;
        Ok(match program.proof_kind() {
            ProofKind::LicenseCode => Self::retail(value(program, fields, F::LicenseCode)?),
            ProofKind::OpenLicense => Self::open_license(
                value(program, fields, F::AuthorizationNumber)?,
                value(program, fields, F::LicenseNumber)?,
            ),
            ProofKind::AgreementNumber => {
                Self::agreement(program, value(program, fields, F::AgreementNumber)?)?
            }
        })
    }

    /// The license program.
    pub fn program(&self) -> LicenseProgram {
        self.program
    }

    /// The proof.
    pub fn proof(&self) -> &Proof {
        &self.proof
    }
}

impl TryFrom<ProofFields> for LicenseProof {
    type Error = String;

    fn try_from(fields: ProofFields) -> Result<Self, String> {
        let program = fields.program.ok_or_else(|| MissingProgram.to_string())?;
        LicenseProof::from_fields(program, &fields).map_err(|e| e.to_string())
    }
}

impl From<LicenseProof> for ProofFields {
    fn from(proof: LicenseProof) -> Self {
        let mut fields = ProofFields {
            program: Some(proof.program),
            ..ProofFields::default()
        };
        match proof.proof {
            Proof::LicenseCode(code) => fields.license_code = Some(code.to_string()),
            Proof::OpenLicense {
                authorization_number,
                license_number,
            } => {
                fields.authorization_number = Some(authorization_number.to_string());
                fields.license_number = Some(license_number.to_string());
            }
            Proof::AgreementNumber(number) => fields.agreement_number = Some(number.to_string()),
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "BCDFG-HJKMP-QRTVW-XY234-6789B";

    fn fields(program: LicenseProgram) -> ProofFields {
        ProofFields {
            program: Some(program),
            ..ProofFields::default()
        }
    }

    #[test]
    fn a_license_code_reads_in_any_case_with_or_without_dashes() {
        let code: LicenseCode = CODE.to_lowercase().parse().unwrap();
        assert_eq!(code.to_string(), CODE);
        assert_eq!(CODE.replace('-', "").parse::<LicenseCode>(), Ok(code));
    }

    #[test]
    fn a_license_code_refuses_letters_product_keys_never_use() {
        let err = "BCDFG-HJKMP-QRTVW-XY234-6789O"
            .parse::<LicenseCode>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "license code: 'O' at position 29 is not allowed: use the letters BCDFGHJKMPQRTVWXY and the digits 2346789, with groups separated by '-' or spaces"
        );
    }

    #[test]
    fn number_formats_match_the_paperwork() {
        assert!("1234567".parse::<AgreementNumber>().is_ok());
        assert!("12345678".parse::<AgreementNumber>().is_ok());
        assert!("123456".parse::<AgreementNumber>().is_err());
        assert!("12345678".parse::<OpenLicenseNumber>().is_ok());
        assert!("1234567".parse::<OpenLicenseNumber>().is_err());
        assert_eq!(
            "ab12cd34ef56gh7"
                .parse::<AuthorizationNumber>()
                .map(|a| a.to_string()),
            Ok("AB12CD34EF56GH7".to_owned())
        );
        assert!("AB12CD34EF56GH".parse::<AuthorizationNumber>().is_err());
    }

    #[test]
    fn open_license_needs_both_numbers() {
        let mut f = fields(LicenseProgram::OpenLicense);
        f.license_number = Some("12345678".into());
        let err = LicenseProof::from_fields(LicenseProgram::OpenLicense, &f).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Open License needs an authorization number"
        );
        assert_eq!(err.field(), Some(ProofField::AuthorizationNumber));
    }

    #[test]
    fn an_enterprise_agreement_asks_for_its_enrollment_number() {
        let err = LicenseProof::from_fields(
            LicenseProgram::EnterpriseAgreement,
            &fields(LicenseProgram::EnterpriseAgreement),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Enterprise Agreement needs an enrollment number"
        );
    }

    #[test]
    fn a_field_of_another_program_is_refused() {
        let mut f = fields(LicenseProgram::SelectLicense);
        f.agreement_number = Some("1234567".into());
        f.license_code = Some(CODE.into());
        let err = LicenseProof::from_fields(LicenseProgram::SelectLicense, &f).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Select License does not use a license code: give only an agreement number"
        );
    }

    #[test]
    fn a_malformed_value_names_its_field() {
        let mut f = fields(LicenseProgram::CampusAgreement);
        f.agreement_number = Some("12x4567".into());
        let err = LicenseProof::from_fields(LicenseProgram::CampusAgreement, &f).unwrap_err();
        assert_eq!(err.field(), Some(ProofField::AgreementNumber));
        assert!(
            err.to_string()
                .starts_with("agreement number: 'x' at position 3"),
            "{err}"
        );
    }

    #[test]
    fn json_round_trips_and_explains_mistakes() {
        let proof =
            LicenseProof::agreement(LicenseProgram::SchoolAgreement, "7654321".parse().unwrap())
                .unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        assert_eq!(
            json,
            r#"{"program":"school-agreement","agreement_number":"7654321"}"#
        );
        assert_eq!(serde_json::from_str::<LicenseProof>(&json).unwrap(), proof);

        let err = serde_json::from_str::<LicenseProof>(r#"{"program":"retail"}"#).unwrap_err();
        assert!(err.to_string().contains("needs a license code"), "{err}");
        let err =
            serde_json::from_str::<LicenseProof>(r#"{"agreement_number":"7654321"}"#).unwrap_err();
        assert!(
            err.to_string().contains("license program is missing"),
            "{err}"
        );
    }

    #[test]
    fn only_agreement_programs_take_an_agreement_number() {
        assert_eq!(
            LicenseProof::agreement(LicenseProgram::OpenLicense, "1234567".parse().unwrap()),
            Err(ProofError::NotAnAgreement {
                program: LicenseProgram::OpenLicense
            })
        );
    }
}
