//! The voice phase of the load bench: calls to the voice line, each on a thread of its own
//! with plain blocking sockets (so what is measured is the line's pacing, not this
//! process's scheduling), timing the line's RTP packets as they arrive.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One packet every 20 ms.
const PACKET: Duration = Duration::from_millis(20);

/// A call answered by the line.
struct Call {
    sip: UdpSocket,
    rtp: UdpSocket,
    line: SocketAddr,
    call_id: String,
    /// The line's To, with its tag.
    to: String,
}

/// Calls `line` from `from` (a loopback address: the line takes at most 16 calls from one).
fn invite(line: SocketAddr, from: std::net::IpAddr) -> Result<(Call, Instant), String> {
    let sip = UdpSocket::bind((from, 0)).map_err(|e| e.to_string())?;
    let rtp = UdpSocket::bind((from, 0)).map_err(|e| e.to_string())?;
    sip.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    rtp.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let here = sip.local_addr().map_err(|e| e.to_string())?;
    let port = rtp.local_addr().map_err(|e| e.to_string())?.port();
    let call_id = format!("{:016x}@bench", rand::random::<u64>());
    let sdp = format!(
        "v=0\r\no=bench 1 1 IN IP4 {from}\r\ns=-\r\nc=IN IP4 {from}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let invite = format!(
        "INVITE sip:clearinghouse@{line} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bK{call_id}\r\nFrom: \"Bench Caller\" <sip:bench@{here}>;tag=bench\r\nTo: <sip:clearinghouse@{line}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:bench@{here}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let sent = Instant::now();
    sip.send_to(invite.as_bytes(), line)
        .map_err(|e| e.to_string())?;
    let mut buffer = [0u8; 4096];
    let to = loop {
        let n = sip
            .recv(&mut buffer)
            .map_err(|e| format!("no answer: {e}"))?;
        let answer = String::from_utf8_lossy(&buffer[..n]).to_string();
        if answer.starts_with("SIP/2.0 1") {
            continue;
        }
        if !answer.starts_with("SIP/2.0 200") {
            return Err(answer.lines().next().unwrap_or_default().to_owned());
        }
        break answer
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .to_owned();
    };
    let call = Call {
        sip,
        rtp,
        line,
        call_id,
        to,
    };
    call.send("ACK", 1)?;
    Ok((call, sent))
}

impl Call {
    fn send(&self, method: &str, cseq: u32) -> Result<(), String> {
        let here = self.sip.local_addr().map_err(|e| e.to_string())?;
        let request = format!(
            "{method} sip:clearinghouse@{line} SIP/2.0\r\nVia: SIP/2.0/UDP {here};branch=z9hG4bK{:x}\r\nFrom: \"Bench Caller\" <sip:bench@{here}>;tag=bench\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            rand::random::<u64>(),
            line = self.line,
            to = self.to,
            call_id = self.call_id,
        );
        self.sip
            .send_to(request.as_bytes(), self.line)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The next RTP packet's sequence number, whether it starts something said (its
    /// marker bit), and when it arrived.
    fn packet(&self) -> Option<(u16, bool, Instant)> {
        let mut buffer = [0u8; 1500];
        let n = self.rtp.recv(&mut buffer).ok()?;
        let at = Instant::now();
        (n >= 12).then(|| {
            let sequence = u16::from_be_bytes([buffer[2], buffer[3]]);
            (sequence, buffer[1] & 0x80 != 0, at)
        })
    }

    fn hang_up(self) {
        let _ = self.send("BYE", 2);
        let mut buffer = [0u8; 2048];
        let _ = self.sip.recv(&mut buffer);
    }
}

/// For `calls` calls one after another: the time from sending the INVITE to the first
/// packet of the greeting (the first marked packet; silence may come before it).
pub fn first_audio(line: SocketAddr, calls: usize) -> Vec<Duration> {
    (0..calls)
        .filter_map(|_| {
            let (call, sent) = invite(line, [127, 0, 0, 1].into()).ok()?;
            let first = loop {
                let (_, marked, at) = call.packet()?;
                if marked {
                    break at;
                }
            };
            call.hang_up();
            Some(first - sent)
        })
        .collect()
}

/// What a held call heard.
pub struct Heard {
    /// Packets received.
    pub packets: u64,
    /// Packets the sequence numbers say were sent in that time but never arrived.
    pub lost: u64,
    /// How late each packet was behind its schedule: the 20 ms grid anchored where the
    /// call's packets came earliest.
    pub lateness: Vec<Duration>,
}

/// Calls held open, each on its own thread, until stopped.
pub struct Held {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<Heard, String>>>,
}

/// Holds `calls` calls to `line` at once, listening to each.
pub fn hold(line: SocketAddr, calls: usize) -> Held {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready, answered) = std::sync::mpsc::channel();
    let threads = (0..calls)
        .map(|n| {
            let (stop, ready) = (stop.clone(), ready.clone());
            // Sixteen callers to an address, as sixteen people behind one office's router.
            let from = std::net::IpAddr::from([127, 0, 1, 1 + (n / 16) as u8]);
            std::thread::spawn(move || {
                let (call, _) = invite(line, from)?;
                let _ = ready.send(());
                let mut arrivals = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Some((sequence, _, at)) = call.packet() {
                        arrivals.push((sequence, at));
                    }
                }
                call.hang_up();
                Ok(heard(&arrivals))
            })
        })
        .collect();
    for _ in 0..calls {
        if answered.recv_timeout(Duration::from_secs(10)).is_err() {
            break;
        }
    }
    Held { stop, threads }
}

impl Held {
    /// Hangs every call up; what each heard, or why it failed.
    pub fn hang_up(self) -> Vec<Result<Heard, String>> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err("a caller panicked".into())))
            .collect()
    }
}

/// The lateness of each packet of `arrivals` (sequence number, arrival).
fn heard(arrivals: &[(u16, Instant)]) -> Heard {
    let Some(&(first_seq, first_at)) = arrivals.first() else {
        return Heard {
            packets: 0,
            lost: 0,
            lateness: Vec::new(),
        };
    };
    // Each packet's place in the stream, and when it came relative to the first.
    let placed: Vec<(u64, f64)> = arrivals
        .iter()
        .map(|&(seq, at)| {
            let index = u64::from(seq.wrapping_sub(first_seq));
            (index, (at - first_at).as_secs_f64())
        })
        .collect();
    let step = PACKET.as_secs_f64();
    let anchor = placed
        .iter()
        .map(|(i, t)| t - *i as f64 * step)
        .fold(f64::INFINITY, f64::min);
    let lateness = placed
        .iter()
        .map(|(i, t)| Duration::from_secs_f64((t - anchor - *i as f64 * step).max(0.0)))
        .collect();
    let span = placed.last().map_or(0, |(i, _)| i + 1);
    Heard {
        packets: arrivals.len() as u64,
        lost: span.saturating_sub(arrivals.len() as u64),
        lateness,
    }
}
