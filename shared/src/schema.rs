//! The JSON Schemas of the types whose JSON form is their own text or number (IDs, terms,
//! proof numbers, quantities, company information, proofs), for the clearinghouse's
//! OpenAPI document. Each says as much of the type's rule as a schema can (a pattern, an
//! enumeration, bounds), read from the rule itself where the rule is data; what a schema
//! cannot say (an ID's check digits, which server it is bound to) its description does.
//!
//! The wire types derive theirs (`utoipa::ToSchema`); both only with the `openapi`
//! feature.

use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::id::{ConfirmationCode, KeyPackId, LicenseServerId, ProductId};
use crate::vocab::{
    AgreementNumber, AuthorizationNumber, CompanyField, CompanyInfo, ConnectionMethod,
    CountryRegion, LicenseCode, LicenseProgram, LicenseProof, LicenseType, MigrationReason,
    OpenLicenseNumber, ProductVersion, ProofField, ProofKind, Quantity, ReactivationReason, Term,
    WindowsServer,
};
use crate::wire::ClockRequest;

/// Text that is no control character (what every company field refuses).
const PRINTABLE: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// Gives `$ty` the schema `$schema` under its own name.
macro_rules! schema {
    ($($ty:ty => $schema:expr;)*) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $ty {}
    )*};
}

fn text(pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

fn id(what: &str) -> ObjectBuilder {
    text(
        "^[0-9]{5}(-[0-9]{5}){6}$",
        &format!(
            "A {what}: 35 digits in 7 groups of 5. The last digit of each group checks it, and the ID says its kind, so a typo or an ID of another kind is refused (422 id_typo, wrong_id_kind) though it matches the pattern."
        ),
    )
}

fn term<T: Term>() -> ObjectBuilder {
    let names: Vec<String> = T::ALL
        .iter()
        .map(|t| format!("`{}` ({})", t.slug(), t.name()))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::ALL.iter().map(|t| t.slug())))
        .description(Some(format!("A {}: {}.", T::WHAT, names.join(", "))))
}

schema! {
    ProductId => id("product ID (what a license server shows before it is activated)");
    LicenseServerId => id("license server ID");
    KeyPackId => id("license key pack ID, bound to the license server it was issued for");
    ConfirmationCode => id("confirmation code of a deactivation");
    WindowsServer => term::<WindowsServer>();
    ProductVersion => term::<ProductVersion>();
    LicenseType => term::<LicenseType>();
    LicenseProgram => term::<LicenseProgram>();
    MigrationReason => term::<MigrationReason>();
    ReactivationReason => term::<ReactivationReason>();
    ConnectionMethod => term::<ConnectionMethod>();
    LicenseCode => text(
        "^[BCDFGHJKMPQRTVWXY2346789]{5}(-[BCDFGHJKMPQRTVWXY2346789]{5}){4}$",
        "The 25-character license code of a retail license pack, in 5 groups of 5.",
    );
    AuthorizationNumber => text("^[A-Z0-9]{15}$", "The 15-character authorization number of an Open License.");
    OpenLicenseNumber => text("^[0-9]{8}$", "The 8-digit license number of an Open License.");
    AgreementNumber => text("^[0-9]{7,8}$", "An agreement or enrollment number: 7 digits, or 8 for some enrollments.");
    Quantity => ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(1))
        .maximum(Some(Quantity::MAX))
        .description(Some(format!("How many CALs: 1 to {}.", Quantity::MAX)));
    CountryRegion => ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(CountryRegion::all().map(CountryRegion::code)))
        .description(Some("A country or region, by its ISO 3166-1 alpha-2 code."));
    CompanyInfo => company();
    LicenseProof => proof();
    ClockRequest => clock();
}

/// A number and a unit of time, as `humantime` reads them.
const UNIT: &str = "[0-9]+ ?(nsec|ns|usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)";

/// Set the clock, or move it: one of the two.
fn clock() -> OneOfBuilder {
    let one = |name: &str, value: ObjectBuilder| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(name, value)
            .required(name)
    };
    OneOfBuilder::new()
        .description(Some(
            "Set the tenant's clock, or move it forward; the clock stays between 1970 and the year 9000 (422 otherwise).",
        ))
        .item(one(
            "set",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("The time to set, RFC 3339, e.g. `2027-01-31T09:00:00Z`.")),
        ))
        .item(one(
            "advance",
            text(
                &format!("^{UNIT}( ?{UNIT})*$"),
                "How far to move it forward, e.g. `90s`, `25h`, `2days`.",
            ),
        ))
}

/// The company information: each field bounded, trimmed, with no control character; the
/// required ones not blank.
fn company() -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Who the license server belongs to. Every field is trimmed; the required ones may not be blank.",
        ))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for field in CompanyField::ALL {
        let value = match field {
            CompanyField::CountryRegion => CountryRegion::schema(),
            CompanyField::Email => text(
                r"^\s*([^@\s\x00-\x1f\x7f-\x9f]+@[^@.\s\x00-\x1f\x7f-\x9f]([^@\s\x00-\x1f\x7f-\x9f]*\.)+[^@.\s\x00-\x1f\x7f-\x9f]+)?\s*$",
                "An e-mail address.",
            )
            .max_length(Some(field.max_chars()))
            .into(),
            CompanyField::Phone => text(r"^\s*([ +\-().]*[0-9]){3}[0-9 +\-().]*$|^\s*$", "A phone number: digits, spaces and + - ( ) ., at least 3 digits.")
                .max_length(Some(field.max_chars()))
                .into(),
            _ if field.is_required() => text(
                &format!(r"^\s*{PRINTABLE}*[^\s\x00-\x1f\x7f-\x9f]{PRINTABLE}*$"),
                &format!("The {}.", field.label()),
            )
            .max_length(Some(field.max_chars()))
            .into(),
            _ => text(&format!("^{PRINTABLE}*$"), &format!("The {}.", field.label()))
                .max_length(Some(field.max_chars()))
                .into(),
        };
        object = object.property(field.key(), value);
        if field.is_required() {
            object = object.required(field.key());
        }
    }
    object
}

/// A license program and its proof: one shape per kind of proof, each naming the programs
/// that take it.
fn proof() -> OneOfBuilder {
    let shape = |kind: ProofKind, fields: &[(ProofField, RefOr<Schema>)], about: &str| {
        let programs = LicenseProgram::ALL
            .iter()
            .filter(|p| p.proof_kind() == kind)
            .map(|p| p.slug());
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(about))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "program",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(programs)),
            )
            .required("program");
        for (field, schema) in fields {
            object = object
                .property(field.key(), schema.clone())
                .required(field.key());
        }
        object
    };
    OneOfBuilder::new()
        .description(Some(
            "The license program and its proof of purchase. Which agreement or license it names is checked against the tenant's purchases (404 unknown_agreement, 422 wrong_proof).",
        ))
        .item(shape(
            ProofKind::LicenseCode,
            &[(ProofField::LicenseCode, LicenseCode::schema())],
            "A retail license pack, by its license code.",
        ))
        .item(shape(
            ProofKind::OpenLicense,
            &[
                (ProofField::AuthorizationNumber, AuthorizationNumber::schema()),
                (ProofField::LicenseNumber, OpenLicenseNumber::schema()),
            ],
            "An Open License, by its authorization and license numbers.",
        ))
        .item(shape(
            ProofKind::AgreementNumber,
            &[(ProofField::AgreementNumber, AgreementNumber::schema())],
            "A volume licensing agreement, by its agreement or enrollment number.",
        ))
}
