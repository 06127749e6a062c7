//! SIP messages (RFC 3261) as the voice line reads and writes them over UDP: a datagram
//! parsed with `ezk-sip-types` into the few things a user agent server needs (method,
//! dialog and transaction identifiers, caller ID, body), and responses and requests
//! written from them.

use bytes::Bytes;
use ezk_sip_types::header::typed::{CSeq, CallID, ContentLength, FromTo, Via};
use ezk_sip_types::msg::{Line, MessageLine, PullParser};
use ezk_sip_types::parse::Parse;
use ezk_sip_types::uri::SipUriUserPart;
use ezk_sip_types::{Headers, Method, Name};
use thiserror::Error;

/// The largest datagram read; a SIP message over UDP must fit in one.
pub const MAX_DATAGRAM: usize = 8 * 1024;

/// Why a datagram is not a SIP message the line can take.
#[derive(Debug, Error)]
pub enum SipError {
    /// The first line is neither a request line nor a status line.
    #[error("the first line is not a SIP request or status line")]
    StartLine,
    /// A header line does not parse, or the head is not UTF-8.
    #[error("a header line is malformed: {0}")]
    Header(String),
    /// A header every request must carry is missing or malformed.
    #[error("the {0} header is missing or malformed")]
    Missing(&'static str),
    /// The body is shorter than its Content-Length says.
    #[error("the body is shorter than its Content-Length")]
    Truncated,
}

/// A datagram that was not understood, with what of its head did parse: enough, for a
/// request, to answer 400 to the address in its Via.
#[derive(Debug)]
pub struct Unreadable {
    /// Why.
    pub error: SipError,
    /// Whether it was a request (which is answered), with its head as far as it parsed.
    pub request_head: Option<Headers>,
}

/// A request.
#[derive(Debug)]
pub struct Request {
    /// Its method.
    pub method: Method,
    /// The user part of its Request-URI: who is called.
    pub user: Option<String>,
    /// The host of its Request-URI, when it is an address: where the caller reached the line.
    pub host: Option<std::net::IpAddr>,
    /// Its headers, as received.
    pub headers: Headers,
    /// Its body.
    pub body: Bytes,
    /// The dialog's Call-ID.
    pub call_id: String,
    /// The branch of its topmost Via: the transaction it belongs to.
    pub branch: String,
    /// The caller's tag.
    pub from_tag: Option<String>,
    /// The tag of the called side, once a dialog exists.
    pub to_tag: Option<String>,
    /// The caller's display name, as its telephone sends it.
    pub caller_name: Option<String>,
    /// The user of the caller's address.
    pub caller_user: Option<String>,
}

/// A response (to a request the line sent: a BYE).
#[derive(Debug)]
pub struct Response {
    /// Its status code.
    pub code: u16,
    /// The dialog's Call-ID.
    pub call_id: String,
    /// The method its CSeq names.
    pub method: Method,
}

/// A parsed datagram.
#[derive(Debug)]
pub enum Message {
    /// A request.
    Request(Box<Request>),
    /// A response.
    Response(Response),
}

/// Parses one datagram.
pub fn parse(datagram: &[u8]) -> Result<Message, Unreadable> {
    let buffer = Bytes::copy_from_slice(datagram);
    let mut parser = PullParser::new(&buffer, 0);
    let mut start = None;
    let mut headers = Headers::new();
    let unreadable = |error, start: &Option<MessageLine>, headers: &Headers| Unreadable {
        error,
        request_head: start
            .as_ref()
            .filter(|s| s.is_request())
            .map(|_| headers.clone()),
    };
    for line in &mut parser {
        let line = line.map_err(|_| {
            unreadable(
                SipError::Header("the head does not end".into()),
                &start,
                &headers,
            )
        })?;
        let line = std::str::from_utf8(line)
            .map_err(|_| unreadable(SipError::Header("not UTF-8".into()), &start, &headers))?;
        if start.is_none() {
            let parsed = MessageLine::parse(&buffer)(line)
                .map_err(|_| unreadable(SipError::StartLine, &start, &headers))?;
            start = Some(parsed.1);
            continue;
        }
        match Line::parse(&buffer, line) {
            Ok((_, line)) => headers.insert(line.name, line.value),
            Err(_) => {
                let shown: String = line.chars().take(60).collect();
                return Err(unreadable(SipError::Header(shown), &start, &headers));
            }
        }
    }
    let Some(start) = start else {
        return Err(unreadable(SipError::StartLine, &None, &headers));
    };
    let head_end = parser.head_end();
    let body = match headers.get_named::<ContentLength>() {
        // A length past the datagram (up to usize::MAX, from a hostile sender) is refused,
        // not added up.
        Ok(length)
            if let Some(end) = head_end
                .checked_add(length.0)
                .filter(|end| *end <= buffer.len()) =>
        {
            buffer.slice(head_end..end)
        }
        Ok(_) => {
            return Err(unreadable(SipError::Truncated, &Some(start), &headers));
        }
        // Over UDP the datagram's end is the body's end when no length is given.
        Err(_) => buffer.slice(head_end.min(buffer.len())..),
    };
    let call_id = headers
        .get_named::<CallID>()
        .map(|c| c.0.to_string())
        .map_err(|_| unreadable(SipError::Missing("Call-ID"), &Some(start.clone()), &headers))?;
    let cseq = headers
        .get_named::<CSeq>()
        .map_err(|_| unreadable(SipError::Missing("CSeq"), &Some(start.clone()), &headers))?;
    match start {
        MessageLine::Response(status) => Ok(Message::Response(Response {
            code: status.code.into_u16(),
            call_id,
            method: cseq.method,
        })),
        MessageLine::Request(line) => {
            let missing = |what| Unreadable {
                error: SipError::Missing(what),
                request_head: Some(headers.clone()),
            };
            let via = headers
                .get_named::<Vec<Via>>()
                .ok()
                .and_then(|v| v.into_iter().next())
                .ok_or_else(|| missing("Via"))?;
            let from = headers
                .get::<FromTo>(Name::FROM)
                .map_err(|_| missing("From"))?;
            let to = headers.get::<FromTo>(Name::TO).map_err(|_| missing("To"))?;
            if cseq.method != line.method {
                return Err(missing("CSeq"));
            }
            let user = |part: &SipUriUserPart| match part {
                SipUriUserPart::User(user) => Some(user.to_string()),
                SipUriUserPart::UserPw(pw) => Some(pw.user.to_string()),
                SipUriUserPart::Empty => None,
            };
            Ok(Message::Request(Box::new(Request {
                user: user(&line.uri.user_part),
                host: line.uri.host_port.ip(),
                method: line.method,
                body,
                call_id,
                branch: via
                    .params
                    .get_val("branch")
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                from_tag: from.tag.as_ref().map(|t| t.to_string()),
                to_tag: to.tag.as_ref().map(|t| t.to_string()),
                caller_name: from
                    .uri
                    .name
                    .as_ref()
                    .map(|n| n.trim().trim_matches('"').trim().to_owned())
                    .filter(|n| !n.is_empty()),
                caller_user: user(&from.uri.uri.user_part),
                headers,
            })))
        }
    }
}

impl Request {
    /// The first value of a header, as received.
    pub fn header(&self, name: &Name) -> Option<&str> {
        self.headers.get_raw(name).next().map(|v| v.as_str())
    }
}

/// The reason phrase of a status code the line sends.
fn reason(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The methods the line answers, for Allow.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";

/// A response to the request whose head is `head`: its Via, From, Call-ID and CSeq
/// copied, its To given a tag when it has none yet (`to_tag`, or a fresh one: RFC 3261
/// §8.2.6.2 wants one on every response but 100), then `extra` headers and `body` (with
/// its content type).
pub fn response(
    head: &Headers,
    code: u16,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    body: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut text = format!("SIP/2.0 {code} {}\r\n", reason(code));
    for value in head.get_raw(&Name::VIA) {
        text.push_str(&format!("Via: {value}\r\n"));
    }
    for (name, label) in [
        (Name::FROM, "From"),
        (Name::CALL_ID, "Call-ID"),
        (Name::CSEQ, "CSeq"),
    ] {
        if let Some(value) = head.get_raw(&name).next() {
            text.push_str(&format!("{label}: {value}\r\n"));
        }
    }
    if let Some(to) = head.get_raw(&Name::TO).next() {
        let tagged = head.get::<FromTo>(Name::TO).is_ok_and(|t| t.tag.is_some());
        match to_tag {
            _ if tagged || code == 100 => text.push_str(&format!("To: {to}\r\n")),
            Some(tag) => text.push_str(&format!("To: {to};tag={tag}\r\n")),
            None => text.push_str(&format!("To: {to};tag={:016x}\r\n", rand::random::<u64>())),
        }
    }
    text.push_str("Server: clearinghouse\r\n");
    for (name, value) in extra {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut bytes = match body {
        Some((content_type, body)) => {
            text.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ));
            let mut bytes = text.into_bytes();
            bytes.extend_from_slice(body);
            bytes
        }
        None => {
            text.push_str("Content-Length: 0\r\n\r\n");
            text.into_bytes()
        }
    };
    bytes.shrink_to_fit();
    bytes
}

/// What the line needs to end a call it answered: the dialog as the caller's INVITE set
/// it up.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// The Call-ID.
    pub call_id: String,
    /// The caller's From, as received (its tag included).
    pub caller: String,
    /// The line's side: the INVITE's To with the line's tag.
    pub line: String,
    /// Where to send the request: the caller's Contact, or its From address.
    pub target: String,
    /// The line's own address, for its Via and Contact.
    pub local: std::net::SocketAddr,
}

