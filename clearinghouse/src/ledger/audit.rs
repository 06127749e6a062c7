//! The audit: proves that a tenant's ledger keeps its promises, by recounting everything.
//!
//! - Conservation: for every purchase, product version and license type, purchased =
//!   unallocated + what key packs still hold.
//! - Every CAL that left a key pack is accounted for: held + moved out = issued.
//! - Bindings: every key pack ID opens with the license server ID it was issued for, to
//!   the product version, license type and quantity on record, and that ID belongs to the
//!   license server holding it.
//! - The holdings index agrees with the key packs.

use std::collections::BTreeMap;

use shared::id::KeyPackContents;
use shared::vocab::Term;
use shared::wire::AuditReport;

use super::LedgerError;
use super::records::{KeyPackEntry, Keys, Purchase, ServerRecord, decode, read};
use super::tenants::TenantName;
use crate::store::View;

/// Audits `tenant`.
pub fn audit(view: &View<'_>, tenant: &TenantName) -> Result<AuditReport, LedgerError> {
    let keys = Keys::new(tenant);
    let mut problems = Vec::new();
    let mut purchased = 0u64;
    let mut unallocated = 0u64;

    // What key packs hold, by (source, version, type), recounted from the key packs.
    let mut held: BTreeMap<(String, &'static str, &'static str), u64> = BTreeMap::new();
    let mut key_packs_checked = 0u64;
    for (key, bytes) in view.scan(&keys.key_packs())? {
        let entry: KeyPackEntry = decode(&key, &bytes)?;
        key_packs_checked += 1;
        check_key_pack(view, &keys, &entry, &mut problems)?;
        *held
            .entry((
                entry.source.clone(),
                entry.product_version.slug(),
                entry.license_type.slug(),
            ))
            .or_default() += u64::from(entry.held);
    }
    let allocated: u64 = held.values().sum();

    let mut purchases_checked = 0u64;
    for (key, bytes) in view.scan(&keys.purchases())? {
        let purchase: Purchase = decode(&key, &bytes)?;
        purchases_checked += 1;
        let source = String::from_utf8_lossy(&key[keys.purchases().len()..]).into_owned();
        for h in &purchase.holdings {
            purchased += u64::from(h.purchased);
            unallocated += u64::from(h.unallocated);
            let on_servers = held
                .remove(&(
                    source.clone(),
                    h.product_version.slug(),
                    h.license_type.slug(),
                ))
                .unwrap_or(0);
            if u64::from(h.purchased) != u64::from(h.unallocated) + on_servers {
                problems.push(format!(
                    "{source} {} {}: {} purchased, but {} unallocated + {} on license servers",
                    h.product_version, h.license_type, h.purchased, h.unallocated, on_servers
                ));
            }
        }
    }
    for ((source, version, license_type), n) in held {
        problems.push(format!(
            "{n} {version} {license_type} CALs of {source} are on license servers, but no purchase holds them"
        ));
    }

    Ok(AuditReport {
        tenant: tenant.to_string(),
        ok: problems.is_empty(),
        purchases_checked,
        key_packs_checked,
        purchased,
        allocated,
        unallocated,
        problems,
    })
}

fn check_key_pack(
    view: &View<'_>,
    keys: &Keys<'_>,
    entry: &KeyPackEntry,
    problems: &mut Vec<String>,
) -> Result<(), LedgerError> {
    let id = entry.id;
    match id.open(&entry.bound_to) {
        Ok(KeyPackContents {
            product_version,
            license_type,
            quantity,
        }) if (product_version, license_type, quantity.get())
            == (entry.product_version, entry.license_type, entry.issued) => {}
        Ok(contents) => problems.push(format!(
            "key pack {id} carries {contents:?}, but the ledger records {} {} {}",
            entry.issued, entry.product_version, entry.license_type
        )),
        Err(e) => problems.push(format!(
            "key pack {id} does not open for {}: {e}",
            entry.bound_to
        )),
    }
    match read::<ServerRecord>(view, &keys.server(entry.server))? {
        Some(server)
            if server.current_id == entry.bound_to
                || server.former_ids.contains(&entry.bound_to) => {}
        Some(_) => problems.push(format!(
            "key pack {id} is bound to {}, which is not an ID of the license server holding it",
            entry.bound_to
        )),
        None => problems.push(format!(
            "key pack {id} is held by a license server that does not exist"
        )),
    }
    let moved: u32 = entry.moved.iter().map(|m| u32::from(m.quantity)).sum();
    if u32::from(entry.held) + moved != u32::from(entry.issued) {
        problems.push(format!(
            "key pack {id} was issued {} CALs, but holds {} and moved {moved}",
            entry.issued, entry.held
        ));
    }
    let index: Option<u16> = read(view, &keys.holding(&entry.source, entry))?;
    let expected = (entry.held > 0).then_some(entry.held);
    if index != expected {
        problems.push(format!(
            "key pack {id} holds {}, but the holdings index says {index:?}",
            entry.held
        ));
    }
    Ok(())
}
