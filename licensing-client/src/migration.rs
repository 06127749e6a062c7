//! CAL migration as the Manage RDS CALs wizard runs it: who the source is, when the person
//! is reminded to remove the CALs from the source by hand, and how a source gives up the
//! CALs a target received.

use shared::id::{KeyPackId, LicenseServerId};
use shared::vocab::{MigrationReason, WindowsServer};

use crate::methods::handoff::EntryError;
use crate::methods::request::Request;
use crate::peer::{CalsRemoved, ServerInfo};
use crate::state::Waiting;
use crate::state::{Activation, EventLevel, Removal, ServerState};
pub use crate::state::{Reminder, ReminderCause};

/// The source license server, as the person describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Available on the network at this name or address (`host:port`): the target reads
    /// its operating system, license server ID and key packs from it.
    Reachable(String),
    /// Not available on the network, or no longer functioning: what the person knows of
    /// it. A source being replaced must be named by its license server ID and operating
    /// system; of one that no longer functions, whatever is known.
    Unreachable {
        /// Its license server ID, if known.
        license_server_id: Option<LicenseServerId>,
        /// Its operating system, if known.
        os: Option<WindowsServer>,
        /// Its name, if known.
        name: Option<String>,
    },
}

impl Source {
    /// A source of which nothing is known (one that no longer functions).
    pub fn unknown() -> Self {
        Source::Unreachable {
            license_server_id: None,
            os: None,
            name: None,
        }
    }
}

/// A migration: why, from where, and the CALs with their proof of purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Why the CALs move.
    pub reason: MigrationReason,
    /// Where from.
    pub source: Source,
    /// The license program and proof they were bought under.
    pub license: shared::vocab::LicenseProof,
    /// Which CALs and how many.
    pub cals: shared::wire::CalRequest,
}

/// What the target knows of the source once the person has described it (or the target
/// has read it over the network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceView {
    /// Its computer name: what it calls itself when it is reached, else what the person
    /// said.
    pub name: Option<String>,
    /// Its license server ID, if known.
    pub license_server_id: Option<LicenseServerId>,
    /// Its operating system, if known.
    pub os: Option<WindowsServer>,
    /// Whether the target reached it on the network.
    pub reachable: bool,
    /// Whether it said it is deactivated.
    pub deactivated: bool,
}

impl SourceView {
    /// The view of a source read over the network, reached at `address`.
    pub fn from_info(address: &str, info: &ServerInfo) -> Result<Self, crate::peer::SourceError> {
        let license_server_id = info.activation.license_server_id().ok_or_else(|| {
            crate::peer::SourceError::NeverActivated {
                name: address.to_owned(),
            }
        })?;
        Ok(SourceView {
            name: Some(info.name.clone()),
            license_server_id: Some(license_server_id),
            os: Some(info.os),
            reachable: true,
            deactivated: matches!(info.activation, Activation::Deactivated { .. }),
        })
    }

    /// What the person said of a source that is not available on the network.
    pub fn described(
        license_server_id: Option<LicenseServerId>,
        os: Option<WindowsServer>,
        name: Option<String>,
    ) -> Self {
        SourceView {
            name,
            license_server_id,
            os,
            reachable: false,
            deactivated: false,
        }
    }

    /// The source as a reminder names it: by name, with its license server ID.
    fn label(&self) -> Option<String> {
        match (&self.name, self.license_server_id) {
            (Some(name), Some(id)) => Some(format!("{name} ({id})")),
            (Some(name), None) => Some(name.clone()),
            (None, Some(id)) => Some(id.to_string()),
            (None, None) => None,
        }
    }
}

impl Migration {
    /// Whether `waiting` (a request carried to the web site or a representative) is this
    /// migration: the same reason, proof and CALs, from the same source.
    pub fn is_carried_by(&self, waiting: &Waiting) -> bool {
        let Request::MigrateCals(request) = &waiting.request else {
            return false;
        };
        let same_source = match &self.source {
            Source::Reachable(address) => waiting.source_address.as_deref() == Some(address),
            Source::Unreachable {
                license_server_id,
                os,
                name,
            } => {
                waiting.source_address.is_none()
                    && request.source.license_server_id == *license_server_id
                    && request.source.os == *os
                    && (name.is_none() || request.source.name == *name)
            }
        };
        same_source
            && request.reason == self.reason
            && request.license == self.license
            && request.cals == self.cals
    }
}

impl SourceView {
    /// The source as a request carried earlier described it.
    pub fn of_request(source: &shared::wire::SourceServer) -> Self {
        SourceView {
            name: source.name.clone(),
            license_server_id: source.license_server_id,
            os: source.os,
            reachable: source.reachable,
            deactivated: false,
        }
    }
}

