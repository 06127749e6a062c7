//! What a call is held over ([`Medium`]), and the text line: what the representative says,
//! one tagged line at a time, and what the caller answers, read with a limit on its length
//! and on how long the caller may stay silent. Anything that is not a line of text ends
//! the call.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The longest answer taken, in bytes.
const MAX_ANSWER: usize = 512;

/// What starts every line the representative says; a program matches it, a person reads
/// the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// The greeting.
    Hello,
    /// Something to know; no answer expected.
    Say,
    /// A question; one line answers it.
    Ask,
    /// A group of an ID read back as heard.
    Heard,
    /// An answer that cannot be taken, and why; the question follows again.
    Sorry,
    /// A group of the ID given to the caller; "ok" or "repeat" answers it.
    Read,
    /// The ID has been read in full.
    Done,
    /// The call ends.
    Bye,
    /// Every representative is on a call; the line closes.
    Busy,
}

impl Tag {
    fn as_str(self) -> &'static str {
        match self {
            Tag::Hello => "HELLO",
            Tag::Say => "SAY",
            Tag::Ask => "ASK",
            Tag::Heard => "HEARD",
            Tag::Sorry => "SORRY",
            Tag::Read => "READ",
            Tag::Done => "DONE",
            Tag::Bye => "BYE",
            Tag::Busy => "BUSY",
        }
    }
}

/// Why a call ended before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The caller hung up: said goodbye, or closed the line.
    HungUp {
        /// Whether the line is still open to say goodbye on.
        said: bool,
    },
    /// The caller said nothing for the idle timeout.
    Idle(Duration),
    /// A line that is not text: too long, not UTF-8, or full of control characters.
    Noise(&'static str),
    /// The same question was answered wrongly too many times.
    TooManyTries {
        /// What was asked.
        slot: String,
        /// In words.
        what: String,
    },
    /// The Clearinghouse refused the request in a way the caller cannot fix on this call.
    Refused,
    /// The call went on past the longest a call may last.
    TooLong(Duration),
    /// The line failed, or the caller stopped listening.
    Lost,
}

/// The words that end a call at any question.
const HANG_UPS: [&str; 5] = ["bye", "goodbye", "hang up", "hangup", "quit"];

/// How a caller answers the representative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// In words: a line of text.
    Words,
    /// On a telephone keypad: digits ended by `#`, or `*` alone to hear the question again.
    Keys,
}

/// What a call is held over: the text line, or a voice call answered on the keypad. The
/// representative asks the same questions over either; only how they are said and
/// answered differs.
pub trait Medium {
    /// Says `text` under `tag`, with `slot` (what is asked or read) when there is one.
    fn say(
        &mut self,
        tag: Tag,
        slot: Option<&str>,
        text: &str,
    ) -> impl Future<Output = Result<(), Ended>> + Send;

    /// The caller's next answer, trimmed: a line of words, or the keys pressed before `#`
    /// (`*` when the caller asked to hear the question again).
    fn hear(&mut self) -> impl Future<Output = Result<String, Ended>> + Send;

    /// How the caller answers.
    fn answers(&self) -> Answers;

    /// The answer to `slot` that the call itself carries (the tenant dialled, the name the
    /// caller's telephone sends), which is then not asked.
    fn given(&self, slot: &str) -> Option<String>;

    /// For a medium whose calls the journal keeps whole: how the call is held, the address
    /// it was made to, and what was said and keyed so far.
    fn recording(&self) -> Option<Recording> {
        None
    }
}

/// A call as the journal keeps it.
pub struct Recording {
    /// How it was held.
    pub medium: shared::wire::CallMedium,
    /// The address called, e.g. `sip:clearinghouse@127.0.0.1:5060`.
    pub address: String,
    /// What was said and keyed, in order.
    pub transcript: Vec<shared::wire::TranscriptLine>,
}

/// A caller's line.
pub struct Line {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    idle: Duration,
}

impl Line {
    /// The line of `stream`, on which a caller may stay silent for `idle`.
    pub fn new(stream: TcpStream, idle: Duration) -> Self {
        let (reader, writer) = stream.into_split();
        Line {
            reader: BufReader::new(reader),
            writer,
            idle,
        }
    }
}

impl Medium for Line {
    async fn say(&mut self, tag: Tag, slot: Option<&str>, text: &str) -> Result<(), Ended> {
        let line = match slot {
            Some(slot) => format!("{} {slot} {text}\n", tag.as_str()),
            None => format!("{} {text}\n", tag.as_str()),
        };
        // A caller who stops reading fills the socket's buffers; past the idle timeout
        // they count as gone.
        match tokio::time::timeout(self.idle, self.writer.write_all(line.as_bytes())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Ended::Lost),
        }
    }

    async fn hear(&mut self) -> Result<String, Ended> {
        let mut bytes = Vec::new();
        let mut limited = (&mut self.reader).take(MAX_ANSWER as u64 + 1);
        let read = limited.read_until(b'\n', &mut bytes);
        let n = match tokio::time::timeout(self.idle, read).await {
            Err(_) => return Err(Ended::Idle(self.idle)),
            Ok(Err(_)) => return Err(Ended::Lost),
            Ok(Ok(n)) => n,
        };
        if n == 0 || (bytes.last() != Some(&b'\n') && bytes.len() <= MAX_ANSWER) {
            return Err(Ended::HungUp { said: false });
        }
        if bytes.len() > MAX_ANSWER {
            return Err(Ended::Noise("an answer longer than a line"));
        }
        let text = String::from_utf8(bytes).map_err(|_| Ended::Noise("bytes that are not text"))?;
        let text = text.trim();
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Ended::Noise("control characters"));
        }
        if HANG_UPS.contains(&text.to_lowercase().as_str()) {
            return Err(Ended::HungUp { said: true });
        }
        Ok(text.to_owned())
    }

    fn answers(&self) -> Answers {
        Answers::Words
    }

    fn given(&self, _slot: &str) -> Option<String> {
        None
    }
}
