//! The vocabulary both sides of the simulation speak: the simulated Clearinghouse and the
//! licensing client (the simulated RD license server).
//!
//! Layout:
//! - [`id`]: the 35-digit IDs (product ID, license server ID, license key pack ID,
//!   confirmation code): per-group check digits, kinds, key pack binding, generation from
//!   an injected random source.
//! - [`vocab`]: licensing terms (product versions, license types, programs and their proof,
//!   reasons, connection methods) and the values people type (license codes, agreement
//!   numbers, quantities, company information), each with a parse error that says what
//!   to fix.
//! - [`tasks`]: what the Clearinghouse asks a person, task by task and page by page (the
//!   web site's pages, the representative's questions, the license server's handoff sheet).
//! - [`wire`]: the requests, answers and error documents of the Clearinghouse API.
//!
//! This crate is pure: no I/O, no clock, no global random source. Whatever it generates
//! comes from the random source the caller passes in.

#[macro_use]
mod macros;
mod grouped;
pub mod id;
#[cfg(feature = "openapi")]
mod schema;
pub mod tasks;
pub mod vocab;
pub mod wire;

pub use grouped::LayoutError;
