//! The simulated representative: the questions a Clearinghouse representative asks, in the
//! order [`crate::tasks`] gives them, and the ID read back group by group.
//!
//! The call goes: the number dialled and the tenant; the purpose of the call; each field
//! of the task, an ID group by group (each read back, a group whose check digit fails
//! asked again); a read-back of everything and a yes to go ahead; then the ID given,
//! group by group, each waiting for "ok" or "repeat". Nothing is sent to the ledger
//! before that yes, so a call that ends earlier issues nothing.

use shared::id::{GROUPS, check_group};
use shared::vocab::{CompanyField, ConnectionMethod, PhoneLine};
use shared::wire::DEFAULT_TENANT;

use super::Switchboard;
use super::line::{Answers, Ended, Medium, Tag};
use crate::ledger::{Answer, TenantName, TenantState};
use crate::submission::{self, Submission};
use crate::tasks::{self, Field, Form, Input, Step, Task};

/// How many wrong answers a question takes before the call ends.
const MAX_TRIES: usize = 5;
/// Where the form keeps the caller's answer to whether they give the optional company
/// information (not a field of the request).
const OPTIONAL_COMPANY: &str = "optional_company";

/// The greeting on a keypad line: said on every call, so synthesized once, at start-up.
pub const KEYPAD_GREETING: &str = "Microsoft Clearinghouse, simulated line: a simulated representative answers, and no real call is made. Answer on your keypad and end each answer with the hash key; press star to hear a question again.";
/// The first question on a keypad line, when the number dialled is not known.
pub const KEYPAD_NUMBER: &str =
    "Which number did you dial? Key it in as your license server shows it, then press hash.";

/// One call.
pub struct Call<'a, M> {
    line: &'a mut M,
    board: &'a Switchboard,
    /// The call's number, which makes its idempotency keys its own.
    exchange: String,
    /// The ID issued on this call, once there is one.
    issued: Option<Issued>,
    /// The tenant called for, once the caller said.
    tenant: Option<TenantName>,
    /// The desk called, once the caller said.
    desk: Option<PhoneLine>,
}

/// How a call went.
pub struct Held {
    /// How it ended.
    pub outcome: Result<(), Ended>,
    /// The tenant it was for, once the caller said.
    pub tenant: Option<TenantName>,
    /// The ID issued on it, if one was.
    pub issued: Option<String>,
}

/// An ID issued on a call, and the request it answers.
struct Issued {
    id: String,
    tenant: TenantName,
    /// The request, as the switchboard knows it.
    request: String,
    /// The exchange it was submitted under.
    exchange: String,
    /// Whether it was read out in full.
    read: bool,
}

impl<'a, M: Medium> Call<'a, M> {
    pub fn new(line: &'a mut M, board: &'a Switchboard, number: u64) -> Self {
        Call {
            line,
            board,
            exchange: format!("{number}-{:016x}", rand::random::<u64>()),
            issued: None,
            tenant: None,
            desk: None,
        }
    }

    /// Whether the caller answers on a keypad.
    fn keys(&self) -> bool {
        self.line.answers() == Answers::Keys
    }

    /// Asks `question` under `slot` until it is answered yes or no, said as the caller
    /// answers it: in words, or 1 or 2 on a keypad.
    async fn ask_yes_no(&mut self, slot: &str, what: &str, question: &str) -> Result<bool, Ended> {
        let keys = self.keys();
        let question = if keys {
            format!("{question} Press 1 for yes, or 2 for no, then hash.")
        } else {
            format!("{question} (yes or no)")
        };
        self.ask(slot, what, &question, |t| yes_or_no(t, keys))
            .await
    }

