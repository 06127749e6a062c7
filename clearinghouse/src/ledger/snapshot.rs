//! Snapshots: a tenant's whole state (purchases, license servers, key packs, saved
//! answers, seed, clock) as one versioned JSON file, to prepare a lab once and hand it to
//! every seat.
//!
//! The file carries a SHA-256 of its body, so a damaged or cut-short file is refused
//! before anything is written; an import is applied as one batch, and only if the
//! imported ledger passes the audit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::rc::Rc;

use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use shared::wire::TenantInfo;

use super::records::{self, Keys, TenantMeta, stored_form};
use super::{LedgerError, TenantName, audit, tenants};
use crate::hex::encode as hex;
use crate::store::View;

/// What the `format` field of every snapshot says.
pub const FORMAT: &str = "clearinghouse-tenant-snapshot";
/// The version of the layout this clearinghouse writes and reads.
pub const VERSION: u32 = 1;

/// A tenant's state, as a snapshot carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotBody {
    /// The tenant it was exported from.
    pub exported_from: String,
    /// The time on the tenant's clock when it was exported, in ms since the Unix epoch.
    pub clock_ms: u64,
    /// The tenant's seed.
    pub seed: u64,
    /// How many changes the tenant had applied (with the seed, it fixes the next IDs).
    pub seq: u64,
    /// The number the next activated license server gets.
    pub next_server: u64,
    /// Every record, by its key within the tenant, as the JSON text the file carries. Kept
    /// as text, not parsed into values, which took about twenty times their text: a server
    /// that had exported a 125 MB snapshot held 624 MiB after it, and now holds 248.
    pub records: BTreeMap<String, Box<RawValue>>,
}

/// Records are equal when their texts are.
impl PartialEq for SnapshotBody {
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a field added later cannot be left out.
        let SnapshotBody {
            exported_from,
            clock_ms,
            seed,
            seq,
            next_server,
            records,
        } = self;
        *exported_from == other.exported_from
            && *clock_ms == other.clock_ms
            && *seed == other.seed
            && *seq == other.seq
            && *next_server == other.next_server
            && records.len() == other.records.len()
            && records
                .iter()
                .zip(&other.records)
                .all(|((k, v), (l, w))| k == l && v.get() == w.get())
    }
}

impl Eq for SnapshotBody {}

/// The snapshot of `tenant`, as the text of its file.
pub fn export(view: &View<'_>, tenant: &TenantName, base_ms: u64) -> Result<String, LedgerError> {
    let meta = tenants::meta(view, tenant)?
        .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_string()))?;
    let prefix = Keys::new(tenant).all();
    let mut records = BTreeMap::new();
    for entry in view.scan(&prefix) {
        let (key, bytes) = entry?;
        let name = std::str::from_utf8(&key[prefix.len()..])
            .map_err(|_| LedgerError::Corrupt("a key that is not UTF-8".to_owned()))?;
        let text = records::json_text(&key, bytes)?;
        records.insert(name.to_owned(), text);
    }
    let body = SnapshotBody {
        exported_from: tenant.to_string(),
        clock_ms: meta.now_ms(base_ms),
        seed: meta.seed,
        seq: meta.seq,
        next_server: meta.next_server,
        records,
    };
    let body = serde_json::to_string(&body).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let head = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "sha256": hex(&Sha256::digest(body.as_bytes())),
    });
    // The body is spliced in as written, so that its checksum covers exactly its bytes.
    let head = head.to_string();
    Ok(format!("{},\"body\":{body}}}", &head[..head.len() - 1]))
}

