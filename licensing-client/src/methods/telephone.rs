//! The telephone method without a person: the library calls the Clearinghouse's phone
//! line and holds the whole call itself, answering each question of the representative by
//! its tag and slot (see `docs/phone-line.md`), and returns the ID read out to it. Scripts
//! and tests run the telephone method end to end this way.
//!
//! The line's address comes from the Clearinghouse (`GET /api/v1/phone-lines`); the
//! number dialled is the one the license server shows for its country/region.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::vocab::CompanyField;
use shared::wire::PhoneLines;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

use crate::error::Error;
use crate::methods::handoff::{Desk, Handoff};
use crate::migration::Reminder;
use crate::operator::Operator;
use crate::state::ClearinghouseAddress;

/// The most lines a call takes before it is taken for a line that never ends.
const MAX_LINES: usize = 2_000;

/// A caller of the Clearinghouse's phone line.
#[derive(Debug, Clone)]
pub struct Telephone {
    http: reqwest::Client,
    /// How long the representative may take to say the next line.
    wait: Duration,
    /// The local address calls are placed from; `None` lets the system choose.
    from: Option<IpAddr>,
    /// Where the time the representative takes to answer each line is recorded.
    answers: Option<AnswerTimes>,
}

/// How long the representative took to answer each line said on the calls of a
/// [`Telephone`] (see [`Telephone::timing_answers`]): from a line sent to the answer read,
/// the representative's next question, ID group or ending (what they only tell, `SAY` and
/// `HEARD`, comes before it). Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct AnswerTimes(Arc<Mutex<Vec<Duration>>>);

impl AnswerTimes {
    /// An empty record.
    pub fn new() -> Self {
        AnswerTimes::default()
    }

    fn record(&self, took: Duration) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(took);
    }

    /// The times recorded so far, leaving the record empty.
    pub fn take(&self) -> Vec<Duration> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Default for Telephone {
    fn default() -> Self {
        Telephone::new(Duration::from_secs(10))
    }
}

impl Telephone {
    /// A caller that waits at most `wait` for each line of the representative.
    pub fn new(wait: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(wait)
            .build()
            .unwrap_or_default();
        Telephone {
            http,
            wait,
            from: None,
            answers: None,
        }
    }

    /// The same caller, placing its calls from the local address `from` (a machine with
    /// several addresses; or a load test spreading its calls over loopback addresses, since
    /// the line holds only so many calls from one address).
    pub fn calling_from(mut self, from: IpAddr) -> Self {
        self.from = Some(from);
        self
    }

    /// The same caller, recording in `times` how long the representative takes to answer
    /// each line it says.
    pub fn timing_answers(mut self, times: AnswerTimes) -> Self {
        self.answers = Some(times);
        self
    }

