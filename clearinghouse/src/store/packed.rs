//! Many small records under one key of the store below: the ledger's records appended in
//! order (key packs, its history) are packed by the group their key names, so the store
//! keeps one entry per group instead of one per record.
//!
//! sled keeps a few hundred bytes of memory, and its start-up reads a page, for every
//! sixteen entries it holds, whatever their size: a million key packs with their lines of
//! history cost it 100 MB and 200 ms before anything was read. Packed ten to an entry, they
//! cost a tenth of that, and appending one rewrites only the last group of its table, which
//! the writer keeps at hand ([`RECENT_GROUPS`]).
//!
//! Above this store nothing changes: every record has its own (logical) key, reads, scans
//! and batches see them one by one, in key order. Below it, a group's records live in one
//! value under the group's physical key: the logical key with the `/` after its table name
//! made a `#` and its member part cut off. Physical keys sort as the logical ones do, so a
//! scan walks the groups in order. A store written before packing is repacked once, when
//! it is opened.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Batch, Scan, Store, StoreError};

/// Which records are packed, as the ledger lays out its keys.
#[derive(Clone, Copy)]
pub struct Layout {
    /// For a logical key (or the prefix of one) of a packed table: the index of the `/`
    /// that ends the table's name, and how long the group part after it is.
    pub table: fn(&[u8]) -> Option<(usize, usize)>,
}

/// The key that says a store's packed tables are packed.
const LAYOUT_KEY: &[u8] = b"store/layout";
const LAYOUT_PACKED: &[u8] = b"packed-1";
/// Records repacked per batch when a store written before packing is opened.
const UPGRADE_BATCH: usize = 10_000;
/// Groups last written, kept to be changed again without a read of the store below:
/// appending fills the last group of each server's key packs and of each tenant's history.
/// Past this many the set is emptied.
pub const RECENT_GROUPS: usize = 1024;

/// A store that packs the records `layout` names into groups.
pub struct PackedStore<S> {
    inner: S,
    layout: Layout,
    /// The groups last written, by physical key: what the store below holds for them.
    /// Holding its lock is also what lets one commit at a time read and rewrite groups.
    recent: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

/// A group's members in order: each member's key (what follows the group in its logical
/// key) and value.
type Members = Vec<(Vec<u8>, Vec<u8>)>;

/// A record as a scan yields it.
type Entry = Result<(Vec<u8>, Vec<u8>), StoreError>;

/// A group's first member, its value, and the members after it.
struct Frame<'a> {
    member: &'a [u8],
    value: &'a [u8],
    rest: &'a [u8],
}

/// Where a logical key is kept physically.
enum Place {
    /// Under its own key.
    Alone,
    /// In the group under `group`, as `member`.
    Packed { group: Vec<u8>, member: Vec<u8> },
}

impl<S: Store> PackedStore<S> {
    /// Packs `inner`'s records as `layout` says, repacking first any that were written
    /// before packing.
    pub fn open(inner: S, layout: Layout) -> Result<Self, StoreError> {
        let store = PackedStore {
            inner,
            layout,
            recent: Mutex::new(HashMap::new()),
        };
        if store.inner.get(LAYOUT_KEY)?.as_deref() != Some(LAYOUT_PACKED) {
            store.upgrade()?;
        }
        Ok(store)
    }

    fn place(&self, key: &[u8]) -> Place {
        match (self.layout.table)(key) {
            Some((table_end, group_len)) if key.len() > table_end + 1 + group_len => {
                let split = table_end + 1 + group_len;
                let mut group = key[..split].to_vec();
                group[table_end] = b'#';
                Place::Packed {
                    group,
                    member: key[split..].to_vec(),
                }
            }
            _ => Place::Alone,
        }
    }

    /// The physical prefix under which every logical key starting with `prefix` is kept.
    fn physical_prefix(&self, prefix: &[u8]) -> Vec<u8> {
        match (self.layout.table)(prefix) {
            Some((table_end, group_len)) if prefix.len() > table_end => {
                let end = prefix.len().min(table_end + 1 + group_len);
                let mut physical = prefix[..end].to_vec();
                physical[table_end] = b'#';
                physical
            }
            _ => prefix.to_vec(),
        }
    }

    /// For a physical key of a group: where its `#` is.
    fn group_mark(&self, physical: &[u8]) -> Option<usize> {
        let mark = physical.iter().position(|b| *b == b'#')?;
        let mut probe = physical[..=mark].to_vec();
        probe[mark] = b'/';
        match (self.layout.table)(&probe) {
            Some((table_end, _)) if table_end == mark => Some(mark),
            _ => None,
        }
    }

