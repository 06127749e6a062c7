//! The clearinghouse's log, on standard error. One thing is changed from what the
//! libraries log: the HTTP layer reports a request it cannot parse (a client's mistake, or
//! a probe) as an error of the server; it is logged here at debug level, as what it is.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Where the HTTP layer logs what it could not parse.
const DISPATCHER: &str = "actix_http::h1::dispatcher";

/// Starts logging through `filter`, with colours when `ansi`.
pub fn init(filter: EnvFilter, ansi: bool) {
    // Every filter here tells the most verbose level it lets through, so that the
    // libraries' trace lines are not even built when nothing prints them.
    let filter = match format!("{DISPATCHER}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let printed = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_filter(filter);
    let demoted = Demoted.with_filter(Targets::new().with_target(DISPATCHER, Level::WARN));
    let _ = tracing_subscriber::registry()
        .with(printed)
        .with(demoted)
        .try_init();
}

/// Logs the HTTP layer's reports of requests it could not parse again, at debug level.
struct Demoted;

impl<S: Subscriber> Layer<S> for Demoted {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::debug!(target: "clearinghouse::http", "a request HTTP could not read was refused: {}", message.0);
    }
}

/// The `message` field of an event.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}
