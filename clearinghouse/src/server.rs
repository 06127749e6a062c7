//! Starting and stopping a clearinghouse: loads the fixtures, opens the store, starts the
//! ledger, binds the socket, and hands back its address, admin token and a way to stop
//! it. The binary and the tests start it the same way.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use actix_http::HttpService;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::{AppConfig, ServerHandle};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web};
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::{Config, FixtureSource, Storage};
use crate::controls::Controls;
use crate::fixtures::{self, FixtureError};
use crate::http::api::PhoneDirectory;
use crate::http::door::ConnSocket;
use crate::http::portal::session::SiteKey;
use crate::http::{self, admin::AdminToken};
use crate::ledger::records;
use crate::ledger::{Ledger, LedgerError, LedgerSettings};
use crate::phone::{self, PhoneLineHandle, Switchboard};
use crate::store::{CachedStore, MemoryStore, PackedStore, SledStore, Store};
use crate::voice::speech::{Speaker, SpeechError};
use crate::voice::{self, VoiceLineHandle};

/// Why a clearinghouse could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The fixtures could not be used.
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
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
    /// The store's records could not be repacked (a store written before packing).
    #[error(
        "cannot repack the store in {path}: {source} (it was written by an earlier version; restore it from a copy, or start with another --data-dir)"
    )]
    Layout {
        /// The data directory.
        path: PathBuf,
        /// What failed.
        source: crate::store::StoreError,
    },
    /// The ledger could not start over the store.
    #[error("cannot start the ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The phone line's address could not be bound.
    #[error(
        "cannot listen on {addr} for the phone line: {source} (is the port in use? pick another with --phone-addr, or port 0; --no-phone runs without it)"
    )]
    PhoneBind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS reported.
        source: std::io::Error,
    },
    /// The voice line's address could not be bound.
    #[error(
        "cannot listen on {addr} for the voice line (SIP over UDP): {source} (is the port in use? pick another with --sip-addr, or port 0; --no-sip runs without it)"
    )]
    SipBind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS reported.
        source: std::io::Error,
    },
    /// The voice line cannot speak.
    #[error("the voice line cannot speak: {error}{hint}", error = .0, hint = next_step(.0))]
    Speech(#[from] SpeechError),
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

/// What to do when the voice line cannot speak at start-up, unless the error says it.
fn next_step(error: &SpeechError) -> &'static str {
    match error {
        SpeechError::NotInstalled { .. } => "",
        _ => {
            " (check that `echo hello | espeak-ng --stdin --stdout` runs here, or start with --no-sip)"
        }
    }
}

/// Connections the system holds for a listener until they are accepted: the default of
/// 128 made the 129th of a burst (a class dialling at once, a harness opening its pool)
/// wait a second for its connection to be retried.
const BACKLOG: i32 = 1024;

/// A listening socket on `addr`, with room for a burst of connections.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Keeps a handle on each connection's socket, so that an injected fault can close it
/// without an answer.
fn keep_socket(stream: &actix_web::rt::net::TcpStream, data: &mut actix_web::dev::Extensions) {
    if let Ok(socket) = socket2::SockRef::from(stream).try_clone() {
        data.insert(ConnSocket(socket));
    }
}

