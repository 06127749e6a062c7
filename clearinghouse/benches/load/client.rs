//! A lean HTTP/1.1 load client on raw tokio sockets: one keep-alive connection per task,
//! one request in flight on it (no pipelining), the response read by its
//! `Content-Length` (or its chunks). It does no more work per request than wrk does, so
//! the server, not the client, is what a load phase measures.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection to the server.
pub struct Connection {
    addr: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Bytes of `buf` already read past the last response.
    filled: usize,
}

impl Connection {
    /// A connection to `host:port`, opened at the first request (and again after the
    /// server closes it).
    pub fn new(addr: &str) -> Self {
        Connection {
            addr: addr.to_owned(),
            stream: None,
            buf: vec![0; 16 * 1024],
            filled: 0,
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the response; its status.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.filled = 0;
        }
        let result = self.exchange(request).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        stream.write_all(request).await?;
        let head_end = loop {
            if let Some(end) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let (status, body, close) = head(&self.buf[..head_end])?;
        let end = match body {
            Body::Length(length) => {
                let end = head_end + length;
                while self.filled < end {
                    self.fill().await?;
                }
                end
            }
            Body::Chunked => self.chunked(head_end).await?,
        };
        self.buf.copy_within(end..self.filled, 0);
        self.filled -= end;
        if close {
            self.stream = None;
        }
        Ok(status)
    }

    /// Reads the chunks that start at `at`; where the response ends.
    async fn chunked(&mut self, mut at: usize) -> io::Result<usize> {
        loop {
            let line_end = loop {
                if let Some(end) = find(&self.buf[at..self.filled], b"\r\n") {
                    break at + end;
                }
                self.fill().await?;
            };
            let size = std::str::from_utf8(&self.buf[at..line_end])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| io::Error::other("a chunk size that is no number"))?;
            let end = line_end + 2 + size + 2;
            while self.filled < end {
                self.fill().await?;
            }
            at = end;
            if size == 0 {
                return Ok(end);
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        let n = stream.read(&mut self.buf[self.filled..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.filled += n;
        Ok(())
    }
}

enum Body {
    Length(usize),
    Chunked,
}

/// The status, how the body is framed, and whether the server will close, from a
/// response head.
fn head(head: &[u8]) -> io::Result<(u16, Body, bool)> {
    let text = std::str::from_utf8(head).map_err(|_| io::Error::other("a head that is no text"))?;
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("no status line"))?;
    let mut body = Body::Length(0);
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body = Body::Length(
                value
                    .parse()
                    .map_err(|_| io::Error::other("a content-length that is no number"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.eq_ignore_ascii_case("chunked")
        {
            body = Body::Chunked;
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    Ok((status, body, close))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a load phase measured.
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Runs `connections` connections to `addr` for `seconds`, or until `limit` requests in
/// all, each sending what `make` writes for its `n`th request into the buffer it is given.
pub async fn load<F>(
    addr: &str,
    connections: usize,
    seconds: f64,
    limit: u64,
    make: F,
) -> LoadResult
where
    F: Fn(&mut Vec<u8>, usize, u64) + Send + Sync + 'static,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let make = Arc::new(make);
    let sent = Arc::new(AtomicU64::new(0));
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(connections);
    for connection in 0..connections {
        let (make, sent) = (make.clone(), sent.clone());
        let mut conn = Connection::new(addr);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(64 * 1024);
            let mut errors = 0u64;
            let mut request = Vec::with_capacity(512);
            let mut n = 0u64;
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < limit {
                request.clear();
                make(&mut request, connection, n);
                let t = Instant::now();
                match conn.send(&request).await {
                    Ok(status) if (200..300).contains(&status) => latencies.push(t.elapsed()),
                    _ => errors += 1,
                }
                n += 1;
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            all.extend(l);
            errors += e;
        }
    }
    let seconds = begun.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    LoadResult {
        requests: all.len() as u64,
        errors,
        seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}
