//! The compact binary form of a key pack record, the record every issuance writes.
//!
//! sled rewrites a whole leaf of its tree every ten changes to it, and a leaf holds sixteen
//! entries: sixteen groups of ten key packs ([`super::records::LAYOUT`]). As JSON a key
//! pack took about 220 bytes, so each issuance made sled write some 8 KB. In this form it
//! takes about 80: its ID is not kept, since it follows from the license server ID it is
//! bound to, its contents and its serial ([`KeyPackId::issue`]), and IDs are kept as the
//! number their 35 digits spell. The form is `postcard` behind a tag byte that no JSON
//! text starts with; records an earlier store wrote as JSON still read, and a store with
//! compact key packs cannot go back to a version before this form.
//!
//! postcard writes fields by position: the types below are this module's own, so that a
//! field added to a record type cannot change how stored key packs read. A change here
//! needs a new tag, and the test that pins the bytes says so.
//!
//! With the ID recomputed, the audit's check that an ID opens to the version, type and
//! quantity on record always holds for a compact key pack: a damaged field would change the
//! ID it reads back with rather than disagree with it.

use serde::{Deserialize, Serialize};
use shared::id::{KeyPackContents, KeyPackId, KeyPackSerial, LicenseServerId};
use shared::vocab::{
    LicenseProgram, LicenseType, MigrationReason, ProductVersion, Quantity, WindowsServer,
};

use super::records::{KeyPackEntry, Moved, Origin};

/// The first byte of a key pack in compact form, version 1.
const TAG: u8 = 0x01;

/// A key pack as it is stored, without what follows from the rest.
#[derive(Serialize, Deserialize)]
struct Stored {
    serial: KeyPackSerial,
    server: u64,
    bound_to: u128,
    source: String,
    program: LicenseProgram,
    product_version: ProductVersion,
    license_type: LicenseType,
    issued: u16,
    held: u16,
    origin: StoredOrigin,
    moved: Vec<StoredMove>,
}

#[derive(Serialize, Deserialize)]
enum StoredOrigin {
    Installed,
    Migrated {
        from: u64,
        reason: MigrationReason,
        source_os: Option<WindowsServer>,
        reachable: bool,
    },
    Recovered,
}

impl From<Origin> for StoredOrigin {
    fn from(origin: Origin) -> Self {
        match origin {
            Origin::Installed => StoredOrigin::Installed,
            Origin::Migrated {
                from,
                reason,
                source_os,
                reachable,
            } => StoredOrigin::Migrated {
                from,
                reason,
                source_os,
                reachable,
            },
            Origin::Recovered => StoredOrigin::Recovered,
        }
    }
}