/// Reads a snapshot file from `reader` as it arrives, never holding its text: the body is
/// parsed while its checksum is computed over exactly its bytes. Refuses anything
/// damaged, truncated or foreign.
pub fn read(reader: impl Read) -> Result<SnapshotBody, LedgerError> {
    let invalid = LedgerError::InvalidSnapshot;
    let state = Rc::new(RefCell::new(Hashing::default()));
    let reader = HashingReader {
        inner: BufReader::new(reader),
        state: state.clone(),
    };
    let mut json = serde_json::Deserializer::from_reader(reader);
    let parsed = FileSeed {
        state: state.clone(),
    }
    .deserialize(&mut json)
    .and_then(|head| json.end().map(|()| head));
    let head = match parsed {
        Ok(head) => head,
        Err(e) => {
            let mut state = state.borrow_mut();
            if let Some(refusal) = state.refusal.take() {
                return Err(refusal);
            }
            return Err(invalid(if e.is_eof() {
                format!(
                    "the snapshot ends early (line {}, column {}): it was cut short; export it again",
                    e.line(),
                    e.column()
                )
            } else if state.mode != Mode::Off {
                format!("the snapshot is damaged: its body does not read ({e})")
            } else {
                format!("this is not a clearinghouse snapshot: it is not JSON ({e})")
            }));
        }
    };
    check_head(head.format.as_deref(), head.version)?;
    let (Some(sha256), Some(body)) = (head.sha256, head.body) else {
        return Err(invalid(
            "the snapshot is damaged: its checksum or its body is missing".to_owned(),
        ));
    };
    let digest = std::mem::take(&mut state.borrow_mut().sha).finalize();
    if hex(&digest) != sha256 {
        return Err(invalid(
            "the snapshot is damaged: its contents do not match its checksum".to_owned(),
        ));
    }
    Ok(body)
}

/// Refuses a file of another format or version.
fn check_head(format: Option<&str>, version: Option<u32>) -> Result<(), LedgerError> {
    let invalid = |m: String| Err(LedgerError::InvalidSnapshot(m));
    match format {
        Some(FORMAT) => {}
        Some(other) => {
            return invalid(format!(
                "this is not a clearinghouse snapshot: its format is {other:?}, not {FORMAT:?}"
            ));
        }
        None => {
            return invalid(format!(
                "this is not a clearinghouse snapshot: it has no \"format\": {FORMAT:?}"
            ));
        }
    }
    match version {
        Some(VERSION) => Ok(()),
        Some(v) => invalid(format!(
            "snapshot version {v} is not supported; this clearinghouse reads version {VERSION}"
        )),
        None => invalid("the snapshot has no version".to_owned()),
    }
}

/// Where the reading of a snapshot file is, as far as its checksum goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Before the body: nothing is hashed.
    #[default]
    Off,
    /// At the body's key: the colon and spaces before its value are skipped.
    Waiting,
    /// In the body's value: every byte is hashed.
    On,
    /// After it.
    Done,
}

#[derive(Default)]
struct Hashing {
    mode: Mode,
    sha: Sha256,
    /// Why the file was refused before it was read to its end.
    refusal: Option<LedgerError>,
}

/// Hands on the bytes of a file and hashes those of the body's value. JSON is read from
/// it a byte at a time, so the mode changes at exactly the right byte.
struct HashingReader<R> {
    inner: BufReader<R>,
    state: Rc<RefCell<Hashing>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.borrow_mut();
        for &byte in &buf[..n] {
            match state.mode {
                Mode::Waiting if byte == b':' || byte.is_ascii_whitespace() => {}
                Mode::Waiting => {
                    state.mode = Mode::On;
                    state.sha.update([byte]);
                }
                Mode::On => state.sha.update([byte]),
                Mode::Off | Mode::Done => {}
            }
        }
        Ok(n)
    }
}

/// The fields of a snapshot file, the body parsed as it is hashed.
#[derive(Default)]
struct Head {
    format: Option<String>,
    version: Option<u32>,
    sha256: Option<String>,
    body: Option<SnapshotBody>,
}

