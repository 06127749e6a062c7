//! The command line: subcommands and their flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use licensing_client::LicenseServer;
use licensing_client::Source;
use licensing_client::id::LicenseServerId;
use licensing_client::methods::automatic::RetryPolicy;
use licensing_client::methods::request::Request;
use licensing_client::state::Waiting;
use licensing_client::state::{EventLevel, Stamp};
use licensing_client::vocab::{
    CompanyField, CompanyFields, ConnectionMethod, LicenseProgram, LicenseProof, LicenseType,
    MigrationReason, ProductVersion, ProofFields, ProofKind, Quantity, ReactivationReason, Term,
    WindowsServer,
};
use licensing_client::wire::CalRequest;
use licensing_client::work::removal::KeyPackRef;

use crate::Failure;
use crate::operator::{ask, choose, complete};
use licensing_client::methods::request::capitalised;

const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  refused: by the Clearinghouse (its error code is shown), or the license server is not in a state to do it
  2  bad input: a flag, a value or a typed ID is wrong (nothing was changed)
  3  no answer: the Clearinghouse, its phone line or the source license server could not be reached, or a phone call dropped (running the same command again is safe)
  4  stopped: a reminder was not confirmed, or no ID was entered (nothing was changed)
  5  the state directory could not be used, or the daemon could not listen";

/// A simulated RD license server: activates with the Clearinghouse and installs and
/// migrates CALs by the automatic, web browser and telephone connection methods.
#[derive(Debug, Parser)]
#[command(name = "license-server", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The license server's state directory.
    #[arg(long, global = true, env = "LICENSE_SERVER_STATE", default_value_os_t = default_state_dir())]
    pub state_dir: PathBuf,
    /// Print results as JSON (errors too, on standard error).
    #[arg(long, global = true)]
    pub json: bool,
    /// Never prompt, even on a terminal: what is missing is an error.
    #[arg(long, global = true)]
    pub no_input: bool,
    #[command(subcommand)]
    pub command: Command,
}

fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("license-server")
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install a license server in the state directory.
    Install(InstallArgs),
    /// Show the license server: identity, activation, key packs, recent events; and the
    /// key packs holding CALs the Clearinghouse says were migrated away.
    Status(StatusArgs),
    /// Change the license server's properties (the Properties dialog): connection method,
    /// Clearinghouse, company information.
    Set(SetArgs),
    /// Run as a daemon that other license servers (migrations) and session hosts (CALs for
    /// their clients) reach.
    Serve(ServeArgs),
    /// Activate the license server.
    Activate(FlowArgs),
    /// Reactivate the license server: it gets a new license server ID.
    Reactivate(ReactivateArgs),
    /// Deactivate the license server.
    Deactivate(FlowArgs),
    /// Install CALs bought under a license program.
    InstallCals(InstallCalsArgs),
    /// Migrate CALs from another license server to this one.
    MigrateCals(MigrateCalsArgs),
    /// Recover CALs lost when the database was restored onto a new installation.
    RecoverCals(InstallCalsArgs),
    /// Remove CALs from this license server by hand (a number of them, or a whole key
    /// pack), as a migration's reminder asks of a source that could not remove them.
    RemoveCals(RemoveCalsArgs),
    /// Write a backup of the license server database to a file.
    Backup {
        /// The backup file to write.
        file: PathBuf,
    },
    /// Restore the license server database from a backup file. Onto a new installation,
    /// unissued licenses are not restored (recover them with `recover-cals`).
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Rebuild the license server database: key packs reinstalled from their IDs, CALs
    /// issued to clients lost.
    Rebuild {
        /// Confirm without being asked.
        #[arg(long)]
        yes: bool,
    },
    /// A client connects through a session host: issue, renew or refuse its CAL.
    Connect(ConnectArgs),
    /// List the CALs issued to clients.
    Cals,
    /// CAL usage reports: Per User CALs installed and issued, by scope.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Revoke the permanent Per Device CAL issued to a client (at most 20% of a version's).
    Revoke {
        /// The client (device) name.
        client: String,
    },
    /// Show the license server's clock, or move it forward (to show expiry and renewal).
    Clock(ClockArgs),
    /// List the event log, oldest first, filtered.
    Events(EventsArgs),
    /// A simulated session host (or MultiPoint system) that asks license servers for CALs.
    SessionHost(SessionHostArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The client: a device name (Per Device) or a user name (Per User).
    #[arg(long)]
    pub client: String,
    /// The session host's licensing mode.
    #[arg(long, default_value = "per-device")]
    pub license_type: LicenseType,
    /// The session host's operating system.
    #[arg(long, default_value = "2022")]
    pub host_os: WindowsServer,
    /// The user's organizational unit (Per User), for CAL usage reports.
    #[arg(long)]
    pub ou: Option<String>,
}

