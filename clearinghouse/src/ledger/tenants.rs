//! Tenants: isolated ledgers inside one clearinghouse (a test suite, a lab seat). Created,
//! seeded with purchases, reset and deleted; nothing of one is visible to another.

use std::fmt;

use shared::vocab::{LicenseProgram, Quantity};
use shared::wire::{DEFAULT_TENANT, PurchaseSpec, TenantClock, TenantInfo};

use super::clock::rfc3339;
use super::records::{self, Holding, Keys, Purchase, TenantMeta, read, source_key, write};
use super::rules::describe;
use super::{ClockChange, LedgerError};
use crate::store::View;

/// The most CALs one purchase may hold of one product version and license type.
pub const MAX_PURCHASED: u32 = 10_000_000;

/// A valid tenant name: 1 to 63 lower-case ASCII letters, digits and dashes, not starting
/// with a dash. Names appear in keys and URLs, so nothing else is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantName(String);

impl TenantName {
    /// Checks `name`.
    pub fn parse(name: &str) -> Result<Self, LedgerError> {
        let valid = (1..=63).contains(&name.len())
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(TenantName(name.to_owned()))
        } else {
            Err(LedgerError::InvalidTenantName(name.to_owned()))
        }
    }

    /// The tenant that requests naming none are for.
    pub fn default_tenant() -> Self {
        TenantName(DEFAULT_TENANT.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The tenant's settings, if it exists.
pub fn meta(view: &View<'_>, tenant: &TenantName) -> Result<Option<TenantMeta>, LedgerError> {
    read(view, &Keys::new(tenant).meta())
}

/// Creates `tenant` with `seed`, holding `purchases`.
pub fn create(
    view: &mut View<'_>,
    tenant: &TenantName,
    seed: u64,
    purchases: &[PurchaseSpec],
) -> Result<TenantInfo, LedgerError> {
    create_seat(view, tenant, seed, purchases, None)
}

/// Creates `tenant` as [`create`] does, for a class's seat when `seat_token_sha256` is
/// given: every request for it must then carry the token.
pub fn create_seat(
    view: &mut View<'_>,
    tenant: &TenantName,
    seed: u64,
    purchases: &[PurchaseSpec],
    seat_token_sha256: Option<String>,
) -> Result<TenantInfo, LedgerError> {
    if meta(view, tenant)?.is_some() {
        return Err(LedgerError::TenantExists(tenant.to_string()));
    }
    let meta = TenantMeta {
        seed,
        seq: 0,
        next_server: 1,
        clock_offset_ms: 0,
        seat_token_sha256,
    };
    write(view, Keys::new(tenant).meta(), &meta)?;
    for spec in purchases {
        add_purchase(view, tenant, spec)?;
    }
    Ok(TenantInfo {
        name: tenant.to_string(),
        seed,
    })
}

/// Removes `tenant` and every record it has, returning its settings.
fn remove(view: &mut View<'_>, tenant: &TenantName) -> Result<TenantMeta, LedgerError> {
    let old = meta(view, tenant)?.ok_or_else(|| LedgerError::UnknownTenant(tenant.to_string()))?;
    let keys = view
        .scan(&Keys::new(tenant).all())
        .map(|entry| entry.map(|(key, _)| key))
        .collect::<Result<Vec<_>, _>>()?;
    for key in keys {
        view.remove(key);
    }
    view.remove(Keys::new(tenant).meta());
    Ok(old)
}

/// Puts `tenant` back as it was created: same seed, the given purchases, nothing else.
pub fn reset(
    view: &mut View<'_>,
    tenant: &TenantName,
    purchases: &[PurchaseSpec],
) -> Result<TenantInfo, LedgerError> {
    let old = remove(view, tenant)?;
    // A seat stays a seat, with its token.
    create_seat(view, tenant, old.seed, purchases, old.seat_token_sha256)
}

/// Deletes `tenant` and everything it holds.
pub fn delete(view: &mut View<'_>, tenant: &TenantName) -> Result<TenantInfo, LedgerError> {
    if *tenant == TenantName::default_tenant() {
        return Err(LedgerError::DefaultTenantUndeletable);
    }
    let old = remove(view, tenant)?;
    Ok(TenantInfo {
        name: tenant.to_string(),
        seed: old.seed,
    })
}

/// Every tenant, by name.
pub fn list(view: &View<'_>) -> Result<Vec<TenantInfo>, LedgerError> {
    view.scan(records::TENANT_REGISTRY)
        .map(|entry| {
            let (key, bytes) = entry?;
            let meta: TenantMeta = records::decode(&key, &bytes)?;
            let name = String::from_utf8_lossy(&key[records::TENANT_REGISTRY.len()..]).into_owned();
            Ok(TenantInfo {
                name,
                seed: meta.seed,
            })
        })
        .collect()
}

/// Adds an agreement, Open License or retail license pack to `tenant`.
pub fn add_purchase(
    view: &mut View<'_>,
    tenant: &TenantName,
    spec: &PurchaseSpec,
) -> Result<(), LedgerError> {
    let keys = Keys::new(tenant);
    let invalid = |message: String| LedgerError::InvalidPurchase { message };
    let what = describe(&spec.license);
    if spec.cals.is_empty() {
        return Err(invalid(format!("{what} must hold some CALs")));
    }
    let mut holdings: Vec<Holding> = Vec::new();
    for cals in &spec.cals {
        if !(1..=MAX_PURCHASED).contains(&cals.quantity) {
            return Err(invalid(format!(
                "{what}: a quantity must be from 1 to {MAX_PURCHASED}, not {}",
                cals.quantity
            )));
        }
        if holdings.iter().any(|h| {
            h.product_version == cals.product_version && h.license_type == cals.license_type
        }) {
            return Err(invalid(format!(
                "{what} lists {} {} CALs twice",
                cals.product_version, cals.license_type
            )));
        }
        holdings.push(Holding {
            product_version: cals.product_version,
            license_type: cals.license_type,
            purchased: cals.quantity,
            unallocated: cals.quantity,
        });
    }
    if spec.license.program() == LicenseProgram::RetailPurchase
        && (holdings.len() != 1 || holdings[0].purchased > u32::from(Quantity::MAX))
    {
        return Err(invalid(format!(
            "{what}: a retail license pack holds one product version and license type, at most {} CALs",
            Quantity::MAX
        )));
    }
    let key = keys.purchase(&source_key(&spec.license));
    if view.get(&key)?.is_some() {
        return Err(LedgerError::PurchaseExists(what));
    }
    write(
        view,
        key,
        &Purchase {
            license: spec.license.clone(),
            holdings,
            used_by: None,
        },
    )
}

fn existing(view: &View<'_>, tenant: &TenantName) -> Result<TenantMeta, LedgerError> {
    meta(view, tenant)?.ok_or_else(|| LedgerError::UnknownTenant(tenant.to_string()))
}

/// Gives `tenant` a new seed: the IDs it draws from now on derive from it.
pub fn set_seed(
    view: &mut View<'_>,
    tenant: &TenantName,
    seed: u64,
) -> Result<TenantInfo, LedgerError> {
    let mut meta = existing(view, tenant)?;
    meta.seed = seed;
    write(view, Keys::new(tenant).meta(), &meta)?;
    Ok(TenantInfo {
        name: tenant.to_string(),
        seed,
    })
}

/// The time on `tenant`'s clock when the clearinghouse's reads `base_ms`.
pub fn clock(
    view: &View<'_>,
    tenant: &TenantName,
    base_ms: u64,
) -> Result<TenantClock, LedgerError> {
    Ok(describe_clock(tenant, &existing(view, tenant)?, base_ms))
}

fn describe_clock(tenant: &TenantName, meta: &TenantMeta, base_ms: u64) -> TenantClock {
    let now_ms = meta.now_ms(base_ms);
    TenantClock {
        tenant: tenant.to_string(),
        now: rfc3339(now_ms),
        now_ms,
        offset_ms: meta.clock_offset_ms,
    }
}

/// Sets or moves `tenant`'s clock.
pub fn change_clock(
    view: &mut View<'_>,
    tenant: &TenantName,
    change: ClockChange,
    base_ms: u64,
) -> Result<TenantClock, LedgerError> {
    let mut meta = existing(view, tenant)?;
    let target = match change {
        ClockChange::SetTo(ms) => i128::from(ms),
        ClockChange::Advance(ms) => i128::from(meta.now_ms(base_ms)) + i128::from(ms),
    };
    if !(0..=i128::from(super::clock::LATEST_MS)).contains(&target) {
        return Err(LedgerError::ClockOutOfRange);
    }
    meta.clock_offset_ms =
        i64::try_from(target - i128::from(base_ms)).map_err(|_| LedgerError::ClockOutOfRange)?;
    write(view, Keys::new(tenant).meta(), &meta)?;
    Ok(describe_clock(tenant, &meta, base_ms))
}
