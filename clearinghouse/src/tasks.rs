//! How the answers a person gives the web site or the representative are read, checked
//! and turned into a ledger command. What is asked, in which order and under which label,
//! is [`shared::tasks`], which the license server's handoff sheet reads too. Every value is
//! read through the shared vocabulary, so a field's error is the same sentence the API and
//! the license server give.

use std::collections::HashMap;

use shared::id::{LicenseServerId, ProductId};
use shared::vocab::{
    CompanyField, CompanyFields, CompanyInfo, CountryRegion, LicenseProgram, LicenseProof,
    LicenseType, MigrationReason, ProductVersion, ProofFields, ProofKind, Quantity,
    ReactivationReason, Term, WindowsServer,
};
use shared::wire::{
    ActivateRequest, CalRequest, DeactivateRequest, InstallCalsRequest, MigrateCalsRequest,
    ReactivateRequest, RecoverCalsRequest, SourceServer,
};

use crate::ledger::Command;

pub use shared::tasks::{Chosen, Field, Input, Step, Task, proof_fields};

/// The form as posted: field name to text.
pub type Form = HashMap<String, String>;

/// An error shown next to a field.
pub type FieldError = (Field, String);

fn text(form: &Form, field: Field) -> &str {
    form.get(field.name()).map(|s| s.trim()).unwrap_or_default()
}

fn parse<T: std::str::FromStr>(form: &Form, field: Field) -> Result<T, FieldError>
where
    T::Err: std::fmt::Display,
{
    let value = text(form, field);
    if value.is_empty() {
        return Err((field, "required".into()));
    }
    value.parse().map_err(|e: T::Err| (field, e.to_string()))
}

/// What was chosen so far in `form` that changes what `task` asks.
pub fn chosen(task: Task, form: &Form) -> Chosen {
    Chosen {
        program: parse(form, Field::Program).ok(),
        reason: match task {
            Task::Migrate => parse(form, Field::MigrationReason).ok(),
            _ => None,
        },
    }
}

/// The pages of `task`, as far as `form` settles them.
pub fn steps(task: Task, form: &Form) -> Vec<Step> {
    task.steps(chosen(task, form))
}

/// The company information, or every field of it that is wrong.
fn company(form: &Form) -> Result<CompanyInfo, Vec<FieldError>> {
    let mut fields = CompanyFields::default();
    for field in CompanyField::ALL {
        let value = text(form, Field::Company(field));
        fields.set(field, (!value.is_empty()).then(|| value.to_owned()));
    }
    CompanyInfo::checked(&fields).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                let field = e.field().unwrap_or(CompanyField::FirstName);
                (Field::Company(field), e.to_string())
            })
            .collect()
    })
}

fn license(form: &Form) -> Result<LicenseProof, FieldError> {
    let program: LicenseProgram = parse(form, Field::Program)?;
    let optional = |field| Some(text(form, field).to_owned()).filter(|t| !t.is_empty());
    let mut fields = ProofFields {
        program: Some(program),
        ..ProofFields::default()
    };
    match program.proof_kind() {
        ProofKind::LicenseCode => fields.license_code = optional(Field::LicenseCode),
        ProofKind::OpenLicense => {
            fields.authorization_number = optional(Field::AuthorizationNumber);
            fields.license_number = optional(Field::LicenseNumber);
        }
        ProofKind::AgreementNumber => fields.agreement_number = optional(Field::AgreementNumber),
    }
    LicenseProof::from_fields(program, &fields).map_err(|e| {
        let field = match e.field().map(|f| f.key()) {
            Some("license_code") => Field::LicenseCode,
            Some("authorization_number") => Field::AuthorizationNumber,
            Some("license_number") => Field::LicenseNumber,
            Some("agreement_number") => Field::AgreementNumber,
            _ => Field::Program,
        };
        (field, e.to_string())
    })
}

fn cal_request(form: &Form) -> Result<CalRequest, FieldError> {
    Ok(CalRequest {
        product_version: parse(form, Field::ProductVersion)?,
        license_type: parse(form, Field::LicenseType)?,
        quantity: parse::<Quantity>(form, Field::Quantity)?,
    })
}

