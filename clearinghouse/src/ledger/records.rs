//! What the ledger stores, and under which keys.
//!
//! Every key of a tenant starts with `t/<tenant>/`, so tenants never see each other's
//! records and a tenant is reset or deleted by its prefix. Records are JSON, except key
//! packs ([`super::compact`]): each [`Record`] says how it is kept.
//!
//! | key | record |
//! | --- | --- |
//! | `tenants/<tenant>` | [`TenantMeta`] |
//! | `t/<tenant>/purchase/<source>` | [`Purchase`]: an agreement, Open License or retail pack |
//! | `t/<tenant>/server/<n>` | [`ServerRecord`] |
//! | `t/<tenant>/company/<n>` | the company information server `n` was activated with |
//! | `t/<tenant>/lsid/<license server id>` | the server number holding that ID |
//! | `t/<tenant>/pid/<product id>` | the server number activated with that product ID |
//! | `t/<tenant>/kp/<n>/<serial>` | [`KeyPackEntry`] of key pack number `serial` of server `n` |
//! | `t/<tenant>/held/<source>/<version>/<type>/<n>` | how many CALs of a purchase server `n` holds |
//! | `t/<tenant>/idem/<key>` | [`IdempotencyRecord`] |
//! | `t/<tenant>/hist/<n>` | the tenant's `n`th change, a [`HistoryRecord`] |
//! | `classes/<class>` | a training lab's [`shared::wire::ClassReport`] |
//!
//! A key pack never leaves the server it was issued to (its CALs may), so its key starts
//! with the server, followed by its serial (which its ID carries): new key packs are
//! appended in order. Issuing a key pack writes three records (the key pack, the saved
//! answer and a line of history); the counters it updates are shared by the requests of a
//! batch, which the writer commits once.
//!
//! The records appended in order (key packs, history) are packed by the store below
//! ([`LAYOUT`]): ten key packs of a server, or ten lines of history, to one stored entry.
//! Their keys are laid out for it: the group is a fixed-width part of the key, the member
//! its last digit. Saved answers, written and read at random, stay one to an entry: small
//! entries cost little to read back.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;
use shared::id::{ConfirmationCode, KeyPackId, KeyPackSerial, LicenseServerId, ProductId};
use shared::vocab::{
    LicenseProgram, LicenseProof, LicenseType, MigrationReason, ProductVersion, Proof, Term,
    WindowsServer,
};
use shared::wire::{KeyPackOrigin, Problem};

use super::{Answer, LedgerError, TenantName};
use crate::store::View;

/// A tenant's settings and counters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantMeta {
    /// The seed every generated ID derives from.
    pub seed: u64,
    /// How many mutations were applied: with the seed, it fixes the next IDs.
    pub seq: u64,
    /// The number the next activated license server gets.
    pub next_server: u64,
    /// How far the tenant's clock is from the clearinghouse's, in milliseconds.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// For a class's seat: the SHA-256 of its seat token (hex), which every request for
    /// the tenant must carry. The token itself is not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_token_sha256: Option<String>,
}

impl TenantMeta {
    /// The time on the tenant's clock when the clearinghouse's reads `base_ms`.
    pub fn now_ms(&self, base_ms: u64) -> u64 {
        let ms = i128::from(base_ms) + i128::from(self.clock_offset_ms);
        u64::try_from(ms.max(0)).unwrap_or(u64::MAX)
    }
}

/// CALs of one product version and license type bought under a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The Windows Server version.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many were bought.
    pub purchased: u32,
    /// How many are not allocated to any license server.
    pub unallocated: u32,
}

/// An agreement, Open License or retail license pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Purchase {
    /// The program and its proof.
    pub license: LicenseProof,
    /// What was bought.
    pub holdings: Vec<Holding>,
    /// For a retail license pack: the key pack its code was used for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<KeyPackId>,
}

impl Purchase {
    /// What was bought of one product version and license type.
    pub fn holding(
        &self,
        product_version: ProductVersion,
        license_type: LicenseType,
    ) -> Option<&Holding> {
        self.holdings
            .iter()
            .find(|h| h.product_version == product_version && h.license_type == license_type)
    }