/// `session-host`.
#[derive(Debug, Args)]
pub struct SessionHostArgs {
    /// The session host's directory.
    #[arg(long, env = "SESSION_HOST_DIR")]
    pub host_dir: PathBuf,
    #[command(subcommand)]
    pub action: SessionHostAction,
}

/// What to do with a session host.
#[derive(Debug, Subcommand)]
pub enum SessionHostAction {
    /// Install a session host: its grace period starts now.
    Install {
        /// Its computer name.
        #[arg(long, default_value = "RDSH01")]
        name: String,
        /// Its operating system.
        #[arg(long, default_value = "2022")]
        os: WindowsServer,
        /// A MultiPoint Services system with this many stations.
        #[arg(long)]
        stations: Option<u32>,
    },
    /// Set the licensing mode and the license servers to use (Group Policy).
    Set {
        /// Per Device or Per User.
        #[arg(long)]
        licensing_mode: Option<LicenseType>,
        /// The license servers to use, in order: their daemons' host:port, comma-separated.
        #[arg(long, value_delimiter = ',')]
        license_servers: Option<Vec<String>>,
    },
    /// A client connects: the CAL a license server gives it, or the grace period.
    Connect {
        /// The device (Per Device) or user (Per User).
        #[arg(long, required_unless_present = "station")]
        client: Option<String>,
        /// MultiPoint: the station (or station virtual desktop) that connects.
        #[arg(long, conflicts_with = "client")]
        station: Option<u32>,
    },
    /// Show its licensing settings and grace period.
    Status,
    /// Move its clock forward, e.g. 110days.
    Clock {
        /// How far.
        #[arg(long, value_parser = humantime::parse_duration)]
        advance: Duration,
    },
}

/// `report`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Create a report (scope: --domain, --domain with --ou, or --all-trusted-domains).
    Create(ScopeArgs),
    /// List the reports.
    List,
    /// Show a report.
    Show {
        /// The report's number.
        id: u32,
    },
    /// Save a report as CSV.
    Save {
        /// The report's number.
        id: u32,
        /// The CSV file to write.
        file: PathBuf,
    },
    /// Delete a report.
    Delete {
        /// The report's number.
        id: u32,
    },
}

/// A report's scope: asked on a terminal when not given.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// The users of this domain.
    #[arg(long)]
    pub domain: Option<String>,
    /// Only the users of this organizational unit of the domain.
    #[arg(long, requires = "domain")]
    pub ou: Option<String>,
    /// Every user of every trusted domain.
    #[arg(long, conflicts_with_all = ["domain", "ou"])]
    pub all_trusted_domains: bool,
}

impl ScopeArgs {
    /// The scope the flags give, asking on a terminal when they give none.
    pub fn scope(self, interactive: bool) -> Result<licensing_client::state::Scope, Failure> {
        use licensing_client::state::Scope;
        Ok(match (self.domain, self.ou, self.all_trusted_domains) {
            (Some(domain), Some(ou), _) => Scope::Ou { domain, ou },
            (Some(domain), None, _) => Scope::Domain { domain },
            (None, _, true) => Scope::AllTrustedDomains,
            (None, _, false) if interactive => {
                let kinds = [
                    "A domain",
                    "An organizational unit of a domain",
                    "All trusted domains",
                ];
                let kind = dialoguer::Select::new()
                    .with_prompt("Scope of the CAL usage report")
                    .items(kinds)
                    .default(0)
                    .interact()
                    .map_err(|e| Failure::bad_input(format!("scope: {e}")))?;
                let required = |text: &str| {
                    if text.is_empty() {
                        Err("required".to_owned())
                    } else {
                        Ok(())
                    }
                };
                match kind {
                    0 => Scope::Domain {
                        domain: ask("Domain, e.g. CONTOSO", required)?,
                    },
                    1 => Scope::Ou {
                        domain: ask("Domain, e.g. CONTOSO", required)?,
                        ou: ask("Organizational unit, e.g. Sales", required)?,
                    },
                    _ => Scope::AllTrustedDomains,
                }
            }
            (None, _, false) => {
                return Err(Failure::bad_input(
                    "give the report's scope: --domain DOMAIN, --domain DOMAIN --ou OU, or --all-trusted-domains",
                ));
            }
        })
    }
}

