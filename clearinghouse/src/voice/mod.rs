//! The telephone method's voice door: a SIP line (RFC 3261, over UDP) on which a caller
//! dials the Clearinghouse from a softphone, hears the representative speak, and answers
//! on the keypad.
//!
//! Like the text line it only translates: each call is the representative's dialogue
//! ([`crate::phone::Switchboard::hold`]) held over a [`call::VoiceLine`], whose prompts
//! are synthesized ([`speech`]) and sent as G.711 RTP, and whose answers are keys (RFC
//! 4733 telephone events, or SIP INFO). This module is the signalling: it answers INVITE
//! with an SDP answer and RTP port of the call's own, and BYE, CANCEL, OPTIONS, INFO and
//! re-INVITE as RFC 3261 says, and bounds calls as the text line does.

pub mod audio;
mod call;
mod rtp;
mod sdp;
mod sip;
pub mod speech;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ezk_sip_types::{Method, Name};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::ledger::TenantName;
use crate::phone::Switchboard;
use call::{Playout, Pump, VoiceLine};
use sdp::SdpError;
use sip::{Message, Request};
use speech::Speaker;

/// The user part of the line's address: `sip:clearinghouse@HOST:PORT`. Dialling a tenant's
/// name instead (`sip:seat-07@HOST:PORT`) calls for that tenant.
pub const LINE_USER: &str = "clearinghouse";
/// How long a final response is kept, to answer a retransmitted request with it (64 × T1).
const TRANSACTION_KEPT: Duration = Duration::from_secs(32);
/// The first retransmission interval (T1), doubled up to T2.
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
/// The most final responses kept for retransmissions; past it the oldest go.
const MAX_KEPT: usize = 4096;
/// What the line takes in a body: offers, and keys sent as INFO.
const ACCEPT: &str = "application/sdp, application/dtmf-relay";
/// The most keys waiting for the dialogue to take them.
const KEYS_WAITING: usize = 256;

/// What is said on every call, as spoken: synthesized at start-up, so a call is answered
/// with audio at once.
pub fn fixed_prompts() -> Vec<String> {
    [crate::phone::KEYPAD_GREETING, crate::phone::KEYPAD_NUMBER]
        .iter()
        .map(|text| call::speakable(text))
        .collect()
}

/// A voice line that answers calls.
pub struct VoiceLineHandle {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    stopping: crate::alive::Stopping,
}

impl VoiceLineHandle {
    /// Where calls are sent (SIP over UDP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The line's SIP URI.
    pub fn uri(&self) -> String {
        format!("sip:{LINE_USER}@{}", self.addr)
    }

    /// Stops answering, and ends the calls in progress.
    pub fn stop(self) {
        self.stopping.now();
        let _ = self.stop.send(());
    }
}

/// Answers calls to `board` reaching `socket`, speaking with `speaker`, on a thread of its
/// own: the audio of every call is paced from there, away from the HTTP workers.
pub fn answer(
    socket: std::net::UdpSocket,
    board: Arc<Switchboard>,
    speaker: Arc<Speaker>,
    lines: &crate::alive::Lines,
) -> std::io::Result<VoiceLineHandle> {
    let (answering, stopping) = lines.watch("voice line");
    let addr = socket.local_addr()?;
    socket.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("voice-line".to_owned())
        .spawn(move || {
            let _answering = answering;
            runtime.block_on(async move {
                let socket = match UdpSocket::from_std(socket) {
                    Ok(socket) => Arc::new(socket),
                    Err(e) => {
                        tracing::error!(error = %e, "the voice line cannot listen");
                        return;
                    }
                };
                let (ended, ends) = mpsc::channel(1024);
                let line = Line {
                    socket,
                    local: addr,
                    board,
                    speaker,
                    calls: HashMap::new(),
                    per_address: HashMap::new(),
                    kept: HashMap::new(),
                    byes: HashMap::new(),
                    ended,
                    tasks: JoinSet::new(),
                };
                tokio::select! {
                    () = line.serve(ends) => {}
                    _ = stopped => {}
                }
            });
        })?;
    Ok(VoiceLineHandle {
        addr,
        stop,
        stopping,
    })
}

