//! Removing CALs from a license server by hand, as RD Licensing Manager's remove and
//! uninstall actions do (WMI's `Win32_TSLicenseKeyPack.RemoveLicensesWithIdCount` and
//! `UninstallLicenseKeyPackWithId`): what a migration's reminder asks of a source that
//! cannot remove the CALs itself (older than Windows Server 2008 R2, deactivated, not on the
//! network, no longer functioning). And the check that shows when that step was skipped:
//! a key pack holding more CALs than the Clearinghouse says are still allocated to it.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use shared::id::KeyPackId;
use shared::vocab::counted;
use shared::vocab::{LicenseType, ProductVersion, Term};
use shared::wire::LicenseServerStatus;
use thiserror::Error;

use crate::state::{EventLevel, InstalledKeyPack, ServerState};

/// A key pack named by its local number on this server, or by its license key pack ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPackRef {
    /// Its local number (`status` lists it in the `#` column).
    Local(u32),
    /// Its license key pack ID.
    Id(KeyPackId),
}

impl FromStr for KeyPackRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if !text.is_empty() && text.len() <= 7 && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(KeyPackRef::Local)
                .map_err(|e| format!("{text:?}: {e}"));
        }
        text.parse().map(KeyPackRef::Id).map_err(|e| {
            format!(
                "{text:?} is neither a key pack's number on this server (as `status` lists it) nor a license key pack ID: {e}"
            )
        })
    }
}

impl std::fmt::Display for KeyPackRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPackRef::Local(n) => write!(f, "key pack {n}"),
            KeyPackRef::Id(id) => write!(f, "license key pack {id}"),
        }
    }
}

/// Why CALs could not be removed by hand; nothing was removed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RemovalError {
    /// No such key pack is installed.
    #[error(
        "{0} is not installed on this license server: `license-server status` lists its key packs"
    )]
    NoSuchKeyPack(KeyPackRef),
    /// Zero CALs asked for.
    #[error("remove at least one CAL (--count), or the whole key pack (--all)")]
    Nothing,
    /// More CALs asked for than are unissued.
    #[error(
        "key pack {local_id} has {} unissued, fewer than the {asked} asked to remove: {}",
        counted(*.available, "CAL"),
        if *.issued == 0 {
            format!("remove at most {available}")
        } else {
            format!("{issued} more are issued to clients; revoke them or let them expire first, or remove at most {available}")
        }
    )]
    NotThatMany {
        /// The key pack.
        local_id: u32,
        /// CALs asked to remove.
        asked: u32,
        /// CALs not issued to a client.
        available: u32,
        /// CALs issued to clients.
        issued: u32,
    },
    /// The whole key pack asked for, while some of its CALs are issued.
    #[error(
        "key pack {local_id} cannot be uninstalled: {issued} of its CALs are issued to clients; revoke them or let them expire first, or remove only the {available} unissued ones (--count {available})"
    )]
    Issued {
        /// The key pack.
        local_id: u32,
        /// CALs issued to clients.
        issued: u32,
        /// CALs not issued.
        available: u32,
    },
    /// The key pack holds no CALs any more.
    #[error("key pack {0} holds no CALs any more: there is nothing to remove")]
    Empty(u32),
}

/// What was removed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedByHand {
    /// The key pack's local number.
    pub local_id: u32,
    /// Its license key pack ID.
    pub key_pack_id: KeyPackId,
    /// As RD Licensing Manager lists it.
    pub label: String,
    /// CALs removed.
    pub removed: u32,
    /// CALs it holds now.
    pub left: u32,
    /// Whether the whole key pack was uninstalled.
    pub uninstalled: bool,
}

