//! End-to-end tests: the Clearinghouse and its clients, each test against its own
//! clearinghouse on a free loopback port; plus checks over the whole repository.

#![allow(clippy::unwrap_used)]

mod admin;
mod api;
mod browser;
mod cli;
mod client;
mod concurrency;
mod controls;
mod health;
mod helpers;
mod idempotency;
mod lab;
mod openapi;
mod phone;
mod portal;
mod safety;
mod tenants;
mod tidy;
mod voice;
mod work;
