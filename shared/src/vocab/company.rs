//! The company information a license server is activated with: required first name, last
//! name, company and country/region; optional e-mail, phone, organizational unit and
//! address. Every field is trimmed and bounded, so nothing unbounded reaches the ledger or
//! a page; text is kept as typed (pages escape it when they show it).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::countries::COUNTRIES;

/// A country or region, by its ISO 3166-1 alpha-2 code.
///
/// Reads from the code or the English name; shows the name; serializes as the code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryRegion(u16);

/// Text that names no country or region.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "unknown country or region {found:?}: use a two-letter ISO 3166 code such as US or DE, or the English name"
)]
pub struct UnknownCountry {
    /// What was given.
    pub found: String,
}

impl CountryRegion {
    /// The two-letter ISO 3166-1 code, e.g. "DE".
    pub fn code(self) -> &'static str {
        COUNTRIES[usize::from(self.0)].0
    }

    /// The English short name, e.g. "Germany".
    pub fn name(self) -> &'static str {
        COUNTRIES[usize::from(self.0)].1
    }

    /// Every country and region, sorted by name.
    pub fn all() -> impl Iterator<Item = CountryRegion> {
        (0..COUNTRIES.len()).map(|i| CountryRegion(i as u16))
    }
}

impl FromStr for CountryRegion {
    type Err = UnknownCountry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let key = match text.to_ascii_uppercase().as_str() {
            "USA" => "US".to_owned(),
            "UK" => "GB".to_owned(),
            _ => text.to_owned(),
        };
        COUNTRIES
            .iter()
            .position(|(code, name)| {
                code.eq_ignore_ascii_case(&key) || name.eq_ignore_ascii_case(&key)
            })
            .map(|i| CountryRegion(i as u16))
            .ok_or_else(|| UnknownCountry {
                found: s.to_owned(),
            })
    }
}

impl fmt::Display for CountryRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for CountryRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryRegion({})", self.code())
    }
}

impl serde::Serialize for CountryRegion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for CountryRegion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One field of the company information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompanyField {
    /// Required.
    FirstName,
    /// Required.
    LastName,
    /// Required.
    Company,
    /// Required.
    CountryRegion,
    /// Optional.
    Email,
    /// Optional.
    Phone,
    /// Optional: the unit within the organization that this license server serves.
    OrganizationalUnit,
    /// Optional.
    Address,
    /// Optional.
    City,
    /// Optional.
    StateProvince,
    /// Optional.
    PostalCode,
}

impl CompanyField {
    /// Every field, required ones first, in the order the wizard shows them.
    pub const ALL: [CompanyField; 11] = [
        Self::FirstName,
        Self::LastName,
        Self::Company,
        Self::CountryRegion,
        Self::Email,
        Self::Phone,
        Self::OrganizationalUnit,
        Self::Address,
        Self::City,
        Self::StateProvince,
        Self::PostalCode,
    ];

    /// The field's key in the API and in forms.
    pub fn key(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Company => "company",
            Self::CountryRegion => "country_region",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::OrganizationalUnit => "organizational_unit",
            Self::Address => "address",
            Self::City => "city",
            Self::StateProvince => "state_province",
            Self::PostalCode => "postal_code",
        }
    }

    /// The field's label, as a form shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::FirstName => "first name",
            Self::LastName => "last name",
            Self::Company => "company",
            Self::CountryRegion => "country/region",
            Self::Email => "e-mail address",
            Self::Phone => "phone number",
            Self::OrganizationalUnit => "organizational unit",
            Self::Address => "address",
            Self::City => "city",
            Self::StateProvince => "state/province",
            Self::PostalCode => "postal code",
        }
    }

    /// Whether the Clearinghouse requires the field.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Self::FirstName | Self::LastName | Self::Company | Self::CountryRegion
        )
    }

    /// The most characters the field holds.
    pub fn max_chars(self) -> usize {
        match self {
            Self::FirstName | Self::LastName | Self::City | Self::StateProvince => 64,
            Self::Company | Self::OrganizationalUnit => 128,
            Self::CountryRegion | Self::PostalCode => 16,
            Self::Email => 254,
            Self::Phone => 32,
            Self::Address => 256,
        }
    }
}

