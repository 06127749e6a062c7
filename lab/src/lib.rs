//! The training lab: a trainer's class of seats rehearsing CAL migrations on one
//! clearinghouse. It sits above both sides (it uses the clearinghouse and the licensing
//! client as libraries, as the end-to-end tests do), and neither depends on it.
//!
//! - [`scenario`]: a scenario file: the story, the start state, the checks of the end
//!   state and the reference solution.
//! - [`class`]: a class as kept in its directory; [`host`]: standing it up and keeping it
//!   running (clearinghouse, seats, daemons), resetting seats, taking it down.
//! - [`seat`]: one seat put at the scenario's start; [`brief`]: what its student needs.
//! - [`student`]: the scripted student that plays steps by each connection method.
//! - [`grade`]: a seat's grade from durable state; [`admin`]: the clearinghouse's admin API.

pub mod admin;
pub mod brief;
pub mod class;
mod error;
pub mod grade;
pub mod host;
pub mod scenario;
pub mod seat;
pub mod student;

pub use class::Class;
pub use error::LabError;
pub use host::{Host, UpOptions};
pub use scenario::Scenario;
