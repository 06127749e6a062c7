//! The license server as a daemon: other license servers reach it over HTTP to read its
//! identity and key packs and, as migration targets, to have the CALs they received
//! removed from it; session hosts reach it to get CALs for the clients connecting to them.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::error::Error;
use crate::peer::{
    CONNECTIONS_PATH, ClientConnection, INFO_PATH, PeerError, REMOVALS_PATH, RemoveCals, ServerInfo,
};
use crate::server::LicenseServer;

/// A running license server daemon.
pub struct Daemon {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Daemon {
    /// Serves `server` on `addr` (port 0 picks a free port).
    pub async fn start(server: LicenseServer, addr: SocketAddr) -> Result<Daemon, Error> {
        let data = web::Data::new(server);
        let http = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().error_handler(|e, _| {
                    let body = PeerError {
                        error: e.to_string(),
                    };
                    actix_web::error::InternalError::from_response(
                        e,
                        HttpResponse::BadRequest().json(body),
                    )
                    .into()
                }))
                .route(INFO_PATH, web::get().to(info))
                .route(REMOVALS_PATH, web::post().to(remove))
                .route(CONNECTIONS_PATH, web::post().to(connect))
                .default_service(web::to(|| async {
                    failure(
                        StatusCode::NOT_FOUND,
                        "no such license server route".to_owned(),
                    )
                }))
        })
        .workers(1)
        .disable_signals()
        .bind(addr)
        .map_err(|e| Error::Serve {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        let addr = http.addrs().first().copied().unwrap_or(addr);
        let running = http.run();
        let handle = running.handle();
        let task = tokio::spawn(running);
        Ok(Daemon { addr, handle, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it, letting requests in flight finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Waits until it stops.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }

    /// A handle that stops it from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }
}

async fn info(server: web::Data<LicenseServer>) -> HttpResponse {
    let server = server.into_inner();
    match web::block(move || server.state()).await {
        Ok(Ok(state)) => HttpResponse::Ok().json(ServerInfo::of(&state)),
        Ok(Err(e)) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn remove(server: web::Data<LicenseServer>, body: web::Json<RemoveCals>) -> HttpResponse {
    let asked = body.into_inner();
    match server.give_up_cals(&asked.target, &asked.key_pack_id).await {
        Ok(removed) => HttpResponse::Ok().json(removed),
        Err(e) => {
            let status = match e {
                Error::Entry(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Error::Source(_) => StatusCode::FORBIDDEN,
                Error::State(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::CONFLICT,
            };
            failure(status, e.to_string())
        }
    }
}

async fn connect(
    server: web::Data<LicenseServer>,
    body: web::Json<ClientConnection>,
) -> HttpResponse {
    let asked = body.into_inner();
    let server = server.into_inner();
    let outcome = web::block(move || {
        server.connect_user(
            &asked.client,
            asked.license_type,
            asked.session_host_os,
            asked.ou.as_deref(),
        )
    })
    .await;
    match outcome {
        Ok(Ok(grant)) => HttpResponse::Ok().json(grant),
        Ok(Err(Error::State(e))) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Ok(Err(e @ Error::Cal(crate::work::issuance::Refusal::BadClient))) => {
            failure(StatusCode::BAD_REQUEST, e.to_string())
        }
        Ok(Err(e)) => failure(StatusCode::FORBIDDEN, e.to_string()),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn failure(status: StatusCode, error: String) -> HttpResponse {
    HttpResponse::build(status).json(PeerError { error })
}
