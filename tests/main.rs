//! End-to-end tests: the Clearinghouse and the licensing client run together, each test
//! against its own clearinghouse on a free loopback port; plus checks over the whole
//! repository.

#![allow(clippy::unwrap_used)]

mod health;
mod helpers;
mod tidy;