/// Why company information was refused. Every error names its field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CompanyError {
    /// A required field is missing or blank.
    #[error("{} is required", .field.label())]
    Missing {
        /// The field.
        field: CompanyField,
    },
    /// A field is longer than it may be.
    #[error("{} is longer than {} characters", .field.label(), .field.max_chars())]
    TooLong {
        /// The field.
        field: CompanyField,
    },
    /// A field holds a control character (a line break, a tab, ...).
    #[error("{} contains a control character such as a line break", .field.label())]
    ControlCharacter {
        /// The field.
        field: CompanyField,
    },
    /// The e-mail address is not one.
    #[error("e-mail address {found:?} is not an e-mail address like name@example.com")]
    InvalidEmail {
        /// What was given.
        found: String,
    },
    /// The phone number holds something other than digits and + - ( ) . and spaces.
    #[error("phone number {found:?} may hold only digits, spaces and + - ( ) .")]
    InvalidPhone {
        /// What was given.
        found: String,
    },
    /// The country or region is unknown.
    #[error(transparent)]
    UnknownCountry(#[from] UnknownCountry),
    /// A field this form does not have.
    #[error("unknown field {found:?}")]
    UnknownField {
        /// The field's key.
        found: String,
    },
}

impl CompanyError {
    /// The field the error is about.
    pub fn field(&self) -> Option<CompanyField> {
        match self {
            Self::Missing { field }
            | Self::TooLong { field }
            | Self::ControlCharacter { field } => Some(*field),
            Self::InvalidEmail { .. } => Some(CompanyField::Email),
            Self::InvalidPhone { .. } => Some(CompanyField::Phone),
            Self::UnknownCountry(_) => Some(CompanyField::CountryRegion),
            Self::UnknownField { .. } => None,
        }
    }
}

/// Company information as separate optional texts: the shape of a form or a JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // The fields are those of `CompanyField`, documented there.
pub struct CompanyFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

impl CompanyFields {
    /// The text of `field`, if given.
    pub fn get(&self, field: CompanyField) -> Option<&str> {
        self.slot(field).as_deref()
    }

    /// Sets `field` (a form or prompt filling the fields one by one).
    pub fn set(&mut self, field: CompanyField, value: Option<String>) {
        *self.slot_mut(field) = value;
    }

    /// Sets the field whose key is `key`.
    pub fn set_key(&mut self, key: &str, value: Option<String>) -> Result<(), CompanyError> {
        let field = CompanyField::ALL
            .into_iter()
            .find(|f| f.key() == key)
            .ok_or_else(|| CompanyError::UnknownField {
                found: key.to_owned(),
            })?;
        self.set(field, value);
        Ok(())
    }

    fn slot(&self, field: CompanyField) -> &Option<String> {
        match field {
            CompanyField::FirstName => &self.first_name,
            CompanyField::LastName => &self.last_name,
            CompanyField::Company => &self.company,
            CompanyField::CountryRegion => &self.country_region,
            CompanyField::Email => &self.email,
            CompanyField::Phone => &self.phone,
            CompanyField::OrganizationalUnit => &self.organizational_unit,
            CompanyField::Address => &self.address,
            CompanyField::City => &self.city,
            CompanyField::StateProvince => &self.state_province,
            CompanyField::PostalCode => &self.postal_code,
        }
    }

    fn slot_mut(&mut self, field: CompanyField) -> &mut Option<String> {
        match field {
            CompanyField::FirstName => &mut self.first_name,
            CompanyField::LastName => &mut self.last_name,
            CompanyField::Company => &mut self.company,
            CompanyField::CountryRegion => &mut self.country_region,
            CompanyField::Email => &mut self.email,
            CompanyField::Phone => &mut self.phone,
            CompanyField::OrganizationalUnit => &mut self.organizational_unit,
            CompanyField::Address => &mut self.address,
            CompanyField::City => &mut self.city,
            CompanyField::StateProvince => &mut self.state_province,
            CompanyField::PostalCode => &mut self.postal_code,
        }
    }
}

