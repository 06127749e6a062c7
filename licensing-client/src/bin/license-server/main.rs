//! `license-server`: a simulated RD license server on the command line.
//!
//! Every flow runs interactively when a terminal is attached (prompts for what the flags
//! leave out, a progress indicator, IDs checked group by group as they are typed) and from
//! flags alone otherwise. Exit codes are listed in `--help`.

/// Prints a line on standard output. A reader that went away (`| head`) ends the output,
/// not the program with a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod dial;
mod operator;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use licensing_client::state::ClearinghouseAddress;
use licensing_client::vocab::{CompanyFields, CompanyInfo};
use licensing_client::{ClearinghouseError, Error, LicenseServer, Operator, SourceError};

use args::{Cli, Command, ReportCommand};
use licensing_client::Reminder;
use licensing_client::methods::request::Request;
use licensing_client::tasks::Task;
use licensing_client::vocab::{ConnectionMethod, Term, WindowsServer};
use licensing_client::work::session_host::ConnectError;
use operator::CliOperator;
use output::Output;

/// What the process ends with: documented in `--help` (see `args::EXIT_CODES`).
#[derive(Debug, Clone, Copy)]
enum Exit {
    Refused = 1,
    BadInput = 2,
    NoAnswer = 3,
    Stopped = 4,
    State = 5,
}

/// A failure with the exit code it ends the process with.
struct Failure {
    exit: Exit,
    message: String,
    /// A stable code for scripts (`--json`).
    code: String,
    /// The reminder to remove CALs by hand, when it was not confirmed.
    reminder: Option<Reminder>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        use licensing_client::StateError;
        use licensing_client::work::removal::RemovalError;
        let exit = match &error {
            Error::Entry(_)
            | Error::NotWhatWasAsked { .. }
            | Error::BadAddress(_)
            | Error::CalsRequired(_)
            | Error::Removal(RemovalError::NoSuchKeyPack(_) | RemovalError::Nothing)
            | Error::Source(
                SourceError::IsThisServer | SourceError::BadAddress { .. } | SourceError::NotNamed,
            ) => Exit::BadInput,
            // An answer not understood leaves the request pending: a rerun is safe.
            Error::Clearinghouse(
                ClearinghouseError::NoAnswer { .. } | ClearinghouseError::Unexpected(_),
            )
            | Error::Source(SourceError::Unreachable { .. })
            | Error::WebSiteUnreachable(_)
            | Error::PhoneLineUnreachable(_)
            // The call dropped: running it again is safe, and gets an ID issued on it.
            | Error::PhoneLine(_) => Exit::NoAnswer,
            Error::Cancelled(_) | Error::Unconfirmed(_) => Exit::Stopped,
            Error::BadClock(_)
            | Error::Backup(_)
            | Error::NotLost { .. }
            | Error::NoSuchReport(_)
            | Error::Cal(licensing_client::work::issuance::Refusal::BadClient)
            | Error::Session(
                ConnectError::NoSuchStation { .. } | ConnectError::NotMultiPoint,
            ) => Exit::BadInput,
            // Something is installed there already: the command is refused, the
            // directory is fine.
            Error::State(
                StateError::AlreadyInstalled { .. } | StateError::SessionHostInstalled { .. },
            ) => Exit::Refused,
            Error::State(_) | Error::Serve { .. } => Exit::State,
            _ => Exit::Refused,
        };
        let reminder = match &error {
            Error::Unconfirmed(reminder) => Some(reminder.clone()),
            _ => None,
        };
        Failure {
            exit,
            message: error.to_string(),
            code: error.code(),
            reminder,
        }
    }
}

impl Failure {
    fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::BadInput,
            message: message.into(),
            code: "bad_input".to_owned(),
            reminder: None,
        }
    }

    fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_owned();
        self
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output { json: cli.json };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output.failure(&Failure {
                exit: Exit::State,
                message: format!("cannot start: {e}"),
                code: "cannot_start".to_owned(),
                reminder: None,
            });
            return ExitCode::from(Exit::State as u8);
        }
    };
    match runtime.block_on(run(cli, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output.failure(&failure);
            ExitCode::from(failure.exit as u8)
        }
    }
}

