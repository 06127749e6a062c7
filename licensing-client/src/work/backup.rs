//! Backing up, restoring and rebuilding the license server database, with the real
//! product's rules. A
//! backup restored onto the same installation brings its unissued licenses back; restored
//! onto a new installation (the operating system replaced) it does not, an event records
//! how many were not restored, and they are recovered through the Clearinghouse.
//!
//! A backup is one JSON file: what it is, the installation it was taken on, when, the
//! whole state, and a SHA-256 of the state, so a damaged or foreign file is refused before
//! anything is changed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::vocab::{LicenseType, ProductVersion, WindowsServer};
use thiserror::Error;

use crate::state::{EventLevel, KeyPackSource, STATE_FORMAT, ServerState};

/// What a backup file says it is.
const KIND: &str = "license-server-backup";
/// The layout of backup files this build writes and reads.
const FORMAT: u32 = 1;

/// A backup file as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    kind: String,
    format: u32,
    /// The installation it was taken on.
    installation: String,
    /// When, on the license server's clock.
    taken_at: String,
    /// SHA-256 of the state, as written.
    sha256: String,
    state: ServerState,
}

/// Why a backup cannot be restored; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Not a license server backup at all.
    #[error("{0} is not a license server backup")]
    Foreign(String),
    /// A backup, but damaged or of a layout this build does not read.
    #[error("the backup {file} is damaged: {reason}; nothing was restored")]
    Damaged {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The backup was taken on a license server of another Windows Server release: its
    /// product ID names that release, and the CALs it holds are for it.
    #[error(
        "the backup {file} was taken on a license server running {theirs}, and this one runs {ours}: a license server database is restored onto the same release (a new installation of {theirs} is fine); nothing was restored"
    )]
    OtherRelease {
        /// The file.
        file: String,
        /// The release the backup was taken on.
        theirs: WindowsServer,
        /// This installation's.
        ours: WindowsServer,
    },
    /// The file could not be read or written.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: String,
        /// What the system said.
        reason: String,
    },
    /// A backup of another license server than the one this installation is.
    #[error(
        "the backup {file} is of license server {theirs}, and this installation is license server {ours}: restore it onto its own server or a new installation; nothing was restored"
    )]
    OtherServer {
        /// The file.
        file: String,
        /// The backup's license server ID.
        theirs: String,
        /// This installation's.
        ours: String,
    },
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// Whether the backup was taken on this installation.
    pub same_installation: bool,
    /// When the backup was taken.
    pub taken_at: String,
    /// Unissued CALs not restored (a new installation), by key pack: `(local_id, count)`.
    pub not_restored: Vec<(u32, u32)>,
}

fn digest(state: &ServerState) -> String {
    let bytes = serde_json::to_vec(state).unwrap_or_default();
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The backup of `state`, as the bytes of its file.
pub fn write(state: &ServerState) -> Vec<u8> {
    let file = BackupFile {
        kind: KIND.to_owned(),
        format: FORMAT,
        installation: state.installation.clone(),
        taken_at: state.now(),
        sha256: digest(state),
        state: state.clone(),
    };
    serde_json::to_vec_pretty(&file).unwrap_or_default()
}

/// Restores the backup in `bytes` (read from `file`) over `current`, the state of this
/// installation: the state to keep, and what was done. `current` is not changed.
pub fn restore(
    current: &ServerState,
    file: &str,
    bytes: &[u8],
) -> Result<(ServerState, Restored), BackupError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| BackupError::Foreign(file.to_owned()))?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return Err(BackupError::Foreign(file.to_owned()));
    }
    let damaged = |reason: String| BackupError::Damaged {
        file: file.to_owned(),
        reason,
    };
    let backup: BackupFile = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
    if backup.format != FORMAT || backup.state.format != STATE_FORMAT {
        return Err(damaged(format!(
            "layout version {} (this build reads version {FORMAT})",
            backup.format
        )));
    }
    if digest(&backup.state) != backup.sha256 {
        return Err(damaged(
            "its checksum does not match its contents: it was changed or cut short".into(),
        ));
    }
    // An activated server takes only its own backups: the same license server ID, or the
    // same product ID (it was reactivated since).
    let theirs = backup.state.activation.license_server_id();
    if let Some(ours) = current.activation.license_server_id()
        && theirs != Some(ours)
        && backup.state.identity.product_id != current.identity.product_id
    {
        return Err(BackupError::OtherServer {
            file: file.to_owned(),
            theirs: theirs.map_or_else(
                || format!("{} (never activated)", backup.state.identity.name),
                |id| id.to_string(),
            ),
            ours: ours.to_string(),
        });
    }
    // The product ID names the release, and the Clearinghouse applies the version rule by
    // it: a database restores onto the release it was taken on.
    if backup.state.identity.os != current.identity.os {
        return Err(BackupError::OtherRelease {
            file: file.to_owned(),
            theirs: backup.state.identity.os,
            ours: current.identity.os,
        });
    }

    // A state written before installations had IDs is never taken for the same one.
    let same_installation =
        !backup.installation.is_empty() && backup.installation == current.installation;
    let mut state = backup.state;
    // CALs removed for other license servers since the backup stay removed: each removal
    // is honoured once, and the CALs are the other server's now.
    for removal in &current.removals {
        if state
            .removals
            .iter()
            .any(|r| r.for_key_pack == removal.for_key_pack)
        {
            continue;
        }
        for (local_id, count) in &removal.taken {
            if let Some(pack) = state.key_packs.iter_mut().find(|k| k.local_id == *local_id) {
                pack.removed += count;
            }
        }
        state.removals.push(removal.clone());
    }
    // CALs removed by hand since the backup stay removed: the Clearinghouse moved them
    // away, and removing them was the point.
    for pack in &mut state.key_packs {
        if let Some(now) = current
            .key_packs
            .iter()
            .find(|k| k.key_pack_id == pack.key_pack_id)
        {
            pack.removed_by_hand = pack.removed_by_hand.max(now.removed_by_hand);
        }
    }
    // The machine is this one: its installation, name and clock, and the exchanges with
    // the Clearinghouse it has under way (a backup's would be stale).
    state.installation = current.installation.clone();
    state.identity.name = current.identity.name.clone();
    state.clock_offset_secs = current.clock_offset_secs;
    state.pending = current.pending.clone();
    state.waiting = current.waiting.clone();
    let mut not_restored = Vec::new();
    if !same_installation {
        for pack in &mut state.key_packs {
            let unissued = pack.available();
            if unissued > 0 {
                pack.lost += unissued;
                not_restored.push((pack.local_id, unissued));
            }
        }
    }
    let restored = Restored {
        same_installation,
        taken_at: backup.taken_at,
        not_restored,
    };
    let lost: u32 = restored.not_restored.iter().map(|(_, n)| n).sum();
    if same_installation {
        let message = format!(
            "the license server database was restored from the backup taken at {}",
            restored.taken_at
        );
        state.log(EventLevel::Information, message);
    } else if lost > 0 {
        let message = format!(
            "the license server database was restored onto a new installation from the backup taken at {}: {lost} unissued licenses were not restored; recover them through the Clearinghouse (`license-server recover-cals`)",
            restored.taken_at
        );
        state.log(EventLevel::Warning, message);
    } else {
        let message = format!(
            "the license server database was restored onto a new installation from the backup taken at {}; it had no unissued licenses",
            restored.taken_at
        );
        state.log(EventLevel::Information, message);
    }
    Ok((state, restored))
}

