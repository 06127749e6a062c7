//! Standing a class up and keeping it running: the clearinghouse (the named one, or one the
//! lab starts on its embedded store in the class's directory), every seat set up at once,
//! and a daemon for each license server on the network. [`Host`] holds what runs; the `lab`
//! binary keeps it in a process of its own until `lab down`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clearinghouse::config::{Config, Storage};
use clearinghouse::server::RunningServer;
use futures_util::StreamExt;
use licensing_client::LicenseServer;
use licensing_client::peer::daemon::Daemon;

use crate::admin::Admin;
use crate::class::{self, Class, ClassFile, SeatRecord};
use crate::error::LabError;
use crate::scenario::Scenario;
use crate::{grade, seat};

/// How many seats are set up at once: enough to keep the clearinghouse's writer batching,
/// few enough that a class of hundreds does not open hundreds of connections at once.
const SEATS_AT_ONCE: usize = 32;

/// What `lab up` is asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The scenario file.
    pub scenario: PathBuf,
    /// How many seats.
    pub seats: u32,
    /// The class's directory.
    pub dir: PathBuf,
    /// The class's name (the scenario's when absent).
    pub name: Option<String>,
    /// A running clearinghouse and its admin token; the lab starts its own when absent.
    pub clearinghouse: Option<(String, String)>,
    /// Where the lab's own clearinghouse listens.
    pub addr: SocketAddr,
    /// Where its phone line listens.
    pub phone_addr: SocketAddr,
    /// Where its voice line listens (SIP), if it has one: it needs espeak-ng.
    pub sip_addr: Option<SocketAddr>,
    /// The seed the seats' IDs derive from.
    pub seed: u64,
    /// Whether each seat gets a token of its own, which every request for its tenant must
    /// carry: for a class whose students share a network, so no seat reaches another's.
    pub seat_tokens: bool,
}

/// A class running: its clearinghouse (when the lab started it) and its daemons.
pub struct Host {
    /// The class.
    pub class: Class,
    clearinghouse: Option<RunningServer>,
    daemons: Vec<Daemon>,
}

