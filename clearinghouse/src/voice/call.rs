//! One voice call: its audio out (the representative's prompts, synthesized and paced as
//! RTP, 20 ms a packet), its keys in (telephone events in RTP, or SIP INFO), and the
//! representative's dialogue held over them ([`VoiceLine`], a [`Medium`] answered on the
//! keypad).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::audio::{FRAME, RATE};
use super::rtp::{self, Event, Header};
use super::sdp::Media;
use super::speech::Speaker;
use crate::phone::{Answers, Ended, Medium, Recording, Tag};
use shared::wire::{CallMedium, Party, TranscriptLine};

/// The pause after each thing the representative says.
const PAUSE: Duration = Duration::from_millis(300);
/// The most keys taken before `#`: more than any answer needs.
const MAX_KEYS: usize = 32;
/// How many key presses back a repeated event packet is recognised.
const RECENT_EVENTS: usize = 8;
/// One packet's worth of time.
const PACKET: Duration = Duration::from_millis(20);

/// A clip waiting to be sent: its samples, how many are sent, and whether it is a thing
/// said (rather than a pause).
type Clip = (Arc<[i16]>, usize, bool);

/// The audio waiting to be sent, in order.
#[derive(Default)]
pub struct Playout {
    queue: Mutex<VecDeque<Clip>>,
}

/// What a frame of the playout holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    /// Some queued audio (else only silence).
    audio: bool,
    /// The start of a thing said: its packet is marked, so a listener can tell prompts
    /// apart without hearing them.
    starts: bool,
}

impl Playout {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Clip>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `samples`, a thing said, after what is already waiting.
    pub fn push(&self, samples: Arc<[i16]>) {
        if !samples.is_empty() {
            self.queue().push_back((samples, 0, true));
        }
    }

    /// Drops what is waiting: the caller asked to hear the question again.
    pub fn clear(&self) {
        self.queue().clear();
    }

    /// Queues `length` of silence.
    pub fn pause(&self, length: Duration) {
        let samples = (length.as_millis() as usize) * RATE as usize / 1000;
        if samples > 0 {
            self.queue().push_back((vec![0; samples].into(), 0, false));
        }
    }

    /// Fills `frame` with the next 20 ms, silence where nothing waits.
    fn next_frame(&self, frame: &mut [i16; FRAME]) -> Frame {
        let mut queue = self.queue();
        let mut filled = 0;
        let mut starts = false;
        while filled < FRAME {
            let Some((samples, at, said)) = queue.front_mut() else {
                break;
            };
            starts |= *said && *at == 0;
            let n = (samples.len() - *at).min(FRAME - filled);
            frame[filled..filled + n].copy_from_slice(&samples[*at..*at + n]);
            *at += n;
            filled += n;
            if *at == samples.len() {
                queue.pop_front();
            }
        }
        frame[filled..].fill(0);
        Frame {
            audio: filled > 0,
            starts,
        }
    }

    /// How long what is waiting takes to play.
    pub fn remaining(&self) -> Duration {
        let samples: usize = self.queue().iter().map(|(s, at, _)| s.len() - at).sum();
        Duration::from_millis((samples as u64) * 1000 / u64::from(RATE))
    }
}

/// The RTP side of a call: sends the playout on schedule, and reads the caller's keys.
pub struct Pump {
    /// The call's RTP socket.
    pub socket: UdpSocket,
    /// The media as last negotiated: a re-INVITE moves or holds the call's audio.
    pub media: Arc<Mutex<Media>>,
    /// What to send.
    pub playout: Arc<Playout>,
    /// Where the keys read go.
    pub keys: mpsc::Sender<char>,
    /// Set when the call ends.
    pub ended: watch::Receiver<bool>,
    /// The time between two packets: 20 ms, their length, in real time.
    pub pace: Duration,
}

