//! `clearinghouse`: starts the simulated Clearinghouse. With no arguments it listens on
//! 127.0.0.1:8780 and keeps its data in the default data directory.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use clearinghouse::config::{default_addr, default_data_dir};
use clearinghouse::{Config, RunningServer, Storage};
use tracing_subscriber::EnvFilter;

/// The simulated Microsoft Clearinghouse for RD license servers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CLEARINGHOUSE_ADDR", default_value_t = default_addr())]
    addr: SocketAddr,
    /// Directory of the store (created when missing) [default: $XDG_DATA_HOME/clearinghouse
    /// or ~/.local/share/clearinghouse].
    #[arg(long, env = "CLEARINGHOUSE_DATA_DIR", conflicts_with = "temporary")]
    data_dir: Option<PathBuf>,
    /// Keep the store in a temporary file removed on exit (nothing survives a restart).
    #[arg(long, env = "CLEARINGHOUSE_TEMPORARY")]
    temporary: bool,
    /// Log filter, e.g. `info` or `clearinghouse=debug` (the RUST_LOG syntax).
    #[arg(long, env = "CLEARINGHOUSE_LOG", default_value = "info")]
    log: String,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = match EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!(
                "clearinghouse: error: --log {:?} is not a log filter: {e}",
                args.log
            );
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let storage = if args.temporary {
        Storage::Temporary
    } else {
        Storage::Directory(args.data_dir.unwrap_or_else(default_data_dir))
    };
    let config = Config {
        addr: args.addr,
        storage: storage.clone(),
    };
    let server = match RunningServer::start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("clearinghouse: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &storage {
        Storage::Directory(dir) => tracing::info!(store = %dir.display(), "store opened"),
        Storage::Temporary => tracing::info!("temporary store opened"),
    }
    // The one line scripts wait for; everything else goes to the log on stderr.
    println!("ready {}", server.url());
    match server.wait().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clearinghouse: error: {e}");
            ExitCode::FAILURE
        }
    }
}
