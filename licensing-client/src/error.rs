//! What can go wrong, each with a message that says what to do about it.

use std::path::{Path, PathBuf};

use shared::id::{IdError, KeyPackError, KeyPackId, LicenseServerId};
use shared::wire::{ErrorCode, Problem};
use thiserror::Error;

/// The license server's state directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// No license server is installed there.
    #[error(
        "no license server is installed in {}: run `license-server install` first, or pass --state-dir",
        dir.display()
    )]
    NotInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// No session host is installed there.
    #[error(
        "no session host is installed in {}: run `license-server session-host --host-dir {} install` first",
        dir.display(), dir.display()
    )]
    NoSessionHost {
        /// The directory.
        dir: PathBuf,
    },
    /// A session host is already installed there.
    #[error(
        "a session host is already installed in {}: use another --host-dir, or remove that one",
        dir.display()
    )]
    SessionHostInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// A license server is already installed there.
    #[error(
        "a license server is already installed in {}: use another --state-dir, or remove that one",
        dir.display()
    )]
    AlreadyInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// The state file is not one this build reads.
    #[error("the license server state in {} cannot be read: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl StateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StateError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// The Clearinghouse could not be asked, or said no.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClearinghouseError {
    /// The Clearinghouse refused the request; nothing was done.
    #[error("the Clearinghouse refused the request: {0}")]
    Refused(Problem),
    /// No answer came, after every retry. The request may have been applied: running the
    /// same command again is safe and gives its answer.
    #[error(
        "the request to the Clearinghouse at {url} did not get through after {attempts} attempts (the last: {reason}); running the same command again is safe"
    )]
    NoAnswer {
        /// Where it was asked.
        url: String,
        /// How many times.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// An answer this client does not understand.
    #[error("the Clearinghouse gave an answer this license server does not understand: {0}")]
    Unexpected(String),
}

impl ClearinghouseError {
    /// The Clearinghouse's error code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClearinghouseError::Refused(problem) => Some(problem.code),
            _ => None,
        }
    }
}

/// An ID typed in (web or telephone method) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A typo, a wrong length, or the wrong kind of ID.
    #[error("{0}")]
    Id(#[from] IdError),
    /// A key pack ID for another license server, or one changed after it was issued.
    #[error("{0}")]
    KeyPack(#[from] KeyPackError),
}

/// The source license server of a migration could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Nothing answered at the address.
    #[error(
        "the source license server {name} is not available on the network ({reason}); if it cannot be reached, say so (--source-unreachable) and give its operating system and license server ID"
    )]
    Unreachable {
        /// The name or address given.
        name: String,
        /// What failed.
        reason: String,
    },
    /// Something answered that is not a license server.
    #[error("{name} did not answer as a license server: {reason}")]
    NotALicenseServer {
        /// The name or address given.
        name: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The source refused the request.
    #[error("the source license server {name} refused: {reason}")]
    Refused {
        /// The name or address given.
        name: String,
        /// What it said.
        reason: String,
    },
    /// The source was never activated, so the Clearinghouse has no CALs of it.
    #[error("the source license server {name} was never activated: it has no CALs to migrate")]
    NeverActivated {
        /// The name or address given.
        name: String,
    },
    /// The source given is this license server.
    #[error("the source license server is this license server: migrate from another one")]
    IsThisServer,
    /// The source could not confirm with the Clearinghouse that the CALs moved.
    #[error(
        "license key pack {key_pack_id} could not be confirmed as CALs migrated from here, so nothing was removed: {reason}"
    )]
    Unverified {
        /// The key pack ID the target presented.
        key_pack_id: KeyPackId,
        /// Why.
        reason: String,
    },
}