/// `clock`.
#[derive(Debug, Args)]
pub struct ClockArgs {
    /// Move it forward by this much, e.g. 30days, 90d, 12h.
    #[arg(long, conflicts_with = "set", value_parser = humantime::parse_duration)]
    pub advance: Option<Duration>,
    /// Move it forward to this time (RFC 3339, e.g. 2027-03-01T09:00:00Z).
    #[arg(long)]
    pub set: Option<Stamp>,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of this level: information or warning.
    #[arg(long)]
    pub level: Option<EventLevel>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<Stamp>,
    /// Only events whose message contains this text (case ignored).
    #[arg(long)]
    pub contains: Option<String>,
    /// Only the last N that match.
    #[arg(long)]
    pub last: Option<usize>,
}

/// `install`. On a terminal, what the flags leave out is asked, each with its default;
/// without one, the defaults are taken and said.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The computer name [default: LS01].
    #[arg(long)]
    pub name: Option<String>,
    /// The operating system, e.g. 2022, 2008-r2, 2003 [default: 2022].
    #[arg(long)]
    pub os: Option<WindowsServer>,
    /// The connection method: automatic, web or telephone [default: automatic].
    #[arg(long)]
    pub method: Option<ConnectionMethod>,
    /// The Clearinghouse's base URL [default: http://127.0.0.1:8780].
    #[arg(long, env = "CLEARINGHOUSE_URL")]
    pub clearinghouse: Option<String>,
    /// The Clearinghouse tenant (none: the default tenant).
    #[arg(long, env = "CLEARINGHOUSE_TENANT")]
    pub tenant: Option<String>,
    /// The seat token, when the tenant is a training class's seat (the trainer gives it).
    #[arg(long, env = "CLEARINGHOUSE_SEAT_TOKEN", requires = "tenant")]
    pub seat_token: Option<String>,
    /// Seed for the product ID, for reproducible runs.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub company: CompanyArgs,
}

/// Company information.
#[derive(Debug, Args)]
pub struct CompanyArgs {
    /// First name (required).
    #[arg(long)]
    pub first_name: Option<String>,
    /// Last name (required).
    #[arg(long)]
    pub last_name: Option<String>,
    /// Company (required).
    #[arg(long)]
    pub company: Option<String>,
    /// Country/region, as a code or a name (required; it chooses the telephone number).
    #[arg(long)]
    pub country: Option<String>,
    /// E-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// Phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// Organizational unit: the unit within the organization this license server serves.
    #[arg(long)]
    pub organizational_unit: Option<String>,
    /// Street address.
    #[arg(long)]
    pub address: Option<String>,
    /// City.
    #[arg(long)]
    pub city: Option<String>,
    /// State or province.
    #[arg(long)]
    pub state_province: Option<String>,
    /// Postal code.
    #[arg(long)]
    pub postal_code: Option<String>,
}

impl CompanyArgs {
    /// Writes the fields given into `fields`, leaving the others as they are.
    pub fn fill(self, fields: &mut CompanyFields) {
        let given = [
            (CompanyField::FirstName, self.first_name),
            (CompanyField::LastName, self.last_name),
            (CompanyField::Company, self.company),
            (CompanyField::CountryRegion, self.country),
            (CompanyField::Email, self.email),
            (CompanyField::Phone, self.phone),
            (CompanyField::OrganizationalUnit, self.organizational_unit),
            (CompanyField::Address, self.address),
            (CompanyField::City, self.city),
            (CompanyField::StateProvince, self.state_province),
            (CompanyField::PostalCode, self.postal_code),
        ];
        for (field, value) in given {
            if let Some(value) = value {
                // An empty optional field clears it.
                fields.set(field, Some(value).filter(|v| !v.trim().is_empty()));
            }
        }
    }
}

