//! The single writer: one thread applies every ledger request in order, commits a whole
//! batch of them with one atomic write and one flush, and only then answers them.
//!
//! One writer keeps the rules simple (no two requests ever interleave) and makes
//! durability cheap: whatever a client is told was done has been flushed, and one flush
//! serves every request that arrived while the previous batch was being written.
//!
//! Idempotency lives here too, in the same batch as the request it answers: the first
//! answer to a key is stored with the changes it made, so a retry after a lost reply (or
//! after `kill -9`) gets the same answer and changes nothing.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use sha2::{Digest, Sha256};
use shared::id::KeyPackSerial;
use shared::vocab::ConnectionMethod;
use shared::wire::{Action, History, HistoryEntry, KeyPackIssued, Problem, PurchaseSpec};
use tokio::sync::{mpsc, oneshot};

use super::known_keys::KnownKeys;
use super::records::{
    CLASSES, HistoryIssued, HistoryRecord, IdempotencyRecord, KeyPackEntry, Keys, SavedOutcome,
    TenantMeta, class_key, decode, read, write,
};
use super::rules::{self, Tx};
use super::{Answer, Clock, Command, LedgerError, TenantName, audit, snapshot, tenants};
use crate::store::{Batch, Store, View};

/// The most requests committed in one batch.
const MAX_BATCH: usize = 1024;
/// Requests waiting for the writer before senders wait too.
const QUEUE: usize = 16 * 1024;
/// How long an idempotency key is remembered, on the tenant's clock.
pub const IDEMPOTENCY_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// What a ledger is started with.
#[derive(Clone)]
pub struct LedgerSettings {
    /// The time the ledger reads.
    pub clock: Arc<dyn Clock>,
    /// The purchases new tenants are seeded with.
    pub fixtures: Arc<Vec<PurchaseSpec>>,
    /// The seed of the default tenant when it is first created; random when absent.
    pub seed: Option<u64>,
    /// Holds every commit back this long: a test control that keeps requests in flight.
    pub commit_delay: Option<Duration>,
}

/// The answer to a request, and whether it is a replay of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The answer, or why the request was refused.
    pub outcome: Result<Answer, Problem>,
    /// Whether this is the saved answer to an earlier request with the same key.
    pub replayed: bool,
    /// For a request that changed the tenant's licenses: its place in the order the
    /// tenant's changes were applied (0 for the first). A replay follows this order.
    pub applied: Option<u64>,
}

impl Reply {
    fn fresh(outcome: Result<Answer, LedgerError>) -> Self {
        Reply {
            outcome: outcome.map_err(|e| e.problem()),
            replayed: false,
            applied: None,
        }
    }
}

/// What the doors may know of a tenant without asking the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantState {
    /// Its seed.
    pub seed: u64,
    /// Now, on its clock, in ms since the Unix epoch.
    pub now_ms: u64,
    /// For a class's seat, the SHA-256 of its token.
    pub seat_token_sha256: Option<String>,
}

impl TenantState {
    /// Whether a request carrying `given` (or no token) may use the tenant: any request
    /// for a tenant without a seat token, one with the right token for a seat.
    pub fn admits(&self, given: Option<&str>) -> bool {
        match (&self.seat_token_sha256, given) {
            (None, _) => true,
            (Some(expected), Some(given)) => {
                crate::hex::same(&seat_token_digest(given.trim()), expected)
            }
            (Some(_), None) => false,
        }
    }

    /// Whether the tenant is a class's seat, which needs its token.
    pub fn is_seat(&self) -> bool {
        self.seat_token_sha256.is_some()
    }
}

/// The SHA-256 of a seat token, as the tenant keeps it.
pub fn seat_token_digest(token: &str) -> String {
    crate::hex::encode(&Sha256::digest(token.as_bytes()))
}

struct Job {
    tenant: TenantName,
    command: Command,
    /// The connection method the request came by, for the tenant's history.
    method: ConnectionMethod,
    /// The idempotency key and the hash of the request it was sent with.
    key: Option<(String, String)>,
    reply: oneshot::Sender<Reply>,
}

enum Message {
    Job(Box<Job>),
    Stop,
}

/// A handle on the ledger: cheap to clone, shared by every door.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Message>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    known: Arc<KnownKeys>,
    in_flight: Mutex<HashSet<(TenantName, String)>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// Removes an idempotency key from the in-flight set when its request is answered or
