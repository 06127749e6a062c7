//! `lab`: the trainer's command. Stands a class up on a scenario, grades it, resets and
//! solves seats, and takes it down. It parses and prints; the `lab` library does the work.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use lab::{Class, Host, LabError, Scenario, UpOptions, brief, grade, host, student};

/// How often a running class grades its seats for the instructor page.
const REGRADE: Duration = Duration::from_secs(5);

/// A training lab: a class of seats rehearsing CAL migrations on one clearinghouse.
#[derive(Debug, Parser)]
#[command(name = "lab", version)]
struct Cli {
    /// The class's directory: where it keeps its seats and its state.
    #[arg(long, global = true, env = "LAB_DIR", default_value = ".")]
    dir: PathBuf,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stand a class up: a tenant, license servers and session hosts per seat, on the
    /// clearinghouse named or on one the lab starts itself (stopped by `lab down`).
    Up(UpArgs),
    /// Print what each seat's student needs again.
    Seats,
    /// Grade each seat against the scenario's end state (and show it on the instructor
    /// page).
    Grade(SeatArg),
    /// The next step a seat's grade finds missing.
    Hint(SeatArg),
    /// Put a seat (or every seat) back at the scenario's start.
    Reset(SeatArg),
    /// Play the scenario's reference solution on a seat (or every seat).
    Solve(SeatArg),
    /// Check a scenario file without standing anything up.
    Check {
        /// The scenario file.
        scenario: PathBuf,
    },
    /// Stop every daemon the class started (and the lab's own clearinghouse). Nothing is
    /// removed.
    Down,
    /// Keep a class running (what `lab up` starts in the background).
    #[command(hide = true)]
    Host(UpArgs),
}

#[derive(Debug, Args)]
struct UpArgs {
    /// The scenario file (fixtures/labs/ holds the shipped ones).
    scenario: PathBuf,
    /// How many seats.
    #[arg(long, default_value_t = 1)]
    seats: u32,
    /// The class's name: its seats' tenants are NAME-01, NAME-02... (the scenario's file
    /// name by default).
    #[arg(long)]
    class: Option<String>,
    /// A running clearinghouse to use (with --admin-token); the lab starts its own when
    /// absent.
    #[arg(long, requires = "admin_token")]
    clearinghouse: Option<String>,
    /// The admin token of the clearinghouse named by --clearinghouse.
    #[arg(long, env = "CLEARINGHOUSE_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Where the lab's own clearinghouse listens (0.0.0.0:8780 for a class on a shared
    /// network).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Where its phone line listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    phone_addr: SocketAddr,
    /// Where its voice line listens (SIP over UDP, e.g. 127.0.0.1:5060): students call
    /// their seat from a softphone. It needs espeak-ng; without this flag there is none.
    #[arg(long)]
    sip_addr: Option<SocketAddr>,
    /// The seed the seats' IDs derive from: the same seed, the same IDs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Give each seat a token that every request for its tenant must carry (the API, the
    /// web site and the phone line ask for it): for a class on a shared network.
    #[arg(long)]
    seat_tokens: bool,
}