/// `set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// The connection method: automatic, web or telephone.
    #[arg(long)]
    pub method: Option<ConnectionMethod>,
    /// The Clearinghouse's base URL.
    #[arg(long)]
    pub clearinghouse: Option<String>,
    /// The Clearinghouse tenant.
    #[arg(long, conflicts_with = "default_tenant")]
    pub tenant: Option<String>,
    /// Use the Clearinghouse's default tenant.
    #[arg(long)]
    pub default_tenant: bool,
    /// The seat token of a training class's seat; an empty value removes it.
    #[arg(long)]
    pub seat_token: Option<String>,
    /// Company information to change (an empty value clears an optional field).
    #[command(flatten)]
    pub company: CompanyArgs,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Do not ask the Clearinghouse whether the key packs still hold only what it
    /// allocates them (CALs migrated away but not removed by hand).
    #[arg(long)]
    pub offline: bool,
}

/// `remove-cals`.
#[derive(Debug, Args)]
pub struct RemoveCalsArgs {
    /// The key pack: its number on this server (the # column of `status`) or its license
    /// key pack ID.
    #[arg(long, value_name = "NUMBER|ID")]
    pub key_pack: KeyPackRef,
    /// How many of its unissued CALs to remove.
    #[arg(long, conflicts_with = "all")]
    pub count: Option<u32>,
    /// Uninstall the whole key pack (none of its CALs may be issued to a client).
    #[arg(long)]
    pub all: bool,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

/// What every flow takes.
#[derive(Debug, Args)]
pub struct FlowArgs {
    /// The connection method for this command (default: the license server's).
    #[arg(long)]
    pub method: Option<ConnectionMethod>,
    /// Web and telephone methods: the ID the web site or the representative gave.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Web method: fill in the licensing web site's forms without a person.
    #[arg(long, conflicts_with = "id")]
    pub fill_forms: bool,
    /// Telephone method: call the Clearinghouse's phone line and hold the whole call
    /// without a person.
    #[arg(long, conflicts_with_all = ["id", "fill_forms"])]
    pub hold_call: bool,
    /// Automatic method: attempts before giving up.
    #[arg(long, default_value_t = 6)]
    pub attempts: u32,
    /// Automatic method: seconds one attempt may take (at most 3600).
    #[arg(long, default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
}

impl FlowArgs {
    /// The method for this command: the flag's, else that of the request being completed
    /// (`carried`), else the license server's.
    pub fn method(
        &self,
        server: &LicenseServer,
        carried: Option<&Waiting>,
    ) -> Result<ConnectionMethod, Failure> {
        let method = match (self.method, carried) {
            (Some(method), _) => method,
            (None, Some(waiting)) => waiting.method,
            (None, None) => server.state()?.identity.connection_method,
        };
        if self.id.is_some() && method == ConnectionMethod::Automatic {
            let waiting = if carried.is_none() {
                "; no request taken to the web site or a representative is waiting for an ID on this license server"
            } else {
                ""
            };
            return Err(Failure::bad_input(format!(
                "--id takes the ID the licensing web site or a representative gave: use it with --method web or --method telephone (the automatic method asks the Clearinghouse itself){waiting}"
            )));
        }
        Ok(method)
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.attempts.max(1),
            timeout: self.timeout,
            ..RetryPolicy::default()
        }
    }
}

/// A number of seconds above 0 and at most an hour.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
        .ok_or_else(|| format!("{text} seconds: give more than 0 and at most 3600"))
}

/// `reactivate`.
#[derive(Debug, Args)]
pub struct ReactivateArgs {
    /// Why: redeployed, certificate-corrupted, private-key-compromised, activation-expired,
    /// upgraded.
    #[arg(long)]
    pub reason: Option<ReactivationReason>,
    #[command(flatten)]
    pub flow: FlowArgs,
}

/// The CALs and their proof of purchase.
#[derive(Debug, Args)]
pub struct CalArgs {
    /// The license program, e.g. retail, open-license, select, enterprise-agreement.
    #[arg(long)]
    pub program: Option<LicenseProgram>,
    /// Retail: the 25-character license code.
    #[arg(long)]
    pub license_code: Option<String>,
    /// Open License: the authorization number.
    #[arg(long)]
    pub authorization_number: Option<String>,
    /// Open License: the license number.
    #[arg(long)]
    pub license_number: Option<String>,
    /// Agreements: the agreement or enrollment number.
    #[arg(long)]
    pub agreement_number: Option<String>,
    /// The product version of the CALs, e.g. 2022.
    #[arg(long)]
    pub product_version: Option<ProductVersion>,
    /// per-device or per-user.
    #[arg(long)]
    pub license_type: Option<LicenseType>,
    /// How many CALs.
    #[arg(long)]
    pub quantity: Option<Quantity>,
}

