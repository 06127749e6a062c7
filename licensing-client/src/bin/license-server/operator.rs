//! The person at the terminal: prompts, the progress indicator, the web and telephone
//! handoffs, and the reminder to remove CALs by hand. Without a terminal, flags answer.

use std::time::Duration;

use dialoguer::{Confirm, Input, Select};
use indicatif::{ProgressBar, ProgressStyle};
use licensing_client::id::{GROUPS, IdError};
use licensing_client::methods::automatic::Progress;
use licensing_client::methods::telephone::Telephone;
use licensing_client::methods::web::WebSite;
use licensing_client::state::ClearinghouseAddress;
use licensing_client::vocab::Term;
use licensing_client::{Desk, Error, Handoff, Operator, Reminder};

use crate::Failure;
use crate::args::FlowArgs;
use crate::output::Output;

/// Answers the flows from the terminal or from flags.
pub struct CliOperator {
    interactive: bool,
    output: Output,
    json: bool,
    id: Option<String>,
    fill_forms: bool,
    hold_call: bool,
    confirm_removal: bool,
    /// Reminders the person confirmed on this run: not asked twice.
    confirmed: Vec<Reminder>,
    spinner: Option<ProgressBar>,
}

impl CliOperator {
    pub fn new(interactive: bool, output: &Output, flow: &FlowArgs, confirm_removal: bool) -> Self {
        CliOperator {
            interactive,
            output: *output,
            json: output.json,
            id: flow.id.clone(),
            fill_forms: flow.fill_forms,
            hold_call: flow.hold_call,
            confirm_removal,
            confirmed: Vec::new(),
            spinner: None,
        }
    }