/// A call in progress.
struct Active {
    /// Where its signalling comes from.
    caller: SocketAddr,
    /// The caller's tag: with the Call-ID and the line's tag, it names the dialog.
    caller_tag: Option<String>,
    dialog: sip::Dialog,
    /// The line's tag in the dialog.
    tag: String,
    /// The last INVITE's transaction and the line's answer to it, resent while unacknowledged.
    invite: (String, Vec<u8>),
    /// Set when the last INVITE's answer is acknowledged.
    acked: watch::Sender<bool>,
    keys: mpsc::Sender<char>,
    /// Set when the call is over, by either side.
    over: watch::Sender<bool>,
    media: Arc<Mutex<sdp::Media>>,
    /// The call's own RTP address.
    rtp: SocketAddr,
    /// The SDP session's version, one more for each answer.
    version: u64,
    session: u64,
}

struct Line {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    board: Arc<Switchboard>,
    speaker: Arc<Speaker>,
    /// The calls in progress, by Call-ID.
    calls: HashMap<String, Active>,
    /// How many calls each address holds.
    per_address: HashMap<IpAddr, usize>,
    /// Final responses to requests, by their transaction (branch), and when they were sent.
    kept: HashMap<String, (Vec<u8>, Instant)>,
    /// The line's BYEs not yet answered, by Call-ID.
    byes: HashMap<String, watch::Sender<bool>>,
    /// Where a call's task says its dialogue is over.
    ended: mpsc::Sender<String>,
    tasks: JoinSet<()>,
}

