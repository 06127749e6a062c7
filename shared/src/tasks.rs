//! What the Clearinghouse asks a person, task by task and page by page. The licensing web
//! site shows a step as a page, the representative on the phone line asks its fields one by
//! one, and the license server's handoff sheet (what to take to the site or the
//! representative) lists them in the same order under the same labels: all three read this
//! one list, so they cannot disagree.

use crate::id::IdKind;
use crate::vocab::{
    CompanyField, CountryRegion, LicenseProgram, LicenseType, MigrationReason, ProductVersion,
    ProofKind, ReactivationReason, Term, WindowsServer,
};

/// What a person can ask for (the web site's "Select Option" list, the reasons to call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The kind of ID the task gives.
    pub fn gives(self) -> IdKind {
        match self {
            Task::Activate | Task::Reactivate => IdKind::LicenseServerId,
            Task::Deactivate => IdKind::ConfirmationCode,
            Task::Install | Task::Migrate | Task::Recover => IdKind::KeyPackId,
        }
    }

    /// Its pages before the page that verifies everything, as far as `chosen` settles
    /// them: the proof fields follow the license program, and a retail license code says
    /// which CALs it is for, so installing with one asks for no CALs.
    pub fn steps(self, chosen: Chosen) -> Vec<Step> {
        use Field::*;
        let company: Vec<Field> = CompanyField::ALL.into_iter().map(Company).collect();
        let mut proof_and_cals = proof_fields(chosen.program);
        let cals = [ProductVersion, LicenseType, Quantity];
        match self {
            Task::Install if chosen.program == Some(LicenseProgram::RetailPurchase) => {}
            _ => proof_and_cals.extend(cals),
        }
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
                Step::new("License program information and CALs", proof_and_cals),
            ],
            Task::Migrate => {
                let mut source_and_cals = vec![SourceLicenseServerId, SourceOs];
                source_and_cals.extend(proof_and_cals);
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
                Step::new("Company information", company),
                Step::new(
                    "License program information and the CALs lost",
                    proof_and_cals,
                ),
            ],
        }
    }

    /// Every field of the task as far as `chosen` settles them, in the order asked.
    pub fn fields(self, chosen: Chosen) -> Vec<Field> {
        self.steps(chosen)
            .into_iter()
            .flat_map(|s| s.fields)
            .collect()
    }
}

/// What was chosen so far that changes what is asked: the license program (its proof, and
/// whether a retail license code says the CALs) and the migration reason (whether the
/// source must be named).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chosen {
    /// The license program, once chosen.
    pub program: Option<LicenseProgram>,
    /// The migration reason, once chosen.
    pub reason: Option<MigrationReason>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The source license server's ID.
    SourceLicenseServerId,
    /// The source license server's operating system.
    SourceOs,
}

/// How a field is entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Free text of at most this many characters.
    Text(usize),
    /// One of these `(value, label)` choices.
    Choice(Vec<(&'static str, &'static str)>),
}

fn choices<T: Term>() -> Input {
    Input::Choice(T::ALL.iter().map(|t| (t.slug(), t.name())).collect())
}

