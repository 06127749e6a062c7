//! The time on a license server's clock: whole seconds, written as RFC 3339.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A time, in whole seconds since the Unix epoch, written as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub u64);

impl Stamp {
    /// The latest time a clock is moved to (the start of the year 9000), so that every
    /// expiry after it still has an RFC 3339 date.
    pub const LATEST: Stamp = Stamp(221_845_392_000);

    /// The computer's time now, moved forward by `offset_secs` (a simulated clock).
    pub fn now_ahead_by(offset_secs: u64) -> Stamp {
        let computer = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Stamp(computer.saturating_add(offset_secs))
    }

    /// `seconds` later.
    pub fn plus(self, seconds: u64) -> Stamp {
        Stamp(self.0.saturating_add(seconds))
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // RFC 3339 ends with the year 9999; clocks stop well before (`LATEST`).
        let time = UNIX_EPOCH + Duration::from_secs(self.0.min(253_402_300_799));
        write!(f, "{}", humantime::format_rfc3339_seconds(time))
    }
}

impl std::str::FromStr for Stamp {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let time = humantime::parse_rfc3339_weak(text.trim())
            .map_err(|e| format!("{text:?} is not a time like 2027-01-31T09:00:00Z: {e}"))?;
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| format!("{text:?} is before 1970"))?
            .as_secs();
        Ok(Stamp(secs))
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
