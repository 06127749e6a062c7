//! Grades a seat against its scenario's checks, from what is durable: the seat's ledger on
//! the clearinghouse (its audit and its history of changes, with the method each came by)
//! and the state its license servers and session hosts keep on disk. Nothing is read from
//! the journal, so a clearinghouse restarted mid-class loses no grade.
//!
//! A failed check says what is missing in the scenario's words when it gives them, with
//! what the grade found beside them.

use std::collections::HashMap;
use std::time::Duration;

use licensing_client::LicenseServer;
use licensing_client::state::{Activation, CalStatus, KeyPackSource, ServerState};
use licensing_client::vocab::{ConnectionMethod, Term};
use licensing_client::work::reports;
use licensing_client::work::session_host::SessionHost;
use shared::wire::{Action, CheckGrade, ClassReport, History, SeatGrade};

use crate::class::{Class, SeatRecord};
use crate::error::LabError;
use crate::scenario::{ActivationState, Check, CheckKind, Origin};

/// What a grade reads of a seat, each read once.
struct Seen<'a> {
    class: &'a Class,
    seat: &'a SeatRecord,
    history: Option<Result<History, String>>,
    servers: HashMap<String, Result<(LicenseServer, ServerState), String>>,
}

impl Seen<'_> {
    async fn history(&mut self) -> Result<&History, String> {
        if self.history.is_none() {
            let read = self
                .class
                .admin
                .history(&self.seat.tenant)
                .await
                .map_err(|e| e.to_string());
            self.history = Some(read);
        }
        match &self.history {
            Some(Ok(history)) => Ok(history),
            Some(Err(e)) => Err(e.clone()),
            None => Err("the history was not read".to_owned()),
        }
    }

    fn server(&mut self, name: &str) -> Result<(LicenseServer, ServerState), String> {
        let seat = self.seat;
        self.servers
            .entry(name.to_owned())
            .or_insert_with(|| {
                let dir = &seat
                    .servers
                    .get(name)
                    .ok_or_else(|| format!("the seat has no license server {name}"))?
                    .dir;
                let server = LicenseServer::open(dir).map_err(|e| e.to_string())?;
                let state = server.state().map_err(|e| e.to_string())?;
                Ok((server, state))
            })
            .clone()
    }
}

/// Grades seat `seat` of `class`.
pub async fn grade_seat(class: &Class, seat: &SeatRecord) -> SeatGrade {
    let mut seen = Seen {
        class,
        seat,
        history: None,
        servers: HashMap::new(),
    };
    let mut checks = Vec::with_capacity(class.scenario.checks.len());
    for check in &class.scenario.checks {
        let outcome = judge(&mut seen, check).await;
        checks.push(CheckGrade {
            check: check.says.clone(),
            passed: outcome.is_ok(),
            missing: outcome.err().map(|found| match &check.missing {
                Some(words) => format!("{words} ({found})"),
                None => found,
            }),
        });
    }
    SeatGrade {
        seat: u16::try_from(seat.n).unwrap_or(u16::MAX),
        tenant: seat.tenant.clone(),
        setup_changes: seat.setup_changes,
        checks,
    }
}

/// Grades every seat `seat` names (one, or all), concurrently.
pub async fn grade(class: &Class, seat: Option<u32>) -> Result<Vec<SeatGrade>, LabError> {
    let seats = class.file.chosen(seat)?;
    Ok(futures_util::future::join_all(seats.into_iter().map(|s| grade_seat(class, s))).await)
}

/// The class report of `grades` (every seat's), as the instructor page shows it.
pub fn report(class: &Class, grades: Vec<SeatGrade>, graded_at: Option<String>) -> ClassReport {
    ClassReport {
        name: class.file.name.clone(),
        scenario: class.scenario.name.clone(),
        title: class.scenario.title.clone(),
        graded_at,
        seats: grades,
    }
}

