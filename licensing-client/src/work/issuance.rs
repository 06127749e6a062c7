//! What a license server does between migrations: issue CALs to the clients of its
//! session hosts, renew them, let them expire, and revoke them, as the real license server
//! does. Every rule here works on the state and a time; the daemon and the command line
//! only call them.
//!
//! - **Per Device**: a device's first connection gets a temporary CAL for 90 days; its next
//!   connection upgrades it to a permanent CAL when the server is activated and a CAL of a
//!   version the session host accepts is available. A permanent CAL lasts a random 52 to 89
//!   days and is renewed for another such span when the device connects within 7 days of
//!   its expiry. With none available, a temporary CAL keeps working until its 90 days run
//!   out; then the device is refused.
//! - **Per User**: recorded and reported, never enforced (the CAL is shown as lasting 60
//!   days and extended at each sign-in); more issued than installed is logged as a warning.
//! - **Revoke**: Per Device permanent CALs only. At most 20% of the Per Device CALs of a
//!   version installed on the server (or one, whichever is more) may be in the revoked
//!   state at once; a revoked CAL is available again at once and leaves the revoked state
//!   when it would have expired.
//! - **Versions**: a CAL serves session hosts of its version or older; a license server
//!   takes CALs of its own version or older ([`check_version`]).

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use shared::vocab::{LicenseType, ProductVersion, WindowsServer};
use thiserror::Error;

use crate::state::{Activation, CalStatus, EventLevel, IssuedCal, ServerState, Stamp};

const DAY: u64 = 24 * 60 * 60;
/// How long a temporary Per Device CAL lasts.
pub const TEMPORARY_DAYS: u64 = 90;
/// The shortest and longest a permanent Per Device CAL lasts.
pub const PERMANENT_DAYS: std::ops::RangeInclusive<u64> = 52..=89;
/// How close to its expiry a permanent CAL is renewed.
pub const RENEW_WITHIN_DAYS: u64 = 7;
/// How long a Per User CAL is shown to last, from the last sign-in.
pub const PER_USER_DAYS: u64 = 60;
/// The share of a version's installed Per Device CALs that may be revoked at once, in
/// percent.
pub const REVOKE_PERCENT: u32 = 20;

/// What a client was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant", rename_all = "kebab-case")]
pub enum Grant {
    /// A temporary Per Device CAL, new or still valid.
    Temporary {
        /// Its expiry.
        expires_at: Stamp,
        /// Whether it was issued by this connection.
        new: bool,
    },
    /// A permanent Per Device CAL.
    Permanent {
        /// Its expiry.
        expires_at: Stamp,
        /// The key pack it came from.
        key_pack: u32,
        /// What this connection did: issued (upgraded a temporary), renewed, or nothing.
        change: Change,
    },
    /// A Per User CAL, recorded (not enforced).
    PerUser {
        /// When it is shown to expire.
        expires_at: Stamp,
    },
}

/// What a connection did to a permanent CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Issued now (a temporary CAL upgraded).
    Issued,
    /// Renewed, being within 7 days of its expiry.
    Renewed,
    /// Still valid; nothing changed.
    Kept,
}

/// Why a client was refused a CAL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The device's temporary CAL expired and no permanent one could be issued.
    #[error(
        "The remote session was disconnected because there are no Remote Desktop client access licenses available for this computer ({client}: its temporary CAL expired on {expired}, and no {wanted} Per Device CAL is available on this license server)"
    )]
    NoCalAvailable {
        /// The device.
        client: String,
        /// When its temporary CAL expired.
        expired: Stamp,
        /// The CALs it needs, e.g. "Windows Server 2022 or newer".
        wanted: String,
    },
    /// The device had its one temporary CAL, and no permanent one could be issued.
    #[error(
        "The remote session was disconnected because there are no Remote Desktop client access licenses available for this computer ({client} has had its one temporary CAL, and {reason})"
    )]
    NoCalForReturningDevice {
        /// The device.
        client: String,
        /// Why no permanent CAL could be issued.
        reason: String,
    },
    /// The license server is deactivated: it licenses no new client.
    #[error(
        "this license server is deactivated and licenses no new client: reactivate it (`license-server reactivate`)"
    )]
    Deactivated,
    /// The client name is empty or too long.
    #[error("a client name is 1 to 64 characters, without control characters")]
    BadClient,
}