/// Removes `count` unissued CALs of the key pack `which` (or with `None` the whole key
/// pack, none of whose CALs may be issued), and logs it.
pub fn remove(
    state: &mut ServerState,
    which: &KeyPackRef,
    count: Option<u32>,
) -> Result<RemovedByHand, RemovalError> {
    let pack = state
        .key_packs
        .iter_mut()
        .find(|k| match which {
            KeyPackRef::Local(n) => k.local_id == *n,
            KeyPackRef::Id(id) => k.key_pack_id == *id,
        })
        .ok_or(RemovalError::NoSuchKeyPack(*which))?;
    let (available, issued) = (pack.available(), pack.issued);
    let removed = match count {
        Some(0) => return Err(RemovalError::Nothing),
        Some(asked) if asked > available => {
            return Err(RemovalError::NotThatMany {
                local_id: pack.local_id,
                asked,
                available,
                issued,
            });
        }
        Some(asked) => asked,
        None if issued > 0 => {
            return Err(RemovalError::Issued {
                local_id: pack.local_id,
                issued,
                available,
            });
        }
        None if pack.total() == 0 => return Err(RemovalError::Empty(pack.local_id)),
        None => pack.total(),
    };
    pack.removed_by_hand += removed;
    let outcome = RemovedByHand {
        local_id: pack.local_id,
        key_pack_id: pack.key_pack_id,
        label: pack.label(),
        removed,
        left: pack.total(),
        uninstalled: count.is_none(),
    };
    let cals = counted(removed, "CAL");
    let message = if outcome.uninstalled {
        format!(
            "key pack {} ({}, {}) was uninstalled by hand: its {cals} removed",
            outcome.local_id, outcome.label, outcome.key_pack_id
        )
    } else {
        format!(
            "{cals} removed by hand from key pack {} ({}, {}); it holds {} now",
            outcome.local_id, outcome.label, outcome.key_pack_id, outcome.left
        )
    };
    state.log(EventLevel::Information, message);
    Ok(outcome)
}

/// CALs of one version and type that this license server holds beyond what the
/// Clearinghouse allocates it: they were migrated to another license server and must be
/// removed here by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The CALs' version.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// As RD Licensing Manager lists them.
    pub label: String,
    /// CALs of this version and type the key packs hold here.
    pub holds: u32,
    /// CALs of this version and type the Clearinghouse allocates to those key packs.
    pub allocated: u32,
    /// What to remove, by key pack: `(local_id, count)` from the unissued CALs of the
    /// oldest key packs first.
    pub remove: Vec<(u32, u32)>,
    /// CALs to remove that are issued to clients: they must be revoked or expire first.
    pub issued_beyond: u32,
}

impl Discrepancy {
    /// CALs moved away that are still here.
    pub fn moved_away(&self) -> u32 {
        self.holds.saturating_sub(self.allocated)
    }
}

/// Where `state` holds more CALs of a version and type than the Clearinghouse (`known`)
/// allocates to its key packs. The Clearinghouse and the license server do not take
/// migrated CALs from the same key packs, so only totals are compared; the CALs to remove
/// are then taken from the unissued ones of the oldest key packs.
pub fn discrepancies(state: &ServerState, known: &LicenseServerStatus) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    for &product_version in <ProductVersion as Term>::ALL {
        for &license_type in <LicenseType as Term>::ALL {
            let packs: Vec<&InstalledKeyPack> = state
                .key_packs
                .iter()
                .filter(|k| k.product_version == product_version && k.license_type == license_type)
                .filter(|k| {
                    known
                        .key_packs
                        .iter()
                        .any(|r| r.key_pack_id == k.key_pack_id)
                })
                .collect();
            let holds: u32 = packs.iter().map(|k| k.total()).sum();
            let allocated: u32 = known
                .key_packs
                .iter()
                .filter(|r| packs.iter().any(|k| k.key_pack_id == r.key_pack_id))
                .map(|r| u32::from(r.held))
                .sum();
            if holds <= allocated {
                continue;
            }
            let mut left = holds - allocated;
            let mut remove = Vec::new();
            for pack in &packs {
                let take = pack.available().min(left);
                if take > 0 {
                    remove.push((pack.local_id, take));
                    left -= take;
                }
            }
            found.push(Discrepancy {
                product_version,
                license_type,
                label: product_version.installed_label(license_type),
                holds,
                allocated,
                remove,
                issued_beyond: left,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_pack_is_named_by_its_number_or_its_id() {
        assert_eq!("3".parse::<KeyPackRef>(), Ok(KeyPackRef::Local(3)));
        assert!("12345".parse::<KeyPackRef>().is_ok());
        let error = "12345-67890".parse::<KeyPackRef>().unwrap_err();
        assert!(error.contains("neither a key pack's number"), "{error}");
    }
}