impl CalArgs {
    /// The program, proof and CALs, asking on the terminal for what the flags leave out.
    /// A retail license code says its CALs, so where `code_says_cals` none are asked for
    /// with one (given, they must be those). With `carried` (the request a person took to
    /// the web site or a representative, now completed with `--id`), that request's are
    /// taken, and flags given must match them.
    pub fn resolve(
        &self,
        interactive: bool,
        code_says_cals: bool,
        carried: Option<(&LicenseProof, Option<CalRequest>)>,
    ) -> Result<(LicenseProof, Option<CalRequest>), Failure> {
        if let Some((license, cals)) = carried {
            self.check_matches(license, cals)?;
            return Ok((license.clone(), cals));
        }
        let program = match self.program {
            Some(p) => p,
            None if interactive => choose("License program")?,
            None => return Err(missing("--program")),
        };
        let mut fields = ProofFields {
            program: Some(program),
            license_code: self.license_code.clone(),
            authorization_number: self.authorization_number.clone(),
            license_number: self.license_number.clone(),
            agreement_number: self.agreement_number.clone(),
        };
        if interactive {
            // A proof of another program (the program was chosen at the prompt) would be
            // asked for again and again; the prompts ask for this program's instead.
            let kind = program.proof_kind();
            if kind != ProofKind::LicenseCode {
                fields.license_code = None;
            }
            if kind != ProofKind::OpenLicense {
                fields.authorization_number = None;
                fields.license_number = None;
            }
            if kind != ProofKind::AgreementNumber {
                fields.agreement_number = None;
            }
        }
        let license = complete(
            interactive,
            &mut fields,
            |fields| LicenseProof::from_fields(program, fields),
            |e| e.field(),
            |field| prompt_for(field.key(), program),
            |fields, field, value| set_field(fields, field.key(), value),
        )?;
        let given = [
            self.product_version.is_some(),
            self.license_type.is_some(),
            self.quantity.is_some(),
        ];
        if code_says_cals && program == LicenseProgram::RetailPurchase && given == [false; 3] {
            return Ok((license, None));
        }
        Ok((license, Some(self.cals(interactive)?)))
    }

    /// The CALs, asking on the terminal for what the flags leave out.
    fn cals(&self, interactive: bool) -> Result<CalRequest, Failure> {
        let product_version = match self.product_version {
            Some(v) => v,
            None if interactive => choose("Product version")?,
            None => return Err(missing("--product-version")),
        };
        let license_type = match self.license_type {
            Some(t) => t,
            None if interactive => choose("License type")?,
            None => return Err(missing("--license-type")),
        };
        let quantity = match self.quantity {
            Some(q) => q,
            None if interactive => {
                let text = ask("Quantity", |text| {
                    text.parse::<Quantity>()
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })?;
                text.parse::<Quantity>()
                    .map_err(|e| Failure::bad_input(e.to_string()))?
            }
            None => return Err(missing("--quantity")),
        };
        Ok(CalRequest {
            product_version,
            license_type,
            quantity,
        })
    }

    /// Checks that the flags given say what the carried request said.
    fn check_matches(
        &self,
        license: &LicenseProof,
        cals: Option<CalRequest>,
    ) -> Result<(), Failure> {
        let differs = |flag: &str,
                       given: &dyn std::fmt::Display,
                       carried: &dyn std::fmt::Display| {
            Failure::bad_input(format!(
                "{flag} {given} is not what the request taken to the web site or the representative said ({carried}): leave it out to complete that request with --id, or leave out --id to start a new request"
            ))
        };
        if let Some(program) = self.program
            && program != license.program()
        {
            return Err(differs("--program", &program, &license.program()));
        }
        let proof_given = self.license_code.is_some()
            || self.authorization_number.is_some()
            || self.license_number.is_some()
            || self.agreement_number.is_some();
        if proof_given {
            let fields = ProofFields {
                program: Some(license.program()),
                license_code: self.license_code.clone(),
                authorization_number: self.authorization_number.clone(),
                license_number: self.license_number.clone(),
                agreement_number: self.agreement_number.clone(),
            };
            let given = LicenseProof::from_fields(license.program(), &fields)
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            if given != *license {
                return Err(differs(
                    "the proof of purchase",
                    &describe_proof(&given),
                    &describe_proof(license),
                ));
            }
        }
        let none = "CALs the license code says";
        match (self.product_version, cals) {
            (Some(v), Some(c)) if v != c.product_version => {
                return Err(differs("--product-version", &v, &c.product_version));
            }
            (Some(v), None) => return Err(differs("--product-version", &v, &none)),
            _ => {}
        }
        match (self.license_type, cals) {
            (Some(t), Some(c)) if t != c.license_type => {
                return Err(differs("--license-type", &t, &c.license_type));
            }
            (Some(t), None) => return Err(differs("--license-type", &t, &none)),
            _ => {}
        }
        match (self.quantity, cals) {
            (Some(q), Some(c)) if q != c.quantity => Err(differs("--quantity", &q, &c.quantity)),
            (Some(q), None) => Err(differs("--quantity", &q, &none)),
            _ => Ok(()),
        }
    }
}