/// abandoned.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<(TenantName, String)>>,
    entry: (TenantName, String),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.entry);
        }
    }
}

impl Ledger {
    /// Starts the writer over `store`, first creating the default tenant if the store has
    /// none (seeded with the fixtures).
    pub fn start(store: Arc<dyn Store>, settings: LedgerSettings) -> Result<Ledger, LedgerError> {
        let default = TenantName::default_tenant();
        let empty = Batch::default();
        let mut view = View::new(store.as_ref(), &empty);
        if tenants::meta(&view, &default)?.is_none() {
            let seed = settings.seed.unwrap_or_else(random_seed);
            tenants::create(&mut view, &default, seed, &settings.fixtures)?;
            store.commit(&view.into_writes())?;
        }
        let (jobs, receiver) = mpsc::channel(QUEUE);
        let clock = settings.clock.clone();
        let known = Arc::new(KnownKeys::new());
        if !known.restore(store.as_ref())? {
            let (store, known) = (store.clone(), known.clone());
            let loader = std::thread::Builder::new()
                .name("ledger-keys".to_owned())
                .spawn(move || {
                    if let Err(e) = known.load(store.as_ref()) {
                        tracing::warn!(error = %e, "idempotency keys not loaded; every key is looked up");
                    }
                });
            if let Err(e) = loader {
                tracing::warn!(error = %e, "idempotency keys not loaded; every key is looked up");
            }
        }
        let writer_store = store.clone();
        let writer_known = known.clone();
        let writer = std::thread::Builder::new()
            .name("ledger-writer".to_owned())
            .spawn(move || {
                Writer {
                    store: writer_store,
                    settings,
                    known: writer_known,
                }
                .run(receiver)
            })
            .map_err(|e| LedgerError::Corrupt(format!("cannot start the ledger writer: {e}")))?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                jobs,
                store,
                clock,
                known,
                in_flight: Mutex::new(HashSet::new()),
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// Applies `command` for `tenant`. A mutation with an idempotency `key` is applied at
    /// most once: later requests with the key get the first answer back.
    pub async fn execute(
        &self,
        tenant: TenantName,
        command: Command,
        key: Option<String>,
    ) -> Reply {
        self.execute_by(tenant, command, key, ConnectionMethod::Automatic)
            .await
    }

    /// The same, for a request that came by `method` (the web site's and the phone
    /// line's say so): the tenant's history keeps it beside each change.
    pub async fn execute_by(
        &self,
        tenant: TenantName,
        command: Command,
        key: Option<String>,
        method: ConnectionMethod,
    ) -> Reply {
        // Tenant administration is not idempotent by key: creating twice says "exists".
        let key = key.filter(|_| command.is_mutation() && !command.is_admin());
        let _in_flight = match &key {
            Some(key) => match self.claim(&tenant, key) {
                Some(guard) => Some(guard),
                None => {
                    return Reply::fresh(Err(LedgerError::RequestInProgress(key.clone())));
                }
            },
            None => None,
        };
        // Hashing and looking up the saved answer here, on the caller's thread, keeps the
        // single writer free for the rules. The lookup cannot race a request with the same
        // key: the in-flight claim above keeps out every other one until this is answered,
        // and an earlier one was answered only after its saved answer was committed.
        let key = key.map(|key| {
            let hash = request_hash(&command);
            (key, hash)
        });
        if let Some((key, hash)) = &key
            && self.inner.known.may_exist(&tenant, key)
        {
            match self.saved_answer(&tenant, key, hash) {
                Ok(Some(reply)) => return reply,
                Ok(None) => {}
                Err(e) => return Reply::fresh(Err(e)),
            }
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant,
            command,
            method,
            key,
            reply,
        };
        if self
            .inner
            .jobs
            .send(Message::Job(Box::new(job)))
            .await
            .is_err()
        {
            return Reply::fresh(Err(LedgerError::ShuttingDown));
        }
        answer
            .await
            .unwrap_or_else(|_| Reply::fresh(Err(LedgerError::ShuttingDown)))
    }

    /// The saved answer to an earlier request with `key`, if it is not older than 24 hours.
    fn saved_answer(
        &self,
        tenant: &TenantName,
        key: &str,
        hash: &str,
    ) -> Result<Option<Reply>, LedgerError> {
        let empty = Batch::default();
        let view = View::new(self.inner.store.as_ref(), &empty);
        let Some(saved) = read::<IdempotencyRecord>(&view, &Keys::new(tenant).idempotency(key))?
        else {
            return Ok(None);
        };
        let base = self.inner.clock.now_ms();
        let now = tenants::meta(&view, tenant)?.map_or(base, |meta| meta.now_ms(base));
        if now.saturating_sub(saved.created_ms) >= IDEMPOTENCY_TTL_MS {
            return Ok(None);
        }
        if saved.request_hash != hash {
            return Err(LedgerError::IdempotencyKeyReused(key.to_owned()));
        }
        let outcome = match saved.outcome {
            SavedOutcome::KeyPack { server, serial } => {
                let entry: KeyPackEntry = read(&view, &Keys::new(tenant).key_pack(server, serial))?
                    .ok_or_else(|| {
                        LedgerError::Corrupt(format!("saved key pack {server}/{}", serial.get()))
                    })?;
                Ok(Answer::KeyPack(rules::issued(&entry)?))
            }
            SavedOutcome::Answer(answer) => Ok(answer),
            SavedOutcome::Refused(problem) => Err(problem),
        };
        Ok(Some(Reply {
            outcome,
            replayed: true,
            applied: None,
        }))
    }

    /// `tenant`'s seed and the time on its clock, or `None` if there is no such tenant.
    pub fn tenant_state(&self, tenant: &TenantName) -> Result<Option<TenantState>, LedgerError> {
        let empty = Batch::default();
        let view = View::new(self.inner.store.as_ref(), &empty);
        let base = self.inner.clock.now_ms();
        Ok(tenants::meta(&view, tenant)?.map(|meta| TenantState {
            seed: meta.seed,
            now_ms: meta.now_ms(base),
            seat_token_sha256: meta.seat_token_sha256,
        }))
    }

    fn claim(&self, tenant: &TenantName, key: &str) -> Option<InFlight<'_>> {
        let entry = (tenant.clone(), key.to_owned());
        let mut set = self.inner.in_flight.lock().ok()?;
        if !set.insert(entry.clone()) {
            return None;
        }
        Some(InFlight {
            set: &self.inner.in_flight,
            entry,
        })
    }

