//! The site's HTML: plain, server-rendered pages that work without JavaScript. maud
//! escapes every value it writes, so text a person typed is always shown as text.

use maud::{DOCTYPE, Markup, html};

use crate::tasks::{Field, FieldError, Form, Input, Step, Task, chosen};

/// What every page carries: the tenant and the anti-forgery token.
pub struct Frame<'a> {
    /// The tenant, when not the default one.
    pub tenant: Option<&'a str>,
    /// The token the page's form posts back, signed for the session and what the form
    /// is for.
    pub csrf: String,
}

impl<'a> Frame<'a> {
    /// The frame of a page with no form.
    pub fn plain(tenant: Option<&'a str>) -> Self {
        Frame {
            tenant,
            csrf: String::new(),
        }
    }

    /// The tenant, as the query of an address on this site.
    pub fn query(&self) -> String {
        match self.tenant {
            Some(t) => format!("?tenant={t}"),
            None => String::new(),
        }
    }
}

/// The site's style sheet, served at `/site.css`.
pub const STYLE: &str = "
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
header{border-bottom:3px solid #0067b8;margin-bottom:1.5rem}
h1{font-size:1.3rem;margin:.3rem 0}
h2{font-size:1.1rem;margin:1rem 0 .3rem;color:#333}
.tenant{color:#555;font-size:.9rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],select{width:100%;padding:.45rem;font-size:1rem;border:1px solid #888;border-radius:3px;box-sizing:border-box}
.invalid input,.invalid select{border:2px solid #b00020}
.error{color:#b00020;margin:.2rem 0 0}
.banner{background:#fdecee;border-left:4px solid #b00020;padding:.6rem 1rem}
.buttons{margin-top:1.5rem;display:flex;gap:1rem}
button{font-size:1rem;padding:.5rem 1.4rem;border-radius:3px;border:1px solid #0067b8;background:#0067b8;color:#fff}
button.secondary{background:#fff;color:#0067b8}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.id{font-family:ui-monospace,monospace;font-size:1.6rem;letter-spacing:.05em;word-spacing:.6rem;background:#f2f6fa;padding:1rem;border-radius:4px}
.copy{font-family:ui-monospace,monospace;width:100%;font-size:1rem}
fieldset{border:none;padding:0;margin:0}
body.wide{max-width:90rem}
td code{white-space:nowrap;font-size:.9rem}
legend{font-weight:600}
label.choice{font-weight:normal}
.signin input[type=password]{width:100%;padding:.45rem;font-size:1rem;border:1px solid #888;border-radius:3px;box-sizing:border-box}
";

fn layout(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    page_of(frame, title, body, false)
}

/// A page as wide as the window allows, for tables of IDs.
fn wide_layout(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    page_of(frame, title, body, true)
}

fn page_of(frame: &Frame<'_>, title: &str, body: Markup, wide: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Remote Desktop Licensing" }
                link rel="stylesheet" href="/site.css";
            }
            body class=[wide.then_some("wide")] {
                header {
                    p { a href={ "/" (frame.query()) } { "Remote Desktop Licensing" } }
                    @if let Some(tenant) = frame.tenant {
                        p.tenant { "Tenant: " (tenant) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The first page: what to do.
pub fn select(frame: &Frame<'_>) -> Markup {
    layout(
        frame,
        "Select Option",
        html! {
            form method="get" action="/start" {
                @if let Some(tenant) = frame.tenant {
                    input type="hidden" name="tenant" value=(tenant);
                }
                fieldset {
                    legend { "What do you want to do?" }
                    @for (i, task) in Task::ALL.iter().enumerate() {
                        label.choice {
                            input type="radio" name="task" value=(task.slug()) checked[i == 0];
                            " " (task.title())
                        }
                    }
                }
                div.buttons { button type="submit" { "Next" } }
            }
        },
    )
}

fn hidden_except(form: &Form, shown: &[Field]) -> Markup {
    let mut names: Vec<&String> = form.keys().collect();
    names.sort();
    html! {
        @for name in names {
            @if !matches!(name.as_str(), "csrf" | "step" | "go" | "nonce")
                && !shown.iter().any(|f| f.name() == name) {
                input type="hidden" name=(name) value=(form[name]);
            }
        }
    }
}

fn field(task: Task, form: &Form, field: Field, errors: &[FieldError]) -> Markup {
    let name = field.name();
    let value = form.get(name).map(String::as_str).unwrap_or_default();
    let error = errors.iter().find(|(f, _)| *f == field).map(|(_, e)| e);
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    html! {
        div class=[error.map(|_| "invalid")] {
            label for=(id) { (field.label(task, chosen(task, form))) }
            @match field.input() {
                Input::Text(max) => {
                    input type="text" id=(id) name=(name) value=(value) maxlength=(max)
                        placeholder=[field.hint()]
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| &error_id)];
                }
                Input::Choice(choices) => {
                    select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| &error_id)] {
                        @for (slug, label) in choices {
                            option value=(slug) selected[slug == value] { (label) }
                        }
                    }
                }
            }
            @if let Some(error) = error {
                p.error id=(error_id) { (error) }
            }
        }
    }
}

fn form_head(frame: &Frame<'_>, form: &Form, step: usize) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(&frame.csrf);
        input type="hidden" name="step" value=(step);
        input type="hidden" name="nonce" value=(form.get("nonce").map(String::as_str).unwrap_or_default());
    }
}

/// A task being filled in: its form so far and its pages.
pub struct Filling<'a> {
    /// The task.
    pub task: Task,
    /// What was entered so far.
    pub form: &'a Form,
    /// Its pages before the verification page.
    pub steps: &'a [Step],
}

/// Page `index` of the task, with the errors of its fields.
pub fn step(
    frame: &Frame<'_>,
    filling: &Filling<'_>,
    index: usize,
    errors: &[FieldError],
) -> Markup {
    let Filling { task, form, steps } = *filling;
    let step = &steps[index.min(steps.len().saturating_sub(1))];
    let title = format!("{} ({} of {})", task.title(), index + 1, steps.len() + 1);
    layout(
        frame,
        &title,
        html! {
            h2 { (step.title) }
            @if !errors.is_empty() {
                p.banner role="alert" { "Please correct the fields marked below." }
            }
            form method="post" action={ "/task/" (task.slug()) (frame.query()) } {
                (form_head(frame, form, index))
                (hidden_except(form, &step.fields))
                @for &f in &step.fields { (field(task, form, f, errors)) }
                div.buttons {
                    @if index > 0 {
                        button.secondary type="submit" name="go" value="back" { "Back" }
                    }
                    button type="submit" name="go" value="next" { "Next" }
                }
            }
        },
    )
}

/// The page that shows everything before it is submitted, with what the Clearinghouse
/// said if it refused it.
pub fn verify(frame: &Frame<'_>, filling: &Filling<'_>, banner: Option<&str>) -> Markup {
    let Filling { task, form, steps } = *filling;
    let chosen = chosen(task, form);
    layout(
        frame,
        &format!(
            "{} ({} of {})",
            task.title(),
            steps.len() + 1,
            steps.len() + 1
        ),
        html! {
            h2 { "Verify your information" }
            @if let Some(banner) = banner { p.banner role="alert" { (banner) } }
            p { "Check that everything is correct, then submit it to the Microsoft Clearinghouse." }
            table {
                @for step in steps {
                    @for &f in &step.fields {
                        @let value = form.get(f.name()).map(|v| v.trim()).unwrap_or_default();
                        @if !value.is_empty() {
                            tr { th scope="row" { (f.label(task, chosen)) } td { (f.shown(value)) } }
                        }
                    }
                }
            }
            form method="post" action={ "/task/" (task.slug()) (frame.query()) } {
                (form_head(frame, form, steps.len()))
                (hidden_except(form, &[]))
                div.buttons {
                    button.secondary type="submit" name="go" value="back" { "Back" }
                    button type="submit" name="go" value="submit" { "Submit" }
                }
            }
        },
    )
}

/// The result: the ID the Clearinghouse gave, large and grouped.
pub fn result(frame: &Frame<'_>, task: Task, id: &str, details: &[(String, String)]) -> Markup {
    let what = task.gives().name();
    layout(
        frame,
        &format!("Your {what}"),
        html! {
            p { "The Microsoft Clearinghouse processed your request. Your " (what) " is:" }
            p.id id="result-id" aria-label=(what) {
                @for group in id.split('-') { span { (group) } " " }
            }
            label for="copy" { "The same ID, to copy" }
            input.copy type="text" id="copy" readonly value=(id);
            p { strong { "Retain a copy of the " (what) "." }
                " Having it with you facilitates communications with the Microsoft Clearinghouse, should you need assistance with recovering CALs." }
            @if !details.is_empty() {
                table {
                    @for (label, value) in details { tr { th scope="row" { (label) } td { (value) } } }
                }
            }
            p { "Type the " (what) " into the wizard on your license server." }
            p { a href={ "/" (frame.query()) } { "Start again" } }
        },
    )
}

/// A page that says what went wrong and how to start again.
pub fn trouble(frame: &Frame<'_>, title: &str, message: &str) -> Markup {
    layout(
        frame,
        title,
        html! {
            p.banner role="alert" { (message) }
            p { a href={ "/" (frame.query()) } { "Start again" } }
        },
    )
}

/// The instructor page's sign-in: the admin token, typed once and kept as a cookie of
/// the session, never in an address.
pub fn sign_in(frame: &Frame<'_>, banner: Option<&str>) -> Markup {
    layout(
        frame,
        "Instructor sign-in",
        html! {
            @if let Some(banner) = banner { p.banner role="alert" { (banner) } }
            p { "The instructor page shows every ID issued in the tenant, so it needs the admin token the clearinghouse printed when it started." }
            form.signin method="post" action={ "/instructor" (frame.query()) } {
                input type="hidden" name="csrf" value=(&frame.csrf);
                label for="admin-token" { "Admin token" }
                input type="password" id="admin-token" name="token" autocomplete="off" required;
                div.buttons { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// The sign-in of a class's seat: the seat's token, typed once per browser session.
pub fn seat_sign_in(frame: &Frame<'_>, banner: Option<&str>) -> Markup {
    layout(
        frame,
        "Seat sign-in",
        html! {
            @if let Some(banner) = banner { p.banner role="alert" { (banner) } }
            p { "This tenant is a seat of a training class. Type the seat token your trainer gave you with your seat's commands." }
            form.signin method="post" action={ "/seat" (frame.query()) } {
                input type="hidden" name="csrf" value=(&frame.csrf);
                label for="seat-token" { "Seat token" }
                input type="password" id="seat-token" name="token" autocomplete="off" inputmode="numeric" required;
                div.buttons { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// One thing done in a tenant, for the instructor page.
pub struct Activity {
    /// When, on the tenant's clock.
    pub at: String,
    /// By which connection method.
    pub method: shared::vocab::ConnectionMethod,
    /// What.
    pub what: &'static str,
    /// The license server it was about.
    pub license_server: Option<String>,
    /// The IDs it issued.
    pub ids: Vec<String>,
    /// Done, or refused with which status.
    pub outcome: String,
    /// For a voice call: what was said and keyed.
    pub transcript: Vec<shared::wire::TranscriptLine>,
}

/// A class kept by the clearinghouse, each seat with its tenant's history.
pub struct ClassView {
    /// The class's report.
    pub class: shared::wire::ClassReport,
    /// Each seat and what it did, oldest first.
    pub seats: Vec<(shared::wire::SeatGrade, Vec<shared::wire::HistoryEntry>)>,
}

/// The training lab classes, then what was done in a tenant, newest first.
pub fn instructor(
    frame: &Frame<'_>,
    tenant: &str,
    classes: &[ClassView],
    rows: &[Activity],
) -> Markup {
    wide_layout(
        frame,
        "Instructor page",
        html! {
            @for view in classes {
                (class(view))
            }
            h2 { "What was done in tenant " (tenant) }
            p { "Newest first: every change, by every connection method (kept in the ledger), the requests refused and the voice calls (with what was said) since the clearinghouse started." }
            @if rows.is_empty() {
                p { "Nothing yet." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Method" } th { "What" } th { "License server" } th { "IDs issued" } th { "Outcome" } } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (row.at) }
                                td { (row.method) }
                                td {
                                    @if row.transcript.is_empty() {
                                        (row.what)
                                    } @else {
                                        details {
                                            summary { (row.what) }
                                            ol.transcript {
                                                @for line in &row.transcript {
                                                    li {
                                                        @match line.by {
                                                            shared::wire::Party::Representative => { "Representative: " }
                                                            shared::wire::Party::Caller => { "Caller keyed: " }
                                                        }
                                                        (line.text)
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                                td { @if let Some(id) = &row.license_server { code { (id) } } }
                                td { @for id in &row.ids { code { (id) } br; } }
                                td { (row.outcome) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A class: its seats, their grades, and what each did by which method.
fn class(view: &ClassView) -> Markup {
    let report = &view.class;
    html! {
        section.class {
            h2 { "Class " (report.name) ": " (report.title) }
            p {
                "Scenario " code { (report.scenario) } ". "
                @match &report.graded_at {
                    Some(at) => { "Graded at " (at) "; reload the page to see the latest grades." }
                    None => { "Not graded yet." }
                }
            }
            table {
                thead { tr { th { "Seat" } th { "Grade" } th { "Missing" } th { "Done by the student, by which method" } } }
                tbody {
                    @for (seat, done) in &view.seats {
                        @let passed = seat.checks.iter().filter(|c| c.passed).count();
                        tr {
                            td {
                                a href={ "/instructor?tenant=" (seat.tenant) } { "Seat " (seat.seat) }
                                br; code { (seat.tenant) }
                            }
                            td {
                                @if seat.checks.is_empty() {
                                    "not graded"
                                } @else if passed == seat.checks.len() {
                                    strong { "pass" } " (" (passed) " of " (seat.checks.len()) ")"
                                } @else {
                                    "fail (" (passed) " of " (seat.checks.len()) ")"
                                }
                            }
                            td {
                                ul {
                                    @for check in seat.checks.iter().filter(|c| !c.passed) {
                                        li { (check.missing.as_deref().unwrap_or(&check.check)) }
                                    }
                                }
                            }
                            td {
                                @let own: Vec<_> = done.iter().filter(|e| e.n >= u64::from(seat.setup_changes)).collect();
                                @if own.is_empty() {
                                    "nothing yet"
                                } @else {
                                    ul {
                                        @for entry in own {
                                            li { (entry.action.describe()) " (" (entry.connection_method) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
