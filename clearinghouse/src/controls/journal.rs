//! The journal: what each tenant received and what it answered, in the order answered.
//!
//! It is bounded: past its capacity the oldest entries are dropped and counted, so a long
//! soak cannot exhaust memory. It lives in memory, beside the faults; what it records is
//! a test's observation, not ledger state. Request bodies are kept as received and only
//! read as JSON when a page is asked for, to keep recording cheap.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::web::Bytes;
use shared::vocab::ConnectionMethod;
use shared::wire::{CallMedium, JournalEntry, JournalPage, TranscriptLine};

use crate::ledger::TenantName;
use crate::ledger::clock::rfc3339;

/// The most entries a page holds.
pub const MAX_PAGE: usize = 1000;

/// One request and its answer, as recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When it was answered, on the tenant's clock.
    pub at_ms: u64,
    /// The HTTP method.
    pub method: String,
    /// The route.
    pub route: String,
    /// The path as requested.
    pub path: String,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The IDs issued.
    pub ids: Vec<String>,
    /// The body, if it was read.
    pub body: Option<Bytes>,
    /// Its place in the order of the tenant's changes, if it changed the ledger.
    pub applied: Option<u64>,
    /// Whether the answer was a replay.
    pub replayed: bool,
    /// Why it was refused, if it was.
    pub refusal: Option<String>,
    /// The faults that hit it.
    pub faults: Vec<&'static str>,
    /// The door it came through.
    pub connection_method: ConnectionMethod,
    /// For a call recorded whole: how it was held.
    pub medium: Option<CallMedium>,
    /// For a call recorded whole: what was said and keyed.
    pub transcript: Vec<TranscriptLine>,
}

/// An entry as the journal keeps it: what [`Recorded`] says, in fewer bytes. Ten thousand
/// of them stay in memory for each tenant, so boxed slices replace growable strings and
/// vectors, and a path that is its route is not kept twice.
#[derive(Debug)]
struct Kept {
    at_ms: u64,
    applied: Option<u64>,
    method: Box<str>,
    route: Box<str>,
    /// `None` when the path is the route itself.
    path: Option<Box<str>>,
    idempotency_key: Option<Box<str>>,
    ids: Box<[Box<str>]>,
    body: Option<Box<[u8]>>,
    refusal: Option<Box<str>>,
    faults: Box<[&'static str]>,
    status: u16,
    replayed: bool,
    connection_method: ConnectionMethod,
    medium: Option<CallMedium>,
    transcript: Box<[TranscriptLine]>,
}

impl From<Recorded> for Kept {
    fn from(r: Recorded) -> Self {
        Kept {
            at_ms: r.at_ms,
            applied: r.applied,
            path: (r.path != r.route).then(|| r.path.into_boxed_str()),
            method: r.method.into_boxed_str(),
            route: r.route.into_boxed_str(),
            idempotency_key: r.idempotency_key.map(String::into_boxed_str),
            ids: r.ids.into_iter().map(String::into_boxed_str).collect(),
            body: r.body.map(|b| Box::from(&b[..])),
            refusal: r.refusal.map(String::into_boxed_str),
            faults: r.faults.into_boxed_slice(),
            status: r.status,
            replayed: r.replayed,
            connection_method: r.connection_method,
            medium: r.medium,
            transcript: r.transcript.into_boxed_slice(),
        }
    }
}

impl Kept {
    fn entry(&self, n: u64) -> JournalEntry {
        JournalEntry {
            n,
            at: rfc3339(self.at_ms),
            at_ms: self.at_ms,
            method: self.method.to_string(),
            route: self.route.to_string(),
            path: self.path.as_deref().unwrap_or(&self.route).to_owned(),
            idempotency_key: self.idempotency_key.as_deref().map(str::to_owned),
            status: self.status,
            ids: self.ids.iter().map(|id| id.to_string()).collect(),
            request: self
                .body
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok()),
            applied: self.applied,
            replayed: self.replayed,
            faults: self.faults.iter().map(|f| (*f).to_owned()).collect(),
            connection_method: self.connection_method,
            medium: self.medium,
            transcript: self.transcript.to_vec(),
        }
    }
}

