//! Puts a seat at its scenario's start: a fresh tenant, each license server installed and
//! brought to its start state through the licensing client's own flows (automatic method),
//! each session host installed and its clock at the grace period's day, and the scenario's
//! test controls set last (so they act on the student, not on the set-up).
//!
//! What a seat's computers hold is made, not written: the Clearinghouse issued every ID
//! and key pack the license servers hold, so the seat's ledger and its license servers
//! agree from the start, and the same seat seed gives the same IDs on every reset.

use std::path::Path;

use licensing_client::state::ClearinghouseAddress;
use licensing_client::vocab::{CompanyFields, CompanyInfo, ConnectionMethod, LicenseType};
use licensing_client::wire::CalRequest;
use licensing_client::work::session_host::{GRACE_DAYS, SessionHost};
use licensing_client::{Handoff, LicenseServer, Operator, Reminder, Setup};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use shared::vocab::Quantity;

use crate::admin::Admin;
use crate::class::{SeatRecord, SeatServer};
use crate::error::LabError;
use crate::scenario::{ActivationState, Cals, Scenario, ServerSpec};

/// Answers nothing by hand: the set-up uses the automatic method only.
struct Unattended;

impl Operator for Unattended {
    async fn obtain(&mut self, _: &Handoff) -> Result<Option<String>, licensing_client::Error> {
        Ok(None)
    }

    async fn confirm(&mut self, _: &Reminder) -> bool {
        false
    }
}

/// The company information of a seat's license servers.
fn company(scenario: &Scenario, seat: u32) -> Result<CompanyInfo, LabError> {
    CompanyInfo::new(CompanyFields {
        first_name: Some("Student".into()),
        last_name: Some(format!("Seat {seat}")),
        company: Some(format!("Contoso Lab Seat {seat}")),
        country_region: Some(scenario.country.code().to_owned()),
        email: Some(format!("seat{seat}@contoso.example")),
        ..CompanyFields::default()
    })
    .map_err(|e| LabError::Usage(format!("the scenario's company information: {e}")))
}

/// The CALs a step or key pack asks for, as the client takes them.
pub fn cal_request(cals: &Cals) -> Result<CalRequest, LabError> {
    Ok(CalRequest {
        product_version: cals.version,
        license_type: cals.license_type,
        quantity: Quantity::new(cals.quantity).map_err(|e| LabError::Usage(e.to_string()))?,
    })
}

/// A seat token: eight random digits (they are keyed on a telephone too).
pub fn seat_token() -> String {
    format!("{:08}", rand::random::<u32>() % 100_000_000)
}

/// The seat's directory and where each of its computers is kept, before anything is made;
/// with `seat_token`, the token every request for the seat's tenant must carry.
pub fn plan(
    scenario: &Scenario,
    class_dir: &Path,
    n: u32,
    tenant: String,
    seat_token: Option<String>,
) -> SeatRecord {
    let dir = class_dir.join(format!("seat-{n:02}"));
    let servers = scenario
        .servers
        .iter()
        .map(|s| {
            let server = SeatServer {
                dir: dir.join(&s.name),
                daemon: None,
            };
            (s.name.clone(), server)
        })
        .collect();
    let hosts = scenario
        .hosts
        .iter()
        .map(|h| (h.name.clone(), dir.join(&h.name)))
        .collect();
    SeatRecord {
        n,
        tenant,
        dir,
        servers,
        hosts,
        setup_changes: 0,
        seat_token,
    }
}