    /// Whether the writer is running: it stops only when told to, or when it fails (a
    /// panic), and a ledger whose writer stopped answers every request with 503.
    pub fn is_running(&self) -> bool {
        !self.inner.jobs.is_closed()
    }

    /// Waits until the writer stops, whatever the cause.
    pub async fn stopped(&self) {
        self.inner.jobs.closed().await;
    }

    /// Stops the writer once the requests already queued are answered, and waits for it.
    pub async fn shutdown(&self) {
        let _ = self.inner.jobs.send(Message::Stop).await;
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            // Nothing more is saved: the known keys can be kept for the next start.
            let (known, store) = (self.inner.known.clone(), self.inner.store.clone());
            let kept = tokio::task::spawn_blocking(move || known.keep(store.as_ref())).await;
            if let Ok(Err(e)) = kept {
                tracing::warn!(error = %e, "the known idempotency keys were not kept; the next start reads them again");
            }
        }
    }
}

struct Writer {
    store: Arc<dyn Store>,
    settings: LedgerSettings,
    known: Arc<KnownKeys>,
}

impl Writer {
    fn run(self, mut receiver: mpsc::Receiver<Message>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = receiver.blocking_recv() else {
                break;
            };
            let mut jobs = Vec::new();
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Job(job) => jobs.push(*job),
                    Message::Stop => {
                        stopping = true;
                        break;
                    }
                }
                if jobs.len() < MAX_BATCH {
                    next = receiver.try_recv().ok();
                }
            }
            self.apply_batch(jobs);
        }
    }

    /// Applies `jobs` in order, commits what they wrote, then answers them all.
    fn apply_batch(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut pending = Batch::default();
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut view = View::new(self.store.as_ref(), &pending);
            let reply = self.apply(&mut view, &job);
            pending.merge(view.into_writes());
            replies.push((job.reply, reply));
        }
        if let Some(delay) = self.settings.commit_delay {
            std::thread::sleep(delay);
        }
        if !pending.is_empty()
            && let Err(e) = self.store.commit(&pending)
        {
            tracing::error!(error = %e, "commit failed; the batch was not applied");
            let failed = Reply::fresh(Err(LedgerError::Store(e)));
            for (sender, _) in replies {
                let _ = sender.send(failed.clone());
            }
            return;
        }
        for (sender, reply) in replies {
            let _ = sender.send(reply);
        }
    }

    /// Applies one job: its writes stay in `view` only if it succeeds (and, for a key, the
    /// saved answer is written whether it succeeded or was refused).
    fn apply(&self, view: &mut View<'_>, job: &Job) -> Reply {
        let base = self.settings.clock.now_ms();
        let meta = match tenants::meta(view, &job.tenant) {
            Ok(meta) => meta,
            Err(e) => return Reply::fresh(Err(e)),
        };
        let now = meta.as_ref().map_or(base, |meta| meta.now_ms(base));
        let keys = Keys::new(&job.tenant);
        let (outcome, applied) = match self.dispatch(view, job, base, meta) {
            Ok((answer, applied)) => (Ok(answer), applied),
            Err(e) => (Err(e), None),
        };
        if outcome.is_err() {
            // A refused request leaves nothing behind but its saved answer.
            view.discard();
        }
        // Where an issued key pack is on record: the saved answer and the history both
        // name it by its place rather than copy it.
        let place = match &outcome {
            Ok(Answer::KeyPack(issued)) => match key_pack_place(view, &keys, issued) {
                Ok(place) => Some(place),
                Err(e) => return Reply::fresh(Err(e)),
            },
            _ => None,
        };
        if let (Ok(answer), Some(n)) = (&outcome, applied)
            && let Some(record) = history_record(job, answer, place, now)
            && let Err(e) = write(view, keys.history(n), &record)
        {
            return Reply::fresh(Err(e));
        }
        let keep = match &outcome {
            Ok(_) => true,
            Err(e) => e.is_final(),
        };
        if let (Some((key, hash)), true) = (&job.key, keep) {
            let saved = match (&outcome, place) {
                (Ok(_), Some((server, serial))) => SavedOutcome::KeyPack { server, serial },
                (Ok(answer), None) => SavedOutcome::Answer(answer.clone()),
                (Err(e), _) => SavedOutcome::Refused(e.problem()),
            };
            let record = IdempotencyRecord {
                request_hash: hash.clone(),
                created_ms: now,
                outcome: saved,
            };
            if let Err(e) = write(view, keys.idempotency(key), &record) {
                return Reply::fresh(Err(e));
            }
            // Known before it is committed, so the set never misses a saved answer.
            self.known.insert(&job.tenant, key);
        }
        Reply {
            applied,
            ..Reply::fresh(outcome)
        }
    }

    /// Applies a job's command, given the tenant's settings as the job found them (`meta`);
    /// a change to the tenant's licenses also returns its place in the order of the
    /// tenant's changes.
    fn dispatch(
        &self,
        view: &mut View<'_>,
        job: &Job,
        base_ms: u64,
        meta: Option<TenantMeta>,
    ) -> Result<(Answer, Option<u64>), LedgerError> {
        self.dispatch_tenant_command(view, job, base_ms)
            .unwrap_or_else(|| self.dispatch_rule(view, job, meta))
    }

    /// Applies the commands that work on tenants rather than on licenses.
    fn dispatch_tenant_command(
        &self,
        view: &mut View<'_>,
        job: &Job,
        base_ms: u64,
    ) -> Option<Result<(Answer, Option<u64>), LedgerError>> {
        let tenant = &job.tenant;
        let fixtures = self.settings.fixtures.as_slice();
        if matches!(job.command, Command::Audit | Command::AddPurchase(_)) {
            match tenants::meta(view, tenant) {
                Ok(Some(_)) => {}
                Ok(None) => return Some(Err(LedgerError::UnknownTenant(tenant.to_string()))),
                Err(e) => return Some(Err(e)),
            }
        }
        let answer = match &job.command {
            Command::CreateTenant(request) => tenants::create_seat(
                view,
                tenant,
                request.seed.unwrap_or_else(random_seed),
                if request.fixtures { fixtures } else { &[] },
                request.seat_token.as_deref().map(seat_token_digest),
            )
            .map(Answer::Tenant),
            Command::ListTenants => tenants::list(view).map(Answer::Tenants),
            Command::ResetTenant => tenants::reset(view, tenant, fixtures).map(Answer::Tenant),
            Command::DeleteTenant => tenants::delete(view, tenant).map(Answer::Tenant),
            Command::Audit => audit::audit(view, tenant).map(Answer::Audit),
            Command::AddPurchase(spec) => {
                tenants::add_purchase(view, tenant, spec).map(|()| Answer::PurchaseAdded)
            }
            Command::SetSeed(seed) => tenants::set_seed(view, tenant, *seed).map(Answer::Tenant),
            Command::ReadClock => tenants::clock(view, tenant, base_ms).map(Answer::Clock),
            Command::SetClock(change) => {
                tenants::change_clock(view, tenant, *change, base_ms).map(Answer::Clock)
            }
            Command::ExportSnapshot => {
                snapshot::export(view, tenant, base_ms).map(Answer::Snapshot)
            }
            Command::ImportSnapshot(body) => {
                snapshot::import(view, tenant, body, base_ms).map(|(info, keys)| {
                    for key in keys {
                        self.known.insert(tenant, &key);
                    }
                    Answer::Tenant(info)
                })
            }
            Command::History => history(view, tenant).map(Answer::History),
            Command::PutClass(report) => write(view, class_key(&report.name), &**report)
                .map(|()| Answer::ClassKept(report.clone())),
            Command::ListClasses => classes(view).map(Answer::Classes),
            _ => return None,
        };
        Some(answer.map(|answer| (answer, None)))
    }

    /// Applies a licensing command under the rules.
    fn dispatch_rule(
        &self,
        view: &mut View<'_>,
        job: &Job,
        meta: Option<TenantMeta>,
    ) -> Result<(Answer, Option<u64>), LedgerError> {
        let tenant = &job.tenant;
        let mut meta = meta.ok_or_else(|| LedgerError::UnknownTenant(tenant.to_string()))?;
        let keys = Keys::new(tenant);
        let rng = request_rng(meta.seed, meta.seq);
        let mut tx = Tx {
            view: &mut *view,
            keys,
            meta: &mut meta,
            rng,
        };
        let answer = match &job.command {
            Command::Activate(r) => rules::activate(&mut tx, r),
            Command::Reactivate(r) => rules::reactivate(&mut tx, r),
            Command::Deactivate(r) => rules::deactivate(&mut tx, r),
            Command::InstallCals(r) => rules::install_cals(&mut tx, r),
            Command::MigrateCals(r) => rules::migrate_cals(&mut tx, r),
            Command::RecoverCals(r) => rules::recover_cals(&mut tx, r),
            Command::Status(id) => return rules::status(&tx, *id).map(|a| (a, None)),
            Command::Receiving(id) => return rules::receiving(&tx, *id).map(|a| (a, None)),
            Command::VerifyKeyPack {
                license_server_id,
                key_pack_id,
            } => {
                return rules::verify_key_pack(&tx, *license_server_id, *key_pack_id)
                    .map(|a| (a, None));
            }
            _ => unreachable_command(),
        }?;
        let applied = meta.seq;
        meta.seq += 1;
        write(view, keys.meta(), &meta)?;
        Ok((answer, Some(applied)))
    }
}

