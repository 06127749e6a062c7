//! The telephone method by voice: a SIP call to the clearinghouse's voice line, the
//! representative heard as G.711 RTP, answered on the keypad (RFC 4733 events or SIP
//! INFO), as a softphone would. The caller here understands no speech: it keys its whole
//! script ahead, as a person who knows the questions would, and checks what it heard
//! against the call's transcript in the journal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clearinghouse::Config;
use clearinghouse::phone::PhoneSettings;
use clearinghouse::voice::audio;
use serde_json::Value;
use shared::id::{LicenseServerId, ProductId};
use shared::tasks::Field;
use shared::vocab::WindowsServer;
use shared::wire::{CallMedium, JournalEntry, JournalPage, Party};
use tokio::net::UdpSocket;

use crate::helpers::*;

/// The time between two 20 ms packets in these tests: the audio is the same as in real
/// time, sent 10 times faster, so a call of two minutes is heard in twelve seconds.
const PACE: Duration = Duration::from_millis(2);

/// A clearinghouse with a voice line.
async fn app_with_voice(settings: PhoneSettings) -> TestApp {
    TestApp::from(
        spawn_with(Config {
            sip_addr: Some("127.0.0.1:0".parse().unwrap()),
            phone: PhoneSettings {
                voice_pace: PACE,
                ..settings
            },
            ..Config::ephemeral()
        })
        .await,
    )
}

/// A packet of the line's audio as it arrived.
#[derive(Clone)]
struct Packet {
    sequence: u16,
    marker: bool,
    payload_type: u8,
    payload: Vec<u8>,
}

/// A caller on the voice line: a SIP user agent over UDP with an RTP port of its own.
struct VoiceCaller {
    sip: UdpSocket,
    line: SocketAddr,
    call_id: String,
    /// The caller's From, with its tag.
    from: String,
    /// The line's To, with the tag it answered with.
    to: String,
    cseq: u32,
    /// The CSeq of the last INVITE.
    invite_cseq: u32,
    rtp: Arc<UdpSocket>,
    /// Where the line's RTP comes from and goes to.
    line_rtp: SocketAddr,
    heard: Arc<Mutex<Vec<Packet>>>,
    /// Cleared when the caller is dropped, to stop its listening thread.
    listening: Arc<std::sync::atomic::AtomicBool>,
    /// Who was called: the Request-URI's user.
    user: String,
    /// The Via branch of the last request sent.
    last_branch: String,
    /// The next telephone event's timestamp.
    event_time: u32,
    sequence: u16,
}

