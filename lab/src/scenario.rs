//! A scenario: one file a trainer writes (TOML), read and checked before a class is stood
//! up on it. It tells the story, sets the start state (license servers, session hosts,
//! test controls), lists the checks of the expected end state, and holds the reference
//! solution a scripted student plays. The format is documented in `fixtures/labs/README.md`.
//!
//! A scenario with a mistake is refused with its file, line and what to fix: a word that
//! is no term (an operating system, a method) by the vocabulary's own message, and the
//! mistakes only a whole scenario shows (a check naming an unknown server, a key pack the
//! fixtures cannot supply) by the line of the entry that makes them.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shared::vocab::{
    ConnectionMethod, CountryRegion, LicenseProof, LicenseType, MigrationReason, ProductVersion,
    Proof, Term, WindowsServer,
};
use shared::wire::{FaultSpec, PurchaseSpec};
use thiserror::Error;
use toml::Spanned;

/// A scenario that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}: {message}")]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// The line of the mistake, from 1 (0 when the file could not be read).
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// Whether a license server is activated when the class starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationState {
    /// Installed, never activated.
    #[default]
    NotActivated,
    /// Activated (by the automatic method, before the class).
    Activated,
    /// Activated, then deactivated.
    Deactivated,
}

impl fmt::Display for ActivationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActivationState::NotActivated => "not activated",
            ActivationState::Activated => "activated",
            ActivationState::Deactivated => "deactivated",
        })
    }
}

/// CALs bought under a fixture purchase: what a key pack holds or a step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cals {
    /// The purchase, as its index in [`Scenario::purchases`] (the fixtures').
    pub purchase_index: usize,
    /// The Windows Server version of the CALs.
    pub version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many.
    pub quantity: u16,
}

/// CALs as a file gives them: with the purchase named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalsEntry {
    purchase: String,
    version: ProductVersion,
    #[serde(rename = "type")]
    license_type: LicenseType,
    quantity: u16,
}

/// A license server of the start state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerEntry {
    name: Spanned<String>,
    os: WindowsServer,
    #[serde(default)]
    activation: ActivationState,
    #[serde(default = "automatic")]
    method: ConnectionMethod,
    #[serde(default = "yes")]
    network: bool,
    #[serde(default)]
    key_packs: Vec<Spanned<CalsEntry>>,
    #[serde(default)]
    clients: u32,
    #[serde(default)]
    restored_onto_new_installation: bool,
}

fn automatic() -> ConnectionMethod {
    ConnectionMethod::Automatic
}

fn yes() -> bool {
    true
}

/// A session host of the start state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostEntry {
    name: Spanned<String>,
    os: WindowsServer,
    #[serde(default)]
    stations: Option<u32>,
    #[serde(default)]
    grace_days_left: Option<u64>,
    #[serde(default)]
    licensing_mode: Option<LicenseType>,
    #[serde(default)]
    license_servers: Vec<Spanned<String>>,
}

