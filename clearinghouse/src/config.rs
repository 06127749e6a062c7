//! What a clearinghouse is started with, and the defaults that let `clearinghouse` run
//! with no arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The port the clearinghouse listens on when none is given.
pub const DEFAULT_PORT: u16 = 8780;

/// Where the ledger is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A sled store in this directory, created when missing; survives restarts.
    Directory(PathBuf),
    /// A sled store in a temporary file removed on shutdown: for tests and throwaway runs.
    Temporary,
}

/// Everything a clearinghouse is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Where the ledger is kept.
    pub storage: Storage,
}

impl Config {
    /// A clearinghouse on a free loopback port with a temporary store: what tests want.
    pub fn ephemeral() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            storage: Storage::Temporary,
        }
    }
}

/// The default address: loopback, the default port.
pub fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT))
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