/// What a SIP message says, read loosely: its first line, headers and body.
struct Sip {
    start: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Sip {
    fn parse(bytes: &[u8]) -> Sip {
        let text = String::from_utf8_lossy(bytes).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Sip {
            start,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn status(&self) -> Option<u16> {
        self.start.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
    }
}

/// Which of the offered codecs a caller offers first.
const OFFER: &str = "8 0 101";

impl VoiceCaller {
    /// Dials `user` at the voice line of `app`, as `display` of `organization`.
    async fn dial(app: &TestApp, user: &str, display: &str, organization: &str) -> VoiceCaller {
        let line = app.server.sip_addr().expect("the voice line answers");
        VoiceCaller::dial_at(line, user, display, organization).await
    }

    /// Dials `user` at the voice line at `line`.
    async fn dial_at(
        line: SocketAddr,
        user: &str,
        display: &str,
        organization: &str,
    ) -> VoiceCaller {
        let mut caller = VoiceCaller::invite_at(line, user, display, organization, OFFER).await;
        let answer = caller.final_response().await;
        assert_eq!(answer.status(), Some(200), "{}", answer.start);
        caller.to = answer.header("to").unwrap().to_owned();
        let port: u16 = answer
            .body
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|m| m.split(' ').next())
            .and_then(|p| p.parse().ok())
            .expect("the answer says where the line's audio is");
        caller.line_rtp = SocketAddr::new(caller.line.ip(), port);
        caller.request("ACK", "", None).await;
        caller
    }

    /// Sends an INVITE offering `formats`, and starts listening for audio.
    async fn invite(
        app: &TestApp,
        user: &str,
        display: &str,
        organization: &str,
        formats: &str,
    ) -> VoiceCaller {
        let line = app.server.sip_addr().expect("the voice line answers");
        VoiceCaller::invite_at(line, user, display, organization, formats).await
    }

    /// Sends an INVITE to the line at `line`.
    async fn invite_at(
        mut line: SocketAddr,
        user: &str,
        display: &str,
        organization: &str,
        formats: &str,
    ) -> VoiceCaller {
        if line.ip().is_unspecified() {
            line.set_ip([127, 0, 0, 1].into());
        }
        let sip = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // The audio is read on a thread of its own, with a blocking socket: a test runtime
        // busy elsewhere must not let the socket's buffer overflow.
        let ear = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        ear.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mouth = ear.try_clone().unwrap();
        mouth.set_nonblocking(true).unwrap();
        let rtp = Arc::new(UdpSocket::from_std(mouth).unwrap());
        let here = sip.local_addr().unwrap();
        let call_id = format!("{:016x}@test", rand::random::<u64>());
        let mut caller = VoiceCaller {
            sip,
            line,
            call_id,
            from: format!("\"{display}\" <sip:caller@{here}>;tag=caller-tag"),
            to: format!("<sip:{user}@{line}>"),
            cseq: 1,
            invite_cseq: 1,
            rtp: rtp.clone(),
            line_rtp: line,
            heard: Arc::new(Mutex::new(Vec::new())),
            listening: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            user: user.to_owned(),
            last_branch: String::new(),
            event_time: 1000,
            sequence: 1,
        };
        let offer = format!(
            "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP {formats}\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
            rtp.local_addr().unwrap().port()
        );
        let (heard, listening) = (caller.heard.clone(), caller.listening.clone());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 2048];
            while listening.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(n) = ear.recv(&mut buffer) else {
                    continue;
                };
                if n < 12 {
                    continue;
                }
                heard.lock().unwrap().push(Packet {
                    sequence: u16::from_be_bytes([buffer[2], buffer[3]]),
                    marker: buffer[1] & 0x80 != 0,
                    payload_type: buffer[1] & 0x7f,
                    payload: buffer[12..n].to_vec(),
                });
            }
        });
        let extra = format!("Organization: {organization}\r\n");
        caller
            .request("INVITE", &extra, Some(("application/sdp", &offer)))
            .await;
        caller
    }

    /// Sends a request in the call.
    async fn request(&mut self, method: &str, extra: &str, body: Option<(&str, &str)>) {
        let branch = format!("{:x}", rand::random::<u64>());
        self.send(method, &branch, extra, body).await;
    }

    /// Cancels the INVITE sent with `branch`.
    async fn cancel(&mut self, branch: &str) {
        self.cseq -= 1;
        let to = std::mem::replace(&mut self.to, format!("<sip:{}@{}>", self.user, self.line));
        self.send("CANCEL", branch, "", None).await;
        self.to = to;
    }

    async fn send(&mut self, method: &str, branch: &str, extra: &str, body: Option<(&str, &str)>) {
        self.last_branch = branch.to_owned();
        let here = self.sip.local_addr().unwrap();
        // An ACK (and a CANCEL) carries the number of the INVITE it answers.
        let cseq = if method == "ACK" {
            self.invite_cseq
        } else {
            self.cseq += 1;
            self.cseq - 1
        };
        if method == "INVITE" {
            self.invite_cseq = cseq;
        }
        let (content, body) = match body {
            Some((kind, body)) => (format!("Content-Type: {kind}\r\n"), body),
            None => (String::new(), ""),
        };
        let message = format!(
            "{method} sip:{user}@{line} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@{here}>\r\n{extra}{content}Content-Length: {length}\r\n\r\n{body}",
            line = self.line,
            user = self.user,
            from = self.from,
            to = self.to,
            call_id = self.call_id,
            length = body.len(),
        );
        self.sip
            .send_to(message.as_bytes(), self.line)
            .await
            .unwrap();
    }

    /// The next SIP message from the line.
    async fn receive(&self) -> Sip {
        self.receive_within(Duration::from_secs(30))
            .await
            .expect("the line answers within 30 s")
    }

    /// The next SIP message from the line, if one comes within `time`.
    async fn receive_within(&self, time: Duration) -> Option<Sip> {
        let mut buffer = [0u8; 8192];
        let (n, _) = tokio::time::timeout(time, self.sip.recv_from(&mut buffer))
            .await
            .ok()?
            .ok()?;
        Some(Sip::parse(&buffer[..n]))
    }

    /// The final response to the last request, past any provisional ones.
    async fn final_response(&self) -> Sip {
        loop {
            let message = self.receive().await;
            if message.status().is_some_and(|s| s >= 200) {
                return message;
            }
        }
    }

    /// Presses `keys` as RFC 4733 telephone events: three packets as the key goes down,
    /// three as it comes up.
    async fn key(&mut self, keys: &str) {
        self.press(keys, true).await;
    }

    /// Presses `keys` all at once, each as the first packet of its event alone (the rest
    /// lost, as RFC 4733 allows): faster than any dialogue reads them.
    async fn key_at_once(&mut self, keys: &str) {
        self.press(keys, false).await;
    }

    async fn press(&mut self, keys: &str, whole: bool) {
        let packets: &[(bool, u16)] = if whole {
            &[
                (false, 160),
                (false, 320),
                (false, 480),
                (true, 800),
                (true, 800),
                (true, 800),
            ]
        } else {
            &[(false, 160)]
        };
        for key in keys.chars() {
            let code = "0123456789*#".find(key).expect("a keypad key") as u8;
            for &(end, duration) in packets {
                let mut packet = vec![0x80, 101 | if duration == 160 { 0x80 } else { 0 }];
                packet.extend_from_slice(&self.sequence.to_be_bytes());
                packet.extend_from_slice(&self.event_time.to_be_bytes());
                packet.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                packet.extend_from_slice(&[code, if end { 0x8a } else { 0x0a }]);
                packet.extend_from_slice(&duration.to_be_bytes());
                self.rtp.send_to(&packet, self.line_rtp).await.unwrap();
                self.sequence = self.sequence.wrapping_add(1);
            }
            self.event_time = self.event_time.wrapping_add(1600);
            if whole {
                // A key takes a finger a tenth of a second; here, played faster, a few
                // milliseconds, which also keeps the line's socket from overflowing.
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        }
    }

    /// Waits (at most 30 s) until `n` things said have begun to be heard.
    async fn until_heard(&self, n: usize) {
        for _ in 0..600 {
            let heard = self
                .heard
                .lock()
                .unwrap()
                .iter()
                .filter(|p| p.marker)
                .count();
            if heard >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} things were not said in 30 s");
    }

    /// Presses `keys` as SIP INFO (application/dtmf-relay), each answered before the next.
    async fn key_by_info(&mut self, keys: &str) {
        for key in keys.chars() {
            let body = format!("Signal={key}\r\nDuration=160\r\n");
            self.request("INFO", "", Some(("application/dtmf-relay", &body)))
                .await;
            let answer = self.final_response().await;
            assert_eq!(answer.status(), Some(200), "INFO {key}: {}", answer.start);
        }
    }

    /// Waits for the line to hang up (its BYE), and answers it. If it does not within a
    /// minute, hangs up and fails with what the journal says was said.
    async fn until_the_line_hangs_up(&mut self, app: &TestApp, tenant: &str) {
        loop {
            let Some(message) = self.receive_within(Duration::from_secs(60)).await else {
                self.hang_up().await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let (_, transcript) = last_call(app, tenant).await;
                panic!("the line did not hang up; the call went: {transcript:#?}");
            };
            if message.start.starts_with("BYE ") {
                let answer = format!(
                    "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
                    message.header("via").unwrap(),
                    message.header("from").unwrap(),
                    message.header("to").unwrap(),
                    message.header("call-id").unwrap(),
                    message.header("cseq").unwrap(),
                );
                self.sip
                    .send_to(answer.as_bytes(), self.line)
                    .await
                    .unwrap();
                return;
            }
        }
    }

    /// Hangs up, and waits for the line's answer.
    async fn hang_up(&mut self) -> Sip {
        self.request("BYE", "", None).await;
        self.final_response().await
    }

    /// The audio heard, decoded, where each thing said begins (its marked packet), and how
    /// many packets went missing (heard as silence: a machine busy with other tests may
    /// let this socket's buffer overflow).
    fn audio(&self) -> (Vec<i16>, Vec<usize>, usize) {
        let heard = self.heard.lock().unwrap();
        let mut samples = Vec::new();
        let mut starts = Vec::new();
        let mut lost = 0;
        let mut last: Option<u16> = None;
        for packet in heard.iter() {
            if let Some(last) = last {
                let missing = usize::from(packet.sequence.wrapping_sub(last).wrapping_sub(1));
                lost += missing;
                samples.extend(std::iter::repeat_n(0, missing * 160));
            }
            last = Some(packet.sequence);
            let decode = match packet.payload_type {
                0 => audio::from_mu_law,
                8 => audio::from_a_law,
                other => panic!("audio in payload type {other}"),
            };
            if packet.marker {
                starts.push(samples.len());
            }
            samples.extend(packet.payload.iter().map(|b| decode(*b)));
        }
        (samples, starts, lost)
    }

    /// Each thing said, as heard: from its marked packet to the next, its trailing
    /// silence cut off.
    fn prompts(&self) -> (Vec<Vec<i16>>, usize) {
        let (samples, starts, lost) = self.audio();
        let mut ends: Vec<usize> = starts.iter().skip(1).copied().collect();
        ends.push(samples.len());
        let prompts = starts
            .iter()
            .zip(ends)
            .map(|(&start, end)| {
                let said = &samples[start..end];
                let last = said
                    .iter()
                    .rposition(|s| s.abs() > 256)
                    .map_or(0, |i| i + 1);
                said[..last].to_vec()
            })
            .collect();
        (prompts, lost)
    }

    /// Writes what was heard so far as a WAV file under `target/calls/`, for a person to
    /// listen to: where, and the samples written.
    fn write_wav(&self, name: &str) -> (PathBuf, Vec<i16>) {
        let (samples, _, _) = self.audio();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/calls");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.wav"));
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
        wav.extend_from_slice(&data);
        std::fs::write(&path, wav).unwrap();
        (path, samples)
    }
}

