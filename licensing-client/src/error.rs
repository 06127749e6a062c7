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
    #[error("{0}; nothing was installed")]
    TooNew(#[from] issuance::TooNew),
    /// A key pack ID typed in holds CALs newer than the license server's operating system:
    /// the Clearinghouse issued them, and they stay allocated to this server.
    #[error(
        "license key pack ID {key_pack_id} holds {cals}, and {too_new}. The Clearinghouse issued them to this license server, so they stay allocated to it: nothing was installed"
    )]
    IssuedTooNew {
        /// The key pack ID.
        key_pack_id: KeyPackId,
        /// What it holds, e.g. "5 Windows Server 2022 Per Device CALs".
        cals: String,
        /// The version rule's explanation.
        too_new: issuance::TooNew,
    },
    /// No CALs were given, and the program's proof does not say them (only a retail
    /// license code does).
    #[error(
        "say which CALs to install ({0} does not say them; only a retail license code does): product version, license type and quantity"
    )]
    CalsRequired(shared::vocab::LicenseProgram),
    /// The reminder to remove the CALs from the source by hand was not confirmed.
    #[error("stopped: {0} The reminder was not confirmed, so nothing was changed")]
    Unconfirmed(crate::migration::Reminder),
    /// CALs could not be removed by hand.
    #[error("{0}; nothing was removed")]
    Removal(#[from] crate::work::removal::RemovalError),
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

impl Error {
    /// A stable code a script branches on, e.g. `not_activated` or, for a refusal by the
    /// Clearinghouse, its own code (`quantity_exhausted`).
    pub fn code(&self) -> String {
        use crate::methods::handoff::EntryError as E;
        use crate::peer::SourceError as S;
        use crate::state::StateError as St;
        use crate::work::removal::RemovalError as R;
        use shared::id::{IdError, KeyPackError};
        let code = match self {
            Error::State(e) => match e {
                St::Io { .. } => "state_io",
                St::NotADirectory { .. } => "state_dir_is_a_file",
                St::NotInstalled { .. } => "not_installed",
                St::NoSessionHost { .. } => "no_session_host",
                St::SessionHostInstalled { .. } => "session_host_installed",
                St::AlreadyInstalled { .. } => "already_installed",
                St::Damaged { .. } => "state_damaged",
            },
            Error::NotActivated => "not_activated",
            Error::AlreadyActivated(_) => "already_activated",
            Error::Deactivated(_) => "deactivated",
            Error::Clearinghouse(e) => match e {
                ClearinghouseError::Refused(problem) => return problem.code.as_str(),
                ClearinghouseError::NoAnswer { .. } => "no_answer",
                ClearinghouseError::Unexpected(_) => "unexpected_answer",
            },
            Error::Entry(e) => match e {
                E::Id(IdError::Typo { .. }) => "id_typo",
                E::Id(IdError::WrongKind { .. }) => "wrong_id_kind",
                E::Id(IdError::UnknownKind { .. }) => "unknown_id_kind",
                E::Id(_) => "id_layout",
                E::KeyPack(KeyPackError::NotForThisServer { .. }) => "key_pack_not_for_server",
                E::KeyPack(KeyPackError::Retired2012R2) => "key_pack_retired_version",
                E::KeyPack(_) => "key_pack_damaged",
                E::Binding(_) => "id_of_another_server",
                E::NotNew(_) => "license_server_id_not_new",
            },
            Error::AlreadyInstalled { .. } => "key_pack_already_installed",
            Error::NotWhatWasAsked { .. } => "key_pack_not_what_was_asked",
            Error::Source(e) => match e {
                S::Unreachable { .. } => "source_unreachable",
                S::NotALicenseServer { .. } => "source_not_a_license_server",
                S::Refused { .. } => "source_refused",
                S::NeverActivated { .. } => "source_never_activated",
                S::BadAddress { .. } => "source_bad_address",
                S::NotNamed => "source_not_named",
                S::IsThisServer => "source_is_this_server",
                S::Unverified { .. } => "source_unverified",
            },
            Error::ChangedMeanwhile(_) => "changed_meanwhile",
            Error::BadAddress(_) => "bad_clearinghouse_address",
            Error::WebSite(_) => "web_site",
            Error::WebSiteUnreachable(_) => "web_site_unreachable",
            Error::PhoneLine(_) => "phone_line",
            Error::PhoneLineUnreachable(_) => "phone_line_unreachable",
            Error::Representative { .. } => "representative_refused",
            Error::TooNew(_) | Error::IssuedTooNew { .. } => "cals_too_new",
            Error::CalsRequired(_) => "cals_required",
            Error::Unconfirmed(_) => "reminder_not_confirmed",
            Error::Removal(e) => match e {
                R::NoSuchKeyPack(_) => "no_such_key_pack",
                R::Nothing => "nothing_to_remove",
                R::NotThatMany { .. } => "not_that_many_unissued",
                R::Issued { .. } => "key_pack_cals_issued",
                R::Empty(_) => "key_pack_empty",
            },
            Error::Cal(issuance::Refusal::BadClient) => "bad_client",
            Error::Cal(issuance::Refusal::Deactivated) => "deactivated",
            Error::Cal(_) => "no_cal_available",
            Error::Revoke(issuance::RevokeError::NothingToRevoke { .. }) => "nothing_to_revoke",
            Error::Revoke(_) => "revoke_limit_reached",
            Error::Backup(_) => "backup_refused",
            Error::NotLost { .. } => "not_lost",
            Error::Session(session_host::ConnectError::NoLicenseServer { .. }) => {
                "no_license_server"
            }
            Error::Session(session_host::ConnectError::Refused { .. }) => "cal_refused",
            Error::Session(_) => "no_such_station",
            Error::NoSuchReport(_) => "no_such_report",
            Error::Csv(_) => "csv",
            Error::BadClock(_) => "bad_clock",
            Error::Cancelled(_) => "stopped",
            Error::Serve { .. } => "daemon_could_not_listen",
        };
        code.to_owned()
    }
}