/// What the tenant's history keeps of a change: what it did, by which connection method,
/// and what it issued to which license server (a key pack by its `place` on record).
fn history_record(
    job: &Job,
    answer: &Answer,
    place: Option<(u64, KeyPackSerial)>,
    at_ms: u64,
) -> Option<HistoryRecord> {
    let action = match &job.command {
        Command::Activate(_) => Action::Activated,
        Command::Reactivate(_) => Action::Reactivated,
        Command::Deactivate(_) => Action::Deactivated,
        Command::InstallCals(_) => Action::CalsInstalled,
        Command::MigrateCals(_) => Action::CalsMigrated,
        Command::RecoverCals(_) => Action::CalsRecovered,
        _ => return None,
    };
    let issued = match (&job.command, answer, place) {
        (_, _, Some((server, serial))) => HistoryIssued::KeyPack { server, serial },
        (_, Answer::Activated(a), _) => HistoryIssued::Id {
            to: a.license_server_id,
            ids: answer.issued_ids(),
        },
        (Command::Deactivate(r), _, _) => HistoryIssued::Id {
            to: r.license_server_id,
            ids: answer.issued_ids(),
        },
        _ => return None,
    };
    Some(HistoryRecord {
        at_ms,
        method: job.method,
        action,
        issued,
    })
}