impl Drop for VoiceCaller {
    fn drop(&mut self) {
        self.listening
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The keys of an ID: each group's five digits, then `#`.
fn id_keys(id: &str) -> String {
    id.split('-').map(|group| format!("{group}#")).collect()
}

/// The keys that choose `slug` in the keypad's menu of `field`.
fn menu(field: Field, slug: &str) -> String {
    let choices = field.keypad_choices().expect("a choice");
    let n = choices
        .iter()
        .position(|(s, _)| *s == slug)
        .expect("offered")
        + 1;
    format!("{n}#")
}

/// The UK desk's number, keyed.
fn uk_number() -> String {
    let digits: String = UK_NUMBER.chars().filter(char::is_ascii_digit).collect();
    format!("{digits}#")
}

/// The journal of `tenant`.
async fn journal(app: &TestApp, tenant: &str) -> JournalPage {
    journal_at(&AdminApi::of(app), tenant).await
}

/// Where a clearinghouse's admin API answers: a test's own, or a lab's.
struct AdminApi {
    url: String,
    token: String,
}

impl AdminApi {
    fn of(app: &TestApp) -> AdminApi {
        AdminApi {
            url: app.server.url(),
            token: app.server.admin_token().to_owned(),
        }
    }
}

/// The journal of `tenant` at `admin`.
async fn journal_at(admin: &AdminApi, tenant: &str) -> JournalPage {
    let response = reqwest::Client::new()
        .get(format!("{}/admin/v1/tenants/{tenant}/journal", admin.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("the clearinghouse answers");
    ok(response).await
}

/// How many words `text` is spoken in: a number of more than three digits is read digit by
/// digit.
fn spoken_words(text: &str) -> usize {
    text.split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let digits = w.chars().filter(char::is_ascii_digit).count();
            if digits > 3 { digits } else { 1 }
        })
        .sum()
}

/// Checks that each thing the representative said, as the journal's transcript gives it,
/// was heard as speech of a length that fits its words.
fn assert_heard_as_said(caller: &VoiceCaller, transcript: &[(Party, String)]) {
    let said: Vec<&String> = transcript
        .iter()
        .filter(|(by, _)| *by == Party::Representative)
        .map(|(_, text)| text)
        .collect();
    let (prompts, lost) = caller.prompts();
    assert_eq!(
        prompts.len(),
        said.len(),
        "one marked stretch of audio per thing said ({lost} packets went missing)"
    );
    for (audio, text) in prompts.iter().zip(said) {
        let seconds = audio.len() as f64 / 8000.0;
        let words = spoken_words(text) as f64;
        assert!(
            audio::rms(audio) > 500.0,
            "{text:?} was heard as silence (rms {:.0})",
            audio::rms(audio)
        );
        assert!(
            (0.12 * words..=0.9 * words + 1.0).contains(&seconds),
            "{text:?} ({words} words) lasted {seconds:.2} s"
        );
    }
}

/// The calls journaled in `tenant`, once there are `n`: a call is journaled when its
/// dialogue has ended, a moment after the caller hangs up.
async fn calls(app: &TestApp, tenant: &str, n: usize) -> Vec<JournalEntry> {
    calls_at(&AdminApi::of(app), tenant, n).await
}

/// The same, at `admin`.
async fn calls_at(admin: &AdminApi, tenant: &str, n: usize) -> Vec<JournalEntry> {
    for _ in 0..100 {
        let page = journal_at(admin, tenant).await;
        let calls: Vec<JournalEntry> = page
            .entries
            .into_iter()
            .filter(|e| e.medium == Some(CallMedium::Voice))
            .collect();
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} calls were not journaled in 5 s");
}

/// The transcript of the last call journaled in `tenant`.
async fn last_call(app: &TestApp, tenant: &str) -> (Value, Vec<(Party, String)>) {
    let calls = calls(app, tenant, 1).await;
    let call = calls.last().expect("the call is in the journal");
    let transcript = call
        .transcript
        .iter()
        .map(|l| (l.by, l.text.clone()))
        .collect();
    (serde_json::to_value(call).unwrap(), transcript)
}

/// What `tenant`'s snapshot holds, but for what differs by door: the saved answers (each
/// door keys its requests its own way), and the door and time of each line of history.
async fn records(app: &TestApp, tenant: &str) -> Value {
    let snapshot: Value = ok(app
        .control(reqwest::Method::GET, tenant, "/snapshot", None)
        .await)
    .await;
    let mut records = snapshot["body"]["records"].clone();
    if let Value::Object(map) = &mut records {
        map.retain(|key, _| !key.starts_with("idem/"));
        for (key, record) in map.iter_mut() {
            if key.starts_with("hist/")
                && let Value::Object(line) = record
            {
                line.remove("m");
                line.remove("t");
            }
        }
    }
    records
}

/// A product ID of tenant-independent digits, the same for every door.
fn product_id() -> ProductId {
    use rand::SeedableRng;
    ProductId::generate(
        WindowsServer::V2025,
        &mut rand::rngs::ChaCha8Rng::seed_from_u64(2025),
    )
}

#[tokio::test]
async fn a_license_server_is_activated_by_voice_as_on_the_text_line_and_through_the_api() {
    let mut app = app_with_voice(PhoneSettings::default()).await;
    for tenant in ["voice", "text", "api"] {
        app.create_tenant(tenant, 42).await;
    }

    let mut caller =
        VoiceCaller::dial(&app, "voice", "Ada Lovelace", "Analytical Engines Ltd").await;
    // The number, the purpose (1: activate), the product ID; the company information
    // comes from the caller ID and the desk; then yes, and a hash after each group read.
    let script = format!(
        "{}1#{}1#{}",
        uk_number(),
        id_keys(&product_id().to_string()),
        "#".repeat(7),
    );
    caller.key(&script).await;
    caller.until_the_line_hangs_up(&app, "voice").await;
    let (wav, heard) = caller.write_wav("activation");
    let (rate, recorded) = audio::wav_samples(&std::fs::read(&wav).unwrap()).unwrap();
    assert_eq!(rate, 8000);
    assert_eq!(recorded, heard, "the WAV holds the call as heard");

    let mut text = Caller::dial(&app).await;
    text.answer("ASK number", UK_NUMBER).await;
    text.answer("ASK tenant", "text").await;
    text.answer("ASK purpose", "1").await;
    text.give_id("product_id", &product_id().to_string()).await;
    text.answer("ASK first_name", "Ada").await;
    text.answer("ASK last_name", "Lovelace").await;
    text.answer("ASK company", "Analytical Engines Ltd").await;
    text.answer("ASK country_region", "GB").await;
    text.answer("ASK company.optional", "no").await;
    text.answer("ASK confirm", "yes").await;
    let by_text: LicenseServerId = text.take_id().await.parse().unwrap();

    app.tenant = Some("api".into());
    let by_api = app.activate_product(product_id()).await;
    assert_eq!(by_text, by_api);
    let (call, transcript) = last_call(&app, "voice").await;
    assert_eq!(call["connection_method"], "telephone");
    assert_eq!(call["medium"], "voice");
    assert_eq!(call["ids"][0], by_api.to_string(), "{transcript:#?}");
    assert_heard_as_said(&caller, &transcript);

    let mut statuses = Vec::new();
    for tenant in ["voice", "text", "api"] {
        app.tenant = Some(tenant.into());
        let mut status = app.status(by_api).await;
        forget_times(&mut status);
        let mut audit = serde_json::to_value(app.audit(tenant).await).unwrap();
        audit["tenant"] = Value::Null;
        statuses.push((status, audit, records(&app, tenant).await));
    }
    assert_eq!(
        statuses[0], statuses[2],
        "the voice line left another ledger than the API"
    );
    assert_eq!(
        statuses[1], statuses[2],
        "the text line left another ledger than the API"
    );
}

#[tokio::test]
async fn cals_are_installed_by_voice_keyed_by_info_and_read_out_group_by_group() {
    let mut app = app_with_voice(PhoneSettings::default()).await;
    let server = app.activate().await;
    let mut caller = VoiceCaller::dial(
        &app,
        "clearinghouse",
        "Ada Lovelace",
        "Analytical Engines Ltd",
    )
    .await;
    let script = format!(
        "{}2#{}{}4412903#{}{}5#1#{}",
        uk_number(),
        id_keys(&server.to_string()),
        menu(Field::Program, "select"),
        menu(Field::ProductVersion, "2019"),
        menu(Field::LicenseType, "per-device"),
        "#".repeat(7),
    );
    caller.key_by_info(&script).await;
    caller.until_the_line_hangs_up(&app, "default").await;
    caller.write_wav("install-cals");

    let (call, transcript) = last_call(&app, "default").await;
    let status = app.status(server).await;
    assert_eq!(
        status["key_packs"][0]["key_pack_id"], call["ids"][0],
        "{transcript:#?}"
    );
    assert_eq!(app.held(server).await, 5);
    let read_out: Vec<&str> = call["ids"][0].as_str().unwrap().split('-').collect();
    let groups_said: Vec<&String> = transcript
        .iter()
        .filter(|(by, text)| *by == Party::Representative && read_out.contains(&text.as_str()))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(
        groups_said.len(),
        7,
        "each group read on its own: {transcript:#?}"
    );
    assert_heard_as_said(&caller, &transcript);
    assert!(app.audit("default").await.ok);

    let mut portal = Portal::new(&app);
    portal.sign_in(app.server.admin_token()).await;
    let page = portal.get("/instructor").await;
    let call = page.html.find("Voice call").expect("the call is listed");
    let installed = page.html.find("CALs installed").unwrap();
    assert!(
        call < installed,
        "the call ended after its request was answered"
    );
    assert!(
        page.html.contains("Caller keyed: 4412903#"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("Representative: Here is your license key pack ID.")
    );
}

/// Runs SIPp's scenario `name` (in `tests/sipp/`) against the voice line of `app`, `calls`
/// calls of it, at most `at_once` at a time; fails with SIPp's errors unless every call
/// went as the scenario says.
async fn sipp(app: &TestApp, name: &str, calls: u32, at_once: u32) {
    let line = app.server.sip_addr().expect("the voice line answers");
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sipp")
        .join(format!("{name}.xml"));
    let logs = tempfile::tempdir().unwrap();
    let errors = logs.path().join("errors.log");
    let run = tokio::process::Command::new("sipp")
        .arg(line.to_string())
        .args(["-sf", scenario.to_str().unwrap()])
        .args(["-s", "clearinghouse", "-i", "127.0.0.1"])
        // SIPp's own ports are its to pick: it takes the next one free from 5060 (signalling)
        // and 6000 (media), where a port found free here could be taken before it binds.
        .args(["-m", &calls.to_string(), "-l", &at_once.to_string()])
        .args(["-r", "200", "-nostdin", "-timeout", "60s", "-timeout_error"])
        .args(["-recv_timeout", "20000", "-trace_err", "-error_file"])
        .arg(&errors)
        .current_dir(logs.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("SIPp ends within its own timeout")
        .expect("SIPp runs (apt-get install sip-tester, as ./test does)");
    let errors = std::fs::read_to_string(&errors).unwrap_or_default();
    assert!(
        out.status.success(),
        "SIPp's {name} failed ({}): {errors}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn keys_sent_as_sip_info_by_sipp_reach_the_representative() {
    let app = app_with_voice(PhoneSettings::default()).await;
    sipp(&app, "info-digits", 1, 1).await;
    let (call, transcript) = last_call(&app, "default").await;
    assert!(
        transcript.contains(&(Party::Caller, uk_number())),
        "{transcript:#?}"
    );
    assert!(
        transcript
            .iter()
            .any(|(_, text)| text.contains("United Kingdom desk")),
        "{transcript:#?}"
    );
    assert_eq!(call["ids"], Value::Null, "nothing issued");
}

#[tokio::test]
async fn a_sipp_caller_who_hangs_up_at_once_is_issued_nothing() {
    let app = app_with_voice(PhoneSettings::default()).await;
    sipp(&app, "hang-up-early", 3, 3).await;
    let calls = calls(&app, "default", 3).await;
    let page = journal(&app, "default").await;
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.ids.is_empty()));
    assert!(
        page.entries.iter().all(|e| e.route == "sip"),
        "no request reached the ledger"
    );
}

#[tokio::test]
async fn a_flood_of_invites_is_answered_or_refused_busy_and_the_line_lives_on() {
    let app = app_with_voice(PhoneSettings::default()).await;
    // One address may hold 16 calls: 60 at once from SIPp's make many of them busy.
    sipp(&app, "flood", 200, 60).await;
    let mut caller = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    assert_eq!(caller.hang_up().await.status(), Some(200));
    assert!(app.audit("default").await.ok);
}

/// A UDP socket to send the voice line raw datagrams from.
async fn raw_socket(app: &TestApp) -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    (socket, app.server.sip_addr().unwrap())
}

/// A request outside any call: `method` to the line, with `extra` headers and no body.
fn out_of_call(method: &str, here: SocketAddr, line: SocketAddr, extra: &str) -> String {
    format!(
        "{method} sip:clearinghouse@{line} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bK{:x}\r\nFrom: <sip:t@{here}>;tag=t1\r\nTo: <sip:clearinghouse@{line}>\r\nCall-ID: {:x}@t\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n",
        rand::random::<u64>(),
        rand::random::<u64>(),
    )
}

/// Sends `message` to the line at `line`, and reads its answer.
async fn exchange(socket: &UdpSocket, line: SocketAddr, message: &str) -> Option<Sip> {
    socket.send_to(message.as_bytes(), line).await.unwrap();
    answer_to(socket).await
}

/// The next message to `socket`, if one comes within 5 s.
async fn answer_to(socket: &UdpSocket) -> Option<Sip> {
    let mut buffer = [0u8; 8192];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
        .await
        .ok()?
        .ok()?;
    Some(Sip::parse(&buffer[..n]))
}

#[tokio::test]
async fn options_is_answered_with_what_the_line_allows_and_accepts() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let (socket, line) = raw_socket(&app).await;
    let here = socket.local_addr().unwrap();
    let options = out_of_call("OPTIONS", here, line, "");
    let answer = exchange(&socket, line, &options).await.expect("an answer");
    assert_eq!(answer.status(), Some(200));
    assert!(
        answer.header("to").unwrap().contains(";tag="),
        "every final answer tags its To (RFC 3261 8.2.6.2)"
    );
    assert_eq!(
        answer.header("allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO")
    );
    assert!(answer.header("accept").unwrap().contains("application/sdp"));
}

#[tokio::test]
async fn an_unreadable_message_is_refused_or_dropped_and_the_line_lives_on() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let (socket, line) = raw_socket(&app).await;
    let here = socket.local_addr().unwrap();
    socket.send_to(b"\x16\x03\x01garbage", line).await.unwrap();
    assert!(
        answer_to(&socket).await.is_none(),
        "what is not SIP gets no answer"
    );
    let no_call_id = out_of_call("OPTIONS", here, line, "").replace("Call-ID", "X-Not-Call-ID");
    let refused = exchange(&socket, line, &no_call_id)
        .await
        .expect("a request is answered");
    assert_eq!(refused.status(), Some(400));
    assert!(
        refused.header("warning").unwrap().contains("Call-ID"),
        "the warning names what is wrong"
    );
    let endless = out_of_call("OPTIONS", here, line, "")
        .replace("Content-Length: 0", "Content-Length: 18446744073709551615");
    assert_eq!(
        exchange(&socket, line, &endless).await.unwrap().status(),
        Some(400)
    );
    let options = out_of_call("OPTIONS", here, line, "");
    assert_eq!(
        exchange(&socket, line, &options).await.unwrap().status(),
        Some(200)
    );
}