/// Why a CAL could not be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// No active Per Device CAL is issued to that client.
    #[error(
        "no permanent Per Device CAL is issued to {client}; only those can be revoked (Per User CALs and temporary CALs cannot)"
    )]
    NothingToRevoke {
        /// The client.
        client: String,
    },
    /// The revoke limit is reached.
    #[error(
        "{revoked} of the {installed} {version} Per Device CALs on this license server are revoked already, the most that may be ({limit}: 20%, or one); the next can be revoked on {next_allowed_on}"
    )]
    LimitReached {
        /// The CALs' version.
        version: ProductVersion,
        /// How many are installed.
        installed: u32,
        /// How many are in the revoked state.
        revoked: u32,
        /// The limit.
        limit: u32,
        /// When a revoked CAL leaves the revoked state.
        next_allowed_on: Stamp,
    },
}

/// A CAL revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The client it was issued to.
    pub client: String,
    /// The key pack it returned to.
    pub key_pack: u32,
    /// How many more CALs of its version may be revoked now.
    pub revocable: u32,
}

/// Why CALs cannot be installed on this license server: they are newer than it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "{version} CALs cannot be installed on this license server: it runs {os}, and a license server accepts only CALs of its own Windows Server version or older. Install them on a license server running {} or newer (if the Clearinghouse already issued them to this one, migrate them from it to that one), or ask for {} CALs or older",
    version.release(),
    newest_for(*os)
)]
pub struct TooNew {
    /// The CALs' version.
    pub version: ProductVersion,
    /// The license server's operating system.
    pub os: WindowsServer,
}

/// The version rule of installation: CALs of the server's version or older.
pub fn check_version(os: WindowsServer, version: ProductVersion) -> Result<(), TooNew> {
    if !version.installs_on(os) {
        return Err(TooNew { version, os });
    }
    Ok(())
}

/// The newest CALs a license server or session host running `os` takes.
fn newest_for(os: WindowsServer) -> ProductVersion {
    newest_version_for(os)
}

fn valid_client(client: &str) -> bool {
    !client.trim().is_empty()
        && client.chars().count() <= 64
        && !client.chars().any(char::is_control)
}

/// Lets the CALs that expired by `now` go: a permanent Per Device CAL returns to its key
/// pack, a revoked one leaves the revoked state, a Per User CAL drops off the list.
/// Expired temporary CALs are kept: a device gets one temporary CAL only.
pub fn expire(state: &mut ServerState, now: Stamp) {
    let (expired, kept): (Vec<IssuedCal>, Vec<IssuedCal>) = std::mem::take(&mut state.issued)
        .into_iter()
        .partition(|c| c.expires_at <= now && c.status != CalStatus::Temporary);
    state.issued = kept;
    for cal in expired {
        if cal.status == CalStatus::Active
            && let Some(pack) = cal
                .key_pack
                .and_then(|n| state.key_packs.iter_mut().find(|k| k.local_id == n))
        {
            pack.issued = pack.issued.saturating_sub(1);
            let message = format!(
                "the {} Per Device CAL of {} expired and returned to key pack {}",
                cal.product_version, cal.client, pack.local_id
            );
            state.log(EventLevel::Information, message);
        }
    }
}

