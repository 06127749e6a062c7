//! `clearinghouse`: starts the simulated Clearinghouse, or asks a running one for an audit.
//! With no arguments it listens on 127.0.0.1:8780 and keeps its data in the default data
//! directory, seeded from the fixtures on first start.

/// Prints a line on standard output. A reader that went away (`| head`) ends the output,
/// not the program with a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Args as _, CommandFactory, FromArgMatches, Parser, Subcommand};
use clearinghouse::config::{
    DEFAULT_JOURNAL_CAPACITY, default_addr, default_data_dir, default_phone_addr, default_sip_addr,
};
use clearinghouse::ledger::SystemClock;
use clearinghouse::phone::PhoneSettings;
use clearinghouse::remote::{Remote, RemoteError};
use clearinghouse::voice::speech::Speaker;
use clearinghouse::{Config, FixtureSource, RunningServer, Storage};
use reqwest::Method;
use shared::wire::{AuditReport, ClockRequest, DEFAULT_TENANT, FaultSpec, ReplayReport};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// glibc's allocator spent a fifth of the server's time under load, much of it contending
/// for arena locks between the HTTP workers and the ledger writer; mimalloc's per-thread
/// heaps avoid that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How the allocator gives memory back.
#[allow(unsafe_code)]
mod allocator {
    #[cfg(test)]
    use libmimalloc_sys::mi_option_get;
    use libmimalloc_sys::{mi_option_set, mi_option_t};

    /// `mi_option_purge_delay` in the `mimalloc.h` that libmimalloc-sys 0.1.49 builds (its
    /// Rust bindings name no constant for it); a test checks it against the default.
    const PURGE_DELAY: mi_option_t = 15;

    /// Freed pages go back to the system at once rather than a second later. mimalloc only
    /// purges when the thread that freed them next allocates or frees, so a server that
    /// falls idle after a burst kept about 15 MiB it no longer used (the load benchmark, a
    /// second after 5 s of issuance: 44 to 49 MiB, against 58 to 64 MiB with a delay of
    /// 100 or 1000 ms; purging from another thread, even forced, gave nothing back). It
    /// costs about a tenth of the issuance throughput (33.7k/s against 37.5k/s, means of
    /// three and four runs). An operator's `MIMALLOC_PURGE_DELAY` still wins: 100 buys
    /// the throughput back for the memory.
    pub fn purge_promptly() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: called first thing in `main`, before any other thread exists, so no
            // allocation reads the option while it is written; the value is one mimalloc
            // documents ("use 0 for immediate purging").
            unsafe { mi_option_set(PURGE_DELAY, 0) };
        }
    }

    /// The purge delay in force, in milliseconds.
    #[cfg(test)]
    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: reading an option has no precondition.
        unsafe { mi_option_get(PURGE_DELAY) }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_option_set_is_the_purge_delay_and_purging_becomes_prompt() {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
                return;
            }
            // mimalloc v3 delays purging by 1000 ms unless told otherwise; another
            // option at this index would read another value.
            assert_eq!(super::purge_delay(), 1000);
            super::purge_promptly();
            assert_eq!(super::purge_delay(), 0);
        }
    }
}

/// The simulated Microsoft Clearinghouse for RD license servers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    serve: Serve,
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// Which running clearinghouse, and which tenant of it, a subcommand talks to. The flags
/// go before the subcommand or after it.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Admin API")]
struct Target {
    /// The running clearinghouse.
    #[arg(
        long,
        env = "CLEARINGHOUSE_URL",
        default_value = "http://127.0.0.1:8780",
        global = true
    )]
    url: String,
    /// The tenant.
    #[arg(long, default_value = DEFAULT_TENANT, global = true)]
    tenant: String,
    /// Token of the admin API: the one a starting clearinghouse takes [default: generated
    /// and printed], or the one a subcommand sends (the one the clearinghouse printed).
    #[arg(long, env = "CLEARINGHOUSE_ADMIN_TOKEN", global = true)]
    admin_token: Option<String>,
}

