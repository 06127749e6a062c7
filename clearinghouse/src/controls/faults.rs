//! Injected faults, per tenant and optionally per route: latency, error answers, outages
//! and replies dropped after the request was applied.
//!
//! A fault that hits a share of requests draws from its own random source, seeded from
//! the tenant's seed and the fault's number, so the same requests meet the same faults
//! every run. Faults live in memory: they are a test's setup, and a restart clears them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use shared::wire::{ErrorCode, FaultInfo, FaultSpec, Problem};

use crate::ledger::TenantName;
use crate::ledger::clock::rfc3339;

/// The longest injected latency, so that a typo cannot hang a test for hours.
pub const MAX_LATENCY_MS: u64 = 60_000;
/// The longest outage, one week.
pub const MAX_OUTAGE_SECONDS: u64 = 7 * 24 * 60 * 60;

/// What the faults do to one request.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Wait this long before handling it.
    pub delay: Duration,
    /// Answer this instead of handling it.
    pub refuse: Option<Refusal>,
    /// Handle it, then close the connection without an answer.
    pub drop_reply: bool,
    /// The kinds of the faults that hit it, for the journal.
    pub hits: Vec<&'static str>,
}

/// An answer a fault gives instead of the service's.
#[derive(Debug)]
pub struct Refusal {
    /// The problem answered.
    pub problem: Problem,
    /// For an outage: seconds until it ends, for `Retry-After`.
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
enum Kind {
    Latency { min_ms: u64, max_ms: u64 },
    Error { status: u16, share: f64 },
    Outage { until_ms: u64 },
    DropReply { remaining: Option<u32>, share: f64 },
}

#[derive(Debug)]
struct Fault {
    id: u64,
    spec: FaultSpec,
    kind: Kind,
    hits: u64,
    rng: ChaCha8Rng,
}

impl Fault {
    fn matches(&self, route: &str) -> bool {
        self.spec.route().is_none_or(|r| r == route)
    }

    fn info(&self) -> FaultInfo {
        FaultInfo {
            id: self.id,
            spec: self.spec.clone(),
            hits: self.hits,
            remaining: match self.kind {
                Kind::DropReply { remaining, .. } => remaining,
                _ => None,
            },
            until: match self.kind {
                Kind::Outage { until_ms } => Some(rfc3339(until_ms)),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Default)]
struct TenantFaults {
    next_id: u64,
    faults: Vec<Fault>,
}

/// The faults of every tenant.
#[derive(Debug, Default)]
pub struct Faults {
    /// Whether any tenant has a fault: the common case, none, then costs no lock.
    any: AtomicBool,
    tenants: Mutex<HashMap<TenantName, TenantFaults>>,
}

/// Whether a request falls in a fault's share.
fn draw(rng: &mut ChaCha8Rng, share: f64) -> bool {
    share >= 1.0 || rng.random::<f64>() < share
}

fn invalid(field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::InvalidField, detail).with_field(field)
}

fn check_share(share: Option<f64>) -> Result<f64, Problem> {
    match share {
        None => Ok(1.0),
        Some(s) if s > 0.0 && s <= 1.0 => Ok(s),
        Some(s) => Err(invalid(
            "share",
            format!("share {s} is not a fraction of requests: give a number above 0 and at most 1"),
        )),
    }
}

/// Checks `spec` against the routes faults may name, and reads it into what it does.
fn kind_of(spec: &FaultSpec, routes: &[&str], now_ms: u64) -> Result<Kind, Problem> {
    if let Some(route) = spec.route()
        && !routes.contains(&route)
    {
        return Err(invalid(
            "route",
            format!(
                "there is no API route {route:?}; faults can name {}",
                routes.join(", ")
            ),
        ));
    }
    match *spec {
        FaultSpec::Latency {
            ms, min_ms, max_ms, ..
        } => {
            let (min_ms, max_ms) = match (ms, min_ms, max_ms) {
                (Some(ms), None, None) => (ms, ms),
                (None, Some(min), Some(max)) if min <= max => (min, max),
                (None, Some(min), Some(max)) => {
                    return Err(invalid(
                        "min_ms",
                        format!("min_ms {min} is above max_ms {max}"),
                    ));
                }
                _ => {
                    return Err(invalid(
                        "ms",
                        "a latency fault takes either ms, or both min_ms and max_ms",
                    ));
                }
            };
            if max_ms > MAX_LATENCY_MS {
                return Err(invalid(
                    "max_ms",
                    format!("{max_ms} ms is longer than the longest latency, {MAX_LATENCY_MS} ms"),
                ));
            }
            Ok(Kind::Latency { min_ms, max_ms })
        }
        FaultSpec::Error { status, share, .. } => {
            if !(400..=599).contains(&status) {
                return Err(invalid(
                    "status",
                    format!("status {status} is not an error: give 400 to 599"),
                ));
            }
            Ok(Kind::Error {
                status,
                share: check_share(share)?,
            })
        }
        FaultSpec::Outage { seconds, .. } => {
            if seconds == 0 || seconds > MAX_OUTAGE_SECONDS {
                return Err(invalid(
                    "seconds",
                    format!("an outage lasts 1 to {MAX_OUTAGE_SECONDS} seconds, not {seconds}"),
                ));
            }
            Ok(Kind::Outage {
                until_ms: now_ms.saturating_add(seconds * 1000),
            })
        }
        FaultSpec::DropReply { next, share, .. } => match (next, share) {
            (Some(0), None) => Err(invalid("next", "next must be at least 1")),
            (Some(n), None) => Ok(Kind::DropReply {
                remaining: Some(n),
                share: 1.0,
            }),
            (None, share @ Some(_)) => Ok(Kind::DropReply {
                remaining: None,
                share: check_share(share)?,
            }),
            _ => Err(invalid(
                "next",
                "a drop-reply fault takes either next (how many requests) or share",
            )),
        },
    }
}

impl Faults {
    /// Sets a fault on `tenant` (whose seed is `seed` and clock reads `now_ms`). `routes`
    /// are the routes a fault may name.
    pub fn set(
        &self,
        tenant: &TenantName,
        seed: u64,
        now_ms: u64,
        spec: FaultSpec,
        routes: &[&str],
    ) -> Result<FaultInfo, Problem> {
        let kind = kind_of(&spec, routes, now_ms)?;
        let mut tenants = self.lock()?;
        let faults = tenants.entry(tenant.clone()).or_default();
        faults.next_id += 1;
        let id = faults.next_id;
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&id.to_le_bytes());
        key[16..24].copy_from_slice(b"faults\0\0");
        let fault = Fault {
            id,
            spec,
            kind,
            hits: 0,
            rng: ChaCha8Rng::from_seed(key),
        };
        let info = fault.info();
        faults.faults.push(fault);
        self.any.store(true, Ordering::Release);
        Ok(info)
    }