#[tokio::test]
async fn a_method_the_line_does_not_take_is_refused_with_what_it_allows() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let (socket, line) = raw_socket(&app).await;
    let here = socket.local_addr().unwrap();
    let register = out_of_call("REGISTER", here, line, "");
    let refused = exchange(&socket, line, &register).await.unwrap();
    assert_eq!(refused.status(), Some(405));
    assert!(refused.header("allow").is_some());
    let unknown = out_of_call("FROBNICATE", here, line, "");
    assert_eq!(
        exchange(&socket, line, &unknown).await.unwrap().status(),
        Some(501)
    );
}

#[tokio::test]
async fn an_offer_without_g711_is_refused_naming_the_codecs_to_offer() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let caller = VoiceCaller::invite(&app, "clearinghouse", "Ada Lovelace", "AE", "9 18").await;
    let refused = caller.final_response().await;
    assert_eq!(refused.status(), Some(488));
    let warning = refused.header("warning").unwrap();
    assert!(warning.contains("PCMU or PCMA"), "{warning}");
    assert!(journal(&app, "default").await.entries.is_empty());
}

#[tokio::test]
async fn a_tenant_that_does_not_exist_is_not_found() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let caller = VoiceCaller::invite(&app, "nobody-here", "Ada Lovelace", "AE", OFFER).await;
    let refused = caller.final_response().await;
    assert_eq!(refused.status(), Some(404));
    assert!(refused.header("warning").unwrap().contains("no tenant"));
}