async fn run(cli: Cli, output: Output) -> Result<(), Failure> {
    // Prompts read standard input and draw on standard error: both must be the terminal.
    let interactive =
        !cli.no_input && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let dir = cli.state_dir.clone();
    match cli.command {
        Command::Install(install) => {
            let defaults = operator::Defaults::new(interactive, output.json);
            let name = defaults.text("Computer name", "--name", install.name, "LS01")?;
            let os =
                defaults.choice("Operating system", "--os", install.os, WindowsServer::V2022)?;
            let method = defaults.choice(
                "Connection method",
                "--method",
                install.method,
                ConnectionMethod::Automatic,
            )?;
            let clearinghouse = defaults.text(
                "Clearinghouse URL",
                "--clearinghouse",
                install.clearinghouse,
                "http://127.0.0.1:8780",
            )?;
            defaults.said();
            let mut fields = CompanyFields::default();
            install.company.fill(&mut fields);
            let company = operator::complete(
                interactive,
                &mut fields,
                |fields| CompanyInfo::new(fields.clone()),
                |e| e.field(),
                |field| licensing_client::methods::request::capitalised(field.label()),
                |fields, field, value| fields.set(field, Some(value)),
            )?;
            let setup = licensing_client::Setup {
                name,
                os,
                company,
                connection_method: method,
                clearinghouse: ClearinghouseAddress {
                    url: clearinghouse,
                    tenant: install.tenant,
                    seat_token: install.seat_token,
                },
            };
            let server = match install.seed {
                Some(seed) => {
                    let mut rng =
                        <rand::rngs::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
                    LicenseServer::install(&dir, setup, &mut rng)?
                }
                None => LicenseServer::install(&dir, setup, &mut rand::rng())?,
            };
            output.status(&server.state()?, server.dir(), None);
            if interactive && !output.json {
                eprintln!(
                    "Optional company information (e-mail, phone, organizational unit, address, city, state/province, postal code) can be given with `license-server set --email ... --phone ...`."
                );
            }
        }
        Command::Status(status) => {
            let server = LicenseServer::open(&dir)?;
            let state = server.state()?;
            // A trainer sees here when CALs migrated away were not removed by hand.
            let check = match state.activation.license_server_id() {
                Some(_) if !status.offline => {
                    Some(server.reconcile(std::time::Duration::from_secs(2)).await)
                }
                _ => None,
            };
            output.status(&state, server.dir(), check.as_ref());
        }
        Command::Set(set) => {
            let server = LicenseServer::open(&dir)?;
            let tenant = if set.default_tenant {
                Some(None)
            } else {
                set.tenant.map(Some)
            };
            let mut fields = server.state()?.identity.company.fields().clone();
            let before = fields.clone();
            set.company.fill(&mut fields);
            let company = if fields == before {
                None
            } else {
                Some(CompanyInfo::new(fields).map_err(|e| Failure::bad_input(e.to_string()))?)
            };
            server.set_properties(licensing_client::Properties {
                connection_method: set.method,
                clearinghouse_url: set.clearinghouse,
                tenant,
                seat_token: set
                    .seat_token
                    .map(|t| Some(t.trim().to_owned()).filter(|t| !t.is_empty())),
                company,
            })?;
            output.status(&server.state()?, server.dir(), None);
        }
        Command::Serve(serve) => {
            let server = LicenseServer::open(&dir)?;
            let daemon =
                licensing_client::peer::daemon::Daemon::start(server, serve.listen).await?;
            output.ready(daemon.addr());
            let handle = daemon.handle();
            tokio::spawn(async move {
                shutdown_signal().await;
                handle.stop(true).await;
            });
            daemon.wait().await.map_err(|e| {
                Failure::from(Error::Serve {
                    addr: serve.listen.to_string(),
                    reason: e.to_string(),
                })
            })?;
        }
        Command::Activate(flow) => {
            let server = open_with_retry(&dir, &flow)?;
            let carried = carried(&server, Task::Activate, &flow)?;
            let method = flow.method(&server, carried.as_ref())?;
            let mut operator = CliOperator::new(interactive, &output, &flow, false);
            let id = server.activate(method, &mut operator).await;
            operator.done();
            output.license_server_id("activated", &id?);
        }
        Command::Reactivate(reactivate) => {
            let server = open_with_retry(&dir, &reactivate.flow)?;
            let carried = carried(&server, Task::Reactivate, &reactivate.flow)?;
            let method = reactivate.flow.method(&server, carried.as_ref())?;
            let carried_reason = carried.as_ref().and_then(|w| match &w.request {
                Request::Reactivate(r) => Some(r.reason),
                _ => None,
            });
            let reason = match (reactivate.reason, carried_reason) {
                (Some(reason), Some(carried)) if reason != carried => {
                    return Err(Failure::bad_input(format!(
                        "--reason {} is not what the request taken to the web site or the representative said ({}): leave it out to complete that request with --id, or leave out --id to start a new request",
                        reason.slug(),
                        carried.slug()
                    )));
                }
                (Some(reason), _) | (None, Some(reason)) => reason,
                (None, None) if interactive => {
                    operator::choose("Why is the license server reactivated?")?
                }
                (None, None) => {
                    return Err(Failure::bad_input(
                        "give the reason for reactivating: --reason (redeployed, certificate-corrupted, private-key-compromised, activation-expired, upgraded)",
                    ));
                }
            };
            let mut operator = CliOperator::new(interactive, &output, &reactivate.flow, false);
            let id = server.reactivate(reason, method, &mut operator).await;
            operator.done();
            output.license_server_id("reactivated", &id?);
        }
        Command::Deactivate(flow) => {
            let server = open_with_retry(&dir, &flow)?;
            let carried = carried(&server, Task::Deactivate, &flow)?;
            let method = flow.method(&server, carried.as_ref())?;
            let mut operator = CliOperator::new(interactive, &output, &flow, false);
            let code = server.deactivate(method, &mut operator).await;
            operator.done();
            output.confirmation_code(&code?);
        }
        Command::InstallCals(install) => {
            let server = open_with_retry(&dir, &install.flow)?;
            let carried = carried(&server, Task::Install, &install.flow)?;
            let method = install.flow.method(&server, carried.as_ref())?;
            let parts = carried.as_ref().and_then(|w| match &w.request {
                Request::InstallCals(r) => Some((&r.license, r.cals)),
                _ => None,
            });
            let (license, cals) = install
                .cals
                .resolve(interactive, true, parts)
                .map_err(|f| nothing_carried(f, &install.flow))?;
            let mut operator = CliOperator::new(interactive, &output, &install.flow, false);
            let pack = server
                .install_cals(license, cals, method, &mut operator)
                .await;
            operator.done();
            output.key_pack("installed", &pack?);
        }
        Command::MigrateCals(migrate) => {
            let server = open_with_retry(&dir, &migrate.flow)?;
            let carried = carried(&server, Task::Migrate, &migrate.flow)?;
            let method = migrate.flow.method(&server, carried.as_ref())?;
            let (reason, source) = migrate
                .resolve_source(interactive, carried.as_ref())
                .map_err(|f| nothing_carried(f, &migrate.flow))?;
            let mut operator = CliOperator::new(
                interactive,
                &output,
                &migrate.flow,
                migrate.confirm_manual_removal,
            );
            if interactive && carried.is_none() {
                // The wizard reminds right after the source's page, before the CALs.
                let (_, reminder) = server.check_source(reason, &source).await?;
                if let Some(reminder) = reminder
                    && !operator.confirm(&reminder).await
                {
                    return Err(Error::Unconfirmed(reminder).into());
                }
            }
            let parts = carried.as_ref().and_then(|w| match &w.request {
                Request::MigrateCals(r) => Some((&r.license, Some(r.cals))),
                _ => None,
            });
            let (license, cals) = migrate
                .cals
                .resolve(interactive, false, parts)
                .map_err(|f| nothing_carried(f, &migrate.flow))?;
            let Some(cals) = cals else {
                return Err(
                    Failure::bad_input("give the CALs to migrate").with_code("missing_flag")
                );
            };
            let migration = licensing_client::Migration {
                reason,
                source,
                license,
                cals,
            };
            let migrated = server.migrate_cals(migration, method, &mut operator).await;
            operator.done();
            output.migrated(&migrated?);
        }
        Command::RecoverCals(recover) => {
            let server = open_with_retry(&dir, &recover.flow)?;
            let carried = carried(&server, Task::Recover, &recover.flow)?;
            let method = recover.flow.method(&server, carried.as_ref())?;
            let parts = carried.as_ref().and_then(|w| match &w.request {
                Request::RecoverCals(r) => Some((&r.license, Some(r.cals))),
                _ => None,
            });
            let (license, cals) = recover
                .cals
                .resolve(interactive, false, parts)
                .map_err(|f| nothing_carried(f, &recover.flow))?;
            let Some(cals) = cals else {
                return Err(
                    Failure::bad_input("give the CALs to recover").with_code("missing_flag")
                );
            };
            let mut operator = CliOperator::new(interactive, &output, &recover.flow, false);
            let pack = server
                .recover_cals(license, cals, method, &mut operator)
                .await;
            operator.done();
            output.key_pack("recovered", &pack?);
        }
        Command::RemoveCals(remove) => {
            let server = LicenseServer::open(&dir)?;
            let count = match (remove.count, remove.all) {
                (Some(count), _) => Some(count),
                (None, true) => None,
                (None, false) => {
                    return Err(Failure::bad_input(
                        "say how many CALs to remove (--count N, unissued ones) or that the whole key pack goes (--all)",
                    )
                    .with_code("missing_flag"));
                }
            };
            output.removed_by_hand(&server.remove_cals(&remove.key_pack, count)?);
        }
        Command::Rebuild { yes } => {
            let server = LicenseServer::open(&dir)?;
            let warning = server.rebuild_warning()?;
            let confirmed = yes
                || (interactive
                    && dialoguer::Confirm::new()
                        .with_prompt(format!("{warning}\nRebuild the database?"))
                        .default(false)
                        .interact()
                        .unwrap_or(false));
            if !confirmed {
                eprintln!("{warning}");
                return Err(Error::Cancelled(
                    "the database was not rebuilt: confirm with --yes".into(),
                )
                .into());
            }
            output.rebuilt(&server.rebuild()?);
        }
        Command::Backup { file } => {
            let server = LicenseServer::open(&dir)?;
            server.backup(&file)?;
            output.backed_up(&file);
        }
        Command::Restore { file } => {
            let server = LicenseServer::open(&dir)?;
            output.restored(&server.restore(&file)?);
        }
        Command::Connect(connect) => {
            let server = LicenseServer::open(&dir)?;
            let grant = server.connect_user(
                &connect.client,
                connect.license_type,
                connect.host_os,
                connect.ou.as_deref(),
            )?;
            output.grant(&connect.client, &grant);
        }
        Command::SessionHost(host) => session_host(host, &output).await?,
        Command::Report(report) => {
            let server = LicenseServer::open(&dir)?;
            match report {
                ReportCommand::Create(scope) => {
                    output.report(&server.create_report(scope.scope(interactive)?)?);
                }
                ReportCommand::List => output.reports(&server.state()?.reports),
                ReportCommand::Show { id } => output.report(&server.report(id)?),
                ReportCommand::Save { id, file } => {
                    let csv = licensing_client::work::reports::to_csv(&server.report(id)?)
                        .map_err(|e| Error::Csv(e.to_string()))?;
                    std::fs::write(&file, csv)
                        .map_err(|e| Failure::bad_input(format!("{}: {e}", file.display())))?;
                    output.saved(id, &file);
                }
                ReportCommand::Delete { id } => {
                    server.delete_report(id)?;
                    output.deleted(id);
                }
            }
        }
        Command::Cals => {
            let server = LicenseServer::open(&dir)?;
            output.issued(&server.issued_cals()?);
        }
        Command::Revoke { client } => {
            let server = LicenseServer::open(&dir)?;
            output.revoked(&server.revoke_cal(&client)?);
        }
        Command::Clock(clock) => {
            let server = LicenseServer::open(&dir)?;
            let now = server.move_clock(clock.advance, clock.set)?;
            output.clock(now, server.state()?.clock_offset_secs);
        }
        Command::Events(events) => {
            let server = LicenseServer::open(&dir)?;
            let filter = licensing_client::state::EventFilter {
                level: events.level,
                since: events.since,
                contains: events.contains,
                last: events.last,
            };
            output.events(&filter.apply(&server.state()?));
        }
        Command::Completions { shell } => {
            // Written whole, so a reader that went away ends the output, not the program.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "license-server", &mut script);
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&script);
        }
    }
    Ok(())
}