    /// The same, to change.
    pub fn holding_mut(
        &mut self,
        product_version: ProductVersion,
        license_type: LicenseType,
    ) -> Option<&mut Holding> {
        self.holdings
            .iter_mut()
            .find(|h| h.product_version == product_version && h.license_type == license_type)
    }

    /// Whether this is a retail license pack, whose code is used once.
    pub fn is_retail(&self) -> bool {
        self.license.program() == LicenseProgram::RetailPurchase
    }
}

/// A license server known to the Clearinghouse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerRecord {
    /// Its number within the tenant.
    pub no: u64,
    /// The product ID it was activated with.
    pub product_id: ProductId,
    /// Its license server ID.
    pub current_id: LicenseServerId,
    /// How many key packs it was issued: the serial of the next one.
    pub key_packs_issued: u32,
    /// The IDs it had before reactivations, oldest first.
    pub former_ids: Vec<LicenseServerId>,
    /// Set while it is deactivated.
    pub deactivated: Option<ConfirmationCode>,
}

/// How a key pack came to its license server, with what the ledger needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Installed from a purchase.
    Installed,
    /// Migrated from another license server.
    Migrated {
        /// The source server's number.
        from: u64,
        /// Why.
        reason: MigrationReason,
        /// The source's operating system, when it was given.
        #[serde(default)]
        source_os: Option<WindowsServer>,
        /// Whether the target reached it on the network.
        reachable: bool,
    },
    /// Reissued after a restore onto a new installation.
    Recovered,
}

impl Origin {
    /// The origin as the API reports it.
    pub fn wire(self) -> KeyPackOrigin {
        match self {
            Origin::Installed => KeyPackOrigin::Installed,
            Origin::Migrated { .. } => KeyPackOrigin::Migrated,
            Origin::Recovered => KeyPackOrigin::Recovered,
        }
    }
}

/// Where some of a key pack's CALs went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// The key pack that took them.
    pub to: KeyPackId,
    /// The license server ID that key pack is bound to.
    pub to_server: LicenseServerId,
    /// How many.
    pub quantity: u16,
}

/// A key pack issued by the Clearinghouse.
///
/// The store keeps it in a compact form ([`super::compact`]); its JSON, with short field
/// names, is what a snapshot carries, what stores written before that form hold, and how
/// one whose ID does not follow from the rest is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyPackEntry {
    /// Its ID.
    #[serde(rename = "i")]
    pub id: KeyPackId,
    /// Its number among the key packs of its server.
    #[serde(rename = "n")]
    pub serial: KeyPackSerial,
    /// The number of the license server holding it.
    #[serde(rename = "s")]
    pub server: u64,
    /// The license server ID it is bound to.
    #[serde(rename = "b")]
    pub bound_to: LicenseServerId,
    /// The purchase its CALs come from (a [`source_key`]).
    #[serde(rename = "src")]
    pub source: String,
    /// The purchase's program.
    #[serde(rename = "p")]
    pub program: LicenseProgram,
    /// The Windows Server version.
    #[serde(rename = "v")]
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    #[serde(rename = "t")]
    pub license_type: LicenseType,
    /// How many CALs it was issued with (what its ID carries).
    #[serde(rename = "q")]
    pub issued: u16,
    /// How many are still allocated to its license server.
    #[serde(rename = "h")]
    pub held: u16,
    /// How it came about.
    #[serde(rename = "o")]
    pub origin: Origin,
    /// Where CALs that left it went.
    #[serde(rename = "m", default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Moved>,
}

impl KeyPackEntry {
    /// Whether it holds (or held) CALs of `source`, version and type.
    pub fn is_of(
        &self,
        source: &str,
        product_version: ProductVersion,
        license_type: LicenseType,
    ) -> bool {
        self.source == source
            && self.product_version == product_version
            && self.license_type == license_type
    }
}

