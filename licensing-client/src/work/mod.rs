//! The license server at work between its exchanges with the Clearinghouse: the rules over
//! its state.
//!
//! - [`issuance`]: CALs issued to clients (temporary, permanent, renewed, expired, revoked)
//!   and the version rule;
//! - [`reports`]: CAL usage reports by scope, and their CSV;
//! - [`backup`]: backing up, restoring and rebuilding the license server database;
//! - [`session_host`]: a simulated session host that asks license servers for CALs;
//! - [`removal`]: removing CALs by hand after a migration, and seeing when it was skipped.

pub mod backup;
pub mod issuance;
pub mod removal;
pub mod reports;
pub mod session_host;
