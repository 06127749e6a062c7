//! Snapshots: a tenant's whole state (purchases, license servers, key packs, saved
//! answers, seed, clock) as one versioned JSON file, to prepare a lab once and hand it to
//! every seat.
//!
//! The file carries a SHA-256 of its body, so a damaged or cut-short file is refused
//! before anything is written; an import is applied as one batch, and only if the
//! imported ledger passes the audit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use shared::wire::TenantInfo;

use super::records::{self, Keys, TenantMeta, check_record};
use super::{LedgerError, TenantName, audit, tenants};
use crate::store::View;

/// What the `format` field of every snapshot says.
pub const FORMAT: &str = "clearinghouse-tenant-snapshot";
/// The version of the layout this clearinghouse writes and reads.
pub const VERSION: u32 = 1;

/// A tenant's state, as a snapshot carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Every record, by its key within the tenant.
    pub records: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct FileHead<'a> {
    format: Option<String>,
    version: Option<u32>,
    sha256: Option<String>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
}

/// The snapshot of `tenant`, as the text of its file.
pub fn export(view: &View<'_>, tenant: &TenantName, base_ms: u64) -> Result<String, LedgerError> {
    let meta = tenants::meta(view, tenant)?
        .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_string()))?;
    let prefix = Keys::new(tenant).all();
    let mut records = BTreeMap::new();
    for entry in view.scan(&prefix) {
        let (key, bytes) = entry?;
        let name = String::from_utf8(key[prefix.len()..].to_vec())
            .map_err(|_| LedgerError::Corrupt("a key that is not UTF-8".to_owned()))?;
        let value: serde_json::Value = records::decode(&key, &bytes)?;
        records.insert(name, value);
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a snapshot file, refusing anything damaged, truncated or foreign.
pub fn parse(bytes: &[u8]) -> Result<SnapshotBody, LedgerError> {
    let invalid = |m: String| LedgerError::InvalidSnapshot(m);
    let head: FileHead<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            invalid(format!(
                "the snapshot ends early (line {}, column {}): it was cut short; export it again",
                e.line(),
                e.column()
            ))
        } else {
            invalid(format!(
                "this is not a clearinghouse snapshot: it is not JSON ({e})"
            ))
        }
    })?;
    match head.format.as_deref() {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(invalid(format!(
                "this is not a clearinghouse snapshot: its format is {other:?}, not {FORMAT:?}"
            )));
        }
        None => {
            return Err(invalid(format!(
                "this is not a clearinghouse snapshot: it has no \"format\": {FORMAT:?}"
            )));
        }
    }
    match head.version {
        Some(VERSION) => {}
        Some(v) => {
            return Err(invalid(format!(
                "snapshot version {v} is not supported; this clearinghouse reads version {VERSION}"
            )));
        }
        None => return Err(invalid("the snapshot has no version".to_owned())),
    }
    let (Some(sha256), Some(body)) = (head.sha256, head.body) else {
        return Err(invalid(
            "the snapshot is damaged: its checksum or its body is missing".to_owned(),
        ));
    };
    if hex(&Sha256::digest(body.get().as_bytes())) != sha256 {
        return Err(invalid(
            "the snapshot is damaged: its contents do not match its checksum".to_owned(),
        ));
    }
    serde_json::from_str(body.get()).map_err(|e| {
        invalid(format!(
            "the snapshot is damaged: its body does not read ({e})"
        ))
    })
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
    };
    records::write(view, Keys::new(tenant).meta(), &meta)?;
    let prefix = Keys::new(tenant).all();
    let mut idempotency_keys = Vec::new();
    for (name, value) in &body.records {
        let bytes = serde_json::to_vec(value).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        check_record(name, &bytes).map_err(LedgerError::InvalidSnapshot)?;
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
