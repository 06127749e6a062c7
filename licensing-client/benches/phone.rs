//! The phone line under load: `cargo bench -p licensing-client --bench phone` (build the
//! server first: `cargo build --release -p clearinghouse`, or set `CLEARINGHOUSE_BIN`).
//!
//! The clearinghouse runs as a process of its own, on a fresh sled store on loopback, with
//! its phone line as shipped (at most 16 calls from one address, 256 in all). 200 license
//! servers (`--calls N`), each with its own state and product ID, activate by the
//! telephone method all at once, each holding its call with the library's scripted caller
//! (`CallHolder`), from loopback addresses 127.0.0.2, 127.0.0.3, ... (16 calls each), so
//! no call is turned away by the per-address limit. It measures:
//! - calls/s over the whole burst, and the whole call's latency (dialling to hanging up)
//!   and the whole activation's (the state kept, the phone line looked up, the call);
//! - per answered line: from a line the caller says to the representative's next line read
//!   (p50, p99, max);
//! - that every activation completed and no license server ID was issued twice (the IDs
//!   returned, and the tenant's history on the admin API, each telephone activation once);
//! - `GET /health` p50/p99 from a few concurrent clients (`--health-clients N`, default 4):
//!   alone for 2 s before the calls, then while the calls run. They run on a thread of
//!   their own, so a probe never waits behind the bench's callers to be sent or read: what
//!   is measured is the server's answer.
//!
//! The callers run at nice 10 (`--callers-nice N`, 0 to 19): on the real line they call from
//! other machines, so here they should take only the processor the server leaves, not
//! compete with it at its own priority.
//!
//! The license servers' state directories are on `/dev/shm` where there is one, so the
//! client's own fsyncs stay out of the phone line's figures. Every load is bounded in count
//! and time (a call may take 120 s at most); only loopback is used. The load average is
//! printed beside the figures.

mod common;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Clearinghouse, Figures, load_average};
use licensing_client::methods::telephone::{AnswerTimes, CallHolder, Telephone};
use licensing_client::state::ClearinghouseAddress;
use licensing_client::vocab::{CompanyFields, CompanyInfo, ConnectionMethod, WindowsServer};
use licensing_client::wire::{Action, AuditReport, History};
use licensing_client::{Error, Handoff, LicenseServer, Operator, Reminder};
use rand::SeedableRng;

/// The most calls the phone line holds from one address (`PhoneSettings::default()`).
const CALLS_PER_ADDRESS: usize = 16;
/// The longest one activation may take before the bench gives up on it.
const CALL_LIMIT: Duration = Duration::from_secs(120);
/// How long `/health` is measured alone, before the calls.
const HEALTH_ALONE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("phone bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let calls: usize = common::arg("--calls")?.unwrap_or(200);
    let health_clients: usize = common::arg("--health-clients")?.unwrap_or(4);
    if calls == 0 || calls > CALLS_PER_ADDRESS * 250 {
        return Err(format!(
            "--calls {calls}: from 1 to {}",
            CALLS_PER_ADDRESS * 250
        ));
    }
    let nice: i32 = common::arg("--callers-nice")?.unwrap_or(10);
    if !(0..=19).contains(&nice) {
        return Err(format!("--callers-nice {nice}: from 0 to 19"));
    }
    let binary = common::clearinghouse_binary()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // Best effort: at worst the callers compete with the server at its priority.
            let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice);
        })
        .build()
        .map_err(|e| format!("a runtime: {e}"))?;
    runtime.block_on(bench(&binary, calls, health_clients, nice))
}

