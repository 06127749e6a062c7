//! What the Clearinghouse asks a person, task by task and step by step, and how the answers
//! become a ledger command. The web site shows a step as a page; the representative on
//! the phone line asks its fields one by one. Every value is read through the shared
//! vocabulary, so a field's error is the same sentence the API and the license server give.

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

/// The form as posted: field name to text.
pub type Form = HashMap<String, String>;

/// What a person can ask for (the web site's "Select Option" list, the reasons to call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Activate a license server.
    Activate,
    /// Install client access licenses.
    Install,
    /// Manage CALs: migrate them to a license server.
    Migrate,
    /// Reactivate a license server.
    Reactivate,
    /// Deactivate a license server.
    Deactivate,
    /// Recover CALs lost when a license server's database was restored onto a new
    /// installation.
    Recover,
}

impl Task {
    /// Every task, in the order the site lists them.
    pub const ALL: [Task; 6] = [
        Task::Activate,
        Task::Install,
        Task::Migrate,
        Task::Reactivate,
        Task::Deactivate,
        Task::Recover,
    ];

    /// Its name in URLs.
    pub fn slug(self) -> &'static str {
        match self {
            Task::Activate => "activate",
            Task::Install => "install-cals",
            Task::Migrate => "manage-cals",
            Task::Reactivate => "reactivate",
            Task::Deactivate => "deactivate",
            Task::Recover => "recover-cals",
        }
    }

    /// The task named `slug`.
    pub fn from_slug(slug: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// What the site calls it.
    pub fn title(self) -> &'static str {
        match self {
            Task::Activate => "Activate a license server",
            Task::Install => "Install client access licenses",
            Task::Migrate => "Manage CALs (migrate them to a license server)",
            Task::Reactivate => "Reactivate a license server",
            Task::Deactivate => "Deactivate a license server",
            Task::Recover => "Recover CALs lost in a restore onto a new installation",
        }
    }

    /// The ID the result page gives.
    pub fn gives(self) -> &'static str {
        match self {
            Task::Activate | Task::Reactivate => "license server ID",
            Task::Deactivate => "confirmation code",
            Task::Install | Task::Migrate | Task::Recover => "license key pack ID",
        }
    }

    /// Its pages before the page that verifies everything. The proof fields depend on
    /// the license program chosen.
    pub fn steps(self, program: Option<LicenseProgram>) -> Vec<Step> {
        use Field::*;
        let company: Vec<Field> = CompanyField::ALL.into_iter().map(Company).collect();
        let mut cals = proof_fields(program);
        cals.extend([ProductVersion, LicenseType, Quantity]);
        match self {
            Task::Activate => vec![
                Step::new("License server information", vec![ProductId]),
                Step::new("Company information", company),
            ],
            Task::Install => vec![
                Step::new(
                    "License server and license program",
                    vec![LicenseServerId, Program],
                ),
                Step::new("Company information", company),
                Step::new("License program information and CALs", cals),
            ],
            Task::Migrate => {
                let mut source_and_cals = vec![SourceLicenseServerId, SourceOs];
                source_and_cals.extend(cals);
                vec![
                    Step::new(
                        "Target license server, reason and license program",
                        vec![LicenseServerId, MigrationReason, Program],
                    ),
                    Step::new("Company information", company),
                    Step::new("Source license server and CALs", source_and_cals),
                ]
            }
            Task::Reactivate => vec![Step::new(
                "License server information",
                vec![LicenseServerId, ProductId, ReactivationReason],
            )],
            Task::Deactivate => vec![Step::new(
                "License server information",
                vec![LicenseServerId],
            )],
            Task::Recover => vec![
                Step::new(
                    "License server and license program",
                    vec![LicenseServerId, Program],
                ),
                Step::new("License program information and the CALs lost", cals),
            ],
        }
    }
}

/// One page of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its heading.
    pub title: &'static str,
    /// Its fields, in order.
    pub fields: Vec<Field>,
}

impl Step {
    fn new(title: &'static str, fields: Vec<Field>) -> Self {
        Step { title, fields }
    }
}

/// A field of the site's forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The product ID the license server shows.
    ProductId,
    /// The (target) license server ID.
    LicenseServerId,
    /// Why CALs are migrated.
    MigrationReason,
    /// Why a license server is reactivated.
    ReactivationReason,
    /// The license program.
    Program,
    /// A field of the company information.
    Company(CompanyField),
    /// The license code.
    LicenseCode,
    /// The Open License authorization number.
    AuthorizationNumber,
    /// The Open License license number.
    LicenseNumber,
    /// The agreement or enrollment number.
    AgreementNumber,
    /// The CALs' product version.
    ProductVersion,
    /// Per Device or Per User.
    LicenseType,
    /// How many CALs.
    Quantity,
    /// The source license server's ID, if known.
    SourceLicenseServerId,
    /// The source license server's operating system.
    SourceOs,
}

