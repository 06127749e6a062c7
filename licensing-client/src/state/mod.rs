//! The license server's own state: identity, activation, installed key packs, the CALs
//! issued to clients, reports and the event log. Its data types are defined here, and the
//! rules over them beside it (`crate::work`); [`StateDir`] keeps it as one JSON document in
//! the state directory.

mod cals;
mod dir;
mod reminder;
mod reports;
mod stamp;

use serde::{Deserialize, Serialize};
use shared::id::{ConfirmationCode, KeyPackId, LicenseServerId, ProductId};
use shared::vocab::{
    CompanyInfo, ConnectionMethod, LicenseProgram, LicenseType, MigrationReason, ProductVersion,
    WindowsServer,
};

use crate::methods::request::Request;

pub use cals::{CalStatus, IssuedCal};
pub use dir::{STATE_FILE, StateDir, StateError, not_a_file, replace_file};
pub use reminder::{Reminder, ReminderCause};
pub use reports::{Line, Report, Scope};
pub use stamp::Stamp;

/// The version of the state file's layout this build reads and writes.
pub const STATE_FORMAT: u32 = 1;

/// Where a license server reaches the Clearinghouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearinghouseAddress {
    /// Its base URL, e.g. `http://127.0.0.1:8780`.
    pub url: String,
    /// The tenant requests are for; `None` for the default tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The seat token, when the tenant is a training class's seat: sent with every
    /// request, and given to the web site and the representative when they ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_token: Option<String>,
}

impl ClearinghouseAddress {
    /// Checks that requests can be sent to it: an `http://` or `https://` URL, and a
    /// tenant name of letters, digits, `-` and `_`.
    pub fn check(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| format!("the Clearinghouse URL {:?} is not a URL: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!(
                "the Clearinghouse URL {:?} must be http:// or https:// and name a host, e.g. http://127.0.0.1:8780",
                self.url
            ));
        }
        if let Some(tenant) = &self.tenant {
            let valid = !tenant.is_empty()
                && tenant.len() <= 64
                && tenant
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(format!(
                    "the tenant {tenant:?} must be 1 to 64 letters, digits, - or _"
                ));
            }
        }
        if let Some(token) = &self.seat_token {
            shared::wire::check_seat_token(token)?;
        }
        Ok(())
    }

    /// The URL, with the tenant if it is not the default.
    pub fn describe(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("{} (tenant {tenant})", self.url),
            None => self.url.clone(),
        }
    }
}

/// Who and what the license server is: set when it is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Its computer name, which other license servers use to reach it.
    pub name: String,
    /// The operating system it runs.
    pub os: WindowsServer,
    /// The product ID it gives the Clearinghouse to be activated.
    pub product_id: ProductId,
    /// Its company information; the country/region chooses the telephone number.
    pub company: CompanyInfo,
    /// How it reaches the Clearinghouse unless a command says otherwise.
    pub connection_method: ConnectionMethod,
    /// The Clearinghouse it talks to.
    pub clearinghouse: ClearinghouseAddress,
}

/// Where the license server stands with the Clearinghouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Activation {
    /// Installed, never activated: it can issue only temporary CALs.
    NotActivated,
    /// Activated under a license server ID.
    Activated {
        /// Its license server ID.
        license_server_id: LicenseServerId,
        /// When it was activated or last reactivated.
        since: String,
    },
    /// Deactivated: it receives nothing until reactivated.
    Deactivated {
        /// The license server ID it had.
        license_server_id: LicenseServerId,
        /// The confirmation code the Clearinghouse gave.
        confirmation_code: ConfirmationCode,
        /// When it was deactivated.
        since: String,
    },
}

impl Activation {
    /// The license server ID, if the server was ever activated.
    pub fn license_server_id(&self) -> Option<LicenseServerId> {
        match self {
            Activation::NotActivated => None,
            Activation::Activated {
                license_server_id, ..
            }
            | Activation::Deactivated {
                license_server_id, ..
            } => Some(*license_server_id),
        }
    }

