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
    let cals = if removed == 1 { "CAL" } else { "CALs" };
    let message = if outcome.uninstalled {
        format!(
            "key pack {} ({}, {}) was uninstalled by hand: its {removed} {cals} removed",
            outcome.local_id, outcome.label, outcome.key_pack_id
        )
    } else {
        format!(
            "{removed} {cals} removed by hand from key pack {} ({}, {}); it holds {} now",
            outcome.local_id, outcome.label, outcome.key_pack_id, outcome.left
        )
    };
    state.log(EventLevel::Information, message);
    Ok(outcome)
}

/// A key pack that holds more CALs than the Clearinghouse says are allocated to it: the
/// rest were migrated to another license server and must be removed here by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The key pack's local number.
    pub local_id: u32,
    /// Its license key pack ID.
    pub key_pack_id: KeyPackId,
    /// As RD Licensing Manager lists it.
    pub label: String,
    /// CALs it holds here.
    pub holds: u32,
    /// CALs the Clearinghouse says are still allocated to it.
    pub allocated: u32,
}

impl Discrepancy {
    /// CALs moved away that are still here.
    pub fn moved_away(&self) -> u32 {
        self.holds.saturating_sub(self.allocated)
    }
}

/// The key packs of `state` that hold more than the Clearinghouse (`known`) allocates them.
pub fn discrepancies(state: &ServerState, known: &LicenseServerStatus) -> Vec<Discrepancy> {
    state
        .key_packs
        .iter()
        .filter_map(|pack: &InstalledKeyPack| {
            let record = known
                .key_packs
                .iter()
                .find(|r| r.key_pack_id == pack.key_pack_id)?;
            let allocated = u32::from(record.held);
            (pack.total() > allocated).then(|| Discrepancy {
                local_id: pack.local_id,
                key_pack_id: pack.key_pack_id,
                label: pack.label(),
                holds: pack.total(),
                allocated,
            })
        })
        .collect()
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
