//! The license server's own state: identity, activation, installed key packs and event log,
//! kept as one JSON document in its state directory.
//!
//! Every change is made under an exclusive lock on the directory and written to a new file
//! that replaces the old one only once it is on disk. So the daemon and the command line can
//! share a directory, and a crash leaves the old state or the new one, never half of each.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use shared::id::{ConfirmationCode, KeyPackId, LicenseServerId, ProductId};
use shared::vocab::{
    CompanyInfo, ConnectionMethod, LicenseProgram, LicenseType, MigrationReason, ProductVersion,
    WindowsServer,
};

use crate::error::StateError;
use crate::issuance::IssuedCal;
use crate::request::Request;

/// The file the state is kept in, inside the state directory.
pub const STATE_FILE: &str = "license-server.json";
const LOCK_FILE: &str = "license-server.lock";
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
    /// Its event log, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
    /// The CALs issued to clients, and those revoked that still count against the limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issued: Vec<IssuedCal>,
    /// Its CAL usage reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<crate::reports::Report>,
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

/// A time, in whole seconds since the Unix epoch, written as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub u64);

impl Stamp {
    /// The latest time a clock is moved to (the start of the year 9000), so that every
    /// expiry after it still has an RFC 3339 date.
    pub const LATEST: Stamp = Stamp(221_845_392_000);

    /// The computer's time now, moved forward by `offset_secs` (a simulated clock).
    pub fn now_ahead_by(offset_secs: u64) -> Stamp {
        let computer = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Stamp(computer.saturating_add(offset_secs))
    }

    /// `seconds` later.
    pub fn plus(self, seconds: u64) -> Stamp {
        Stamp(self.0.saturating_add(seconds))
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // RFC 3339 ends with the year 9999; clocks stop well before (`LATEST`).
        let time = UNIX_EPOCH + Duration::from_secs(self.0.min(253_402_300_799));
        write!(f, "{}", humantime::format_rfc3339_seconds(time))
    }
}

impl std::str::FromStr for Stamp {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let time = humantime::parse_rfc3339_weak(text.trim())
            .map_err(|e| format!("{text:?} is not a time like 2027-01-31T09:00:00Z: {e}"))?;
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| format!("{text:?} is before 1970"))?
            .as_secs();
        Ok(Stamp(secs))
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
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
            events: Vec::new(),
            issued: Vec::new(),
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

/// A license server's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Creates a license server in `dir`, which must not hold one yet.
    pub fn create(dir: &Path, state: &ServerState) -> Result<Self, StateError> {
        fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let this = StateDir {
            dir: dir.to_owned(),
        };
        let _lock = this.lock()?;
        if this.file().exists() {
            return Err(StateError::AlreadyInstalled {
                dir: dir.to_owned(),
            });
        }
        this.write(state)?;
        Ok(this)
    }

    /// Opens the license server in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let this = StateDir {
            dir: dir.to_owned(),
        };
        if !this.file().exists() {
            return Err(StateError::NotInstalled {
                dir: dir.to_owned(),
            });
        }
        Ok(this)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The state as it is now.
    pub fn read(&self) -> Result<ServerState, StateError> {
        let path = self.file();
        let bytes = fs::read(&path).map_err(|e| StateError::io(&path, e))?;
        let state: ServerState =
            serde_json::from_slice(&bytes).map_err(|e| StateError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if state.format != STATE_FORMAT {
            return Err(StateError::Damaged {
                path,
                reason: format!(
                    "layout version {} (this build reads version {STATE_FORMAT})",
                    state.format
                ),
            });
        }
        Ok(state)
    }

    /// Applies `change` to the state and keeps the result, or keeps nothing if `change`
    /// fails. No other process changes the state meanwhile.
    pub fn update<T, E>(
        &self,
        change: impl FnOnce(&mut ServerState) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StateError>,
    {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let out = change(&mut state)?;
        self.write(&state)?;
        Ok(out)
    }

    fn lock(&self) -> Result<File, StateError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StateError::io(&path, e))?;
        file.lock().map_err(|e| StateError::io(&path, e))?;
        Ok(file)
    }

    fn write(&self, state: &ServerState) -> Result<(), StateError> {
        let path = self.file();
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        replace_file(&path, &bytes)
    }
}

/// Replaces the file at `path` with `bytes`, so that a crash leaves the old file or the
/// new one, never half of one: written beside it, synced, renamed over it, and the rename
/// made durable by syncing the directory.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| StateError::io(path, e))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use shared::vocab::CompanyFields;

    fn fresh(dir: &Path) -> StateDir {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        let company = CompanyInfo::new(CompanyFields {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            company: Some("Engines".into()),
            country_region: Some("GB".into()),
            ..CompanyFields::default()
        })
        .unwrap();
        let identity = Identity {
            name: "LS".into(),
            os: WindowsServer::V2022,
            product_id: ProductId::generate(&mut rng),
            company,
            connection_method: ConnectionMethod::Automatic,
            clearinghouse: ClearinghouseAddress {
                url: "http://127.0.0.1:1".into(),
                tenant: None,
            },
        };
        StateDir::create(dir, &ServerState::new(identity)).unwrap()
    }

    #[test]
    fn a_change_that_fails_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        let before = state.read().unwrap();
        let failed: Result<(), StateError> = state.update(|s| {
            s.identity.name = "CHANGED".into();
            Err(StateError::NotInstalled {
                dir: dir.path().to_owned(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(state.read().unwrap(), before);
    }

    #[test]
    fn changes_from_many_threads_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let state = state.clone();
                std::thread::spawn(move || {
                    state
                        .update(|s| {
                            s.log(EventLevel::Information, format!("thread {i}"));
                            Ok::<_, StateError>(())
                        })
                        .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The installation event and one per thread.
        assert_eq!(state.read().unwrap().events.len(), 9);
    }

    #[test]
    fn a_damaged_state_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        fs::write(dir.path().join(STATE_FILE), b"{ not json").unwrap();
        let error = state.read().unwrap_err();
        assert!(error.to_string().contains(STATE_FILE), "{error}");
    }
}
