//! What a clearinghouse is started with, and the defaults that let `clearinghouse` run
//! with no arguments.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::ledger::{Clock, SystemClock};
use crate::phone::PhoneSettings;

/// The port the clearinghouse listens on when none is given.
pub const DEFAULT_PORT: u16 = 8780;
/// The port of the phone line when none is given.
pub const DEFAULT_PHONE_PORT: u16 = 8781;

/// Where the ledger is kept.
#[derive(Clone)]
pub enum Storage {
    /// A sled store in this directory, created when missing; survives restarts and crashes.
    Directory(PathBuf),
    /// In memory: nothing on disk, nothing survives the process.
    Memory,
    /// A store given by the program that starts the clearinghouse (a test's store that
    /// fails on purpose, say).
    Given(Arc<dyn crate::store::Store>),
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::Directory(path) => f.debug_tuple("Directory").field(path).finish(),
            Storage::Memory => f.write_str("Memory"),
            Storage::Given(_) => f.write_str("Given"),
        }
    }
}

/// Where the fixtures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixtureSource {
    /// The fixtures built into the binary.
    Embedded,
    /// The fixture files of a directory.
    Directory(PathBuf),
}

/// Everything a clearinghouse is started with.
#[derive(Clone)]
pub struct Config {
    /// The address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Where the ledger is kept.
    pub storage: Storage,
    /// What new tenants are seeded with.
    pub fixtures: FixtureSource,
    /// The default tenant's seed when it is first created; random when absent.
    pub seed: Option<u64>,
    /// The token the admin API requires; generated when absent.
    pub admin_token: Option<String>,
    /// The time the ledger reads.
    pub clock: Arc<dyn Clock>,
    /// Holds every commit back this long (a test control that keeps requests in flight).
    pub commit_delay: Option<Duration>,
    /// The most entries a tenant's journal keeps before it drops its oldest.
    pub journal_capacity: usize,
    /// Where the phone line (the telephone method) listens; none without one.
    pub phone_addr: Option<SocketAddr>,
    /// How the phone line answers (the voice line too).
    pub phone: PhoneSettings,
    /// Where the voice line (SIP over UDP) listens; none without one.
    pub sip_addr: Option<SocketAddr>,
    /// How long a request body may take to arrive before it is refused with 408.
    pub body_timeout: Duration,
}

/// How long a request body may take to arrive, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many entries a tenant's journal keeps by default.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

impl Config {
    /// A clearinghouse on a free loopback port with an in-memory store: what tests want.
    pub fn ephemeral() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: Storage::Memory,
            fixtures: FixtureSource::Embedded,
            seed: None,
            admin_token: None,
            clock: Arc::new(SystemClock),
            commit_delay: None,
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            phone_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            phone: PhoneSettings::default(),
            // The voice line needs espeak-ng; tests of it ask for it.
            sip_addr: None,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// The default address: loopback, the default port.
pub fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT))
}

/// The phone line's default address: loopback, the default phone port.
pub fn default_phone_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], DEFAULT_PHONE_PORT))
}

/// The voice line's default address: loopback, SIP's port.
pub fn default_sip_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}

/// The default data directory: `$XDG_DATA_HOME/clearinghouse`, else
/// `~/.local/share/clearinghouse`, else `./clearinghouse-data`.
pub fn default_data_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = from_env("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("clearinghouse");
    }
    if let Some(home) = from_env("HOME") {
        return PathBuf::from(home).join(".local/share/clearinghouse");
    }
    PathBuf::from("clearinghouse-data")
}
