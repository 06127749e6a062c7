//! How fast a class comes up and is graded: `cargo bench -p lab --bench class`.
//!
//! The clearinghouse runs in a process of its own (this benchmark started again as one, on
//! a fresh sled store), so its resident memory is its own. The benchmark measures, for a
//! class of 30 seats (`--seats N`) on a scenario (`--scenario FILE`, default
//! `fixtures/labs/migrate-automatic.toml`):
//! - standing the class up through the library (tenants, license servers brought to their
//!   start state through the client's flows, daemons, session hosts, faults), and through
//!   the `lab up` command (its background process included), each `--runs N` times;
//! - grading every seat, fresh and once every seat played the reference solution, and
//!   grading with the report the instructor page shows;
//! - the clearinghouse's resident memory before and with the class.
//!
//! Everything runs on loopback, bounded in count; the load average is printed beside.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clearinghouse::config::{Config, Storage};
use clearinghouse::server::RunningServer;
use lab::{Host, UpOptions, grade, student};

const CHILD: &str = "LAB_BENCH_CLEARINGHOUSE";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The child: a clearinghouse on the store in `dir`, until its standard input closes.
fn clearinghouse(dir: PathBuf) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        // As the lab's own clearinghouse is: every seat may call from this one machine.
        let phone = clearinghouse::phone::PhoneSettings {
            calls_per_address: 1000,
            max_calls: 1000,
            ..Default::default()
        };
        let config = Config {
            storage: Storage::Directory(dir),
            phone,
            ..Config::ephemeral()
        };
        let running = RunningServer::start(config).await.expect("it starts");
        println!("{} {}", running.url(), running.admin_token());
        let _ = std::io::stdout().flush();
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
        running.shutdown().await;
    });
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD) {
        clearinghouse(PathBuf::from(dir));
        return;
    }
    let seats: u32 = arg("--seats").and_then(|s| s.parse().ok()).unwrap_or(30);
    let runs: usize = arg("--runs").and_then(|s| s.parse().ok()).unwrap_or(3);
    let scenario = arg("--scenario").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/labs/migrate-automatic.toml")
    });
    let store = tempfile::tempdir().expect("a directory");
    let mut child = Command::new(std::env::current_exe().expect("this benchmark"))
        .env(CHILD, store.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the clearinghouse starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("its output"))
        .read_line(&mut line)
        .expect("its address");
    let (url, token) = line.trim().split_once(' ').expect("url and token");
    let (url, token) = (url.to_owned(), token.to_owned());
    let pid = child.id();
    let rss_empty = rss_kib(pid);
    println!(
        "class of {seats} seats on {} (load average {})",
        scenario.display(),
        load_average()
    );

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut ups = Vec::new();
    let mut last: Option<(Host, tempfile::TempDir)> = None;
    for run in 0..runs {
        if let Some((host, _dir)) = last.take() {
            runtime.block_on(Host::stop(host)).expect("the class stops");
        }
        let dir = tempfile::tempdir().expect("a directory");
        let options = UpOptions {
            scenario: scenario.clone(),
            seats,
            dir: dir.path().to_owned(),
            name: Some(format!("bench-{run}")),
            clearinghouse: Some((url.clone(), token.clone())),
            addr: any,
            phone_addr: any,
            sip_addr: None,
            seed: 1,
            seat_tokens: false,
        };
        let started = Instant::now();
        let host = runtime
            .block_on(Host::up(options, std::process::id()))
            .expect("the class comes up");
        ups.push(started.elapsed());
        last = Some((host, dir));
    }
    let (host, _dir) = last.take().expect("a class");
    println!(
        "stand up (library): median {} of {runs} runs ({})",
        ms(median(ups.clone())),
        ups.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
    );
    let rss_class = rss_kib(pid);

    let mut grades = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let graded = runtime
            .block_on(grade::grade(&host.class, None))
            .expect("graded");
        grades.push(started.elapsed());
        assert_eq!(graded.len(), seats as usize);
    }
    println!(
        "grade {seats} fresh seats: median {} of 5",
        ms(median(grades))
    );

    let started = Instant::now();
    runtime.block_on(async {
        let plays = host
            .class
            .file
            .seats
            .iter()
            .map(|s| student::play(&host.class, s, &host.class.scenario.solution));
        for played in futures_util::future::join_all(plays).await {
            played.expect("the reference solution plays");
        }
    });
    println!(
        "every seat solved by the scripted student: {}",
        ms(started.elapsed())
    );
    let mut grades = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let graded = runtime
            .block_on(grade::grade(&host.class, None))
            .expect("graded");
        grades.push(started.elapsed());
        assert!(graded.iter().all(|g| g.checks.iter().all(|c| c.passed)));
    }
    println!(
        "grade {seats} solved seats: median {} of 5",
        ms(median(grades))
    );
    let mut reports = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        runtime
            .block_on(Host::grade_and_report(&host.class))
            .expect("graded and reported");
        reports.push(started.elapsed());
    }
    println!(
        "grade {seats} solved seats and report them to the instructor page: median {} of 5",
        ms(median(reports))
    );
    let rss_solved = rss_kib(pid);
    runtime.block_on(host.stop()).expect("the class stops");

    // The command a trainer types, its background process included.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lab"));
    let mut commands = Vec::new();
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("a directory");
        let started = Instant::now();
        let up = Command::new(&bin)
            .arg("--dir")
            .arg(dir.path())
            .args([
                "up",
                &scenario.display().to_string(),
                "--seats",
                &seats.to_string(),
            ])
            .args(["--class", &format!("cli-{run}"), "--clearinghouse", &url])
            .env("CLEARINGHOUSE_ADMIN_TOKEN", &token)
            .stdout(Stdio::null())
            .status()
            .expect("lab up runs");
        commands.push(started.elapsed());
        assert!(up.success());
        let down = Command::new(&bin)
            .arg("--dir")
            .arg(dir.path())
            .arg("down")
            .stdout(Stdio::null())
            .status()
            .expect("lab down runs");
        assert!(down.success());
    }
    println!(
        "stand up (`lab up`): median {} of {runs} runs",
        ms(median(commands))
    );
    println!(
        "clearinghouse resident memory: {} MiB empty, {} MiB with the class up, {} MiB once solved ({} classes of {seats} seats stood up in all)",
        rss_empty / 1024,
        rss_class / 1024,
        rss_solved / 1024,
        2 * runs
    );
    println!("load average {}", load_average());
    drop(child.stdin.take());
    let _ = child.wait();
}