struct FileSeed {
    state: Rc<RefCell<Hashing>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for FileSeed {
    type Value = Head;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Head, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FileSeed {
    type Value = Head;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a snapshot file")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        use serde::de::Error;
        let mut head = Head::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => head.format = map.next_value()?,
                "version" => head.version = map.next_value()?,
                "sha256" => head.sha256 = map.next_value()?,
                "body" if head.body.is_some() => {
                    return Err(A::Error::custom("a second body"));
                }
                "body" => {
                    // A file of another format or version is refused before its body,
                    // which may not read as this version's.
                    if (head.format.is_some() || head.version.is_some())
                        && let Err(refusal) = check_head(head.format.as_deref(), head.version)
                    {
                        self.state.borrow_mut().refusal = Some(refusal);
                        return Err(A::Error::custom("refused"));
                    }
                    self.state.borrow_mut().mode = Mode::Waiting;
                    head.body = Some(map.next_value()?);
                    self.state.borrow_mut().mode = Mode::Done;
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }
}

/// Creates `tenant` from `body`, returning it and the idempotency keys it brought.
/// Refused, with nothing written, unless the tenant is new and the imported ledger passes
/// the audit.
pub fn import(
    view: &mut View<'_>,
    tenant: &TenantName,
    body: &SnapshotBody,
    base_ms: u64,
) -> Result<(TenantInfo, Vec<String>), LedgerError> {
    if tenants::meta(view, tenant)?.is_some() {
        return Err(LedgerError::TenantExists(tenant.to_string()));
    }
    if body.clock_ms > super::clock::LATEST_MS {
        return Err(LedgerError::InvalidSnapshot(
            "its clock is past the start of the year 9000, the latest a tenant's clock goes"
                .to_owned(),
        ));
    }
    let clock_offset_ms = i64::try_from(i128::from(body.clock_ms) - i128::from(base_ms))
        .map_err(|_| LedgerError::InvalidSnapshot("its clock is out of range".to_owned()))?;
    let meta = TenantMeta {
        seed: body.seed,
        seq: body.seq,
        next_server: body.next_server,
        clock_offset_ms,
        // A snapshot carries no seat token: the imported tenant is open to anyone.
        seat_token_sha256: None,
    };
    records::write(view, Keys::new(tenant).meta(), &meta)?;
    let prefix = Keys::new(tenant).all();
    let mut idempotency_keys = Vec::new();
    for (name, text) in &body.records {
        let bytes =
            stored_form(name, text.get().as_bytes()).map_err(LedgerError::InvalidSnapshot)?;
        if let Some(key) = name.strip_prefix("idem/") {
            idempotency_keys.push(key.to_owned());
        }
        let mut key = prefix.clone();
        key.extend_from_slice(name.as_bytes());
        view.put(key, bytes);
    }
    let report = audit::audit(view, tenant)?;
    if !report.ok {
        return Err(LedgerError::InvalidSnapshot(format!(
            "the snapshot's ledger does not pass the audit: {}",
            report.problems.join("; ")
        )));
    }
    Ok((
        TenantInfo {
            name: tenant.to_string(),
            seed: body.seed,
        },
        idempotency_keys,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> (String, SnapshotBody) {
        let body = SnapshotBody {
            exported_from: "lab".to_owned(),
            clock_ms: 1_800_000_000_000,
            seed: 7,
            seq: 3,
            next_server: 2,
            records: BTreeMap::from([(
                "k".to_owned(),
                RawValue::from_string(r#"{"v":[1,2]}"#.to_owned()).unwrap(),
            )]),
        };
        (serde_json::to_string(&body).unwrap(), body)
    }

    fn sha(text: &str) -> String {
        hex(&Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn a_file_reads_whatever_the_order_of_its_fields_and_the_spaces_around_its_body() {
        let (text, body) = body();
        let sha = sha(&text);
        for file in [
            format!(r#"{{"format":"{FORMAT}","version":1,"sha256":"{sha}","body":{text}}}"#),
            format!(r#"{{"body" :  {text} , "sha256":"{sha}", "version":1, "format":"{FORMAT}"}}"#),
            format!(
                "{{\n  \"format\": \"{FORMAT}\",\n  \"version\": 1,\n  \"sha256\": \"{sha}\",\n  \"body\":\n\t{text}\n}}\n"
            ),
        ] {
            assert_eq!(read(file.as_bytes()).unwrap(), body, "{file}");
        }
    }

    #[test]
    fn a_body_changed_by_one_byte_fails_its_checksum() {
        let (text, _) = body();
        let sha = sha(&text);
        let changed = text.replace("\"seed\":7", "\"seed\":8");
        let file =
            format!(r#"{{"format":"{FORMAT}","version":1,"sha256":"{sha}","body":{changed}}}"#);
        let e = read(file.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("do not match its checksum"), "{e}");
    }

    #[test]
    fn another_version_is_refused_before_its_body_is_read() {
        let file = format!(
            r#"{{"format":"{FORMAT}","version":2,"sha256":"00","body":{{"a layout":"of its own"}}}}"#
        );
        let e = read(file.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    }

    #[test]
    fn a_second_body_is_refused() {
        let (text, _) = body();
        let sha = sha(&text);
        let file = format!(
            r#"{{"format":"{FORMAT}","version":1,"sha256":"{sha}","body":{text},"body":{text}}}"#
        );
        assert!(read(file.as_bytes()).is_err());
    }
}