impl Target {
    /// The tenant's admin API, or why there is none to talk to.
    fn remote(&self) -> Result<Remote, ControlError> {
        match &self.admin_token {
            Some(token) => Ok(Remote::new(&self.url, &self.tenant, token)),
            None => Err(ControlError::NoToken),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Audit a tenant of a running clearinghouse: CALs conserved, key packs bound. Exits 1
    /// when the audit finds a problem.
    Audit {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inject, list or clear a tenant's faults.
    Fault {
        #[command(subcommand)]
        action: FaultAction,
    },
    /// Print a tenant's journal: what it received and answered.
    Journal {
        /// Start after this entry number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many entries (1 to 1000); ignored with --jsonl.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Every entry, one JSON document per line (what `replay` reads).
        #[arg(long)]
        jsonl: bool,
    },
    /// Give a tenant a new seed: the IDs it draws from now on derive from it.
    Seed {
        /// The seed.
        seed: u64,
    },
    /// Read, set or move a tenant's clock.
    Clock {
        /// Set it to this time (RFC 3339, e.g. 2027-01-31T09:00:00Z).
        #[arg(long, conflicts_with = "advance")]
        set: Option<String>,
        /// Move it forward by this much (e.g. 90s, 25h, 2days).
        #[arg(long)]
        advance: Option<String>,
    },
    /// Export a tenant to a snapshot file, or create a tenant from one.
    Snapshot {
        #[command(subcommand)]
        action: SnapshotAction,
    },
    /// Apply a journal (as `journal --jsonl` prints it) to a fresh tenant, and compare the
    /// IDs issued with the journal's. Exits 1 when they differ.
    Replay {
        /// The journal file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum FaultAction {
    /// Delay answers: --ms, or a range with --min-ms and --max-ms.
    Latency {
        #[arg(long)]
        ms: Option<u64>,
        #[arg(long, requires = "max_ms", conflicts_with = "ms")]
        min_ms: Option<u64>,
        #[arg(long, requires = "min_ms")]
        max_ms: Option<u64>,
        /// Only this route, e.g. /api/v1/key-packs.
        #[arg(long)]
        route: Option<String>,
    },
    /// Answer an error status instead, for all requests or a --share of them.
    Error {
        #[arg(long)]
        status: u16,
        #[arg(long)]
        share: Option<f64>,
        #[arg(long)]
        route: Option<String>,
    },
    /// Answer 503 to everything for a number of seconds of the tenant's clock.
    Outage {
        #[arg(long)]
        seconds: u64,
        #[arg(long)]
        route: Option<String>,
    },
    /// Apply requests, then close the connection without an answer: the --next N, or a
    /// --share of them.
    DropReply {
        #[arg(long, conflicts_with = "share")]
        next: Option<u32>,
        #[arg(long)]
        share: Option<f64>,
        #[arg(long)]
        route: Option<String>,
    },
    /// List the tenant's faults.
    List,
    /// Clear one fault by its number, or all of them.
    Clear {
        /// The fault's number, as listed.
        id: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum SnapshotAction {
    /// Write the tenant's whole state to a file.
    Export {
        /// The file to write.
        file: PathBuf,
    },
    /// Create the tenant (it must not exist) from a snapshot file.
    Import {
        /// The file to read.
        file: PathBuf,
    },
}

/// Start the clearinghouse (what runs when no subcommand is given).
#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CLEARINGHOUSE_ADDR", default_value_t = default_addr())]
    addr: SocketAddr,
    /// Address of the phone line (the telephone method's simulated representative); port 0
    /// picks a free port.
    #[arg(long, env = "CLEARINGHOUSE_PHONE_ADDR", default_value_t = default_phone_addr())]
    phone_addr: SocketAddr,
    /// How long a request body may take to arrive before it is refused with 408 (e.g. 10s).
    #[arg(long, env = "CLEARINGHOUSE_BODY_TIMEOUT", default_value = "10s", value_parser = body_timeout)]
    body_timeout: std::time::Duration,
    /// Run without the phone line.
    #[arg(long, env = "CLEARINGHOUSE_NO_PHONE")]
    no_phone: bool,
    /// Address of the voice line (SIP over UDP: the representative speaks, the caller
    /// answers on the keypad); port 0 picks a free port. It needs espeak-ng: given here,
    /// the clearinghouse does not start without it; by default [127.0.0.1:5060], the line
    /// is left out, with a warning.
    #[arg(long, env = "CLEARINGHOUSE_SIP_ADDR")]
    sip_addr: Option<SocketAddr>,
    /// Run without the voice line (whatever --sip-addr says: a script's environment may
    /// give an address that one run goes without).
    #[arg(long, env = "CLEARINGHOUSE_NO_SIP")]
    no_sip: bool,
    /// How long a caller on the phone line may stay silent before the call ends (e.g. 90s,
    /// 5min).
    #[arg(long, env = "CLEARINGHOUSE_PHONE_IDLE_TIMEOUT", default_value = "120s", value_parser = idle_timeout)]
    phone_idle_timeout: std::time::Duration,
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
    #[arg(long, env = "CLEARINGHOUSE_SEED", value_parser = clap::value_parser!(u64).range(0..=shared::wire::MAX_SEED))]
    seed: Option<u64>,
    /// The most entries a tenant's journal keeps; past it the oldest are dropped (and
    /// counted).
    #[arg(long, env = "CLEARINGHOUSE_JOURNAL_CAPACITY", default_value_t = DEFAULT_JOURNAL_CAPACITY, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    journal_capacity: usize,
    /// Log filter, e.g. `info` or `clearinghouse=debug` (the RUST_LOG syntax).
    #[arg(long, env = "CLEARINGHOUSE_LOG", default_value = "info")]
    log: String,
}

/// A phone line idle timeout: a duration of 1 second to 1 day.
fn idle_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if !(1..=86_400).contains(&duration.as_secs()) {
        return Err("give 1s to 1day".to_owned());
    }
    Ok(duration)
}

/// The command line, with the flags that start a clearinghouse refused beside a subcommand
/// (the subcommand's own flags may go before it or after it).
fn parse_args() -> Result<Args, clap::Error> {
    let mut command = Args::command();
    let matches = command.clone().get_matches();
    let args = Args::from_arg_matches(&matches)?;
    if let Some((name, _)) = matches.subcommand() {
        let serving = Serve::augment_args(clap::Command::new("serve"));
        for arg in serving.get_arguments() {
            if matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
                let flag = arg.get_long().unwrap_or_default();
                return Err(command.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "--{flag} starts a clearinghouse; it cannot go with the subcommand '{name}'"
                    ),
                ));
            }
        }
    }
    Ok(args)
}

/// A request body timeout: a duration of 1 second to 10 minutes.
fn body_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if !(1..=600).contains(&duration.as_secs()) {
        return Err("give 1s to 10min".to_owned());
    }
    Ok(duration)
}

