//! The compact binary form of a key pack record, the record every issuance writes.
//!
//! sled rewrites a whole leaf of its tree every ten changes to it, and a leaf holds sixteen
//! entries: sixteen groups of ten key packs ([`super::records::LAYOUT`]). As JSON a key
//! pack took about 220 bytes, so each issuance made sled write some 8 KB. In this form it
//! takes about 80: its ID is not kept, since it follows from the license server ID it is
//! bound to, its contents and its serial ([`KeyPackId::issue`]), and IDs are kept as the
//! number their 35 digits spell. The form is `postcard` behind a tag byte that no JSON
//! text starts with; records an earlier store wrote as JSON still read.

use serde::{Deserialize, Serialize};
use shared::id::{KeyPackContents, KeyPackId, KeyPackSerial, LicenseServerId};
use shared::vocab::{LicenseProgram, LicenseType, ProductVersion, Quantity};

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
    origin: Origin,
    moved: Vec<StoredMove>,
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

/// `entry` in compact form, or `None` if its ID does not follow from the rest (a key pack
/// an earlier version issued, or one taken from a snapshot), which keeps it as JSON.
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
        origin: entry.origin,
        moved,
    };
    let mut bytes = vec![TAG];
    postcard::to_io(&stored, &mut bytes).ok()?;
    Some(bytes)
}

/// Whether `bytes` hold a key pack in compact form.
pub fn is_compact(bytes: &[u8]) -> bool {
    bytes.first() == Some(&TAG)
}

/// The key pack in compact form in `bytes`, or why it cannot be read.
pub fn decode(bytes: &[u8]) -> Result<KeyPackEntry, String> {
    let body = bytes
        .strip_prefix(&[TAG])
        .ok_or("not a key pack in compact form")?;
    let stored: Stored = postcard::from_bytes(body).map_err(|e| e.to_string())?;
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
        origin: stored.origin,
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
        assert!(is_compact(&bytes));
        assert!(
            bytes.len() * 2 < as_json.len(),
            "{} bytes compact, {} as JSON",
            bytes.len(),
            as_json.len()
        );
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(json(&read), json(&entry));
    }

    #[test]
    fn a_migrated_key_pack_that_gave_cals_away_reads_back_whole() {
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
        let bytes = entry.encode().unwrap();
        assert!(is_compact(&bytes));
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(json(&read), json(&entry));
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
        assert!(!is_compact(&bytes));
        let read = KeyPackEntry::decode(b"kp", &bytes).unwrap();
        assert_eq!(read.id, entry.id);
    }

    #[test]
    fn a_snapshot_reads_a_compact_key_pack_as_the_json_it_stands_for() {
        let entry = key_pack(40, Origin::Installed);
        let bytes = entry.encode().unwrap();
        let value = serde_json::Value::decode(b"kp", &bytes).unwrap();
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
