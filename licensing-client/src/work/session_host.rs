//! A simulated RD Session Host (or MultiPoint Services system): what the license servers
//! see of the deployment. It has a licensing mode and the license servers it is told to
//! use (the two Group Policy settings under *Remote Desktop Session Host → Licensing*), and
//! asks them, in order, for a CAL for each client that connects.
//!
//! Without a licensing mode or a license server it runs on the grace period: 120 days from
//! its installation, warning in the last 15, and refusing connections once it has ended.
//! A MultiPoint system needs a CAL for every station and station virtual desktop, each
//! asked for as a client of its own.
//!
//! Kept as one JSON file in its own directory, replaced whole (`state::replace_file`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shared::vocab::{LicenseType, WindowsServer};
use thiserror::Error;

use crate::peer::{ClientConnection, Peer, SourceError};
use crate::state::{Stamp, StateError};
use crate::work::issuance::Grant;

const FILE: &str = "session-host.json";
const DAY: u64 = 24 * 60 * 60;
/// How long a session host runs without a licensing mode or license server.
pub const GRACE_DAYS: u64 = 120;
/// How many days before the grace period ends the session host warns.
pub const WARN_DAYS: u64 = 15;

/// The licensing settings of a session host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHostState {
    /// Its computer name.
    pub name: String,
    /// Its operating system.
    pub os: WindowsServer,
    /// Per Device or Per User; `None` until set ("Not yet configured").
    #[serde(default)]
    pub licensing_mode: Option<LicenseType>,
    /// The license servers to use, in order (`host:port` of their daemons).
    #[serde(default)]
    pub license_servers: Vec<String>,
    /// For a MultiPoint Services system: its stations (and station virtual desktops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stations: Option<u32>,
    /// When it was installed: the grace period starts then.
    pub installed_at: Stamp,
    /// How far its clock runs ahead of the computer's, in seconds.
    #[serde(default)]
    pub clock_offset_secs: u64,
}

impl SessionHostState {
    /// The time on its clock.
    pub fn clock(&self) -> Stamp {
        Stamp::now_ahead_by(self.clock_offset_secs)
    }

    /// Whether it is configured: a licensing mode and at least one license server.
    pub fn configured(&self) -> bool {
        self.licensing_mode.is_some() && !self.license_servers.is_empty()
    }

    /// Whole days left of the grace period at `now` (0 once it has ended).
    pub fn grace_days_left(&self, now: Stamp) -> u64 {
        let ends = self.installed_at.plus(GRACE_DAYS * DAY);
        ends.0.saturating_sub(now.0).div_ceil(DAY)
    }
}

/// What the RD Licensing Diagnoser says once the grace period has ended without a
/// licensing mode and license server.
const NOT_CONFIGURED_PAST_GRACE: &str = "The grace period for the Remote Desktop Session Host server has expired, but the RD Session Host server hasn't been configured with any license servers. Connections to the RD Session Host server will be denied unless a license server is configured for the RD Session Host server.";

/// What the RD Licensing Diagnoser says of a license server that could not be used.
fn not_available(name: &str, error: &SourceError) -> String {
    let cause = match error {
        SourceError::Unreachable { reason, .. } | SourceError::NotALicenseServer { reason, .. } => {
            reason.clone()
        }
        other => other.to_string(),
    };
    format!(
        "License server {name} is not available. This could be caused by network connectivity problems, the Remote Desktop Licensing service is stopped on the license server, or RD Licensing isn't available ({cause})."
    )
}

/// A client let in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "admitted", rename_all = "kebab-case")]
pub enum Admitted {
    /// On the grace period: no licensing mode or license server is set, or none answered.
    Grace {
        /// Days left of it.
        days_left: u64,
        /// What the session host shows, when it warns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    /// A license server gave it a CAL.
    Licensed {
        /// The license server that answered.
        license_server: String,
        /// What it gave.
        grant: Grant,
    },
}

/// Why a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The grace period ended and no license server can be used.
    #[error(
        "The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license. ({reason})"
    )]
    NoLicenseServer {
        /// Why none could be used.
        reason: String,
    },
    /// A license server refused the client a CAL.
    #[error("license server {license_server}: {reason}")]
    Refused {
        /// The license server.
        license_server: String,
        /// What it said.
        reason: String,
    },
    /// A MultiPoint station that does not exist.
    #[error("this MultiPoint system has stations 1 to {stations}, not {station}")]
    NoSuchStation {
        /// The station asked for.
        station: u32,
        /// How many it has.
        stations: u32,
    },
    /// A station was named on a session host that is not a MultiPoint system.
    #[error("this session host is not a MultiPoint system: it has no stations")]
    NotMultiPoint,
}