    /// A word for the status, as `status` shows it.
    pub fn word(&self) -> &'static str {
        match self {
            Activation::NotActivated => "not activated",
            Activation::Activated { .. } => "activated",
            Activation::Deactivated { .. } => "deactivated",
        }
    }
}

/// How a key pack came to this license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KeyPackSource {
    /// Installed from a license program.
    Installed,
    /// Migrated from another license server.
    Migrated {
        /// Why.
        reason: MigrationReason,
        /// The source's license server ID, when it was known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<LicenseServerId>,
    },
    /// Reissued by the Clearinghouse for CALs lost in a restore onto a new installation.
    Recovered,
}

/// A key pack installed on this license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledKeyPack {
    /// The local number of the key pack on this server (what WMI calls `KeyPackId`).
    pub local_id: u32,
    /// The license key pack ID the Clearinghouse gave.
    pub key_pack_id: KeyPackId,
    /// The license server ID it was issued for.
    pub issued_for: LicenseServerId,
    /// The license program the CALs were bought under.
    pub license_program: LicenseProgram,
    /// The Windows Server version of its CALs.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many CALs it held when installed.
    pub installed: u32,
    /// How many were removed since (migrated to another license server).
    pub removed: u32,
    /// How many unissued ones were lost when the database was restored onto a new
    /// installation.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub lost: u32,
    /// How many were removed by hand (RD Licensing Manager's remove and uninstall, WMI's
    /// `RemoveLicensesWithIdCount` and `UninstallLicenseKeyPackWithId`), as after a
    /// migration whose source could not remove them itself.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub removed_by_hand: u32,
    /// How many are issued to clients.
    pub issued: u32,
    /// How it came here.
    pub source: KeyPackSource,
    /// The connection method that obtained it.
    pub method: ConnectionMethod,
    /// When it was installed.
    pub installed_at: String,
}

impl InstalledKeyPack {
    /// The CALs it holds now.
    pub fn total(&self) -> u32 {
        self.installed
            .saturating_sub(self.removed)
            .saturating_sub(self.lost)
            .saturating_sub(self.removed_by_hand)
    }

    /// A key pack as RD Licensing Manager lists it, e.g. "Windows Server 2022 - Installed
    /// RDS Per Device CALs".
    pub fn label(&self) -> String {
        self.product_version.installed_label(self.license_type)
    }

    /// The CALs it holds that are not issued to a client.
    pub fn available(&self) -> u32 {
        self.total().saturating_sub(self.issued)
    }
}

/// CALs removed from this server because another license server received them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// The key pack ID the other license server installed: each is honoured once.
    pub for_key_pack: KeyPackId,
    /// The CALs removed, per local key pack: `(local_id, count)`.
    pub taken: Vec<(u32, u32)>,
    /// When.
    pub at: String,
}

/// An entry of the license server's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub at: String,
    /// Information or warning.
    pub level: EventLevel,
    /// What happened.
    pub message: String,
}

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventLevel {
    /// Something done.
    Information,
    /// Something the administrator has to act on.
    Warning,
}

impl std::str::FromStr for EventLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_lowercase().as_str() {
            "information" | "info" => Ok(EventLevel::Information),
            "warning" | "warn" => Ok(EventLevel::Warning),
            _ => Err(format!(
                "{text:?} is not an event level: information or warning"
            )),
        }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this level.
    pub level: Option<EventLevel>,
    /// Only at or after this time.
    pub since: Option<Stamp>,
    /// Only those whose message contains this (case ignored).
    pub contains: Option<String>,
    /// Only the last this many that match.
    pub last: Option<usize>,
}

impl EventFilter {
    /// The events of `state` this filter keeps, oldest first.
    pub fn apply<'a>(&self, state: &'a ServerState) -> Vec<&'a Event> {
        let needle = self.contains.as_ref().map(|c| c.to_lowercase());
        let kept: Vec<&Event> = state
            .events
            .iter()
            .filter(|e| self.level.is_none_or(|l| e.level == l))
            .filter(|e| {
                self.since
                    .is_none_or(|since| e.at.parse::<Stamp>().is_ok_and(|at| at >= since))
            })
            .filter(|e| {
                needle
                    .as_ref()
                    .is_none_or(|n| e.message.to_lowercase().contains(n))
            })
            .collect();
        let skip = self.last.map_or(0, |last| kept.len().saturating_sub(last));
        kept.into_iter().skip(skip).collect()
    }
}