/// A client's connection through a session host running `host`: the CAL it gets, as the
/// license server decides at `now`. A user's organizational unit (`ou`) is kept for the
/// CAL usage reports.
pub fn connect(
    state: &mut ServerState,
    client: &str,
    license_type: LicenseType,
    host: WindowsServer,
    ou: Option<&str>,
    now: Stamp,
    rng: &mut impl Rng,
) -> Result<Grant, Refusal> {
    if !valid_client(client) {
        return Err(Refusal::BadClient);
    }
    if matches!(state.activation, Activation::Deactivated { .. }) {
        return Err(Refusal::Deactivated);
    }
    expire(state, now);
    match license_type {
        LicenseType::PerUser => Ok(per_user(state, client, host, ou, now)),
        LicenseType::PerDevice => per_device(state, client, host, now, rng),
    }
}

fn per_user(
    state: &mut ServerState,
    client: &str,
    host: WindowsServer,
    ou: Option<&str>,
    now: Stamp,
) -> Grant {
    let expires_at = now.plus(PER_USER_DAYS * DAY);
    let existing = state
        .issued
        .iter_mut()
        .find(|c| c.license_type == LicenseType::PerUser && c.client == client);
    match existing {
        Some(cal) => {
            cal.expires_at = expires_at;
            if let Some(ou) = ou {
                cal.ou = Some(ou.to_owned());
            }
        }
        None => {
            let version = per_user_version(state, host);
            state.issued.push(IssuedCal {
                client: client.to_owned(),
                license_type: LicenseType::PerUser,
                status: CalStatus::Active,
                product_version: version,
                key_pack: None,
                ou: ou.map(str::to_owned),
                issued_at: now,
                expires_at,
            });
            let issued = issued_count(state, LicenseType::PerUser);
            let installed = installed_count(state, LicenseType::PerUser, None);
            if issued > installed {
                let message = format!(
                    "{issued} Per User CALs are issued but {installed} are installed: Per User CALs are not enforced, and this is over the license terms"
                );
                state.log(EventLevel::Warning, message);
            }
        }
    }
    Grant::PerUser { expires_at }
}

/// The version a new Per User CAL for a user of a session host running `host` counts
/// against: the oldest installed Per User CALs that serve the host (its version or newer)
/// with one left, else the oldest that serve it at all (Per User CALs are not enforced),
/// else, with none installed, the host's own version.
fn per_user_version(state: &ServerState, host: WindowsServer) -> ProductVersion {
    let serving: Vec<ProductVersion> = <ProductVersion as shared::vocab::Term>::ALL
        .iter()
        .copied()
        .filter(|v| v.serves(host))
        .filter(|v| installed_count(state, LicenseType::PerUser, Some(*v)) > 0)
        .collect();
    let issued = |v: ProductVersion| per_user_issued(state, v).count();
    serving
        .iter()
        .copied()
        .find(|&v| {
            let installed = installed_count(state, LicenseType::PerUser, Some(v));
            usize::try_from(installed).unwrap_or(usize::MAX) > issued(v)
        })
        .or_else(|| serving.first().copied())
        .unwrap_or_else(|| newest_version_for(host))
}

/// A permanent Per Device CAL taken from a key pack, not yet given to a device.
struct Permanent {
    key_pack: u32,
    version: ProductVersion,
    issued_at: Stamp,
    expires_at: Stamp,
}

impl Permanent {
    /// Makes the CAL `state.issued[index]` (a device's temporary CAL) this permanent one.
    fn grant_to(self, state: &mut ServerState, index: usize) -> Grant {
        let cal = &mut state.issued[index];
        cal.status = CalStatus::Active;
        cal.product_version = self.version;
        cal.key_pack = Some(self.key_pack);
        cal.issued_at = self.issued_at;
        cal.expires_at = self.expires_at;
        let message = format!(
            "a permanent {} Per Device CAL from key pack {} was issued to {} until {}",
            self.version, self.key_pack, cal.client, self.expires_at
        );
        state.log(EventLevel::Information, message);
        Grant::Permanent {
            expires_at: self.expires_at,
            key_pack: self.key_pack,
            change: Change::Issued,
        }
    }
}