/// The fields of the proof `program` asks for (none until a program is chosen).
pub fn proof_fields(program: Option<LicenseProgram>) -> Vec<Field> {
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

    /// Its label, with "(optional)" or "(if known)" when it may be left empty.
    pub fn label(self, task: Task, chosen: Chosen) -> String {
        let label = self.bare_label(task, chosen);
        match self {
            Field::Company(field) if !field.is_required() => format!("{label} (optional)"),
            Field::SourceLicenseServerId | Field::SourceOs if self.is_optional(chosen) => {
                format!("{label} (if known)")
            }
            _ => label,
        }
    }

    /// Its label alone, to name it in a sentence.
    pub fn bare_label(self, task: Task, chosen: Chosen) -> String {
        match self {
            Field::ProductId => "Product ID".into(),
            Field::LicenseServerId if task == Task::Migrate => "Target license server ID".into(),
            Field::LicenseServerId => "License server ID".into(),
            Field::MigrationReason => "Reason for recovery".into(),
            Field::ReactivationReason => "Reason for reactivation".into(),
            Field::Program => "License program".into(),
            Field::Company(field) => capitalised(field.label()),
            Field::LicenseCode => "License code".into(),
            Field::AuthorizationNumber => "Authorization number".into(),
            Field::LicenseNumber => "License number".into(),
            Field::AgreementNumber => capitalised(
                chosen
                    .program
                    .map(LicenseProgram::agreement_number_label)
                    .unwrap_or("agreement number"),
            ),
            Field::ProductVersion => "Product version".into(),
            Field::LicenseType => "License type".into(),
            Field::Quantity => "Quantity".into(),
            Field::SourceLicenseServerId => "Source license server ID".into(),
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

    /// Whether a caller can give it on a telephone keypad: numbers, and choices made by
    /// number. Names, addresses and proofs with letters in them cannot be keyed.
    pub fn keyable(self) -> bool {
        !matches!(
            self,
            Field::Company(_) | Field::LicenseCode | Field::AuthorizationNumber
        )
    }

    /// The choices a keypad caller is offered, in the order they are numbered: every
    /// choice, except programs whose proof cannot be keyed. `None` for a field typed in.
    pub fn keypad_choices(self) -> Option<Vec<(&'static str, &'static str)>> {
        let Input::Choice(mut options) = self.input() else {
            return None;
        };
        if self == Field::Program {
            options.retain(|(slug, _)| {
                slug.parse::<LicenseProgram>()
                    .is_ok_and(|p| proof_fields(Some(p)).iter().all(|f| f.keyable()))
            });
        }
        Some(options)
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

    /// Whether it may be left empty. The source of a migration must be named when it is
    /// being replaced (the site cannot reach it); when it no longer functions, what is
    /// known of it is enough.
    pub fn is_optional(self, chosen: Chosen) -> bool {
        match self {
            Field::Company(field) => !field.is_required(),
            Field::SourceLicenseServerId | Field::SourceOs => {
                !chosen.reason.is_some_and(|r| r.source_must_be_named(false))
            }
            _ => false,
        }
    }

    /// The value `text` (as a form holds it) shown to a person: a choice by its name.
    pub fn shown(self, text: &str) -> String {
        match self {
            Field::Company(CompanyField::CountryRegion) => text
                .parse::<CountryRegion>()
                .map_or(text.to_owned(), |c| c.name().to_owned()),
            _ => match self.input() {
                Input::Choice(options) => options
                    .iter()
                    .find(|(code, _)| *code == text)
                    .map_or(text.to_owned(), |(_, name)| (*name).to_owned()),
                Input::Text(_) => text.to_owned(),
            },
        }
    }
}

/// `text` with its first letter in capitals, as a label that starts a line.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retail_license_code_says_its_cals_so_installing_with_one_asks_none() {
        let retail = Chosen {
            program: Some(LicenseProgram::RetailPurchase),
            reason: None,
        };
        let fields = Task::Install.fields(retail);
        assert!(fields.contains(&Field::LicenseCode));
        assert!(!fields.contains(&Field::ProductVersion));
        assert!(!fields.contains(&Field::Quantity));
        let select = Chosen {
            program: Some(LicenseProgram::SelectLicense),
            reason: None,
        };
        assert!(Task::Install.fields(select).contains(&Field::Quantity));
        // A migration says which CALs move, whatever the program.
        assert!(Task::Migrate.fields(retail).contains(&Field::Quantity));
    }

    #[test]
    fn the_source_must_be_named_when_it_is_being_replaced_and_may_be_when_it_fails() {
        let replaced = Chosen {
            program: None,
            reason: Some(MigrationReason::SourceReplaced),
        };
        let failed = Chosen {
            program: None,
            reason: Some(MigrationReason::SourceNotFunctioning),
        };
        let id = Field::SourceLicenseServerId;
        assert!(!id.is_optional(replaced));
        assert_eq!(
            id.label(Task::Migrate, replaced),
            "Source license server ID"
        );
        assert!(id.is_optional(failed));
        assert_eq!(
            id.label(Task::Migrate, failed),
            "Source license server ID (if known)"
        );
    }

    #[test]
    fn a_choice_is_shown_by_its_name() {
        assert_eq!(Field::ProductVersion.shown("2019"), "Windows Server 2019");
        assert_eq!(
            Field::Company(CompanyField::CountryRegion).shown("DE"),
            "Germany"
        );
        assert_eq!(Field::Quantity.shown("20"), "20");
    }
}
