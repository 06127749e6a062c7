//! Time as the ledger sees it. Everything time-based in the core (idempotency keys expire
//! after 24 hours) reads a [`Clock`], so that tests can move time instead of waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock showing `ms`.
    pub fn new(ms: u64) -> Self {
        ManualClock(AtomicU64::new(ms))
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The latest time a tenant's clock is moved to: the start of the year 9000, as the
/// license server's clock. Every expiry after it still has an RFC 3339 date.
pub const LATEST_MS: u64 = 221_845_392_000_000;

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LAST_WRITABLE_MS: u64 = 253_402_300_799_999;

/// `ms` since the Unix epoch as RFC 3339 in UTC, e.g. `2027-01-31T09:00:00.000Z`. A time
/// past what RFC 3339 writes is written as its last millisecond: never a panic.
pub fn rfc3339(ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.min(LAST_WRITABLE_MS));
    let mut text = String::new();
    use std::fmt::Write as _;
    match write!(text, "{}", humantime::format_rfc3339_millis(time)) {
        Ok(()) => text,
        Err(_) => "9999-12-31T23:59:59.999Z".to_owned(),
    }
}

/// Reads an RFC 3339 time (e.g. `2027-01-31T09:00:00Z`) as ms since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let time = humantime::parse_rfc3339_weak(text.trim()).ok()?;
    let ms = time.duration_since(UNIX_EPOCH).ok()?.as_millis();
    u64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_time_writes_even_past_the_year_9999() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(LATEST_MS), "9000-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(300_000_000_000_000), "9999-12-31T23:59:59.999Z");
    }
}