    /// Repacks the records of packed tables kept under their own keys (a store written
    /// before packing), a batch at a time in one pass: each batch moves its records into
    /// their groups and removes them, so an interrupted upgrade resumes where it stopped.
    /// Groups sort before the plain keys of their table, so the pass never meets its own.
    fn upgrade(&self) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        let mut old = Vec::new();
        for entry in self.inner.scan(b"t/") {
            let (key, value) = entry?;
            let packable = matches!(self.place(&key), Place::Packed { .. });
            if self.group_mark(&key).is_some() || !packable {
                continue;
            }
            batch.put(key.clone(), Some(value));
            old.push(key);
            if old.len() == UPGRADE_BATCH {
                self.repack(std::mem::take(&mut batch), std::mem::take(&mut old))?;
            }
        }
        batch.put(LAYOUT_KEY.to_vec(), Some(LAYOUT_PACKED.to_vec()));
        self.repack(batch, old)
    }

    /// Commits `batch` packed, removing the plain keys `old` its records were under.
    fn repack(&self, batch: Batch, old: Vec<Vec<u8>>) -> Result<(), StoreError> {
        let mut physical = self.physical_batch(&batch, &HashMap::new())?;
        for key in old {
            physical.put(key, None);
        }
        self.inner.commit(&physical)
    }

    /// The writes of the store below that make `batch`'s: each group it touches read,
    /// changed and written whole.
    fn physical_batch(
        &self,
        batch: &Batch,
        recent: &HashMap<Vec<u8>, Vec<u8>>,
    ) -> Result<Batch, StoreError> {
        let mut physical = Batch::default();
        let mut group: Option<(Vec<u8>, Members)> = None;
        // The batch is in key order, so a group's members come together.
        for (key, value) in batch.writes() {
            match self.place(key) {
                Place::Alone => physical.put(key.to_vec(), value.map(<[u8]>::to_vec)),
                Place::Packed {
                    group: name,
                    member,
                } => {
                    if group.as_ref().is_none_or(|(open, _)| *open != name) {
                        if let Some((done, members)) = group.take() {
                            physical.put(done, encode(&members));
                        }
                        let members = match recent.get(&name) {
                            Some(bytes) => decode(bytes)?,
                            None => match self.inner.get(&name)? {
                                Some(bytes) => decode(&bytes)?,
                                None => Vec::new(),
                            },
                        };
                        group = Some((name, members));
                    }
                    if let Some((_, members)) = group.as_mut() {
                        let at = members.binary_search_by(|(m, _)| m.as_slice().cmp(&member));
                        match (at, value) {
                            (Ok(i), Some(v)) => members[i].1 = v.to_vec(),
                            (Err(i), Some(v)) => members.insert(i, (member, v.to_vec())),
                            (Ok(i), None) => {
                                members.remove(i);
                            }
                            (Err(_), None) => {}
                        }
                    }
                }
            }
        }
        if let Some((done, members)) = group.take() {
            physical.put(done, encode(&members));
        }
        Ok(physical)
    }
}

/// A group's value: its members in order, each as its member key's and its value's
/// lengths (2 and 4 bytes, big-endian) then both. An empty group is removed.
fn encode(members: &Members) -> Option<Vec<u8>> {
    if members.is_empty() {
        return None;
    }
    let size = members.iter().map(|(m, v)| 6 + m.len() + v.len()).sum();
    let mut bytes = Vec::with_capacity(size);
    for (member, value) in members {
        // A member is what follows its group in the key: the layout's last digit.
        bytes.extend_from_slice(&(member.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&(value.len() as u32).to_be_bytes());
        bytes.extend_from_slice(member);
        bytes.extend_from_slice(value);
    }
    Some(bytes)
}

fn decode(bytes: &[u8]) -> Result<Members, StoreError> {
    let mut members = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let frame = frame(rest)?;
        members.push((frame.member.to_vec(), frame.value.to_vec()));
        rest = frame.rest;
    }
    Ok(members)
}

/// The first member of `bytes`, its value, and what follows.
fn frame(bytes: &[u8]) -> Result<Frame<'_>, StoreError> {
    let broken = || StoreError("a packed group is cut short".to_owned());
    let head = bytes.get(..6).ok_or_else(broken)?;
    let member_len = usize::from(u16::from_be_bytes([head[0], head[1]]));
    let value_len = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
    let member = bytes.get(6..6 + member_len).ok_or_else(broken)?;
    let value_end = 6 + member_len + value_len;
    let value = bytes.get(6 + member_len..value_end).ok_or_else(broken)?;
    Ok(Frame {
        member,
        value,
        rest: &bytes[value_end..],
    })
}

