//! The simulated license server and its flows: activate, reactivate, deactivate, install
//! CALs and migrate CALs, each by any connection method.
//!
//! A flow builds its [`Request`], hands it to the connection method chosen, and applies the
//! ID that comes back to the license server's state. The methods differ only in how the
//! request reaches the Clearinghouse ([`Self::exchange`]); everything else is shared.

use std::path::Path;
use std::time::Duration;

use rand::Rng;
use shared::id::{ConfirmationCode, KeyPackId, LicenseServerId, ProductId};
use shared::vocab::{
    CompanyInfo, ConnectionMethod, LicenseProof, LicenseType, MigrationReason, ReactivationReason,
    WindowsServer,
};
use shared::wire::{
    ActivateRequest, CalRequest, DeactivateRequest, InstallCalsRequest, MigrateCalsRequest,
    ReactivateRequest, RecoverCalsRequest, SourceServer,
};

use crate::error::Error;
use crate::methods::automatic::{Clearinghouse, ClearinghouseError, RetryPolicy};
use crate::methods::handoff::{Desk, EntryError, Handoff};
use crate::methods::request::{Reply, Request};
use crate::methods::telephone::Telephone;
use crate::migration::{self, Migration, Reminder, Source, SourceView};
use crate::operator::Operator;
use crate::peer::SourceError;
use crate::peer::{CalsRemoved, Peer, RemoveCals};
use crate::state::{
    Activation, ClearinghouseAddress, EventLevel, Identity, InstalledKeyPack, IssuedCal,
    KeyPackSource, Pending, Report, Scope, ServerState, Stamp, StateDir, Waiting,
};
use crate::work::backup;
use crate::work::issuance::{self, Grant, Revoked};
use crate::work::removal::{self, Discrepancy, KeyPackRef, RemovedByHand};
use crate::work::reports;
use shared::tasks::Task;

/// What a license server is installed with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Its computer name.
    pub name: String,
    /// The operating system it runs.
    pub os: WindowsServer,
    /// Its company information (the country/region chooses the telephone number).
    pub company: CompanyInfo,
    /// Its connection method.
    pub connection_method: ConnectionMethod,
    /// The Clearinghouse it talks to.
    pub clearinghouse: ClearinghouseAddress,
}

/// Properties to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// The connection method.
    pub connection_method: Option<ConnectionMethod>,
    /// The Clearinghouse's base URL.
    pub clearinghouse_url: Option<String>,
    /// The tenant: `Some(None)` for the default one.
    pub tenant: Option<Option<String>>,
    /// The seat token of a class's seat: `Some(None)` for none.
    pub seat_token: Option<Option<String>>,
    /// The company information (the Properties dialog's required and optional
    /// information).
    pub company: Option<CompanyInfo>,
}

/// The outcome of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The key pack installed on this (target) license server.
    pub key_pack: InstalledKeyPack,
    /// The reminder the person confirmed, if the CALs must be removed from the source by
    /// hand.
    pub reminder: Option<Reminder>,
    /// What the source removed, when this server asked it to.
    pub removed_from_source: Option<CalsRemoved>,
    /// Why the source could not be asked to remove the CALs, if it could not.
    pub removal_failed: Option<String>,
}

/// What a request carried by a person keeps for its rerun (see [`Waiting`]).
#[derive(Debug, Default)]
struct Carried {
    source_address: Option<String>,
    reminder: Option<Reminder>,
}

/// A simulated RD license server, kept in a state directory.
#[derive(Debug, Clone)]
pub struct LicenseServer {
    state: StateDir,
    retry: RetryPolicy,
}

impl LicenseServer {
    /// Installs a license server in `dir` with a product ID drawn from `rng`.
    pub fn install(dir: &Path, setup: Setup, rng: &mut impl Rng) -> Result<Self, Error> {
        setup.clearinghouse.check().map_err(Error::BadAddress)?;
        let identity = Identity {
            name: setup.name,
            os: setup.os,
            product_id: ProductId::generate(setup.os, rng),
            company: setup.company,
            connection_method: setup.connection_method,
            clearinghouse: setup.clearinghouse,
        };
        let state = StateDir::create(dir, &ServerState::new(identity))?;
        Ok(LicenseServer {
            state,
            retry: RetryPolicy::default(),
        })
    }

