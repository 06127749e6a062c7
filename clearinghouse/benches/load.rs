//! Load benchmark of the clearinghouse binary: `cargo bench -p clearinghouse --bench load`.
//!
//! It runs the real binary on a fresh data directory and measures, on this machine:
//! - start-up to ready (spawn to the `ready` line) on an empty store;
//! - requests/s and p50/p99 latency of `GET /health` and of durable key pack issuance
//!   (`POST /api/v1/key-packs` with an idempotency key), from the same number of
//!   concurrent connections against the same server, so their ratio is the ledger's cost;
//! - resident memory after 100,000 key packs, and start-up to ready with them stored;
//! - resident memory before, at most during, and after the import of that tenant's
//!   snapshot into a new tenant (the body is read as it arrives, never held whole).
//!
//! Options (after `--`): `--seconds N` per load phase (default 5), `--connections N`
//! (default 64), `--key-packs N` to store before the memory reading (default 100000).
//! Every load is bounded in time and count, and only loopback is used.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

const TOKEN: &str = "bench-token";

struct Options {
    seconds: u64,
    connections: usize,
    key_packs: u64,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        connections: 64,
        key_packs: 100_000,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(v) = value("--seconds") {
        o.seconds = v;
    }
    if let Some(v) = value("--connections") {
        o.connections = v as usize;
    }
    if let Some(v) = value("--key-packs") {
        o.key_packs = v;
    }
    o
}