#[derive(Debug, Args)]
struct SeatArg {
    /// The seat (every seat when absent).
    #[arg(long)]
    seat: Option<u32>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lab: the runtime could not start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lab: {e}");
            ExitCode::from(match e {
                LabError::Scenario(_) | LabError::Usage(_) | LabError::NoSeat { .. } => 2,
                _ => 1,
            })
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, LabError> {
    let dir = cli.dir.clone();
    match cli.command {
        Command::Up(args) => up(&dir, args, cli.json),
        Command::Host(args) => run_host(&dir, args).await,
        Command::Seats => {
            let class = Class::open(&dir)?;
            print_seats(&class, cli.json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Grade(seat) => {
            let class = Class::open(&dir)?;
            class.require_up()?;
            let grades = grade::grade(&class, seat.seat).await?;
            // The instructor page shows the whole class's latest grades.
            if seat.seat.is_none()
                && let Err(e) = Host::report(&class, &grades).await
            {
                eprintln!("lab: the instructor page could not be updated: {e}");
            }
            if cli.json {
                print_json(&grades);
            } else {
                for g in &grades {
                    let passed = g.checks.iter().filter(|c| c.passed).count();
                    let verdict = if passed == g.checks.len() {
                        "PASS"
                    } else {
                        "FAIL"
                    };
                    println!(
                        "Seat {} ({}): {verdict}, {passed} of {} checks",
                        g.seat,
                        g.tenant,
                        g.checks.len()
                    );
                    for c in &g.checks {
                        match (&c.missing, c.passed) {
                            (_, true) => println!("  pass  {}", c.check),
                            (Some(missing), false) => {
                                println!("  FAIL  {}\n        {missing}", c.check);
                            }
                            (None, false) => println!("  FAIL  {}", c.check),
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hint(seat) => {
            let class = Class::open(&dir)?;
            class.require_up()?;
            let grades = grade::grade(&class, seat.seat).await?;
            let hints: Vec<(u16, Option<String>)> =
                grades.iter().map(|g| (g.seat, grade::hint(g))).collect();
            if cli.json {
                let value: Vec<serde_json::Value> = hints
                    .iter()
                    .map(|(s, h)| serde_json::json!({"seat": s, "next": h}))
                    .collect();
                print_json(&value);
            } else {
                for (seat, hint) in hints {
                    match hint {
                        Some(hint) => println!("Seat {seat}: next, {hint}"),
                        None => println!("Seat {seat}: nothing is missing; every check passes"),
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reset(seat) => {
            let class = Class::open(&dir)?;
            let seats = host::reset(&class, seat.seat).await?;
            report(&class).await;
            if cli.json {
                print_json(&serde_json::json!({ "reset": seats }));
            } else {
                for n in seats {
                    println!("Seat {n} is back at the start of {}", class.scenario.title);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Solve(seat) => {
            let class = Class::open(&dir)?;
            class.require_up()?;
            let seats = class.file.chosen(seat.seat)?;
            for s in seats {
                student::play(&class, s, &class.scenario.solution).await?;
                if !cli.json {
                    println!(
                        "Seat {}: the reference solution was played ({} steps)",
                        s.n,
                        class.scenario.solution.len()
                    );
                }
            }
            report(&class).await;
            if cli.json {
                print_json(&serde_json::json!({ "solved": true }));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { scenario } => {
            let scenario = Scenario::load(&scenario)?;
            if cli.json {
                print_json(&serde_json::json!({
                    "title": scenario.title,
                    "servers": scenario.servers.len(),
                    "session_hosts": scenario.hosts.len(),
                    "checks": scenario.checks.len(),
                    "solution_steps": scenario.solution.len(),
                }));
            } else {
                println!(
                    "{}: {} ({} license servers, {} session hosts, {} checks, {} solution steps)",
                    scenario.file.display(),
                    scenario.title,
                    scenario.servers.len(),
                    scenario.hosts.len(),
                    scenario.checks.len(),
                    scenario.solution.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Down => {
            let stopped = host::down(&dir, Duration::from_secs(30))?;
            match (cli.json, stopped) {
                (true, pid) => print_json(&serde_json::json!({ "stopped": pid })),
                (false, Some(pid)) => println!(
                    "The class is down (process {pid} stopped); its seats' files are kept in {}",
                    dir.canonicalize().unwrap_or(dir.clone()).display()
                ),
                (false, None) => println!("The class was down already"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Starts `lab host` in the background (its own process group, so the terminal's Ctrl-C
/// does not reach it), waits for it to say the class is up, then prints the seats.
fn up(dir: &Path, args: UpArgs, json: bool) -> Result<ExitCode, LabError> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
    // Checked here too, so a mistake is reported at once, with its line.
    Scenario::load(&args.scenario)?;
    let log_path = dir.join("lab.log");
    let log = std::fs::File::create(&log_path).map_err(|e| LabError::io(&log_path, e))?;
    let exe = std::env::current_exe().map_err(|e| LabError::io(Path::new("lab"), e))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--dir")
        .arg(dir)
        .arg("host")
        .arg(&args.scenario)
        .arg("--seats")
        .arg(args.seats.to_string())
        .arg("--addr")
        .arg(args.addr.to_string())
        .arg("--phone-addr")
        .arg(args.phone_addr.to_string())
        .arg("--seed")
        .arg(args.seed.to_string());
    if let Some(sip_addr) = args.sip_addr {
        command.arg("--sip-addr").arg(sip_addr.to_string());
    }
    if args.seat_tokens {
        command.arg("--seat-tokens");
    }
    if let Some(class) = &args.class {
        command.arg("--class").arg(class);
    }
    if let Some(url) = &args.clearinghouse {
        command.arg("--clearinghouse").arg(url);
    }
    if let Some(token) = &args.admin_token {
        command.env("CLEARINGHOUSE_ADMIN_TOKEN", token);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| LabError::Start(format!("the class's process could not start: {e}")))?;
    let ready = child.stdout.take().and_then(|out| {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .find(|line| line == "ready")
    });
    if ready.is_none() {
        let _ = child.wait();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let reason = log
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("it stopped without a word")
            .trim_start_matches("lab: ")
            .to_owned();
        return Err(LabError::Start(format!(
            "the class did not come up: {reason} (the whole log is in {})",
            log_path.display()
        )));
    }
    let class = Class::open(dir)?;
    if !json {
        println!(
            "{}\n\n{}\n",
            class.scenario.title,
            class.scenario.story.trim()
        );
        println!(
            "Class {} is up: {} seats on {} (admin token {}).",
            class.file.name,
            class.file.seats.len(),
            class.file.clearinghouse,
            class.file.admin_token
        );
        println!(
            "Instructor page: {}/instructor (sign in with the admin token). `lab grade` grades the seats; `lab down` stops the class.\n",
            class.file.clearinghouse
        );
    }
    print_seats(&class, json);
    Ok(ExitCode::SUCCESS)
}

/// Keeps the class running until SIGTERM or Ctrl-C, regrading it for the instructor page.
async fn run_host(dir: &Path, args: UpArgs) -> Result<ExitCode, LabError> {
    let options = UpOptions {
        scenario: args.scenario,
        seats: args.seats,
        dir: dir.to_owned(),
        name: args.class,
        clearinghouse: args.clearinghouse.zip(args.admin_token),
        addr: args.addr,
        phone_addr: args.phone_addr,
        sip_addr: args.sip_addr,
        seed: args.seed,
        seat_tokens: args.seat_tokens,
    };
    let running = Host::up(options, std::process::id()).await?;
    eprintln!(
        "lab: class {} is up on {} with {} seats",
        running.class.file.name,
        running.url(),
        running.class.file.seats.len()
    );
    // Listened for before the ready line: whoever started it may stop it at once.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| LabError::Start(e.to_string()))?;
    {
        // Whoever started it waits for this line; nothing else is written to it.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    }
    let mut tick = tokio::time::interval(REGRADE);
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                // A seat reset or being set up meanwhile is graded on the next tick.
                if let Ok(class) = Class::open(dir)
                    && let Err(e) = Host::grade_and_report(&class).await
                {
                    eprintln!("lab: the class could not be graded: {e}");
                }
            }
        }
    }
    eprintln!("lab: stopping the class");
    running.stop().await?;
    Ok(ExitCode::SUCCESS)
}

/// Grades the class for the instructor page; a failure is said, not fatal: the command's
/// own work is done.
async fn report(class: &Class) {
    if let Err(e) = Host::grade_and_report(class).await {
        eprintln!("lab: the instructor page could not be updated: {e}");
    }
}

fn print_seats(class: &Class, json: bool) {
    let briefs: Vec<brief::SeatBrief> = class
        .file
        .seats
        .iter()
        .map(|s| brief::brief(class, s))
        .collect();
    if json {
        print_json(&serde_json::json!({
            "class": class.file.name,
            "title": class.scenario.title,
            "clearinghouse": class.file.clearinghouse,
            "admin_token": class.file.admin_token,
            "seats": briefs,
        }));
    } else {
        for b in &briefs {
            println!("{}", brief::text(b));
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("lab: {e}"),
    }
}