impl Pump {
    /// Runs until the call ends.
    pub async fn run(self) {
        let mut ticks = tokio::time::interval(self.pace);
        // A late tick is made up at once, so the caller's jitter buffer never runs dry.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut header = Header {
            payload_type: 0,
            marker: true,
            sequence: rand::random(),
            timestamp: rand::random(),
            ssrc: rand::random(),
        };
        let mut frame = [0i16; FRAME];
        let mut buffer = [0u8; 1500];
        // The timestamps of the last few key presses: a late packet of the one before the
        // last must not count it again.
        let mut recent_events: VecDeque<u32> = VecDeque::with_capacity(RECENT_EVENTS);
        let mut wrong_sources = 0u64;
        let mut ended = self.ended.clone();
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    let (listens, codec, payload_type, remote) = self.media(|m| {
                        (m.direction.caller_listens(), m.codec, m.payload_type, m.remote)
                    });
                    // A caller on hold hears nothing: what was to be said waits, and the
                    // stream's clock goes on.
                    if listens {
                        header.marker = self.playout.next_frame(&mut frame).starts;
                        header.payload_type = payload_type;
                        let packet = header.packet(&codec.encode(&frame));
                        // A caller that is gone is the signalling's business, not the pump's.
                        let _ = self.socket.send_to(&packet, remote).await;
                    }
                    header.sequence = header.sequence.wrapping_add(1);
                    header.timestamp = header.timestamp.wrapping_add(FRAME as u32);
                }
                received = self.socket.recv_from(&mut buffer) => {
                    let Ok((length, from)) = received else { continue };
                    let (remote, events) = self.media(|m| (m.remote, m.events));
                    // Keys come from where the caller said its audio is, or not at all.
                    if from != remote {
                        wrong_sources += 1;
                        if wrong_sources == 1 {
                            tracing::debug!(%from, expected = %remote, "RTP from another address than the call's, ignored");
                        }
                        continue;
                    }
                    let Some((packet, payload)) = rtp::parse(&buffer[..length]) else { continue };
                    if Some(packet.payload_type) != events {
                        continue;
                    }
                    let Some(event) = Event::parse(payload) else { continue };
                    // Every packet of one key press carries the same timestamp, its end
                    // three times over: the key is taken once, on its first packet.
                    if !recent_events.contains(&packet.timestamp) {
                        if recent_events.len() == RECENT_EVENTS {
                            recent_events.pop_front();
                        }
                        recent_events.push_back(packet.timestamp);
                        // A caller keying faster than the dialogue reads loses keys; the
                        // audio goes on.
                        let _ = self.keys.try_send(event.key);
                    }
                }
                _ = ended.changed() => break,
            }
        }
    }

    /// What `read` takes from the media as last negotiated, read under its lock (many
    /// times a second: nothing is copied but what is needed).
    fn media<T>(&self, read: impl FnOnce(&Media) -> T) -> T {
        read(&self.media.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A voice call, as the representative holds it: prompts spoken, answers keyed.
pub struct VoiceLine {
    /// The voice.
    pub speaker: Arc<Speaker>,
    /// The audio waiting to be sent.
    pub playout: Arc<Playout>,
    /// The keys pressed, in order; closed when the caller hangs up.
    pub keys: mpsc::Receiver<char>,
    /// Set when the caller hangs up.
    pub hung_up: watch::Receiver<bool>,
    /// How long a caller may stay silent after a question has been said.
    pub idle: Duration,
    /// What the call carries (the tenant dialled, the caller's name), by slot.
    pub given: HashMap<String, String>,
    /// The address called.
    pub address: String,
    /// The slot of the last question asked.
    pub asking: Option<String>,
    /// What was said and keyed on the call, in order.
    pub transcript: Vec<TranscriptLine>,
}

impl VoiceLine {
    fn gone(&self) -> bool {
        *self.hung_up.borrow()
    }
}

impl Medium for VoiceLine {
    async fn say(&mut self, tag: Tag, slot: Option<&str>, text: &str) -> Result<(), Ended> {
        if self.gone() {
            return Err(Ended::HungUp { said: false });
        }
        if tag == Tag::Sorry {
            // Keys typed ahead were meant for questions that come later, and an answer
            // was refused: they would answer the wrong ones.
            while self.keys.try_recv().is_ok() {}
        }
        if tag == Tag::Ask {
            self.asking = slot.map(str::to_owned);
        }
        self.transcript.push(TranscriptLine {
            by: Party::Representative,
            text: text.to_owned(),
        });
        let spoken = speakable(text);
        let samples = self.speaker.speak(&spoken).await.map_err(|e| {
            tracing::warn!(error = %e, "the voice line cannot speak; the call ends");
            Ended::Lost
        })?;
        self.playout.push(samples);
        self.playout.pause(PAUSE);
        Ok(())
    }

    async fn hear(&mut self) -> Result<String, Ended> {
        // The caller's time to answer starts when the question has been said.
        let deadline = Instant::now() + self.playout.remaining() + self.idle;
        let mut keyed = String::new();
        let answer = loop {
            tokio::select! {
                key = self.keys.recv() => match key {
                    None => return Err(Ended::HungUp { said: false }),
                    Some('#') => break keyed,
                    Some('*') => {
                        self.playout.clear();
                        break "*".to_owned();
                    }
                    Some(_) if keyed.len() >= MAX_KEYS => {
                        return Err(Ended::Noise("more keys than any answer has"));
                    }
                    Some(key) => keyed.push(key),
                },
                _ = tokio::time::sleep_until(deadline) => return Err(Ended::Idle(self.idle)),
                _ = self.hung_up.changed() => return Err(Ended::HungUp { said: false }),
            }
        };
        let keyed = if answer == "*" {
            answer.clone()
        } else if self.asking.as_deref() == Some("seat_pin") {
            // A seat's token opens the seat: the journal does not keep it.
            "(the seat PIN)#".to_owned()
        } else {
            format!("{answer}#")
        };
        self.transcript.push(TranscriptLine {
            by: Party::Caller,
            text: keyed,
        });
        Ok(answer)
    }

    fn answers(&self) -> Answers {
        Answers::Keys
    }

    fn given(&self, slot: &str) -> Option<String> {
        self.given.get(slot).cloned()
    }

    fn recording(&self) -> Option<Recording> {
        Some(Recording {
            medium: CallMedium::Voice,
            address: self.address.clone(),
            transcript: self.transcript.clone(),
        })
    }
}

/// `text` as it is to be spoken: numbers of more than three digits read digit by digit
/// (an ID group is five digits, not "twelve thousand..."), the dashes between an ID's
/// groups a pause, and the keypad's signs named.
pub fn speakable(text: &str) -> String {
    let mut spoken = String::with_capacity(text.len() * 2);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let end = chars[i..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(chars.len(), |n| i + n);
            let run: String = chars[i..end].iter().collect();
            if run.len() > 3 {
                let digits: Vec<String> = run.chars().map(String::from).collect();
                spoken.push_str(&digits.join(" "));
            } else {
                spoken.push_str(&run);
            }
            i = end;
            continue;
        }
        match c {
            '-' if i > 0 && chars[i - 1].is_ascii_digit() => spoken.push_str(", "),
            '#' => spoken.push_str(" hash "),
            '*' => spoken.push_str(" star "),
            _ => spoken.push(c),
        }
        i += 1;
    }
    spoken
}

/// How long the playout takes to drain at `pace` a packet, before the line hangs up.
pub fn drain_time(playout: &Playout, pace: Duration) -> Duration {
    let packets = playout.remaining().as_millis() / PACKET.as_millis() + 2;
    pace * u32::try_from(packets).unwrap_or(u32::MAX)
}

/// The codec and direction a new call starts with, for a test of the pump.
#[cfg(test)]
fn media(remote: std::net::SocketAddr) -> Media {
    Media {
        codec: super::audio::Codec::Pcmu,
        payload_type: 0,
        proto: "RTP/AVP".to_owned(),
        offered: vec![("audio".to_owned(), "RTP/AVP".to_owned(), "0".to_owned())],
        audio: 0,
        events: Some(101),
        remote,
        direction: super::sdp::Direction::SendRecv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_read_digit_by_digit_and_short_ones_as_numbers() {
        assert_eq!(speakable("12345-67890"), "1 2 3 4 5, 6 7 8 9 0");
        assert_eq!(speakable("group 3 of 7"), "group 3 of 7");
        assert_eq!(speakable("press #"), "press  hash ");
    }

    #[test]
    fn the_playout_hands_out_frames_in_order_then_silence() {
        let playout = Playout::default();
        playout.push((1..=200).collect::<Vec<i16>>().into());
        let mut frame = [0i16; FRAME];
        let first = playout.next_frame(&mut frame);
        assert_eq!(
            first,
            Frame {
                audio: true,
                starts: true
            }
        );
        assert_eq!(frame[0], 1);
        assert_eq!(frame[FRAME - 1], FRAME as i16);
        let second = playout.next_frame(&mut frame);
        assert_eq!(
            second,
            Frame {
                audio: true,
                starts: false
            }
        );
        assert_eq!(frame[0], FRAME as i16 + 1);
        assert_eq!(frame[39], 200);
        assert_eq!(frame[40], 0);
        assert!(!playout.next_frame(&mut frame).audio);
        assert_eq!(playout.remaining(), Duration::ZERO);
    }

    #[test]
    fn each_thing_said_starts_a_marked_frame_and_pauses_do_not() {
        let playout = Playout::default();
        playout.push(vec![1; 100].into());
        playout.pause(Duration::from_millis(40));
        playout.push(vec![2; 100].into());
        let mut frame = [0i16; FRAME];
        assert!(
            playout.next_frame(&mut frame).starts,
            "the first thing said"
        );
        assert!(!playout.next_frame(&mut frame).starts, "the pause");
        assert!(
            playout.next_frame(&mut frame).starts,
            "the second thing said"
        );
        assert_eq!(frame[99], 0);
        assert_eq!(frame[100], 2);
        let mut quiet = Playout::default();
        quiet.pause(Duration::from_millis(40));
        assert!(!quiet.next_frame(&mut frame).starts);
        quiet = Playout::default();
        assert_eq!(
            quiet.next_frame(&mut frame),
            Frame {
                audio: false,
                starts: false
            }
        );
    }

    #[test]
    fn the_playout_says_how_long_it_has_left() {
        let playout = Playout::default();
        playout.pause(Duration::from_millis(300));
        assert_eq!(playout.remaining(), Duration::from_millis(300));
    }

    #[tokio::test]
    async fn the_pump_sends_a_packet_every_20_ms_and_takes_keys_from_the_callers_address_only() {
        let caller = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let line = socket.local_addr().unwrap();
        let (keys, mut keyed) = mpsc::channel(8);
        let (end, ended) = watch::channel(false);
        let pump = Pump {
            socket,
            media: Arc::new(Mutex::new(media(caller.local_addr().unwrap()))),
            playout: Arc::new(Playout::default()),
            keys,
            ended,
            pace: PACKET,
        };
        let running = tokio::spawn(pump.run());
        let mut buffer = [0u8; 1500];
        let (n, _) = caller.recv_from(&mut buffer).await.unwrap();
        assert_eq!(n, rtp::HEADER + FRAME);
        let event = |key, timestamp| {
            Header {
                payload_type: 101,
                marker: true,
                sequence: 1,
                timestamp,
                ssrc: 9,
            }
            .packet(
                &Event {
                    key,
                    end: false,
                    duration: 160,
                }
                .payload(),
            )
        };
        stranger.send_to(&event('9', 1), line).await.unwrap();
        caller.send_to(&event('5', 2), line).await.unwrap();
        caller.send_to(&event('5', 2), line).await.unwrap();
        caller.send_to(&event('#', 3), line).await.unwrap();
        // A late end packet of the key before: not a key of its own.
        caller.send_to(&event('5', 2), line).await.unwrap();
        caller.send_to(&event('7', 4), line).await.unwrap();
        assert_eq!(keyed.recv().await, Some('5'));
        assert_eq!(keyed.recv().await, Some('#'));
        assert_eq!(keyed.recv().await, Some('7'));
        end.send(true).unwrap();
        running.await.unwrap();
    }
}