async fn session_host(host: args::SessionHostArgs, output: &Output) -> Result<(), Failure> {
    use args::SessionHostAction;
    use licensing_client::work::session_host::SessionHost;
    let dir = host.host_dir;
    let state_error = |e: licensing_client::StateError| Failure::from(Error::State(e));
    match host.action {
        SessionHostAction::Install { name, os, stations } => {
            let host = SessionHost::install(&dir, &name, os, stations).map_err(state_error)?;
            output.session_host(&host.state().map_err(state_error)?);
        }
        SessionHostAction::Set {
            licensing_mode,
            license_servers,
        } => {
            let host = SessionHost::open(&dir).map_err(state_error)?;
            let state = host
                .configure(licensing_mode, license_servers)
                .map_err(state_error)?;
            output.session_host(&state);
        }
        SessionHostAction::Connect { client, station } => {
            let host = SessionHost::open(&dir).map_err(state_error)?;
            let client = client.unwrap_or_default();
            let admitted = host.connect(&client, station).await.map_err(Error::from)?;
            output.admitted(&admitted);
        }
        SessionHostAction::Status => {
            let host = SessionHost::open(&dir).map_err(state_error)?;
            output.session_host(&host.state().map_err(state_error)?);
        }
        SessionHostAction::Clock { advance } => {
            let host = SessionHost::open(&dir).map_err(state_error)?;
            host.advance_clock(advance.as_secs()).map_err(state_error)?;
            output.session_host(&host.state().map_err(state_error)?);
        }
    }
    Ok(())
}

fn open_with_retry(dir: &std::path::Path, flow: &args::FlowArgs) -> Result<LicenseServer, Failure> {
    Ok(LicenseServer::open(dir)?.with_retry(flow.retry_policy()))
}

/// The request of `task` a person took to the web site or a representative, when the
/// command is run again with the ID they brought (`--id`) to complete it.
fn carried(
    server: &LicenseServer,
    task: Task,
    flow: &args::FlowArgs,
) -> Result<Option<licensing_client::state::Waiting>, Failure> {
    if flow.id.is_none() {
        return Ok(None);
    }
    Ok(server.waiting(task)?)
}

/// A flag missing with `--id` given: say that no request is waiting for the ID.
fn nothing_carried(failure: Failure, flow: &args::FlowArgs) -> Failure {
    if flow.id.is_none() || failure.code != "missing_flag" {
        return failure;
    }
    Failure {
        message: format!(
            "{}: no request taken to the web site or a representative is waiting for an ID on this license server (one is kept from the run that showed where to go, until the ID it brings is typed)",
            failure.message
        ),
        ..failure
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