/// A check as a file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "check", rename_all = "kebab-case", deny_unknown_fields)]
enum CheckEntry {
    Cals {
        server: String,
        version: ProductVersion,
        #[serde(rename = "type")]
        license_type: LicenseType,
        quantity: u32,
        #[serde(default)]
        origin: Option<Origin>,
        #[serde(default)]
        method: Option<ConnectionMethod>,
        #[serde(default)]
        key_packs: Option<u32>,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    Activation {
        server: String,
        state: ActivationState,
        #[serde(default)]
        method: Option<ConnectionMethod>,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    SourceCleared {
        server: String,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    KeyPacks {
        server: String,
        count: u32,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    Audit {
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    SessionHost {
        host: String,
        licensing_mode: LicenseType,
        license_server: String,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    ClientsLicensed {
        host: String,
        server: String,
        clients: Vec<String>,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
    Report {
        server: String,
        csv: String,
        #[serde(default)]
        says: Option<String>,
        #[serde(default)]
        missing: Option<String>,
    },
}

/// How a key pack came to its license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Installed from a purchase.
    Installed,
    /// Migrated from another license server.
    Migrated,
    /// Recovered after a restore onto a new installation.
    Recovered,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Installed => "installed",
            Origin::Migrated => "migrated",
            Origin::Recovered => "recovered",
        })
    }
}

/// A step of the reference solution as a file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case", deny_unknown_fields)]
enum StepEntry {
    Activate {
        server: String,
        method: ConnectionMethod,
    },
    Deactivate {
        server: String,
        method: ConnectionMethod,
    },
    InstallCals {
        server: String,
        method: ConnectionMethod,
        purchase: String,
        version: ProductVersion,
        #[serde(rename = "type")]
        license_type: LicenseType,
        quantity: u16,
    },
    MigrateCals {
        server: String,
        from: String,
        reason: MigrationReason,
        method: ConnectionMethod,
        purchase: String,
        version: ProductVersion,
        #[serde(rename = "type")]
        license_type: LicenseType,
        quantity: u16,
    },
    RecoverCals {
        server: String,
        method: ConnectionMethod,
        purchase: String,
        version: ProductVersion,
        #[serde(rename = "type")]
        license_type: LicenseType,
        quantity: u16,
    },
    RemoveCals {
        server: String,
        version: ProductVersion,
        #[serde(rename = "type")]
        license_type: LicenseType,
        quantity: u32,
    },
    ConfigureHost {
        host: String,
        licensing_mode: LicenseType,
        license_servers: Vec<String>,
    },
    Connect {
        host: String,
        clients: Vec<String>,
    },
    Report {
        server: String,
        domain: String,
        csv: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    title: String,
    story: String,
    #[serde(default = "gb")]
    country: CountryRegion,
    #[serde(default)]
    servers: Vec<ServerEntry>,
    #[serde(default)]
    session_hosts: Vec<HostEntry>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    checks: Vec<Spanned<CheckEntry>>,
    #[serde(default)]
    solution: Vec<Spanned<StepEntry>>,
}

fn gb() -> CountryRegion {
    "GB".parse()
        .unwrap_or_else(|_| unreachable!("GB is a country/region"))
}

/// A license server of the start state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Its computer name.
    pub name: String,
    /// Its operating system.
    pub os: WindowsServer,
    /// Activated or not when the class starts.
    pub activation: ActivationState,
    /// The connection method in its properties.
    pub method: ConnectionMethod,
    /// Whether a daemon answers for it on the network (a reachable source).
    pub network: bool,
    /// The key packs installed on it at the start.
    pub key_packs: Vec<Cals>,
    /// How many Per Device clients hold permanent CALs from it at the start.
    pub clients: u32,
    /// Whether its database was restored from a backup onto a new installation, losing
    /// its unissued licenses (they are recovered by telephone).
    pub restored_onto_new_installation: bool,
}

/// A session host of the start state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// Its computer name.
    pub name: String,
    /// Its operating system.
    pub os: WindowsServer,
    /// For a MultiPoint Services system, its stations.
    pub stations: Option<u32>,
    /// Days left of its grace period at the start (120 when absent: just installed).
    pub grace_days_left: Option<u64>,
    /// Its licensing mode, if set.
    pub licensing_mode: Option<LicenseType>,
    /// The license servers it is pointed at, by name.
    pub license_servers: Vec<String>,
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// `server` holds exactly `quantity` CALs of a version and type (of one origin, by one
    /// method, in `key_packs` key packs, when those are given).
    Cals {
        /// The license server.
        server: String,
        /// The version.
        version: ProductVersion,
        /// The type.
        license_type: LicenseType,
        /// How many it must hold.
        quantity: u32,
        /// Only key packs of this origin count.
        origin: Option<Origin>,
        /// Every counted key pack came by this method (the ledger's history says).
        method: Option<ConnectionMethod>,
        /// How many key packs hold them.
        key_packs: Option<u32>,
    },
    /// `server` is activated, or deactivated, or not (by `method`, the ledger says).
    Activation {
        /// The license server.
        server: String,
        /// The state it must be in.
        state: ActivationState,
        /// The method of its last activation or deactivation.
        method: Option<ConnectionMethod>,
    },
    /// `server` holds no CALs the Clearinghouse says were migrated away from it.
    SourceCleared {
        /// The license server.
        server: String,
    },
    /// `server` holds CALs in exactly `count` key packs: none installed beyond what the
    /// scenario asks.
    KeyPacks {
        /// The license server.
        server: String,
        /// How many key packs hold CALs.
        count: u32,
    },
    /// The seat's ledger passes the audit.
    Audit,
    /// A session host is set to a licensing mode and asks `license_server` first.
    SessionHost {
        /// The session host.
        host: String,
        /// Its licensing mode.
        licensing_mode: LicenseType,
        /// The license server it must ask first.
        license_server: String,
    },
    /// Each client holds a CAL from `server`.
    ClientsLicensed {
        /// The session host they connect through.
        host: String,
        /// The license server.
        server: String,
        /// The clients (devices or users).
        clients: Vec<String>,
    },
    /// `server` made a CAL usage report, saved as CSV in the seat's directory as `csv`.
    Report {
        /// The license server.
        server: String,
        /// The file name, in the seat's directory.
        csv: String,
    },
}

/// A check of the expected end state, with the scenario's words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What it looks at.
    pub kind: CheckKind,
    /// The check in words.
    pub says: String,
    /// What to tell a student who has not done it yet (the scenario's words, if given).
    pub missing: Option<String>,
}

/// A step of the reference solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Activate `server` by `method`.
    Activate {
        /// The license server.
        server: String,
        /// The connection method.
        method: ConnectionMethod,
    },
    /// Deactivate `server` by `method`.
    Deactivate {
        /// The license server.
        server: String,
        /// The connection method.
        method: ConnectionMethod,
    },
    /// Install CALs on `server`.
    InstallCals {
        /// The license server.
        server: String,
        /// The connection method.
        method: ConnectionMethod,
        /// The CALs.
        cals: Cals,
    },
    /// Migrate CALs from `from` to `server`.
    MigrateCals {
        /// The target.
        server: String,
        /// The source.
        from: String,
        /// Why.
        reason: MigrationReason,
        /// The connection method.
        method: ConnectionMethod,
        /// The CALs.
        cals: Cals,
    },
    /// Recover CALs lost in a restore onto a new installation.
    RecoverCals {
        /// The license server.
        server: String,
        /// The connection method.
        method: ConnectionMethod,
        /// The CALs.
        cals: Cals,
    },
    /// Remove CALs from `server` by hand.
    RemoveCals {
        /// The license server.
        server: String,
        /// The version.
        version: ProductVersion,
        /// The type.
        license_type: LicenseType,
        /// How many.
        quantity: u32,
    },
    /// Set a session host's licensing mode and license servers.
    ConfigureHost {
        /// The session host.
        host: String,
        /// The licensing mode.
        licensing_mode: LicenseType,
        /// The license servers, by name, in order.
        license_servers: Vec<String>,
    },
    /// Clients connect through a session host.
    Connect {
        /// The session host.
        host: String,
        /// The clients.
        clients: Vec<String>,
    },
    /// Make a CAL usage report of a domain and save it as CSV in the seat's directory.
    Report {
        /// The license server.
        server: String,
        /// The domain.
        domain: String,
        /// The file name.
        csv: String,
    },
}