/// The tenant's history, oldest first, each change with the IDs it issued.
fn history(view: &View<'_>, tenant: &TenantName) -> Result<History, LedgerError> {
    if tenants::meta(view, tenant)?.is_none() {
        return Err(LedgerError::UnknownTenant(tenant.to_string()));
    }
    let keys = Keys::new(tenant);
    let prefix = keys.histories();
    let entries = view
        .scan(&prefix)
        .map(|entry| {
            let (key, bytes) = entry?;
            let record: HistoryRecord = decode(&key, &bytes)?;
            let n = std::str::from_utf8(&key[prefix.len()..])
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| LedgerError::Corrupt("a history key without its number".into()))?;
            let (license_server_id, ids) = match record.issued {
                HistoryIssued::KeyPack { server, serial } => {
                    let pack: KeyPackEntry = read(view, &keys.key_pack(server, serial))?
                        .ok_or_else(|| {
                            LedgerError::Corrupt(format!(
                                "history names key pack {server}/{}",
                                serial.get()
                            ))
                        })?;
                    (pack.bound_to.to_string(), vec![pack.id.to_string()])
                }
                HistoryIssued::Id { to, ids } => (to.to_string(), ids),
            };
            Ok(HistoryEntry {
                n,
                at: super::clock::rfc3339(record.at_ms),
                at_ms: record.at_ms,
                connection_method: record.method,
                action: record.action,
                license_server_id,
                ids,
            })
        })
        .collect::<Result<_, LedgerError>>()?;
    Ok(History {
        tenant: tenant.to_string(),
        entries,
    })
}

