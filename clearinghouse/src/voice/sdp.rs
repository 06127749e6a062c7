//! The offer and answer of a call's media (SDP, RFC 3264): the caller offers codecs and
//! where to send its audio; the answer picks G.711 (PCMU or PCMA, in the caller's order
//! of preference), keeps the caller's payload type for keypad events (RFC 4733), and says
//! where the call's own RTP port is.

use std::net::{IpAddr, SocketAddr};

use sdp_types::Session;
use thiserror::Error;

use super::audio::Codec;

/// Why an offer cannot be answered; the call is refused with 488 (Not Acceptable Here).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SdpError {
    /// The body is not SDP.
    #[error("the session description does not parse: {0}")]
    Unparsable(String),
    /// No audio stream is offered (or only a rejected one, port 0).
    #[error("no audio stream is offered: offer one (m=audio) on a port other than 0")]
    NoAudio,
    /// The audio is offered over another transport than plain RTP (SRTP, for instance).
    #[error("audio over {0} is not supported: offer RTP/AVP")]
    Transport(String),
    /// Neither G.711 codec is offered.
    #[error("none of the offered codecs ({0}) is supported: offer PCMU or PCMA at 8000 Hz")]
    Codec(String),
    /// No address to send the audio to.
    #[error("the offer gives no address for its audio: give one in a c= line")]
    NoAddress,
}

/// Which way audio flows, as the caller offered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Both ways.
    SendRecv,
    /// The caller only sends: it holds the call, and hears nothing.
    SendOnly,
    /// The caller only listens.
    RecvOnly,
    /// Neither way.
    Inactive,
}

