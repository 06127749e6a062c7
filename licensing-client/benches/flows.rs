//! The automatic flows' cost, against the real clearinghouse:
//! `cargo bench -p licensing-client --bench flows` (build the server first:
//! `cargo build --release -p clearinghouse`, or set `CLEARINGHOUSE_BIN`).
//!
//! The clearinghouse runs as a process of its own, on a fresh sled store on loopback. Each
//! iteration installs a fresh license server and times its three automatic flows apart:
//! activate, install CALs (5, of an Enterprise Agreement added through the admin API), and
//! migrate CALs (1) from a reachable source license server, the previous iteration's, whose
//! daemon runs on loopback (its removal of the CALs is part of the flow).
//! - Through the library (`--iterations N`, default 200): p50, p99 and max of each flow,
//!   targets p50 < 5 ms and p99 < 20 ms; with the state directories on disk (under the
//!   target directory) and on `/dev/shm` (tmpfs, where fsync costs next to nothing),
//!   iterations interleaved, so the difference is what the state file's fsyncs cost. One
//!   durable state write (`replace_file`: write, fsync, rename, fsync of the directory) is
//!   timed on both alone.
//! - Through the `license-server` command (`--cli-iterations N`, default 50): the wall time
//!   of each command, process start included, target p50 < 30 ms; on both file systems too.
//!
//! Every load is bounded in count; only loopback is used. The load average is printed
//! beside the figures.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{Clearinghouse, Figures, file_system, load_average};
use licensing_client::peer::daemon::Daemon;
use licensing_client::state::{ClearinghouseAddress, replace_file};
use licensing_client::vocab::{
    CompanyFields, CompanyInfo, ConnectionMethod, LicenseProof, MigrationReason, WindowsServer,
};
use licensing_client::wire::CalRequest;
use licensing_client::{Error, Handoff, LicenseServer, Migration, Operator, Reminder, Source};

/// The agreement the bench buys its CALs under.
const AGREEMENT: &str = "77777777";
/// CALs installed per iteration, and migrated.
const INSTALLED: u16 = 5;
const MIGRATED: u16 = 1;
/// How long one flow or command may take before the bench gives up.
const FLOW_LIMIT: Duration = Duration::from_secs(30);

/// The flows timed, in order.
const FLOWS: [&str; 3] = ["activate", "install CALs", "migrate CALs"];

fn main() -> ExitCode {
    match options().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flows bench: {message}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    iterations: usize,
    cli_iterations: usize,
    clearinghouse: PathBuf,
    license_server: PathBuf,
}

fn options() -> Result<Options, String> {
    Ok(Options {
        iterations: common::arg("--iterations")?.unwrap_or(200),
        cli_iterations: common::arg("--cli-iterations")?.unwrap_or(50),
        clearinghouse: common::clearinghouse_binary()?,
        license_server: common::binary(
            "license-server",
            "LICENSE_SERVER_BIN",
            option_env!("CARGO_BIN_EXE_license-server"),
            "cargo build --release -p licensing-client",
        )?,
    })
}

fn run(o: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("a runtime: {e}"))?;
    runtime.block_on(bench(o))
}

/// Where the license servers' state directories go: on disk, and on tmpfs if there is one.
fn roots() -> Result<Vec<(String, tempfile::TempDir)>, String> {
    let mut roots = Vec::new();
    let disk = tempfile::Builder::new()
        .prefix("flows-")
        .tempdir_in(common::disk_dir())
        .map_err(|e| format!("a directory in {}: {e}", common::disk_dir().display()))?;
    roots.push(("disk".to_owned(), disk));
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let dir = tempfile::Builder::new()
            .prefix("flows-")
            .tempdir_in(shm)
            .map_err(|e| format!("a directory in /dev/shm: {e}"))?;
        roots.push(("/dev/shm".to_owned(), dir));
    } else {
        println!("no /dev/shm here: the state directories are measured on disk only");
    }
    Ok(roots)
}

