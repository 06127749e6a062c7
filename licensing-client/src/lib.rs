//! The licensing client: a simulated RD license server that activates with the
//! Clearinghouse and installs and migrates CALs by the automatic, web browser and
//! telephone connection methods.
//!
//! This crate depends on `shared` for the vocabulary and the wire types, never on the
//! `clearinghouse` crate: it talks to a Clearinghouse only over the network, as a real
//! license server does.
//!
//! Layout, in three parts over the state, with the flows on top:
//! - [`state`]: what a license server keeps in its state directory (all its data types);
//! - [`methods`]: the connection methods: the [`methods::request`] asked of the
//!   Clearinghouse, [`methods::automatic`] (HTTP, retries under one idempotency key),
//!   [`methods::handoff`] (web browser and telephone, a person carries the request), and
//!   [`methods::web`] and [`methods::telephone`] for those two without a person;
//! - [`work`]: the license server at work: CALs issued to clients, CAL usage reports,
//!   backup and restore, session hosts;
//! - [`peer`]: license servers talking to each other and to session hosts, and the
//!   [`peer::daemon`] that answers them;
//! - [`server`]: the [`LicenseServer`] and its flows; [`migration`]: sources, the reminder
//!   to remove CALs by hand, giving CALs up; [`operator`]: the person the flows ask;
//!   [`Error`]: why a flow stopped.
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

mod error;
pub mod methods;
pub mod migration;
pub mod operator;
pub mod peer;
pub mod server;
pub mod state;
pub mod work;

pub use error::Error;
pub use methods::automatic::ClearinghouseError;
pub use methods::handoff::{Desk, EntryError, Handoff};
pub use migration::{Migration, Reminder, ReminderCause, Source};
pub use operator::Operator;
pub use peer::SourceError;
pub use server::{LicenseServer, Migrated, Properties, Setup};
pub use shared::{id, tasks, vocab, wire};
pub use state::StateError;