async fn bench(
    binary: &Path,
    calls: usize,
    health_clients: usize,
    nice: i32,
) -> Result<(), String> {
    println!(
        "phone: {calls} concurrent scripted telephone activations on the phone line; calls/s, latency per answered line, no ID issued twice, /health meanwhile; callers at nice {nice}"
    );
    println!("load average at start: {}", load_average());
    let server = Clearinghouse::start(binary)?;
    println!(
        "clearinghouse {} ready at {}, phone line {}",
        binary.display(),
        server.url,
        server.phone_line
    );

    let shm = Path::new("/dev/shm");
    let root = if shm.is_dir() {
        shm.to_owned()
    } else {
        common::disk_dir()
    };
    let states = tempfile::Builder::new()
        .prefix("phone-")
        .tempdir_in(&root)
        .map_err(|e| format!("a directory in {}: {e}", root.display()))?;
    println!(
        "license server states in {} ({})",
        states.path().display(),
        common::file_system(states.path())
    );
    let servers = install(states.path(), &server.url, calls)?;
    let addresses = calls.div_ceil(CALLS_PER_ADDRESS);
    println!(
        "calling from {addresses} loopback addresses (127.0.0.2 ..= 127.0.0.{}), at most {CALLS_PER_ADDRESS} calls each",
        addresses + 1
    );

    let health_url = format!("{}/health", server.url);
    let alone = probe(health_url.clone(), health_clients, HEALTH_ALONE, None)
        .join()
        .map_err(|_| "the /health probe panicked".to_owned())??;

    let stop = Arc::new(AtomicBool::new(false));
    let meanwhile = probe(health_url, health_clients, CALL_LIMIT, Some(stop.clone()));
    let answers = AnswerTimes::new();
    let (outcomes, wall) = burst(servers, &answers).await;
    stop.store(true, Ordering::Relaxed);
    let meanwhile = meanwhile
        .join()
        .map_err(|_| "the /health probe panicked".to_owned())??;

    let mut ids = Vec::new();
    let mut failures = Vec::new();
    let (mut whole_calls, mut activations) = (Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Ok(call) => {
                ids.push(call.id);
                whole_calls.push(call.call);
                activations.push(call.activation);
            }
            Err(why) => failures.push(why),
        }
    }
    let answered = answers.take();
    let slow = answered
        .iter()
        .filter(|d| **d >= Duration::from_millis(30))
        .count();
    let lines = Figures::of(answered);
    println!();
    println!(
        "{} of {calls} activations completed in {:.2} s: {:.1} calls/s (load average {})",
        ids.len(),
        wall.as_secs_f64(),
        ids.len() as f64 / wall.as_secs_f64(),
        load_average()
    );
    println!(
        "  per answered line ({:.1} lines a call): {}",
        lines.count() as f64 / ids.len().max(1) as f64,
        lines.line()
    );
    println!(
        "  answers that took 30 ms or more: {slow} of {}",
        lines.count()
    );
    println!(
        "  whole call (dial to hang-up):  {}",
        Figures::of(whole_calls).line()
    );
    println!(
        "  whole activation (the flow):   {}",
        Figures::of(activations).line()
    );
    let (alone, meanwhile) = (Figures::of(alone), Figures::of(meanwhile));
    println!("GET /health from {health_clients} clients:");
    println!(
        "  alone, {:.0} s before:   {}",
        HEALTH_ALONE.as_secs_f64(),
        alone.line()
    );
    println!("  during the calls:     {}", meanwhile.line());
    println!(
        "  p99 during / alone: {:.2}x",
        meanwhile.p(99.0) / alone.p(99.0)
    );

    let issued = check_issued(&server, &ids).await?;
    println!("{issued}");
    println!("load average at end: {}", load_average());
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(5).map(String::as_str).collect();
        return Err(format!(
            "{} of {calls} activations failed, e.g.: {}",
            failures.len(),
            shown.join("; ")
        ));
    }
    Ok(())
}

