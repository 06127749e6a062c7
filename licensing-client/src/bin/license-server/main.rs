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
use licensing_client::{ClearinghouseError, Error, LicenseServer, SourceError};

use args::{Cli, Command, ReportCommand};
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
    code: Option<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let exit = match &error {
            Error::Entry(_)
            | Error::NotWhatWasAsked { .. }
            | Error::BadAddress(_)
            | Error::Source(SourceError::IsThisServer) => Exit::BadInput,
            // An answer not understood leaves the request pending: a rerun is safe.
            Error::Clearinghouse(
                ClearinghouseError::NoAnswer { .. } | ClearinghouseError::Unexpected(_),
            )
            | Error::Source(SourceError::Unreachable { .. })
            | Error::WebSiteUnreachable(_)
            | Error::PhoneLineUnreachable(_)
            // The call dropped: running it again is safe, and gets an ID issued on it.
            | Error::PhoneLine(_) => Exit::NoAnswer,
            Error::Cancelled(_) => Exit::Stopped,
            Error::BadClock(_)
            | Error::Backup(_)
            | Error::NotLost { .. }
            | Error::NoSuchReport(_)
            | Error::Cal(licensing_client::work::issuance::Refusal::BadClient)
            | Error::Session(
                ConnectError::NoSuchStation { .. } | ConnectError::NotMultiPoint,
            ) => Exit::BadInput,
            Error::State(_) | Error::Serve { .. } => Exit::State,
            _ => Exit::Refused,
        };
        let code = match &error {
            Error::Clearinghouse(e) => e.code().map(|c| c.as_str()),
            _ => None,
        };
        Failure {
            exit,
            message: error.to_string(),
            code,
        }
    }
}

impl Failure {
    fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::BadInput,
            message: message.into(),
            code: None,
        }
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
            output.failure(&format!("cannot start: {e}"), None);
            return ExitCode::from(Exit::State as u8);
        }
    };
    match runtime.block_on(run(cli, output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output.failure(&failure.message, failure.code.as_deref());
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
                name: install.name,
                os: install.os,
                company,
                connection_method: install.method,
                clearinghouse: ClearinghouseAddress {
                    url: install.clearinghouse,
                    tenant: install.tenant,
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
            output.status(&server.state()?, server.dir());
        }
        Command::Status => {
            let server = LicenseServer::open(&dir)?;
            output.status(&server.state()?, server.dir());
        }
        Command::Set(set) => {
            let server = LicenseServer::open(&dir)?;
            let tenant = if set.default_tenant {
                Some(None)
            } else {
                set.tenant.map(Some)
            };
            server.set_properties(licensing_client::Properties {
                connection_method: set.method,
                clearinghouse_url: set.clearinghouse,
                tenant,
            })?;
            output.status(&server.state()?, server.dir());
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
            let method = flow.method(&server)?;
            let mut operator = CliOperator::new(interactive, &output, &flow, false);
            let id = server.activate(method, &mut operator).await;
            operator.done();
            output.license_server_id("activated", &id?);
        }
        Command::Reactivate(reactivate) => {
            let server = open_with_retry(&dir, &reactivate.flow)?;
            let method = reactivate.flow.method(&server)?;
            let reason = match reactivate.reason {
                Some(reason) => reason,
                None if interactive => operator::choose("Why is the license server reactivated?")?,
                None => {
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
            let method = flow.method(&server)?;
            let mut operator = CliOperator::new(interactive, &output, &flow, false);
            let code = server.deactivate(method, &mut operator).await;
            operator.done();
            output.confirmation_code(&code?);
        }
        Command::InstallCals(install) => {
            let server = open_with_retry(&dir, &install.flow)?;
            let method = install.flow.method(&server)?;
            let (license, cals) = install.cals.resolve(interactive)?;
            let mut operator = CliOperator::new(interactive, &output, &install.flow, false);
            let pack = server
                .install_cals(license, cals, method, &mut operator)
                .await;
            operator.done();
            output.key_pack("installed", &pack?);
        }
        Command::MigrateCals(migrate) => {
            let server = open_with_retry(&dir, &migrate.flow)?;
            let method = migrate.flow.method(&server)?;
            let migration = migrate.resolve(interactive)?;
            let mut operator = CliOperator::new(
                interactive,
                &output,
                &migrate.flow,
                migrate.confirm_manual_removal,
            );
            let migrated = server.migrate_cals(migration, method, &mut operator).await;
            operator.done();
            output.migrated(&migrated?);
        }
        Command::RecoverCals(recover) => {
            let server = open_with_retry(&dir, &recover.flow)?;
            let method = recover.flow.method(&server)?;
            let (license, cals) = recover.cals.resolve(interactive)?;
            let mut operator = CliOperator::new(interactive, &output, &recover.flow, false);
            let pack = server
                .recover_cals(license, cals, method, &mut operator)
                .await;
            operator.done();
            output.key_pack("recovered", &pack?);
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
                    output.report(&server.create_report(scope.scope())?);
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