/// A scenario, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file it was read from.
    pub file: PathBuf,
    /// Its name: the file's stem.
    pub name: String,
    /// Its title.
    pub title: String,
    /// The story told to the student.
    pub story: String,
    /// The country/region of the license servers' company (it picks the phone number).
    pub country: CountryRegion,
    /// The license servers of the start state.
    pub servers: Vec<ServerSpec>,
    /// The session hosts of the start state.
    pub hosts: Vec<HostSpec>,
    /// The test controls in force at the start.
    pub faults: Vec<FaultSpec>,
    /// The expected end state.
    pub checks: Vec<Check>,
    /// The reference solution.
    pub solution: Vec<Step>,
    /// The purchases the CALs come from (the fixtures'), indexed by [`Cals::purchase_index`].
    pub purchases: Vec<PurchaseSpec>,
}

impl Scenario {
    /// Reads and checks the scenario in `file`.
    pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(file).map_err(|e| ScenarioError {
            file: file.to_owned(),
            line: 0,
            message: format!("the scenario could not be read: {e}"),
        })?;
        Scenario::parse(file, &text)
    }

    /// Checks the scenario `text`, read from `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let error = |offset: usize, message: String| ScenarioError {
            file: file.to_owned(),
            line: line_of(text, offset),
            message,
        };
        let parsed: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            error(offset, e.message().trim().to_owned())
        })?;
        let purchases = clearinghouse::fixtures::embedded()
            .map_err(|e| error(0, format!("the built-in fixtures could not be read: {e}")))?;
        let mut reader = Reader {
            text,
            taken: Vec::new(),
            purchases: &purchases,
            error: &error,
            servers: HashMap::new(),
            hosts: HashMap::new(),
        };
        let mut servers = Vec::new();
        for entry in &parsed.servers {
            let name = reader.new_name(&entry.name, "license server")?;
            let mut key_packs = Vec::new();
            for pack in &entry.key_packs {
                key_packs.push(reader.cals(pack.as_ref(), &pack.span())?);
            }
            reader.fits(&key_packs, pack_start(entry))?;
            reader.taken.extend(key_packs.iter().copied());
            servers.push(ServerSpec {
                name: name.clone(),
                os: entry.os,
                activation: entry.activation,
                method: entry.method,
                network: entry.network,
                key_packs,
                clients: entry.clients,
                restored_onto_new_installation: entry.restored_onto_new_installation,
            });
            reader.servers.insert(name, entry.network);
        }
        let mut hosts = Vec::new();
        for entry in &parsed.session_hosts {
            let name = reader.new_name(&entry.name, "session host")?;
            let grace = licensing_client::work::session_host::GRACE_DAYS;
            if entry.grace_days_left.is_some_and(|d| d > grace) {
                return Err(error(
                    entry.name.span().start,
                    format!(
                        "session host {name}: a grace period is {grace} days; grace_days_left is at most {grace}"
                    ),
                ));
            }
            let license_servers = entry
                .license_servers
                .iter()
                .map(|s| reader.networked_server(s.as_ref(), &s.span()))
                .collect::<Result<_, _>>()?;
            hosts.push(HostSpec {
                name: name.clone(),
                os: entry.os,
                stations: entry.stations,
                grace_days_left: entry.grace_days_left,
                licensing_mode: entry.licensing_mode,
                license_servers,
            });
            reader.hosts.insert(name, entry.os);
        }
        let checks = parsed
            .checks
            .iter()
            .map(|c| reader.check(c))
            .collect::<Result<Vec<_>, _>>()?;
        if checks.is_empty() {
            return Err(error(
                0,
                "the scenario has no [[checks]]: say what the end state must be".to_owned(),
            ));
        }
        let solution = parsed
            .solution
            .iter()
            .map(|s| reader.step(s))
            .collect::<Result<Vec<_>, _>>()?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Scenario {
            file: file.to_owned(),
            name,
            title: parsed.title,
            story: parsed.story,
            country: parsed.country,
            servers,
            hosts,
            faults: parsed.faults,
            checks,
            solution,
            purchases,
        })
    }

    /// The proof of the purchase `cals` come from.
    pub fn proof(&self, cals: &Cals) -> LicenseProof {
        self.purchases[cals.purchase_index].license.clone()
    }
}