async fn bench(o: Options) -> Result<(), String> {
    println!(
        "flows: the automatic flows (activate, install CALs, migrate CALs from a reachable source), per flow, through the library and through `license-server`"
    );
    println!("load average at start: {}", load_average());
    let server = Clearinghouse::start(&o.clearinghouse)?;
    println!(
        "clearinghouse {} ready in {:.0} ms at {}",
        o.clearinghouse.display(),
        common::ms(server.ready_after),
        server.url
    );
    server
        .add_purchase(AGREEMENT, "2022", "per-device", 10_000_000)
        .await?;
    let roots = roots()?;
    for (name, dir) in &roots {
        println!(
            "state directories on {name}: {} ({})",
            dir.path().display(),
            file_system(dir.path())
        );
    }

    println!(
        "each flow writes the state twice on the server it runs on (the request's idempotency key before sending, the answer after), a migration once more on the source; each write is 2 fsyncs"
    );
    state_writes(&roots, "before the flows")?;

    println!();
    println!(
        "library: {} iterations per file system, interleaved (target per flow: p50 < 5 ms, p99 < 20 ms)",
        o.iterations
    );
    let mut lanes = Vec::new();
    for (name, dir) in &roots {
        lanes.push(Lane::start(name, dir.path(), &server.url).await?);
    }
    for i in 0..o.iterations {
        for lane in &mut lanes {
            lane.iteration(i).await?;
        }
    }
    for lane in &lanes {
        println!(
            "  state on {} (load average {}; a state file is {} bytes after the three flows):",
            lane.name,
            load_average(),
            lane.state_bytes
        );
        for (flow, samples) in FLOWS.iter().zip(&lane.samples) {
            let figures = Figures::of(samples.clone());
            let verdict = if figures.p(50.0) < 5.0 && figures.p(99.0) < 20.0 {
                "within target"
            } else {
                "OVER target"
            };
            println!("    {flow:<13} {}   {verdict}", figures.line());
        }
    }
    if let [disk, shm] = lanes.as_slice() {
        println!("  the state file's fsyncs (disk minus /dev/shm):");
        for (n, flow) in FLOWS.iter().enumerate() {
            let (d, s) = (
                Figures::of(disk.samples[n].clone()),
                Figures::of(shm.samples[n].clone()),
            );
            println!(
                "    {flow:<13} p50 {:>+7.2} ms   p99 {:>+7.2} ms",
                d.p(50.0) - s.p(50.0),
                d.p(99.0) - s.p(99.0)
            );
        }
    }
    for lane in lanes {
        lane.stop().await;
    }
    state_writes(&roots, "again, after them")?;

    println!();
    println!(
        "license-server command: {} iterations per file system, wall time per command, process start included (target p50 < 30 ms)",
        o.cli_iterations
    );
    for (name, dir) in &roots {
        let samples = cli(&o.license_server, dir.path(), &server.url, o.cli_iterations).await?;
        println!("  state on {name} (load average {}):", load_average());
        for (command, samples) in CLI_COMMANDS.iter().zip(samples) {
            let figures = Figures::of(samples);
            let verdict = match *command {
                "install" => "(no exchange; for comparison)",
                _ if figures.p(50.0) < 30.0 => "within target",
                _ => "OVER target",
            };
            println!("    {command:<13} {}   {verdict}", figures.line());
        }
    }

    let audit: serde_json::Value = server.admin_get("audit").await?;
    println!();
    println!(
        "clearinghouse audit after the run: ok {} ({} key packs checked)",
        audit["ok"], audit["key_packs_checked"]
    );
    println!("load average at end: {}", load_average());
    if audit["ok"] != serde_json::Value::Bool(true) {
        return Err(format!(
            "the clearinghouse audit failed: {}",
            audit["problems"]
        ));
    }
    Ok(())
}

/// One durable state write alone, of a state file's size, on each file system.
fn state_writes(roots: &[(String, tempfile::TempDir)], when: &str) -> Result<(), String> {
    const WRITES: usize = 200;
    // About the size of a license server's state after the three flows.
    let bytes = vec![b' '; 4096];
    println!(
        "one durable state write alone (replace_file: write 4 KiB, fsync, rename, fsync the directory), {WRITES} times, {when} (load average {}):",
        load_average()
    );
    for (name, dir) in roots {
        let path = dir.path().join("write-alone.json");
        let mut samples = Vec::with_capacity(WRITES);
        for _ in 0..WRITES {
            let begun = Instant::now();
            replace_file(&path, &bytes).map_err(|e| format!("a state write: {e}"))?;
            samples.push(begun.elapsed());
        }
        println!("  on {name:<9} {}", Figures::of(samples).line());
    }
    Ok(())
}

/// Answers nothing by hand: the automatic method asks nothing.
struct Unattended;

impl Operator for Unattended {
    async fn obtain(&mut self, _: &Handoff) -> Result<Option<String>, Error> {
        Ok(None)
    }

