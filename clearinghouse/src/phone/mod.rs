//! The telephone method's door: the phone line. A plain TCP, line-based dialogue with a
//! simulated Clearinghouse representative, that a person can hold with `nc` or `telnet`
//! and a program can drive: every line the representative says starts with a stable tag
//! (see [`line::Tag`] and `docs/phone-line.md`).
//!
//! Like the web site, it only translates: the representative asks what
//! [`crate::tasks`] says a task needs and runs the command through
//! [`crate::submission`], over the same ledger as the API.

mod line;
mod representative;

pub use line::{Answers, Ended, Medium, Recording, Tag};
pub use representative::{KEYPAD_GREETING, KEYPAD_NUMBER};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::vocab::{ConnectionMethod, PhoneBook};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::controls::{Controls, Recorded};
use crate::ledger::{Ledger, TenantName};
use line::Line;

/// How the phone line answers.
#[derive(Debug, Clone)]
pub struct PhoneSettings {
    /// How long a caller may stay silent before the call ends.
    pub idle_timeout: Duration,
    /// How many calls are held at once; past it a caller hears that the line is busy.
    pub max_calls: usize,
    /// How many of them one address may hold, so that one caller cannot take every seat.
    pub calls_per_address: usize,
    /// The longest a call may last.
    pub longest_call: Duration,
    /// On the voice line, the time between two packets of a call's audio: 20 ms, their
    /// length, so it plays in real time. A test may play it faster.
    pub voice_pace: Duration,
}

impl Default for PhoneSettings {
    fn default() -> Self {
        PhoneSettings {
            idle_timeout: Duration::from_secs(120),
            max_calls: 256,
            calls_per_address: 16,
            longest_call: Duration::from_secs(30 * 60),
            voice_pace: Duration::from_millis(20),
        }
    }
}

/// What every call on the line shares.
pub struct Switchboard {
    ledger: Ledger,
    controls: Arc<Controls>,
    book: PhoneBook,
    settings: PhoneSettings,
    calls: AtomicU64,
    /// Requests whose ID was issued on a call that ended before it was read in full, by
    /// tenant and request: the exchange that issued it, and when.
    unread: Mutex<HashMap<(TenantName, String), (String, Instant)>>,
}

/// How long an ID not read in full is kept for a call back: as long as the ledger keeps
/// the answer of an idempotency key.
const UNREAD_KEPT: Duration = Duration::from_secs(24 * 60 * 60);
/// The most IDs not read in full kept at once; past it the oldest is forgotten.
const UNREAD_MOST: usize = 10_000;

impl Switchboard {
    /// A switchboard over `ledger`, answering the numbers in `book`.
    pub fn new(
        ledger: Ledger,
        controls: Arc<Controls>,
        book: PhoneBook,
        settings: PhoneSettings,
    ) -> Self {
        Switchboard {
            ledger,
            controls,
            book,
            settings,
            calls: AtomicU64::new(0),
            unread: Mutex::new(HashMap::new()),
        }
    }

    /// How calls are answered.
    pub fn settings(&self) -> &PhoneSettings {
        &self.settings
    }

    /// The Clearinghouse's numbers.
    pub fn book(&self) -> &PhoneBook {
        &self.book
    }

    /// The ledger calls are answered from.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Holds a call over `line`, whichever door it came by: the representative's whole
    /// dialogue, to its end or to why it ended early. A call its medium records whole goes
    /// in the journal of the tenant it was for.
    pub async fn hold<M: Medium>(&self, line: &mut M) -> Result<(), Ended> {
        let number = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let held = representative::Call::new(line, self, number).hold().await;
        tracing::info!(call = number, outcome = ?held.outcome, "phone call ended");
        if let Some(recording) = line.recording() {
            // The tenant dialled, if the caller never got as far as saying it (a seat's
            // PIN refused, say).
            let dialled = || match line.given("tenant")?.as_str() {
                "" => Some(TenantName::default_tenant()),
                name => TenantName::parse(name).ok(),
            };
            let tenant = held
                .tenant
                .or_else(dialled)
                .unwrap_or_else(TenantName::default_tenant);
            let at_ms = self
                .ledger
                .tenant_state(&tenant)
                .ok()
                .flatten()
                .map_or(0, |s| s.now_ms);
            self.controls.journal.record(
                &tenant,
                Recorded {
                    at_ms,
                    method: "INVITE".to_owned(),
                    route: "sip".to_owned(),
                    path: recording.address,
                    idempotency_key: None,
                    status: 200,
                    ids: held.issued.into_iter().collect(),
                    body: None,
                    applied: None,
                    replayed: false,
                    // How it ended is in its transcript's last lines.
                    refusal: None,
                    faults: Vec::new(),
                    connection_method: ConnectionMethod::Telephone,
                    medium: Some(recording.medium),
                    transcript: recording.transcript,
                },
            );
        }
        held.outcome
    }