#[tokio::test]
async fn past_its_calls_at_once_the_voice_line_answers_busy_here_and_says_why() {
    let app = app_with_voice(PhoneSettings {
        max_calls: 1,
        ..PhoneSettings::default()
    })
    .await;
    let mut first = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    let second = VoiceCaller::invite(&app, "clearinghouse", "Ada Lovelace", "AE", OFFER).await;
    let busy = second.final_response().await;
    assert_eq!(busy.status(), Some(486));
    assert!(busy.header("warning").unwrap().contains("other calls"));
    assert_eq!(first.hang_up().await.status(), Some(200));
    let third = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    drop(third);
}

#[tokio::test]
async fn a_caller_who_never_keys_is_told_and_hung_up_on_with_nothing_issued() {
    let app = app_with_voice(PhoneSettings {
        idle_timeout: Duration::from_secs(1),
        ..PhoneSettings::default()
    })
    .await;
    let mut caller = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    caller.until_the_line_hangs_up(&app, "default").await;
    let (call, transcript) = last_call(&app, "default").await;
    let last = &transcript.last().unwrap().1;
    assert!(last.starts_with("No answer for 1 seconds"), "{last}");
    assert!(last.contains("Nothing was issued"), "{last}");
    assert_eq!(call["ids"], Value::Null);
    assert_heard_as_said(&caller, &transcript);
}