impl Line {
    async fn serve(mut self, mut ends: mpsc::Receiver<String>) {
        let mut datagram = vec![0u8; sip::MAX_DATAGRAM];
        let mut sweep = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                received = self.socket.recv_from(&mut datagram) => {
                    match received {
                        Ok((length, from)) => self.take(&datagram[..length], from).await,
                        // An ICMP error from an earlier send, for instance.
                        Err(e) => tracing::debug!(error = %e, "voice line receive failed"),
                    }
                }
                Some(call_id) = ends.recv() => self.hang_up(&call_id).await,
                _ = sweep.tick() => {
                    self.kept.retain(|_, (_, at)| at.elapsed() < TRANSACTION_KEPT);
                    while self.tasks.try_join_next().is_some() {}
                }
            }
        }
    }

    async fn send(&self, bytes: &[u8], to: SocketAddr) {
        if let Err(e) = self.socket.send_to(bytes, to).await {
            tracing::debug!(error = %e, %to, "voice line send failed");
        }
    }

    /// Answers `request` with a final response kept for its retransmissions.
    async fn answer_final(&mut self, request: &Request, from: SocketAddr, response: Vec<u8>) {
        self.send(&response, from).await;
        if self.kept.len() >= MAX_KEPT {
            self.kept
                .retain(|_, (_, at)| at.elapsed() < TRANSACTION_KEPT);
            if self.kept.len() >= MAX_KEPT {
                self.kept.clear();
            }
        }
        let key = transaction(request);
        self.kept.insert(key, (response, Instant::now()));
    }

    /// Answers `request` 200, with `extra` headers and no body.
    async fn accept(&mut self, request: &Request, from: SocketAddr, extra: &[(&str, String)]) {
        let ok = sip::response(&request.headers, 200, None, extra, None);
        self.answer_final(request, from, ok).await;
    }

    async fn refuse(&mut self, request: &Request, from: SocketAddr, code: u16, why: &str) {
        let mut extra = vec![(
            "Warning",
            format!("399 clearinghouse \"{}\"", why.replace('"', "'")),
        )];
        if code == 405 || code == 501 {
            extra.push(("Allow", sip::ALLOW.to_owned()));
        }
        if code == 415 || code == 488 {
            extra.push(("Accept", ACCEPT.to_owned()));
        }
        let response = sip::response(&request.headers, code, None, &extra, None);
        self.answer_final(request, from, response).await;
    }

    async fn take(&mut self, bytes: &[u8], from: SocketAddr) {
        // A keep-alive (an empty line or two) is not a message.
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        let request = match sip::parse(bytes) {
            Ok(Message::Request(request)) => request,
            Ok(Message::Response(response)) => {
                if response.method == Method::BYE
                    && response.code >= 200
                    && let Some(answered) = self.byes.remove(&response.call_id)
                {
                    let _ = answered.send(true);
                }
                return;
            }
            Err(unreadable) => {
                tracing::debug!(error = %unreadable.error, %from, "unreadable SIP message");
                // An ACK is never answered, not even a malformed one.
                let ack = bytes.starts_with(b"ACK ");
                if let Some(head) = unreadable.request_head.filter(|_| !ack) {
                    let why = unreadable.error.to_string().replace('"', "'");
                    let response = sip::response(
                        &head,
                        400,
                        None,
                        &[("Warning", format!("399 clearinghouse \"{why}\""))],
                        None,
                    );
                    self.send(&response, from).await;
                }
                return;
            }
        };
        let key = transaction(&request);
        if let Some((response, _)) = self.kept.get(&key) {
            let response = response.clone();
            self.send(&response, from).await;
            return;
        }
        match request.method {
            Method::INVITE if request.to_tag.is_none() => self.invite(&request, from).await,
            Method::INVITE => self.reinvite(&request, from).await,
            Method::ACK => {
                if let Some(call) = dialog_of(&self.calls, &request) {
                    let _ = call.acked.send(true);
                }
            }
            Method::BYE => self.bye(&request, from).await,
            Method::CANCEL => self.cancel(&request, from).await,
            Method::OPTIONS => {
                let extra = [
                    ("Allow", sip::ALLOW.to_owned()),
                    ("Accept", ACCEPT.to_owned()),
                    ("Accept-Language", "en".to_owned()),
                ];
                self.accept(&request, from, &extra).await;
            }
            Method::INFO => self.info(&request, from).await,
            Method::REGISTER
            | Method::SUBSCRIBE
            | Method::NOTIFY
            | Method::MESSAGE
            | Method::REFER
            | Method::UPDATE
            | Method::PRACK
            | Method::PUBLISH => {
                let why = format!("{} is not taken here: call {}", request.method, LINE_USER);
                self.refuse(&request, from, 405, &why).await;
            }
            _ => {
                let why = format!("{} is not a method this line knows", request.method);
                self.refuse(&request, from, 501, &why).await;
            }
        }
    }

    /// A new call.
    async fn invite(&mut self, request: &Request, from: SocketAddr) {
        if let Some(call) = self.calls.get(&request.call_id) {
            // The same INVITE again, its answer lost: answer it again.
            if call.invite.0 == request.branch {
                let answer = call.invite.1.clone();
                self.send(&answer, from).await;
            } else {
                self.refuse(request, from, 400, "this Call-ID is in use by another call")
                    .await;
            }
            return;
        }
        let trying = sip::response(&request.headers, 100, None, &[], None);
        self.send(&trying, from).await;
        let given = match self.callee(request) {
            Ok(given) => given,
            Err(why) => return self.refuse(request, from, 404, &why).await,
        };
        let settings = self.board.settings().clone();
        if self.calls.len() >= settings.max_calls {
            let why = "all our representatives are on other calls; please call again";
            return self.refuse(request, from, 486, why).await;
        }
        let held = self.per_address.get(&from.ip()).copied().unwrap_or(0);
        if held >= settings.calls_per_address {
            let why = format!(
                "your address holds {held} calls already, as many as one caller may; hang up one of them and call again"
            );
            return self.refuse(request, from, 486, &why).await;
        }
        let media = match offer(request) {
            Ok(media) => media,
            Err((code, why)) => return self.refuse(request, from, code, &why).await,
        };
        let here = self.advertised(request, from);
        let socket = match UdpSocket::bind(SocketAddr::new(self.local.ip(), 0)).await {
            Ok(socket) => socket,
            Err(e) => {
                tracing::warn!(error = %e, "no RTP port for a call");
                let why = "no port is free for the call's audio";
                return self.refuse(request, from, 503, why).await;
            }
        };
        let rtp = match socket.local_addr() {
            Ok(rtp) => SocketAddr::new(here.ip(), rtp.port()),
            Err(_) => {
                return self
                    .refuse(request, from, 503, "no port for the call's audio")
                    .await;
            }
        };
        let tag = new_tag();
        let session: u64 = rand::random::<u32>().into();
        let answer = self.ok(request, &tag, &media, rtp, session, 1);
        self.send(&answer, from).await;

        let (acked, acks) = watch::channel(false);
        let (over, overs) = watch::channel(false);
        let (keys, keyed) = mpsc::channel(KEYS_WAITING);
        let media = Arc::new(Mutex::new(media));
        let playout = Arc::new(Playout::default());
        let call_id = request.call_id.clone();
        self.retransmit(answer.clone(), from, acks, call_id.clone());
        let pump = Pump {
            socket,
            media: media.clone(),
            playout: playout.clone(),
            keys: keys.clone(),
            ended: overs.clone(),
            pace: settings.voice_pace,
        };
        let voice = VoiceLine {
            speaker: self.speaker.clone(),
            playout: playout.clone(),
            keys: keyed,
            hung_up: overs,
            idle: settings.idle_timeout,
            given,
            address: format!(
                "sip:{}@{here}",
                request.user.as_deref().unwrap_or(LINE_USER),
            ),
            asking: None,
            transcript: Vec::new(),
        };
        let board = self.board.clone();
        let ended = self.ended.clone();
        let ending = call_id.clone();
        self.tasks.spawn(pump.run());
        self.tasks.spawn(async move {
            let mut voice = voice;
            let _ = board.hold(&mut voice).await;
            // Let the goodbye be heard before hanging up.
            tokio::time::sleep(call::drain_time(&playout, settings.voice_pace)).await;
            let _ = ended.send(ending).await;
        });
        *self.per_address.entry(from.ip()).or_default() += 1;
        self.calls.insert(
            call_id,
            Active {
                caller: from,
                caller_tag: request.from_tag.clone(),
                dialog: sip::Dialog::of(request, &tag, here),
                tag,
                invite: (request.branch.clone(), answer),
                acked,
                keys,
                over,
                media,
                rtp,
                version: 1,
                session,
            },
        );
    }

    /// The line's address as the caller at `from` should see it: its own, or, when it
    /// listens on every interface, the address the caller dialled, or (a name was dialled)
    /// the one this machine sends from to reach the caller.
    fn advertised(&self, request: &Request, from: SocketAddr) -> SocketAddr {
        let towards = || {
            let probe = std::net::UdpSocket::bind(SocketAddr::new(self.local.ip(), 0)).ok()?;
            probe.connect(from).ok()?;
            Some(probe.local_addr().ok()?.ip())
        };
        let ip = match request.host {
            _ if !self.local.ip().is_unspecified() => self.local.ip(),
            Some(dialled) if !dialled.is_unspecified() => dialled,
            _ => towards().unwrap_or(IpAddr::from([127, 0, 0, 1])),
        };
        SocketAddr::new(ip, self.local.port())
    }

    /// The 200 answering an INVITE with `media` at `rtp` (the call's audio as the caller
    /// reaches it; the line's signalling is at the same address).
    fn ok(
        &self,
        request: &Request,
        tag: &str,
        media: &sdp::Media,
        rtp: SocketAddr,
        session: u64,
        version: u64,
    ) -> Vec<u8> {
        let body = sdp::answer(media, rtp, session, version);
        let extra = [
            (
                "Contact",
                format!(
                    "<sip:{LINE_USER}@{}>",
                    SocketAddr::new(rtp.ip(), self.local.port())
                ),
            ),
            ("Allow", sip::ALLOW.to_owned()),
        ];
        sip::response(
            &request.headers,
            200,
            Some(tag),
            &extra,
            Some(("application/sdp", &body)),
        )
    }

    /// Resends `answer` until it is acknowledged, as RFC 3261 §13.3.1.4 says; a call whose
    /// answer is never acknowledged is ended.
    fn retransmit(
        &mut self,
        answer: Vec<u8>,
        to: SocketAddr,
        mut acks: watch::Receiver<bool>,
        call_id: String,
    ) {
        let socket = self.socket.clone();
        let ended = self.ended.clone();
        self.tasks.spawn(async move {
            // Acknowledged, or no longer waited for (the call ended, or a newer offer
            // replaced this answer): either way, done.
            if !resend(&socket, &answer, to, &mut acks).await {
                tracing::info!(
                    call_id,
                    "the caller never acknowledged the answer; the call ends"
                );
                let _ = ended.send(call_id).await;
            }
        });
    }

    /// The answers the INVITE itself carries: the tenant (or number) dialled, and the
    /// caller's name as their telephone sends it. An error when the callee is unknown.
    fn callee(&self, request: &Request) -> Result<HashMap<String, String>, String> {
        let mut given = HashMap::new();
        match request.user.as_deref() {
            None | Some(LINE_USER) => {
                given.insert("tenant".to_owned(), String::new());
            }
            Some(number) if self.board.book().dialled(number).is_some() => {
                given.insert("tenant".to_owned(), String::new());
                given.insert("number".to_owned(), number.to_owned());
            }
            Some(user) => {
                let tenant = TenantName::parse(user).map_err(|e| {
                    format!("{user:?} is not a tenant's name ({e}); call {LINE_USER}")
                })?;
                match self.board.ledger().tenant_state(&tenant) {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(format!(
                            "there is no tenant {tenant}; call {LINE_USER} or a tenant's name"
                        ));
                    }
                    Err(e) => return Err(e.to_string()),
                }
                given.insert("tenant".to_owned(), user.to_owned());
            }
        }
        let organization = request
            .header(&Name::ORGANIZATION)
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty());
        let name = request.caller_name.clone().or_else(|| {
            request
                .caller_user
                .clone()
                .filter(|u| u.chars().all(char::is_alphabetic))
        });
        if let Some(name) = name {
            let words: Vec<&str> = name.split_whitespace().collect();
            let (first, last) = match words.split_last() {
                Some((last, first)) if !first.is_empty() => (first.join(" "), (*last).to_owned()),
                _ => (name.clone(), name.clone()),
            };
            given.insert("first_name".to_owned(), first);
            given.insert("last_name".to_owned(), last);
            given.insert("company".to_owned(), organization.clone().unwrap_or(name));
        } else if let Some(organization) = organization {
            given.insert("company".to_owned(), organization);
        }
        Ok(given)
    }

    /// A new offer in a call: its audio moves, is held, or comes back.
    async fn reinvite(&mut self, request: &Request, from: SocketAddr) {
        let Some(call) = dialog_of(&self.calls, request) else {
            return self.refuse(request, from, 481, "no such call").await;
        };
        if call.invite.0 == request.branch {
            let answer = call.invite.1.clone();
            return self.send(&answer, from).await;
        }
        let media = match offer(request) {
            Ok(media) => media,
            Err((code, why)) => return self.refuse(request, from, code, &why).await,
        };
        let (tag, rtp, session, version) =
            (call.tag.clone(), call.rtp, call.session, call.version + 1);
        let answer = self.ok(request, &tag, &media, rtp, session, version);
        self.send(&answer, from).await;
        let (acked, acks) = watch::channel(false);
        self.retransmit(answer.clone(), from, acks, request.call_id.clone());
        if let Some(call) = self.calls.get_mut(&request.call_id) {
            *call.media.lock().unwrap_or_else(|e| e.into_inner()) = media;
            call.version = version;
            call.invite = (request.branch.clone(), answer);
            call.acked = acked;
        }
    }

    async fn bye(&mut self, request: &Request, from: SocketAddr) {
        if dialog_of(&self.calls, request).is_none() {
            return self.refuse(request, from, 481, "no such call").await;
        }
        self.accept(request, from, &[]).await;
        self.remove(&request.call_id);
    }

    /// A CANCEL of an INVITE. The line answers every INVITE at once, so the INVITE has its
    /// final answer already, and the CANCEL changes nothing (RFC 3261 §9.2): the caller
    /// hangs up with a BYE.
    async fn cancel(&mut self, request: &Request, from: SocketAddr) {
        let found = self
            .calls
            .get(&request.call_id)
            .is_some_and(|call| call.invite.0 == request.branch);
        if found {
            self.accept(request, from, &[]).await;
        } else {
            self.refuse(request, from, 481, "no INVITE to cancel").await;
        }
    }

    /// Keys sent as SIP INFO, as SIPp and some softphones do.
    async fn info(&mut self, request: &Request, from: SocketAddr) {
        let Some(call) = dialog_of(&self.calls, request) else {
            return self.refuse(request, from, 481, "no such call").await;
        };
        let content_type = request
            .header(&Name::CONTENT_TYPE)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&request.body);
        let key = match content_type.split(';').next().unwrap_or_default().trim() {
            "application/dtmf-relay" => body
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("signal"))
                .and_then(|(_, value)| signal(value.trim())),
            "application/dtmf" => signal(body.trim()),
            "" if request.body.is_empty() => {
                // An empty INFO keeps a call alive.
                return self.accept(request, from, &[]).await;
            }
            other => {
                let why =
                    format!("INFO of type {other:?} is not taken: send application/dtmf-relay");
                return self.refuse(request, from, 415, &why).await;
            }
        };
        let Some(key) = key else {
            return self
                .refuse(
                    request,
                    from,
                    400,
                    "the INFO names no key (Signal=0-9, *, #)",
                )
                .await;
        };
        // A caller keying faster than the dialogue reads loses keys, not the line.
        let _ = call.keys.try_send(key);
        self.accept(request, from, &[]).await;
    }

    /// The call `call_id` is over: if the caller is still on, the line hangs up.
    async fn hang_up(&mut self, call_id: &str) {
        let Some(call) = self.remove(call_id) else {
            return;
        };
        let (answered, answers) = watch::channel(false);
        self.byes.insert(call_id.to_owned(), answered);
        let socket = self.socket.clone();
        let to = call.caller;
        let bye = call.dialog.bye(1, &new_tag());
        self.tasks.spawn(async move {
            let mut answers = answers;
            let _ = socket.send_to(&bye, to).await;
            // Answered, or forgotten (the line keeps only so many BYEs): done either way.
            resend(&socket, &bye, to, &mut answers).await;
        });
        // Forget BYEs never answered.
        if self.byes.len() > MAX_KEPT {
            self.byes.clear();
        }
    }

    /// Forgets call `call_id`, ending its dialogue and audio if they still run.
    fn remove(&mut self, call_id: &str) -> Option<Active> {
        let call = self.calls.remove(call_id)?;
        let _ = call.over.send(true);
        if let Some(held) = self.per_address.get_mut(&call.caller.ip()) {
            *held -= 1;
            if *held == 0 {
                self.per_address.remove(&call.caller.ip());
            }
        }
        Some(call)
    }
}