/// A change in a tenant's history, kept small: one is written with every change, and a
/// key pack issued (most of them) is on record already, so only where to find it is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// When, in milliseconds of the tenant's clock.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The connection method the request came by.
    #[serde(rename = "m")]
    pub method: shared::vocab::ConnectionMethod,
    /// What was done.
    #[serde(rename = "a")]
    pub action: shared::wire::Action,
    /// What it issued, and to which license server.
    #[serde(rename = "i")]
    pub issued: HistoryIssued,
}

/// What a change issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum HistoryIssued {
    /// Key pack number `serial` of server `server` (its ID and license server are on
    /// record with it).
    #[serde(rename = "k")]
    KeyPack {
        /// The server's number.
        #[serde(rename = "s")]
        server: u64,
        /// The key pack's serial.
        #[serde(rename = "n")]
        serial: KeyPackSerial,
    },
    /// An ID (a license server ID or a confirmation code), for license server `to`.
    #[serde(rename = "d")]
    Id {
        /// The license server concerned.
        #[serde(rename = "l")]
        to: LicenseServerId,
        /// The IDs issued.
        #[serde(rename = "i")]
        ids: Vec<String>,
    },
}

/// The saved answer to a request made with an idempotency key.
///
/// Stored with short field names (the long ones of earlier stores still read): there is
/// one per request with a key, read at random, and the store keeps what it reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// SHA-256 of the request, hex.
    #[serde(rename = "h", alias = "request_hash")]
    pub request_hash: String,
    /// When it was first answered, in milliseconds of the tenant's clock.
    #[serde(rename = "c", alias = "created_ms")]
    pub created_ms: u64,
    /// The answer.
    #[serde(rename = "o", alias = "outcome")]
    pub outcome: SavedOutcome,
}

/// A saved answer, kept small: most are key packs, which are on record already, so only
/// where to find one is saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SavedOutcome {
    /// Key pack number `serial` of server `server` was issued.
    #[serde(rename = "k", alias = "KeyPack")]
    KeyPack {
        /// The server's number.
        #[serde(rename = "s", alias = "server")]
        server: u64,
        /// The key pack's serial.
        #[serde(rename = "n", alias = "serial")]
        serial: KeyPackSerial,
    },
    /// Any other answer.
    #[serde(rename = "a", alias = "Answer")]
    Answer(Answer),
    /// The request was refused.
    #[serde(rename = "r", alias = "Refused")]
    Refused(Problem),
}

/// The key of the purchase a proof identifies: agreement numbers are unique across
/// programs (so a number given under the wrong program can be recognised), Open License
/// numbers and retail codes each have their own space.
pub fn source_key(license: &LicenseProof) -> String {
    match license.proof() {
        Proof::LicenseCode(code) => format!("code:{}", code.as_str()),
        Proof::OpenLicense { license_number, .. } => format!("open:{}", license_number.as_str()),
        Proof::AgreementNumber(number) => format!("agreement:{}", number.as_str()),
    }
}

/// Builds the keys of one tenant.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'t> {
    tenant: &'t TenantName,
}

impl<'t> Keys<'t> {
    /// The keys of `tenant`.
    pub fn new(tenant: &'t TenantName) -> Self {
        Keys { tenant }
    }

    /// `t/<tenant>/` followed by `parts`. Keys are built by hand, not formatted: every
    /// request builds several, and formatting was a tenth of the writer's time.
    fn key(&self, parts: &[&[u8]]) -> Vec<u8> {
        let tenant = self.tenant.as_str().as_bytes();
        let len = 3 + tenant.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut key = Vec::with_capacity(len);
        key.extend_from_slice(b"t/");
        key.extend_from_slice(tenant);
        key.push(b'/');
        for part in parts {
            key.extend_from_slice(part);
        }
        key
    }

    /// The registry entry of the tenant.
    pub fn meta(&self) -> Vec<u8> {
        tenant_registry_key(self.tenant.as_str())
    }

    /// Every key of the tenant but its registry entry.
    pub fn all(&self) -> Vec<u8> {
        self.key(&[])
    }

    /// A purchase.
    pub fn purchase(&self, source: &str) -> Vec<u8> {
        self.key(&[b"purchase/", source.as_bytes()])
    }