    /// Clears the progress indicator.
    pub fn done(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn show_handoff(&self, handoff: &Handoff) {
        if self.json {
            self.output.handoff(handoff);
            return;
        }
        let shown = handoff.shown_id;
        let what = shown.kind();
        let title = handoff.task().title();
        match &handoff.desk {
            Desk::Web { url, seat_token } => {
                eprintln!("Open the Remote Desktop Licensing web site: {url}");
                if seat_token.is_some() {
                    eprintln!("It asks for your seat token once: the one your trainer gave you.");
                }
                eprintln!("Choose \"{title}\" and give, page by page:");
            }
            Desk::Telephone {
                number,
                desk,
                country,
                international,
                clearinghouse,
                line,
            } => {
                let desk = if *international {
                    format!("the {desk} desk: there is no local number for {country}")
                } else {
                    format!("the {desk} desk")
                };
                eprintln!(
                    "Call the Microsoft Clearinghouse at {number} ({desk}; a simulated line)."
                );
                if let Some(line) = line {
                    let dial = if self.interactive {
                        "this command offers to dial it"
                    } else {
                        "or --hold-call has this command hold the call itself"
                    };
                    eprintln!(
                        "  The simulated line answers at {line} (`nc {}`); {dial}.",
                        line.replace(':', " ")
                    );
                }
                eprintln!("The representative asks, in this order:");
                eprintln!("  Number dialled: {number}");
                let tenant = match &clearinghouse.tenant {
                    Some(tenant) => tenant.clone(),
                    None => "the default one (an empty answer)".to_owned(),
                };
                eprintln!("  Tenant: {tenant}");
                eprintln!("  Purpose of the call: \"{title}\"");
                eprintln!(
                    "  {}, group by group: {}",
                    licensing_client::methods::request::capitalised(what.name()),
                    shown.groups().join("  ")
                );
            }
        }
        let telephone = matches!(handoff.desk, Desk::Telephone { .. });
        let shown = shown.to_string();
        for (label, value) in handoff.particulars() {
            // On the telephone the ID shown was just given group by group.
            if !(telephone && value == shown) {
                eprintln!("  {label}: {value}");
            }
        }
    }
}

/// The defaults `install` takes for what the flags leave out: asked for on a terminal
/// (the default offered), said on standard error without one.
pub struct Defaults {
    interactive: bool,
    quiet: bool,
    taken: std::cell::RefCell<Vec<String>>,
}

impl Defaults {
    pub fn new(interactive: bool, quiet: bool) -> Self {
        Defaults {
            interactive,
            quiet,
            taken: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// A text value: the flag's, else asked for, else `default`.
    pub fn text(
        &self,
        prompt: &str,
        flag: &str,
        given: Option<String>,
        default: &str,
    ) -> Result<String, Failure> {
        if let Some(value) = given {
            return Ok(value);
        }
        if self.interactive {
            return Input::<String>::new()
                .with_prompt(prompt)
                .default(default.to_owned())
                .interact_text()
                .map(|t| t.trim().to_owned())
                .map_err(|e| Failure::bad_input(format!("{prompt}: {e}")));
        }
        self.taken
            .borrow_mut()
            .push(format!("{prompt} {default} ({flag})"));
        Ok(default.to_owned())
    }

    /// One term of a closed set: the flag's, else chosen, else `default`.
    pub fn choice<T: Term>(
        &self,
        prompt: &str,
        flag: &str,
        given: Option<T>,
        default: T,
    ) -> Result<T, Failure> {
        if let Some(value) = given {
            return Ok(value);
        }
        if self.interactive {
            let names: Vec<&str> = T::ALL.iter().map(|t| t.name()).collect();
            let at = T::ALL.iter().position(|t| *t == default).unwrap_or(0);
            let index = Select::new()
                .with_prompt(prompt)
                .items(&names)
                .default(at)
                .interact()
                .map_err(|e| Failure::bad_input(format!("{prompt}: {e}")))?;
            return Ok(T::ALL.get(index).copied().unwrap_or(default));
        }
        self.taken.borrow_mut().push(format!(
            "{prompt} {} ({flag} {})",
            default.name(),
            default.slug()
        ));
        Ok(default)
    }

    /// Says which defaults were taken without a terminal to ask on.
    pub fn said(&self) {
        let taken = self.taken.borrow();
        if !taken.is_empty() && !self.quiet {
            eprintln!(
                "Taking the defaults (change them with the flags, or later with `license-server set`):"
            );
            for default in taken.iter() {
                eprintln!("  {default}");
            }
        }
    }
}

impl Operator for CliOperator {
    async fn obtain(&mut self, handoff: &Handoff) -> Result<Option<String>, Error> {
        self.done();
        if let Some(id) = self.id.take() {
            return Ok(Some(id));
        }
        if self.fill_forms && matches!(handoff.desk, Desk::Web { .. }) {
            if !self.json {
                eprintln!("Filling in the licensing web site's forms...");
            }
            return WebSite::default().complete(handoff).await.map(Some);
        }
        if self.hold_call && matches!(handoff.desk, Desk::Telephone { .. }) {
            if !self.json {
                eprintln!("Calling the Microsoft Clearinghouse's phone line...");
            }
            return Telephone::default().call(handoff).await.map(Some);
        }
        self.show_handoff(handoff);
        let expects = handoff.expects();
        if !self.interactive {
            eprintln!(
                "Once you have the {expects}, run `license-server {} --id <{expects}>`: the rest of this request is kept.",
                subcommand(handoff.task())
            );
            return Ok(None);
        }
        if let Desk::Telephone { clearinghouse, .. } = &handoff.desk {
            offer_to_dial(clearinghouse).await;
        }
        Ok(by_group(handoff))
    }

    async fn confirm(&mut self, reminder: &Reminder) -> bool {
        self.done();
        // Confirmed by a flag or already on this run: the outcome shows it once, at the
        // end, if the migration goes through.
        if self.confirm_removal || self.confirmed.contains(reminder) {
            return true;
        }
        if !self.interactive {
            if !self.json {
                eprintln!("Confirm the reminder with --confirm-manual-removal to go on.");
            }
            return false;
        }
        let confirmed = Confirm::new()
            .with_prompt(format!("{reminder}\nDo you understand and want to go on?"))
            .default(false)
            .interact()
            .unwrap_or(false);
        if confirmed {
            self.confirmed.push(reminder.clone());
        }
        confirmed
    }

    fn progress(&mut self, progress: Progress) {
        if self.json || !self.interactive {
            if let Progress::Retrying { reason, delay, .. } = &progress {
                eprintln!("{reason}; retrying in {delay:.1?}");
            }
            return;
        }
        let spinner = self.spinner.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        match progress {
            Progress::Sending { attempt: 1 } => {
                spinner.set_message("Contacting the Microsoft Clearinghouse...");
            }
            Progress::Sending { attempt } => {
                spinner.set_message(format!(
                    "Contacting the Microsoft Clearinghouse (attempt {attempt})..."
                ));
            }
            Progress::Retrying { reason, delay, .. } => {
                spinner.set_message(format!("{reason}; retrying in {delay:.1?}"));
            }
        }
    }
}

/// The command that runs `task`.
fn subcommand(task: licensing_client::tasks::Task) -> &'static str {
    use licensing_client::tasks::Task;
    match task {
        Task::Activate => "activate",
        Task::Install => "install-cals",
        Task::Migrate => "migrate-cals",
        Task::Reactivate => "reactivate",
        Task::Deactivate => "deactivate",
        Task::Recover => "recover-cals",
    }
}

/// Offers to connect the terminal to the simulated phone line, and holds the call there.
async fn offer_to_dial(clearinghouse: &ClearinghouseAddress) {
    let dial = Confirm::new()
        .with_prompt(
            "Dial the simulated line now? (this terminal becomes the call; say bye to hang up)",
        )
        .default(true)
        .interact()
        .unwrap_or(false);
    if !dial {
        return;
    }
    let line = match Telephone::default().line(clearinghouse).await {
        Ok(line) => line,
        Err(e) => {
            eprintln!("{e}. Type the ID if you have it from another call.");
            return;
        }
    };
    let outcome = tokio::task::spawn_blocking(move || crate::dial::call(&line)).await;
    if let Ok(Err(e)) = outcome {
        eprintln!("The call failed: {e}. Type the ID if you have it from another call.");
    }
}

/// The ID given back, typed group by group, each checked as it is typed. A whole ID may
/// be pasted at the first group.
fn by_group(handoff: &Handoff) -> Option<String> {
    let expects = handoff.expects();
    let from = match handoff.desk {
        Desk::Telephone { .. } => "the representative read out",
        Desk::Web { .. } => "the web site shows",
    };
    eprintln!(
        "Type the {expects} {from}, one group of five digits at a time, or paste it whole (empty to give up)."
    );
    loop {
        let mut groups = Vec::with_capacity(GROUPS);
        for group in 1..=GROUPS {
            let text = Input::<String>::new()
                .with_prompt(format!("Group {group} of {GROUPS}"))
                .allow_empty(true)
                .validate_with(|text: &String| {
                    if text.trim().is_empty() || (group == 1 && handoff.accept(text).is_ok()) {
                        return Ok(());
                    }
                    handoff.check_group(group, text).map_err(|e| match e {
                        licensing_client::EntryError::Id(IdError::Typo { .. }) => {
                            format!(
                                "group {group} of {GROUPS} has a typo: check its five digits against what {from}"
                            )
                        }
                        other => format!("{other}; check it against what {from}"),
                    })
                })
                .interact_text()
                .ok()?;
            if text.trim().is_empty() {
                return None;
            }
            if group == 1 && handoff.accept(&text).is_ok() {
                return Some(text);
            }
            groups.push(text.trim().to_owned());
        }
        let typed = groups.join("-");
        match handoff.accept(&typed) {
            Ok(_) => return Some(typed),
            Err(e) => eprintln!("{e}. Start again from group 1."),
        }
    }
}

/// Asks for one term of a closed set.
pub fn choose<T: Term>(prompt: &str) -> Result<T, Failure> {
    let names: Vec<&str> = T::ALL.iter().map(|t| t.name()).collect();
    let index = Select::new()
        .with_prompt(prompt)
        .items(&names)
        .default(0)
        .interact()
        .map_err(|e| Failure::bad_input(format!("{prompt}: {e}")))?;
    T::ALL
        .get(index)
        .copied()
        .ok_or_else(|| Failure::bad_input(format!("{prompt}: nothing chosen")))
}

/// Asks for a text, checked by `check` as it is typed.
pub fn ask(prompt: &str, check: impl Fn(&str) -> Result<(), String>) -> Result<String, Failure> {
    Input::<String>::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .validate_with(|text: &String| check(text.trim()))
        .interact_text()
        .map(|text| text.trim().to_owned())
        .map_err(|e| Failure::bad_input(format!("{prompt}: {e}")))
}

/// Builds a value from form-like `fields`. On a terminal, each field `build` reports as
/// missing or wrong is asked for (checked as it is typed) until the value builds; without
/// one, the first error is the answer.
pub fn complete<F: Clone, K: PartialEq + Copy, T, E: std::fmt::Display>(
    interactive: bool,
    fields: &mut F,
    build: impl Fn(&F) -> Result<T, E>,
    field_of: impl Fn(&E) -> Option<K>,
    prompt: impl Fn(K) -> String,
    set: impl Fn(&mut F, K, String),
) -> Result<T, Failure> {
    loop {
        let error = match build(fields) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let field = match field_of(&error) {
            Some(field) if interactive => field,
            _ => return Err(Failure::bad_input(error.to_string())),
        };
        let value = ask(&prompt(field), |text| {
            let mut trial = fields.clone();
            set(&mut trial, field, text.to_owned());
            match build(&trial) {
                Err(e) if field_of(&e) == Some(field) => Err(e.to_string()),
                _ => Ok(()),
            }
        })?;
        set(fields, field, value);
    }
}