/// The CALs `task` asks for, if it asks for them (a retail license code says them itself
/// when CALs are installed).
fn asked_cals(task: Task, form: &Form) -> Result<Option<CalRequest>, FieldError> {
    if task.fields(chosen(task, form)).contains(&Field::Quantity) {
        cal_request(form).map(Some)
    } else {
        Ok(None)
    }
}

/// A field that may be left empty: its value, if one was given.
fn optional<T: std::str::FromStr>(form: &Form, field: Field) -> Result<Option<T>, FieldError>
where
    T::Err: std::fmt::Display,
{
    match text(form, field) {
        "" => Ok(None),
        _ => parse(form, field).map(Some),
    }
}

/// Writes each choice as its exact value, so a page shown again selects what was chosen
/// even when it was sent in another spelling.
pub fn normalise(task: Task, form: &mut Form) {
    fn slug<T: Term + std::str::FromStr>(form: &mut Form, name: &str) {
        if let Some(term) = form.get(name).and_then(|v| v.parse::<T>().ok()) {
            form.insert(name.to_owned(), term.slug().to_owned());
        }
    }
    slug::<LicenseProgram>(form, "program");
    slug::<ProductVersion>(form, "product_version");
    slug::<LicenseType>(form, "license_type");
    slug::<WindowsServer>(form, "source_os");
    match task {
        Task::Migrate => slug::<MigrationReason>(form, "reason"),
        Task::Reactivate => slug::<ReactivationReason>(form, "reason"),
        _ => {}
    }
    if let Some(country) = form
        .get("country_region")
        .and_then(|v| v.parse::<CountryRegion>().ok())
    {
        form.insert("country_region".to_owned(), country.code().to_owned());
    }
}

/// The error of `field` alone, as soon as it is answered, for a door that asks one field
/// at a time. Fields checked together (the company information, the proof) report only
/// what is wrong with `field`; what is wrong with one not yet asked waits for its turn.
pub fn check_field(task: Task, step: &Step, field: Field, form: &Form) -> Option<String> {
    check(task, step, form)
        .into_iter()
        .find(|(f, _)| *f == field)
        .map(|(_, message)| message)
}

/// The errors of the fields of `step`, at most one per field, every wrong field at once.
pub fn check(task: Task, step: &Step, form: &Form) -> Vec<FieldError> {
    let chosen = chosen(task, form);
    let mut errors: Vec<FieldError> = Vec::new();
    let mut company_checked = false;
    let mut proof_checked = false;
    for &field in &step.fields {
        let outcome = match field {
            Field::ProductId => parse::<ProductId>(form, field).map(drop),
            Field::LicenseServerId => parse::<LicenseServerId>(form, field).map(drop),
            Field::SourceLicenseServerId | Field::SourceOs
                if text(form, field).is_empty() && field.is_optional(chosen) =>
            {
                Ok(())
            }
            Field::SourceLicenseServerId | Field::SourceOs if text(form, field).is_empty() => {
                Err((
                    field,
                    "required: the source license server is being replaced and the Clearinghouse cannot reach it, so name it".to_owned(),
                ))
            }
            Field::SourceLicenseServerId => parse::<LicenseServerId>(form, field).map(drop),
            Field::SourceOs => parse::<WindowsServer>(form, field).map(drop),
            Field::MigrationReason => parse::<MigrationReason>(form, field).map(drop),
            Field::ReactivationReason => parse::<ReactivationReason>(form, field).map(drop),
            Field::Program => parse::<LicenseProgram>(form, field).map(drop),
            Field::ProductVersion => parse::<ProductVersion>(form, field).map(drop),
            Field::LicenseType => parse::<LicenseType>(form, field).map(drop),
            Field::Quantity => parse::<Quantity>(form, field).map(drop),
            Field::Company(_) if !company_checked => {
                company_checked = true;
                if let Err(wrong) = company(form) {
                    errors.extend(wrong);
                }
                Ok(())
            }
            Field::LicenseCode
            | Field::AuthorizationNumber
            | Field::LicenseNumber
            | Field::AgreementNumber
                if !proof_checked =>
            {
                proof_checked = true;
                license(form).map(drop)
            }
            _ => Ok(()),
        };
        if let Err(error) = outcome
            && !errors.iter().any(|(f, _)| *f == error.0)
        {
            errors.push(error);
        }
    }
    errors
}