#[tokio::test]
async fn keys_sent_from_another_address_than_the_callers_audio_are_not_taken() {
    let app = app_with_voice(PhoneSettings {
        idle_timeout: Duration::from_secs(1),
        ..PhoneSettings::default()
    })
    .await;
    let mut caller = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    // Another socket takes the caller's place to send its keys.
    caller.rtp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    caller.key(&uk_number()).await;
    caller.until_the_line_hangs_up(&app, "default").await;
    let (_, transcript) = last_call(&app, "default").await;
    assert!(
        transcript
            .iter()
            .all(|(by, _)| *by == Party::Representative),
        "no key was taken: {transcript:#?}"
    );
}

#[tokio::test]
async fn a_cancel_after_the_answer_changes_nothing_and_a_bye_ends_the_call() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let mut caller = VoiceCaller::invite(&app, "clearinghouse", "Ada Lovelace", "AE", OFFER).await;
    let branch = caller.last_branch.clone();
    let answered = caller.final_response().await;
    assert_eq!(answered.status(), Some(200));
    caller.to = answered.header("to").unwrap().to_owned();
    caller.cancel(&branch).await;
    assert_eq!(caller.final_response().await.status(), Some(200));
    caller.request("ACK", "", None).await;
    assert_eq!(caller.hang_up().await.status(), Some(200));
    assert_eq!(
        caller.hang_up().await.status(),
        Some(481),
        "the call is over"
    );
}

