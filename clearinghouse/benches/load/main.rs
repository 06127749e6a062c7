//! Load benchmark of the clearinghouse binary: `cargo bench -p clearinghouse --bench load`.
//!
//! It runs the real binary on a fresh data directory and measures, on this machine:
//! - start-up to ready (spawn to the `ready` line) on an empty store;
//! - requests/s and p50/p99 latency of `GET /health` and of durable key pack issuance
//!   (`POST /api/v1/key-packs` with an idempotency key, spread over 16 license servers),
//!   from the same number of keep-alive connections against the same server, so their
//!   ratio is the ledger's cost, with the server's CPU time and the bytes it wrote to the
//!   disk per key pack issued. The load client is a lean HTTP/1.1 one ([`client`]); when
//!   `wrk` is installed, the bench runs it on `/health` in the same run and prints how
//!   close the client comes to it, so a reader can see the client is not the bottleneck;
//! - for each store size of `--key-packs`, on a store of its own filled with that many key
//!   packs through the ledger's own batch path (in process, then served by the binary):
//!   its size on disk, start-up to ready, issuance throughput beside the empty store's,
//!   resident memory after that load and after a full audit, and (at the first size only)
//!   the memory around a snapshot's import.
//!
//! - the voice line (`--voice-calls N`, default 50; 0 leaves it out), on a server of its
//!   own: the time from INVITE to the first packet of audio, CPU per call while N calls
//!   are held, how late their RTP packets come behind the 20 ms schedule, and issuance
//!   throughput while they are held beside without.
//!
//! Before each phase it waits for the disk to be idle (no dirty or writeback pages), and
//! it prints the machine's load average beside its figures.
//!
//! `CLEARINGHOUSE_BIN=path` measures that build of the binary instead (an earlier
//! commit's, for a before and after).
//!
//! Options (after `--`): `--seconds N` per load phase (default 5), `--connections N`
//! (default 64), `--key-packs N[,N...]` store sizes (default 100000; e.g.
//! `--key-packs 100000,1000000`). Every load is bounded in time and count, and only
//! loopback is used.

mod client;
mod machine;
mod voice;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clearinghouse::ledger::{Command as LedgerCommand, TenantName};
use clearinghouse::{Config, RunningServer, Storage};
use client::LoadResult;
use rand::SeedableRng;
use serde_json::json;
use shared::id::ProductId;
use shared::vocab::WindowsServer;

const TOKEN: &str = "bench-token";
const AGREEMENT: &str = "99999999";
/// License servers the issuance load is spread over (as `issuance-ratio.sh` does).
const SERVERS: usize = 16;

#[derive(Clone)]
struct Options {
    seconds: u64,
    connections: usize,
    key_packs: Vec<u64>,
    voice_calls: usize,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 5,
        connections: 64,
        key_packs: vec![100_000],
        voice_calls: 50,
    };
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(v) = value("--seconds").and_then(|v| v.parse().ok()) {
        o.seconds = v;
    }
    if let Some(v) = value("--connections").and_then(|v| v.parse().ok()) {
        o.connections = v;
    }
    if let Some(v) = value("--voice-calls").and_then(|v| v.parse().ok()) {
        o.voice_calls = v;
    }
    if let Some(v) = value("--key-packs") {
        o.key_packs = v.split(',').filter_map(|n| n.trim().parse().ok()).collect();
        o.key_packs.sort_unstable();
    }
    o
}

struct Server {
    child: Child,
    url: String,
    /// `host:port`, for the load client.
    addr: String,
    /// Where its voice line answers, if it has one.
    sip: Option<std::net::SocketAddr>,
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
    start_with(data_dir, &["--no-sip"])
}