/// Why a session host could not let a client in, or could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HostError {
    /// Its directory.
    #[error(transparent)]
    State(#[from] StateError),
    /// The client was refused.
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// A simulated session host kept in a directory.
#[derive(Debug, Clone)]
pub struct SessionHost {
    dir: PathBuf,
}

impl SessionHost {
    /// Installs a session host in `dir` (which must not hold one).
    pub fn install(
        dir: &Path,
        name: &str,
        os: WindowsServer,
        stations: Option<u32>,
    ) -> Result<Self, StateError> {
        crate::state::not_a_file(dir)?;
        fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let host = SessionHost {
            dir: dir.to_owned(),
        };
        if host.file().exists() {
            return Err(StateError::SessionHostInstalled {
                dir: dir.to_owned(),
            });
        }
        let now = Stamp::now_ahead_by(0);
        host.write(&SessionHostState {
            name: name.to_owned(),
            os,
            licensing_mode: None,
            license_servers: Vec::new(),
            stations,
            installed_at: now,
            clock_offset_secs: 0,
        })?;
        Ok(host)
    }

    /// The session host in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        crate::state::not_a_file(dir)?;
        let host = SessionHost {
            dir: dir.to_owned(),
        };
        if !host.file().exists() {
            return Err(StateError::NoSessionHost {
                dir: dir.to_owned(),
            });
        }
        Ok(host)
    }

    fn file(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Its settings as they are now.
    pub fn state(&self) -> Result<SessionHostState, StateError> {
        let path = self.file();
        let bytes = fs::read(&path).map_err(|e| StateError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| StateError::Damaged {
            path,
            reason: e.to_string(),
        })
    }

    fn write(&self, state: &SessionHostState) -> Result<(), StateError> {
        let path = self.file();
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        crate::state::replace_file(&path, &bytes)
    }

    /// Sets the licensing mode and the license servers to use; `None` leaves one as it is.
    pub fn configure(
        &self,
        licensing_mode: Option<LicenseType>,
        license_servers: Option<Vec<String>>,
    ) -> Result<SessionHostState, StateError> {
        let mut state = self.state()?;
        if let Some(mode) = licensing_mode {
            state.licensing_mode = Some(mode);
        }
        if let Some(servers) = license_servers {
            state.license_servers = servers;
        }
        self.write(&state)?;
        Ok(state)
    }

    /// Moves its clock forward by `seconds`.
    pub fn advance_clock(&self, seconds: u64) -> Result<Stamp, StateError> {
        let mut state = self.state()?;
        state.clock_offset_secs = state.clock_offset_secs.saturating_add(seconds);
        self.write(&state)?;
        Ok(state.clock())
    }

    /// A client connects (for a MultiPoint system, `station` says which station, and the
    /// station is the client).
    pub async fn connect(&self, client: &str, station: Option<u32>) -> Result<Admitted, HostError> {
        let state = self.state()?;
        let client = match (station, state.stations) {
            (None, _) => client.to_owned(),
            (Some(_), None) => return Err(ConnectError::NotMultiPoint.into()),
            (Some(n), Some(stations)) if n == 0 || n > stations => {
                return Err(ConnectError::NoSuchStation {
                    station: n,
                    stations,
                }
                .into());
            }
            (Some(n), Some(_)) => format!("{}-station-{n}", state.name),
        };
        let now = state.clock();
        let days_left = state.grace_days_left(now);
        let Some(mode) = state.licensing_mode.filter(|_| state.configured()) else {
            if days_left == 0 {
                return Err(ConnectError::NoLicenseServer {
                    reason: NOT_CONFIGURED_PAST_GRACE.to_owned(),
                }
                .into());
            }
            let warning = (days_left <= WARN_DAYS).then(|| {
                let days = if days_left == 1 { "day" } else { "days" };
                format!(
                    "Remote Desktop licensing mode is not configured. Remote Desktop Services will stop working in {days_left} {days}. Set the licensing mode and the license servers to use (`license-server session-host set --licensing-mode ... --license-servers ...`)."
                )
            });
            return Ok(Admitted::Grace { days_left, warning });
        };
        let connection = ClientConnection {
            client,
            license_type: mode,
            session_host_os: state.os,
            ou: None,
        };
        let mut unreachable = Vec::new();
        for name in &state.license_servers {
            let asked = match Peer::new(name) {
                Ok(peer) => peer.connect_client(&connection).await,
                Err(e) => Err(e),
            };
            match asked {
                Ok(grant) => {
                    return Ok(Admitted::Licensed {
                        license_server: name.clone(),
                        grant,
                    });
                }
                Err(SourceError::Refused { reason, .. }) => {
                    return Err(ConnectError::Refused {
                        license_server: name.clone(),
                        reason,
                    }
                    .into());
                }
                Err(e) => unreachable.push(not_available(name, &e)),
            }
        }
        // As the RD Licensing Diagnoser says it, for each license server that could not be
        // used; the session host runs on its grace period meanwhile.
        let diagnosis = unreachable.join(" ");
        if days_left == 0 {
            return Err(ConnectError::NoLicenseServer { reason: diagnosis }.into());
        }
        let days = if days_left == 1 { "day" } else { "days" };
        Ok(Admitted::Grace {
            days_left,
            warning: Some(format!(
                "{diagnosis} The session host lets clients in on its grace period meanwhile: {days_left} {days} left."
            )),
        })
    }
}