/// Resends `message` (sent once already) to `to` as RFC 3261's timers say, T1 doubling up
/// to T2, until `answered` is set or dropped; whether it was, within 64 × T1.
async fn resend(
    socket: &UdpSocket,
    message: &[u8],
    to: SocketAddr,
    answered: &mut watch::Receiver<bool>,
) -> bool {
    let begun = tokio::time::Instant::now();
    let mut wait = T1;
    loop {
        // Only whether: the watch's guard must not be held across the send below.
        if tokio::time::timeout(wait, answered.wait_for(|a| *a))
            .await
            .is_ok()
        {
            return true;
        }
        if begun.elapsed() >= TRANSACTION_KEPT {
            return false;
        }
        let _ = socket.send_to(message, to).await;
        wait = (wait * 2).min(T2);
    }
}

/// The call that in-dialog `request` belongs to: its Call-ID and both tags must match.
fn dialog_of<'a>(calls: &'a HashMap<String, Active>, request: &Request) -> Option<&'a Active> {
    calls.get(&request.call_id).filter(|call| {
        call.caller_tag == request.from_tag && request.to_tag.as_deref() == Some(call.tag.as_str())
    })
}

/// The media an INVITE offers, or the code and reason to refuse it with.
fn offer(request: &Request) -> Result<sdp::Media, (u16, String)> {
    let content_type = request.header(&Name::CONTENT_TYPE).unwrap_or_default();
    if request.body.is_empty() {
        return Err((
            488,
            "offer your audio in the INVITE (an SDP body)".to_owned(),
        ));
    }
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/sdp")
    {
        return Err((415, format!("a body of type {content_type:?} is not SDP")));
    }
    sdp::read_offer(&request.body).map_err(|e: SdpError| (488, e.to_string()))
}

/// The key a dtmf-relay signal names: a digit, `*`, `#`, A–D, or 10 and 11 for `*` and `#`.
fn signal(value: &str) -> Option<char> {
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        _ => {
            let mut chars = value.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Some(c),
                (Some(c), None) if ('A'..='D').contains(&c.to_ascii_uppercase()) => {
                    Some(c.to_ascii_uppercase())
                }
                _ => None,
            }
        }
    }
}

/// The transaction a request belongs to, for answering its retransmissions: its branch,
/// with its Call-ID for a client too old to make branches unique (RFC 2543's have none),
/// and its method, as a CANCEL shares its INVITE's branch.
fn transaction(request: &Request) -> String {
    format!("{}|{}|{}", request.branch, request.call_id, request.method)
}

/// A fresh tag or branch.
fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dtmf_relay_signal_names_a_key() {
        assert_eq!(signal("5"), Some('5'));
        assert_eq!(signal("#"), Some('#'));
        assert_eq!(signal("11"), Some('#'));
        assert_eq!(signal("10"), Some('*'));
        assert_eq!(signal("b"), Some('B'));
        assert_eq!(signal("55"), None);
        assert_eq!(signal(""), None);
        assert_eq!(signal("x"), None);
    }
}