/// Why a flow stopped. Nothing was installed or changed on this license server unless the
/// message says so.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The state directory.
    #[error(transparent)]
    State(#[from] StateError),
    /// The license server must be activated first.
    #[error("this license server is not activated: activate it first (`license-server activate`)")]
    NotActivated,
    /// It is activated already.
    #[error(
        "this license server is already activated (license server ID {0}); reactivate it instead"
    )]
    AlreadyActivated(LicenseServerId),
    /// It is deactivated.
    #[error(
        "this license server is deactivated (it was {0}): reactivate it first (`license-server reactivate`)"
    )]
    Deactivated(LicenseServerId),
    /// The Clearinghouse.
    #[error(transparent)]
    Clearinghouse(#[from] ClearinghouseError),
    /// An ID typed in.
    #[error("{0}; nothing was changed")]
    Entry(#[from] EntryError),
    /// The key pack is installed here already.
    #[error(
        "license key pack {key_pack_id} is already installed on this license server (key pack {local_id})"
    )]
    AlreadyInstalled {
        /// The key pack ID.
        key_pack_id: KeyPackId,
        /// Its local number.
        local_id: u32,
    },
    /// The key pack ID holds other CALs than those asked for.
    #[error(
        "license key pack ID {key_pack_id} holds {got}, not the {asked} asked for; nothing was installed"
    )]
    NotWhatWasAsked {
        /// The key pack ID.
        key_pack_id: KeyPackId,
        /// What was asked.
        asked: String,
        /// What the key pack holds.
        got: String,
    },
    /// The source license server of a migration.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Another command changed the license server while this one waited for its answer.
    #[error("{0}; nothing was changed here")]
    ChangedMeanwhile(String),
    /// The Clearinghouse address given cannot be used.
    #[error("{0}")]
    BadAddress(String),
    /// The licensing web site refused a form, or answered something unexpected.
    #[error("the licensing web site: {0}")]
    WebSite(String),
    /// The licensing web site could not be reached.
    #[error("the licensing web site could not be reached: {0}")]
    WebSiteUnreachable(String),
    /// The Clearinghouse's phone line answered something unexpected, or the call ended
    /// before the ID was read out.
    #[error(
        "the Clearinghouse phone line: {0}; running the same command again is safe (an ID issued on a call that dropped is read out again on the next)"
    )]
    PhoneLine(String),
    /// The phone line could not be reached.
    #[error(
        "the Clearinghouse phone line could not be reached: {0} (a clearinghouse prints `phone-line ADDR` when it answers one; or give the ID from another call with --id)"
    )]
    PhoneLineUnreachable(String),
    /// The representative could not take what was asked; the call was ended and nothing
    /// was issued.
    #[error("the representative could not take the {slot}: {said}; nothing was issued")]
    Representative {
        /// What the representative had asked for (a field's name, or `request`).
        slot: String,
        /// What they said.
        said: String,
    },
    /// CALs newer than the license server's operating system.
    #[error("{0}; nothing was asked of the Clearinghouse")]
    TooNew(#[from] crate::issuance::TooNew),
    /// A client was refused a CAL.
    #[error("{0}")]
    Cal(#[from] crate::issuance::Refusal),
    /// A CAL could not be revoked.
    #[error("{0}")]
    Revoke(#[from] crate::issuance::RevokeError),
    /// A backup cannot be restored.
    #[error("{0}")]
    Backup(#[from] crate::backup::BackupError),
    /// More CALs asked to be recovered than were lost.
    #[error(
        "{asked} {what} CALs cannot be recovered: {lost} were lost (in a restore onto a new installation or a rebuild) and not recovered yet; nothing was asked of the Clearinghouse"
    )]
    NotLost {
        /// CALs asked for.
        asked: u32,
        /// CALs lost and not recovered.
        lost: u32,
        /// Which, e.g. "Windows Server 2019 Per Device".
        what: String,
    },
    /// A session host could not let a client in.
    #[error("{0}")]
    Session(#[from] crate::session_host::ConnectError),
    /// No such report.
    #[error("{0}")]
    NoSuchReport(#[from] crate::reports::NoSuchReport),
    /// A report could not be written as CSV.
    #[error("the report could not be written as CSV: {0}")]
    Csv(String),
    /// The clock cannot be moved so.
    #[error("{0}")]
    BadClock(String),
    /// The person at the license server stopped the flow.
    #[error("stopped: {0}; nothing was changed")]
    Cancelled(String),
    /// The local daemon could not start.
    #[error("the license server daemon could not listen on {addr}: {reason}")]
    Serve {
        /// The address asked for.
        addr: String,
        /// Why.
        reason: String,
    },
}