struct Server {
    child: Child,
    url: String,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &str) -> Server {
    let begun = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--phone-addr",
            "127.0.0.1:0",
            "--data-dir",
            data_dir,
            "--admin-token",
            TOKEN,
            "--log",
            "warn",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the clearinghouse binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    let url = loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("the clearinghouse exited before it was ready");
        }
        if let Some(url) = line.trim().strip_prefix("ready ") {
            break url.to_owned();
        }
    };
    Server {
        child,
        url,
        ready_after: begun.elapsed(),
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct LoadResult {
    requests: u64,
    errors: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl LoadResult {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Runs `connections` clients for `seconds` (or until `limit` requests in all), each
/// sending the request `make` builds for its n-th call.
async fn load<F>(connections: usize, seconds: u64, limit: u64, make: F) -> LoadResult
where
    F: Fn(&reqwest::Client, usize, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let make = make.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("a client");
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < limit {
                let t = Instant::now();
                match make(&client, connection, n).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
                n += 1;
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("a load task");
        all.extend(l);
        errors += e;
    }
    let seconds = begun.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    LoadResult {
        requests: all.len() as u64,
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn report(name: &str, r: &LoadResult) {
    println!(
        "{name:<28} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} errors, {:.1} s)",
        r.per_second(),
        r.p50_ms,
        r.p99_ms,
        r.requests,
        r.errors,
        r.seconds
    );
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(o));
}

async fn run(o: Options) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().to_str().expect("a UTF-8 path").to_owned();

    let mut empty_starts: Vec<Duration> = (0..5)
        .map(|i| {
            let fresh = dir.path().join(format!("empty-{i}"));
            start(fresh.to_str().expect("a UTF-8 path")).ready_after
        })
        .collect();
    empty_starts.sort();
    println!(
        "start-up to ready, empty store: median {:.1} ms (of 5: {:.1} .. {:.1} ms)",
        empty_starts[2].as_secs_f64() * 1000.0,
        empty_starts[0].as_secs_f64() * 1000.0,
        empty_starts[4].as_secs_f64() * 1000.0
    );

    let server = start(&data_dir);
    let http = reqwest::Client::new();
    let added = http
        .post(format!("{}/admin/v1/tenants/default/purchases", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({
            "license": {"program": "enterprise-agreement", "agreement_number": "99999999"},
            "cals": [{"product_version": "2025", "license_type": "per-user", "quantity": 10_000_000}],
        }))
        .send()
        .await
        .expect("the purchase is added");
    assert_eq!(added.status(), 201);
    let activated: serde_json::Value = http
        .post(format!("{}/api/v1/activations", server.url))
        .json(&json!({
            "product_id": "10974-31221-16202-49672-18729-77270-17360",
            "company": {"first_name": "A", "last_name": "B", "company": "C", "country_region": "US"},
        }))
        .send()
        .await
        .expect("activation answers")
        .json()
        .await
        .expect("activation JSON");
    let server_id = activated["license_server_id"]
        .as_str()
        .expect("a license server ID")
        .to_owned();
    println!(
        "{} connections, {} s per phase, client and server on the same machine",
        o.connections, o.seconds
    );

    let health_url = format!("{}/health", server.url);
    let health = load(o.connections, o.seconds, u64::MAX, move |c, _, _| {
        c.get(&health_url)
    })
    .await;
    report("GET /health", &health);

    let issue = issue_load(
        &server.url,
        &server_id,
        o.connections,
        o.seconds,
        u64::MAX,
        "a",
    )
    .await;
    report("POST /api/v1/key-packs", &issue);
    println!(
        "issuance / health throughput: {:.0}%",
        100.0 * issue.per_second() / health.per_second()
    );

    let stored = issue.requests;
    if stored < o.key_packs {
        let fill = issue_load(
            &server.url,
            &server_id,
            o.connections,
            600,
            o.key_packs - stored,
            "b",
        )
        .await;
        report("fill to key pack count", &fill);
    }
    let audit: serde_json::Value = http
        .get(format!("{}/admin/v1/tenants/default/audit", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("audit answers")
        .json()
        .await
        .expect("audit JSON");
    let key_packs = audit["key_packs_checked"].as_u64().unwrap_or(0);
    println!(
        "resident memory with {key_packs} key packs stored: {:.1} MiB (audit ok: {})",
        rss_kib(server.child.id()) as f64 / 1024.0,
        audit["ok"]
    );
    import_memory(&server, &http).await;
    drop(server);

    let mut full_starts: Vec<Duration> = (0..3).map(|_| start(&data_dir).ready_after).collect();
    full_starts.sort();
    println!(
        "start-up to ready with {key_packs} key packs: median {:.1} ms (of 3: {:.1} .. {:.1} ms)",
        full_starts[1].as_secs_f64() * 1000.0,
        full_starts[0].as_secs_f64() * 1000.0,
        full_starts[2].as_secs_f64() * 1000.0
    );
}

async fn issue_load(
    url: &str,
    server_id: &str,
    connections: usize,
    seconds: u64,
    limit: u64,
    phase: &'static str,
) -> LoadResult {
    let url = format!("{url}/api/v1/key-packs");
    let body = Arc::new(
        serde_json::to_vec(&json!({
            "license_server_id": server_id,
            "license": {"program": "enterprise-agreement", "agreement_number": "99999999"},
            "cals": {"product_version": "2025", "license_type": "per-user", "quantity": 1},
        }))
        .expect("a body"),
    );
    load(connections, seconds, limit, move |c, connection, n| {
        c.post(&url)
            .header("content-type", "application/json")
            .header("Idempotency-Key", format!("{phase}-{connection}-{n}"))
            .body(body.as_ref().clone())
    })
    .await
}

/// The server's resident memory before, at most during, and a second after `send`, in
/// KiB, sampled every 5 ms; and what `send` gave.
async fn memory_around<F, T>(pid: u32, send: F) -> (u64, u64, u64, T)
where
    F: std::future::Future<Output = T>,
{
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let sent = send.await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    tokio::time::sleep(Duration::from_secs(1)).await;
    (before, peak.load(Ordering::Relaxed), rss_kib(pid), sent)
}

/// Posts 100 MB that are no snapshot as a snapshot, then exports the default tenant and
/// imports it as another, reporting the server's memory around each.
async fn import_memory(server: &Server, http: &reqwest::Client) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let pid = server.child.id();
    let junk = vec![b'x'; 100_000_000];
    let (before, peak, after, status) = memory_around(pid, async {
        http.post(format!("{}/admin/v1/tenants/junk/snapshot", server.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(junk)
            .send()
            .await
            .map(|r| r.status().to_string())
            .unwrap_or_else(|e| format!("no answer: {e}"))
    })
    .await;
    println!(
        "100 MB that are no snapshot ({status}): resident memory {:.1} MiB before, {:.1} MiB at most during, {:.1} MiB a second after",
        mib(before),
        mib(peak),
        mib(after)
    );
    snapshot_memory(server, http).await;
}

/// Exports the default tenant and imports it as another.
async fn snapshot_memory(server: &Server, http: &reqwest::Client) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let snapshot = http
        .get(format!("{}/admin/v1/tenants/default/snapshot", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the export answers")
        .bytes()
        .await
        .expect("the snapshot");
    let size = snapshot.len();
    let started = Instant::now();
    let (before, peak, after, status) = memory_around(server.child.id(), async {
        http.post(format!("{}/admin/v1/tenants/copy/snapshot", server.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(snapshot)
            .send()
            .await
            .map(|r| r.status().to_string())
            .unwrap_or_else(|e| format!("no answer: {e}"))
    })
    .await;
    println!(
        "import of a {:.1} MB snapshot ({status}, {:.2} s with the second after): resident memory {:.1} MiB before, {:.1} MiB at most during, {:.1} MiB a second after",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        mib(before),
        mib(peak),
        mib(after),
    );
}