/// How a field is entered.
pub enum Input {
    /// Free text of at most this many characters.
    Text(usize),
    /// One of these `(value, label)` choices.
    Choice(Vec<(&'static str, &'static str)>),
}

fn choices<T: Term>() -> Input {
    Input::Choice(T::ALL.iter().map(|t| (t.slug(), t.name())).collect())
}

fn proof_fields(program: Option<LicenseProgram>) -> Vec<Field> {
    match program.map(LicenseProgram::proof_kind) {
        Some(ProofKind::LicenseCode) => vec![Field::LicenseCode],
        Some(ProofKind::OpenLicense) => vec![Field::AuthorizationNumber, Field::LicenseNumber],
        Some(ProofKind::AgreementNumber) => vec![Field::AgreementNumber],
        None => Vec::new(),
    }
}

impl Field {
    /// Its name in the form: the API's field name, so the ledger's errors find it.
    pub fn name(self) -> &'static str {
        match self {
            Field::ProductId => "product_id",
            Field::LicenseServerId => "license_server_id",
            Field::MigrationReason | Field::ReactivationReason => "reason",
            Field::Program => "program",
            Field::Company(field) => field.key(),
            Field::LicenseCode => "license_code",
            Field::AuthorizationNumber => "authorization_number",
            Field::LicenseNumber => "license_number",
            Field::AgreementNumber => "agreement_number",
            Field::ProductVersion => "product_version",
            Field::LicenseType => "license_type",
            Field::Quantity => "quantity",
            Field::SourceLicenseServerId => "source_license_server_id",
            Field::SourceOs => "source_os",
        }
    }

    /// Its label.
    pub fn label(self, task: Task, program: Option<LicenseProgram>) -> String {
        match self {
            Field::ProductId => "Product ID".into(),
            Field::LicenseServerId if task == Task::Migrate => "Target license server ID".into(),
            Field::LicenseServerId => "License server ID".into(),
            Field::MigrationReason => "Reason for recovery".into(),
            Field::ReactivationReason => "Reason for reactivation".into(),
            Field::Program => "License program".into(),
            Field::Company(field) => {
                let label = capitalised(field.label());
                if field.is_required() {
                    label
                } else {
                    format!("{label} (optional)")
                }
            }
            Field::LicenseCode => "License code".into(),
            Field::AuthorizationNumber => "Authorization number".into(),
            Field::LicenseNumber => "License number".into(),
            Field::AgreementNumber => capitalised(
                program
                    .map(LicenseProgram::agreement_number_label)
                    .unwrap_or("agreement number"),
            ),
            Field::ProductVersion => "Product version".into(),
            Field::LicenseType => "License type".into(),
            Field::Quantity => "Quantity".into(),
            Field::SourceLicenseServerId => "Source license server ID (if known)".into(),
            Field::SourceOs => "Source license server operating system".into(),
        }
    }

    /// What a value looks like, shown in an empty box.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            Field::ProductId | Field::LicenseServerId | Field::SourceLicenseServerId => {
                Some("7 groups of 5 digits, e.g. 12345-67890-...")
            }
            Field::LicenseCode => Some("25 characters, e.g. ABCDE-FGHJK-..."),
            _ => None,
        }
    }

    /// How it is entered.
    pub fn input(self) -> Input {
        match self {
            Field::MigrationReason => choices::<MigrationReason>(),
            Field::ReactivationReason => choices::<ReactivationReason>(),
            Field::Program => choices::<LicenseProgram>(),
            Field::ProductVersion => choices::<ProductVersion>(),
            Field::LicenseType => choices::<LicenseType>(),
            Field::SourceOs => choices::<WindowsServer>(),
            Field::Company(CompanyField::CountryRegion) => Input::Choice(
                std::iter::once(("", "Choose a country or region"))
                    .chain(CountryRegion::all().map(|c| (c.code(), c.name())))
                    .collect(),
            ),
            Field::Company(field) => Input::Text(field.max_chars()),
            Field::ProductId | Field::LicenseServerId | Field::SourceLicenseServerId => {
                Input::Text(64)
            }
            Field::LicenseCode => Input::Text(40),
            Field::AuthorizationNumber | Field::LicenseNumber | Field::AgreementNumber => {
                Input::Text(24)
            }
            Field::Quantity => Input::Text(8),
        }
    }

    /// The field an API field name (as a ledger error names it) is shown at.
    fn from_api(task: Task, program: Option<LicenseProgram>, api: &str) -> Option<Field> {
        // A refusal of the purchase as a whole is shown at its proof; of the CALs as a
        // whole, at their product version.
        let api = match api {
            "license" => proof_fields(program)
                .first()
                .map_or("program", |f| f.name()),
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
        task.steps(program)
            .into_iter()
            .flat_map(|s| s.fields)
            .find(|f| f.name() == name)
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

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

/// The license program chosen, if a valid one was.
pub fn program(form: &Form) -> Option<LicenseProgram> {
    parse(form, Field::Program).ok()
}

fn company(form: &Form) -> Result<CompanyInfo, FieldError> {
    let mut fields = CompanyFields::default();
    for field in CompanyField::ALL {
        let value = text(form, Field::Company(field));
        fields.set(field, (!value.is_empty()).then(|| value.to_owned()));
    }
    CompanyInfo::new(fields).map_err(|e| {
        let field = e.field().unwrap_or(CompanyField::FirstName);
        (Field::Company(field), e.to_string())
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

impl Field {
    /// Whether it may be left empty.
    pub fn is_optional(self) -> bool {
        match self {
            Field::Company(field) => !field.is_required(),
            Field::SourceLicenseServerId => true,
            _ => false,
        }
    }
}

/// The error of `field` alone, as soon as it is answered, for a door that asks one field
/// at a time. Fields checked together (the company information, the proof) report only
/// what is wrong with `field`; what is wrong with one not yet asked waits for its turn.
pub fn check_field(step: &Step, field: Field, form: &Form) -> Option<String> {
    check(step, form)
        .into_iter()
        .find(|(f, _)| *f == field)
        .map(|(_, message)| message)
}

/// The errors of the fields of `step`, at most one per field.
pub fn check(step: &Step, form: &Form) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut company_checked = false;
    let mut proof_checked = false;
    for &field in &step.fields {
        let outcome = match field {
            Field::ProductId => parse::<ProductId>(form, field).map(drop),
            Field::LicenseServerId => parse::<LicenseServerId>(form, field).map(drop),
            Field::SourceLicenseServerId if text(form, field).is_empty() => Ok(()),
            Field::SourceLicenseServerId => parse::<LicenseServerId>(form, field).map(drop),
            Field::MigrationReason => parse::<MigrationReason>(form, field).map(drop),
            Field::ReactivationReason => parse::<ReactivationReason>(form, field).map(drop),
            Field::Program => parse::<LicenseProgram>(form, field).map(drop),
            Field::ProductVersion => parse::<ProductVersion>(form, field).map(drop),
            Field::LicenseType => parse::<LicenseType>(form, field).map(drop),
            Field::Quantity => parse::<Quantity>(form, field).map(drop),
            Field::SourceOs => parse::<WindowsServer>(form, field).map(drop),
            Field::Company(_) if !company_checked => {
                company_checked = true;
                company(form).map(drop)
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
    let steps = task.steps(program(form));
    for (index, step) in steps.iter().enumerate() {
        let errors = check(step, form);
        if !errors.is_empty() {
            return Err((index, errors));
        }
    }
    // Every field checked: what follows only reads them again.
    let built = || -> Result<Command, FieldError> {
        Ok(match task {
            Task::Activate => Command::Activate(ActivateRequest {
                product_id: parse(form, Field::ProductId)?,
                company: company(form)?,
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
                cals: cal_request(form)?,
            }),
            Task::Recover => Command::RecoverCals(RecoverCalsRequest {
                license_server_id: parse(form, Field::LicenseServerId)?,
                license: license(form)?,
                cals: cal_request(form)?,
            }),
            Task::Migrate => {
                let source_id = match text(form, Field::SourceLicenseServerId) {
                    "" => None,
                    _ => Some(parse(form, Field::SourceLicenseServerId)?),
                };
                Command::MigrateCals(MigrateCalsRequest {
                    license_server_id: parse(form, Field::LicenseServerId)?,
                    reason: parse(form, Field::MigrationReason)?,
                    source: SourceServer {
                        license_server_id: source_id,
                        name: None,
                        os: parse(form, Field::SourceOs)?,
                        // The site does not ask whether the source is on the network;
                        // the person typing is the one who could not reach it.
                        reachable: false,
                    },
                    license: license(form)?,
                    cals: cal_request(form)?,
                })
            }
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
    let program = program(form);
    let field = Field::from_api(task, program, api)?;
    let index = task
        .steps(program)
        .iter()
        .position(|s| s.fields.contains(&field))?;
    Some((index, field))
}