/// The wizard's rule: when the CALs must be removed from the source by hand. `None` means
/// the target removes them itself, through the source's daemon.
pub fn reminder(reason: MigrationReason, source: &SourceView) -> Option<Reminder> {
    let cause = if reason == MigrationReason::SourceNotFunctioning {
        ReminderCause::NotFunctioning
    } else if !source.reachable {
        ReminderCause::Unreachable
    } else if let Some(os) = source.os.filter(|os| *os < WindowsServer::V2008R2) {
        ReminderCause::OlderThan2008R2 { os }
    } else if source.deactivated {
        ReminderCause::Deactivated
    } else {
        return None;
    };
    Some(Reminder {
        source: source.label(),
        cause,
    })
}

/// On the source: removes the CALs key pack `key_pack_id` gave `target`, taking unissued
/// CALs of the same version and type from the oldest key packs first. A key pack ID is
/// honoured once; asking again answers what was removed the first time.
pub(crate) fn give_up_cals(
    state: &mut ServerState,
    target: &LicenseServerId,
    key_pack_id: &KeyPackId,
) -> Result<CalsRemoved, EntryError> {
    let contents = key_pack_id.open(target)?;
    let wanted = u32::from(contents.quantity.get());
    if let Some(done) = state
        .removals
        .iter()
        .find(|r| r.for_key_pack == *key_pack_id)
    {
        let removed: u32 = done.taken.iter().map(|(_, n)| n).sum();
        return Ok(CalsRemoved {
            removed,
            short: wanted.saturating_sub(removed),
        });
    }
    let mut left = wanted;
    let mut taken = Vec::new();
    for pack in state.key_packs.iter_mut().filter(|k| {
        k.product_version == contents.product_version && k.license_type == contents.license_type
    }) {
        let take = pack.available().min(left);
        if take > 0 {
            pack.removed += take;
            left -= take;
            taken.push((pack.local_id, take));
        }
    }
    let removed = wanted - left;
    state.removals.push(Removal {
        for_key_pack: *key_pack_id,
        taken,
        at: state.now(),
    });
    let what = format!(
        "{} {} CALs ({})",
        contents.product_version, contents.license_type, key_pack_id
    );
    state.log(
        EventLevel::Information,
        format!("{removed} {what} removed: migrated to license server {target}"),
    );
    if left > 0 {
        state.log(
            EventLevel::Warning,
            format!("{left} of the {what} migrated to license server {target} were not available here to remove"),
        );
    }
    Ok(CalsRemoved {
        removed,
        short: left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn view(os: WindowsServer, reachable: bool, deactivated: bool) -> SourceView {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(5);
        SourceView {
            name: Some("OLD".into()),
            license_server_id: Some(LicenseServerId::issue(
                &shared::id::ProductId::generate(WindowsServer::V2019, &mut rng),
                &mut rng,
            )),
            os: Some(os),
            reachable,
            deactivated,
        }
    }

    fn cause(reason: MigrationReason, source: &SourceView) -> Option<ReminderCause> {
        reminder(reason, source).map(|r| r.cause)
    }

    #[test]
    fn a_reachable_active_source_from_2008_r2_on_needs_no_reminder() {
        for os in [
            WindowsServer::V2008R2,
            WindowsServer::V2012,
            WindowsServer::V2025,
        ] {
            assert_eq!(
                cause(MigrationReason::SourceReplaced, &view(os, true, false)),
                None
            );
        }
    }

    #[test]
    fn a_source_older_than_2008_r2_needs_the_reminder() {
        for os in [
            WindowsServer::V2003,
            WindowsServer::V2003R2,
            WindowsServer::V2008,
        ] {
            assert_eq!(
                cause(MigrationReason::SourceReplaced, &view(os, true, false)),
                Some(ReminderCause::OlderThan2008R2 { os })
            );
        }
    }

    #[test]
    fn a_deactivated_or_unreachable_source_needs_the_reminder() {
        let replaced = MigrationReason::SourceReplaced;
        let v2019 = WindowsServer::V2019;
        assert_eq!(
            cause(replaced, &view(v2019, true, true)),
            Some(ReminderCause::Deactivated)
        );
        assert_eq!(
            cause(replaced, &view(v2019, false, false)),
            Some(ReminderCause::Unreachable)
        );
    }

    #[test]
    fn a_source_no_longer_functioning_always_needs_the_reminder() {
        let source = view(WindowsServer::V2022, true, false);
        assert_eq!(
            cause(MigrationReason::SourceNotFunctioning, &source),
            Some(ReminderCause::NotFunctioning)
        );
    }

    #[test]
    fn a_source_known_by_nothing_is_reminded_of_without_a_name() {
        let unknown = SourceView::described(None, None, None);
        let reminder = reminder(MigrationReason::SourceNotFunctioning, &unknown).unwrap();
        assert_eq!(
            reminder.to_string(),
            "You must remove the RDS CALs from the source license server manually after this wizard completes: it no longer functions."
        );
    }
}
