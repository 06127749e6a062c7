//! The scripted student: plays steps on a seat through the licensing client's library,
//! each by the connection method the step names: the automatic method over the API, the
//! web browser method by filling in the licensing site's forms, the telephone method by
//! answering the representative on the phone line. `lab solve` plays a scenario's
//! reference solution this way; tests play wrong ones too.

use licensing_client::methods::telephone::CallHolder;
use licensing_client::methods::web::FormFiller;
use licensing_client::state::Scope;
use licensing_client::vocab::{ConnectionMethod, Term};
use licensing_client::work::removal::KeyPackRef;
use licensing_client::work::reports;
use licensing_client::work::session_host::SessionHost;
use licensing_client::{Handoff, LicenseServer, Migration, Operator, Reminder, Source};

use crate::class::{Class, SeatRecord};
use crate::error::LabError;
use crate::grade::words;
use crate::scenario::Step;
use crate::seat::{cal_request, daemons};

/// The person at the license server, by method: confirms every reminder (the student
/// read it), and takes a handoff to the site or the representative itself.
enum Student {
    Automatic,
    Web(FormFiller),
    Telephone(CallHolder),
}

impl Student {
    fn by(method: ConnectionMethod) -> Student {
        match method {
            ConnectionMethod::Automatic => Student::Automatic,
            ConnectionMethod::WebBrowser => Student::Web(FormFiller::new(true)),
            ConnectionMethod::Telephone => Student::Telephone(CallHolder::new(true)),
        }
    }
}

impl Operator for Student {
    async fn obtain(
        &mut self,
        handoff: &Handoff,
    ) -> Result<Option<String>, licensing_client::Error> {
        match self {
            Student::Automatic => Ok(None),
            Student::Web(filler) => filler.obtain(handoff).await,
            Student::Telephone(caller) => caller.obtain(handoff).await,
        }
    }

    async fn confirm(&mut self, _: &Reminder) -> bool {
        true
    }
}

/// A step in words, for its errors.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Activate { server, method } => {
            format!("activate {server} by the {} method", words(*method))
        }
        Step::Deactivate { server, method } => {
            format!("deactivate {server} by the {} method", words(*method))
        }
        Step::InstallCals {
            server,
            method,
            cals,
        } => format!(
            "install {} on {server} by the {} method",
            cals_words(cals),
            words(*method)
        ),
        Step::MigrateCals {
            server,
            from,
            method,
            cals,
            ..
        } => format!(
            "migrate {} from {from} to {server} by the {} method",
            cals_words(cals),
            words(*method)
        ),
        Step::RecoverCals {
            server,
            method,
            cals,
        } => format!(
            "recover {} on {server} by the {} method",
            cals_words(cals),
            words(*method)
        ),
        Step::RemoveCals {
            server,
            version,
            license_type,
            quantity,
        } => format!(
            "remove {quantity} {} {} CALs from {server} by hand",
            version.slug(),
            license_type.slug()
        ),
        Step::ConfigureHost {
            host,
            licensing_mode,
            license_servers,
        } => format!(
            "set {host} to {} mode with license servers {}",
            licensing_mode.slug(),
            license_servers.join(", ")
        ),
        Step::Connect { host, clients } => {
            format!("connect {} through {host}", clients.join(", "))
        }
        Step::Report {
            server,
            domain,
            csv,
        } => format!("save a CAL usage report of {domain} on {server} as {csv}"),
    }
}

/// CALs in words: "40 2019 per-device CALs".
fn cals_words(cals: &crate::scenario::Cals) -> String {
    format!(
        "{} {} {} CALs",
        cals.quantity,
        cals.version.slug(),
        cals.license_type.slug()
    )
}

/// Plays `steps` on seat `seat` of `class`, in order, stopping at the first that fails.
pub async fn play(class: &Class, seat: &SeatRecord, steps: &[Step]) -> Result<(), LabError> {
    for (i, step) in steps.iter().enumerate() {
        play_step(class, seat, step)
            .await
            .map_err(|reason| LabError::Step {
                seat: seat.n,
                step: i + 1,
                what: describe(step),
                reason,
            })?;
    }
    Ok(())
}