impl<S: Store> Store for PackedStore<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Place::Packed { group, member } = self.place(key) else {
            return self.inner.get(key);
        };
        let Some(bytes) = self.inner.get(&group)? else {
            return Ok(None);
        };
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let frame = frame(rest)?;
            if frame.member == member.as_slice() {
                return Ok(Some(frame.value.to_vec()));
            }
            rest = frame.rest;
        }
        Ok(None)
    }

    fn scan<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        let prefix = prefix.to_vec();
        let stored = self.inner.scan(&self.physical_prefix(&prefix));
        Box::new(
            stored
                .flat_map(move |entry| -> Vec<Entry> {
                    let (key, value) = match entry {
                        Ok(entry) => entry,
                        Err(e) => return vec![Err(e)],
                    };
                    let Some(mark) = self.group_mark(&key) else {
                        return vec![Ok((key, value))];
                    };
                    let mut logical = key;
                    logical[mark] = b'/';
                    match decode(&value) {
                        Ok(members) => members
                            .into_iter()
                            .map(|(member, value)| {
                                let mut key = logical.clone();
                                key.extend_from_slice(&member);
                                Ok((key, value))
                            })
                            .collect(),
                        Err(e) => vec![Err(e)],
                    }
                })
                .filter(move |entry| {
                    entry
                        .as_ref()
                        .map_or(true, |(key, _)| key.starts_with(&prefix))
                }),
        )
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut recent = self
            .recent
            .lock()
            .map_err(|_| StoreError("a commit failed half-way".to_owned()))?;
        let physical = self.physical_batch(batch, &recent)?;
        let committed = self.inner.commit(&physical);
        if committed.is_err() {
            // What the store below holds is uncertain now: forget what was kept.
            recent.clear();
            return committed;
        }
        for (key, value) in physical.writes() {
            if self.group_mark(key).is_none() {
                continue;
            }
            match value {
                Some(value) => {
                    if recent.len() >= RECENT_GROUPS {
                        recent.clear();
                    }
                    recent.insert(key.to_vec(), value.to_vec());
                }
                None => {
                    recent.remove(key);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    /// Keys `t/<tenant>/grp/<2 digits><member>` are packed by their two digits.
    fn table(key: &[u8]) -> Option<(usize, usize)> {
        let rest = key.strip_prefix(b"t/")?;
        let tenant = rest.iter().position(|b| *b == b'/')?;
        let table_end = 2 + tenant + 1 + 3;
        (key.get(2 + tenant + 1..table_end)? == b"grp" && key.get(table_end)? == &b'/')
            .then_some((table_end, 2))
    }

    const LAYOUT: Layout = Layout { table };

    fn put(store: &impl Store, writes: &[(&str, Option<&str>)]) {
        let mut batch = Batch::default();
        for (k, v) in writes {
            batch.put(k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()));
        }
        store.commit(&batch).unwrap();
    }

    fn keys(store: &impl Store, prefix: &str) -> Vec<String> {
        store
            .scan(prefix.as_bytes())
            .map(|e| String::from_utf8(e.unwrap().0).unwrap())
            .collect()
    }

    #[test]
    fn records_of_a_group_share_one_key_below_and_read_back_one_by_one() {
        let packed = PackedStore::open(MemoryStore::new(), LAYOUT).unwrap();
        put(
            &packed,
            &[
                ("t/a/grp/001", Some("one")),
                ("t/a/grp/002", Some("two")),
                ("t/a/grp/017", Some("seventeen")),
                ("t/a/other", Some("plain")),
            ],
        );
        assert_eq!(
            packed.get(b"t/a/grp/002").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(packed.get(b"t/a/grp/003").unwrap(), None);
        let below: Vec<String> = packed
            .inner
            .scan(b"t/")
            .map(|e| String::from_utf8(e.unwrap().0).unwrap())
            .collect();
        assert_eq!(below, ["t/a/grp#00", "t/a/grp#01", "t/a/other"]);
    }

    #[test]
    fn a_scan_yields_records_in_key_order_across_groups_and_plain_keys() {
        let packed = PackedStore::open(MemoryStore::new(), LAYOUT).unwrap();
        put(
            &packed,
            &[
                ("t/a/grp/117", Some("x")),
                ("t/a/grp/001", Some("x")),
                ("t/a/grp/002", Some("x")),
                ("t/a/abc", Some("x")),
                ("t/a/zzz", Some("x")),
                ("t/b/grp/001", Some("x")),
            ],
        );
        assert_eq!(
            keys(&packed, "t/a/"),
            [
                "t/a/abc",
                "t/a/grp/001",
                "t/a/grp/002",
                "t/a/grp/117",
                "t/a/zzz"
            ]
        );
        assert_eq!(
            keys(&packed, "t/a/grp/"),
            ["t/a/grp/001", "t/a/grp/002", "t/a/grp/117"]
        );
        assert_eq!(keys(&packed, "t/a/grp/00"), ["t/a/grp/001", "t/a/grp/002"]);
        assert_eq!(keys(&packed, "t/a/grp/002"), ["t/a/grp/002"]);
    }

    #[test]
    fn members_appended_one_commit_at_a_time_all_read_back_past_the_recent_groups() {
        let packed = PackedStore::open(MemoryStore::new(), LAYOUT).unwrap();
        let tenants = RECENT_GROUPS / 10 + 3;
        for digit in 0..10 {
            for tenant in 0..tenants {
                put(
                    &packed,
                    &[(&format!("t/{tenant}/grp/10{digit}"), Some("x"))],
                );
            }
        }
        for tenant in 0..tenants {
            let expected: Vec<String> = (0..10).map(|d| format!("t/{tenant}/grp/10{d}")).collect();
            assert_eq!(keys(&packed, &format!("t/{tenant}/grp/")), expected);
        }
    }

    #[test]
    fn removing_every_member_removes_the_group() {
        let packed = PackedStore::open(MemoryStore::new(), LAYOUT).unwrap();
        put(
            &packed,
            &[("t/a/grp/001", Some("x")), ("t/a/grp/002", Some("y"))],
        );
        put(&packed, &[("t/a/grp/001", None)]);
        assert_eq!(keys(&packed, "t/a/"), ["t/a/grp/002"]);
        put(&packed, &[("t/a/grp/002", None)]);
        assert_eq!(packed.inner.scan(b"t/").count(), 0);
    }

    #[test]
    fn a_store_written_before_packing_is_repacked_when_opened() {
        let old = MemoryStore::new();
        let writes: Vec<(String, String)> = (0..(UPGRADE_BATCH + 5))
            .map(|n| (format!("t/a/grp/{:02}{n:06}", n % 100), format!("v{n}")))
            .collect();
        let mut batch = Batch::default();
        for (k, v) in &writes {
            batch.put(k.clone().into_bytes(), Some(v.clone().into_bytes()));
        }
        batch.put(b"t/a/other".to_vec(), Some(b"plain".to_vec()));
        old.commit(&batch).unwrap();

        let packed = PackedStore::open(old, LAYOUT).unwrap();
        assert_eq!(
            packed.inner.scan(b"t/").count(),
            101,
            "100 groups and a plain key"
        );
        let mut expected: Vec<String> = writes.iter().map(|(k, _)| k.clone()).collect();
        expected.push("t/a/other".to_owned());
        expected.sort();
        assert_eq!(keys(&packed, "t/"), expected);
        assert_eq!(
            packed.get(b"t/a/grp/07000007").unwrap().as_deref(),
            Some(&b"v7"[..])
        );
        assert_eq!(
            packed.inner.get(LAYOUT_KEY).unwrap().as_deref(),
            Some(LAYOUT_PACKED)
        );
    }

    /// Opens the sled store in `dir` once the one dropped before lets go of it: sled's
    /// background flusher holds the directory's lock a moment after the drop.
    fn reopen(dir: &std::path::Path) -> crate::store::SledStore {
        let mut tries = 0;
        loop {
            match crate::store::SledStore::open(dir) {
                Ok(store) => return store,
                Err(_) if tries < 500 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => panic!("the store does not reopen: {e}"),
            }
        }
    }

    #[test]
    fn a_sled_store_is_repacked_once_and_its_records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let old = reopen(dir.path());
            put(
                &old,
                &[
                    ("t/a/grp/001", Some("one")),
                    ("t/a/grp/017", Some("seventeen")),
                    ("t/a/other", Some("plain")),
                ],
            );
        }
        {
            let packed = PackedStore::open(reopen(dir.path()), LAYOUT).unwrap();
            assert_eq!(
                keys(&packed, "t/"),
                ["t/a/grp/001", "t/a/grp/017", "t/a/other"]
            );
            put(&packed, &[("t/a/grp/002", Some("two"))]);
        }
        let below = reopen(dir.path());
        let stored: Vec<String> = below
            .scan(b"t/")
            .map(|e| String::from_utf8(e.unwrap().0).unwrap())
            .collect();
        assert_eq!(stored, ["t/a/grp#00", "t/a/grp#01", "t/a/other"]);
        let packed = PackedStore::open(below, LAYOUT).unwrap();
        assert_eq!(
            packed.get(b"t/a/grp/002").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(
            keys(&packed, "t/a/grp/"),
            ["t/a/grp/001", "t/a/grp/002", "t/a/grp/017"]
        );
    }

    #[test]
    fn a_group_cut_short_is_an_error_not_a_panic() {
        let packed = PackedStore::open(MemoryStore::new(), LAYOUT).unwrap();
        let mut batch = Batch::default();
        batch.put(b"t/a/grp#00".to_vec(), Some(vec![0, 5, 0, 0, 0, 9, b'1']));
        packed.inner.commit(&batch).unwrap();
        assert!(packed.get(b"t/a/grp/001").is_err());
        assert!(packed.scan(b"t/a/").any(|e| e.is_err()));
    }
}
