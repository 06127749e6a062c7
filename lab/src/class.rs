//! A class as the lab keeps it in its directory (`class.json`): the scenario, the
//! clearinghouse, and each seat's tenant, license servers (state directories and daemon
//! addresses) and session hosts. Every lab command reads it; `lab up` writes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::admin::Admin;
use crate::error::LabError;
use crate::scenario::Scenario;

/// The file a class is kept in, in its directory.
pub const CLASS_FILE: &str = "class.json";

/// A license server of a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatServer {
    /// Its state directory.
    pub dir: PathBuf,
    /// Where its daemon answers, when it is on the network.
    pub daemon: Option<String>,
}

/// A seat: one student's tenant and computers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatRecord {
    /// Its number, from 1.
    pub n: u32,
    /// Its tenant on the clearinghouse.
    pub tenant: String,
    /// Its directory: the computers' directories and the files the student saves.
    pub dir: PathBuf,
    /// Its license servers, by name.
    pub servers: BTreeMap<String, SeatServer>,
    /// Its session hosts' directories, by name.
    pub hosts: BTreeMap<String, PathBuf>,
    /// How many of its tenant's changes set it up: the student's own follow.
    #[serde(default)]
    pub setup_changes: u16,
    /// Its seat token, when the class keeps its seats apart: every request for its
    /// tenant must carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_token: Option<String>,
}

/// A class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassFile {
    /// Its name: its seats' tenants are `<name>-01`, `<name>-02`...
    pub name: String,
    /// The scenario file.
    pub scenario: PathBuf,
    /// The seed every seat's IDs derive from.
    pub seed: u64,
    /// The clearinghouse's URL.
    pub clearinghouse: String,
    /// Its admin token.
    pub admin_token: String,
    /// Whether the lab started the clearinghouse itself (and keeps its store in the
    /// class's directory).
    pub own_clearinghouse: bool,
    /// The phone line's `host:port`, when the clearinghouse has one.
    pub phone_line: Option<String>,
    /// The voice line's `host:port` (SIP over UDP), when the lab's own clearinghouse has
    /// one: a seat calls `sip:<its tenant>@host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_line: Option<String>,
    /// The process that keeps the daemons (and the lab's own clearinghouse) running;
    /// `None` once the class is down.
    pub host_pid: Option<u32>,
    /// The seats.
    pub seats: Vec<SeatRecord>,
}

impl ClassFile {
    /// The class kept in `dir`.
    pub fn read(dir: &Path) -> Result<ClassFile, LabError> {
        let path = dir.join(CLASS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LabError::NoClass(dir.to_owned()));
            }
            Err(e) => return Err(LabError::io(&path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| LabError::io(&path, format!("damaged: {e}")))
    }

    /// Keeps the class in `dir`, replacing the file whole.
    pub fn write(&self, dir: &Path) -> Result<(), LabError> {
        let path = dir.join(CLASS_FILE);
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|e| LabError::io(&path, e.to_string()))?;
        licensing_client::state::replace_file(&path, &bytes).map_err(|e| LabError::io(&path, e))
    }

    /// Seat `n`.
    pub fn seat(&self, n: u32) -> Result<&SeatRecord, LabError> {
        self.seats
            .iter()
            .find(|s| s.n == n)
            .ok_or(LabError::NoSeat {
                seat: n,
                seats: u32::try_from(self.seats.len()).unwrap_or(u32::MAX),
            })
    }

    /// The seats `seat` names: that one, or every seat.
    pub fn chosen(&self, seat: Option<u32>) -> Result<Vec<&SeatRecord>, LabError> {
        match seat {
            Some(n) => Ok(vec![self.seat(n)?]),
            None => Ok(self.seats.iter().collect()),
        }
    }
}

/// A class with its scenario read and its clearinghouse at hand.
#[derive(Debug, Clone)]
pub struct Class {
    /// The class's directory.
    pub dir: PathBuf,
    /// What it keeps.
    pub file: ClassFile,
    /// Its scenario.
    pub scenario: Scenario,
    /// Its clearinghouse.
    pub admin: Admin,
}

impl Class {
    /// Refuses a class that is down when its clearinghouse went down with it (the lab's
    /// own): nothing answers for its seats.
    pub fn require_up(&self) -> Result<(), LabError> {
        let up = self.file.host_pid.is_some_and(crate::host::alive);
        if up || !self.file.own_clearinghouse {
            return Ok(());
        }
        Err(LabError::Usage(format!(
            "the class in {} is down, and its clearinghouse with it: stand it up again with `lab up` (its seats start over)",
            self.dir.display()
        )))
    }

    /// The class in `dir`.
    pub fn open(dir: &Path) -> Result<Class, LabError> {
        let dir = &dir.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LabError::NoClass(dir.to_owned()),
            _ => LabError::io(dir, e),
        })?;
        let file = ClassFile::read(dir)?;
        let scenario = Scenario::load(&file.scenario)?;
        let admin = Admin::new(&file.clearinghouse, &file.admin_token)?;
        Ok(Class {
            dir: dir.to_owned(),
            file,
            scenario,
            admin,
        })
    }
}

/// The tenant of seat `n` of class `name`.
pub fn tenant_of(name: &str, n: u32) -> String {
    format!("{name}-{n:02}")
}

/// The seed of seat `n` of a class seeded `seed`: each seat its own, the same every run.
pub fn seat_seed(seed: u64, n: u32) -> u64 {
    seed.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(u64::from(n).wrapping_mul(1_442_695_040_888_963_407))
        & shared::wire::MAX_SEED
}

/// A class name made of a scenario's name: lower-case letters, digits and dashes.
pub fn class_name(scenario: &str) -> String {
    let mut name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_owned();
    // Room for the seat's "-NN" within a tenant name's 63 characters.
    name.truncate(56);
    if name.is_empty() {
        "class".to_owned()
    } else {
        name
    }
}