/// A proof of purchase in words, e.g. "agreement number 4412903".
fn describe_proof(license: &LicenseProof) -> String {
    use licensing_client::vocab::Proof;
    match license.proof() {
        Proof::LicenseCode(code) => format!("license code {code}"),
        Proof::OpenLicense { license_number, .. } => format!("Open License {license_number}"),
        Proof::AgreementNumber(number) => {
            format!("{} {number}", license.program().agreement_number_label())
        }
    }
}

fn set_field(fields: &mut ProofFields, key: &str, value: String) {
    let slot = match key {
        "license_code" => &mut fields.license_code,
        "authorization_number" => &mut fields.authorization_number,
        "license_number" => &mut fields.license_number,
        _ => &mut fields.agreement_number,
    };
    *slot = Some(value);
}

fn prompt_for(key: &str, program: LicenseProgram) -> String {
    match key {
        "license_code" => "License code (25 characters)".to_owned(),
        "authorization_number" => "Authorization number (15 characters)".to_owned(),
        "license_number" => "License number (8 digits)".to_owned(),
        _ => capitalised(program.agreement_number_label()),
    }
}

fn missing(flag: &str) -> Failure {
    Failure::bad_input(format!(
        "{flag} is required when no terminal is attached (or with --no-input)"
    ))
    .with_code("missing_flag")
}

/// `install-cals`.
#[derive(Debug, Args)]
pub struct InstallCalsArgs {
    #[command(flatten)]
    pub cals: CalArgs,
    #[command(flatten)]
    pub flow: FlowArgs,
}

/// `migrate-cals`.
#[derive(Debug, Args)]
pub struct MigrateCalsArgs {
    /// Why: source-replaced (the source is being replaced by this server) or
    /// source-not-functioning.
    #[arg(long)]
    pub reason: Option<MigrationReason>,
    /// The source license server's name or address (host:port), when it is on the network.
    #[arg(long, conflicts_with = "source_unreachable")]
    pub source: Option<String>,
    /// The source is not available on the network: give --source-id and --source-os.
    #[arg(long)]
    pub source_unreachable: bool,
    /// The source's license server ID (when it is not available on the network).
    #[arg(long)]
    pub source_id: Option<LicenseServerId>,
    /// The source's operating system (when it is not available on the network).
    #[arg(long)]
    pub source_os: Option<WindowsServer>,
    /// The source's name, for the record (when it is not available on the network).
    #[arg(long)]
    pub source_name: Option<String>,
    /// Confirm the reminder to remove the CALs from the source by hand, when there is one.
    #[arg(long)]
    pub confirm_manual_removal: bool,
    #[command(flatten)]
    pub cals: CalArgs,
    #[command(flatten)]
    pub flow: FlowArgs,
}

