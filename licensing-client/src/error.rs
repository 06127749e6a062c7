//! Why a flow stopped: [`Error`], which gathers the errors of each part of the crate, each
//! with a message that says what to do about it.

use shared::id::{KeyPackId, LicenseServerId};
use thiserror::Error;

use crate::methods::automatic::ClearinghouseError;
use crate::methods::handoff::EntryError;
use crate::peer::SourceError;
use crate::state::StateError;
use crate::work::{backup, issuance, reports, session_host};

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
    TooNew(#[from] issuance::TooNew),
    /// A client was refused a CAL.
    #[error("{0}")]
    Cal(#[from] issuance::Refusal),
    /// A CAL could not be revoked.
    #[error("{0}")]
    Revoke(#[from] issuance::RevokeError),
    /// A backup cannot be restored.
    #[error("{0}")]
    Backup(#[from] backup::BackupError),
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
    Session(#[from] session_host::ConnectError),
    /// No such report.
    #[error("{0}")]
    NoSuchReport(#[from] reports::NoSuchReport),
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

impl From<session_host::HostError> for Error {
    fn from(error: session_host::HostError) -> Self {
        match error {
            session_host::HostError::State(e) => Error::State(e),
            session_host::HostError::Connect(e) => Error::Session(e),
        }
    }
}
