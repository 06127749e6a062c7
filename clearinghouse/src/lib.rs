//! The simulated Microsoft Clearinghouse: the service that activates RD license servers
//! and issues, migrates and recovers their CALs.
//!
//! Layout:
//! - [`ledger`]: the core. Every licensing rule, the single writer that commits requests in
//!   groups, idempotency, tenants and the audit.
//! - [`store`]: where the ledger keeps its records (sled on disk, or memory).
//! - [`http`]: the HTTP doors (health, the JSON API, the admin API); they translate, the
//!   ledger decides.
//! - [`phone`]: the phone line of the telephone method, a line-based dialogue with a
//!   simulated representative; [`tasks`] says what it and the web site ask, and
//!   [`submission`] runs what they were asked over the ledger.
//! - [`fixtures`]: the purchases tenants are seeded with, and the phone desks.
//! - [`config`] and [`server`]: what a clearinghouse starts with, and starting it.
//! - [`remote`] and [`logging`]: the admin API's client for the command line, and the
//!   binary's log.

pub mod alive;
pub mod config;
pub mod controls;
pub mod fixtures;
pub mod hex;
pub mod http;
pub mod ledger;
pub mod logging;
pub mod phone;
pub mod remote;
pub mod server;
pub mod store;
pub mod submission;
pub mod tasks;
pub mod voice;

pub use config::{Config, FixtureSource, Storage};
pub use server::{RunningServer, StartError};
