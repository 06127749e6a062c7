//! Starting and stopping a clearinghouse: binds the socket, opens the store, and hands
//! back its address and a way to stop it. The binary and the tests start it the same way.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use actix_web::{App, HttpServer, dev::ServerHandle};
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::{Config, Storage};
use crate::{http, store};

/// Why a clearinghouse could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The store could not be opened (another clearinghouse may be using it).
    #[error(
        "cannot open the store in {path}: {source} (is another clearinghouse using it? pick another --data-dir)"
    )]
    Store {
        /// The data directory.
        path: PathBuf,
        /// What sled reported.
        source: sled::Error,
    },
    /// The temporary store could not be created.
    #[error("cannot create a temporary store: {0}")]
    TemporaryStore(sled::Error),
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is the port in use? pick another with --addr, or port 0)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS reported.
        source: std::io::Error,
    },
}

/// A clearinghouse that is listening.
pub struct RunningServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Opens the store, binds the address and starts serving on the current tokio runtime.
    ///
    /// When this returns, the clearinghouse answers requests.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let db = match &config.storage {
            Storage::Directory(path) => {
                store::open(&config.storage).map_err(|source| StartError::Store {
                    path: path.clone(),
                    source,
                })?
            }
            Storage::Temporary => {
                store::open(&config.storage).map_err(StartError::TemporaryStore)?
            }
        };
        let listener = TcpListener::bind(config.addr).map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        let bind_error = |source| StartError::Bind {
            addr: config.addr,
            source,
        };
        let addr = listener.local_addr().map_err(bind_error)?;
        let db = actix_web::web::Data::new(db);
        let server =
            HttpServer::new(move || App::new().app_data(db.clone()).configure(http::configure))
                .workers(2)
                .listen(listener)
                .map_err(bind_error)?
                .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(RunningServer { addr, handle, task })
    }

    /// The address it listens on (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:8780`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, finishes the requests in flight, and returns.
    pub async fn shutdown(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Waits until the server stops on its own: on SIGINT or SIGTERM, after finishing the
    /// requests in flight.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}