/// Installs `count` license servers in `root`, each with its own product ID, set to the
/// telephone method.
fn install(root: &Path, url: &str, count: usize) -> Result<Vec<LicenseServer>, String> {
    let company = CompanyInfo::new(CompanyFields {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        company: Some("Analytical Engines Ltd".into()),
        country_region: Some("GB".into()),
        ..CompanyFields::default()
    })
    .map_err(|e| format!("the company information: {e}"))?;
    let mut servers = Vec::with_capacity(count);
    let mut products = HashSet::new();
    for i in 0..count {
        let setup = licensing_client::Setup {
            name: format!("PHONE-{i}"),
            os: WindowsServer::V2022,
            company: company.clone(),
            connection_method: ConnectionMethod::Telephone,
            clearinghouse: ClearinghouseAddress {
                url: url.to_owned(),
                tenant: None,
                seat_token: None,
            },
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(i as u64);
        let dir = root.join(format!("ls-{i}"));
        let server = LicenseServer::install(&dir, setup, &mut rng)
            .map_err(|e| format!("installing a license server in {}: {e}", dir.display()))?;
        let state = server
            .state()
            .map_err(|e| format!("the state in {}: {e}", dir.display()))?;
        products.insert(state.identity.product_id.to_string());
        servers.push(server);
    }
    if products.len() != count {
        return Err(format!(
            "{count} license servers drew only {} product IDs",
            products.len()
        ));
    }
    Ok(servers)
}

/// One activation's outcome.
struct Call {
    id: String,
    /// Dialling to hanging up.
    call: Duration,
    /// The whole flow.
    activation: Duration,
}

/// Holds the call through [`CallHolder`], and times it.
struct TimedCall {
    holder: CallHolder,
    took: Option<Duration>,
}

impl Operator for TimedCall {
    async fn obtain(&mut self, handoff: &Handoff) -> Result<Option<String>, Error> {
        let begun = Instant::now();
        let id = self.holder.obtain(handoff).await;
        self.took = Some(begun.elapsed());
        id
    }

    async fn confirm(&mut self, reminder: &Reminder) -> bool {
        self.holder.confirm(reminder).await
    }
}

/// Activates every server by telephone, all at once; each outcome, and the wall time from
/// the start to the last one.
async fn burst(
    servers: Vec<LicenseServer>,
    answers: &AnswerTimes,
) -> (Vec<Result<Call, String>>, Duration) {
    let start = Arc::new(tokio::sync::Barrier::new(servers.len() + 1));
    let mut tasks = Vec::with_capacity(servers.len());
    for (i, server) in servers.into_iter().enumerate() {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i / CALLS_PER_ADDRESS) as u8));
        let phone = Telephone::new(Duration::from_secs(30))
            .calling_from(from)
            .timing_answers(answers.clone());
        let mut operator = TimedCall {
            holder: CallHolder::with_phone(phone, false),
            took: None,
        };
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let begun = Instant::now();
            let activated = tokio::time::timeout(
                CALL_LIMIT,
                server.activate(ConnectionMethod::Telephone, &mut operator),
            )
            .await;
            let activation = begun.elapsed();
            match activated {
                Ok(Ok(id)) => Ok(Call {
                    id: id.to_string(),
                    call: operator.took.unwrap_or(activation),
                    activation,
                }),
                Ok(Err(e)) => Err(format!("call {i} from {from}: {e}")),
                Err(_) => Err(format!(
                    "call {i} from {from}: not done within {CALL_LIMIT:?}"
                )),
            }
        }));
    }
    start.wait().await;
    let begun = Instant::now();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(
            task.await
                .unwrap_or_else(|e| Err(format!("a call task: {e}"))),
        );
    }
    (outcomes, begun.elapsed())
}

/// [`health`] on a thread and a runtime of its own, at the bench's own priority.
fn probe(
    url: String,
    clients: usize,
    limit: Duration,
    stop: Option<Arc<AtomicBool>>,
) -> std::thread::JoinHandle<Result<Vec<Duration>, String>> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a runtime for the /health probe: {e}"))?
            .block_on(health(url, clients, limit, stop))
    })
}

/// `GET url` from `clients` concurrent clients, each one request after another, for
/// `limit` or until `stop` is set: the latency of each answer (an error fails the run).
async fn health(
    url: String,
    clients: usize,
    limit: Duration,
    stop: Option<Arc<AtomicBool>>,
) -> Result<Vec<Duration>, String> {
    let deadline = Instant::now() + limit;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (url, stop) = (url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| format!("an HTTP client: {e}"))?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline
                && !stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
            {
                let begun = Instant::now();
                let answer = client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                if !answer.status().is_success() {
                    return Err(format!("GET {url}: {}", answer.status()));
                }
                answer
                    .bytes()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                latencies.push(begun.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| format!("a /health client: {e}"))??);
    }
    Ok(all)
}

/// Checks with the admin API that every activation was issued once: the history holds one
/// telephone activation per ID returned, no ID twice, and the audit passes.
async fn check_issued(server: &Clearinghouse, ids: &[String]) -> Result<String, String> {
    let returned: HashSet<&str> = ids.iter().map(String::as_str).collect();
    if returned.len() != ids.len() {
        return Err(format!(
            "{} activations returned only {} distinct license server IDs",
            ids.len(),
            returned.len()
        ));
    }
    let history: History = server.admin_get("history").await?;
    let activations: Vec<&str> = history
        .entries
        .iter()
        .filter(|e| e.action == Action::Activated)
        .map(|e| e.license_server_id.as_str())
        .collect();
    let by_phone = history
        .entries
        .iter()
        .filter(|e| {
            e.action == Action::Activated && e.connection_method == ConnectionMethod::Telephone
        })
        .count();
    let recorded: HashSet<&str> = activations.iter().copied().collect();
    if recorded.len() != activations.len() || recorded != returned || by_phone != ids.len() {
        return Err(format!(
            "the history does not match the calls: {} activations recorded ({} by telephone, {} distinct IDs), {} returned",
            activations.len(),
            by_phone,
            recorded.len(),
            ids.len()
        ));
    }
    let audit: AuditReport = server.admin_get("audit").await?;
    if !audit.ok {
        return Err(format!("the audit failed: {:?}", audit.problems));
    }
    Ok(format!(
        "issued once each: {} license server IDs returned, all distinct; the history holds {} activations by telephone, the same IDs; audit ok",
        ids.len(),
        by_phone
    ))
}