impl Dialog {
    /// The dialog that `invite` opens, the line answering with `tag` at `local`.
    pub fn of(invite: &Request, tag: &str, local: std::net::SocketAddr) -> Dialog {
        let raw = |name: &Name| invite.header(name).unwrap_or_default().to_owned();
        let contact = raw(&Name::CONTACT);
        // The Contact's URI: between angle brackets, or up to its parameters.
        let target = match (contact.find('<'), contact.find('>')) {
            (Some(open), Some(close)) if open < close => contact[open + 1..close].to_owned(),
            _ => contact
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        };
        let target = if target.starts_with("sip:") {
            target
        } else {
            format!("sip:{}", local.ip())
        };
        Dialog {
            call_id: invite.call_id.clone(),
            caller: raw(&Name::FROM),
            line: format!("{};tag={tag}", raw(&Name::TO)),
            target,
            local,
        }
    }

    /// The line's BYE in this dialog, with sequence number `cseq` and Via branch `branch`.
    pub fn bye(&self, cseq: u32, branch: &str) -> Vec<u8> {
        format!(
            "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: {line}\r\nTo: {caller}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} BYE\r\nUser-Agent: clearinghouse\r\nContent-Length: 0\r\n\r\n",
            target = self.target,
            local = self.local,
            line = self.line,
            caller = self.caller,
            call_id = self.call_id,
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:clearinghouse@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds\r\n\
        Max-Forwards: 70\r\n\
        To: <sip:clearinghouse@127.0.0.1:5060>\r\n\
        From: \"Jane Doe\" <sip:jane@127.0.0.1:5070>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:jane@127.0.0.1:5070;transport=udp>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\r\nv=0\n";

    fn request(text: &str) -> Request {
        match parse(text.as_bytes()) {
            Ok(Message::Request(request)) => *request,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn an_invite_gives_its_dialog_its_transaction_and_its_caller() {
        let invite = request(INVITE);
        assert_eq!(invite.method, Method::INVITE);
        assert_eq!(invite.user.as_deref(), Some("clearinghouse"));
        assert_eq!(invite.host, Some([127, 0, 0, 1].into()));
        assert_eq!(invite.call_id, "a84b4c76e66710");
        assert_eq!(invite.branch, "z9hG4bK776asdhds");
        assert_eq!(invite.from_tag.as_deref(), Some("1928301774"));
        assert_eq!(invite.to_tag, None);
        assert_eq!(invite.caller_name.as_deref(), Some("Jane Doe"));
        assert_eq!(invite.caller_user.as_deref(), Some("jane"));
        assert_eq!(&invite.body[..], b"v=0\n");
    }

    #[test]
    fn compact_header_names_are_read_as_their_long_forms() {
        let compact = "OPTIONS sip:clearinghouse@127.0.0.1 SIP/2.0\r\n\
            v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n\
            t: <sip:clearinghouse@127.0.0.1>\r\n\
            f: <sip:a@127.0.0.1>;tag=x\r\n\
            i: compact-1\r\n\
            CSeq: 1 OPTIONS\r\n\
            l: 0\r\n\r\n";
        let options = request(compact);
        assert_eq!(options.call_id, "compact-1");
        assert_eq!(options.branch, "z9hG4bKabc");
    }

    #[test]
    fn a_response_echoes_the_transaction_and_tags_the_callee() {
        let invite = request(INVITE);
        let ok = response(
            &invite.headers,
            200,
            Some("line-tag"),
            &[("Contact", "<sip:clearinghouse@127.0.0.1:5060>".into())],
            Some(("application/sdp", b"v=0\r\n")),
        );
        let text = String::from_utf8(ok).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds\r\n"));
        assert!(text.contains("To: <sip:clearinghouse@127.0.0.1:5060>;tag=line-tag\r\n"));
        assert!(text.contains("CSeq: 314159 INVITE\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"), "{text}");
        match parse(text.as_bytes()) {
            Ok(Message::Response(response)) => {
                assert_eq!(response.code, 200);
                assert_eq!(response.method, Method::INVITE);
            }
            other => panic!("the response does not parse back: {other:?}"),
        }
    }

    #[test]
    fn garbage_is_unreadable_and_not_answered() {
        let garbage = parse(b"\x00\x01hello there\r\n\r\n").unwrap_err();
        assert!(garbage.request_head.is_none());
    }

    #[test]
    fn a_request_without_a_call_id_is_unreadable_but_answerable() {
        let broken = INVITE.replace("Call-ID: a84b4c76e66710\r\n", "");
        let unreadable = parse(broken.as_bytes()).unwrap_err();
        assert!(matches!(unreadable.error, SipError::Missing("Call-ID")));
        let head = unreadable.request_head.expect("the head that parsed");
        let answer = String::from_utf8(response(&head, 400, None, &[], None)).unwrap();
        assert!(
            answer.contains("Via: SIP/2.0/UDP 127.0.0.1:5070"),
            "{answer}"
        );
    }

    #[test]
    fn a_length_of_usize_max_is_unreadable_not_a_panic() {
        let hostile = INVITE.replace("Content-Length: 4", "Content-Length: 18446744073709551615");
        assert!(matches!(
            parse(hostile.as_bytes()).unwrap_err().error,
            SipError::Truncated
        ));
    }

    #[test]
    fn a_body_shorter_than_its_length_is_unreadable() {
        let truncated = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        assert!(matches!(
            parse(truncated.as_bytes()).unwrap_err().error,
            SipError::Truncated
        ));
    }

    #[test]
    fn the_lines_bye_goes_to_the_callers_contact_from_the_lines_side() {
        let invite = request(INVITE);
        let dialog = Dialog::of(&invite, "line-tag", "127.0.0.1:5060".parse().unwrap());
        let bye = String::from_utf8(dialog.bye(1, "b1")).unwrap();
        assert!(
            bye.starts_with("BYE sip:jane@127.0.0.1:5070;transport=udp SIP/2.0\r\n"),
            "{bye}"
        );
        let parsed = request(&bye);
        assert_eq!(parsed.method, Method::BYE);
        assert_eq!(parsed.from_tag.as_deref(), Some("line-tag"));
        assert_eq!(parsed.to_tag.as_deref(), Some("1928301774"));
        assert_eq!(parsed.call_id, "a84b4c76e66710");
    }
}
