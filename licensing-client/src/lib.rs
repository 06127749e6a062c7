//! The licensing client: a simulated RD license server that activates with the
//! Clearinghouse and installs and migrates CALs by the automatic, web browser and
//! telephone connection methods.
//!
//! This crate depends on `shared` for the vocabulary and the wire types, never on the
//! `clearinghouse` crate: it talks to a Clearinghouse only over the network, as a real
//! license server does.

pub use shared::{id, vocab, wire};