    /// Every purchase.
    pub fn purchases(&self) -> Vec<u8> {
        self.key(&[b"purchase/"])
    }

    /// A license server.
    pub fn server(&self, no: u64) -> Vec<u8> {
        self.key(&[b"server/", &padded(no, NUMBER_DIGITS)])
    }

    /// The company information a server was activated with (apart from the server record,
    /// which nearly every request reads and this one does not need).
    pub fn company(&self, no: u64) -> Vec<u8> {
        self.key(&[b"company/", &padded(no, NUMBER_DIGITS)])
    }

    /// The index from a license server ID to its server.
    pub fn license_server_id(&self, id: &LicenseServerId) -> Vec<u8> {
        self.key(&[b"lsid/", id.compact().as_bytes()])
    }

    /// The index from a product ID to its server.
    pub fn product_id(&self, id: &ProductId) -> Vec<u8> {
        self.key(&[b"pid/", id.compact().as_bytes()])
    }

    /// Key pack number `serial` of server `server`.
    pub fn key_pack(&self, server: u64, serial: KeyPackSerial) -> Vec<u8> {
        let serial = padded(u64::from(serial.get()), SERIAL_DIGITS);
        self.key(&[b"kp/", &padded(server, NUMBER_DIGITS), b"/", &serial])
    }

    /// Every key pack.
    pub fn key_packs(&self) -> Vec<u8> {
        self.key(&[b"kp/"])
    }

    /// The key packs of a server.
    pub fn server_key_packs(&self, server: u64) -> Vec<u8> {
        self.key(&[b"kp/", &padded(server, NUMBER_DIGITS), b"/"])
    }

    /// How many CALs of `source`, version and type server `server` holds.
    pub fn held(
        &self,
        source: &str,
        product_version: ProductVersion,
        license_type: LicenseType,
        server: u64,
    ) -> Vec<u8> {
        let mut key = self.held_by_all(source, product_version, license_type);
        key.extend_from_slice(&padded(server, NUMBER_DIGITS));
        key
    }

    /// The counters of every server for `source`, version and type.
    pub fn held_by_all(
        &self,
        source: &str,
        product_version: ProductVersion,
        license_type: LicenseType,
    ) -> Vec<u8> {
        self.key(&[
            b"held/",
            source.as_bytes(),
            b"/",
            product_version.slug().as_bytes(),
            b"/",
            license_type.slug().as_bytes(),
            b"/",
        ])
    }

    /// Every counter.
    pub fn all_held(&self) -> Vec<u8> {
        self.key(&[b"held/"])
    }

    /// A saved answer.
    pub fn idempotency(&self, key: &str) -> Vec<u8> {
        self.key(&[b"idem/", key.as_bytes()])
    }

    /// The `n`th change of the tenant's history.
    pub fn history(&self, n: u64) -> Vec<u8> {
        self.key(&[b"hist/", &padded(n, NUMBER_DIGITS)])
    }

    /// The tenant's whole history, in order.
    pub fn histories(&self) -> Vec<u8> {
        self.key(&[b"hist/"])
    }
}