fn open(seat: &SeatRecord, name: &str) -> Result<LicenseServer, String> {
    let dir = &seat
        .servers
        .get(name)
        .ok_or_else(|| format!("seat {} has no license server {name}", seat.n))?
        .dir;
    LicenseServer::open(dir).map_err(|e| e.to_string())
}

fn host(seat: &SeatRecord, name: &str) -> Result<SessionHost, String> {
    let dir = seat
        .hosts
        .get(name)
        .ok_or_else(|| format!("seat {} has no session host {name}", seat.n))?;
    SessionHost::open(dir).map_err(|e| e.to_string())
}

async fn play_step(class: &Class, seat: &SeatRecord, step: &Step) -> Result<(), String> {
    let text = |e: licensing_client::Error| e.to_string();
    match step {
        Step::Activate { server, method } => {
            let mut student = Student::by(*method);
            open(seat, server)?
                .activate(*method, &mut student)
                .await
                .map(drop)
                .map_err(text)
        }
        Step::Deactivate { server, method } => {
            let mut student = Student::by(*method);
            open(seat, server)?
                .deactivate(*method, &mut student)
                .await
                .map(drop)
                .map_err(text)
        }
        Step::InstallCals {
            server,
            method,
            cals,
        } => {
            let mut student = Student::by(*method);
            let request = cal_request(cals).map_err(|e| e.to_string())?;
            open(seat, server)?
                .install_cals(
                    class.scenario.proof(cals),
                    Some(request),
                    *method,
                    &mut student,
                )
                .await
                .map(drop)
                .map_err(text)
        }
        Step::RecoverCals {
            server,
            method,
            cals,
        } => {
            let mut student = Student::by(*method);
            let request = cal_request(cals).map_err(|e| e.to_string())?;
            open(seat, server)?
                .recover_cals(class.scenario.proof(cals), request, *method, &mut student)
                .await
                .map(drop)
                .map_err(text)
        }
        Step::MigrateCals {
            server,
            from,
            reason,
            method,
            cals,
        } => {
            let mut student = Student::by(*method);
            let source = match seat.servers.get(from).and_then(|s| s.daemon.clone()) {
                Some(address) => Source::Reachable(address),
                None => {
                    // What the student reads off the source's own screen.
                    let state = open(seat, from)?.state().map_err(text)?;
                    Source::Unreachable {
                        license_server_id: state.activation.license_server_id(),
                        os: Some(state.identity.os),
                        name: Some(state.identity.name),
                    }
                }
            };
            let migration = Migration {
                reason: *reason,
                source,
                license: class.scenario.proof(cals),
                cals: cal_request(cals).map_err(|e| e.to_string())?,
            };
            open(seat, server)?
                .migrate_cals(migration, *method, &mut student)
                .await
                .map(drop)
                .map_err(text)
        }
        Step::RemoveCals {
            server,
            version,
            license_type,
            quantity,
        } => {
            let server = open(seat, server)?;
            let state = server.state().map_err(text)?;
            let mut left = *quantity;
            for pack in state
                .key_packs
                .iter()
                .filter(|k| k.product_version == *version && k.license_type == *license_type)
            {
                let take = left.min(pack.available());
                if take == 0 {
                    continue;
                }
                server
                    .remove_cals(&KeyPackRef::Local(pack.local_id), Some(take))
                    .map_err(text)?;
                left -= take;
            }
            if left > 0 {
                return Err(format!(
                    "{left} of the CALs to remove are not on the server"
                ));
            }
            Ok(())
        }
        Step::ConfigureHost {
            host: name,
            licensing_mode,
            license_servers,
        } => {
            let servers = daemons(seat, license_servers)?;
            host(seat, name)?
                .configure(Some(*licensing_mode), Some(servers))
                .map(drop)
                .map_err(|e| e.to_string())
        }
        Step::Connect {
            host: name,
            clients,
        } => {
            let host = host(seat, name)?;
            for client in clients {
                host.connect(client, None)
                    .await
                    .map_err(|e| format!("{client}: {e}"))?;
            }
            Ok(())
        }
        Step::Report {
            server,
            domain,
            csv,
        } => {
            let report = open(seat, server)?
                .create_report(Scope::Domain {
                    domain: domain.clone(),
                })
                .map_err(text)?;
            let text = reports::to_csv(&report).map_err(|e| e.to_string())?;
            let path = seat.dir.join(csv);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}