#[tokio::test]
async fn a_call_put_on_hold_by_a_new_offer_is_answered_the_other_way() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let mut caller = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    let rtp = caller.rtp.local_addr().unwrap().port();
    let hold = format!(
        "v=0\r\no=caller 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {rtp} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
    );
    caller
        .request("INVITE", "", Some(("application/sdp", &hold)))
        .await;
    let answer = caller.final_response().await;
    assert_eq!(answer.status(), Some(200));
    assert!(answer.body.contains("a=recvonly"), "{}", answer.body);
    assert!(answer.body.contains("RTP/AVP 0 101"), "{}", answer.body);
    assert!(answer.body.contains("o=clearinghouse "), "{}", answer.body);
    caller.request("ACK", "", None).await;
    // On hold, the line sends nothing (what it was saying waits).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = caller.heard.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(caller.heard.lock().unwrap().len(), before);
    assert_eq!(caller.hang_up().await.status(), Some(200));
}

#[tokio::test]
async fn a_line_on_every_interface_answers_with_the_address_it_was_dialled_at() {
    let app = TestApp::from(
        spawn_with(Config {
            sip_addr: Some("0.0.0.0:0".parse().unwrap()),
            ..Config::ephemeral()
        })
        .await,
    );
    let caller = VoiceCaller::invite(&app, "clearinghouse", "Ada Lovelace", "AE", OFFER).await;
    let answer = caller.final_response().await;
    assert_eq!(answer.status(), Some(200));
    assert!(
        answer.body.contains("c=IN IP4 127.0.0.1\r\n"),
        "{}",
        answer.body
    );
    assert!(answer.header("contact").unwrap().contains("@127.0.0.1:"));
}