impl Direction {
    /// Whether the call's audio reaches the caller.
    pub fn caller_listens(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction of the answer: the offer's, seen from the other side.
    fn answered(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "recvonly",
            Direction::RecvOnly => "sendonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// What an offer settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The codec the call's audio is sent in.
    pub codec: Codec,
    /// The payload type the offer gave that codec (0 or 8, or a dynamic one it mapped).
    pub payload_type: u8,
    /// The transport of the audio line, answered as offered (`RTP/AVP` or `RTP/AVPF`).
    pub proto: String,
    /// Every media line of the offer, in order (its media, transport and first format),
    /// and which of them is the call's audio: the answer has as many lines, in the same
    /// order, the others refused with port 0 (RFC 3264 §6).
    pub offered: Vec<(String, String, String)>,
    /// The index of the audio line in `offered`.
    pub audio: usize,
    /// The payload type the caller's keypad events come in, if it offered them.
    pub events: Option<u8>,
    /// Where the caller receives audio; it is expected to send from there too.
    pub remote: SocketAddr,
    /// Which way audio flows.
    pub direction: Direction,
}

/// The payload type an offer gives a codec: from its `rtpmap`, or the static one.
fn offered_type(media: &sdp_types::Media, encoding: &str) -> Option<u8> {
    let formats: Vec<u8> = media
        .fmt
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let mapped = media
        .attributes
        .iter()
        .filter(|a| a.attribute.eq_ignore_ascii_case("rtpmap"))
        .filter_map(|a| a.value.as_deref())
        .filter_map(|v| {
            let (pt, name) = v.split_once(' ')?;
            Some((
                pt.trim().parse::<u8>().ok()?,
                name.trim().to_ascii_lowercase(),
            ))
        })
        .find(|(pt, name)| formats.contains(pt) && name.starts_with(encoding));
    mapped.map(|(pt, _)| pt)
}

/// Reads the offer in `body`: the first audio stream, its best codec, its keypad events.
pub fn read_offer(body: &[u8]) -> Result<Media, SdpError> {
    let session = Session::parse(body).map_err(|e| SdpError::Unparsable(e.to_string()))?;
    let (index, audio) = session
        .medias
        .iter()
        .enumerate()
        .find(|(_, m)| m.media == "audio" && m.port != 0)
        .ok_or(SdpError::NoAudio)?;
    if !audio.proto.eq_ignore_ascii_case("RTP/AVP") && !audio.proto.eq_ignore_ascii_case("RTP/AVPF")
    {
        return Err(SdpError::Transport(audio.proto.clone()));
    }
    let offered: Vec<&str> = audio.fmt.split_whitespace().collect();
    let pcmu = offered_type(audio, "pcmu/8000").or(offered.contains(&"0").then_some(0));
    let pcma = offered_type(audio, "pcma/8000").or(offered.contains(&"8").then_some(8));
    // The caller's order of preference: the first of the two in its format list.
    let position = |pt: Option<u8>| {
        pt.and_then(|pt| offered.iter().position(|f| *f == pt.to_string()))
            .unwrap_or(usize::MAX)
    };
    let (codec, payload_type) = match (pcmu, pcma) {
        (None, None) => return Err(SdpError::Codec(offered.join(" "))),
        (Some(pt), _) if position(pcmu) <= position(pcma) => (Codec::Pcmu, pt),
        (_, Some(pt)) => (Codec::Pcma, pt),
        (Some(pt), None) => (Codec::Pcmu, pt),
    };
    let connection = audio
        .connections
        .first()
        .or(session.connection.as_ref())
        .ok_or(SdpError::NoAddress)?;
    let ip: IpAddr = connection
        .try_address()
        .map(|a| a.ip)
        .map_err(|_| SdpError::NoAddress)?;
    let attribute = |name: &str| {
        audio.has_attribute(name)
            || session
                .attributes
                .iter()
                .any(|a| a.attribute.eq_ignore_ascii_case(name))
    };
    // A connection address of 0.0.0.0 is the old way of putting a call on hold.
    let direction = if ip.is_unspecified() || attribute("inactive") {
        Direction::Inactive
    } else if attribute("sendonly") {
        Direction::SendOnly
    } else if attribute("recvonly") {
        Direction::RecvOnly
    } else {
        Direction::SendRecv
    };
    Ok(Media {
        codec,
        payload_type,
        proto: audio.proto.clone(),
        offered: session
            .medias
            .iter()
            .map(|m| {
                let first = m.fmt.split_whitespace().next().unwrap_or("0").to_owned();
                (m.media.clone(), m.proto.clone(), first)
            })
            .collect(),
        audio: index,
        events: offered_type(audio, "telephone-event/8000"),
        remote: SocketAddr::new(ip, audio.port),
        direction,
    })
}

/// The answer to an offer that settled `media`: the call's audio at `local`, session
/// `id`, in its `version` (one more for each new offer in the call).
pub fn answer(media: &Media, local: SocketAddr, id: u64, version: u64) -> Vec<u8> {
    let ip = local.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut formats = media.payload_type.to_string();
    let mut lines = vec![
        "v=0".to_owned(),
        format!("o=clearinghouse {id} {version} IN {family} {ip}"),
        "s=Clearinghouse".to_owned(),
        format!("c=IN {family} {ip}"),
        "t=0 0".to_owned(),
    ];
    if let Some(events) = media.events {
        formats.push_str(&format!(" {events}"));
    }
    for (i, (kind, proto, first)) in media.offered.iter().enumerate() {
        if i != media.audio {
            // Video, text, a second audio line: refused, in its place.
            lines.push(format!("m={kind} 0 {proto} {first}"));
            continue;
        }
        lines.push(format!(
            "m=audio {} {} {formats}",
            local.port(),
            media.proto
        ));
        lines.push(format!(
            "a=rtpmap:{} {}/8000",
            media.payload_type,
            media.codec.name()
        ));
        if let Some(events) = media.events {
            lines.push(format!("a=rtpmap:{events} telephone-event/8000"));
            lines.push(format!("a=fmtp:{events} 0-15"));
        }
        lines.push("a=ptime:20".to_owned());
        lines.push(format!("a={}", media.direction.answered()));
    }
    let mut body = lines.join("\r\n");
    body.push_str("\r\n");
    body.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(media: &str) -> Vec<u8> {
        format!(
            "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{media}"
        )
        .into_bytes()
    }

    #[test]
    fn the_callers_first_g711_codec_is_chosen() {
        let media = read_offer(&offer(
            "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        ))
        .unwrap();
        assert_eq!(media.codec, Codec::Pcma);
        assert_eq!(media.events, Some(101));
        assert_eq!(media.remote, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(media.direction, Direction::SendRecv);
        let media = read_offer(&offer("m=audio 4000 RTP/AVP 18 0 8\r\n")).unwrap();
        assert_eq!(media.codec, Codec::Pcmu);
        assert_eq!(media.events, None);
    }

    #[test]
    fn the_keypads_payload_type_is_the_callers_own() {
        let media = read_offer(&offer(
            "m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n",
        ))
        .unwrap();
        assert_eq!(media.events, Some(96));
        let answer =
            String::from_utf8(answer(&media, "127.0.0.1:5000".parse().unwrap(), 7, 1)).unwrap();
        assert!(answer.contains("m=audio 5000 RTP/AVP 0 96\r\n"), "{answer}");
        assert!(
            answer.contains("a=rtpmap:96 telephone-event/8000\r\n"),
            "{answer}"
        );
        assert!(answer.contains("a=rtpmap:0 PCMU/8000\r\n"), "{answer}");
        assert!(
            answer.contains("o=clearinghouse 7 1 IN IP4 127.0.0.1\r\n"),
            "{answer}"
        );
    }

    #[test]
    fn the_answer_parses_as_sdp_and_offers_one_codec() {
        let media = read_offer(&offer("m=audio 4000 RTP/AVP 0 8\r\n")).unwrap();
        let answered = answer(&media, "127.0.0.1:5000".parse().unwrap(), 1, 2);
        let session = Session::parse(&answered).unwrap();
        assert_eq!(session.medias.len(), 1);
        assert_eq!(session.medias[0].fmt, "0");
        assert_eq!(session.origin.sess_version, 2);
    }

    #[test]
    fn the_answer_has_the_offers_lines_in_order_video_refused() {
        let media = read_offer(&offer(
            "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 4000 RTP/AVPF 97 101\r\na=rtpmap:97 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\nm=text 6000 RTP/AVP 98\r\n",
        ))
        .unwrap();
        assert_eq!((media.codec, media.payload_type), (Codec::Pcmu, 97));
        let answered = answer(&media, "127.0.0.1:5000".parse().unwrap(), 1, 1);
        let session = Session::parse(&answered).unwrap();
        let lines: Vec<(&str, u16, &str, &str)> = session
            .medias
            .iter()
            .map(|m| (m.media.as_str(), m.port, m.proto.as_str(), m.fmt.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("video", 0, "RTP/AVP", "96"),
                ("audio", 5000, "RTP/AVPF", "97 101"),
                ("text", 0, "RTP/AVP", "98"),
            ]
        );
        let text = String::from_utf8(answered).unwrap();
        assert!(text.contains("a=rtpmap:97 PCMU/8000\r\n"), "{text}");
    }

    #[test]
    fn an_offer_without_g711_is_refused_naming_what_was_offered() {
        let refused = read_offer(&offer("m=audio 4000 RTP/AVP 9 18\r\n")).unwrap_err();
        assert_eq!(refused, SdpError::Codec("9 18".into()));
        assert!(refused.to_string().contains("offer PCMU or PCMA"));
    }

    #[test]
    fn secure_rtp_video_alone_and_garbage_are_refused() {
        assert!(matches!(
            read_offer(&offer("m=audio 4000 RTP/SAVP 0\r\n")),
            Err(SdpError::Transport(_))
        ));
        assert_eq!(
            read_offer(&offer("m=video 4000 RTP/AVP 96\r\n")),
            Err(SdpError::NoAudio)
        );
        assert_eq!(
            read_offer(&offer("m=audio 0 RTP/AVP 0\r\n")),
            Err(SdpError::NoAudio)
        );
        assert!(matches!(read_offer(b"hello"), Err(SdpError::Unparsable(_))));
    }

    #[test]
    fn a_call_put_on_hold_is_answered_in_the_other_direction() {
        let held = read_offer(&offer("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n")).unwrap();
        assert_eq!(held.direction, Direction::SendOnly);
        assert!(!held.direction.caller_listens());
        let answered =
            String::from_utf8(answer(&held, "127.0.0.1:5000".parse().unwrap(), 1, 2)).unwrap();
        assert!(answered.contains("a=recvonly\r\n"));
        let old_style = read_offer(
            b"v=0\r\no=a 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
        )
        .unwrap();
        assert_eq!(old_style.direction, Direction::Inactive);
    }
}