/// Starts the binary on `data_dir` with `more` arguments.
fn start_with(data_dir: &str, more: &[&str]) -> Server {
    let begun = Instant::now();
    // Another build of the binary (an earlier commit's, say) may be measured in its place.
    let binary = std::env::var("CLEARINGHOUSE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearinghouse").to_owned());
    let mut child = Command::new(binary)
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
        .args(more)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the clearinghouse binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    let mut sip = None;
    let url = loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("the clearinghouse exited before it was ready");
        }
        if let Some(uri) = line.trim().strip_prefix("sip sip:clearinghouse@") {
            sip = uri.parse().ok();
        }
        if let Some(url) = line.trim().strip_prefix("ready ") {
            break url.to_owned();
        }
    };
    let addr = url.trim_start_matches("http://").to_owned();
    Server {
        child,
        url,
        addr,
        sip,
        ready_after: begun.elapsed(),
    }
}

fn report(name: &str, r: &LoadResult) {
    println!(
        "{name:<34} {:>8.0} req/s   p50 {:>5.2} ms   p99 {:>5.2} ms   ({} ok, {} errors, {:.1} s)",
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
    println!(
        "{} cores; client and server on the same machine; {} connections, {} s per phase",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.connections,
        o.seconds
    );
    machine::settle("start");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let store = |name: &str| {
        let path = dir.path().join(name);
        path.to_str().expect("a UTF-8 path").to_owned()
    };

    let mut empty_starts: Vec<Duration> = (0..5)
        .map(|i| start(&store(&format!("empty-{i}"))).ready_after)
        .collect();
    empty_starts.sort();
    println!(
        "start-up to ready, empty store: median {:.1} ms (of 5: {:.1} .. {:.1} ms)",
        ms(empty_starts[2]),
        ms(empty_starts[0]),
        ms(empty_starts[4])
    );

    let server = start(&store("empty"));
    let http = reqwest::Client::new();
    let servers = prepare(&server.url, &http).await;

    machine::settle("GET /health");
    let wrk = machine::wrk(&format!("{}/health", server.url), o.connections, o.seconds);
    let health = health_load(&server.addr, &o).await;
    if let Some(wrk) = wrk {
        println!(
            "{:<34} {:>8.0} req/s   p50 {:>5.2} ms   p99 {:>5.2} ms   (wrk -t2 -c{} -d{}s)",
            "GET /health (wrk)", wrk.per_second, wrk.p50_ms, wrk.p99_ms, o.connections, o.seconds
        );
        report("GET /health", &health);
        println!(
            "load client / wrk on GET /health: {:.0}%",
            100.0 * health.per_second() / wrk.per_second
        );
    } else {
        report("GET /health", &health);
        println!("(wrk is not installed: apt-get install wrk to compare the load client with it)");
    }

    // A second of issuance first, not measured: a fresh store's first writes grow its file.
    issue_load(
        &server.addr,
        &servers,
        &Options {
            seconds: 1,
            ..o.clone()
        },
        u64::MAX,
        "w",
    )
    .await;
    machine::settle("POST /api/v1/key-packs");
    let pid = server.child.id();
    let (cpu, written) = (machine::cpu_time(pid), machine::written_bytes(pid));
    let issue = issue_load(&server.addr, &servers, &o, u64::MAX, "a").await;
    let (cpu, written) = (
        machine::cpu_time(pid).saturating_sub(cpu),
        machine::written_bytes(pid).saturating_sub(written),
    );
    report("POST /api/v1/key-packs", &issue);
    println!(
        "issuance / health throughput: {:.0}%",
        100.0 * issue.per_second() / health.per_second()
    );
    let issued = issue.requests.max(1) as f64;
    println!(
        "per key pack issued: {:.1} µs of server CPU, {:.1} KiB written to the disk",
        cpu.as_secs_f64() * 1e6 / issued,
        written as f64 / 1024.0 / issued
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "resident memory a second after the load phases: {:.1} MiB",
        machine::rss_mib(server.child.id())
    );
    drop(server);

    if o.voice_calls > 0 {
        voice_phase(&o, &store("voice"), &http).await;
    }

    // Each size on a store of its own, filled with key packs only, so that it differs from
    // the empty store by its key packs alone.
    for (i, &target) in o.key_packs.iter().enumerate() {
        let data_dir = store(&format!("filled-{target}"));
        let servers = {
            let server = start(&data_dir);
            prepare(&server.url, &http).await
        };
        fill(&data_dir, &servers, target).await;
        println!(
            "store on disk with {target} key packs: {:.1} MiB",
            machine::dir_bytes(std::path::Path::new(&data_dir)) as f64 / 1024.0 / 1024.0
        );
        machine::settle(&format!("{target} key packs"));
        let mut starts: Vec<Duration> = (0..3).map(|_| start(&data_dir).ready_after).collect();
        starts.sort();
        println!(
            "start-up to ready with {target} key packs: median {:.1} ms (of 3: {:.1} .. {:.1} ms)",
            ms(starts[1]),
            ms(starts[0]),
            ms(starts[2])
        );
        let server = start(&data_dir);
        let full = issue_load(&server.addr, &servers, &o, u64::MAX, "c").await;
        report(&format!("POST /api/v1/key-packs, {target} stored"), &full);
        println!(
            "issuance with {target} stored / with an empty store: {:.0}%",
            100.0 * full.per_second() / issue.per_second()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!(
            "resident memory with {target} key packs stored, a second after that load: {:.1} MiB",
            machine::rss_mib(server.child.id())
        );
        let begun = Instant::now();
        let (checked, ok) = key_packs_stored(&server.url, &http).await;
        let audited = begun.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!(
            "audit of {checked} key packs: {:.2} s (ok: {ok}); resident memory a second later: {:.1} MiB",
            audited.as_secs_f64(),
            machine::rss_mib(server.child.id())
        );
        if i == 0 {
            import_memory(&server, &http).await;
        }
    }
    machine::loadavg("end");
}

/// The voice line: answer time, CPU per call and RTP lateness with `o.voice_calls` calls
/// held, and issuance with them held beside without.
async fn voice_phase(o: &Options, data_dir: &str, http: &reqwest::Client) {
    let server = start_with(data_dir, &["--sip-addr", "127.0.0.1:0"]);
    let line = server.sip.expect("the voice line is printed");
    let servers = prepare(&server.url, http).await;
    let pid = server.child.id();

    machine::settle("voice line: INVITE to first audio");
    let mut answers = tokio::task::spawn_blocking(move || voice::first_audio(line, 20))
        .await
        .expect("the callers run");
    answers.sort();
    if let (Some(first), Some(last)) = (answers.first(), answers.last()) {
        println!(
            "INVITE to the greeting's first packet ({} calls): p50 {:.1} ms, max {:.1} ms (from {:.1} ms)",
            answers.len(),
            ms(answers[answers.len() / 2]),
            ms(*last),
            ms(*first)
        );
    }

    machine::settle("voice line: issuance without calls");
    let quiet = issue_load(&server.addr, &servers, o, u64::MAX, "q").await;
    report("POST /api/v1/key-packs, no calls", &quiet);

    let window = Duration::from_secs(3);
    let before = machine::cpu_time(pid);
    tokio::time::sleep(window).await;
    let idle = machine::cpu_time(pid) - before;

    let calls = o.voice_calls;
    let held = tokio::task::spawn_blocking(move || voice::hold(line, calls))
        .await
        .expect("the callers run");
    // Past the greeting's synthesis (it is cached) and the first prompts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = machine::cpu_time(pid);
    tokio::time::sleep(window).await;
    let busy = machine::cpu_time(pid) - before;
    let per_call = (busy.saturating_sub(idle)).as_secs_f64() / window.as_secs_f64() / calls as f64;
    println!(
        "{calls} calls held: the server uses {:.1}% of a core ({:.1}% idle), {:.2}% of a core per call",
        100.0 * busy.as_secs_f64() / window.as_secs_f64(),
        100.0 * idle.as_secs_f64() / window.as_secs_f64(),
        100.0 * per_call
    );

    machine::loadavg(&format!("voice line: issuance with {calls} calls held"));
    let during = issue_load(&server.addr, &servers, o, u64::MAX, "v").await;
    report(&format!("POST /api/v1/key-packs, {calls} calls"), &during);
    println!(
        "issuance with {calls} calls held / without: {:.0}%",
        100.0 * during.per_second() / quiet.per_second()
    );
    let heard = tokio::task::spawn_blocking(move || held.hang_up())
        .await
        .expect("the callers run");
    let failed: Vec<&String> = heard.iter().filter_map(|h| h.as_ref().err()).collect();
    let heard: Vec<&voice::Heard> = heard.iter().filter_map(|h| h.as_ref().ok()).collect();
    let mut lateness: Vec<Duration> = heard.iter().flat_map(|h| h.lateness.clone()).collect();
    lateness.sort();
    let packets: u64 = heard.iter().map(|h| h.packets).sum();
    let lost: u64 = heard.iter().map(|h| h.lost).sum();
    let late = lateness
        .iter()
        .filter(|l| **l > Duration::from_millis(20))
        .count();
    println!(
        "RTP of {} calls answered ({} failed{}): {packets} packets, {lost} lost; behind schedule p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {late} later than 20 ms",
        heard.len(),
        failed.len(),
        failed.first().map_or(String::new(), |f| format!(": {f}")),
        lateness.get(lateness.len() / 2).map_or(0.0, |d| ms(*d)),
        lateness
            .get(lateness.len() * 99 / 100)
            .map_or(0.0, |d| ms(*d)),
        lateness.last().map_or(0.0, |d| ms(*d)),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Adds a purchase large enough for every phase and activates the license servers the
/// key packs are issued to; their IDs.
async fn prepare(url: &str, http: &reqwest::Client) -> Vec<String> {
    let added = http
        .post(format!("{url}/admin/v1/tenants/default/purchases"))
        .bearer_auth(TOKEN)
        .json(&json!({
            "license": {"program": "enterprise-agreement", "agreement_number": AGREEMENT},
            "cals": [{"product_version": "2025", "license_type": "per-user", "quantity": 10_000_000}],
        }))
        .send()
        .await
        .expect("the purchase is added");
    assert_eq!(added.status(), 201, "the purchase is added");
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(9);
    let mut ids = Vec::new();
    for _ in 0..SERVERS {
        let product_id = ProductId::generate(WindowsServer::V2025, &mut rng);
        let activated: serde_json::Value = http
            .post(format!("{url}/api/v1/activations"))
            .json(&json!({
                "product_id": product_id.to_string(),
                "company": {"first_name": "A", "last_name": "B", "company": "C", "country_region": "US"},
            }))
            .send()
            .await
            .expect("activation answers")
            .json()
            .await
            .expect("activation JSON");
        ids.push(
            activated["license_server_id"]
                .as_str()
                .expect("a license server ID")
                .to_owned(),
        );
    }
    ids
}

/// The body of a request for one CAL for `server`.
fn key_pack_body(server: &str) -> String {
    json!({
        "license_server_id": server,
        "license": {"program": "enterprise-agreement", "agreement_number": AGREEMENT},
        "cals": {"product_version": "2025", "license_type": "per-user", "quantity": 1},
    })
    .to_string()
}

async fn health_load(addr: &str, o: &Options) -> LoadResult {
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    client::load(
        addr,
        o.connections,
        o.seconds as f64,
        u64::MAX,
        move |buf, _, _| buf.extend_from_slice(&request),
    )
    .await
}

/// Durable issuance: each request a fresh idempotency key, the servers taken in turn.
async fn issue_load(
    addr: &str,
    servers: &[String],
    o: &Options,
    limit: u64,
    phase: &'static str,
) -> LoadResult {
    let heads: Vec<(String, String)> = servers
        .iter()
        .map(|server| {
            let body = key_pack_body(server);
            let head = format!(
                "POST /api/v1/key-packs HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
            (head, body)
        })
        .collect();
    client::load(
        addr,
        o.connections,
        o.seconds as f64,
        limit,
        move |buf, connection, n| {
            use std::io::Write;
            let (head, body) = &heads[(connection + n as usize) % heads.len()];
            buf.extend_from_slice(head.as_bytes());
            let _ = write!(
                buf,
                "Idempotency-Key: {phase}-{connection}-{n}\r\n\r\n{body}"
            );
        },
    )
    .await
}

/// Issues `count` more key packs through the ledger itself, in this process, many at once
/// so that the writer commits them in full batches. They are issued as the API issues
/// them, but without idempotency keys: a store grows over months, while a saved answer only
/// answers retries for a day, so most key packs of a large store were issued long before
/// the requests it now answers.
async fn fill(data_dir: &str, servers: &[String], count: u64) {
    let mut config = Config::ephemeral();
    config.storage = Storage::Directory(data_dir.into());
    config.phone_addr = None;
    let server = RunningServer::start(config)
        .await
        .expect("the store opens in process");
    let requests: Arc<Vec<shared::wire::InstallCalsRequest>> = Arc::new(
        servers
            .iter()
            .map(|s| serde_json::from_str(&key_pack_body(s)).expect("a key pack request"))
            .collect(),
    );
    let next = Arc::new(AtomicU64::new(0));
    let begun = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1024 {
        let (ledger, requests, next) = (server.ledger().clone(), requests.clone(), next.clone());
        tasks.spawn(async move {
            let mut failed = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return failed;
                }
                let request = requests[n as usize % requests.len()].clone();
                let reply = ledger
                    .execute(
                        TenantName::default_tenant(),
                        LedgerCommand::InstallCals(request),
                        None,
                    )
                    .await;
                if reply.outcome.is_err() {
                    failed += 1;
                }
            }
        });
    }
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        failed += done.unwrap_or(1);
    }
    let seconds = begun.elapsed().as_secs_f64();
    assert_eq!(failed, 0, "every key pack of the fill is issued");
    println!(
        "filled {count} key packs through the ledger in {seconds:.1} s ({:.0}/s)",
        count as f64 / seconds
    );
    server.shutdown().await;
    // sled's background flusher lets go of the directory's lock a moment after it closes.
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// How many key packs the default tenant's audit checked, and whether it found it sound.
async fn key_packs_stored(url: &str, http: &reqwest::Client) -> (u64, bool) {
    let audit: serde_json::Value = http
        .get(format!("{url}/admin/v1/tenants/default/audit"))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .expect("audit answers")
        .json()
        .await
        .expect("audit JSON");
    (
        audit["key_packs_checked"].as_u64().unwrap_or(0),
        audit["ok"].as_bool().unwrap_or(false),
    )
}

/// The server's resident memory before, at most during, and a second after `send`, in
/// MiB, sampled every 5 ms; and what `send` gave.
async fn memory_around<F, T>(pid: u32, send: F) -> (f64, f64, f64, T)
where
    F: std::future::Future<Output = T>,
{
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = machine::rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(machine::rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let sent = send.await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mib = |kib: u64| kib as f64 / 1024.0;
    (
        mib(before),
        mib(peak.load(Ordering::Relaxed)),
        mib(machine::rss_kib(pid)),
        sent,
    )
}

/// Posts `body` as the snapshot of a new tenant `tenant`; the answer's status.
async fn import(
    server: &Server,
    http: &reqwest::Client,
    tenant: &str,
    body: impl Into<reqwest::Body>,
) -> String {
    http.post(format!("{}/admin/v1/tenants/{tenant}/snapshot", server.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status().to_string())
        .unwrap_or_else(|e| format!("no answer: {e}"))
}

/// Posts 100 MB that are no snapshot as a snapshot, then exports the default tenant and
/// imports it as another, reporting the server's memory around each.
async fn import_memory(server: &Server, http: &reqwest::Client) {
    let pid = server.child.id();
    let junk = vec![b'x'; 100_000_000];
    let (before, peak, after, status) =
        memory_around(pid, import(server, http, "junk", junk)).await;
    println!(
        "100 MB that are no snapshot ({status}): resident memory {before:.1} MiB before, {peak:.1} MiB at most during, {after:.1} MiB a second after"
    );
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
    let (before, peak, after, status) =
        memory_around(pid, import(server, http, "copy", snapshot)).await;
    println!(
        "import of a {:.1} MB snapshot ({status}, {:.2} s with the second after): resident memory {before:.1} MiB before, {peak:.1} MiB at most during, {after:.1} MiB a second after",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
    );
}