    /// The options of a menu, numbered from 1, as the caller answers them; on a keypad,
    /// each after `lead` ("for", or "to" before a verb).
    fn menu(&self, lead: &str, options: &[String]) -> String {
        let listed: Vec<String> = options
            .iter()
            .enumerate()
            .map(|(i, option)| {
                if self.keys() {
                    // The menu follows a question: its first option starts a sentence.
                    let lead = if i == 0 {
                        shared::tasks::capitalised(lead)
                    } else {
                        lead.to_owned()
                    };
                    format!("{lead} {option}, press {}", i + 1)
                } else {
                    format!("{} {option}", i + 1)
                }
            })
            .collect();
        listed.join("; ")
    }

    /// Holds the call to its end, or to why it ended early, and says goodbye.
    pub async fn hold(mut self) -> Held {
        let outcome = self.hold_to_the_end().await;
        Held {
            outcome,
            tenant: self.tenant.take(),
            issued: self.issued.take().map(|issued| issued.id),
        }
    }

    async fn hold_to_the_end(&mut self) -> Result<(), Ended> {
        let longest = self.board.settings.longest_call;
        let outcome = match tokio::time::timeout(longest, self.converse()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Ended::TooLong(longest)),
        };
        if let Some(issued) = &self.issued
            && !issued.read
        {
            // Nobody heard this ID in full: the same request on a later call gets it again.
            self.board
                .unread(&issued.tenant, &issued.request, &issued.exchange);
        }
        let goodbye = match &outcome {
            Ok(()) => return Ok(()),
            Err(Ended::TooLong(longest)) => Some((
                "too-long",
                format!(
                    "This call has lasted {} minutes, the longest a call may, so I am ending it.",
                    longest.as_secs() / 60
                ),
            )),
            Err(Ended::HungUp { said: false } | Ended::Lost) => None,
            Err(Ended::HungUp { said: true }) => Some(("hung-up", "Goodbye.".to_owned())),
            Err(Ended::Idle(idle)) => Some((
                "idle",
                format!(
                    "No answer for {} seconds, so I am ending the call.",
                    idle.as_secs()
                ),
            )),
            Err(Ended::Noise(what)) => Some((
                "noise",
                format!("The line is too noisy ({what}), so I am ending the call."),
            )),
            Err(Ended::TooManyTries { what, .. }) => Some((
                "tries",
                format!("Let's stop here: please call again when you have the {what} at hand."),
            )),
            Err(Ended::Refused) => Some((
                "refused",
                "I cannot go further with this request.".to_owned(),
            )),
        };
        if let Some((slot, text)) = goodbye {
            let issued = match &self.issued {
                Some(issued) => {
                    format!(" The ID issued on this call, {}, stays issued.", issued.id)
                }
                None => " Nothing was issued on this call.".to_owned(),
            };
            // The caller may be gone already; there is no one to tell then.
            let _ = self
                .line
                .say(Tag::Bye, Some(slot), &format!("{text}{issued}"))
                .await;
        }
        outcome
    }

    async fn converse(&mut self) -> Result<(), Ended> {
        self.line
            .say(
                Tag::Hello,
                None,
                if self.keys() {
                    KEYPAD_GREETING
                } else {
                    "Microsoft Clearinghouse, simulated line: a simulated representative answers, and no real call is made. Say bye at any question to hang up."
                },
            )
            .await?;
        let desk = self.ask_number().await?;
        self.desk = Some(desk.clone());
        self.say(&format!(
            "Thank you for calling the Microsoft Clearinghouse, {} desk.",
            desk.desk
        ))
        .await?;
        let (tenant, state) = self.ask_tenant().await?;
        self.ask_seat_pin(&tenant, &state).await?;
        self.tenant = Some(tenant.clone());
        let task = self.ask_purpose().await?;
        let path = format!("tel:{}", desk.number);
        let mut form = Form::new();
        let mut rounds = 0;
        loop {
            self.fill(task, &mut form).await?;
            let items = self.read_back(task, &form).await?;
            let go = self
                .ask_yes_no("confirm", "go-ahead", "Shall I process this request now?")
                .await?;
            rounds += 1;
            if rounds > MAX_TRIES {
                return Err(Ended::TooManyTries {
                    slot: "request".into(),
                    what: "details of the request settled".into(),
                });
            }
            if !go {
                let wrong = self.ask_which_is_wrong(&items).await?;
                self.say(&format!(
                    "Then let's take the {} again.",
                    uncapitalised(&wrong.bare_label(task, tasks::chosen(task, &form)))
                ))
                .await?;
                form.remove(wrong.name());
                continue;
            }
            let command = match tasks::command(task, &form) {
                Ok(command) => command,
                Err((_, errors)) => {
                    for (field, message) in errors {
                        self.sorry(field.name(), &message).await?;
                        form.remove(field.name());
                    }
                    continue;
                }
            };
            // A call that ended while its ID was being read gave no one the ID: the same
            // request on a later call gets that ID again rather than a second one.
            let request = submission::key(ConnectionMethod::Telephone, "", &command);
            let exchange = self
                .board
                .unread_exchange(&tenant, &request)
                .unwrap_or_else(|| self.exchange.clone());
            let reply = Submission {
                tenant: &tenant,
                command,
                exchange: &exchange,
                method: ConnectionMethod::Telephone,
                path: &path,
            }
            .run(&self.board.ledger, &self.board.controls)
            .await;
            match reply.outcome {
                Ok(answer) => {
                    let Some(id) = answer.issued_ids().into_iter().next() else {
                        self.sorry("request", "the Clearinghouse gave no ID for it")
                            .await?;
                        return Err(Ended::Refused);
                    };
                    self.issued = Some(Issued {
                        id: id.clone(),
                        tenant: tenant.clone(),
                        request: request.clone(),
                        exchange,
                        read: false,
                    });
                    self.read_out(&answer, &id).await?;
                    if let Some(issued) = &mut self.issued {
                        issued.read = true;
                    }
                    self.board.read(&tenant, &request);
                    self.line
                        .say(
                            Tag::Bye,
                            Some("done"),
                            "Thank you for calling the Microsoft Clearinghouse. Goodbye.",
                        )
                        .await?;
                    return Ok(());
                }
                Err(problem) => match tasks::at_fault(task, &form, &problem) {
                    Some((_, field)) => {
                        self.sorry(field.name(), &problem.detail).await?;
                        form.remove(field.name());
                    }
                    None => {
                        self.sorry("request", &problem.detail).await?;
                        return Err(Ended::Refused);
                    }
                },
            }
        }
    }

    async fn say(&mut self, text: &str) -> Result<(), Ended> {
        self.line.say(Tag::Say, None, text).await
    }

    async fn sorry(&mut self, slot: &str, text: &str) -> Result<(), Ended> {
        self.line.say(Tag::Sorry, Some(slot), text).await
    }

    /// Asks `question` under `slot` until `take` accepts an answer, or too many times.
    async fn ask<T>(
        &mut self,
        slot: &str,
        what: &str,
        question: &str,
        mut take: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<T, Ended> {
        if let Some(given) = self.line.given(slot)
            && let Ok(value) = take(&given)
        {
            return Ok(value);
        }
        let mut tries = 0;
        // Hearing a question again is bounded too, so a caller cannot keep the line forever.
        for _ in 0..2 * MAX_TRIES {
            self.line.say(Tag::Ask, Some(slot), question).await?;
            let answer = self.line.hear().await?;
            if self.keys() && answer == "*" {
                continue;
            }
            match take(&answer) {
                Ok(value) => return Ok(value),
                Err(why) => self.sorry(slot, &why).await?,
            }
            tries += 1;
            if tries >= MAX_TRIES {
                break;
            }
        }
        Err(Ended::TooManyTries {
            slot: slot.to_owned(),
            what: what.to_owned(),
        })
    }

    async fn ask_number(&mut self) -> Result<PhoneLine, Ended> {
        let book = &self.board.book;
        let question = if self.keys() {
            KEYPAD_NUMBER
        } else {
            "Which number did you dial? (the one your license server shows)"
        };
        self.ask(
            "number",
            "number your license server shows",
            question,
            |text| {
                book.dialled(text).cloned().ok_or_else(|| {
                    format!("{text:?} is not a Clearinghouse number: dial the number your license server shows for its country/region")
                })
            },
        )
        .await
    }

    async fn ask_tenant(&mut self) -> Result<(TenantName, TenantState), Ended> {
        let ledger = self.board.ledger.clone();
        self.ask(
            "tenant",
            "tenant's name",
            &format!("Which tenant of the clearinghouse are you calling for? (an empty line for {DEFAULT_TENANT:?})"),
            |text| {
                let tenant = match text {
                    "" => TenantName::default_tenant(),
                    name => TenantName::parse(name).map_err(|e| e.to_string())?,
                };
                match ledger.tenant_state(&tenant) {
                    Ok(Some(state)) => Ok((tenant, state)),
                    Ok(None) => Err(format!("there is no tenant {tenant}: check the name the license server shows")),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await
    }

    /// For a class's seat, its token, keyed as a PIN: no one else's call reaches the seat.
    async fn ask_seat_pin(
        &mut self,
        tenant: &TenantName,
        state: &TenantState,
    ) -> Result<(), Ended> {
        if !state.is_seat() {
            return Ok(());
        }
        let how = if self.keys() {
            "Key in the seat token your trainer gave you, then press hash."
        } else {
            "(the seat token your trainer gave you)"
        };
        self.ask(
            "seat_pin",
            "seat PIN",
            &format!("Tenant {tenant} is a seat of a training class. What is its seat PIN? {how}"),
            |text| {
                if state.admits(Some(text)) {
                    Ok(())
                } else {
                    Err("that is not this seat's PIN: it is the seat token the trainer gave with the seat's commands".to_owned())
                }
            },
        )
        .await
    }

    async fn ask_purpose(&mut self) -> Result<Task, Ended> {
        let options: Vec<String> = Task::ALL.iter().map(|t| uncapitalised(t.title())).collect();
        let question = if self.keys() {
            format!("What are you calling about? {}.", self.menu("to", &options))
        } else {
            format!(
                "What are you calling about? {} (its number, or e.g. {})",
                self.menu("to", &options),
                Task::ALL[1].slug()
            )
        };
        self.ask("purpose", "purpose of your call", &question, |text| {
            purpose(text)
                .ok_or_else(|| "choose one of the purposes, by its number or its words".to_owned())
        })
        .await
    }

    /// Asks every field of `task` not yet in `form`, step by step; a step's fields are
    /// checked together once all are in, and a field found wrong is asked again.
    async fn fill(&mut self, task: Task, form: &mut Form) -> Result<(), Ended> {
        let mut refusals = 0;
        loop {
            if refusals >= 2 * MAX_TRIES {
                return Err(Ended::TooManyTries {
                    slot: "request".into(),
                    what: "details of the request".into(),
                });
            }
            let steps = tasks::steps(task, form);
            let next = steps
                .iter()
                .flat_map(|s| s.fields.iter().map(move |f| (s, *f)))
                .find(|(_, f)| !form.contains_key(f.name()));
            if let Some((step, field)) = next {
                self.ask_field(task, step, field, form).await?;
                if step.fields.iter().all(|f| form.contains_key(f.name()))
                    && !self.recheck(task, step, form).await?
                {
                    refusals += 1;
                }
                continue;
            }
            let mut all_good = true;
            for step in &steps {
                all_good &= self.recheck(task, step, form).await?;
            }
            if all_good {
                return Ok(());
            }
            refusals += 1;
        }
    }

    /// Checks `step` as a whole; the fields found wrong are said and forgotten, to be
    /// asked again. Whether all was well.
    async fn recheck(&mut self, task: Task, step: &Step, form: &mut Form) -> Result<bool, Ended> {
        let errors = tasks::check(task, step, form);
        for (field, message) in &errors {
            self.sorry(field.name(), message).await?;
            form.remove(field.name());
        }
        Ok(errors.is_empty())
    }

    async fn ask_field(
        &mut self,
        task: Task,
        step: &Step,
        field: Field,
        form: &mut Form,
    ) -> Result<(), Ended> {
        let chosen = tasks::chosen(task, form);
        let label = field.label(task, chosen);
        if let Field::Company(company) = field
            && !company.is_required()
            && !self.wants_optional_company(form).await?
        {
            return Ok(());
        }
        if self.keys() && !field.keyable() {
            return self.take_unkeyed(task, step, field, form).await;
        }
        let skip = if !field.is_optional(chosen) {
            ""
        } else if self.keys() {
            " (press hash alone to skip it)"
        } else {
            " (an empty line skips it)"
        };
        let answer = match field {
            Field::ProductId | Field::LicenseServerId | Field::SourceLicenseServerId => {
                return self.ask_id(task, step, field, form).await;
            }
            Field::Company(CompanyField::CountryRegion) => {
                let question = format!("{label}? (its name or two-letter code)");
                self.ask_value(task, step, field, &question, form, |t| t.to_owned())
                    .await?
            }
            _ => match field.input() {
                Input::Choice(options) => {
                    let options = match field.keypad_choices() {
                        Some(keyed) if self.keys() => keyed,
                        _ => options,
                    };
                    let names: Vec<String> =
                        options.iter().map(|(_, name)| (*name).to_owned()).collect();
                    let question = format!("{label}? {}{skip}", self.menu("for", &names));
                    self.ask_value(task, step, field, &question, form, |t| {
                        match t.parse::<usize>() {
                            Ok(n) if (1..=options.len()).contains(&n) => {
                                options[n - 1].0.to_owned()
                            }
                            _ => t.to_owned(),
                        }
                    })
                    .await?
                }
                Input::Text(_) => {
                    let keyed = if self.keys() {
                        " Key it in, then press hash."
                    } else {
                        ""
                    };
                    let question = format!("{label}?{keyed}{skip}");
                    self.ask_value(task, step, field, &question, form, |t| t.to_owned())
                        .await?
                }
            },
        };
        form.insert(field.name().to_owned(), answer);
        Ok(())
    }

    /// On a keypad, a field that cannot be keyed: taken from what the call carries (the
    /// name the caller's telephone sends), the country/region from the desk called, or
    /// left blank where it may be; said aloud, as an agent would, so the caller knows.
    async fn take_unkeyed(
        &mut self,
        task: Task,
        step: &Step,
        field: Field,
        form: &mut Form,
    ) -> Result<(), Ended> {
        let chosen = tasks::chosen(task, form);
        let label = field.bare_label(task, chosen);
        let from_desk = || {
            let desk = self.desk.as_ref()?;
            let country = desk.countries.first()?;
            Some((
                country.code().to_owned(),
                format!("as the {} desk serves it", desk.desk),
            ))
        };
        let taken = match (self.line.given(field.name()), field) {
            (Some(value), _) => Some((value, "as your telephone sends it".to_owned())),
            (None, Field::Company(CompanyField::CountryRegion)) => from_desk(),
            (None, _) => None,
        };
        // What the telephone sends may not do (a name too long, say); it cannot be keyed
        // instead, so the call cannot go on.
        let refused = taken.as_ref().and_then(|(value, _)| {
            let mut trial = form.clone();
            trial.insert(field.name().to_owned(), value.clone());
            tasks::check_field(task, step, field, &trial)
        });
        if let Some(why) = refused {
            self.sorry(
                field.name(),
                &format!(
                    "the {} your telephone sends cannot be taken ({why}), and it cannot be keyed: please set it in your telephone, or use the web site",
                    uncapitalised(&label)
                ),
            )
            .await?;
            return Err(Ended::Refused);
        }
        match taken {
            Some((value, source)) => {
                self.say(&format!("{label}: {}, {source}.", field.shown(&value)))
                    .await?;
                form.insert(field.name().to_owned(), value);
                Ok(())
            }
            None if field.is_optional(chosen) => {
                form.insert(field.name().to_owned(), String::new());
                Ok(())
            }
            None => {
                let why = match field {
                    Field::Company(CompanyField::CountryRegion) => format!(
                        "the {} cannot be keyed, and the desk you called serves every country/region: please call your country's desk",
                        uncapitalised(&label)
                    ),
                    _ => format!(
                        "the {} cannot be keyed, and your telephone does not send it: please set it in your telephone, or use the web site",
                        uncapitalised(&label)
                    ),
                };
                self.sorry(field.name(), &why).await?;
                Err(Ended::Refused)
            }
        }
    }

    /// Asks for one value of `field`, taken when `check_field` finds nothing wrong with it.
    async fn ask_value(
        &mut self,
        task: Task,
        step: &Step,
        field: Field,
        question: &str,
        form: &Form,
        read: impl Fn(&str) -> String,
    ) -> Result<String, Ended> {
        let chosen = tasks::chosen(task, form);
        let what = uncapitalised(&field.bare_label(task, chosen));
        self.ask(field.name(), &what, question, |text| {
            if text.is_empty() && !field.is_optional(chosen) {
                return Err("this is required".to_owned());
            }
            let mut trial = form.clone();
            trial.insert(field.name().to_owned(), read(text));
            tasks::normalise(task, &mut trial);
            match tasks::check_field(task, step, field, &trial) {
                Some(message) => Err(message),
                None => Ok(trial.remove(field.name()).unwrap_or_default()),
            }
        })
        .await
    }

    /// Takes an ID group by group, each read back as heard; a group whose check digit
    /// fails is asked again, and an ID that is wrong as a whole (another kind of ID, a
    /// group in the wrong place) is taken again from its first group.
    async fn ask_id(
        &mut self,
        task: Task,
        step: &Step,
        field: Field,
        form: &mut Form,
    ) -> Result<(), Ended> {
        let name = field.name();
        let chosen = tasks::chosen(task, form);
        let label = field.bare_label(task, chosen);
        let label = label.as_str();
        if field.is_optional(chosen) {
            let slot = format!("{name}.known");
            let question = format!("Do you know the {}?", uncapitalised(label));
            if !self.ask_yes_no(&slot, "answer", &question).await? {
                form.insert(name.to_owned(), String::new());
                return Ok(());
            }
        }
        for _ in 0..MAX_TRIES {
            let mut groups = Vec::with_capacity(GROUPS);
            for group in 1..=GROUPS {
                let slot = format!("{name}.{group}");
                let question = if self.keys() {
                    format!(
                        "{label}, group {group} of {GROUPS}: key its five digits, then press hash."
                    )
                } else {
                    format!("{label}, group {group} of {GROUPS}, please.")
                };
                let digits = self
                    .ask(&slot, &uncapitalised(label), &question, |text| {
                        let digits: String = text
                            .chars()
                            .filter(|c| !c.is_whitespace() && *c != '-')
                            .collect();
                        check_group(group, &digits)
                            .map(|()| digits)
                            .map_err(|e| format!("{e}; please read group {group} again"))
                    })
                    .await?;
                let spoken: Vec<String> = digits.chars().map(String::from).collect();
                self.line
                    .say(Tag::Heard, Some(&slot), &spoken.join(" "))
                    .await?;
                groups.push(digits);
            }
            form.insert(name.to_owned(), groups.join("-"));
            let refused = match tasks::check_field(task, step, field, form) {
                Some(message) => Some(message),
                None => match &self.tenant {
                    Some(tenant) => {
                        submission::check_receiving(&self.board.ledger, tenant, task, step, form)
                            .await
                            .filter(|(f, _)| *f == field)
                            .map(|(_, message)| message)
                    }
                    None => None,
                },
            };
            match refused {
                None => return Ok(()),
                Some(message) => {
                    self.sorry(
                        name,
                        &format!("{message}: let's take it again from the first group"),
                    )
                    .await?;
                    form.remove(name);
                }
            }
        }
        Err(Ended::TooManyTries {
            slot: name.to_owned(),
            what: uncapitalised(label),
        })
    }

    /// Says everything taken, numbered, before asking whether to go ahead: the fields
    /// read back, in their order, so a "no" can name the one that is wrong.
    async fn read_back(&mut self, task: Task, form: &Form) -> Result<Vec<Field>, Ended> {
        let chosen = tasks::chosen(task, form);
        self.say(&format!(
            "Let me read back your request: {}.",
            uncapitalised(task.title())
        ))
        .await?;
        let mut items = Vec::new();
        for field in task.fields(chosen) {
            let value = form
                .get(field.name())
                .map(String::as_str)
                .unwrap_or_default();
            // Choices are kept as codes; a person hears their names.
            if value.is_empty() {
                continue;
            }
            // On a keypad, what could not be keyed cannot be corrected either: it is read
            // without a number.
            let line = if self.keys() && !field.keyable() {
                format!("{}: {}", field.bare_label(task, chosen), field.shown(value))
            } else {
                items.push(field);
                format!(
                    "{} {}: {}",
                    items.len(),
                    field.bare_label(task, chosen),
                    field.shown(value)
                )
            };
            self.say(&line).await?;
        }
        Ok(items)
    }

    /// After a "no" at the read-back: which item is wrong, by its number or its words.
    async fn ask_which_is_wrong(&mut self, items: &[Field]) -> Result<Field, Ended> {
        let question = if self.keys() {
            format!(
                "Which item is wrong? Key its number, 1 to {}, as I read them back, then press hash.",
                items.len()
            )
        } else {
            format!(
                "Which item is wrong? Its number, 1 to {}, as I read them back.",
                items.len()
            )
        };
        self.ask("correct", "item to correct", &question, |text| {
            let wanted = text.trim().trim_end_matches('.').to_lowercase();
            if let Ok(n) = wanted.parse::<usize>() {
                return n
                    .checked_sub(1)
                    .and_then(|i| items.get(i).copied())
                    .ok_or_else(|| format!("say a number from 1 to {}", items.len()));
            }
            items
                .iter()
                .copied()
                .find(|f| f.name().replace('_', " ") == wanted || f.name() == wanted)
                .ok_or_else(|| format!("say the item's number, 1 to {}", items.len()))
        })
        .await
    }

    /// Whether the caller wants to give the optional company information: asked once,
    /// before the first optional field, so it can be skipped in one answer. A "no" leaves
    /// every optional field empty.
    async fn wants_optional_company(&mut self, form: &mut Form) -> Result<bool, Ended> {
        if form.contains_key(OPTIONAL_COMPANY) {
            return Ok(form.get(OPTIONAL_COMPANY).is_some_and(|a| a == "yes"));
        }
        let optional: Vec<&str> = CompanyField::ALL
            .iter()
            .filter(|f| !f.is_required())
            .map(|f| f.label())
            .collect();
        let wanted = if self.keys() {
            // None of it can be keyed.
            self.say(&format!(
                "The optional company information ({}) cannot be keyed, so it is left blank.",
                optional.join(", ")
            ))
            .await?;
            false
        } else {
            let question = format!(
                "Would you like to give the optional company information ({})?",
                optional.join(", ")
            );
            self.ask_yes_no("company.optional", "answer", &question)
                .await?
        };
        form.insert(
            OPTIONAL_COMPANY.to_owned(),
            if wanted { "yes" } else { "no" }.to_owned(),
        );
        if !wanted {
            for field in CompanyField::ALL.iter().filter(|f| !f.is_required()) {
                form.insert(field.key().to_owned(), String::new());
            }
        }
        Ok(wanted)
    }

    /// Reads the ID out group by group; each waits for "ok", or is read again on "repeat".
    async fn read_out(&mut self, answer: &Answer, id: &str) -> Result<(), Ended> {
        let (slot, what) = match answer {
            Answer::Activated(_) => ("license_server_id", "license server ID"),
            Answer::Deactivated(_) => ("confirmation_code", "confirmation code"),
            _ => ("key_pack_id", "license key pack ID"),
        };
        let how = if self.keys() {
            "after each one press hash for the next, or star to hear it again"
        } else {
            "after each one say ok, or repeat to hear it again"
        };
        self.say(&format!(
            "Here is your {what}. I will read it in {GROUPS} groups of five digits: {how}."
        ))
        .await?;
        let keys = self.keys();
        for (i, group) in id.split('-').enumerate() {
            let slot = format!("{slot}.{}", i + 1);
            let mut tries = 0;
            loop {
                self.line.say(Tag::Read, Some(&slot), group).await?;
                let answer = self.line.hear().await?.to_lowercase();
                let repeat = match answer.as_str() {
                    "" if keys => break,
                    "*" if keys => true,
                    "ok" | "okay" | "yes" | "got it" => break,
                    "repeat" | "again" | "pardon" | "sorry" => true,
                    _ => false,
                };
                // Repeats are counted too, so a caller cannot keep the line forever.
                tries += 1;
                if tries >= MAX_TRIES {
                    return Err(Ended::TooManyTries {
                        slot,
                        what: what.to_owned(),
                    });
                }
                if !repeat {
                    let how = if keys {
                        "press hash when you have it, or star to hear it again"
                    } else {
                        "say ok when you have it, or repeat"
                    };
                    self.sorry(&slot, how).await?;
                }
            }
        }
        self.line
            .say(
                Tag::Done,
                Some(slot),
                &format!("That was your {what}. Please keep a copy of it."),
            )
            .await
    }
}

/// The purpose named by its number, its slug, the words it was offered in (or their
/// beginning), or a word for it.
fn purpose(text: &str) -> Option<Task> {
    let words = |text: &str| -> String {
        let kept: String = text
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        kept.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let said = words(text);
    if said.len() >= 6
        && let Some(task) = Task::ALL
            .into_iter()
            .find(|t| words(t.title()).starts_with(&said))
    {
        return Some(task);
    }
    let text = said.replace(' ', "-");
    if let Ok(n) = text.parse::<usize>() {
        return Task::ALL.get(n.checked_sub(1)?).copied();
    }
    Task::from_slug(&text).or(match text.as_str() {
        "activation" => Some(Task::Activate),
        "install" | "install-cal" | "installation" => Some(Task::Install),
        "migrate" | "migrate-cals" | "migration" => Some(Task::Migrate),
        "reactivation" => Some(Task::Reactivate),
        "deactivation" => Some(Task::Deactivate),
        "recover" | "recovery" => Some(Task::Recover),
        _ => None,
    })
}

/// `text` with its first letter in lower case, to go in the middle of a sentence.
fn uncapitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A yes or a no, in words or (`keys`) as 1 or 2.
fn yes_or_no(text: &str, keys: bool) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "1" if keys => Ok(true),
        "2" if keys => Ok(false),
        _ if keys => Err("please press 1 for yes or 2 for no, then hash".to_owned()),
        "yes" | "y" | "yeah" | "ok" => Ok(true),
        "no" | "n" => Ok(false),
        _ => Err("please answer yes or no".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_is_understood_by_its_number_its_words_or_its_slug() {
        assert_eq!(purpose("2"), Some(Task::Install));
        assert_eq!(
            purpose("Install client access licenses"),
            Some(Task::Install)
        );
        assert_eq!(purpose("manage CALs"), Some(Task::Migrate));
        assert_eq!(purpose("activate a license server"), Some(Task::Activate));
        assert_eq!(purpose("reactivate"), Some(Task::Reactivate));
        assert_eq!(purpose("recover-cals"), Some(Task::Recover));
        assert_eq!(purpose("7"), None);
        assert_eq!(purpose("0"), None);
        assert_eq!(purpose("a license"), None);
    }
}