/// A change asked of a tenant, as the journal recorded it, without its body.
#[derive(Debug, Clone)]
pub struct Change {
    /// When it was answered, on the tenant's clock.
    pub at_ms: u64,
    /// The API route it came to (or amounts to).
    pub route: String,
    /// The status answered.
    pub status: u16,
    /// The license server it was about, as the request named it.
    pub license_server_id: Option<String>,
    /// Why it was refused, if it was.
    pub refusal: Option<String>,
    /// The IDs issued.
    pub ids: Vec<String>,
    /// Whether the answer was a replay.
    pub replayed: bool,
    /// The door it came through.
    pub connection_method: ConnectionMethod,
}

#[derive(Debug, Default)]
struct TenantJournal {
    /// The number of the oldest entry kept.
    first: u64,
    entries: VecDeque<Kept>,
    dropped: u64,
}

/// The journals of every tenant.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    tenants: Mutex<HashMap<TenantName, TenantJournal>>,
}

impl Journal {
    /// Journals of at most `capacity` entries each (at least one).
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Appends `recorded` to `tenant`'s journal, dropping its oldest entry when full.
    pub fn record(&self, tenant: &TenantName, recorded: Recorded) {
        let Ok(mut tenants) = self.tenants.lock() else {
            return;
        };
        let journal = tenants
            .entry(tenant.clone())
            .or_insert_with(|| TenantJournal {
                first: 1,
                ..TenantJournal::default()
            });
        let entries = &mut journal.entries;
        if entries.len() >= self.capacity {
            entries.pop_front();
            journal.first += 1;
            journal.dropped += 1;
        } else if entries.len() == entries.capacity() {
            // Doubling as a deque does, but never past the capacity: a full journal of
            // 10,000 would otherwise hold room for 16,384.
            let more = entries.len().max(8).min(self.capacity - entries.len());
            entries.reserve_exact(more);
        }
        entries.push_back(recorded.into());
    }

    /// Up to `limit` entries of `tenant`'s journal numbered after `after`.
    pub fn page(&self, tenant: &TenantName, after: u64, limit: usize) -> JournalPage {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut page = JournalPage {
            tenant: tenant.to_string(),
            entries: Vec::new(),
            dropped: 0,
            next_after: None,
        };
        self.read(tenant, |journal| {
            page.dropped = journal.dropped;
            let skip = usize::try_from(after.saturating_add(1).saturating_sub(journal.first))
                .unwrap_or(usize::MAX);
            page.entries = journal
                .entries
                .iter()
                .zip(journal.first..)
                .skip(skip)
                .take(limit)
                .map(|(r, n)| r.entry(n))
                .collect();
            let last = journal.first + journal.entries.len() as u64 - 1;
            page.next_after = page.entries.last().map(|e| e.n).filter(|n| *n < last);
        });
        page
    }

    /// What `read` takes from `tenant`'s journal, under the lock; nothing for a tenant with
    /// no journal yet.
    fn read<T: Default>(&self, tenant: &TenantName, read: impl FnOnce(&TenantJournal) -> T) -> T {
        let Ok(tenants) = self.tenants.lock() else {
            return T::default();
        };
        tenants.get(tenant).map(read).unwrap_or_default()
    }

    /// The last `limit` changes asked of `tenant` (POST requests), newest first, without
    /// their bodies: what is copied under the lock every request takes is kept small.
    pub fn recent_changes(&self, tenant: &TenantName, limit: usize) -> Vec<Change> {
        self.read(tenant, |journal| {
            journal
                .entries
                .iter()
                .rev()
                .filter(|r| &*r.method == "POST")
                .take(limit)
                .map(|r| Change {
                    at_ms: r.at_ms,
                    route: r.route.to_string(),
                    status: r.status,
                    license_server_id: r
                        .body
                        .as_ref()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                        .and_then(|v| v.get("license_server_id")?.as_str().map(str::to_owned)),
                    refusal: r.refusal.as_deref().map(str::to_owned),
                    ids: r.ids.iter().map(|id| id.to_string()).collect(),
                    replayed: r.replayed,
                    connection_method: r.connection_method,
                })
                .collect()
        })
    }

    /// The last `limit` calls recorded whole for `tenant`, newest first.
    pub fn recent_calls(&self, tenant: &TenantName, limit: usize) -> Vec<JournalEntry> {
        self.read(tenant, |journal| {
            journal
                .entries
                .iter()
                .enumerate()
                .rev()
                .map(|(i, r)| (r, journal.first + i as u64))
                .filter(|(r, _)| r.medium.is_some())
                .take(limit)
                .map(|(r, n)| r.entry(n))
                .collect()
        })
    }

