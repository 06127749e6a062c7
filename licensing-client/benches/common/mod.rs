//! What the licensing client's benchmarks share: the real `clearinghouse` binary started
//! as a process of its own on a fresh store (and stopped when dropped), the binaries found
//! beside the benchmark, percentiles, the machine's load average.
//!
//! Each benchmark uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The admin token the clearinghouse is started with.
pub const ADMIN_TOKEN: &str = "bench-token";

/// The value after `name` on the command line (`--iterations 50`), parsed.
pub fn arg<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == name) else {
        return Ok(None);
    };
    let value = args
        .get(i + 1)
        .ok_or_else(|| format!("{name} needs a value"))?;
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("{name} {value}: not a number"))
}

/// A binary of the workspace: the one `env` names, else `fallback` (the path Cargo
/// gives a benchmark for its own package's binaries), else the one beside this benchmark
/// in the target directory (`target/release/deps/NAME-hash` -> `target/release/NAME`).
/// `build` is the command that builds it, said when it is missing.
pub fn binary(
    name: &str,
    env: &str,
    fallback: Option<&str>,
    build: &str,
) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{env}={} is not a file: point it at the {name} binary, or unset it and run `{build}` first",
                path.display()
            ))
        };
    }
    if let Some(path) = fallback.map(PathBuf::from).filter(|p| p.is_file()) {
        return Ok(path);
    }
    let exe = std::env::current_exe().map_err(|e| format!("this benchmark's own path: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in a target directory", exe.display()))?;
    let path = profile_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the {name} binary is not at {}: run `{build}` first (or set {env} to its path)",
            path.display()
        ))
    }
}

/// The `clearinghouse` binary.
pub fn clearinghouse_binary() -> Result<PathBuf, String> {
    binary(
        "clearinghouse",
        "CLEARINGHOUSE_BIN",
        None,
        "cargo build --release -p clearinghouse",
    )
}

/// Where a benchmark may keep files on disk: inside the target directory, which is on a
/// real file system where `/tmp` may be a tmpfs.
pub fn disk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A running clearinghouse: the real binary on a fresh data directory, on loopback ports
/// chosen by the system. Dropping it stops it (SIGTERM, then SIGKILL after 5 s).
pub struct Clearinghouse {
    child: Child,
    /// Its base URL.
    pub url: String,
    /// Where its phone line answers (`host:port`).
    pub phone_line: String,
    /// From spawn to its `ready` line.
    pub ready_after: Duration,
    _data: tempfile::TempDir,
}

impl Clearinghouse {
    /// Starts `binary` on a fresh data directory on disk and waits for its `ready` line.
    pub fn start(binary: &Path) -> Result<Clearinghouse, String> {
        let data = tempfile::Builder::new()
            .prefix("clearinghouse-")
            .tempdir_in(disk_dir())
            .map_err(|e| format!("a data directory in {}: {e}", disk_dir().display()))?;
        let data_dir = data.path().to_str().ok_or("a UTF-8 data directory path")?;
        let begun = Instant::now();
        let mut child = Command::new(binary)
            .args([
                "--addr",
                "127.0.0.1:0",
                "--phone-addr",
                "127.0.0.1:0",
                "--no-sip",
                "--data-dir",
                data_dir,
                "--admin-token",
                ADMIN_TOKEN,
                "--log",
                "warn",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{} does not start: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("the clearinghouse's stdout")?;
        // Dropped on any error below: the process is stopped.
        let mut running = Clearinghouse {
            child,
            url: String::new(),
            phone_line: String::new(),
            ready_after: Duration::ZERO,
            _data: data,
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout
                .read_line(&mut line)
                .map_err(|e| format!("reading the clearinghouse's output: {e}"))?;
            if read == 0 {
                return Err(
                    "the clearinghouse exited before it was ready (its errors are above)".into(),
                );
            }
            let line = line.trim();
            if let Some(phone) = line.strip_prefix("phone-line ") {
                running.phone_line = phone.to_owned();
            }
            if let Some(url) = line.strip_prefix("ready ") {
                running.url = url.to_owned();
                break;
            }
        }
        running.ready_after = begun.elapsed();
        // It says little after `ready`; read it anyway, so a full pipe never blocks it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Ok(running)
    }

    /// Adds a purchase to the default tenant through the admin API: agreement
    /// `agreement_number` of the Enterprise Agreement, `quantity` CALs of `product_version`
    /// and `license_type` (API spellings, e.g. "2022", "per-device").
    pub async fn add_purchase(
        &self,
        agreement_number: &str,
        product_version: &str,
        license_type: &str,
        quantity: u64,
    ) -> Result<(), String> {
        let answer = reqwest::Client::new()
            .post(format!("{}/admin/v1/tenants/default/purchases", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({
                "license": {"program": "enterprise-agreement", "agreement_number": agreement_number},
                "cals": [{"product_version": product_version, "license_type": license_type, "quantity": quantity}],
            }))
            .send()
            .await
            .map_err(|e| format!("adding a purchase: {e}"))?;
        if answer.status() != reqwest::StatusCode::CREATED {
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            return Err(format!("adding a purchase: {status} {body}"));
        }
        Ok(())
    }

    /// `GET` of an admin API path of the default tenant (`audit`, `history`), as JSON.
    pub async fn admin_get<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, String> {
        let url = format!("{}/admin/v1/tenants/default/{what}", self.url);
        let answer = reqwest::Client::new()
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("GET {url}: {}", answer.status()));
        }
        answer
            .json()
            .await
            .map_err(|e| format!("GET {url}: the answer is not what was expected: {e}"))
    }
}

impl Drop for Clearinghouse {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The machine's load average (1, 5 and 15 minutes), from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown (no /proc/loadavg)".into())
}

/// The type of the file system `path` is on (`ext4`, `tmpfs`...), from `/proc/self/mounts`.
pub fn file_system(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point)
                .then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".into(), |(_, kind)| kind)
}

/// Sorted durations, read as percentiles.
pub struct Figures(Vec<Duration>);

impl Figures {
    /// The figures of `samples`.
    pub fn of(mut samples: Vec<Duration>) -> Figures {
        samples.sort();
        Figures(samples)
    }

    /// How many.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile (0 to 100), nearest rank, in milliseconds.
    pub fn p(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        ms(self.0[rank.clamp(1, self.0.len()) - 1])
    }

    /// The largest, in milliseconds.
    pub fn max(&self) -> f64 {
        self.0.last().map_or(f64::NAN, |d| ms(*d))
    }

    /// `p50 .. p99 .. max` on one line.
    pub fn line(&self) -> String {
        format!(
            "p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   (n={})",
            self.p(50.0),
            self.p(99.0),
            self.max(),
            self.count()
        )
    }
}

/// `d` in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