impl MigrateCalsArgs {
    /// Why the CALs move and where from, asking on the terminal for what the flags leave
    /// out, as the wizard asks it: a source being replaced is named (on the network, or by
    /// its license server ID and operating system); of one that no longer functions, the
    /// wizard asks nothing, and flags may say what is known of it. With `carried` (the
    /// request a person took to the web site or a representative), that request's.
    pub fn resolve_source(
        &self,
        interactive: bool,
        carried: Option<&Waiting>,
    ) -> Result<(MigrationReason, Source), Failure> {
        if let Some(waiting) = carried
            && let Request::MigrateCals(request) = &waiting.request
        {
            if let Some(reason) = self.reason
                && reason != request.reason
            {
                return Err(Failure::bad_input(format!(
                    "--reason {} is not what the request taken to the web site or the representative said ({}): leave it out to complete that request with --id, or leave out --id to start a new request",
                    reason.slug(),
                    request.reason.slug()
                )));
            }
            self.check_source_matches(waiting, request)?;
            let source = match &waiting.source_address {
                Some(address) => Source::Reachable(address.clone()),
                None => Source::Unreachable {
                    license_server_id: request.source.license_server_id,
                    os: request.source.os,
                    name: request.source.name.clone(),
                },
            };
            return Ok((request.reason, source));
        }
        let reason = match self.reason {
            Some(r) => r,
            None if interactive => choose("Reason for migrating the CALs")?,
            None => return Err(missing("--reason")),
        };
        let described = self.source_unreachable
            || self.source_id.is_some()
            || self.source_os.is_some()
            || self.source_name.is_some();
        let source = if let Some(name) = &self.source {
            Source::Reachable(name.clone())
        } else if reason == MigrationReason::SourceNotFunctioning {
            // The wizard goes straight to the reminder: what is known of it is optional.
            Source::Unreachable {
                license_server_id: self.source_id,
                os: self.source_os,
                name: self.source_name.clone(),
            }
        } else if described {
            self.unreachable_source(interactive)?
        } else if interactive {
            let name = ask(
                "Source license server name or address (host:port); leave empty if it is not available on the network",
                |_| Ok(()),
            )?;
            if name.trim().is_empty() {
                self.unreachable_source(interactive)?
            } else {
                Source::Reachable(name.trim().to_owned())
            }
        } else {
            return Err(Failure::bad_input(
                "give the source license server: --source HOST:PORT, or --source-unreachable with --source-id and --source-os (when it no longer functions, --reason source-not-functioning needs none)",
            ));
        };
        Ok((reason, source))
    }

    /// Checks that the source flags given say what the carried request said.
    fn check_source_matches(
        &self,
        waiting: &Waiting,
        request: &licensing_client::wire::MigrateCalsRequest,
    ) -> Result<(), Failure> {
        let differs = |flag: &str, given: String, carried: String| {
            Failure::bad_input(format!(
                "{flag} {given} is not what the request taken to the web site or the representative said ({carried}): leave it out to complete that request with --id, or leave out --id to start a new request"
            ))
        };
        let none = || "none".to_owned();
        if let Some(address) = &self.source
            && waiting.source_address.as_ref() != Some(address)
        {
            let carried = waiting.source_address.clone().unwrap_or_else(none);
            return Err(differs("--source", address.clone(), carried));
        }
        if self.source_unreachable && waiting.source_address.is_some() {
            let carried = waiting.source_address.clone().unwrap_or_else(none);
            return Err(differs("--source-unreachable", String::new(), carried));
        }
        if let Some(id) = self.source_id
            && request.source.license_server_id != Some(id)
        {
            let carried = request
                .source
                .license_server_id
                .map_or_else(none, |i| i.to_string());
            return Err(differs("--source-id", id.to_string(), carried));
        }
        if let Some(os) = self.source_os
            && request.source.os != Some(os)
        {
            let carried = request.source.os.map_or_else(none, |o| o.slug().to_owned());
            return Err(differs("--source-os", os.slug().to_owned(), carried));
        }
        if let Some(name) = &self.source_name
            && request.source.name.as_ref() != Some(name)
        {
            let carried = request.source.name.clone().unwrap_or_else(none);
            return Err(differs("--source-name", name.clone(), carried));
        }
        Ok(())
    }

    fn unreachable_source(&self, interactive: bool) -> Result<Source, Failure> {
        let license_server_id = match self.source_id {
            Some(id) => id,
            None if interactive => {
                let text = ask("Source license server ID", |text| {
                    text.parse::<LicenseServerId>()
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })?;
                text.parse()
                    .map_err(|e: licensing_client::id::IdError| Failure::bad_input(e.to_string()))?
            }
            None => return Err(missing("--source-id")),
        };
        let os = match self.source_os {
            Some(os) => os,
            None if interactive => choose("Source operating system")?,
            None => return Err(missing("--source-os")),
        };
        Ok(Source::Unreachable {
            license_server_id: Some(license_server_id),
            os: Some(os),
            name: self.source_name.clone(),
        })
    }
}
