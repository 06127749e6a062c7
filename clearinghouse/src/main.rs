//! `clearinghouse`: starts the simulated Clearinghouse, or asks a running one for an audit.
//! With no arguments it listens on 127.0.0.1:8780 and keeps its data in the default data
//! directory, seeded from the fixtures on first start.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use clearinghouse::config::{DEFAULT_JOURNAL_CAPACITY, default_addr, default_data_dir};
use clearinghouse::ledger::SystemClock;
use clearinghouse::{Config, FixtureSource, RunningServer, Storage};
use shared::wire::{ADMIN_BASE, AuditReport, DEFAULT_TENANT, Problem};
use tracing_subscriber::EnvFilter;

/// glibc's allocator spent a fifth of the server's time under load, much of it contending
/// for arena locks between the HTTP workers and the ledger writer; mimalloc's per-thread
/// heaps avoid that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The simulated Microsoft Clearinghouse for RD license servers.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(flatten)]
    serve: Serve,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Audit a tenant of a running clearinghouse: CALs conserved, key packs bound. Exits 1
    /// when the audit finds a problem.
    Audit {
        /// The running clearinghouse.
        #[arg(
            long,
            env = "CLEARINGHOUSE_URL",
            default_value = "http://127.0.0.1:8780"
        )]
        url: String,
        /// The tenant to audit.
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// The admin token the clearinghouse printed when it started.
        #[arg(long, env = "CLEARINGHOUSE_ADMIN_TOKEN")]
        admin_token: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Start the clearinghouse (what runs when no subcommand is given).
#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CLEARINGHOUSE_ADDR", default_value_t = default_addr())]
    addr: SocketAddr,
    /// Directory of the store, created when missing [default: $XDG_DATA_HOME/clearinghouse
    /// or ~/.local/share/clearinghouse].
    #[arg(long, env = "CLEARINGHOUSE_DATA_DIR", conflicts_with = "in_memory")]
    data_dir: Option<PathBuf>,
    /// Keep everything in memory: nothing on disk, nothing survives a restart.
    #[arg(long, env = "CLEARINGHOUSE_IN_MEMORY")]
    in_memory: bool,
    /// Directory of fixture files to seed tenants from [default: the fixtures built in].
    #[arg(long, env = "CLEARINGHOUSE_FIXTURES")]
    fixtures: Option<PathBuf>,
    /// Seed of the default tenant when it is first created, for reproducible IDs
    /// [default: random].
    #[arg(long, env = "CLEARINGHOUSE_SEED")]
    seed: Option<u64>,
    /// Token of the admin API [default: generated and printed at start].
    #[arg(long, env = "CLEARINGHOUSE_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// The most entries a tenant's journal keeps; past it the oldest are dropped (and
    /// counted).
    #[arg(long, env = "CLEARINGHOUSE_JOURNAL_CAPACITY", default_value_t = DEFAULT_JOURNAL_CAPACITY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    journal_capacity: usize,
    /// Log filter, e.g. `info` or `clearinghouse=debug` (the RUST_LOG syntax).
    #[arg(long, env = "CLEARINGHOUSE_LOG", default_value = "info")]
    log: String,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Some(Cmd::Audit {
            url,
            tenant,
            admin_token,
            json,
        }) => audit(&url, &tenant, &admin_token, json).await,
        None => serve(args.serve).await,
    }
}

async fn serve(args: Serve) -> ExitCode {
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

    let storage = if args.in_memory {
        Storage::Memory
    } else {
        Storage::Directory(args.data_dir.unwrap_or_else(default_data_dir))
    };
    let generated_token = args.admin_token.is_none();
    let config = Config {
        addr: args.addr,
        storage: storage.clone(),
        fixtures: args
            .fixtures
            .map_or(FixtureSource::Embedded, FixtureSource::Directory),
        seed: args.seed,
        admin_token: args.admin_token,
        clock: std::sync::Arc::new(SystemClock),
        commit_delay: None,
        journal_capacity: args.journal_capacity,
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
        Storage::Memory => tracing::info!("in-memory store: nothing will be kept"),
    }
    if generated_token {
        println!("admin-token {}", server.admin_token());
    }
    // The line scripts wait for; everything else goes to the log on stderr.
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

async fn audit(url: &str, tenant: &str, token: &str, json: bool) -> ExitCode {
    let url = format!(
        "{}{ADMIN_BASE}/tenants/{tenant}/audit",
        url.trim_end_matches('/')
    );
    let response = match reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "clearinghouse: error: cannot reach {url}: {e} (is the clearinghouse running? pass --url)"
            );
            return ExitCode::from(2);
        }
    };
    if !response.status().is_success() {
        let detail = match response.json::<Problem>().await {
            Ok(p) => p.detail,
            Err(e) => e.to_string(),
        };
        eprintln!("clearinghouse: error: {detail}");
        return ExitCode::from(2);
    }
    let report: AuditReport = match response.json().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clearinghouse: error: the audit answer is unreadable: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "tenant {}: {} purchases, {} key packs checked; {} CALs purchased = {} unallocated + {} allocated",
            report.tenant,
            report.purchases_checked,
            report.key_packs_checked,
            report.purchased,
            report.unallocated,
            report.allocated
        );
        for problem in &report.problems {
            println!("problem: {problem}");
        }
        println!(
            "{}",
            if report.ok {
                "audit ok"
            } else {
                "audit FAILED"
            }
        );
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