impl Host {
    /// Stands the class up: refuses a directory with a class up already, starts or reaches
    /// the clearinghouse, sets every seat up, starts the daemons, keeps the class in its
    /// directory (with `pid`, the process that keeps it running) and reports it to the
    /// clearinghouse's instructor page.
    pub async fn up(options: UpOptions, pid: u32) -> Result<Host, LabError> {
        if options.seats == 0 || options.seats > 500 {
            return Err(LabError::Usage(format!(
                "a class has 1 to 500 seats, not {}",
                options.seats
            )));
        }
        std::fs::create_dir_all(&options.dir).map_err(|e| LabError::io(&options.dir, e))?;
        let dir = options
            .dir
            .canonicalize()
            .map_err(|e| LabError::io(&options.dir, e))?;
        if let Ok(existing) = ClassFile::read(&dir)
            && existing.host_pid.is_some_and(alive)
        {
            return Err(LabError::ClassUp(dir));
        }
        let scenario_path = options
            .scenario
            .canonicalize()
            .map_err(|e| LabError::io(&options.scenario, e))?;
        let scenario = Scenario::load(&scenario_path)?;
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| class::class_name(&scenario.name));
        if class::class_name(&name) != name {
            return Err(LabError::Usage(format!(
                "{name:?} is no class name: lower-case letters, digits and dashes, at most 56"
            )));
        }
        let (running, url, token) = match &options.clearinghouse {
            Some((url, token)) => (None, url.clone(), token.clone()),
            None => {
                let running = start_clearinghouse(&dir, &options).await?;
                let url = running.url();
                let token = running.admin_token().to_owned();
                (Some(running), url, token)
            }
        };
        let admin = Admin::new(&url, &token)?;
        // Where the line answers as a caller reaches it (one bound to every interface is
        // called at the clearinghouse's host); none when the clearinghouse has no line.
        let address = licensing_client::state::ClearinghouseAddress {
            url: url.clone(),
            tenant: None,
            seat_token: None,
        };
        let phone_line = licensing_client::methods::telephone::Telephone::default()
            .line(&address)
            .await
            .ok();
        let seats: Vec<SeatRecord> = (1..=options.seats)
            .map(|n| {
                let token = options.seat_tokens.then(seat::seat_token);
                seat::plan(&scenario, &dir, n, class::tenant_of(&name, n), token)
            })
            .collect();
        let file = ClassFile {
            name,
            scenario: scenario_path,
            seed: options.seed,
            clearinghouse: url,
            admin_token: token,
            own_clearinghouse: running.is_some(),
            phone_line,
            voice_line: running
                .as_ref()
                .and_then(RunningServer::sip_addr)
                .map(|addr| addr.to_string()),
            host_pid: Some(pid),
            seats,
        };
        let mut class = Class {
            dir: dir.clone(),
            file,
            scenario,
            admin,
        };
        let outcome = Host::set_up(&mut class).await;
        match outcome {
            Ok(daemons) => Ok(Host {
                class,
                clearinghouse: running,
                daemons,
            }),
            Err(e) => {
                if let Some(running) = running {
                    running.shutdown().await;
                }
                Err(e)
            }
        }
    }

    /// Sets every seat up and starts the daemons.
    async fn set_up(class: &mut Class) -> Result<Vec<Daemon>, LabError> {
        let seed = class.file.seed;
        let results: Vec<Result<(), LabError>> =
            futures_util::stream::iter(class.file.seats.iter().map(|s| {
                seat::set_up_servers(
                    &class.admin,
                    &class.scenario,
                    s,
                    class::seat_seed(seed, s.n),
                )
            }))
            .buffer_unordered(SEATS_AT_ONCE)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), _>>()?;
        let mut daemons = Vec::new();
        for seat in &mut class.file.seats {
            for spec in class.scenario.servers.iter().filter(|s| s.network) {
                let Some(server) = seat.servers.get_mut(&spec.name) else {
                    continue;
                };
                let opened = LicenseServer::open(&server.dir).map_err(|e| LabError::Seat {
                    seat: seat.n,
                    computer: spec.name.clone(),
                    reason: e.to_string(),
                })?;
                let daemon = Daemon::start(opened, SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await
                    .map_err(|e| LabError::Seat {
                        seat: seat.n,
                        computer: spec.name.clone(),
                        reason: e.to_string(),
                    })?;
                server.daemon = Some(daemon.addr().to_string());
                daemons.push(daemon);
            }
        }
        // In order, so each answer is its seat's.
        let results: Vec<Result<u16, LabError>> = futures_util::stream::iter(
            class
                .file
                .seats
                .iter()
                .map(|s| seat::set_up_rest(&class.admin, &class.scenario, s)),
        )
        .buffered(SEATS_AT_ONCE)
        .collect()
        .await;
        for (seat, changes) in class.file.seats.iter_mut().zip(results) {
            seat.setup_changes = changes?;
        }
        class.file.write(&class.dir)?;
        let seats = class
            .file
            .seats
            .iter()
            .map(|s| shared::wire::SeatGrade {
                seat: u16::try_from(s.n).unwrap_or(u16::MAX),
                tenant: s.tenant.clone(),
                setup_changes: s.setup_changes,
                checks: Vec::new(),
            })
            .collect();
        class
            .admin
            .put_class(&grade::report(class, seats, None))
            .await?;
        Ok(daemons)
    }

    /// The clearinghouse's URL.
    pub fn url(&self) -> &str {
        &self.class.file.clearinghouse
    }

    /// Stops the daemons and the lab's own clearinghouse, and keeps the class as down.
    pub async fn stop(self) -> Result<(), LabError> {
        for daemon in self.daemons {
            daemon.stop().await;
        }
        if let Some(running) = self.clearinghouse {
            running.shutdown().await;
        }
        let mut file = ClassFile::read(&self.class.dir)?;
        file.host_pid = None;
        file.write(&self.class.dir)
    }

    /// Grades every seat and reports the grades to the instructor page.
    pub async fn grade_and_report(class: &Class) -> Result<Vec<shared::wire::SeatGrade>, LabError> {
        let grades = grade::grade(class, None).await?;
        Host::report(class, &grades).await?;
        Ok(grades)
    }

    /// Reports every seat's `grades`, made just now, to the instructor page.
    pub async fn report(class: &Class, grades: &[shared::wire::SeatGrade]) -> Result<(), LabError> {
        use clearinghouse::ledger::Clock;
        let at = clearinghouse::ledger::clock::rfc3339(clearinghouse::ledger::SystemClock.now_ms());
        class
            .admin
            .put_class(&grade::report(class, grades.to_vec(), Some(at)))
            .await
    }
}