/// Takes a permanent Per Device CAL for a session host running `host` from the oldest
/// key pack of CALs that serve it with one available, if the server is activated.
fn take_permanent(
    state: &mut ServerState,
    host: WindowsServer,
    now: Stamp,
    rng: &mut impl Rng,
) -> Option<Permanent> {
    if !matches!(state.activation, Activation::Activated { .. }) {
        return None;
    }
    let pack = state
        .key_packs
        .iter_mut()
        .filter(|k| {
            k.license_type == LicenseType::PerDevice
                && k.product_version.serves(host)
                && k.available() > 0
        })
        .min_by_key(|k| (k.product_version.release(), k.local_id))?;
    pack.issued += 1;
    Some(Permanent {
        key_pack: pack.local_id,
        version: pack.product_version,
        issued_at: now,
        expires_at: now.plus(rng.random_range(PERMANENT_DAYS) * DAY),
    })
}

fn per_device(
    state: &mut ServerState,
    client: &str,
    host: WindowsServer,
    now: Stamp,
    rng: &mut impl Rng,
) -> Result<Grant, Refusal> {
    let index = state.issued.iter().position(|c| {
        c.license_type == LicenseType::PerDevice
            && c.client == client
            && c.status != CalStatus::Revoked
    });
    let Some(index) = index else {
        // A device gets one temporary CAL. One back after its permanent CAL expired or was
        // revoked gets a permanent CAL if one is available, and is refused otherwise.
        if state.had_temporary.iter().any(|c| c == client) {
            return match take_permanent(state, host, now, rng) {
                Some(permanent) => {
                    state.issued.push(IssuedCal {
                        client: client.to_owned(),
                        license_type: LicenseType::PerDevice,
                        status: CalStatus::Temporary,
                        product_version: permanent.version,
                        key_pack: None,
                        ou: None,
                        issued_at: now,
                        expires_at: now,
                    });
                    let index = state.issued.len() - 1;
                    Ok(permanent.grant_to(state, index))
                }
                None => {
                    let reason = if matches!(state.activation, Activation::Activated { .. }) {
                        format!(
                            "no {host} or newer Per Device CAL is available on this license server"
                        )
                    } else {
                        "this license server is not activated, so it issues no permanent CAL"
                            .to_owned()
                    };
                    let message =
                        format!("{client} was refused: it had its temporary CAL, and {reason}");
                    state.log(EventLevel::Warning, message);
                    Err(Refusal::NoCalForReturningDevice {
                        client: client.to_owned(),
                        reason,
                    })
                }
            };
        }
        state.had_temporary.push(client.to_owned());
        state.issued.push(IssuedCal {
            client: client.to_owned(),
            license_type: LicenseType::PerDevice,
            status: CalStatus::Temporary,
            product_version: newest_version_for(host),
            key_pack: None,
            ou: None,
            issued_at: now,
            expires_at: now.plus(TEMPORARY_DAYS * DAY),
        });
        let message =
            format!("a temporary Per Device CAL was issued to {client} for {TEMPORARY_DAYS} days");
        state.log(EventLevel::Information, message);
        return Ok(Grant::Temporary {
            expires_at: now.plus(TEMPORARY_DAYS * DAY),
            new: true,
        });
    };
    let cal = state.issued[index].clone();
    if cal.status == CalStatus::Active {
        let key_pack = cal.key_pack.unwrap_or_default();
        if cal.expires_at.0.saturating_sub(now.0) <= RENEW_WITHIN_DAYS * DAY {
            let expires_at = now.plus(rng.random_range(PERMANENT_DAYS) * DAY);
            state.issued[index].issued_at = now;
            state.issued[index].expires_at = expires_at;
            let message = format!("the Per Device CAL of {client} was renewed until {expires_at}");
            state.log(EventLevel::Information, message);
            return Ok(Grant::Permanent {
                expires_at,
                key_pack,
                change: Change::Renewed,
            });
        }
        return Ok(Grant::Permanent {
            expires_at: cal.expires_at,
            key_pack,
            change: Change::Kept,
        });
    }
    // A temporary CAL: upgraded when the server is activated and a CAL is available.
    match take_permanent(state, host, now, rng) {
        Some(permanent) => Ok(permanent.grant_to(state, index)),
        _ if cal.expires_at > now => Ok(Grant::Temporary {
            expires_at: cal.expires_at,
            new: false,
        }),
        _ => {
            let wanted = format!("{host} or newer");
            let message = format!(
                "{client} was refused: its temporary CAL expired and no {wanted} Per Device CAL is available"
            );
            state.log(EventLevel::Warning, message);
            Err(Refusal::NoCalAvailable {
                client: client.to_owned(),
                expired: cal.expires_at,
                wanted,
            })
        }
    }
}

