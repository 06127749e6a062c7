//! The licensing client: a simulated RD license server that activates with the
//! Clearinghouse and installs and migrates CALs by the automatic, web browser and
//! telephone connection methods.
//!
//! This crate depends on `shared` for the vocabulary and the wire types, never on the
//! `clearinghouse` crate: it talks to a Clearinghouse only over the network, as a real
//! license server does.
//!
//! Layout:
//! - [`state`]: what a license server keeps in its state directory;
//! - [`server`]: the [`LicenseServer`] and its flows;
//! - [`request`]: what is asked of the Clearinghouse, whatever the method;
//! - [`automatic`]: the automatic method (HTTP, retries under one idempotency key);
//! - [`handoff`]: the web browser and telephone methods, and the [`Operator`] they ask;
//! - [`migration`]: sources, the reminder to remove CALs by hand, giving CALs up;
//! - [`backup`]: backing up and restoring the license server database;
//! - [`reports`]: CAL usage reports (Per User CALs installed and issued, by scope);
//! - [`issuance`]: CALs issued to clients (temporary, permanent, renewed, revoked) and the
//!   version rule;
//! - [`web`]: the web method without a person: the library fills in the site's forms;
//! - [`telephone`]: the telephone method without a person: the library holds the call;
//! - [`peer`] and [`daemon`]: license servers talking to each other, and to session hosts;
//! - [`session_host`]: a session host's licensing mode, license servers and grace period.
//!
//! ```no_run
//! use licensing_client::{LicenseServer, Operator, Handoff, Reminder};
//! use licensing_client::vocab::ConnectionMethod;
//!
//! /// Answers nothing by hand: fine for the automatic method.
//! struct Unattended;
//!
//! impl Operator for Unattended {
//!     async fn obtain(&mut self, _: &Handoff) -> Result<Option<String>, licensing_client::Error> {
//!         Ok(None)
//!     }
//!     async fn confirm(&mut self, _: &Reminder) -> bool { false }
//! }
//!
//! # async fn run() -> Result<(), licensing_client::Error> {
//! let server = LicenseServer::open("/var/lib/license-server".as_ref())?;
//! let id = server.activate(ConnectionMethod::Automatic, &mut Unattended).await?;
//! println!("license server ID {id}");
//! # Ok(()) }
//! ```

pub mod automatic;
pub mod backup;
pub mod daemon;
mod error;
pub mod handoff;
pub mod issuance;
pub mod migration;
pub mod peer;
pub mod reports;
pub mod request;
pub mod server;
pub mod session_host;
pub mod state;
pub mod telephone;
pub mod web;

pub use error::{ClearinghouseError, EntryError, Error, SourceError, StateError};
pub use handoff::{Desk, Handoff, Operator};
pub use migration::{Migration, Reminder, ReminderCause, Source};
pub use server::{LicenseServer, Migrated, Properties, Setup};
pub use shared::{id, vocab, wire};
