//! A request a person brought through a door of their own (a web site form, a phone call),
//! run against the ledger the way the JSON API runs its requests: with an idempotency key,
//! and journaled as the API request it amounts to, so a tenant's journal replays the same
//! whichever door was used.

use std::time::{Duration, Instant};

use sha2::Digest;
use shared::vocab::ConnectionMethod;
use shared::wire::ErrorCode;

use crate::controls::{Controls, Recorded};
use crate::http::api::as_api_request;
use crate::ledger::{Answer, Command, Ledger, Reply, TenantName};
use crate::tasks::{self, FieldError, Form, Step, Task};

/// How long a repeat waits for the first of its key to be answered.
const REPEAT_WAIT: Duration = Duration::from_secs(5);

/// A command and where it came from.
pub struct Submission<'a> {
    /// The tenant.
    pub tenant: &'a TenantName,
    /// What is asked.
    pub command: crate::ledger::Command,
    /// The door's name for the exchange the command belongs to (a form's nonce, a call's
    /// number); with the command's digest it makes the idempotency key.
    pub exchange: &'a str,
    /// The door.
    pub method: ConnectionMethod,
    /// What the journal shows as the path it came in by.
    pub path: &'a str,
}

impl Submission<'_> {
    /// Its idempotency key: the exchange's, and this command's. The same form sent twice
    /// is a repeat; a form corrected after a refusal is a new request.
    pub fn key(&self) -> String {
        key(self.method, self.exchange, &self.command)
    }

    /// Runs it. While a request with the same key is still being applied (the same form
    /// sent twice in quick succession), waits for it, so the repeat gets its answer.
    pub async fn run(self, ledger: &Ledger, controls: &Controls) -> Reply {
        let key = self.key();
        let deadline = Instant::now() + REPEAT_WAIT;
        let reply = loop {
            let reply = ledger
                .execute_by(
                    self.tenant.clone(),
                    self.command.clone(),
                    Some(key.clone()),
                    self.method,
                )
                .await;
            let in_progress =
                matches!(&reply.outcome, Err(p) if p.code == ErrorCode::RequestInProgress);
            if !in_progress || Instant::now() >= deadline {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if let Some((route, success, body)) = as_api_request(&self.command) {
            let status = match &reply.outcome {
                Ok(_) => success.as_u16(),
                Err(problem) => problem.status,
            };
            let at_ms = ledger
                .tenant_state(self.tenant)
                .ok()
                .flatten()
                .map_or(0, |s| s.now_ms);
            controls.journal.record(
                self.tenant,
                Recorded {
                    at_ms,
                    method: "POST".to_owned(),
                    route,
                    path: self.path.to_owned(),
                    idempotency_key: Some(key),
                    status,
                    ids: reply
                        .outcome
                        .as_ref()
                        .map(Answer::issued_ids)
                        .unwrap_or_default(),
                    body: Some(body),
                    applied: reply.applied,
                    replayed: reply.replayed,
                    refusal: reply.outcome.as_ref().err().map(|p| p.detail.clone()),
                    faults: Vec::new(),
                    connection_method: self.method,
                    medium: None,
                    transcript: Vec::new(),
                },
            );
        }
        reply
    }
}

/// What the ledger says of the license server ID typed on `step`, when `task` gives it
/// something: its refusal (deactivated, replaced, unknown), shown at the field as soon as
/// the ID is typed rather than after the rest of the form.
pub async fn check_receiving(
    ledger: &Ledger,
    tenant: &TenantName,
    task: Task,
    step: &Step,
    form: &Form,
) -> Option<FieldError> {
    let field = tasks::receiving_field(task, step)?;
    let id = tasks::license_server_id(form, field)?;
    let reply = ledger
        .execute(tenant.clone(), Command::Receiving(id), None)
        .await;
    reply.outcome.err().map(|problem| (field, problem.detail))
}

/// The idempotency key of `command` in `exchange` through the door of `method`.
pub fn key(method: ConnectionMethod, exchange: &str, command: &Command) -> String {
    let door = match method {
        ConnectionMethod::WebBrowser => "portal",
        ConnectionMethod::Telephone => "phone",
        ConnectionMethod::Automatic => "api",
    };
    let digest: String = as_api_request(command)
        .map(|(_, _, body)| crate::hex::encode(&sha2::Sha256::digest(body)[..8]))
        .unwrap_or_default();
    format!("{door}-{exchange}-{digest}")
}