/// Revokes the permanent Per Device CAL of `client` at `now`, within the revoke limit.
pub fn revoke(state: &mut ServerState, client: &str, now: Stamp) -> Result<Revoked, RevokeError> {
    expire(state, now);
    let index = state
        .issued
        .iter()
        .position(|c| {
            c.license_type == LicenseType::PerDevice
                && c.client == client
                && c.status == CalStatus::Active
        })
        .ok_or_else(|| RevokeError::NothingToRevoke {
            client: client.to_owned(),
        })?;
    let version = state.issued[index].product_version;
    let installed = installed_count(state, LicenseType::PerDevice, Some(version));
    let limit = (installed * REVOKE_PERCENT / 100).max(1);
    let revoked_now: Vec<Stamp> = state
        .issued
        .iter()
        .filter(|c| c.status == CalStatus::Revoked && c.product_version == version)
        .map(|c| c.expires_at)
        .collect();
    let revoked = u32::try_from(revoked_now.len()).unwrap_or(u32::MAX);
    if revoked >= limit {
        let next_allowed_on = revoked_now.into_iter().min().unwrap_or(now);
        return Err(RevokeError::LimitReached {
            version,
            installed,
            revoked,
            limit,
            next_allowed_on,
        });
    }
    let cal = &mut state.issued[index];
    cal.status = CalStatus::Revoked;
    let key_pack = cal.key_pack.unwrap_or_default();
    if let Some(pack) = state.key_packs.iter_mut().find(|k| k.local_id == key_pack) {
        pack.issued = pack.issued.saturating_sub(1);
    }
    let message = format!(
        "the {version} Per Device CAL of {client} was revoked and returned to key pack {key_pack}"
    );
    state.log(EventLevel::Information, message);
    Ok(Revoked {
        client: client.to_owned(),
        key_pack,
        revocable: limit - revoked - 1,
    })
}

/// The newest CAL version a session host running `host` takes: its own, or for an older
/// host than any CAL version, the oldest.
fn newest_version_for(host: WindowsServer) -> ProductVersion {
    <ProductVersion as shared::vocab::Term>::ALL
        .iter()
        .copied()
        .filter(|v| v.release() <= host)
        .max_by_key(|v| v.release())
        .unwrap_or(ProductVersion::WindowsServer2003)
}

/// The Per User CALs issued that count against the installed CALs of `version`.
pub fn per_user_issued(
    state: &ServerState,
    version: ProductVersion,
) -> impl Iterator<Item = &IssuedCal> {
    state.issued.iter().filter(move |c| {
        c.license_type == LicenseType::PerUser
            && c.status == CalStatus::Active
            && c.product_version == version
    })
}

fn issued_count(state: &ServerState, license_type: LicenseType) -> u32 {
    let count = state
        .issued
        .iter()
        .filter(|c| c.license_type == license_type && c.status == CalStatus::Active)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The CALs of a type (and version) installed on the server now.
pub fn installed_count(
    state: &ServerState,
    license_type: LicenseType,
    version: Option<ProductVersion>,
) -> u32 {
    state
        .key_packs
        .iter()
        .filter(|k| {
            k.license_type == license_type && version.is_none_or(|v| k.product_version == v)
        })
        .map(|k| k.total())
        .sum()
}