/// The next thing a seat has to do: what the first check it fails finds missing.
pub fn hint(grade: &SeatGrade) -> Option<String> {
    grade.checks.iter().find(|c| !c.passed).map(|c| {
        c.missing
            .clone()
            .unwrap_or_else(|| format!("not yet: {}", c.check))
    })
}

/// A connection method as a sentence names it: "the telephone method".
pub fn words(method: ConnectionMethod) -> &'static str {
    match method {
        ConnectionMethod::Automatic => "automatic",
        ConnectionMethod::WebBrowser => "web browser",
        ConnectionMethod::Telephone => "telephone",
    }
}

/// Whether the seat passes `check`; if not, what the grade found.
async fn judge(seen: &mut Seen<'_>, check: &Check) -> Result<(), String> {
    match &check.kind {
        CheckKind::Cals {
            server,
            version,
            license_type,
            quantity,
            origin,
            method,
            key_packs,
        } => {
            let (_, state) = seen.server(server)?;
            let packs: Vec<_> = state
                .key_packs
                .iter()
                .filter(|k| k.product_version == *version && k.license_type == *license_type)
                .filter(|k| origin.is_none_or(|o| origin_of(&k.source) == o))
                .filter(|k| k.total() > 0)
                .collect();
            let held: u32 = packs.iter().map(|k| k.total()).sum();
            let what = format!(
                "{} {}{} CALs",
                version.name(),
                license_type.name(),
                origin.map(|o| format!(" {o}")).unwrap_or_default()
            );
            if held != *quantity {
                return Err(format!("{server} holds {held} {what}, not {quantity}"));
            }
            if let Some(expected) = key_packs {
                let count = u32::try_from(packs.len()).unwrap_or(u32::MAX);
                if count != *expected {
                    return Err(format!(
                        "{server} holds its {what} in {count} key packs, not {expected}: they came in more requests than the scenario asks for"
                    ));
                }
            }
            if let Some(method) = method {
                let history = seen.history().await?;
                for pack in packs {
                    let id = pack.key_pack_id.to_string();
                    let came = history
                        .entries
                        .iter()
                        .find(|e| e.ids.contains(&id))
                        .map(|e| e.connection_method);
                    match came {
                        Some(m) if m == *method => {}
                        Some(m) => {
                            return Err(format!(
                                "key pack {id} on {server} came by the {} method, not the {} method",
                                words(m),
                                words(*method)
                            ));
                        }
                        None => {
                            return Err(format!(
                                "the Clearinghouse of this seat never issued key pack {id} on {server}"
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
        CheckKind::Activation {
            server,
            state: expected,
            method,
        } => {
            let (_, state) = seen.server(server)?;
            let (now, id, action) = match state.activation {
                Activation::NotActivated => (ActivationState::NotActivated, None, None),
                Activation::Activated {
                    license_server_id, ..
                } => (
                    ActivationState::Activated,
                    Some(license_server_id),
                    Some(&[Action::Activated, Action::Reactivated][..]),
                ),
                Activation::Deactivated {
                    license_server_id, ..
                } => (
                    ActivationState::Deactivated,
                    Some(license_server_id),
                    Some(&[Action::Deactivated][..]),
                ),
            };
            if now != *expected {
                return Err(format!("{server} is {now}"));
            }
            if let (Some(method), Some(id), Some(actions)) = (method, id, action) {
                let history = seen.history().await?;
                let id = id.to_string();
                let came: Option<ConnectionMethod> = history
                    .entries
                    .iter()
                    .rev()
                    .find(|e| e.license_server_id == id && actions.contains(&e.action))
                    .map(|e| e.connection_method);
                match came {
                    Some(m) if m == *method => {}
                    Some(m) => {
                        return Err(format!(
                            "{server} was {expected} by the {} method, not the {} method",
                            words(m),
                            words(*method)
                        ));
                    }
                    None => {
                        return Err(format!(
                            "the Clearinghouse of this seat has no record of {server} being {expected}"
                        ));
                    }
                }
            }
            Ok(())
        }
        CheckKind::SourceCleared { server } => {
            let (license_server, _) = seen.server(server)?;
            let found = license_server
                .reconcile(Duration::from_secs(10))
                .await
                .map_err(|e| format!("the Clearinghouse could not be asked about {server}: {e}"))?;
            if found.is_empty() {
                return Ok(());
            }
            let held: Vec<String> = found
                .iter()
                .map(|d| {
                    format!(
                        "{} of {} ({} still allocated)",
                        d.holds, d.label, d.allocated
                    )
                })
                .collect();
            Err(format!(
                "{server} still holds {} that the Clearinghouse says were migrated away",
                held.join(", ")
            ))
        }
        CheckKind::KeyPacks { server, count } => {
            let (_, state) = seen.server(server)?;
            let held: Vec<String> = state
                .key_packs
                .iter()
                .filter(|k| k.total() > 0)
                .map(|k| k.label())
                .collect();
            if u32::try_from(held.len()).is_ok_and(|n| n == *count) {
                Ok(())
            } else {
                Err(format!(
                    "{server} holds {} key packs, not {count}: {}",
                    held.len(),
                    held.join("; ")
                ))
            }
        }
        CheckKind::Audit => {
            let audit = seen
                .class
                .admin
                .audit(&seen.seat.tenant)
                .await
                .map_err(|e| e.to_string())?;
            if audit.ok {
                Ok(())
            } else {
                Err(audit.problems.join("; "))
            }
        }
        CheckKind::SessionHost {
            host,
            licensing_mode,
            license_server,
        } => {
            let dir = seen
                .seat
                .hosts
                .get(host)
                .ok_or_else(|| format!("the seat has no session host {host}"))?;
            let state = SessionHost::open(dir)
                .and_then(|h| h.state())
                .map_err(|e| e.to_string())?;
            let address = seen
                .seat
                .servers
                .get(license_server)
                .and_then(|s| s.daemon.clone())
                .unwrap_or_default();
            match state.licensing_mode {
                Some(mode) if mode == *licensing_mode => {}
                Some(mode) => {
                    return Err(format!(
                        "{host} is in {} mode, not {}",
                        mode.name(),
                        licensing_mode.name()
                    ));
                }
                None => return Err(format!("{host} has no licensing mode set")),
            }
            match state.license_servers.first() {
                Some(first) if *first == address => Ok(()),
                Some(first) => Err(format!(
                    "{host} asks {first} first, not {license_server} ({address})"
                )),
                None => Err(format!("{host} is pointed at no license server")),
            }
        }
        CheckKind::ClientsLicensed {
            host,
            server,
            clients,
        } => {
            let (_, state) = seen.server(server)?;
            let missing: Vec<&str> = clients
                .iter()
                .filter(|c| {
                    !state.issued.iter().any(|cal| {
                        cal.client.eq_ignore_ascii_case(c) && cal.status != CalStatus::Revoked
                    })
                })
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} have no CAL from {server}: they have not connected through {host} since it was set up",
                    missing.join(", ")
                ))
            }
        }
        CheckKind::Report { server, csv } => {
            let (_, state) = seen.server(server)?;
            if state.reports.is_empty() {
                return Err(format!("{server} has made no CAL usage report"));
            }
            let path = seen.seat.dir.join(csv);
            let saved = std::fs::read_to_string(&path)
                .map_err(|_| format!("no report is saved as {}", path.display()))?;
            let matches = state
                .reports
                .iter()
                .filter_map(|r| reports::to_csv(r).ok())
                .any(|text| text.trim() == saved.trim());
            if matches {
                Ok(())
            } else {
                Err(format!(
                    "{} is not a CSV of any report {server} made",
                    path.display()
                ))
            }
        }
    }
}

fn origin_of(source: &KeyPackSource) -> Origin {
    match source {
        KeyPackSource::Installed => Origin::Installed,
        KeyPackSource::Migrated { .. } => Origin::Migrated,
        KeyPackSource::Recovered => Origin::Recovered,
    }
}
