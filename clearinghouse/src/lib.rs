//! The simulated Microsoft Clearinghouse: the service that activates RD license servers
//! and issues, migrates and recovers their CALs.
//!
//! Layout:
//! - [`config`]: what a clearinghouse is started with (address, store), and its defaults.
//! - [`store`]: opening the embedded sled store, on disk or temporary.
//! - [`http`]: the HTTP doors (health and readiness so far).
//! - [`server`]: starting and stopping a clearinghouse, in a binary or inside a test.

pub mod config;
pub mod http;
pub mod server;
pub mod store;

pub use config::{Config, Storage};
pub use server::{RunningServer, StartError};