/// `value` of `field` trimmed, if given: `None` for an optional field left empty.
fn clean_field(field: CompanyField, value: Option<&str>) -> Result<Option<String>, CompanyError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return if field.is_required() {
            Err(CompanyError::Missing { field })
        } else {
            Ok(None)
        };
    };
    if value.chars().count() > field.max_chars() {
        return Err(CompanyError::TooLong { field });
    }
    if value.chars().any(char::is_control) {
        return Err(CompanyError::ControlCharacter { field });
    }
    match field {
        CompanyField::Email if !is_email(value) => Err(CompanyError::InvalidEmail {
            found: value.to_owned(),
        }),
        CompanyField::Phone if !is_phone(value) => Err(CompanyError::InvalidPhone {
            found: value.to_owned(),
        }),
        _ => Ok(Some(value.to_owned())),
    }
}

/// Valid company information: the required fields present, every field within bounds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "CompanyFields", into = "CompanyFields")]
pub struct CompanyInfo {
    /// Every field, trimmed; the required ones are always there.
    fields: CompanyFields,
    country_region: CountryRegion,
}

impl CompanyInfo {
    /// Checks `fields`: the first error found, in the order of [`CompanyField::ALL`].
    pub fn new(fields: CompanyFields) -> Result<Self, CompanyError> {
        Self::checked(&fields).map_err(|mut errors| errors.remove(0))
    }

    /// Checks `fields`: every field that is wrong, each with its error, in the order of
    /// [`CompanyField::ALL`] (a form shows them all at once). Never an empty list.
    pub fn checked(fields: &CompanyFields) -> Result<Self, Vec<CompanyError>> {
        let mut clean = CompanyFields::default();
        let mut errors = Vec::new();
        let mut country_region = None;
        for field in CompanyField::ALL {
            match clean_field(field, fields.get(field)) {
                Ok(None) => {}
                Ok(Some(value)) if field == CompanyField::CountryRegion => {
                    match value.parse::<CountryRegion>() {
                        Ok(country) => {
                            clean.set(field, Some(country.code().to_owned()));
                            country_region = Some(country);
                        }
                        Err(e) => errors.push(e.into()),
                    }
                }
                Ok(Some(value)) => clean.set(field, Some(value)),
                Err(e) => errors.push(e),
            }
        }
        match country_region {
            Some(country_region) if errors.is_empty() => Ok(CompanyInfo {
                fields: clean,
                country_region,
            }),
            _ => Err(errors),
        }
    }

    /// The first name.
    pub fn first_name(&self) -> &str {
        self.fields.get(CompanyField::FirstName).unwrap_or_default()
    }

    /// The last name.
    pub fn last_name(&self) -> &str {
        self.fields.get(CompanyField::LastName).unwrap_or_default()
    }

    /// The company.
    pub fn company(&self) -> &str {
        self.fields.get(CompanyField::Company).unwrap_or_default()
    }

    /// The country or region.
    pub fn country_region(&self) -> CountryRegion {
        self.country_region
    }

    /// Any field, required or optional, as text (the country as its code).
    pub fn get(&self, field: CompanyField) -> Option<&str> {
        self.fields.get(field)
    }

    /// The fields, for a form to show again.
    pub fn fields(&self) -> &CompanyFields {
        &self.fields
    }
}

impl TryFrom<CompanyFields> for CompanyInfo {
    type Error = CompanyError;

    fn try_from(fields: CompanyFields) -> Result<Self, CompanyError> {
        CompanyInfo::new(fields)
    }
}

impl From<CompanyInfo> for CompanyFields {
    fn from(info: CompanyInfo) -> Self {
        info.fields
    }
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
}