    /// Empties `tenant`'s journal (numbers start again from 1).
    pub fn clear(&self, tenant: &TenantName) {
        if let Ok(mut tenants) = self.tenants.lock() {
            tenants.remove(tenant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(status: u16) -> Recorded {
        Recorded {
            at_ms: 0,
            method: "POST".to_owned(),
            route: "/r".to_owned(),
            path: "/r".to_owned(),
            idempotency_key: None,
            status,
            ids: Vec::new(),
            body: None,
            applied: None,
            replayed: false,
            refusal: None,
            faults: Vec::new(),
            connection_method: ConnectionMethod::Automatic,
            medium: None,
            transcript: Vec::new(),
        }
    }

    #[test]
    fn past_its_capacity_the_journal_drops_the_oldest_entries_and_counts_them() {
        let journal = Journal::new(3);
        let tenant = TenantName::default_tenant();
        for status in 200..205 {
            journal.record(&tenant, recorded(status));
        }
        let page = journal.page(&tenant, 0, 10);
        assert_eq!(page.dropped, 2);
        let kept: Vec<(u64, u16)> = page.entries.iter().map(|e| (e.n, e.status)).collect();
        assert_eq!(kept, vec![(3, 202), (4, 203), (5, 204)]);
        assert_eq!(page.next_after, None);
    }

    #[test]
    fn a_page_starts_after_the_number_given_and_says_where_the_next_starts() {
        let journal = Journal::new(100);
        let tenant = TenantName::default_tenant();
        for status in 200..210 {
            journal.record(&tenant, recorded(status));
        }
        let page = journal.page(&tenant, 4, 3);
        let numbers: Vec<u64> = page.entries.iter().map(|e| e.n).collect();
        assert_eq!(numbers, vec![5, 6, 7]);
        assert_eq!(page.next_after, Some(7));
        assert_eq!(journal.page(&tenant, 7, 10).next_after, None);
    }

    #[test]
    fn a_full_journal_holds_room_for_its_capacity_and_no_more() {
        let journal = Journal::new(10_000);
        let tenant = TenantName::default_tenant();
        for _ in 0..10_005 {
            journal.record(&tenant, recorded(200));
        }
        let tenants = journal.tenants.lock().unwrap();
        let kept = &tenants[&tenant].entries;
        assert_eq!(kept.len(), 10_000);
        assert_eq!(kept.capacity(), 10_000);
    }

    #[test]
    fn an_entry_reads_back_as_it_was_recorded() {
        let journal = Journal::new(10);
        let tenant = TenantName::default_tenant();
        let mut with_id = recorded(201);
        with_id.route = "/api/v1/license-servers/{id}".to_owned();
        with_id.path = "/api/v1/license-servers/ABCDE".to_owned();
        with_id.idempotency_key = Some("k-1".to_owned());
        with_id.ids = vec!["one".to_owned(), "two".to_owned()];
        with_id.body = Some(Bytes::from_static(br#"{"license_server_id":"X"}"#));
        with_id.faults = vec!["latency"];
        journal.record(&tenant, with_id);
        journal.record(&tenant, recorded(200));
        let page = journal.page(&tenant, 0, 10);
        let first = &page.entries[0];
        assert_eq!(first.route, "/api/v1/license-servers/{id}");
        assert_eq!(first.path, "/api/v1/license-servers/ABCDE");
        assert_eq!(first.idempotency_key.as_deref(), Some("k-1"));
        assert_eq!(first.ids, vec!["one", "two"]);
        assert_eq!(
            first.request,
            Some(serde_json::json!({"license_server_id": "X"}))
        );
        assert_eq!(first.faults, vec!["latency"]);
        assert_eq!(
            page.entries[1].path, "/r",
            "a path that is its route reads back"
        );
        let changes = journal.recent_changes(&tenant, 5);
        assert_eq!(changes[1].license_server_id.as_deref(), Some("X"));
    }

    #[test]
    fn recent_entries_come_newest_first() {
        let journal = Journal::new(10);
        let tenant = TenantName::default_tenant();
        for status in [200, 201, 202] {
            journal.record(&tenant, recorded(status));
        }
        let recent: Vec<u16> = journal
            .recent_changes(&tenant, 2)
            .iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(recent, vec![202, 201]);
    }
}