/// `n` in decimal, zero-padded to `width` digits (all of its digits if it has more).
fn padded(n: u64, width: usize) -> Vec<u8> {
    let mut digits = [b'0'; 20];
    let (mut rest, mut start) = (n, digits.len());
    while rest > 0 {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    digits[start.min(digits.len() - width.min(digits.len()))..].to_vec()
}

/// How the store packs the ledger's records appended in order: each packed table with the
/// length of its keys' group part (after `<table>/`).
const PACKED: [(&[u8], usize); 2] = [
    // `<server>/<serial>`, grouped by all but the serial's last digit.
    (b"kp", NUMBER_DIGITS + 1 + SERIAL_DIGITS - 1),
    // `<n>`, grouped by all but its last digit.
    (b"hist", NUMBER_DIGITS - 1),
];

/// Digits of a number in a key (a server's, a change's): any `u64`, zero-padded so that
/// keys sort in number order.
const NUMBER_DIGITS: usize = 20;
/// Digits of a key pack's serial in its key (it is at most 7 digits).
const SERIAL_DIGITS: usize = 7;

/// For a key (or prefix) of a packed table: the index of the `/` that ends the table's
/// name, and the length of the group part after it.
fn packed_table(key: &[u8]) -> Option<(usize, usize)> {
    let rest = key.strip_prefix(b"t/")?;
    let table_start = 2 + rest.iter().position(|b| *b == b'/')? + 1;
    let after = &key[table_start..];
    PACKED.iter().find_map(|(name, group_len)| {
        (after.starts_with(name) && after.get(name.len()) == Some(&b'/'))
            .then_some((table_start + name.len(), *group_len))
    })
}

/// How the store packs the ledger's records.
pub const LAYOUT: crate::store::Layout = crate::store::Layout {
    table: packed_table,
};

/// The prefix of the class reports.
pub const CLASSES: &[u8] = b"classes/";

/// The key of class `name`'s report.
pub fn class_key(name: &str) -> Vec<u8> {
    format!("classes/{name}").into_bytes()
}

/// Whether the record under `key` is read by most requests and worth caching: everything
/// but key packs, saved answers and history, which are many and read rarely.
pub fn is_hot(key: &[u8]) -> bool {
    let rest = match key.strip_prefix(b"t/") {
        Some(rest) => rest,
        None => return true,
    };
    let Some(slash) = rest.iter().position(|b| *b == b'/') else {
        return true;
    };
    let table = &rest[slash + 1..];
    !(table.starts_with(b"kp/") || table.starts_with(b"idem/") || table.starts_with(b"hist/"))
}

/// What the store keeps for `json`, the record under `key` (a key of a tenant without its
/// `t/<tenant>/` prefix, as a snapshot carries both): the text itself, but a key pack in
/// the form the store keeps the ones the ledger issues. Says what is wrong when `json` is
/// not a well-formed record of its kind.
pub fn stored_form(key: &str, json: &[u8]) -> Result<Vec<u8>, String> {
    let unreadable = |e: serde_json::Error| format!("record {key:?} is not readable: {e}");
    let table = key.split('/').next().unwrap_or_default();
    let checked = match table {
        "purchase" => serde_json::from_slice::<Purchase>(json).map(drop),
        "server" => serde_json::from_slice::<ServerRecord>(json).map(drop),
        "company" => serde_json::from_slice::<shared::vocab::CompanyInfo>(json).map(drop),
        "lsid" | "pid" => serde_json::from_slice::<u64>(json).map(drop),
        "kp" => {
            let entry: KeyPackEntry = serde_json::from_slice(json).map_err(unreadable)?;
            return entry.encode().map_err(|e| e.to_string());
        }
        "held" => serde_json::from_slice::<u32>(json).map(drop),
        "idem" => serde_json::from_slice::<IdempotencyRecord>(json).map(drop),
        "hist" => serde_json::from_slice::<HistoryRecord>(json).map(drop),
        _ => return Err(format!("record {key:?} is of no known kind")),
    };
    checked.map(|()| json.to_vec()).map_err(unreadable)
}

/// The registry entry of a tenant.
pub fn tenant_registry_key(tenant: &str) -> Vec<u8> {
    format!("tenants/{tenant}").into_bytes()
}

/// The prefix of the tenant registry.
pub const TENANT_REGISTRY: &[u8] = b"tenants/";

/// How a record is kept in the store: as JSON, except a key pack ([`super::compact`]).
pub trait Record: Sized {
    /// The record's bytes.
    fn encode(&self) -> Result<Vec<u8>, LedgerError>;
    /// The record in `bytes`, read under `key`.
    fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, LedgerError>;
}

fn corrupt(key: &[u8], e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(format!("{}: {e}", String::from_utf8_lossy(key)))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, LedgerError> {
    serde_json::to_vec(value).map_err(|e| LedgerError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, LedgerError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e))
}

macro_rules! json_records {
    ($($record:ty),* $(,)?) => {$(
        impl Record for $record {
            fn encode(&self) -> Result<Vec<u8>, LedgerError> {
                to_json(self)
            }
            fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, LedgerError> {
                from_json(key, bytes)
            }
        }
    )*};
}

json_records!(
    TenantMeta,
    Purchase,
    ServerRecord,
    IdempotencyRecord,
    HistoryRecord,
    shared::vocab::CompanyInfo,
    shared::wire::ClassReport,
    u64,
);

impl Record for KeyPackEntry {
    fn encode(&self) -> Result<Vec<u8>, LedgerError> {
        super::compact::encode(self).map_or_else(|| to_json(self), Ok)
    }

    fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, LedgerError> {
        if super::compact::is_binary(bytes) {
            super::compact::decode(bytes).map_err(|e| corrupt(key, e))
        } else {
            from_json(key, bytes)
        }
    }
}

/// The record under `key` as JSON text, as a snapshot carries it.
pub fn json_text(key: &[u8], bytes: Vec<u8>) -> Result<Box<RawValue>, LedgerError> {
    if super::compact::is_binary(&bytes) {
        serde_json::value::to_raw_value(&KeyPackEntry::decode(key, &bytes)?)
            .map_err(|e| corrupt(key, e))
    } else {
        let text = String::from_utf8(bytes).map_err(|e| corrupt(key, e))?;
        RawValue::from_string(text).map_err(|e| corrupt(key, e))
    }
}

/// Reads a record.
pub fn read<T: Record>(view: &View<'_>, key: &[u8]) -> Result<Option<T>, LedgerError> {
    view.get(key)?
        .map(|bytes| T::decode(key, &bytes))
        .transpose()
}

/// Decodes a record read under `key`.
pub fn decode<T: Record>(key: &[u8], bytes: &[u8]) -> Result<T, LedgerError> {
    T::decode(key, bytes)
}

/// Writes a record.
pub fn write<T: Record>(view: &mut View<'_>, key: Vec<u8>, value: &T) -> Result<(), LedgerError> {
    view.put(key, value.encode()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_answer_is_written_short_and_one_an_earlier_store_wrote_still_reads() {
        let earlier = br#"{"created_ms":1795719004479,"outcome":{"KeyPack":{"serial":3,"server":1}},"request_hash":"d341b00dc526a7105013390d1d3b1176"}"#;
        let record: IdempotencyRecord = serde_json::from_slice(earlier).unwrap();
        assert_eq!(record.created_ms, 1_795_719_004_479);
        assert!(matches!(
            record.outcome,
            SavedOutcome::KeyPack { server: 1, serial } if serial.get() == 3
        ));
        let written = serde_json::to_string(&record).unwrap();
        assert_eq!(
            written,
            r#"{"h":"d341b00dc526a7105013390d1d3b1176","c":1795719004479,"o":{"k":{"s":1,"n":3}}}"#
        );
        assert_eq!(stored_form("idem/k", earlier).unwrap(), earlier);
    }

    #[test]
    fn numbers_in_keys_are_zero_padded_as_formatting_would() {
        for n in [0, 7, 1234, 9_999_999, 10_000_000, u64::MAX] {
            assert_eq!(padded(n, 7), format!("{n:07}").into_bytes());
            assert_eq!(padded(n, 20), format!("{n:020}").into_bytes());
        }
        assert_eq!(
            Keys::new(&TenantName::default_tenant()).key_pack(3, KeyPackSerial::new(45).unwrap()),
            b"t/default/kp/00000000000000000003/0000045"
        );
    }

    #[test]
    fn key_packs_and_history_are_packed_by_all_but_their_last_digit_and_answers_are_not() {
        let key_pack =
            Keys::new(&TenantName::default_tenant()).key_pack(1, KeyPackSerial::new(1234).unwrap());
        let (table_end, group_len) = packed_table(&key_pack).unwrap();
        assert_eq!(&key_pack[table_end + 1 + group_len..], b"4");
        let history = Keys::new(&TenantName::default_tenant()).history(57);
        let (table_end, group_len) = packed_table(&history).unwrap();
        assert_eq!(&history[table_end + 1 + group_len..], b"7");
        let answer = Keys::new(&TenantName::default_tenant()).idempotency("k");
        assert_eq!(packed_table(&answer), None);
    }
}
