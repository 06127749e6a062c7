//! RTP packets (RFC 3550) as a call sends and receives them, read and written with
//! `rtp-types`, and the keypad's telephone events (RFC 4733) they carry: a 4-byte payload
//! of a key, an end flag and a duration, read here.

use rtp_types::{RtpPacket, RtpPacketBuilder};

/// The fixed header's length.
pub const HEADER: usize = RtpPacket::MIN_RTP_PACKET_LEN;

/// The fields of an RTP header a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the payload is (negotiated in the SDP).
    pub payload_type: u8,
    /// The first packet of a talkspurt, or of an event.
    pub marker: bool,
    /// Counts packets, to spot losses and reordering.
    pub sequence: u16,
    /// The sampling instant of the payload's first sample, in 8 kHz ticks.
    pub timestamp: u32,
    /// The sender's stream.
    pub ssrc: u32,
}

impl Header {
    /// The packet with this header and `payload`.
    pub fn packet(&self, payload: &[u8]) -> Vec<u8> {
        let mut packet = Vec::with_capacity(HEADER + payload.len());
        RtpPacketBuilder::<&[u8], &[u8]>::new()
            .payload_type(self.payload_type & 0x7f)
            .marker_bit(self.marker)
            .sequence_number(self.sequence)
            .timestamp(self.timestamp)
            .ssrc(self.ssrc)
            .payload(payload)
            .write_into_vec_unchecked(&mut packet);
        packet
    }
}

/// An RTP packet's header and payload, or `None` when `bytes` is not one: the wrong
/// version, or shorter than its header, contributing sources, extension and padding say.
pub fn parse(bytes: &[u8]) -> Option<(Header, &[u8])> {
    let packet = RtpPacket::parse(bytes).ok()?;
    let header = Header {
        payload_type: packet.payload_type(),
        marker: packet.marker_bit(),
        sequence: packet.sequence_number(),
        timestamp: packet.timestamp(),
        ssrc: packet.ssrc(),
    };
    let start = packet.payload_offset();
    Some((header, &bytes[start..start + packet.payload_len()]))
}

/// A key pressed, as a telephone event (RFC 4733 §3.2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The key: `0`–`9`, `*`, `#`, `A`–`D`.
    pub key: char,
    /// Whether this packet ends the event (it is sent three times).
    pub end: bool,
    /// How long the key has been held so far, in 8 kHz ticks.
    pub duration: u16,
}

/// The keys of events 0 to 15, in order.
const KEYS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

impl Event {
    /// The event in a telephone-event payload, or `None` for another event (a tone, a
    /// fax signal) or a payload too short.
    pub fn parse(payload: &[u8]) -> Option<Event> {
        let [code, flags, high, low, ..] = *payload else {
            return None;
        };
        Some(Event {
            key: *KEYS.get(usize::from(code))?,
            end: flags & 0x80 != 0,
            duration: u16::from_be_bytes([high, low]),
        })
    }

    /// The payload that reports this event at volume -10 dBm0.
    #[cfg(test)]
    pub fn payload(&self) -> [u8; 4] {
        let code = KEYS.iter().position(|k| *k == self.key).unwrap_or(0) as u8;
        let [high, low] = self.duration.to_be_bytes();
        [code, (u8::from(self.end) << 7) | 10, high, low]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            payload_type: 8,
            marker: true,
            sequence: 0xbeef,
            timestamp: 0x0102_0304,
            ssrc: 0xcafe_f00d,
        }
    }

    #[test]
    fn a_packet_reads_back_as_it_was_written() {
        let packet = header().packet(&[1, 2, 3]);
        assert_eq!(packet.len(), HEADER + 3);
        assert_eq!(packet[0], 0x80);
        assert_eq!(parse(&packet), Some((header(), &[1u8, 2, 3][..])));
    }

    #[test]
    fn contributing_sources_an_extension_and_padding_are_skipped() {
        let mut packet = header().packet(&[]);
        packet[0] |= 0x20 | 0x10 | 1;
        packet.extend_from_slice(&[0, 0, 0, 9]); // one contributing source
        packet.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // one word of extension
        packet.extend_from_slice(&[5, 6]); // the payload
        packet.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        assert_eq!(parse(&packet).map(|(_, p)| p), Some(&[5u8, 6][..]));
    }

    #[test]
    fn what_is_not_an_rtp_packet_is_refused() {
        assert_eq!(parse(&[0x80; 11]), None, "shorter than a header");
        let mut packet = header().packet(&[1]);
        packet[0] = 0x40;
        assert_eq!(parse(&packet), None, "version 1");
        let mut packet = header().packet(&[1]);
        packet[0] |= 0x20;
        *packet.last_mut().unwrap() = 200;
        assert_eq!(parse(&packet), None, "more padding than packet");
        let mut packet = header().packet(&[]);
        packet[0] |= 0x0f;
        assert_eq!(parse(&packet), None, "sources past the end");
    }

    #[test]
    fn a_telephone_event_names_its_key_and_whether_it_ended() {
        assert_eq!(
            Event::parse(&[11, 0x8a, 0x03, 0x20]),
            Some(Event {
                key: '#',
                end: true,
                duration: 800
            })
        );
        assert_eq!(Event::parse(&[10, 0x0a, 0, 160]).map(|e| e.key), Some('*'));
        assert_eq!(Event::parse(&[5, 0, 0, 0]).map(|e| e.end), Some(false));
    }

    #[test]
    fn events_that_are_not_keys_are_not_taken_for_keys() {
        assert_eq!(Event::parse(&[16, 0, 0, 0]), None, "a flash");
        assert_eq!(Event::parse(&[36, 0, 0, 0]), None, "a fax tone");
        assert_eq!(Event::parse(&[1, 0, 0]), None, "too short");
    }

    #[test]
    fn an_event_reads_back_as_it_was_written() {
        for key in KEYS {
            let event = Event {
                key,
                end: key == '#',
                duration: 1234,
            };
            assert_eq!(Event::parse(&event.payload()), Some(event));
        }
    }
}