    /// Connects to the phone line at `line` (`host:port`), from [`Self::calling_from`]'s
    /// address if one was given.
    async fn dial(&self, line: &str) -> std::io::Result<TcpStream> {
        let Some(from) = self.from else {
            return TcpStream::connect(line).await;
        };
        let to = tokio::net::lookup_host(line)
            .await?
            .find(|a| a.is_ipv4() == from.is_ipv4())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::AddrNotAvailable,
                    format!("{line} has no address of the family of {from}"),
                )
            })?;
        let socket = match from {
            IpAddr::V4(_) => TcpSocket::new_v4()?,
            IpAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(from, 0))?;
        socket.connect(to).await
    }

    /// Where the phone line of the Clearinghouse at `address` answers (`host:port`).
    pub async fn line(&self, address: &ClearinghouseAddress) -> Result<String, Error> {
        let lines = self.directory(address).await?;
        reachable(address, &lines)
    }

    /// The Clearinghouse's desks and where its phone line answers, as it tells them.
    pub async fn directory(&self, address: &ClearinghouseAddress) -> Result<PhoneLines, Error> {
        let url = format!(
            "{}{}/phone-lines",
            address.url.trim_end_matches('/'),
            shared::wire::API_BASE
        );
        let unreachable = |e: reqwest::Error| {
            Error::PhoneLineUnreachable(format!("cannot ask {url} where the line is: {e}"))
        };
        let response = self.http.get(&url).send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(Error::PhoneLineUnreachable(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        response.json().await.map_err(unreachable)
    }

    /// Calls the Clearinghouse for `handoff`, holds the whole call, and returns the ID
    /// the representative read out.
    pub async fn call(&self, handoff: &Handoff) -> Result<String, Error> {
        let Desk::Telephone {
            number,
            country,
            clearinghouse,
            ..
        } = &handoff.desk
        else {
            return Err(Error::PhoneLine(
                "this handoff is for the web site, not the telephone".into(),
            ));
        };
        let directory = self.directory(clearinghouse).await?;
        let line = reachable(clearinghouse, &directory)?;
        // A lab may give the Clearinghouse desks of its own: dial the one it has for this
        // country/region, which is what its representative answers.
        let desk = directory
            .desks
            .iter()
            .find(|d| d.countries.iter().any(|c| c == country.code()))
            .or_else(|| directory.desks.iter().find(|d| d.countries.is_empty()));
        let number = desk.map_or(number, |d| &d.number);
        let stream = tokio::time::timeout(self.wait, self.dial(&line))
            .await
            .map_err(|_| Error::PhoneLineUnreachable(format!("{line} did not answer")))?
            .map_err(|e| Error::PhoneLineUnreachable(format!("{line}: {e}")))?;
        let (task, fields) = handoff.answers();
        let mut answers: HashMap<String, String> = fields.into_iter().collect();
        answers.insert("number".into(), number.clone());
        answers.insert(
            "tenant".into(),
            clearinghouse.tenant.clone().unwrap_or_default(),
        );
        answers.insert(
            "seat_pin".into(),
            clearinghouse.seat_token.clone().unwrap_or_default(),
        );
        answers.insert("purpose".into(), task.to_owned());
        // The optional company information is offered in one question.
        let optional = CompanyField::ALL
            .iter()
            .filter(|f| !f.is_required())
            .any(|f| answers.contains_key(f.key()));
        let optional = if optional { "yes" } else { "no" };
        answers.insert("company.optional".into(), optional.to_owned());
        answers.insert("confirm".into(), "yes".into());
        self.hold(stream, &answers).await
    }

    async fn hold(
        &self,
        stream: TcpStream,
        answers: &HashMap<String, String>,
    ) -> Result<String, Error> {
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        let mut read_out: Vec<String> = Vec::new();
        let mut done = false;
        // When the caller last said a line, until the representative's answer to it is read.
        let mut sent: Option<Instant> = None;
        for _ in 0..MAX_LINES {
            let line = match tokio::time::timeout(self.wait, lines.next_line()).await {
                Err(_) => {
                    return Err(Error::PhoneLine(format!(
                        "the representative said nothing for {:?}",
                        self.wait
                    )));
                }
                Ok(Err(e)) => return Err(Error::PhoneLine(format!("the line failed: {e}"))),
                Ok(Ok(None)) if done => return Ok(read_out.join("-")),
                Ok(Ok(None)) => {
                    return Err(Error::PhoneLine(
                        "the call ended before an ID was read out".into(),
                    ));
                }
                Ok(Ok(Some(line))) => line,
            };
            let (tag, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let (slot, text) = rest.split_once(' ').unwrap_or((rest, ""));
            // The representative's answer to the line said is their next question, ID
            // group or ending; what they only tell (`SAY`, `HEARD`) comes before it.
            if matches!(tag, "ASK" | "READ" | "DONE" | "SORRY" | "BYE" | "BUSY")
                && let (Some(sent), Some(times)) = (sent.take(), &self.answers)
            {
                times.record(sent.elapsed());
            }
            let reply = match tag {
                "ASK" => answer(answers, slot)?,
                "READ" => {
                    read_out.push(text.trim().to_owned());
                    "ok".to_owned()
                }
                "DONE" => {
                    done = true;
                    continue;
                }
                "SORRY" => {
                    // What was answered came from a request checked before the call: the
                    // representative refuses the request itself. Hang up.
                    let _ = writer.write_all(b"bye\n").await;
                    return Err(Error::Representative {
                        slot: slot.to_owned(),
                        said: text.to_owned(),
                    });
                }
                "BYE" if done => return Ok(read_out.join("-")),
                "BYE" | "BUSY" => return Err(Error::PhoneLine(rest.to_owned())),
                _ => continue,
            };
            writer
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .map_err(|e| Error::PhoneLine(format!("the line failed: {e}")))?;
            sent = Some(Instant::now());
        }
        Err(Error::PhoneLine(format!(
            "the call went on for more than {MAX_LINES} lines"
        )))
    }
}

/// The `host:port` to call the line on. A line bound to every interface, or to loopback
/// while the Clearinghouse is reached at another host, is called at the Clearinghouse's
/// host.
fn reachable(address: &ClearinghouseAddress, lines: &PhoneLines) -> Result<String, Error> {
    let Some(line) = &lines.line else {
        return Err(Error::PhoneLineUnreachable(
            "the Clearinghouse runs without a phone line (it was started with --no-phone)".into(),
        ));
    };
    let Ok(bound) = line.parse::<std::net::SocketAddr>() else {
        return Ok(line.clone());
    };
    let host = reqwest::Url::parse(&address.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let local_host = |h: &str| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    match host {
        Some(host)
            if bound.ip().is_unspecified() || (bound.ip().is_loopback() && !local_host(&host)) =>
        {
            Ok(format!("{host}:{}", bound.port()))
        }
        _ => Ok(line.clone()),
    }
}

/// The answer to the question asked under `slot`: a field's value, one group of an ID
/// (`license_server_id.3`), or whether an optional ID is known (`source_license_server_id.known`).
fn answer(answers: &HashMap<String, String>, slot: &str) -> Result<String, Error> {
    if let Some(value) = answers.get(slot) {
        return Ok(value.clone());
    }
    let Some((name, part)) = slot.rsplit_once('.') else {
        // An optional field the request leaves empty.
        return Ok(String::new());
    };
    let value = answers.get(name);
    if part == "known" {
        return Ok(if value.is_some() { "yes" } else { "no" }.to_owned());
    }
    let group = part
        .parse::<usize>()
        .ok()
        .and_then(|n| value?.split('-').nth(n.checked_sub(1)?));
    group.map(str::to_owned).ok_or_else(|| {
        Error::PhoneLine(format!(
            "the representative asked for {slot:?}, which this request has no answer to"
        ))
    })
}

/// An [`Operator`] that holds the telephone calls itself.
pub struct CallHolder {
    phone: Telephone,
    confirm_reminders: bool,
}

impl CallHolder {
    /// A caller that confirms reminders to remove CALs by hand if `confirm_reminders`.
    pub fn new(confirm_reminders: bool) -> Self {
        CallHolder::with_phone(Telephone::default(), confirm_reminders)
    }

    /// A caller that calls with `phone` (its address, its timing), and confirms reminders
    /// to remove CALs by hand if `confirm_reminders`.
    pub fn with_phone(phone: Telephone, confirm_reminders: bool) -> Self {
        CallHolder {
            phone,
            confirm_reminders,
        }
    }
}

impl Operator for CallHolder {
    async fn obtain(&mut self, handoff: &Handoff) -> Result<Option<String>, Error> {
        self.phone.call(handoff).await.map(Some)
    }

    async fn confirm(&mut self, _reminder: &Reminder) -> bool {
        self.confirm_reminders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> HashMap<String, String> {
        HashMap::from([(
            "license_server_id".to_owned(),
            "11111-22222-33333-44444-55555-66666-77777".to_owned(),
        )])
    }

    #[test]
    fn a_group_slot_is_answered_with_that_group() {
        assert_eq!(answer(&answers(), "license_server_id.3").unwrap(), "33333");
    }

    #[test]
    fn an_optional_id_is_known_only_when_the_request_has_it() {
        assert_eq!(
            answer(&answers(), "license_server_id.known").unwrap(),
            "yes"
        );
        assert_eq!(
            answer(&answers(), "source_license_server_id.known").unwrap(),
            "no"
        );
    }

    #[test]
    fn a_group_the_request_lacks_is_an_error_not_a_guess() {
        assert!(answer(&answers(), "source_license_server_id.2").is_err());
        assert!(answer(&answers(), "license_server_id.8").is_err());
    }

    fn at(url: &str, line: &str) -> String {
        let address = ClearinghouseAddress {
            url: url.into(),
            tenant: None,
            seat_token: None,
        };
        let lines = PhoneLines {
            line: Some(line.into()),
            desks: Vec::new(),
        };
        reachable(&address, &lines).unwrap()
    }

    #[test]
    fn a_line_on_every_interface_is_called_at_the_clearinghouses_host() {
        assert_eq!(
            at("http://lab.example:8780", "0.0.0.0:8781"),
            "lab.example:8781"
        );
        assert_eq!(
            at("http://10.0.0.5:8780", "127.0.0.1:8781"),
            "10.0.0.5:8781"
        );
        assert_eq!(
            at("http://127.0.0.1:8780", "127.0.0.1:8781"),
            "127.0.0.1:8781"
        );
        assert_eq!(at("http://localhost:8780", "127.0.0.1:9"), "127.0.0.1:9");
        assert_eq!(at("http://10.0.0.5:8780", "10.0.0.6:8781"), "10.0.0.6:8781");
    }

    #[tokio::test]
    async fn a_caller_given_an_address_calls_from_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let line = listener.local_addr().unwrap().to_string();
        let from: IpAddr = "127.0.0.3".parse().unwrap();
        let phone = Telephone::default().calling_from(from);
        let (dialled, accepted) = tokio::join!(phone.dial(&line), listener.accept());
        dialled.unwrap();
        assert_eq!(accepted.unwrap().1.ip(), from);
    }

    #[tokio::test]
    async fn the_time_the_representative_takes_to_answer_each_line_is_recorded() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let line = listener.local_addr().unwrap().to_string();
        let representative = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (reader, mut writer) = stream.into_split();
            let mut heard = BufReader::new(reader).lines();
            writer.write_all(b"ASK purpose What for?\n").await.unwrap();
            assert_eq!(heard.next_line().await.unwrap().unwrap(), "activate");
            // What is only told is no answer yet: the ID group is.
            writer.write_all(b"HEARD purpose activate\n").await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer
                .write_all(b"READ license_server_id.1 12345\n")
                .await
                .unwrap();
            assert_eq!(heard.next_line().await.unwrap().unwrap(), "ok");
            writer
                .write_all(b"DONE\nBYE done Goodbye.\n")
                .await
                .unwrap();
        });
        let times = AnswerTimes::new();
        let phone = Telephone::default().timing_answers(times.clone());
        let stream = phone.dial(&line).await.unwrap();
        let answers = HashMap::from([("purpose".to_owned(), "activate".to_owned())]);
        assert_eq!(phone.hold(stream, &answers).await.unwrap(), "12345");
        representative.await.unwrap();
        // Two lines said, each answered once; the first after the pause.
        let took = times.take();
        assert_eq!(took.len(), 2);
        assert!(took[0] >= Duration::from_millis(50), "{took:?}");
        assert!(times.take().is_empty());
    }

    #[test]
    fn a_field_the_request_leaves_empty_is_answered_empty() {
        assert_eq!(answer(&answers(), "email").unwrap(), "");
    }
}