    /// The license server installed in `dir`.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Ok(LicenseServer {
            state: StateDir::open(dir)?,
            retry: RetryPolicy::default(),
        })
    }

    /// The same license server, retrying automatic requests as `retry` says.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Its state directory.
    pub fn dir(&self) -> &Path {
        self.state.path()
    }

    /// Everything it keeps, as it is now.
    pub fn state(&self) -> Result<ServerState, Error> {
        Ok(self.state.read()?)
    }

    /// Changes its properties (the Connection Method tab, and the Clearinghouse it talks
    /// to) in one step; `None` leaves a property as it is.
    pub fn set_properties(&self, change: Properties) -> Result<(), Error> {
        self.state.update(|s| {
            let mut address = s.identity.clearinghouse.clone();
            if let Some(url) = change.clearinghouse_url {
                address.url = url;
            }
            if let Some(tenant) = change.tenant {
                address.tenant = tenant;
            }
            if let Some(token) = change.seat_token {
                address.seat_token = token;
            }
            address.check().map_err(Error::BadAddress)?;
            if address != s.identity.clearinghouse {
                let message = format!("Clearinghouse set to {}", address.describe());
                s.identity.clearinghouse = address;
                s.log(EventLevel::Information, message);
            }
            if let Some(company) = change.company
                && company != s.identity.company
            {
                s.identity.company = company;
                s.log(EventLevel::Information, "company information changed");
            }
            if let Some(method) = change.connection_method {
                s.identity.connection_method = method;
                s.log(
                    EventLevel::Information,
                    format!("connection method set to {method}"),
                );
            }
            Ok(())
        })
    }

    /// A client connects through a session host running `host`: the CAL it gets, by the
    /// rules in [`crate::work::issuance`], at the time on the license server's clock.
    pub fn connect_client(
        &self,
        client: &str,
        license_type: LicenseType,
        host: WindowsServer,
    ) -> Result<Grant, Error> {
        self.connect_user(client, license_type, host, None)
    }

    /// A client connects as [`Self::connect_client`] says; a user's organizational unit,
    /// when the session host gives it, is kept for CAL usage reports.
    pub fn connect_user(
        &self,
        client: &str,
        license_type: LicenseType,
        host: WindowsServer,
        ou: Option<&str>,
    ) -> Result<Grant, Error> {
        // A refusal is logged too, so the state is kept whatever the outcome.
        let outcome = self.state.update(|s| {
            let now = s.clock();
            Ok::<_, Error>(issuance::connect(
                s,
                client,
                license_type,
                host,
                ou,
                now,
                &mut rand::rng(),
            ))
        })?;
        Ok(outcome?)
    }

    /// Creates a CAL usage report of `scope` and keeps it.
    pub fn create_report(&self, scope: Scope) -> Result<Report, Error> {
        self.state.update(|s| {
            let now = s.clock();
            issuance::expire(s, now);
            Ok(reports::create(s, scope))
        })
    }

    /// The report numbered `id`.
    pub fn report(&self, id: u32) -> Result<Report, Error> {
        let state = self.state.read()?;
        let report = state.reports.into_iter().find(|r| r.id == id);
        Ok(report.ok_or(reports::NoSuchReport(id))?)
    }

    /// Deletes the report numbered `id`.
    pub fn delete_report(&self, id: u32) -> Result<Report, Error> {
        self.state
            .update(|s| reports::delete(s, id).map_err(Error::from))
    }

    /// Revokes the permanent Per Device CAL issued to `client`, within the revoke limit.
    pub fn revoke_cal(&self, client: &str) -> Result<Revoked, Error> {
        let outcome = self.state.update(|s| {
            let now = s.clock();
            Ok::<_, Error>(issuance::revoke(s, client, now))
        })?;
        Ok(outcome?)
    }

    /// The CALs issued to clients now (expired ones gone back to their key packs).
    pub fn issued_cals(&self) -> Result<Vec<IssuedCal>, Error> {
        self.state.update(|s| {
            let now = s.clock();
            issuance::expire(s, now);
            Ok(s.issued.clone())
        })
    }

    /// Moves the license server's clock forward by `by`, or to `to`; the time it shows
    /// now. A clock only moves forward.
    pub fn move_clock(&self, by: Option<Duration>, to: Option<Stamp>) -> Result<Stamp, Error> {
        self.state.update(|s| {
            let now = s.clock();
            let forward = match (by, to) {
                (Some(by), _) => by.as_secs(),
                (None, Some(to)) if to > Stamp::LATEST => {
                return Err(Error::BadClock(format!(
                    "{to} is too far ahead: the clock goes up to the year 9000"
                )));
            }
            (None, Some(to)) if to >= now => to.0 - now.0,
                (None, Some(to)) => {
                    return Err(Error::BadClock(format!(
                        "the license server's clock shows {now}; it moves only forward, not back to {to}"
                    )));
                }
                (None, None) => return Ok(now),
            };
            if now.plus(forward) > Stamp::LATEST {
                return Err(Error::BadClock(
                    "that is too far ahead: the clock goes up to the year 9000".into(),
                ));
            }
            s.clock_offset_secs = s.clock_offset_secs.saturating_add(forward);
            let moved = s.clock();
            s.log(
                EventLevel::Information,
                format!("the clock was moved forward to {moved}"),
            );
            issuance::expire(s, moved);
            Ok(moved)
        })
    }

    /// A client for its Clearinghouse.
    pub fn clearinghouse(&self) -> Result<Clearinghouse, Error> {
        let state = self.state.read()?;
        Ok(Clearinghouse::new(state.identity.clearinghouse, self.retry))
    }

    /// Activates the license server: it gets its license server ID.
    pub async fn activate(
        &self,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<LicenseServerId, Error> {
        let state = self.state.read()?;
        match state.activation {
            Activation::NotActivated => {}
            Activation::Activated {
                license_server_id, ..
            } => return Err(Error::AlreadyActivated(license_server_id)),
            Activation::Deactivated {
                license_server_id, ..
            } => return Err(Error::Deactivated(license_server_id)),
        }
        let request = Request::Activate(ActivateRequest {
            product_id: state.identity.product_id,
            company: state.identity.company.clone(),
        });
        let shown = state.identity.product_id.as_any();
        let reply = self
            .exchange(&state, request.clone(), shown, method, operator)
            .await?;
        let id = license_server_id(reply)?;
        self.settle(
            &request,
            &state.activation,
            Activation::Activated {
                license_server_id: id,
                since: state.now(),
            },
            format!("activated by the {method} method: license server ID {id}"),
        )?;
        Ok(id)
    }

    /// Reactivates the license server for `reason`: it gets a new license server ID and
    /// keeps its key packs. A deactivated server comes back this way.
    pub async fn reactivate(
        &self,
        reason: ReactivationReason,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<LicenseServerId, Error> {
        let state = self.state.read()?;
        let current = state
            .activation
            .license_server_id()
            .ok_or(Error::NotActivated)?;
        let request = Request::Reactivate(ReactivateRequest {
            license_server_id: current,
            product_id: state.identity.product_id,
            reason,
        });
        let reply = self
            .exchange(&state, request.clone(), current.as_any(), method, operator)
            .await?;
        let id = license_server_id(reply)?;
        self.settle(
            &request,
            &state.activation,
            Activation::Activated {
                license_server_id: id,
                since: state.now(),
            },
            format!("reactivated by the {method} method ({reason}): license server ID {current} replaced by {id}"),
        )?;
        Ok(id)
    }

    /// Deactivates the license server: it gets a confirmation code and receives nothing
    /// until reactivated.
    pub async fn deactivate(
        &self,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<ConfirmationCode, Error> {
        let state = self.state.read()?;
        let current = activated(&state)?;
        let request = Request::Deactivate(DeactivateRequest {
            license_server_id: current,
        });
        let reply = self
            .exchange(&state, request.clone(), current.as_any(), method, operator)
            .await?;
        let Reply::ConfirmationCode(code) = reply else {
            return Err(unexpected(reply));
        };
        self.settle(
            &request,
            &state.activation,
            Activation::Deactivated {
                license_server_id: current,
                confirmation_code: code,
                since: state.now(),
            },
            format!("deactivated by the {method} method: confirmation code {code}"),
        )?;
        Ok(code)
    }

    /// Records where the server now stands with the Clearinghouse: the answer to
    /// `request` is applied, so it is no longer pending. `was` is the activation the flow
    /// started from; if another command changed it meanwhile, nothing is overwritten.
    fn settle(
        &self,
        request: &Request,
        was: &Activation,
        now_is: Activation,
        message: String,
    ) -> Result<(), Error> {
        self.state.update(|s| {
            if s.activation != *was {
                return Err(Error::ChangedMeanwhile(format!(
                    "the Clearinghouse answered ({message}), but this license server is now {}",
                    s.activation.word()
                )));
            }
            s.activation = now_is;
            s.pending.retain(|p| p.request != *request);
            s.waiting.retain(|w| w.request != *request);
            s.log(EventLevel::Information, message);
            Ok(())
        })
    }

    /// Installs CALs bought under `license`. A retail license code says which CALs it is
    /// for, so with one `cals` may be `None`; every other program needs them.
    pub async fn install_cals(
        &self,
        license: LicenseProof,
        cals: Option<CalRequest>,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<InstalledKeyPack, Error> {
        let state = self.state.read()?;
        let target = activated(&state)?;
        let cals = match cals {
            Some(cals) => Some(cals),
            None if license.program() == shared::vocab::LicenseProgram::RetailPurchase => None,
            None => return Err(Error::CalsRequired(license.program())),
        };
        if let Some(cals) = &cals {
            issuance::check_version(state.identity.os, cals.product_version)?;
        }
        let program = license.program();
        let request = Request::InstallCals(InstallCalsRequest {
            license_server_id: target,
            license,
            cals,
        });
        let asked = (cals, program, method);
        self.obtain_key_pack(&state, request, asked, operator, KeyPackSource::Installed)
            .await
    }

    /// Sends `request` for a key pack (for `cals` of `program`, by `method`) and installs
    /// the key pack the Clearinghouse gives.
    async fn obtain_key_pack(
        &self,
        state: &ServerState,
        request: Request,
        (cals, program, method): (
            Option<CalRequest>,
            shared::vocab::LicenseProgram,
            ConnectionMethod,
        ),
        operator: &mut impl Operator,
        source: KeyPackSource,
    ) -> Result<InstalledKeyPack, Error> {
        let target = activated(state)?;
        let reply = self
            .exchange(state, request.clone(), target.as_any(), method, operator)
            .await?;
        let id = key_pack_id(reply)?;
        let asked = Asked {
            request: &request,
            cals,
            program,
            method,
        };
        self.install_key_pack(id, &asked, source)
    }

    /// Recovers CALs lost when the database was restored onto a new installation: the
    /// Clearinghouse reissues them in a new key pack, creating no CAL. Only as many as
    /// were lost, and not yet recovered, may be asked for.
    pub async fn recover_cals(
        &self,
        license: LicenseProof,
        cals: CalRequest,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<InstalledKeyPack, Error> {
        let state = self.state.read()?;
        let target = activated(&state)?;
        issuance::check_version(state.identity.os, cals.product_version)?;
        check_lost(&state, &cals)?;
        let program = license.program();
        let request = Request::RecoverCals(RecoverCalsRequest {
            license_server_id: target,
            license,
            cals,
        });
        let asked = (Some(cals), program, method);
        self.obtain_key_pack(&state, request, asked, operator, KeyPackSource::Recovered)
            .await
    }

    /// What rebuilding the database would lose, to say before the person confirms.
    pub fn rebuild_warning(&self) -> Result<String, Error> {
        Ok(backup::rebuild_warning(&self.state.read()?))
    }

    /// Rebuilds the license server database (see [`backup::rebuild`]).
    pub fn rebuild(&self) -> Result<backup::Rebuilt, Error> {
        self.state.update(|s| Ok(backup::rebuild(s)))
    }

    /// Writes a backup of the license server database to `file`.
    pub fn backup(&self, file: &Path) -> Result<(), Error> {
        let state = self.state.read()?;
        // Replaced whole, so a crash never leaves half a backup in place of a good one.
        crate::state::replace_file(file, &backup::write(&state)).map_err(|e| {
            let reason = match e {
                crate::state::StateError::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            backup::BackupError::File {
                file: file.display().to_string(),
                reason,
            }
        })?;
        self.state.update(|s| {
            s.log(
                EventLevel::Information,
                format!(
                    "the license server database was backed up to {}",
                    file.display()
                ),
            );
            Ok::<_, Error>(())
        })
    }

    /// Restores the backup in `file` onto this installation. A damaged or foreign file is
    /// refused and nothing changes.
    pub fn restore(&self, file: &Path) -> Result<backup::Restored, Error> {
        let bytes = std::fs::read(file).map_err(|e| backup::BackupError::File {
            file: file.display().to_string(),
            reason: e.to_string(),
        })?;
        self.state.update(|s| {
            let (restored_state, restored) =
                backup::restore(s, &file.display().to_string(), &bytes)?;
            *s = restored_state;
            Ok(restored)
        })
    }

    /// What the target knows of the source of a migration, and the reminder to remove
    /// the CALs from it by hand when the wizard's rule calls for one. A source on the
    /// network is read over it (its name, operating system, license server ID and
    /// activation); of one that is not, the person's description is taken. The wizard
    /// shows the reminder right after the source's page, before the CALs are asked for.
    pub async fn check_source(
        &self,
        reason: MigrationReason,
        source: &Source,
    ) -> Result<(SourceView, Option<Reminder>), Error> {
        let view = match source {
            Source::Reachable(address) => {
                let peer = Peer::new(address)?;
                let info = peer.info().await?;
                SourceView::from_info(peer.name(), &info)?
            }
            Source::Unreachable {
                license_server_id,
                os,
                name,
            } => SourceView::described(*license_server_id, *os, name.clone()),
        };
        if reason.source_must_be_named(view.reachable)
            && (view.license_server_id.is_none() || view.os.is_none())
        {
            return Err(SourceError::NotNamed.into());
        }
        let target = self.state.read()?.activation.license_server_id();
        if view.license_server_id.is_some() && view.license_server_id == target {
            return Err(SourceError::IsThisServer.into());
        }
        let reminder = migration::reminder(reason, &view);
        Ok((view, reminder))
    }

    /// Migrates CALs from another license server to this one.
    ///
    /// The source is checked first ([`Self::check_source`]). When the wizard's rule calls
    /// for it, the person is reminded to remove the CALs from the source by hand and must
    /// confirm (once: a request carried to the web site or a representative and completed
    /// later is not asked again); otherwise, once this server holds the CALs, the source is
    /// asked to remove them.
    pub async fn migrate_cals(
        &self,
        migration: Migration,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<Migrated, Error> {
        let state = self.state.read()?;
        let target = activated(&state)?;
        issuance::check_version(state.identity.os, migration.cals.product_version)?;
        // A request carried to the web site or a representative is completed as it was
        // carried: the source is not read again (it may be off the network by now), and a
        // reminder confirmed then is not asked again.
        let carried = state
            .waiting
            .iter()
            .find(|w| migration.is_carried_by(w))
            .cloned();
        let (source, reminder) = match &carried {
            Some(Waiting {
                request: Request::MigrateCals(r),
                reminder,
                ..
            }) => (SourceView::of_request(&r.source), reminder.clone()),
            _ => {
                self.check_source(migration.reason, &migration.source)
                    .await?
            }
        };
        let address = match &migration.source {
            Source::Reachable(address) => Some(address.clone()),
            Source::Unreachable { .. } => None,
        };
        let program = migration.license.program();
        let request = Request::MigrateCals(MigrateCalsRequest {
            license_server_id: target,
            reason: migration.reason,
            source: SourceServer {
                license_server_id: source.license_server_id,
                name: source.name.clone(),
                os: source.os,
                reachable: source.reachable,
            },
            license: migration.license,
            cals: migration.cals,
        });
        if let Some(reminder) = &reminder
            && carried.is_none()
            && !operator.confirm(reminder).await
        {
            return Err(Error::Unconfirmed(reminder.clone()));
        }
        let carried = Carried {
            source_address: address.clone(),
            reminder: reminder.clone(),
        };
        let reply = self
            .exchange_carried(
                &state,
                request.clone(),
                target.as_any(),
                method,
                operator,
                carried,
            )
            .await?;
        let id = key_pack_id(reply)?;
        let asked = Asked {
            request: &request,
            cals: Some(migration.cals),
            program,
            method,
        };
        let origin = KeyPackSource::Migrated {
            reason: migration.reason,
            from: source.license_server_id,
        };
        let key_pack = self.install_key_pack(id, &asked, origin)?;
        let mut outcome = Migrated {
            key_pack,
            reminder: reminder.clone(),
            removed_from_source: None,
            removal_failed: None,
        };
        if let (None, Some(address)) = (&reminder, address) {
            let asked = RemoveCals {
                target,
                key_pack_id: id,
            };
            let removed = match Peer::new(&address) {
                Ok(peer) => peer.remove(&asked).await,
                Err(e) => Err(e),
            };
            match removed {
                Ok(removed) => outcome.removed_from_source = Some(removed),
                Err(e) => {
                    let message = format!(
                        "the CALs could not be removed from the source license server: {e}; remove them by hand (`license-server remove-cals` on the source)"
                    );
                    self.state.update(|s| {
                        s.log(EventLevel::Warning, message.clone());
                        Ok::<_, Error>(())
                    })?;
                    outcome.removal_failed = Some(message);
                }
            }
        }
        Ok(outcome)
    }

    /// Removes CALs from this license server by hand, as RD Licensing Manager's remove and
    /// uninstall actions do (WMI's `RemoveLicensesWithIdCount` and
    /// `UninstallLicenseKeyPackWithId`): `count` unissued CALs of key pack `which`, or with
    /// `None`, the whole key pack (none of its CALs may be issued to a client). This is
    /// what the reminder after a migration asks of the source. The Clearinghouse is not
    /// asked: it moved the CALs already.
    pub fn remove_cals(
        &self,
        which: &KeyPackRef,
        count: Option<u32>,
    ) -> Result<RemovedByHand, Error> {
        self.state.update(|s| Ok(removal::remove(s, which, count)?))
    }

    /// The key packs whose CALs the Clearinghouse says were moved away (migrated to
    /// another license server) while this server still holds them: the step of removing
    /// them by hand was skipped. Asks the Clearinghouse once, within `timeout`.
    pub async fn reconcile(&self, timeout: Duration) -> Result<Vec<Discrepancy>, Error> {
        let state = self.state.read()?;
        let Some(id) = state.activation.license_server_id() else {
            return Ok(Vec::new());
        };
        let policy = RetryPolicy {
            attempts: 1,
            timeout,
            ..RetryPolicy::default()
        };
        let known = Clearinghouse::new(state.identity.clearinghouse.clone(), policy)
            .license_server(&id)
            .await?;
        Ok(removal::discrepancies(&state, &known))
    }

    /// The request of `task` carried to the web site or a representative and waiting for
    /// the ID they gave, if there is one: running the flow again with it completes it.
    pub fn waiting(&self, task: Task) -> Result<Option<Waiting>, Error> {
        Ok(self
            .state
            .read()?
            .waiting
            .into_iter()
            .find(|w| w.request.task() == task))
    }

    /// On a source license server: removes the CALs that `key_pack_id` moved to `target`.
    ///
    /// The key pack ID must open for `target`, and the Clearinghouse must confirm it is
    /// CALs migrated to `target`: no one removes CALs from a source by making up an ID.
    pub async fn give_up_cals(
        &self,
        target: &LicenseServerId,
        key_pack_id: &KeyPackId,
    ) -> Result<CalsRemoved, Error> {
        key_pack_id.open(target).map_err(EntryError::from)?;
        let record = self
            .clearinghouse()?
            .key_pack(target, key_pack_id)
            .await
            .map_err(|e| SourceError::Unverified {
                key_pack_id: *key_pack_id,
                reason: e.to_string(),
            })?;
        if record.origin != shared::wire::KeyPackOrigin::Migrated {
            return Err(SourceError::Unverified {
                key_pack_id: *key_pack_id,
                reason: "the Clearinghouse issued it for CALs installed, not migrated".into(),
            }
            .into());
        }
        let own = self.state()?.activation.license_server_id();
        if record.migrated_from.is_none() || record.migrated_from != own {
            let from = record
                .migrated_from
                .map_or("an unknown license server".to_owned(), |id| id.to_string());
            return Err(SourceError::Unverified {
                key_pack_id: *key_pack_id,
                reason: format!("the Clearinghouse migrated those CALs from {from}, not from here"),
            }
            .into());
        }
        self.state
            .update(|s| migration::give_up_cals(s, target, key_pack_id).map_err(Error::from))
    }

    /// Sends `request` by `method` and returns the ID the Clearinghouse gave.
    async fn exchange(
        &self,
        state: &ServerState,
        request: Request,
        shown: shared::id::AnyId,
        method: ConnectionMethod,
        operator: &mut impl Operator,
    ) -> Result<Reply, Error> {
        let carried = Carried::default();
        self.exchange_carried(state, request, shown, method, operator, carried)
            .await
    }

    /// [`Self::exchange`], keeping with a request carried by a person what its rerun
    /// needs.
    async fn exchange_carried(
        &self,
        state: &ServerState,
        request: Request,
        shown: shared::id::AnyId,
        method: ConnectionMethod,
        operator: &mut impl Operator,
        carried: Carried,
    ) -> Result<Reply, Error> {
        let address = state.identity.clearinghouse.clone();
        let desk = match method {
            ConnectionMethod::Automatic => {
                return self.send_automatic(address, request, operator).await;
            }
            ConnectionMethod::WebBrowser => Desk::web(&address),
            ConnectionMethod::Telephone => {
                // Where the simulated line answers, for the person to call; a sheet
                // without it still has the number.
                let line = Telephone::new(Duration::from_secs(2))
                    .line(&address)
                    .await
                    .ok();
                Desk::telephone(state.identity.company.country_region(), &address, line)
            }
        };
        // Kept until the ID it brings is applied, so that the command run again with only
        // the ID completes it.
        let task = request.task();
        self.state.update(|s| {
            s.waiting.retain(|w| w.request.task() != task);
            s.waiting.push(Waiting {
                request: request.clone(),
                method,
                source_address: carried.source_address,
                reminder: carried.reminder,
                since: s.now(),
            });
            Ok::<_, Error>(())
        })?;
        let target = state.activation.license_server_id();
        let company = state.identity.company.clone();
        let handoff = Handoff::new(desk, request, shown, company, target);
        let typed = operator
            .obtain(&handoff)
            .await?
            .ok_or_else(|| Error::Cancelled(format!("no {} was entered", handoff.expects())))?;
        Ok(handoff.accept(&typed)?)
    }

    async fn send_automatic(
        &self,
        address: ClearinghouseAddress,
        request: Request,
        operator: &mut impl Operator,
    ) -> Result<Reply, Error> {
        // The key is kept with the request until its answer is applied, so the same
        // command run again after a lost answer is a retry, not a second request.
        let key = self.state.update(|s| {
            if let Some(pending) = s.pending.iter().find(|p| p.request == request) {
                return Ok::<_, Error>(pending.idempotency_key.clone());
            }
            let key = format!("{:032x}", rand::random::<u128>());
            s.pending.push(Pending {
                idempotency_key: key.clone(),
                request: request.clone(),
            });
            Ok(key)
        })?;
        let clearinghouse = Clearinghouse::new(address, self.retry);
        let sent = clearinghouse
            .send(&request, &key, &mut |p| operator.progress(p))
            .await;
        if let Err(ClearinghouseError::Refused(_)) = &sent {
            self.state.update(|s| {
                s.pending.retain(|p| p.request != request);
                Ok::<_, Error>(())
            })?;
        }
        Ok(sent?)
    }

    /// Installs the key pack the Clearinghouse gave for `asked`. An ID typed in that does
    /// not open here or holds other CALs is the typist's mistake; an automatic answer that
    /// does is the Clearinghouse's, and says which ID it gave.
    fn install_key_pack(
        &self,
        key_pack_id: KeyPackId,
        asked: &Asked<'_>,
        source: KeyPackSource,
    ) -> Result<InstalledKeyPack, Error> {
        let method = asked.method;
        let automatic = method == ConnectionMethod::Automatic;
        let blame = |error: Error| -> Error {
            if automatic {
                ClearinghouseError::Unexpected(format!(
                    "it gave license key pack ID {key_pack_id}, which cannot be installed here: {error}"
                ))
                .into()
            } else {
                error
            }
        };
        let installed = self.state.update(|s| {
            let target = activated(s)?;
            let contents = key_pack_id
                .open(&target)
                .map_err(|e| blame(EntryError::from(e).into()))?;
            if let Some(existing) = s.key_pack(&key_pack_id) {
                return Err(Error::AlreadyInstalled {
                    key_pack_id,
                    local_id: existing.local_id,
                });
            }
            let got = CalRequest {
                product_version: contents.product_version,
                license_type: contents.license_type,
                quantity: contents.quantity,
            };
            // Checked again under the lock: two recoveries at once recover no more than
            // was lost.
            if source == KeyPackSource::Recovered {
                check_lost(s, &got)?;
            }
            if let Some(cals) = asked.cals
                && cals != got
            {
                return Err(blame(Error::NotWhatWasAsked {
                    key_pack_id,
                    asked: describe_cals(&cals),
                    got: describe_cals(&got),
                }));
            }
            // The Clearinghouse issued them, so they are allocated to this license server;
            // it just cannot hold them.
            if !got.product_version.installs_on(s.identity.os) {
                return Err(Error::IssuedTooNew {
                    key_pack_id,
                    cals: describe_cals(&got),
                    too_new: issuance::TooNew {
                        version: got.product_version,
                        os: s.identity.os,
                    },
                });
            }
            let pack = InstalledKeyPack {
                local_id: s.next_local_id(),
                key_pack_id,
                issued_for: target,
                license_program: asked.program,
                product_version: contents.product_version,
                license_type: contents.license_type,
                installed: u32::from(contents.quantity.get()),
                removed: 0,
                lost: 0,
                removed_by_hand: 0,
                issued: 0,
                source,
                method,
                installed_at: s.now(),
            };
            s.pending.retain(|p| p.request != *asked.request);
            s.waiting.retain(|w| w.request != *asked.request);
            s.log(
                EventLevel::Information,
                format!(
                    "key pack {} installed by the {method} method: {} {} {} CALs ({key_pack_id})",
                    pack.local_id, pack.installed, pack.product_version, pack.license_type
                ),
            );
            s.key_packs.push(pack.clone());
            Ok(pack)
        });
        if let Err(Error::AlreadyInstalled { .. }) = &installed {
            // Nothing is left to complete: the request is done with.
            self.state.update(|s| {
                s.waiting.retain(|w| w.request != *asked.request);
                Ok::<_, Error>(())
            })?;
        }
        installed
    }
}

/// Whether `cals` were lost (in a restore onto a new installation or a rebuild) and not
/// recovered yet.
fn check_lost(state: &ServerState, cals: &CalRequest) -> Result<(), Error> {
    let lost = backup::unrecovered(state, cals.product_version, cals.license_type);
    let asked = u32::from(cals.quantity.get());
    if asked > lost {
        return Err(Error::NotLost {
            asked,
            lost,
            what: format!("{} {}", cals.product_version, cals.license_type),
        });
    }
    Ok(())
}

/// What a key pack was asked for: the CALs, unless a retail license code said them.
struct Asked<'a> {
    request: &'a Request,
    cals: Option<CalRequest>,
    program: shared::vocab::LicenseProgram,
    method: ConnectionMethod,
}

/// CALs as a sentence names them, e.g. "1 Windows Server 2019 Per Device CAL".
pub(crate) fn describe_cals(cals: &CalRequest) -> String {
    shared::vocab::counted(
        cals.quantity.get(),
        &format!("{} {} CAL", cals.product_version, cals.license_type),
    )
}

fn activated(state: &ServerState) -> Result<LicenseServerId, Error> {
    match state.activation {
        Activation::Activated {
            license_server_id, ..
        } => Ok(license_server_id),
        Activation::Deactivated {
            license_server_id, ..
        } => Err(Error::Deactivated(license_server_id)),
        Activation::NotActivated => Err(Error::NotActivated),
    }
}

fn license_server_id(reply: Reply) -> Result<LicenseServerId, Error> {
    match reply {
        Reply::LicenseServerId(id) => Ok(id),
        other => Err(unexpected(other)),
    }
}

fn key_pack_id(reply: Reply) -> Result<KeyPackId, Error> {
    match reply {
        Reply::KeyPack(id) => Ok(id),
        other => Err(unexpected(other)),
    }
}

fn unexpected(reply: Reply) -> Error {
    ClearinghouseError::Unexpected(format!("{reply:?}")).into()
}