    /// The exchange of an earlier call on which an ID for the same request was issued
    /// but not read in full: submitted under it again, the request gets that ID back.
    fn unread_exchange(&self, tenant: &TenantName, request: &str) -> Option<String> {
        let mut unread = self.unread.lock().unwrap_or_else(|e| e.into_inner());
        unread.retain(|_, (_, at)| at.elapsed() < UNREAD_KEPT);
        unread
            .get(&(tenant.clone(), request.to_owned()))
            .map(|(exchange, _)| exchange.clone())
    }

    /// The ID issued for `request` under `exchange` was not read in full.
    fn unread(&self, tenant: &TenantName, request: &str, exchange: &str) {
        let mut unread = self.unread.lock().unwrap_or_else(|e| e.into_inner());
        if unread.len() >= UNREAD_MOST
            && let Some(oldest) = unread
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(key, _)| key.clone())
        {
            unread.remove(&oldest);
        }
        unread.insert(
            (tenant.clone(), request.to_owned()),
            (exchange.to_owned(), Instant::now()),
        );
    }

    /// The ID issued for `request` was read in full: a new call asking the same is a new
    /// request.
    fn read(&self, tenant: &TenantName, request: &str) {
        let mut unread = self.unread.lock().unwrap_or_else(|e| e.into_inner());
        unread.remove(&(tenant.clone(), request.to_owned()));
    }
}

/// A phone line that answers calls.
pub struct PhoneLineHandle {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    stopping: crate::alive::Stopping,
}

impl PhoneLineHandle {
    /// Where callers connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops answering, and ends the calls in progress.
    pub fn stop(self) {
        self.stopping.now();
        let _ = self.stop.send(());
    }
}

/// The calls each address holds.
#[derive(Default)]
struct Callers(Mutex<HashMap<IpAddr, usize>>);

impl Callers {
    /// A seat for a call from `address`, unless it holds `most` calls already.
    fn seat(self: &Arc<Self>, address: IpAddr, most: usize) -> Option<CallerSeat> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(address).or_default();
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(CallerSeat {
            callers: self.clone(),
            address,
        })
    }
}

/// One call from an address, given back when the call ends.
struct CallerSeat {
    callers: Arc<Callers>,
    address: IpAddr,
}

impl Drop for CallerSeat {
    fn drop(&mut self) {
        let mut held = self.callers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Listens on `listener` for calls to `board`.
///
/// The line runs on a thread of its own, at a lower scheduling priority than the HTTP
/// workers: a burst of calls (a class calling at once) then takes the processor the API
/// leaves, instead of slowing the API's answers down. A person on the line does not notice
/// a few milliseconds; a test harness timing its API calls does.
pub fn answer(
    listener: std::net::TcpListener,
    board: Arc<Switchboard>,
    lines: &crate::alive::Lines,
) -> std::io::Result<PhoneLineHandle> {
    let (answering, stopping) = lines.watch("phone line");
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("phone-line".to_owned())
        .spawn(move || {
            let _answering = answering;
            lower_priority();
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::error!(error = %e, "the phone line cannot listen");
                        return;
                    }
                };
                tokio::select! {
                    () = serve(listener, board) => {}
                    _ = stopped => {}
                }
            });
        })?;
    Ok(PhoneLineHandle {
        addr,
        stop,
        stopping,
    })
}

/// Lowers the calling thread's scheduling priority (nice 10); where it cannot, the line
/// runs at the usual priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(error = %e, "the phone line runs at the usual priority");
    }
}

/// Answers the calls to `board` that reach `listener`, until dropped.
async fn serve(listener: TcpListener, board: Arc<Switchboard>) {
    let seats = Arc::new(Semaphore::new(board.settings.max_calls));
    let callers = Arc::new(Callers::default());
    // Dropping the set (when the line stops) ends every call in it.
    let mut calls = JoinSet::new();
    loop {
        let Ok((stream, caller)) = listener.accept().await else {
            // Out of descriptors, for instance: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while calls.try_join_next().is_some() {}
        // The representative often says two lines in a turn; without this the second
        // waits for the caller's delayed acknowledgement of the first, some 40 ms.
        let _ = stream.set_nodelay(true);
        let mut line = Line::new(stream, board.settings.idle_timeout);
        let most = board.settings.calls_per_address;
        let busy = match callers.seat(caller.ip(), most) {
            None => Err(format!(
                "Your address holds {most} calls already, as many as one caller may; hang up one of them and call again."
            )),
            Some(caller_seat) => match seats.clone().try_acquire_owned() {
                Ok(seat) => Ok((seat, caller_seat)),
                Err(_) => {
                    Err("All our representatives are on other calls; please call again.".to_owned())
                }
            },
        };
        let seat = match busy {
            Ok(seat) => seat,
            Err(why) => {
                calls.spawn(async move {
                    let _ = line.say(Tag::Busy, None, &why).await;
                });
                continue;
            }
        };
        let board = board.clone();
        calls.spawn(async move {
            let _ = board.hold(&mut line).await;
            drop(seat);
        });
    }
}