/// How many CALs of a version and type were lost in a restore onto a new installation and
/// not recovered yet.
pub fn unrecovered(state: &ServerState, version: ProductVersion, license_type: LicenseType) -> u32 {
    let same = |k: &&crate::state::InstalledKeyPack| {
        k.product_version == version && k.license_type == license_type
    };
    let lost: u32 = state.key_packs.iter().filter(same).map(|k| k.lost).sum();
    let recovered: u32 = state
        .key_packs
        .iter()
        .filter(same)
        .filter(|k| k.source == KeyPackSource::Recovered)
        .map(|k| k.installed)
        .sum();
    lost.saturating_sub(recovered)
}

/// What rebuilding the database did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebuilt {
    /// Key packs reinstalled from their key pack IDs: `(local_id, CALs)`.
    pub reinstalled: Vec<(u32, u32)>,
    /// Key packs whose IDs no longer open here (issued before a reactivation), whose CALs
    /// must be recovered through the Clearinghouse: `(local_id, CALs)`.
    pub to_recover: Vec<(u32, u32)>,
    /// CALs that were issued to clients and are no longer known.
    pub issued_lost: u32,
}

/// What rebuilding the database will lose, said before the person confirms.
pub fn rebuild_warning(state: &ServerState) -> String {
    let issued: u32 = state.key_packs.iter().map(|k| k.issued).sum();
    let packs = state.key_packs.len();
    format!(
        "Rebuilding the license server database deletes it and creates an empty one. The {packs} key packs are then reinstalled from their license key pack IDs (those issued before a reactivation must be recovered through the Clearinghouse). The {issued} CALs issued to clients are lost: the license server no longer knows which clients hold them."
    )
}

/// Rebuilds the database: it is emptied, and each key pack is reinstalled from its key
/// pack ID if the ID still opens for this license server, or left to be recovered.
pub fn rebuild(state: &mut ServerState) -> Rebuilt {
    let current = state.activation.license_server_id();
    let issued_lost: u32 = state.key_packs.iter().map(|k| k.issued).sum();
    let mut rebuilt = Rebuilt {
        reinstalled: Vec::new(),
        to_recover: Vec::new(),
        issued_lost,
    };
    for pack in &mut state.key_packs {
        pack.issued = 0;
        let opens = current.is_some_and(|id| pack.key_pack_id.open(&id).is_ok());
        if opens {
            rebuilt.reinstalled.push((pack.local_id, pack.total()));
        } else {
            let held = pack.total();
            pack.lost += held;
            rebuilt.to_recover.push((pack.local_id, held));
        }
    }
    state.issued.clear();
    // The new database knows no device: each gets a temporary CAL again.
    state.had_temporary.clear();
    let reinstalled: u32 = rebuilt.reinstalled.iter().map(|(_, n)| n).sum();
    let to_recover: u32 = rebuilt.to_recover.iter().map(|(_, n)| n).sum();
    let message = format!(
        "the license server database was rebuilt: {reinstalled} CALs reinstalled from their key pack IDs, {issued_lost} CALs issued to clients lost"
    );
    state.log(EventLevel::Information, message);
    if to_recover > 0 {
        let message = format!(
            "{to_recover} CALs of key packs issued before a reactivation were not reinstalled: recover them through the Clearinghouse (`license-server recover-cals`)"
        );
        state.log(EventLevel::Warning, message);
    }
    rebuilt
}