fn is_phone(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && text.chars().filter(char::is_ascii_digit).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let fields = CompanyFields {
            first_name: Some("Ada".into()),
            email: Some("not an address".into()),
            ..CompanyFields::default()
        };
        let errors = CompanyInfo::checked(&fields).unwrap_err();
        let wrong: Vec<Option<CompanyField>> = errors.iter().map(CompanyError::field).collect();
        assert_eq!(
            wrong,
            [
                Some(CompanyField::LastName),
                Some(CompanyField::Company),
                Some(CompanyField::CountryRegion),
                Some(CompanyField::Email),
            ]
        );
        assert_eq!(
            CompanyInfo::new(fields).unwrap_err(),
            CompanyError::Missing {
                field: CompanyField::LastName
            }
        );
    }

    fn required() -> CompanyFields {
        CompanyFields {
            first_name: Some(" Ada ".into()),
            last_name: Some("Lovelace".into()),
            company: Some("Analytical Engines Ltd".into()),
            country_region: Some("gb".into()),
            ..CompanyFields::default()
        }
    }

    #[test]
    fn the_four_required_fields_are_enough() {
        let info = CompanyInfo::new(required()).unwrap();
        assert_eq!(info.first_name(), "Ada");
        assert_eq!(info.country_region().name(), "United Kingdom");
        assert_eq!(info.get(CompanyField::CountryRegion), Some("GB"));
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for field in CompanyField::ALL.into_iter().filter(|f| f.is_required()) {
            let mut fields = required();
            fields.set(field, Some("   ".into()));
            assert_eq!(
                CompanyInfo::new(fields),
                Err(CompanyError::Missing { field }),
                "{field:?}"
            );
        }
    }

    #[test]
    fn every_field_is_bounded() {
        for field in CompanyField::ALL {
            if field == CompanyField::CountryRegion {
                continue;
            }
            let mut fields = required();
            fields.set(field, Some("9".repeat(field.max_chars() + 1)));
            assert_eq!(
                CompanyInfo::new(fields),
                Err(CompanyError::TooLong { field }),
                "{field:?}"
            );
        }
    }

    #[test]
    fn hostile_text_is_kept_as_text() {
        let mut fields = required();
        fields.company = Some("<script>alert(1)</script>".into());
        let info = CompanyInfo::new(fields).unwrap();
        assert_eq!(info.company(), "<script>alert(1)</script>");
    }

    #[test]
    fn control_characters_are_refused() {
        let mut fields = required();
        fields.last_name = Some("Love\nlace".into());
        let err = CompanyInfo::new(fields).unwrap_err();
        assert_eq!(
            err.to_string(),
            "last name contains a control character such as a line break"
        );
    }

    #[test]
    fn optional_fields_are_checked_when_given() {
        let mut fields = required();
        fields.email = Some("ada.example.com".into());
        assert_eq!(
            CompanyInfo::new(fields.clone()).unwrap_err().field(),
            Some(CompanyField::Email)
        );
        fields.email = Some("ada@example.com".into());
        fields.phone = Some("call me".into());
        assert_eq!(
            CompanyInfo::new(fields.clone()).unwrap_err().field(),
            Some(CompanyField::Phone)
        );
        fields.phone = Some("+44 (20) 7946-0000".into());
        assert!(CompanyInfo::new(fields).is_ok());
    }

    #[test]
    fn countries_read_by_code_or_name() {
        assert_eq!(
            "de".parse::<CountryRegion>().map(|c| c.name()),
            Ok("Germany")
        );
        assert_eq!(
            "Germany".parse::<CountryRegion>().map(|c| c.code()),
            Ok("DE")
        );
        assert_eq!("USA".parse::<CountryRegion>().map(|c| c.code()), Ok("US"));
        let err = "Atlantis".parse::<CountryRegion>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown country or region \"Atlantis\"")
        );
        assert!(CountryRegion::all().count() > 240);
    }

    #[test]
    fn json_refuses_unknown_fields_and_names_the_missing_one() {
        let err = serde_json::from_str::<CompanyInfo>(
            r#"{"first_name":"A","last_name":"B","country_region":"US"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("company is required"), "{err}");
        let err = serde_json::from_str::<CompanyInfo>(r#"{"firstname":"A"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `firstname`"),
            "{err}"
        );
    }
}