/// A request to the Clearinghouse by the automatic method that has not had its answer:
/// running the same request again reuses its idempotency key, so it is not applied twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The idempotency key it was sent with.
    pub idempotency_key: String,
    /// The request.
    pub request: Request,
}

/// A request carried to the web site or a representative by a person, waiting for the ID
/// they bring back: running the same command again with only the ID completes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// The request.
    pub request: Request,
    /// The connection method it went by.
    pub method: ConnectionMethod,
    /// For a migration whose source is on the network: the address it was reached at, to
    /// ask it to remove the CALs once they are installed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    /// The reminder to remove the CALs from the source by hand, which the person
    /// confirmed before the request was carried (it is not asked again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<Reminder>,
    /// When it was carried.
    pub since: String,
}

/// Everything the license server keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerState {
    /// The layout version of this document.
    pub format: u32,
    /// The installation it runs on: a backup restored onto another one loses its
    /// unissued licenses.
    #[serde(default)]
    pub installation: String,
    /// Who and what it is.
    pub identity: Identity,
    /// Where it stands with the Clearinghouse.
    pub activation: Activation,
    /// Its key packs, in the order they were installed.
    pub key_packs: Vec<InstalledKeyPack>,
    /// CALs removed for other license servers.
    #[serde(default)]
    pub removals: Vec<Removal>,
    /// Automatic requests still waiting for their answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
    /// Requests carried to the web site or a representative, waiting for the ID: one per
    /// task, the latest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Waiting>,
    /// Its event log, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
    /// The CALs issued to clients, and those revoked that still count against the limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issued: Vec<IssuedCal>,
    /// The devices that were ever issued a temporary Per Device CAL: a device gets one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub had_temporary: Vec<String>,
    /// Its CAL usage reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<Report>,
    /// How many reports were ever made: the next one's number.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub reports_made: u32,
    /// How far its clock runs ahead of the computer's, in seconds: a lab moves it forward
    /// to show expiry and renewal without waiting.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clock_offset_secs: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl ServerState {
    /// A license server just installed.
    pub fn new(identity: Identity) -> Self {
        let mut state = ServerState {
            format: STATE_FORMAT,
            installation: format!("{:032x}", rand::random::<u128>()),
            identity,
            activation: Activation::NotActivated,
            key_packs: Vec::new(),
            removals: Vec::new(),
            pending: Vec::new(),
            waiting: Vec::new(),
            events: Vec::new(),
            issued: Vec::new(),
            had_temporary: Vec::new(),
            reports: Vec::new(),
            reports_made: 0,
            clock_offset_secs: 0,
        };
        let message = format!(
            "Remote Desktop Licensing installed on {} ({})",
            state.identity.name, state.identity.os
        );
        state.log(EventLevel::Information, message);
        state
    }

    /// The time on the license server's clock: the computer's, moved forward by the offset.
    pub fn clock(&self) -> Stamp {
        Stamp::now_ahead_by(self.clock_offset_secs)
    }

    /// The time on its clock, as the state records it.
    pub fn now(&self) -> String {
        self.clock().to_string()
    }

    /// Adds an entry to the event log.
    pub fn log(&mut self, level: EventLevel, message: impl Into<String>) {
        let at = self.now();
        self.events.push(Event {
            at,
            level,
            message: message.into(),
        });
    }

    /// The key pack with this ID, if installed.
    pub fn key_pack(&self, id: &KeyPackId) -> Option<&InstalledKeyPack> {
        self.key_packs.iter().find(|k| k.key_pack_id == *id)
    }

    /// The next free local key pack number.
    pub fn next_local_id(&self) -> u32 {
        self.key_packs
            .iter()
            .map(|k| k.local_id)
            .max()
            .map_or(1, |m| m + 1)
    }
}
