//! What the machine is doing while the bench measures: its load average, whether its
//! disk is still writing back, a process's resident memory, and wrk's view of the same
//! server when wrk is installed.

use std::process::Command;
use std::time::{Duration, Instant};

/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Prints the load average with what comes next.
pub fn loadavg(what: &str) {
    println!("-- {what}: load average {}", load_average());
}

/// Dirty and writeback pages waiting for the disk, in KiB.
fn pending_writeback_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("Dirty:") || l.starts_with("Writeback:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Waits (at most 30 s) until the disk has no writeback pending from earlier phases, then
/// prints the load average before `what`.
pub fn settle(what: &str) {
    let _ = Command::new("sync").status();
    let begun = Instant::now();
    while pending_writeback_kib() > 1024 && begun.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!(
        "-- {what}: load average {}, {} KiB waiting for the disk (waited {:.1} s)",
        load_average(),
        pending_writeback_kib(),
        begun.elapsed().as_secs_f64()
    );
}

/// The processor time a process has used so far (user and system).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    // Linux counts in USER_HZ, 100 a second on every architecture it runs on here.
    Duration::from_millis(ticks * 10)
}

/// The bytes a process has caused to be written to the disk so far.
pub fn written_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The disk space the files under `dir` take, in bytes.
pub fn dir_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&entry.path()),
            // Allocated blocks of 512 bytes, not the length: a file may have holes.
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// A process's resident memory, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The same, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    rss_kib(pid) as f64 / 1024.0
}

/// What wrk measured.
pub struct Wrk {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs `wrk -t2 -c<connections> -d<seconds>s --latency url`, if wrk is installed.
pub fn wrk(url: &str, connections: usize, seconds: u64) -> Option<Wrk> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    Some(Wrk {
        per_second: field("Requests/sec:")?.parse().ok()?,
        p50_ms: wrk_ms(&field("50%")?)?,
        p99_ms: wrk_ms(&field("99%")?)?,
    })
}

/// A wrk latency ("812.00us", "1.23ms", "2.00s") in ms.
fn wrk_ms(v: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}