#[tokio::test]
async fn a_class_seat_is_called_by_its_tenant_name_and_asks_for_its_seat_pin() {
    let dir = tempfile::tempdir().unwrap();
    let options = lab::UpOptions {
        scenario: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/labs/migrate-telephone.toml"),
        seats: 2,
        dir: dir.path().to_owned(),
        name: None,
        clearinghouse: None,
        addr: "127.0.0.1:0".parse().unwrap(),
        phone_addr: "127.0.0.1:0".parse().unwrap(),
        sip_addr: Some("127.0.0.1:0".parse().unwrap()),
        seed: 7,
        seat_tokens: true,
    };
    let host = lab::Host::up(options, std::process::id()).await.unwrap();
    let seat = &host.class.file.seats[1];
    let brief = lab::brief::brief(&host.class, seat);
    let voice = brief.voice.clone().expect("the seat is told where to call");
    let line: SocketAddr = voice
        .strip_prefix(&format!("sip:{}@", seat.tenant))
        .expect("the seat's own URI")
        .parse()
        .unwrap();
    assert!(lab::brief::text(&brief).contains(&voice));

    let token = seat.seat_token.clone().unwrap();
    let mut caller = VoiceCaller::dial_at(line, &seat.tenant, "Ada Lovelace", "AE").await;
    caller.key(&format!("{}{token}#", uk_number())).await;
    // Past the PIN, the representative asks the purpose; the caller hangs up there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(caller.hang_up().await.status(), Some(200));

    let admin = AdminApi {
        url: host.class.file.clearinghouse.clone(),
        token: host.class.file.admin_token.clone(),
    };
    let calls = calls_at(&admin, &seat.tenant, 1).await;
    let transcript = &calls[0].transcript;
    let said: Vec<&str> = transcript.iter().map(|l| l.text.as_str()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("is a seat of a training class. What is its seat PIN?")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|t| t.starts_with("What are you calling about?")),
        "{said:#?}"
    );
    assert!(said.contains(&"(the seat PIN)#"), "{said:#?}");
    assert!(
        !said.iter().any(|t| t.contains(&token)),
        "the journal does not keep the seat's token: {said:#?}"
    );
    host.stop().await.unwrap();
}

#[tokio::test]
async fn calls_from_a_client_without_branches_are_told_apart_by_their_call_ids() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let (socket, line) = raw_socket(&app).await;
    let here = socket.local_addr().unwrap();
    for call in ["old-1", "old-2"] {
        let options = format!(
            "OPTIONS sip:clearinghouse@{line} SIP/2.0\r\nVia: SIP/2.0/UDP {here}\r\nFrom: <sip:t@{here}>;tag=t\r\nTo: <sip:clearinghouse@{line}>\r\nCall-ID: {call}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        let answer = exchange(&socket, line, &options).await.expect("an answer");
        assert_eq!(answer.header("call-id"), Some(call), "each its own answer");
    }
}

#[tokio::test]
async fn a_line_on_every_interface_dialled_by_name_answers_with_the_address_that_reaches_the_caller()
 {
    let app = TestApp::from(
        spawn_with(Config {
            sip_addr: Some("0.0.0.0:0".parse().unwrap()),
            ..Config::ephemeral()
        })
        .await,
    );
    let port = app.server.sip_addr().unwrap().port();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let here = socket.local_addr().unwrap();
    let sdp = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:clearinghouse@localhost:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bKname\r\nFrom: \"Ada\" <sip:ada@{here}>;tag=a\r\nTo: <sip:clearinghouse@localhost:{port}>\r\nCall-ID: by-name\r\nCSeq: 1 INVITE\r\nContact: <sip:ada@{here}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    socket
        .send_to(invite.as_bytes(), ("127.0.0.1", port))
        .await
        .unwrap();
    let answer = loop {
        let answer = answer_to(&socket).await.expect("an answer");
        if answer.status() != Some(100) {
            break answer;
        }
    };
    assert_eq!(answer.status(), Some(200));
    assert!(
        answer.body.contains("c=IN IP4 127.0.0.1\r\n"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn keys_typed_ahead_are_dropped_when_an_answer_is_refused() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let mut caller = VoiceCaller::dial(&app, "clearinghouse", "Ada Lovelace", "AE").await;
    // A first group whose check digit fails, then what was meant for the next questions.
    caller
        .key_at_once(&format!("{}1#12345#67890#", uk_number()))
        .await;
    // The greeting, the number, the desk, the purpose, group 1, why it is refused, group 1
    // again.
    caller.until_heard(7).await;
    assert_eq!(caller.hang_up().await.status(), Some(200));
    let (_, transcript) = last_call(&app, "default").await;
    let keyed: Vec<&str> = transcript
        .iter()
        .filter(|(by, _)| *by == Party::Caller)
        .map(|(_, text)| text.as_str())
        .collect();
    assert_eq!(
        keyed,
        vec![uk_number().as_str(), "1#", "12345#"],
        "{transcript:#?}"
    );
    let refused = transcript
        .iter()
        .position(|(_, text)| text.contains("please read group 1 again"))
        .expect("the group is refused");
    assert!(
        transcript[refused + 1].1.contains("group 1 of 7"),
        "asked again: {transcript:#?}"
    );
}

#[tokio::test]
async fn a_name_the_telephone_sends_that_cannot_be_taken_ends_the_call_saying_so() {
    let app = app_with_voice(PhoneSettings::default()).await;
    let long = "A".repeat(80);
    let mut caller =
        VoiceCaller::dial(&app, "clearinghouse", &format!("{long} Lovelace"), "AE").await;
    caller
        .key(&format!(
            "{}1#{}",
            uk_number(),
            id_keys(&product_id().to_string())
        ))
        .await;
    caller.until_the_line_hangs_up(&app, "default").await;
    let (call, transcript) = last_call(&app, "default").await;
    let said: Vec<&str> = transcript.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("the first name your telephone sends cannot be taken")),
        "{said:#?}"
    );
    assert!(
        said.last().unwrap().contains("Nothing was issued"),
        "{said:#?}"
    );
    assert_eq!(call["ids"], Value::Null);
}