/// Puts seat `n` (or every seat) of the class in `dir` back at the scenario's start; the
/// other seats are left as they are.
pub async fn reset(class: &Class, seat: Option<u32>) -> Result<Vec<u32>, LabError> {
    if !class.file.host_pid.is_some_and(alive) {
        return Err(LabError::Usage(format!(
            "the class in {} is down: stand it up again with `lab up` (its seats start over)",
            class.dir.display()
        )));
    }
    let seats = class.file.chosen(seat)?;
    let seed = class.file.seed;
    for s in &seats {
        seat::set_up_servers(
            &class.admin,
            &class.scenario,
            s,
            class::seat_seed(seed, s.n),
        )
        .await?;
        seat::set_up_rest(&class.admin, &class.scenario, s).await?;
        // Files the scenario's checks look for are the student's work: a reset takes them
        // away with the rest of the seat's progress.
        for check in &class.scenario.checks {
            if let crate::scenario::CheckKind::Report { csv, .. } = &check.kind {
                let _ = std::fs::remove_file(s.dir.join(csv));
            }
        }
    }
    Ok(seats.iter().map(|s| s.n).collect())
}

/// Stops the process that keeps the class in `dir` running (its daemons and the lab's
/// own clearinghouse), waiting up to `wait` for it to end. Nothing is removed.
pub fn down(dir: &Path, wait: Duration) -> Result<Option<u32>, LabError> {
    let mut file = ClassFile::read(dir)?;
    let Some(pid) = file.host_pid else {
        return Ok(None);
    };
    if alive(pid) {
        terminate(pid);
        let until = std::time::Instant::now() + wait;
        while alive(pid) && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive(pid) {
            return Err(LabError::Usage(format!(
                "the class's process {pid} did not stop within {} s: stop it with `kill -9 {pid}`, then run `lab down` again",
                wait.as_secs()
            )));
        }
    }
    // It marks the class down as it stops; a process that was gone already could not.
    file = ClassFile::read(dir)?;
    if file.host_pid.is_some() {
        file.host_pid = None;
        file.write(dir)?;
    }
    Ok(Some(pid))
}

/// Whether process `pid` runs (and is no zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Asks process `pid` to stop (SIGTERM).
fn terminate(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

async fn start_clearinghouse(dir: &Path, options: &UpOptions) -> Result<RunningServer, LabError> {
    let mut phone = clearinghouse::phone::PhoneSettings::default();
    // The class's computers are on this machine: every seat calling at once calls from
    // one address, which the line would otherwise hold to its share of the calls.
    let seats = usize::try_from(options.seats).unwrap_or(usize::MAX);
    phone.calls_per_address = phone.calls_per_address.max(seats);
    phone.max_calls = phone.max_calls.max(seats);
    let config = Config {
        addr: options.addr,
        storage: Storage::Directory(dir.join("clearinghouse")),
        phone_addr: Some(options.phone_addr),
        sip_addr: options.sip_addr,
        phone,
        ..Config::ephemeral()
    };
    RunningServer::start(config)
        .await
        .map_err(|e| LabError::Start(e.to_string()))
}