    /// `tenant`'s faults, oldest first.
    pub fn list(&self, tenant: &TenantName) -> Result<Vec<FaultInfo>, Problem> {
        Ok(self
            .lock()?
            .get(tenant)
            .map(|t| t.faults.iter().map(Fault::info).collect())
            .unwrap_or_default())
    }

    /// Clears fault `id` of `tenant`, or all of them; says how many were cleared.
    pub fn clear(&self, tenant: &TenantName, id: Option<u64>) -> usize {
        let Ok(mut tenants) = self.tenants.lock() else {
            return 0;
        };
        let Some(faults) = tenants.get_mut(tenant) else {
            return 0;
        };
        let before = faults.faults.len();
        faults.faults.retain(|f| id.is_some_and(|id| f.id != id));
        before - faults.faults.len()
    }

    /// What the faults of `tenant` do to a request on `route` when its clock reads
    /// `now_ms`. Hits are counted and shares drawn here, once per request.
    pub fn plan(&self, tenant: &TenantName, route: &str, now_ms: u64) -> FaultPlan {
        let mut plan = FaultPlan::default();
        if !self.any.load(Ordering::Acquire) {
            return plan;
        }
        let Ok(mut tenants) = self.tenants.lock() else {
            return plan;
        };
        let Some(faults) = tenants.get_mut(tenant) else {
            return plan;
        };
        for fault in faults.faults.iter_mut().filter(|f| f.matches(route)) {
            let hit = match fault.kind {
                Kind::Latency { min_ms, max_ms } => {
                    let ms = if max_ms > min_ms {
                        fault.rng.random_range(min_ms..=max_ms)
                    } else {
                        min_ms
                    };
                    plan.delay += Duration::from_millis(ms);
                    Some("latency")
                }
                Kind::Outage { until_ms } if now_ms < until_ms && plan.refuse.is_none() => {
                    let left = (until_ms - now_ms).div_ceil(1000);
                    plan.refuse = Some(Refusal {
                        problem: Problem::new(
                            ErrorCode::ServiceUnavailable,
                            format!(
                                "the Clearinghouse is in an outage injected for testing (fault {}) until {}, {left} s from now on the tenant's clock; nothing was applied",
                                fault.id,
                                rfc3339(until_ms)
                            ),
                        ),
                        retry_after: Some(left),
                    });
                    Some("outage")
                }
                Kind::Error { status, share }
                    if plan.refuse.is_none() && draw(&mut fault.rng, share) =>
                {
                    plan.refuse = Some(Refusal {
                        problem: Problem::new(
                            ErrorCode::InjectedFault,
                            format!(
                                "fault {} injected for testing answered {status} instead of the Clearinghouse; nothing was applied",
                                fault.id
                            ),
                        )
                        .with_status(status),
                        retry_after: None,
                    });
                    Some("error")
                }
                Kind::DropReply {
                    ref mut remaining,
                    share,
                } if plan.refuse.is_none() && !plan.drop_reply => match remaining {
                    Some(0) => None,
                    Some(n) => {
                        *n -= 1;
                        plan.drop_reply = true;
                        Some("drop-reply")
                    }
                    None if draw(&mut fault.rng, share) => {
                        plan.drop_reply = true;
                        Some("drop-reply")
                    }
                    None => None,
                },
                _ => None,
            };
            if let Some(kind) = hit {
                fault.hits += 1;
                plan.hits.push(kind);
            }
        }
        plan
    }

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<TenantName, TenantFaults>>, Problem> {
        self.tenants.lock().map_err(|_| {
            Problem::new(
                ErrorCode::Internal,
                "the fault table is unusable after an earlier failure; restart the clearinghouse",
            )
        })
    }
}
