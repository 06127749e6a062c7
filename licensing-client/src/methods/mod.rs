//! The connection methods: how a request reaches the Clearinghouse and how its answer comes
//! back.
//!
//! - [`request`]: what is asked, whatever the method;
//! - [`automatic`]: the license server sends it over HTTP itself;
//! - [`handoff`]: the web browser and telephone methods, where a person carries it and types
//!   back the ID;
//! - [`web`] and [`telephone`]: those two without a person: the library fills in the web
//!   site's forms, or holds the call with the representative.

pub mod automatic;
pub mod handoff;
pub mod request;
pub mod telephone;
pub mod web;