/// Where a server's key packs start, for a mistake in their sum.
fn pack_start(entry: &ServerEntry) -> usize {
    entry
        .key_packs
        .first()
        .map_or(entry.name.span().start, |p| p.span().start)
}

/// The line of byte `offset` in `text`, from 1.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// How a purchase is named in a scenario: its agreement number, Open License number or
/// retail license code.
fn purchase_name(spec: &PurchaseSpec) -> String {
    match spec.license.proof() {
        Proof::AgreementNumber(n) => n.as_str().to_owned(),
        Proof::OpenLicense { license_number, .. } => license_number.as_str().to_owned(),
        Proof::LicenseCode(code) => code.as_str().to_owned(),
    }
}

type MakeError<'a> = dyn Fn(usize, String) -> ScenarioError + 'a;

/// What has been read so far, to check names against.
struct Reader<'a> {
    text: &'a str,
    /// The key packs of the servers read so far: a seat's tenant supplies them all.
    taken: Vec<Cals>,
    purchases: &'a [PurchaseSpec],
    error: &'a MakeError<'a>,
    /// The license servers read so far, and whether each is on the network.
    servers: HashMap<String, bool>,
    hosts: HashMap<String, WindowsServer>,
}

impl Reader<'_> {
    /// Where `needle` first appears in the entry spanning `range`: the line of the field
    /// at fault rather than of its table.
    fn locate(&self, range: &std::ops::Range<usize>, needle: &str) -> usize {
        // A table's span may cover its header only: its fields run to the next header.
        let rest = self.text.get(range.start..).unwrap_or_default();
        let header_end = rest.find('\n').map_or(rest.len(), |n| n + 1);
        let fields_end = rest[header_end..]
            .find("\n[")
            .map_or(rest.len(), |n| header_end + n);
        let entry = &rest[..fields_end
            .max(range.end.saturating_sub(range.start))
            .min(rest.len())];
        entry
            .find(needle)
            .map_or(range.start, |at| range.start + at)
    }

    fn new_name(&self, name: &Spanned<String>, what: &str) -> Result<String, ScenarioError> {
        let text = name.as_ref().trim();
        let valid = (1..=15).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err((self.error)(
                name.span().start,
                format!(
                    "{text:?} is no computer name for a {what}: 1 to 15 letters, digits, dashes or underscores"
                ),
            ));
        }
        if self.servers.contains_key(text) || self.hosts.contains_key(text) {
            return Err((self.error)(
                name.span().start,
                format!("two computers are named {text}: give each its own name"),
            ));
        }
        Ok(text.to_owned())
    }

    fn server(&self, name: &str, at: &std::ops::Range<usize>) -> Result<String, ScenarioError> {
        let text = name.trim();
        if self.servers.contains_key(text) {
            return Ok(text.to_owned());
        }
        let mut known: Vec<&str> = self.servers.keys().map(String::as_str).collect();
        known.sort_unstable();
        Err((self.error)(
            self.locate(at, &format!("{name:?}")),
            format!(
                "no license server is named {text:?}: the [[servers]] are {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }

    /// A license server a session host asks for CALs, which it reaches over the network.
    fn networked_server(
        &self,
        name: &str,
        at: &std::ops::Range<usize>,
    ) -> Result<String, ScenarioError> {
        let server = self.server(name, at)?;
        if self.servers.get(&server) == Some(&false) {
            return Err((self.error)(
                self.locate(at, &format!("{name:?}")),
                format!(
                    "license server {server} is not on the network (network = false), and a session host asks its license servers over it: give it network = true, or name another"
                ),
            ));
        }
        Ok(server)
    }

    fn host(&self, name: &str, at: &std::ops::Range<usize>) -> Result<String, ScenarioError> {
        let text = name.trim();
        if self.hosts.contains_key(text) {
            return Ok(text.to_owned());
        }
        let mut known: Vec<&str> = self.hosts.keys().map(String::as_str).collect();
        known.sort_unstable();
        Err((self.error)(
            self.locate(at, &format!("{name:?}")),
            format!(
                "no session host is named {text:?}: the [[session_hosts]] are {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }

    /// The CALs `entry` names, if the fixtures have them.
    fn cals(&self, entry: &CalsEntry, at: &std::ops::Range<usize>) -> Result<Cals, ScenarioError> {
        let wanted = entry.purchase.trim();
        let Some(index) = self
            .purchases
            .iter()
            .position(|p| purchase_name(p).eq_ignore_ascii_case(wanted))
        else {
            let known: Vec<String> = self.purchases.iter().map(purchase_name).collect();
            return Err((self.error)(
                self.locate(at, "purchase"),
                format!(
                    "no purchase {wanted:?} is in the fixtures: use one of {} (fixtures/README.md lists what each holds)",
                    known.join(", ")
                ),
            ));
        };
        let purchase = &self.purchases[index];
        let bought = purchase
            .cals
            .iter()
            .find(|c| c.product_version == entry.version && c.license_type == entry.license_type);
        let Some(bought) = bought else {
            let held: Vec<String> = purchase
                .cals
                .iter()
                .map(|c| format!("{} {}", c.product_version.slug(), c.license_type.slug()))
                .collect();
            return Err((self.error)(
                self.locate(at, "version"),
                format!(
                    "purchase {wanted} holds no {} {} CALs, so the fixtures cannot supply this key pack: it holds {}",
                    entry.version.slug(),
                    entry.license_type.slug(),
                    held.join(", ")
                ),
            ));
        };
        if entry.quantity == 0 || u32::from(entry.quantity) > bought.quantity {
            return Err((self.error)(
                self.locate(at, "quantity"),
                format!(
                    "purchase {wanted} holds {} {} {} CALs: a quantity of {} is more than the fixtures can supply (or none at all)",
                    bought.quantity,
                    entry.version.slug(),
                    entry.license_type.slug(),
                    entry.quantity
                ),
            ));
        }
        Ok(Cals {
            purchase_index: index,
            version: entry.version,
            license_type: entry.license_type,
            quantity: entry.quantity,
        })
    }

    /// Whether `packs`, with those of the servers before, fit in their purchases: every
    /// seat's tenant holds the fixtures once.
    fn fits(&self, packs: &[Cals], at: usize) -> Result<(), ScenarioError> {
        let mut sums: HashMap<(usize, ProductVersion, LicenseType), u32> = HashMap::new();
        for pack in self.taken.iter().chain(packs) {
            *sums
                .entry((pack.purchase_index, pack.version, pack.license_type))
                .or_default() += u32::from(pack.quantity);
        }
        for ((index, version, license_type), sum) in sums {
            let bought = self.purchases[index]
                .cals
                .iter()
                .find(|c| c.product_version == version && c.license_type == license_type)
                .map_or(0, |c| c.quantity);
            if sum > bought {
                return Err((self.error)(
                    at,
                    format!(
                        "the servers' key packs take {sum} {} {} CALs of purchase {} in all, which holds {bought}: the fixtures cannot supply them",
                        version.slug(),
                        license_type.slug(),
                        purchase_name(&self.purchases[index])
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check(&self, entry: &Spanned<CheckEntry>) -> Result<Check, ScenarioError> {
        let at = &entry.span();
        let (kind, says, missing) = match entry.as_ref() {
            CheckEntry::Cals {
                server,
                version,
                license_type,
                quantity,
                origin,
                method,
                key_packs,
                says,
                missing,
            } => {
                let server = self.server(server, at)?;
                let default = format!(
                    "{server} holds {quantity} {} {} CALs{}{}",
                    version.name(),
                    license_type.name(),
                    origin.map(|o| format!(", {o}")).unwrap_or_default(),
                    method
                        .map(|m| format!(", by the {} method", crate::grade::words(m)))
                        .unwrap_or_default()
                );
                (
                    CheckKind::Cals {
                        server,
                        version: *version,
                        license_type: *license_type,
                        quantity: *quantity,
                        origin: *origin,
                        method: *method,
                        key_packs: *key_packs,
                    },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::Activation {
                server,
                state,
                method,
                says,
                missing,
            } => {
                let server = self.server(server, at)?;
                let default = format!(
                    "{server} is {state}{}",
                    method
                        .map(|m| format!(" by the {} method", crate::grade::words(m)))
                        .unwrap_or_default()
                );
                (
                    CheckKind::Activation {
                        server,
                        state: *state,
                        method: *method,
                    },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::SourceCleared {
                server,
                says,
                missing,
            } => {
                let server = self.server(server, at)?;
                let default =
                    format!("{server} no longer holds the CALs that were migrated away from it");
                (
                    CheckKind::SourceCleared { server },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::KeyPacks {
                server,
                count,
                says,
                missing,
            } => {
                let server = self.server(server, at)?;
                let default = format!("{server} holds no key pack beyond the {count} asked for");
                (
                    CheckKind::KeyPacks {
                        server,
                        count: *count,
                    },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::Audit { says, missing } => (
                CheckKind::Audit,
                says.clone()
                    .unwrap_or_else(|| "the Clearinghouse's audit is clean".to_owned()),
                missing.clone(),
            ),
            CheckEntry::SessionHost {
                host,
                licensing_mode,
                license_server,
                says,
                missing,
            } => {
                let host = self.host(host, at)?;
                let license_server = self.server(license_server, at)?;
                let default = format!(
                    "{host} is in {} licensing mode and uses {license_server}",
                    licensing_mode.name()
                );
                (
                    CheckKind::SessionHost {
                        host,
                        licensing_mode: *licensing_mode,
                        license_server,
                    },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::ClientsLicensed {
                host,
                server,
                clients,
                says,
                missing,
            } => {
                let host = self.host(host, at)?;
                let server = self.server(server, at)?;
                if clients.is_empty() {
                    return Err((self.error)(
                        at.start,
                        "a clients-licensed check names its clients: clients = [\"PC01\"]"
                            .to_owned(),
                    ));
                }
                let default = format!(
                    "{} connect through {host} with CALs from {server}",
                    clients.join(", ")
                );
                (
                    CheckKind::ClientsLicensed {
                        host,
                        server,
                        clients: clients.clone(),
                    },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
            CheckEntry::Report {
                server,
                csv,
                says,
                missing,
            } => {
                let server = self.server(server, at)?;
                let csv = file_name(csv).ok_or_else(|| {
                    (self.error)(
                        at.start,
                        format!("{csv:?} is no plain file name: a report's CSV is saved in the seat's directory, by a name such as usage.csv"),
                    )
                })?;
                let default = format!(
                    "a CAL usage report of {server} is saved as {csv} in the seat's directory"
                );
                (
                    CheckKind::Report { server, csv },
                    says.clone().unwrap_or(default),
                    missing.clone(),
                )
            }
        };
        Ok(Check {
            kind,
            says,
            missing,
        })
    }

    fn step(&self, entry: &Spanned<StepEntry>) -> Result<Step, ScenarioError> {
        let at = &entry.span();
        Ok(match entry.as_ref() {
            StepEntry::Activate { server, method } => Step::Activate {
                server: self.server(server, at)?,
                method: *method,
            },
            StepEntry::Deactivate { server, method } => Step::Deactivate {
                server: self.server(server, at)?,
                method: *method,
            },
            StepEntry::InstallCals {
                server,
                method,
                purchase,
                version,
                license_type,
                quantity,
            } => Step::InstallCals {
                server: self.server(server, at)?,
                method: *method,
                cals: self.cals(&entry_of(purchase, *version, *license_type, *quantity), at)?,
            },
            StepEntry::MigrateCals {
                server,
                from,
                reason,
                method,
                purchase,
                version,
                license_type,
                quantity,
            } => {
                let cals = entry_of(purchase, *version, *license_type, *quantity);
                let target = self.server(server, at)?;
                let source = self.server(from, at)?;
                if target == source {
                    return Err((self.error)(
                        at.start,
                        format!(
                            "{target} cannot migrate CALs from itself: `from` names the source"
                        ),
                    ));
                }
                Step::MigrateCals {
                    server: target,
                    from: source,
                    reason: *reason,
                    method: *method,
                    cals: self.cals(&cals, at)?,
                }
            }
            StepEntry::RecoverCals {
                server,
                method,
                purchase,
                version,
                license_type,
                quantity,
            } => Step::RecoverCals {
                server: self.server(server, at)?,
                method: *method,
                cals: self.cals(&entry_of(purchase, *version, *license_type, *quantity), at)?,
            },
            StepEntry::RemoveCals {
                server,
                version,
                license_type,
                quantity,
            } => Step::RemoveCals {
                server: self.server(server, at)?,
                version: *version,
                license_type: *license_type,
                quantity: *quantity,
            },
            StepEntry::ConfigureHost {
                host,
                licensing_mode,
                license_servers,
            } => Step::ConfigureHost {
                host: self.host(host, at)?,
                licensing_mode: *licensing_mode,
                license_servers: license_servers
                    .iter()
                    .map(|s| self.networked_server(s, at))
                    .collect::<Result<_, _>>()?,
            },
            StepEntry::Connect { host, clients } => Step::Connect {
                host: self.host(host, at)?,
                clients: clients.clone(),
            },
            StepEntry::Report {
                server,
                domain,
                csv,
            } => Step::Report {
                server: self.server(server, at)?,
                domain: domain.clone(),
                csv: file_name(csv).ok_or_else(|| {
                    (self.error)(
                        at.start,
                        format!("{csv:?} is no plain file name: a report's CSV is saved in the seat's directory, by a name such as usage.csv"),
                    )
                })?,
            },
        })
    }
}

fn entry_of(
    purchase: &str,
    version: ProductVersion,
    license_type: LicenseType,
    quantity: u16,
) -> CalsEntry {
    CalsEntry {
        purchase: purchase.to_owned(),
        version,
        license_type,
        quantity,
    }
}

/// `name` if it is a plain file name (no directory).
fn file_name(name: &str) -> Option<String> {
    let name = name.trim();
    let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']);
    plain.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(Path::new("broken.toml"), text)
    }

    const HEAD: &str = "title = \"t\"\nstory = \"s\"\n";

    #[test]
    fn an_unknown_operating_system_is_refused_at_its_line() {
        let text = format!(
            "{HEAD}[[servers]]\nname = \"LS1\"\nos = \"2007\"\n[[checks]]\ncheck = \"audit\"\n[[solution]]\ndo = \"activate\"\nserver = \"LS1\"\nmethod = \"automatic\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 5, "{error}");
        assert!(error.message.contains("2007"), "{error}");
        assert!(error.to_string().starts_with("broken.toml:5: "), "{error}");
    }

    #[test]
    fn a_check_naming_an_unknown_server_is_refused_at_its_line() {
        let text = format!(
            "{HEAD}[[servers]]\nname = \"LS1\"\nos = \"2019\"\n[[checks]]\ncheck = \"source-cleared\"\nserver = \"LS9\"\n[[solution]]\ndo = \"activate\"\nserver = \"LS1\"\nmethod = \"automatic\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 8, "{error}");
        assert!(error.message.contains("\"LS9\""), "{error}");
        assert!(error.message.contains("LS1"), "{error}");
    }

    #[test]
    fn a_key_pack_the_fixtures_cannot_supply_is_refused_at_its_line() {
        let text = format!(
            "{HEAD}[[servers]]\nname = \"LS1\"\nos = \"2019\"\n[[servers.key_packs]]\npurchase = \"4412903\"\nversion = \"2012\"\ntype = \"per-user\"\nquantity = 5\n[[checks]]\ncheck = \"audit\"\n[[solution]]\ndo = \"activate\"\nserver = \"LS1\"\nmethod = \"automatic\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 8, "{error}");
        assert!(error.message.contains("cannot supply"), "{error}");
    }

    #[test]
    fn more_cals_than_a_purchase_holds_are_refused() {
        let text = format!(
            "{HEAD}solution = []\n[[servers]]\nname = \"LS1\"\nos = \"2019\"\n[[servers.key_packs]]\npurchase = \"4412903\"\nversion = \"2016\"\ntype = \"per-device\"\nquantity = 76\n[[checks]]\ncheck = \"audit\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("holds 75"), "{error}");
    }

    #[test]
    fn key_packs_of_two_servers_beyond_their_purchase_are_refused() {
        let pack = "[[servers.key_packs]]\npurchase = \"4412903\"\nversion = \"2016\"\ntype = \"per-device\"\nquantity = 50\n";
        let text = format!(
            "{HEAD}solution = []\n[[servers]]\nname = \"LS1\"\nos = \"2019\"\n{pack}[[servers]]\nname = \"LS2\"\nos = \"2019\"\n{pack}[[checks]]\ncheck = \"audit\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("100 2016 per-device"), "{error}");
        assert!(error.message.contains("holds 75"), "{error}");
    }

    #[test]
    fn an_unknown_country_is_refused_at_its_line() {
        let text = format!("{HEAD}country = \"Atlantis\"\n[[checks]]\ncheck = \"audit\"\n");
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        assert!(error.message.contains("Atlantis"), "{error}");
    }

    #[test]
    fn a_session_host_pointed_at_a_server_off_the_network_is_refused() {
        let text = format!(
            "{HEAD}solution = []\n[[servers]]\nname = \"LS1\"\nos = \"2019\"\nnetwork = false\n[[session_hosts]]\nname = \"RDSH01\"\nos = \"2022\"\nlicense_servers = [\"LS1\"]\n[[checks]]\ncheck = \"audit\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 11, "{error}");
        assert!(error.message.contains("not on the network"), "{error}");
    }

    #[test]
    fn a_misspelt_field_is_refused_at_its_line() {
        let text = format!(
            "{HEAD}[[servers]]\nname = \"LS1\"\nos = \"2019\"\nactivaton = \"activated\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.line, 6, "{error}");
        assert!(error.message.contains("activaton"), "{error}");
    }
}