impl From<StoredOrigin> for Origin {
    fn from(origin: StoredOrigin) -> Self {
        match origin {
            StoredOrigin::Installed => Origin::Installed,
            StoredOrigin::Migrated {
                from,
                reason,
                source_os,
                reachable,
            } => Origin::Migrated {
                from,
                reason,
                source_os,
                reachable,
            },
            StoredOrigin::Recovered => Origin::Recovered,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredMove {
    to: u128,
    to_server: u128,
    quantity: u16,
}

/// The number an ID's 35 digits spell.
fn number(compact: &str) -> Option<u128> {
    compact.parse().ok()
}

/// The ID whose 35 digits spell `n`, if they make a valid ID of that kind.
fn id<T: std::str::FromStr>(n: u128) -> Option<T> {
    format!("{n:035}").parse().ok()
}

/// `entry` in compact form, or `None` if its ID does not follow from the rest (an ID edited
/// in a snapshot, say), which keeps it as JSON.
pub fn encode(entry: &KeyPackEntry) -> Option<Vec<u8>> {
    let contents = KeyPackContents {
        product_version: entry.product_version,
        license_type: entry.license_type,
        quantity: Quantity::new(entry.issued).ok()?,
    };
    if KeyPackId::issue(&entry.bound_to, contents, entry.serial) != entry.id {
        return None;
    }
    let moved = entry
        .moved
        .iter()
        .map(|m| {
            Some(StoredMove {
                to: number(m.to.compact())?,
                to_server: number(m.to_server.compact())?,
                quantity: m.quantity,
            })
        })
        .collect::<Option<_>>()?;
    let stored = Stored {
        serial: entry.serial,
        server: entry.server,
        bound_to: number(entry.bound_to.compact())?,
        source: entry.source.clone(),
        program: entry.program,
        product_version: entry.product_version,
        license_type: entry.license_type,
        issued: entry.issued,
        held: entry.held,
        origin: entry.origin.into(),
        moved,
    };
    postcard::to_extend(&stored, vec![TAG]).ok()
}

/// Whether `bytes` hold a key pack in a binary form (this one, or another a newer version
/// wrote) rather than JSON, which starts with a printable character or white space.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes
        .first()
        .is_some_and(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
}

/// The key pack in compact form in `bytes`, or why it cannot be read.
pub fn decode(bytes: &[u8]) -> Result<KeyPackEntry, String> {
    let body = match bytes.split_first() {
        Some((&TAG, body)) => body,
        Some((tag, _)) => {
            return Err(format!(
                "a key pack in a binary form this version does not know (tag {tag}): a newer version of the clearinghouse wrote this store"
            ));
        }
        None => return Err("an empty key pack record".to_owned()),
    };
    let (stored, rest): (Stored, _) = postcard::take_from_bytes(body).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!(
            "{} unexpected byte(s) after the key pack",
            rest.len()
        ));
    }
    let bound_to: LicenseServerId =
        id(stored.bound_to).ok_or("its license server ID is not valid")?;
    let quantity = Quantity::new(stored.issued).map_err(|e| e.to_string())?;
    let contents = KeyPackContents {
        product_version: stored.product_version,
        license_type: stored.license_type,
        quantity,
    };
    let moved = stored
        .moved
        .into_iter()
        .map(|m| {
            Ok(Moved {
                to: id(m.to).ok_or("a key pack it moved CALs to has no valid ID")?,
                to_server: id(m.to_server)
                    .ok_or("a license server it moved CALs to has no valid ID")?,
                quantity: m.quantity,
            })
        })
        .collect::<Result<_, &str>>()?;
    Ok(KeyPackEntry {
        id: KeyPackId::issue(&bound_to, contents, stored.serial),
        serial: stored.serial,
        server: stored.server,
        bound_to,
        source: stored.source,
        program: stored.program,
        product_version: stored.product_version,
        license_type: stored.license_type,
        issued: stored.issued,
        held: stored.held,
        origin: stored.origin.into(),
        moved,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use shared::id::ProductId;
    use shared::vocab::{MigrationReason, WindowsServer};

    use super::*;
    use crate::ledger::records::Record;

    fn server_id(seed: u64) -> LicenseServerId {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let product_id = ProductId::generate(WindowsServer::V2022, &mut rng);
        LicenseServerId::issue(&product_id, &mut rng)
    }

    fn key_pack(serial: u32, origin: Origin) -> KeyPackEntry {
        let bound_to = server_id(1);
        let serial = KeyPackSerial::new(serial).unwrap();
        let contents = KeyPackContents {
            product_version: ProductVersion::WindowsServer2022,
            license_type: LicenseType::PerUser,
            quantity: Quantity::new(25).unwrap(),
        };
        KeyPackEntry {
            id: KeyPackId::issue(&bound_to, contents, serial),
            serial,
            server: 3,
            bound_to,
            source: "agreement:12345678".to_owned(),
            program: LicenseProgram::EnterpriseAgreement,
            product_version: contents.product_version,
            license_type: contents.license_type,
            issued: 25,
            held: 25,
            origin,
            moved: Vec::new(),
        }
    }

    fn json(entry: &KeyPackEntry) -> serde_json::Value {
        serde_json::to_value(entry).unwrap()
    }

    #[test]
    fn a_key_pack_is_kept_in_under_half_its_json_and_reads_back_whole() {
        let entry = key_pack(1234, Origin::Installed);
        let bytes = entry.encode().unwrap();
        let as_json = serde_json::to_vec(&entry).unwrap();
        assert!(is_binary(&bytes));
        assert!(
            bytes.len() * 2 < as_json.len(),
            "{} bytes compact, {} as JSON",
            bytes.len(),
            as_json.len()
        );
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(json(&read), json(&entry));
    }

    fn migrated() -> KeyPackEntry {
        let mut entry = key_pack(
            7,
            Origin::Migrated {
                from: 2,
                reason: MigrationReason::SourceNotFunctioning,
                source_os: Some(WindowsServer::V2019),
                reachable: false,
            },
        );
        let to_server = server_id(2);
        for (serial, quantity) in [(0, 5), (1, 3)] {
            let contents = KeyPackContents {
                product_version: entry.product_version,
                license_type: entry.license_type,
                quantity: Quantity::new(quantity).unwrap(),
            };
            entry.moved.push(Moved {
                to: KeyPackId::issue(&to_server, contents, KeyPackSerial::new(serial).unwrap()),
                to_server,
                quantity,
            });
        }
        entry.held = 17;
        entry
    }

    #[test]
    fn a_migrated_key_pack_that_gave_cals_away_reads_back_whole() {
        let entry = migrated();
        let bytes = entry.encode().unwrap();
        assert!(is_binary(&bytes));
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(json(&read), json(&entry));
    }

    /// Key packs as this form was first written: stores hold them, so they must always
    /// read back the same.
    const PINNED: [&str; 2] = [
        "01d209039d87f78cf8bfb2c8a7becedf98c081eb0c1261677265656d656e743a313233343536373814656e74657270726973652d61677265656d656e740432303232087065722d7573657219190000",
        "0107039d87f78cf8bfb2c8a7becedf98c081eb0c1261677265656d656e743a313233343536373814656e74657270726973652d61677265656d656e740432303232087065722d757365721911010216736f757263652d6e6f742d66756e6374696f6e696e670104323031390002e2c6e4e6b7f1a2c3aae6a1a99ee997850691ecffe0f9f7d387e3ec9de6a5fb9cf30c05eba2bcde93ee9dded5b19fb6be8c99850691ecffe0f9f7d387e3ec9de6a5fb9cf30c03",
    ];

    #[test]
    fn key_packs_stored_in_this_form_read_back_the_same_and_are_written_the_same() {
        for (entry, pinned) in [key_pack(1234, Origin::Installed), migrated()]
            .iter()
            .zip(PINNED)
        {
            let bytes: Vec<u8> = (0..pinned.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&pinned[i..i + 2], 16).unwrap())
                .collect();
            let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
            assert_eq!(
                json(&read),
                json(entry),
                "stored key packs would read differently"
            );
            assert_eq!(
                entry.encode().unwrap(),
                bytes,
                "the compact form changed: give the new form a new tag, and keep reading this one"
            );
        }
    }

    #[test]
    fn extra_bytes_after_a_key_pack_and_an_unknown_form_are_refused_saying_why() {
        let mut bytes = key_pack(40, Origin::Installed).encode().unwrap();
        bytes.push(0);
        let error = KeyPackEntry::decode(b"kp", &bytes).unwrap_err().to_string();
        assert!(error.contains("1 unexpected byte(s)"), "{error}");
        bytes[0] = 0x02;
        let error = KeyPackEntry::decode(b"kp", &bytes).unwrap_err().to_string();
        assert!(error.contains("a newer version"), "{error}");
    }

    #[test]
    fn a_key_pack_an_earlier_store_kept_as_json_still_reads() {
        let entry = key_pack(12, Origin::Recovered);
        let earlier = serde_json::to_vec(&entry).unwrap();
        let read = KeyPackEntry::decode(b"kp", &earlier).unwrap();
        assert_eq!(json(&read), json(&entry));
    }

    #[test]
    fn a_key_pack_whose_id_does_not_follow_from_its_contents_is_kept_as_json_with_its_id() {
        let mut entry = key_pack(12, Origin::Installed);
        entry.id = key_pack(13, Origin::Installed).id;
        let bytes = entry.encode().unwrap();
        assert!(!is_binary(&bytes));
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(read.id, entry.id);
    }

    #[test]
    fn a_snapshot_reads_a_compact_key_pack_as_the_json_it_stands_for() {
        let entry = key_pack(40, Origin::Installed);
        let bytes = entry.encode().unwrap();
        let text = crate::ledger::records::json_text(b"kp", bytes).unwrap();
        let value: serde_json::Value = serde_json::from_str(text.get()).unwrap();
        assert_eq!(value, json(&entry));
    }

    #[test]
    fn a_damaged_compact_key_pack_is_reported_with_its_key() {
        let bytes = key_pack(40, Origin::Installed).encode().unwrap();
        let error = KeyPackEntry::decode(b"t/default/kp/3/40", &bytes[..bytes.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(error.contains("t/default/kp/3/40"), "{error}");
    }
}
