//! The audit: proves that a tenant's ledger keeps its promises, by recounting everything.
//!
//! - Conservation: for every purchase, product version and license type, purchased =
//!   unallocated + what key packs still hold.
//! - Every CAL that left a key pack is accounted for: held + moved out = issued.
//! - Bindings: every key pack ID opens with the license server ID it was issued for, to
//!   the product version, license type and quantity on record, and that ID belongs to the
//!   license server holding it.
//! - The counters of what each license server holds agree with its key packs.
//! - A retail code is used up exactly when it names the key pack it went to.

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

    // What key packs hold, by (source, version, type, server), recounted from the key packs.
    let mut recount: BTreeMap<(String, &'static str, &'static str, u64), u64> = BTreeMap::new();
    let mut key_packs_checked = 0u64;
    for entry in view.scan(&keys.key_packs()) {
        let (key, bytes) = entry?;
        let entry: KeyPackEntry = decode(&key, &bytes)?;
        key_packs_checked += 1;
        if key != keys.key_pack(entry.server, entry.serial) {
            problems.push(format!(
                "key pack {} is stored under another license server",
                entry.id
            ));
        }
        check_key_pack(view, &keys, &entry, &mut problems)?;
        if entry.held > 0 {
            *recount
                .entry((
                    entry.source.clone(),
                    entry.product_version.slug(),
                    entry.license_type.slug(),
                    entry.server,
                ))
                .or_default() += u64::from(entry.held);
        }
    }
    let all_held = keys.all_held();
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    for entry in view.scan(&all_held) {
        let (key, bytes) = entry?;
        let name = String::from_utf8_lossy(&key[all_held.len()..]).into_owned();
        counters.insert(name, decode(&key, &bytes)?);
    }
    let mut held: BTreeMap<(String, &'static str, &'static str), u64> = BTreeMap::new();
    for ((source, version, license_type, server), n) in &recount {
        let name = format!("{source}/{version}/{license_type}/{server:020}");
        match counters.remove(&name) {
            Some(counted) if counted == *n => {}
            counted => problems.push(format!(
                "license server {server} holds {n} {version} {license_type} CALs of {source}, but its counter says {counted:?}"
            )),
        }
        *held
            .entry((source.clone(), version, license_type))
            .or_default() += n;
    }
    for (name, n) in counters {
        problems.push(format!(
            "counter {name} says {n} CALs, but no key pack holds them"
        ));
    }
    let allocated: u64 = held.values().sum();

    let mut purchases_checked = 0u64;
    for entry in view.scan(&keys.purchases()) {
        let (key, bytes) = entry?;
        let purchase: Purchase = decode(&key, &bytes)?;
        purchases_checked += 1;
        let source = String::from_utf8_lossy(&key[keys.purchases().len()..]).into_owned();
        let used_up = purchase.holdings.iter().all(|h| h.unallocated == 0);
        if purchase.is_retail() && used_up != purchase.used_by.is_some() {
            problems.push(format!(
                "{source}: a retail code is used exactly when it names the key pack it went to"
            ));
        }
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
    if id.serial(&entry.bound_to).ok() != Some(entry.serial) {
        problems.push(format!(
            "key pack {id} is stored as serial {}, which its ID does not carry",
            entry.serial.get()
        ));
    }
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
    Ok(())
}