/// Every class report, by name.
fn classes(view: &View<'_>) -> Result<Vec<shared::wire::ClassReport>, LedgerError> {
    view.scan(CLASSES)
        .map(|entry| {
            let (key, bytes) = entry?;
            decode(&key, &bytes)
        })
        .collect()
}

/// Where the key pack `issued` is on record: its server's number and its serial.
fn key_pack_place(
    view: &View<'_>,
    keys: &Keys<'_>,
    issued: &KeyPackIssued,
) -> Result<(u64, KeyPackSerial), LedgerError> {
    let server: u64 = read(view, &keys.license_server_id(&issued.license_server_id))?
        .ok_or_else(|| LedgerError::Corrupt("an issued key pack's server is missing".to_owned()))?;
    let serial = issued.key_pack_id.serial(&issued.license_server_id)?;
    Ok((server, serial))
}

fn unreachable_command() -> Result<Answer, LedgerError> {
    Err(LedgerError::Corrupt(
        "a tenant command reached the rules".to_owned(),
    ))
}

/// A seed drawn at random, in the range every seed is in.
fn random_seed() -> u64 {
    rand::random::<u64>() & shared::wire::MAX_SEED
}

/// The random source of the request applied after `seq` others in a tenant seeded `seed`:
/// the same requests in the same order draw the same IDs.
fn request_rng(seed: u64, seq: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&seq.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// What identifies a request for its idempotency key: the command, as JSON.
fn request_hash(command: &Command) -> String {
    let json = serde_json::to_vec(command).unwrap_or_default();
    // 128 bits tell requests apart; the saved answer stays small.
    let digest = Sha256::digest(&json);
    crate::hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use shared::vocab::{CompanyFields, CompanyInfo};
    use shared::wire::ActivateRequest;

    use super::*;
    use crate::ledger::SystemClock;
    use crate::store::MemoryStore;

    fn settings() -> LedgerSettings {
        LedgerSettings {
            clock: Arc::new(SystemClock),
            fixtures: Arc::new(Vec::new()),
            seed: Some(1),
            commit_delay: None,
        }
    }

    fn activation(n: u64) -> Command {
        use rand::SeedableRng;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(n);
        Command::Activate(ActivateRequest {
            product_id: shared::id::ProductId::generate(
                shared::vocab::WindowsServer::V2022,
                &mut rng,
            ),
            company: CompanyInfo::new(CompanyFields {
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                company: Some("C".into()),
                country_region: Some("US".into()),
                ..CompanyFields::default()
            })
            .unwrap(),
        })
    }

    async fn loaded(ledger: &Ledger) {
        while !ledger.inner.known.is_loaded() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn keys_saved_before_a_restart_are_known_once_loaded() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let tenant = TenantName::default_tenant();
        let first = Ledger::start(store.clone(), settings()).unwrap();
        let answer = first
            .execute(tenant.clone(), activation(1), Some("k".into()))
            .await;
        first.shutdown().await;

        let second = Ledger::start(store, settings()).unwrap();
        loaded(&second).await;
        assert!(second.inner.known.may_exist(&tenant, "k"));
        assert!(!second.inner.known.may_exist(&tenant, "never-used"));
        let replay = second
            .execute(tenant.clone(), activation(1), Some("k".into()))
            .await;
        assert!(replay.replayed);
        assert_eq!(replay.outcome, answer.outcome);
        second.shutdown().await;
    }

    #[tokio::test]
    async fn keys_saved_before_a_stop_that_was_not_clean_are_read_again() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let tenant = TenantName::default_tenant();
        let first = Ledger::start(store.clone(), settings()).unwrap();
        first
            .execute(tenant.clone(), activation(3), Some("k".into()))
            .await;
        // No shutdown: the process was killed, nothing was kept.
        drop(first);

        let second = Ledger::start(store, settings()).unwrap();
        loaded(&second).await;
        assert!(second.inner.known.may_exist(&tenant, "k"));
        let replay = second
            .execute(tenant.clone(), activation(3), Some("k".into()))
            .await;
        assert!(replay.replayed);
        second.shutdown().await;
    }

    #[tokio::test]
    async fn a_key_pack_imported_from_a_snapshot_is_stored_as_the_ledger_stores_the_ones_it_issues()
    {
        let store = Arc::new(MemoryStore::new());
        let ledger = Ledger::start(store.clone(), settings()).unwrap();
        let tenant = TenantName::default_tenant();
        let license =
            serde_json::json!({"program": "enterprise-agreement", "agreement_number": "12345678"});
        let purchase = serde_json::from_value(serde_json::json!({
            "license": license,
            "cals": [{"product_version": "2022", "license_type": "per-user", "quantity": 100}],
        }))
        .unwrap();
        let run = |command| ledger.execute(tenant.clone(), command, None);
        run(Command::AddPurchase(purchase)).await.outcome.unwrap();
        let Ok(Answer::Activated(server)) = run(activation(1)).await.outcome else {
            panic!("not activated");
        };
        let install = serde_json::from_value(serde_json::json!({
            "license_server_id": server.license_server_id,
            "license": license,
            "cals": {"product_version": "2022", "license_type": "per-user", "quantity": 5},
        }))
        .unwrap();
        run(Command::InstallCals(install)).await.outcome.unwrap();
        let Ok(Answer::Snapshot(file)) = run(Command::ExportSnapshot).await.outcome else {
            panic!("not exported");
        };
        let body = snapshot::read(file.as_bytes()).unwrap();
        let (_, exported) = body
            .records
            .iter()
            .find(|(k, _)| k.starts_with("kp/"))
            .unwrap();
        assert!(exported.get().starts_with('{'), "a snapshot carries JSON");

        let copy = TenantName::parse("copy").unwrap();
        ledger
            .execute(copy, Command::ImportSnapshot(Box::new(body)), None)
            .await
            .outcome
            .unwrap();
        let stored: Vec<_> = store.scan(b"t/copy/kp/").map(Result::unwrap).collect();
        assert_eq!(stored.len(), 1);
        assert!(super::super::compact::is_binary(&stored[0].1));
        ledger.shutdown().await;
    }

    #[tokio::test]
    async fn a_key_used_after_loading_is_known_at_once() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let tenant = TenantName::default_tenant();
        let ledger = Ledger::start(store, settings()).unwrap();
        loaded(&ledger).await;
        ledger
            .execute(tenant.clone(), activation(2), Some("fresh".into()))
            .await;
        let replay = ledger
            .execute(tenant.clone(), activation(2), Some("fresh".into()))
            .await;
        assert!(replay.replayed);
        ledger.shutdown().await;
    }
}
