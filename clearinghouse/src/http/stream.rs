//! Reading a large request body (a snapshot, a journal) as it arrives: the chunks go to a
//! parser on a blocking thread, which reads them as one stream, so the body is never held
//! whole: only what is parsed from it is. A body past its limit stops at the limit.

use std::io::{self, Read};
use std::pin::Pin;

use actix_web::web::{self, Bytes};
use futures_core::Stream;
use shared::wire::{ErrorCode, Problem};
use tokio::sync::mpsc;

use super::body;

/// Parses the body of `payload` with `parse`, which reads it as a stream of at most
/// `limit` bytes.
pub async fn parse<T, F>(mut payload: web::Payload, limit: usize, parse: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Read) -> Result<T, Problem> + Send + 'static,
{
    let (chunks, received) = mpsc::channel::<Bytes>(8);
    let parser = tokio::task::spawn_blocking(move || {
        parse(&mut Chunks {
            received,
            current: Bytes::new(),
        })
    });
    let mut total = 0usize;
    let mut failure = None;
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        match chunk {
            Ok(bytes) => {
                total = total.saturating_add(bytes.len());
                if total > limit {
                    failure = Some(body::too_large_for(limit));
                    break;
                }
                // The parser stopped early (the body is refused already): read no more.
                if chunks.send(bytes).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                failure = Some(body::unreadable(&e.into()));
                break;
            }
        }
    }
    drop(chunks);
    let parsed = parser
        .await
        .map_err(|e| Problem::new(ErrorCode::Internal, format!("reading the body failed: {e}")));
    match failure {
        Some(problem) => Err(problem),
        None => parsed?,
    }
}

/// The chunks of a body, read as one stream on a blocking thread.
struct Chunks {
    received: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.received.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
