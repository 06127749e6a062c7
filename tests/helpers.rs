//! Shared test helpers: start a clearinghouse on port 0 with a temporary store.

use clearinghouse::{Config, RunningServer};

/// A clearinghouse of its own for one test, on a free loopback port.
pub async fn spawn_clearinghouse() -> RunningServer {
    RunningServer::start(Config::ephemeral())
        .await
        .expect("a clearinghouse starts on a free port with a temporary store")
}