/// Raises the limit of open files to the most the system allows: every connection holds
/// one, and the common default of 1,024 is a few hundred slow clients away.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(e) => tracing::warn!("cannot raise the open files limit: {e}"),
    }
}

fn main() -> ExitCode {
    allocator::purge_promptly();
    run()
}

#[actix_web::main]
async fn run() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    match args.command {
        Some(command) => match control(&args.target, command).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("clearinghouse: error: {e}");
                ExitCode::from(2)
            }
        },
        None => serve(args.serve, args.target.admin_token).await,
    }
}

async fn serve(args: Serve, admin_token: Option<String>) -> ExitCode {
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
    clearinghouse::logging::init(filter, std::io::stderr().is_terminal());

    raise_open_files_limit();
    let sip_addr = match (args.no_sip, args.sip_addr) {
        (true, _) => None,
        (false, Some(asked)) => Some(asked),
        // Unasked, the voice line is a bonus: a machine without espeak-ng still starts.
        (false, None) => match Speaker::default().check().await {
            Ok(()) => Some(default_sip_addr()),
            Err(e) => {
                tracing::warn!("no voice line: {e}");
                None
            }
        },
    };
    let storage = if args.in_memory {
        Storage::Memory
    } else {
        Storage::Directory(args.data_dir.unwrap_or_else(default_data_dir))
    };
    let generated_token = admin_token.is_none();
    let config = Config {
        addr: args.addr,
        storage: storage.clone(),
        fixtures: args
            .fixtures
            .map_or(FixtureSource::Embedded, FixtureSource::Directory),
        seed: args.seed,
        admin_token,
        clock: std::sync::Arc::new(SystemClock),
        commit_delay: None,
        journal_capacity: args.journal_capacity,
        phone_addr: (!args.no_phone).then_some(args.phone_addr),
        phone: PhoneSettings {
            idle_timeout: args.phone_idle_timeout,
            ..PhoneSettings::default()
        },
        sip_addr,
        body_timeout: args.body_timeout,
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
        Storage::Memory | Storage::Given(_) => {
            tracing::info!("in-memory store: nothing will be kept")
        }
    }
    if generated_token {
        out!("admin-token {}", server.admin_token());
    }
    if let Some(phone) = server.phone_addr() {
        out!("phone-line {phone}");
    }
    if let Some(sip) = server.sip_uri() {
        out!("sip {sip}");
    }
    // Listened for before the ready line: a script may stop the clearinghouse as soon as
    // it has read it.
    let stopper = server.stopper();
    let signals = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    let (mut terminate, mut interrupt) = match signals {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("clearinghouse: error: cannot listen for SIGTERM and SIGINT: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        stopper.stop(true).await;
    });
    // The line scripts wait for; everything else goes to the log on stderr.
    out!("ready {}", server.url());
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

async fn audit(remote: &Remote, json: bool) -> ExitCode {
    let report: AuditReport = match remote.json(Method::GET, "/audit", None).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("clearinghouse: error: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        out!(
            "tenant {}: {} purchases, {} key packs checked; {} CALs purchased = {} unallocated + {} allocated",
            report.tenant,
            report.purchases_checked,
            report.key_packs_checked,
            report.purchased,
            report.unallocated,
            report.allocated
        );
        for problem in &report.problems {
            out!("problem: {problem}");
        }
        out!(
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

/// Why a control subcommand failed.
#[derive(Debug, thiserror::Error)]
enum ControlError {
    #[error(
        "the admin API needs the admin token the clearinghouse printed when it started (its admin-token line): pass --admin-token or set CLEARINGHOUSE_ADMIN_TOKEN"
    )]
    NoToken,
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("cannot read or write {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, ControlError> {
    std::fs::read(path).map_err(|source| ControlError::File {
        path: path.clone(),
        source,
    })
}

fn print_json(bytes: &[u8]) {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => out!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Err(_) => out!("{}", String::from_utf8_lossy(bytes)),
    }
}

/// Runs a subcommand that drives a tenant's test controls, printing the answer.
async fn control(target: &Target, command: Cmd) -> Result<ExitCode, ControlError> {
    let json_body = |value: serde_json::Value| Some(value.to_string().into_bytes());
    match command {
        Cmd::Fault { action } => {
            let remote = target.remote()?;
            let (method, rest, body) = match action {
                FaultAction::List => (Method::GET, "/faults".to_owned(), None),
                FaultAction::Clear { id: None } => (Method::DELETE, "/faults".to_owned(), None),
                FaultAction::Clear { id: Some(id) } => {
                    (Method::DELETE, format!("/faults/{id}"), None)
                }
                spec => (
                    Method::POST,
                    "/faults".to_owned(),
                    json_body(fault_spec(spec)),
                ),
            };
            print_json(&remote.send(method, &rest, body).await?);
        }
        Cmd::Journal {
            after,
            limit,
            jsonl,
        } => {
            let query = if jsonl {
                format!("/journal?format=jsonl&after={after}")
            } else {
                format!("/journal?after={after}&limit={limit}")
            };
            let bytes = target.remote()?.send(Method::GET, &query, None).await?;
            if jsonl {
                use std::io::Write as _;
                let _ = std::io::stdout().write_all(&bytes);
            } else {
                print_json(&bytes);
            }
        }
        Cmd::Seed { seed } => {
            let body = json_body(serde_json::json!({ "seed": seed }));
            print_json(&target.remote()?.send(Method::PUT, "/seed", body).await?);
        }
        Cmd::Clock { set, advance } => {
            let remote = target.remote()?;
            let answer = if set.is_none() && advance.is_none() {
                remote.send(Method::GET, "/clock", None).await?
            } else {
                let body = ClockRequest { set, advance };
                let body = serde_json::to_vec(&body).ok();
                remote.send(Method::POST, "/clock", body).await?
            };
            print_json(&answer);
        }
        Cmd::Snapshot { action } => match action {
            SnapshotAction::Export { file } => {
                let bytes = target
                    .remote()?
                    .send(Method::GET, "/snapshot", None)
                    .await?;
                std::fs::write(&file, &bytes).map_err(|source| ControlError::File {
                    path: file.clone(),
                    source,
                })?;
                out!(
                    "wrote the snapshot of tenant {} to {} ({} bytes)",
                    target.tenant,
                    file.display(),
                    bytes.len()
                );
            }
            SnapshotAction::Import { file } => {
                let bytes = read_file(&file)?;
                let answer = target
                    .remote()?
                    .send(Method::POST, "/snapshot", Some(bytes))
                    .await?;
                print_json(&answer);
            }
        },
        Cmd::Replay { file } => {
            let bytes = read_file(&file)?;
            let answer = target
                .remote()?
                .send(Method::POST, "/replay", Some(bytes))
                .await?;
            print_json(&answer);
            let report: Option<ReplayReport> = serde_json::from_slice(&answer).ok();
            if report.is_some_and(|r| !r.mismatches.is_empty()) {
                return Ok(ExitCode::FAILURE);
            }
        }
        Cmd::Audit { json } => return Ok(audit(&target.remote()?, json).await),
    }
    Ok(ExitCode::SUCCESS)
}

/// The fault a `fault` subcommand asks for, as the admin API takes it.
fn fault_spec(action: FaultAction) -> serde_json::Value {
    let spec = match action {
        FaultAction::Latency {
            ms,
            min_ms,
            max_ms,
            route,
        } => FaultSpec::Latency {
            route,
            ms,
            min_ms,
            max_ms,
        },
        FaultAction::Error {
            status,
            share,
            route,
        } => FaultSpec::Error {
            route,
            status,
            share,
        },
        FaultAction::Outage { seconds, route } => FaultSpec::Outage { route, seconds },
        FaultAction::DropReply { next, share, route } => {
            FaultSpec::DropReply { route, next, share }
        }
        FaultAction::List | FaultAction::Clear { .. } => return serde_json::Value::Null,
    };
    serde_json::to_value(spec).unwrap_or_default()
}