    async fn confirm(&mut self, _: &Reminder) -> bool {
        false
    }
}

fn company() -> Result<CompanyInfo, String> {
    CompanyInfo::new(CompanyFields {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        company: Some("Analytical Engines Ltd".into()),
        country_region: Some("GB".into()),
        ..CompanyFields::default()
    })
    .map_err(|e| format!("the company information: {e}"))
}

fn proof() -> Result<LicenseProof, String> {
    serde_json::from_value(
        serde_json::json!({"program": "enterprise-agreement", "agreement_number": AGREEMENT}),
    )
    .map_err(|e| format!("the license proof: {e}"))
}

fn cals(quantity: u16) -> Result<CalRequest, String> {
    serde_json::from_value(serde_json::json!({
        "product_version": "2022", "license_type": "per-device", "quantity": quantity
    }))
    .map_err(|e| format!("the CALs: {e}"))
}

/// Runs `flow` within [`FLOW_LIMIT`], saying which flow failed.
async fn timed<T>(
    what: &str,
    flow: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<(T, Duration), String> {
    let begun = Instant::now();
    match tokio::time::timeout(FLOW_LIMIT, flow).await {
        Ok(Ok(out)) => Ok((out, begun.elapsed())),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {FLOW_LIMIT:?}")),
    }
}

/// The library's flows on one file system: a fresh license server each iteration, the
/// previous one serving as the source of its migration.
struct Lane {
    name: String,
    root: PathBuf,
    url: String,
    source: Daemon,
    samples: [Vec<Duration>; 3],
    /// The size of the last state file after its three flows.
    state_bytes: u64,
}

impl Lane {
    /// A lane whose first source is a license server brought up by an untimed iteration.
    async fn start(name: &str, root: &Path, url: &str) -> Result<Lane, String> {
        let first = install(&root.join("library-source"), url, 0)?;
        timed("the first source's activation", async {
            first
                .activate(ConnectionMethod::Automatic, &mut Unattended)
                .await
        })
        .await?;
        let (license, installed) = (proof()?, cals(INSTALLED)?);
        timed("the first source's CALs", async {
            first
                .install_cals(
                    license,
                    Some(installed),
                    ConnectionMethod::Automatic,
                    &mut Unattended,
                )
                .await
        })
        .await?;
        Ok(Lane {
            name: name.to_owned(),
            root: root.to_owned(),
            url: url.to_owned(),
            source: serve(first).await?,
            samples: Default::default(),
            state_bytes: 0,
        })
    }

    async fn iteration(&mut self, i: usize) -> Result<(), String> {
        let server = install(
            &self.root.join(format!("library-{i}")),
            &self.url,
            i as u64 + 1,
        )?;
        let (license, installed, migrated) = (proof()?, cals(INSTALLED)?, cals(MIGRATED)?);
        let source = Source::Reachable(self.source.addr().to_string());
        let (_, activate) = timed("activate", async {
            server
                .activate(ConnectionMethod::Automatic, &mut Unattended)
                .await
        })
        .await?;
        let (_, install) = timed("install CALs", async {
            server
                .install_cals(
                    license.clone(),
                    Some(installed),
                    ConnectionMethod::Automatic,
                    &mut Unattended,
                )
                .await
        })
        .await?;
        let migration = Migration {
            reason: MigrationReason::SourceReplaced,
            source,
            license,
            cals: migrated,
        };
        let (outcome, migrate) = timed("migrate CALs", async {
            server
                .migrate_cals(migration, ConnectionMethod::Automatic, &mut Unattended)
                .await
        })
        .await?;
        match outcome.removed_from_source {
            Some(removed) if removed.removed == u32::from(MIGRATED) => {}
            _ => {
                return Err(format!(
                    "the source did not remove the migrated CALs: {outcome:?}"
                ));
            }
        }
        for (samples, took) in self.samples.iter_mut().zip([activate, install, migrate]) {
            samples.push(took);
        }
        let file = server.dir().join(licensing_client::state::STATE_FILE);
        self.state_bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
        let next = serve(server).await?;
        std::mem::replace(&mut self.source, next).stop().await;
        Ok(())
    }

    async fn stop(self) {
        self.source.stop().await;
    }
}

/// Installs license server number `n` (Windows Server 2022, automatic method) in `dir`.
fn install(dir: &Path, url: &str, n: u64) -> Result<LicenseServer, String> {
    let setup = licensing_client::Setup {
        name: format!("BENCH-{n}"),
        os: WindowsServer::V2022,
        company: company()?,
        connection_method: ConnectionMethod::Automatic,
        clearinghouse: ClearinghouseAddress {
            url: url.to_owned(),
            tenant: None,
            seat_token: None,
        },
    };
    // A product ID of its own (drawn at random: the same clearinghouse serves every lane).
    LicenseServer::install(dir, setup, &mut rand::rng())
        .map_err(|e| format!("installing a license server in {}: {e}", dir.display()))
}

/// Serves `server` on a loopback port of its own.
async fn serve(server: LicenseServer) -> Result<Daemon, String> {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Daemon::start(server, loopback)
        .await
        .map_err(|e| format!("a source daemon: {e}"))
}

/// The `license-server` commands timed, in order.
const CLI_COMMANDS: [&str; 4] = ["install", "activate", "install-cals", "migrate-cals"];

/// Runs `license-server` with `args` on the state directory `dir`, and times it.
async fn command(binary: &Path, dir: &Path, args: &[&str]) -> Result<Duration, String> {
    command_saying(binary, dir, args, "").await
}

/// [`command`], whose output must say `expected`.
async fn command_saying(
    binary: &Path,
    dir: &Path,
    args: &[&str],
    expected: &str,
) -> Result<Duration, String> {
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("--state-dir")
        .arg(dir)
        .arg("--no-input")
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let begun = Instant::now();
    let output = tokio::time::timeout(FLOW_LIMIT, command.output())
        .await
        .map_err(|_| format!("license-server {}: no end within {FLOW_LIMIT:?}", args[0]))?
        .map_err(|e| format!("{} does not start: {e}", binary.display()))?;
    let took = begun.elapsed();
    if !output.status.success() {
        return Err(format!(
            "license-server {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let said = String::from_utf8_lossy(&output.stdout);
    if !said.contains(expected) {
        return Err(format!(
            "license-server {} did not say {expected:?}: {}",
            args.join(" "),
            said.trim()
        ));
    }
    Ok(took)
}

/// The flows through the command line, `iterations` times with state under `root`: the
/// wall time of each command.
async fn cli(
    binary: &Path,
    root: &Path,
    url: &str,
    iterations: usize,
) -> Result<[Vec<Duration>; 4], String> {
    let mut samples: [Vec<Duration>; 4] = Default::default();
    let mut source: Option<Daemon> = None;
    // An untimed first iteration brings up the first source.
    for i in 0..=iterations {
        let dir = root.join(format!("cli-{i}"));
        let installed = INSTALLED.to_string();
        let migrated = MIGRATED.to_string();
        let buy = [
            "--program",
            "enterprise-agreement",
            "--agreement-number",
            AGREEMENT,
            "--product-version",
            "2022",
            "--license-type",
            "per-device",
            "--quantity",
        ];
        let mut took = vec![
            command(
                binary,
                &dir,
                &[
                    "install",
                    "--name",
                    "CLI",
                    "--os",
                    "2022",
                    "--method",
                    "automatic",
                    "--clearinghouse",
                    url,
                    "--first-name",
                    "Ada",
                    "--last-name",
                    "Lovelace",
                    "--company",
                    "Analytical Engines Ltd",
                    "--country",
                    "GB",
                ],
            )
            .await?,
        ];
        took.push(command(binary, &dir, &["activate"]).await?);
        let install: Vec<&str> = ["install-cals"]
            .iter()
            .chain(&buy)
            .chain([&installed.as_str()])
            .copied()
            .collect();
        took.push(command(binary, &dir, &install).await?);
        if let Some(from) = source.take() {
            let address = from.addr().to_string();
            let migrate: Vec<&str> = [
                "migrate-cals",
                "--reason",
                "source-replaced",
                "--source",
                address.as_str(),
            ]
            .iter()
            .chain(&buy)
            .chain([&migrated.as_str()])
            .copied()
            .collect();
            let migrating =
                command_saying(binary, &dir, &migrate, "source license server removed").await;
            from.stop().await;
            took.push(migrating?);
            for (samples, took) in samples.iter_mut().zip(took) {
                samples.push(took);
            }
        }
        let server = LicenseServer::open(&dir)
            .map_err(|e| format!("the license server in {}: {e}", dir.display()))?;
        source = Some(serve(server).await?);
    }
    if let Some(last) = source {
        last.stop().await;
    }
    Ok(samples)
}