/// A clearinghouse that is listening.
pub struct RunningServer {
    addr: SocketAddr,
    phone: Option<PhoneLineHandle>,
    voice: Option<VoiceLineHandle>,
    admin_token: String,
    ledger: Ledger,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Starts a clearinghouse on the current tokio runtime. When this returns, the
    /// fixtures are loaded, the store is open and the socket answers.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let (fixtures, phone_book) = match &config.fixtures {
            FixtureSource::Embedded => (fixtures::embedded()?, fixtures::phone_book(None)?),
            FixtureSource::Directory(dir) => {
                (fixtures::load(dir)?, fixtures::phone_book(Some(dir))?)
            }
        };
        let store: Arc<dyn Store> = match &config.storage {
            Storage::Directory(path) => {
                let sled = SledStore::open(path).map_err(|source| StartError::Store {
                    path: path.clone(),
                    source,
                })?;
                let packed = PackedStore::open(sled, records::LAYOUT).map_err(|source| {
                    StartError::Layout {
                        path: path.clone(),
                        source,
                    }
                })?;
                Arc::new(CachedStore::new(packed, records::is_hot))
            }
            Storage::Memory => Arc::new(MemoryStore::new()),
            Storage::Given(store) => store.clone(),
        };
        let ledger = Ledger::start(
            store,
            LedgerSettings {
                clock: config.clock.clone(),
                fixtures: Arc::new(fixtures),
                seed: config.seed,
                commit_delay: config.commit_delay,
            },
        )?;
        let admin_token = config
            .admin_token
            .clone()
            .unwrap_or_else(crate::hex::random_128);

        let bind_error = |source| StartError::Bind {
            addr: config.addr,
            source,
        };
        let listener = listen(config.addr).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let controls = Arc::new(Controls::new(config.journal_capacity));
        // Both lines share one switchboard: an ID not read out in full on one is given
        // again to the same request on the other.
        let board = Arc::new(Switchboard::new(
            ledger.clone(),
            controls.clone(),
            phone_book.clone(),
            config.phone.clone(),
        ));
        let lines = crate::alive::Lines::default();
        let phone = match config.phone_addr {
            Some(phone_addr) => {
                let phone_error = |source| StartError::PhoneBind {
                    addr: phone_addr,
                    source,
                };
                let listener = listen(phone_addr).map_err(phone_error)?;
                Some(phone::answer(listener, board.clone(), &lines).map_err(phone_error)?)
            }
            None => None,
        };
        let voice = match config.sip_addr {
            Some(sip_addr) => {
                let speaker = Arc::new(Speaker::default());
                let prompts = voice::fixed_prompts();
                let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
                speaker.preload(&prompts).await?;
                let sip_error = |source| StartError::SipBind {
                    addr: sip_addr,
                    source,
                };
                let socket = std::net::UdpSocket::bind(sip_addr).map_err(sip_error)?;
                Some(voice::answer(socket, board, speaker, &lines).map_err(sip_error)?)
            }
            None => None,
        };
        let directory = web::Data::new(PhoneDirectory {
            line: phone.as_ref().map(PhoneLineHandle::addr),
            book: phone_book,
        });
        let ledger_data = web::Data::new(ledger.clone());
        let lines = web::Data::new(lines);
        let token = web::Data::new(AdminToken(admin_token.clone()));
        let controls = web::Data::from(controls);
        let site_key = web::Data::new(SiteKey::generate());
        let body_timeout = http::guard::BodyTimeout(config.body_timeout);
        let app = move || {
            let headers = http::guard::HEADERS
                .iter()
                .fold(DefaultHeaders::new(), |h, header| h.add(*header));
            App::new()
                .wrap(headers)
                .wrap(from_fn(http::guard::deadline))
                .app_data(ledger_data.clone())
                .app_data(lines.clone())
                .app_data(token.clone())
                .app_data(controls.clone())
                .app_data(directory.clone())
                .app_data(site_key.clone())
                .app_data(body_timeout)
                .configure(http::configure)
        };
        // Built as actix-web's `HttpServer` builds it, for the one thing it does not let
        // be set: the answer to `Expect: 100-continue` (a body over its route's limit is
        // refused before it is sent).
        // Signals are the binary's to handle: it listens for them before it says it is
        // ready, where actix would only once its server is first polled, and a SIGTERM
        // right after the ready line would kill the process instead of stopping it.
        let builder = actix_server::Server::build().workers(2).disable_signals();
        let shutdown = builder.graceful_shutdown_signal();
        let server = builder
            .listen("clearinghouse", listener, move || {
                let shutdown = shutdown.clone();
                HttpService::build()
                    .graceful_shutdown_signal(move || {
                        let shutdown = shutdown.clone();
                        async move { shutdown.notified().await }
                    })
                    .keep_alive(std::time::Duration::from_secs(5))
                    // A client that sends its head slowly, or never closes, holds a
                    // descriptor only this long (a slow body is `guard::deadline`'s).
                    .client_request_timeout(std::time::Duration::from_secs(5))
                    .client_disconnect_timeout(std::time::Duration::from_secs(1))
                    .local_addr(addr)
                    .on_connect_ext(keep_socket)
                    .expect(fn_service(http::guard::expect))
                    .finish(map_config(
                        app().into_factory().map_err(|e| e.error_response()),
                        // Only a request without a `Host` reads the host from here.
                        |_| AppConfig::default(),
                    ))
                    .tcp()
            })
            .map_err(bind_error)?
            .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(RunningServer {
            addr,
            phone,
            voice,
            admin_token,
            ledger,
            handle,
            task,
        })
    }

    /// The address it listens on (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its voice line's SIP URI, if it has one.
    pub fn sip_uri(&self) -> Option<String> {
        self.voice.as_ref().map(VoiceLineHandle::uri)
    }

    /// Where its voice line answers (SIP over UDP), if it has one.
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.voice.as_ref().map(VoiceLineHandle::addr)
    }

    /// Where its phone line answers, if it has one.
    pub fn phone_addr(&self) -> Option<SocketAddr> {
        self.phone.as_ref().map(PhoneLineHandle::addr)
    }

    /// Its base URL, e.g. `http://127.0.0.1:8780`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token the admin API takes.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The ledger, for tools in the same process.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Stops accepting connections, finishes the requests in flight, then stops the ledger.
    pub async fn shutdown(self) {
        if let Some(phone) = self.phone {
            phone.stop();
        }
        if let Some(voice) = self.voice {
            voice.stop();
        }
        self.handle.stop(true).await;
        let _ = self.task.await;
        self.ledger.shutdown().await;
    }

    /// A handle that stops the server (gracefully: the requests in flight are answered),
    /// after which [`RunningServer::wait`] returns.
    pub fn stopper(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Waits until the server is stopped (through [`RunningServer::stopper`], after
    /// finishing the requests in flight), then stops the ledger. If the ledger's writer stops first (it
    /// failed), the server is stopped and that is the error: a clearinghouse never lives on
    /// half-dead.
    pub async fn wait(mut self) -> std::io::Result<()> {
        let result = tokio::select! {
            result = &mut self.task => result.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            () = self.ledger.stopped() => {
                self.handle.stop(false).await;
                let _ = (&mut self.task).await;
                Err(std::io::Error::other(
                    "the ledger's writer stopped (see the log above): the clearinghouse stops with it",
                ))
            }
        };
        if let Some(phone) = self.phone {
            phone.stop();
        }
        if let Some(voice) = self.voice {
            voice.stop();
        }
        self.ledger.shutdown().await;
        result
    }
}