/// Sets up the seat's tenant and license servers (the part before any daemon runs).
pub async fn set_up_servers(
    admin: &Admin,
    scenario: &Scenario,
    seat: &SeatRecord,
    seed: u64,
) -> Result<(), LabError> {
    admin
        .fresh_tenant(&seat.tenant, seed, seat.seat_token.as_deref())
        .await?;
    std::fs::create_dir_all(&seat.dir).map_err(|e| LabError::io(&seat.dir, e))?;
    let address = ClearinghouseAddress {
        url: admin.url().to_owned(),
        tenant: Some(seat.tenant.clone()),
        seat_token: seat.seat_token.clone(),
    };
    for spec in &scenario.servers {
        let dir = &seat.servers[&spec.name].dir;
        let fail = |reason: String| LabError::Seat {
            seat: seat.n,
            computer: spec.name.clone(),
            reason,
        };
        let company = company(scenario, seat.n)?;
        set_up_server(scenario, spec, company, seed, dir, &address)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

async fn set_up_server(
    scenario: &Scenario,
    spec: &ServerSpec,
    company: CompanyInfo,
    seed: u64,
    dir: &Path,
    address: &ClearinghouseAddress,
) -> Result<(), String> {
    let text = |e: licensing_client::Error| e.to_string();
    remove_computer(dir)?;
    let setup = Setup {
        name: spec.name.clone(),
        os: spec.os,
        company,
        connection_method: ConnectionMethod::Automatic,
        clearinghouse: address.clone(),
    };
    let mut rng = computer_rng(seed, &spec.name);
    let mut server = LicenseServer::install(dir, setup.clone(), &mut rng).map_err(text)?;
    if spec.activation != ActivationState::NotActivated {
        server
            .activate(ConnectionMethod::Automatic, &mut Unattended)
            .await
            .map_err(text)?;
        for pack in &spec.key_packs {
            let cals = cal_request(pack).map_err(|e| e.to_string())?;
            server
                .install_cals(
                    scenario.proof(pack),
                    Some(cals),
                    ConnectionMethod::Automatic,
                    &mut Unattended,
                )
                .await
                .map_err(text)?;
        }
        for k in 1..=spec.clients {
            // A device's first connection gets a temporary CAL, its next a permanent one.
            for _ in 0..2 {
                server
                    .connect_client(&format!("PC-{k:03}"), LicenseType::PerDevice, spec.os)
                    .map_err(text)?;
            }
        }
        if spec.restored_onto_new_installation {
            let backup = dir.with_extension("backup.json");
            server.backup(&backup).map_err(text)?;
            remove_computer(dir)?;
            server = LicenseServer::install(dir, setup, &mut rng).map_err(text)?;
            server.restore(&backup).map_err(text)?;
            let _ = std::fs::remove_file(&backup);
        }
        if spec.activation == ActivationState::Deactivated {
            server
                .deactivate(ConnectionMethod::Automatic, &mut Unattended)
                .await
                .map_err(text)?;
        }
    }
    server
        .set_properties(licensing_client::Properties {
            connection_method: Some(spec.method),
            ..Default::default()
        })
        .map_err(text)?;
    Ok(())
}

/// Sets up the seat's session hosts (once its license servers' daemons answer) and the
/// scenario's test controls. Answers how many changes of the tenant's history the set-up
/// made.
pub async fn set_up_rest(
    admin: &Admin,
    scenario: &Scenario,
    seat: &SeatRecord,
) -> Result<u16, LabError> {
    for spec in &scenario.hosts {
        let dir = &seat.hosts[&spec.name];
        let fail = |reason: String| LabError::Seat {
            seat: seat.n,
            computer: spec.name.clone(),
            reason,
        };
        remove_computer(dir).map_err(fail)?;
        let host = SessionHost::install(dir, &spec.name, spec.os, spec.stations)
            .map_err(|e| fail(e.to_string()))?;
        if let Some(left) = spec.grace_days_left {
            host.advance_clock(GRACE_DAYS.saturating_sub(left) * 24 * 60 * 60)
                .map_err(|e| fail(e.to_string()))?;
        }
        let servers = daemons(seat, &spec.license_servers).map_err(fail)?;
        host.configure(spec.licensing_mode, Some(servers))
            .map_err(|e| fail(e.to_string()))?;
    }
    for fault in &scenario.faults {
        admin.set_fault(&seat.tenant, fault).await?;
    }
    let history = admin.history(&seat.tenant).await?;
    Ok(u16::try_from(history.entries.len()).unwrap_or(u16::MAX))
}

/// The daemon addresses of the named license servers of a seat.
pub fn daemons(seat: &SeatRecord, names: &[String]) -> Result<Vec<String>, String> {
    names
        .iter()
        .map(|name| {
            seat.servers
                .get(name)
                .and_then(|s| s.daemon.clone())
                .ok_or_else(|| {
                    format!(
                        "license server {name} is not on the network (no daemon answers for it)"
                    )
                })
        })
        .collect()
}

/// Removes a computer's directory of an earlier run (only the lab's own: a license
/// server's or session host's directory).
fn remove_computer(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{} could not be cleared: {e}", dir.display())),
    }
}

/// The random source of a computer of a seat: the same product ID on every reset.
fn computer_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let mixed = name.bytes().fold(seed, |h, b| {
        h.wrapping_mul(1_099_511_628_211) ^ u64::from(b)
    });
    ChaCha8Rng::seed_from_u64(mixed)
}