/// The command the whole form asks for; the first page with an error otherwise.
pub fn command(task: Task, form: &Form) -> Result<Command, (usize, Vec<FieldError>)> {
    let steps = steps(task, form);
    for (index, step) in steps.iter().enumerate() {
        let errors = check(task, step, form);
        if !errors.is_empty() {
            return Err((index, errors));
        }
    }
    // Every field checked: what follows only reads them again.
    let built = || -> Result<Command, FieldError> {
        let company = || company(form).map_err(|mut wrong| wrong.remove(0));
        Ok(match task {
            Task::Activate => Command::Activate(ActivateRequest {
                product_id: parse(form, Field::ProductId)?,
                company: company()?,
            }),
            Task::Reactivate => Command::Reactivate(ReactivateRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
                product_id: parse(form, Field::ProductId)?,
                reason: parse(form, Field::ReactivationReason)?,
            }),
            Task::Deactivate => Command::Deactivate(DeactivateRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
            }),
            Task::Install => Command::InstallCals(InstallCalsRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
                license: license(form)?,
                cals: asked_cals(task, form)?,
            }),
            Task::Recover => Command::RecoverCals(RecoverCalsRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
                license: license(form)?,
                cals: cal_request(form)?,
            }),
            Task::Migrate => Command::MigrateCals(MigrateCalsRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
                reason: parse(form, Field::MigrationReason)?,
                source: SourceServer {
                    license_server_id: optional(form, Field::SourceLicenseServerId)?,
                    name: None,
                    os: optional(form, Field::SourceOs)?,
                    // The site does not ask whether the source is on the network; the
                    // person typing is the one who could not reach it.
                    reachable: false,
                },
                license: license(form)?,
                cals: cal_request(form)?,
            }),
        })
    };
    built().map_err(|e| (0, vec![e]))
}

/// The step and field a ledger refusal names, if it names one of the task's fields.
pub fn at_fault(
    task: Task,
    form: &Form,
    problem: &shared::wire::Problem,
) -> Option<(usize, Field)> {
    locate(task, form, problem.field.as_deref()?)
}

/// The page and field a ledger error about API field `api` belongs to.
pub fn locate(task: Task, form: &Form, api: &str) -> Option<(usize, Field)> {
    let chosen = chosen(task, form);
    let field = from_api(task, chosen, api)?;
    let index = task
        .steps(chosen)
        .iter()
        .position(|s| s.fields.contains(&field))?;
    Some((index, field))
}

/// The field an API field name (as a ledger error names it) is shown at.
fn from_api(task: Task, chosen: Chosen, api: &str) -> Option<Field> {
    // A refusal of the purchase as a whole is shown at its proof; of the CALs as a whole,
    // at their product version (or the proof, when a license code says the CALs).
    let fields = task.fields(chosen);
    let proof = proof_fields(chosen.program)
        .first()
        .map_or("program", |f| f.name());
    let api = match api {
        "license" => proof,
        "cals" | "cals.product_version" if !fields.contains(&Field::ProductVersion) => proof,
        "cals" => "product_version",
        other => other,
    };
    let name = api
        .strip_prefix("license.")
        .or_else(|| api.strip_prefix("cals."))
        .or_else(|| api.strip_prefix("company."))
        .unwrap_or(api);
    let name = match api.strip_prefix("source.") {
        Some("license_server_id") => "source_license_server_id",
        Some("os") => "source_os",
        _ => name,
    };
    fields.into_iter().find(|f| f.name() == name)
}

/// The field a license server ID is typed in, when `step` has one that must be able to
/// receive CALs (or be deactivated): the page checks it with the ledger before going on.
pub fn receiving_field(task: Task, step: &Step) -> Option<Field> {
    let receives = matches!(
        task,
        Task::Install | Task::Migrate | Task::Recover | Task::Deactivate
    );
    step.fields
        .contains(&Field::LicenseServerId)
        .then_some(Field::LicenseServerId)
        .filter(|_| receives)
}

/// The license server ID `field` holds, once it reads.
pub fn license_server_id(form: &Form, field: Field) -> Option<LicenseServerId> {
    parse(form, field).ok()
}
