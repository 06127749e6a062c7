//! What the command prints: text for people, or JSON for scripts (`--json`).
//!
//! Results go to standard output; prompts, progress and errors to standard error.

use std::net::SocketAddr;
use std::path::Path;

use licensing_client::id::{ConfirmationCode, LicenseServerId};
use licensing_client::state::{
    Event, InstalledKeyPack, IssuedCal, KeyPackSource, Report, ServerState, Stamp,
};
use licensing_client::vocab::counted;
use licensing_client::work::backup::{Rebuilt, Restored};
use licensing_client::work::issuance::{Change, Grant, Revoked};
use licensing_client::work::removal::{Discrepancy, RemovedByHand};
use licensing_client::work::session_host::{Admitted, SessionHostState};
use licensing_client::{Desk, Error, Handoff, Migrated};

use crate::Failure;
use serde_json::{Value, json};

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

/// How many events `status` shows.
const RECENT_EVENTS: usize = 8;

impl Output {
    fn print_json(&self, value: &Value) {
        out!("{value}");
    }

    pub fn failure(&self, failure: &Failure) {
        if self.json {
            let mut value = json!({"error": failure.message, "code": failure.code});
            if let Some(reminder) = &failure.reminder {
                let mut shown = serde_json::to_value(reminder).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut shown {
                    map.insert("text".into(), json!(reminder.to_string()));
                }
                value["reminder"] = shown;
            }
            eprintln!("{value}");
        } else {
            eprintln!("error: {}", failure.message);
        }
    }

    pub fn ready(&self, addr: SocketAddr) {
        if self.json {
            self.print_json(&json!({"ready": format!("http://{addr}")}));
        } else {
            out!("ready http://{addr}");
        }
    }

    /// The license server, and what `check` found when the key packs were compared with
    /// what the Clearinghouse allocates them.
    pub fn status(
        &self,
        state: &ServerState,
        dir: &Path,
        check: Option<&Result<Vec<Discrepancy>, Error>>,
    ) {
        if self.json {
            let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("state_dir".into(), json!(dir.display().to_string()));
                if let Some(check) = check {
                    let checked = match check {
                        Ok(found) => json!({"checked": true, "not_removed": found}),
                        Err(e) => json!({"checked": false, "error": e.to_string()}),
                    };
                    map.insert("clearinghouse_check".into(), checked);
                }
            }
            self.print_json(&value);
            return;
        }
        let identity = &state.identity;
        let company = &identity.company;
        out!("License server {} ({})", identity.name, identity.os);
        out!("  state directory      {}", dir.display());
        out!("  product ID           {}", identity.product_id);
        out!("  status               {}", state.activation.word());
        if let Some(id) = state.activation.license_server_id() {
            out!("  license server ID    {id}");
        }
        out!("  connection method    {}", identity.connection_method);
        let tenant = match &identity.clearinghouse.tenant {
            Some(t) => format!(" (tenant {t})"),
            None => String::new(),
        };
        out!(
            "  clearinghouse        {}{tenant}",
            identity.clearinghouse.url
        );
        out!(
            "  company              {} {}, {}, {}",
            company.first_name(),
            company.last_name(),
            company.company(),
            company.country_region()
        );
        if state.clock_offset_secs > 0 {
            out!(
                "  clock                {} (moved forward {})",
                state.clock(),
                counted(state.clock_offset_secs / 86_400, "day")
            );
        }
        if !state.issued.is_empty() {
            out!(
                "  CALs issued          {} (`license-server cals` lists them)",
                state.issued.len()
            );
        }
        if state.key_packs.is_empty() {
            out!("Key packs: none");
        } else {
            out!("Key packs (# as remove-cals --key-pack takes it):");
            for pack in &state.key_packs {
                out!("  {:>3}  {}", pack.local_id, pack.label());
                out!(
                    "       {} total, {} available; license key pack ID {}; {}",
                    pack.total(),
                    pack.available(),
                    pack.key_pack_id,
                    how(pack)
                );
            }
        }
        match check {
            Some(Ok(found)) => {
                for d in found {
                    out!(
                        "WARNING: this license server holds {} {}, but the Clearinghouse says {} of them were migrated to another license server ({} still allocated here): remove them by hand.",
                        d.holds,
                        d.label,
                        d.moved_away(),
                        d.allocated
                    );
                    for (local_id, count) in &d.remove {
                        out!("  license-server remove-cals --key-pack {local_id} --count {count}");
                    }
                    if d.issued_beyond > 0 {
                        out!(
                            "  {} more of them are issued to clients: revoke them or let them expire, then remove them.",
                            d.issued_beyond
                        );
                    }
                }
            }
            Some(Err(e)) => out!(
                "(The key packs could not be compared with the Clearinghouse: {e}. `status --offline` skips it.)"
            ),
            None => {}
        }
        let skip = state.events.len().saturating_sub(RECENT_EVENTS);
        out!("Recent events:");
        for event in &state.events[skip..] {
            let level = match event.level {
                licensing_client::state::EventLevel::Information => "info",
                licensing_client::state::EventLevel::Warning => "WARNING",
            };
            out!("  {}  {level:<7}  {}", event.at, event.message);
        }
    }

    pub fn license_server_id(&self, what: &str, id: &LicenseServerId) {
        if self.json {
            self.print_json(&json!({"status": what, "license_server_id": id}));
        } else {
            out!("License server {what}. License server ID: {id}");
        }
    }

    pub fn confirmation_code(&self, code: &ConfirmationCode) {
        if self.json {
            self.print_json(&json!({"status": "deactivated", "confirmation_code": code}));
        } else {
            out!("License server deactivated. Confirmation code: {code}");
        }
    }

    pub fn key_pack(&self, what: &str, pack: &InstalledKeyPack) {
        if self.json {
            self.print_json(&json!({"status": what, "key_pack": pack}));
        } else {
            out!("{}", key_pack_line(what, pack));
        }
    }

    pub fn migrated(&self, migrated: &Migrated) {
        if self.json {
            self.print_json(&json!({
                "status": "migrated",
                "key_pack": migrated.key_pack,
                "reminder": migrated.reminder.as_ref().map(ToString::to_string),
                "removed_from_source": migrated.removed_from_source,
                "removal_failed": migrated.removal_failed,
            }));
            return;
        }
        out!("{}", key_pack_line("migrated", &migrated.key_pack));
        if let Some(removed) = &migrated.removed_from_source {
            out!(
                "The source license server removed {}.",
                counted(removed.removed, "CAL")
            );
            if removed.short > 0 {
                out!(
                    "It did not hold {} of them unissued: remove those from it by hand (`license-server remove-cals` on the source).",
                    removed.short
                );
            }
        }
        if let Some(reminder) = &migrated.reminder {
            out!("{reminder}");
        }
        if let Some(failed) = &migrated.removal_failed {
            out!("Warning: {failed}");
        }
    }

    /// The web or telephone handoff as JSON, for a script that runs the same command again
    /// with `--id`.
    pub fn handoff(&self, handoff: &Handoff) {
        let desk = match &handoff.desk {
            Desk::Web { url, .. } => json!({"method": "web", "url": url}),
            Desk::Telephone {
                number,
                desk,
                country,
                international,
                clearinghouse,
                line,
            } => json!({
                "method": "telephone",
                "number": number,
                "desk": desk,
                "simulated": true,
                "country_region": country.code(),
                "international": international,
                "tenant": clearinghouse.tenant,
                "line": line,
            }),
        };
        let particulars: Vec<Value> = handoff
            .particulars()
            .into_iter()
            .map(|(label, value)| json!({"label": label, "value": value}))
            .collect();
        self.print_json(&json!({
            "status": "waiting",
            "handoff": {
                "desk": desk,
                "task": handoff.task().title(),
                "task_slug": handoff.task().slug(),
                "shown_id": handoff.shown_id.to_string(),
                "shown_id_kind": handoff.shown_id.kind().name(),
                "particulars": particulars,
                "request": handoff.request,
                "expects": handoff.expects().name(),
            }
        }));
    }
}

impl Output {
    pub fn removed_by_hand(&self, removed: &RemovedByHand) {
        if self.json {
            self.print_json(&serde_json::to_value(removed).unwrap_or(Value::Null));
        } else if removed.uninstalled {
            out!(
                "Key pack {} ({}) uninstalled: {} removed.",
                removed.local_id,
                removed.label,
                counted(removed.removed, "CAL")
            );
        } else {
            out!(
                "{} removed from key pack {} ({}); it holds {} now.",
                counted(removed.removed, "CAL"),
                removed.local_id,
                removed.label,
                removed.left
            );
        }
    }

    pub fn grant(&self, client: &str, grant: &Grant) {
        if self.json {
            self.print_json(&serde_json::to_value(grant).unwrap_or(Value::Null));
            return;
        }
        match grant {
            Grant::Temporary { expires_at, new } => {
                let what = if *new { "issued" } else { "still valid" };
                out!("{client}: temporary Per Device CAL {what}, expires {expires_at}");
            }
            Grant::Permanent {
                expires_at,
                key_pack,
                change,
            } => {
                let what = match change {
                    Change::Issued => "issued",
                    Change::Renewed => "renewed",
                    Change::Kept => "valid",
                };
                out!(
                    "{client}: permanent Per Device CAL {what} (key pack {key_pack}), expires {expires_at}"
                );
            }
            Grant::PerUser { expires_at } => {
                out!("{client}: Per User CAL recorded (not enforced), shown until {expires_at}");
            }
        }
    }

    pub fn issued(&self, cals: &[IssuedCal]) {
        if self.json {
            self.print_json(&serde_json::to_value(cals).unwrap_or(Value::Null));
            return;
        }
        if cals.is_empty() {
            out!("No CALs are issued.");
        }
        for cal in cals {
            let pack = cal
                .key_pack
                .map_or(String::new(), |k| format!(" from key pack {k}"));
            out!(
                "{:<24} {} {} {:?}{pack}, expires {}",
                cal.client,
                cal.product_version,
                cal.license_type,
                cal.status,
                cal.expires_at
            );
        }
    }

    pub fn revoked(&self, revoked: &Revoked) {
        if self.json {
            self.print_json(&serde_json::to_value(revoked).unwrap_or(Value::Null));
        } else {
            out!(
                "The CAL of {} was revoked and returned to key pack {}; {} more of its version may be revoked now.",
                revoked.client,
                revoked.key_pack,
                revoked.revocable
            );
        }
    }

    pub fn report(&self, report: &Report) {
        if self.json {
            self.print_json(&serde_json::to_value(report).unwrap_or(Value::Null));
            return;
        }
        out!("CAL usage report {}", report.id);
        out!("  created   {}", report.created_at);
        out!("  scope     {}", report.scope);
        if report.lines.is_empty() {
            out!("  no Per User CALs are installed or issued");
        }
        for line in &report.lines {
            out!(
                "  {:<28} {} Per User CALs installed, {} issued",
                line.product_version.to_string(),
                line.installed,
                line.issued
            );
        }
    }

    pub fn reports(&self, reports: &[Report]) {
        if self.json {
            self.print_json(&serde_json::to_value(reports).unwrap_or(Value::Null));
            return;
        }
        if reports.is_empty() {
            out!("No reports.");
        }
        for report in reports {
            out!("{:>3}  {}  {}", report.id, report.created_at, report.scope);
        }
    }

    pub fn saved(&self, id: u32, file: &Path) {
        if self.json {
            self.print_json(&json!({"report": id, "saved": file}));
        } else {
            out!("Report {id} saved as {}.", file.display());
        }
    }

    pub fn deleted(&self, id: u32) {
        if self.json {
            self.print_json(&json!({"report": id, "deleted": true}));
        } else {
            out!("Report {id} deleted.");
        }
    }

    pub fn session_host(&self, state: &SessionHostState) {
        let now = state.clock();
        if self.json {
            let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
            value["grace_days_left"] = json!(state.grace_days_left(now));
            value["configured"] = json!(state.configured());
            self.print_json(&value);
            return;
        }
        let multipoint = state
            .stations
            .map_or(String::new(), |n| format!(", MultiPoint with {n} stations"));
        out!("Session host {} ({}{multipoint})", state.name, state.os);
        let mode = state
            .licensing_mode
            .map_or("not yet configured".to_owned(), |m| m.to_string());
        out!("  licensing mode     {mode}");
        let servers = if state.license_servers.is_empty() {
            "none".to_owned()
        } else {
            state.license_servers.join(", ")
        };
        out!("  license servers    {servers}");
        if state.configured() {
            out!(
                "  grace period       {} left, used only while no license server answers",
                counted(state.grace_days_left(now), "day")
            );
        } else {
            out!(
                "  grace period       {} left (of 120, from {})",
                counted(state.grace_days_left(now), "day"),
                state.installed_at
            );
        }
    }

    pub fn admitted(&self, admitted: &Admitted) {
        if self.json {
            self.print_json(&serde_json::to_value(admitted).unwrap_or(Value::Null));
            return;
        }
        match admitted {
            Admitted::Grace { days_left, warning } => {
                out!(
                    "Connected on the grace period ({} left).",
                    counted(*days_left, "day")
                );
                if let Some(warning) = warning {
                    eprintln!("Warning: {warning}");
                }
            }
            Admitted::Licensed {
                license_server,
                grant,
            } => {
                let what = match grant {
                    Grant::Temporary { expires_at, .. } => {
                        format!("temporary Per Device CAL, expires {expires_at}")
                    }
                    Grant::Permanent { expires_at, .. } => {
                        format!("permanent Per Device CAL, expires {expires_at}")
                    }
                    Grant::PerUser { expires_at } => {
                        format!("Per User CAL recorded (not enforced), shown until {expires_at}")
                    }
                };
                out!("Connected; license server {license_server}: {what}");
            }
        }
    }

    pub fn rebuilt(&self, rebuilt: &Rebuilt) {
        if self.json {
            self.print_json(&serde_json::to_value(rebuilt).unwrap_or(Value::Null));
            return;
        }
        let reinstalled: u32 = rebuilt.reinstalled.iter().map(|(_, n)| n).sum();
        out!(
            "The license server database was rebuilt: {reinstalled} CALs reinstalled from their key pack IDs; {} CALs issued to clients were lost.",
            rebuilt.issued_lost
        );
        let to_recover: u32 = rebuilt.to_recover.iter().map(|(_, n)| n).sum();
        if to_recover > 0 {
            out!(
                "{to_recover} CALs of key packs issued before a reactivation must be recovered through the Clearinghouse: `license-server recover-cals`."
            );
        }
    }

    pub fn backed_up(&self, file: &Path) {
        if self.json {
            self.print_json(&json!({"backup": file}));
        } else {
            out!(
                "The license server database was backed up to {}.",
                file.display()
            );
        }
    }

    pub fn restored(&self, restored: &Restored) {
        if self.json {
            self.print_json(&serde_json::to_value(restored).unwrap_or(Value::Null));
            return;
        }
        let lost: u32 = restored.not_restored.iter().map(|(_, n)| n).sum();
        if restored.same_installation {
            out!(
                "Restored from the backup taken at {} onto the same installation: unissued licenses are back.",
                restored.taken_at
            );
        } else if lost > 0 {
            out!(
                "Restored from the backup taken at {} onto a new installation: {lost} unissued licenses were not restored (see the event log). Recover them through the Clearinghouse with `license-server recover-cals`.",
                restored.taken_at
            );
        } else {
            out!(
                "Restored from the backup taken at {} onto a new installation; it had no unissued licenses.",
                restored.taken_at
            );
        }
    }

    pub fn clock(&self, now: Stamp, offset_secs: u64) {
        if self.json {
            self.print_json(&json!({"now": now, "ahead_seconds": offset_secs}));
        } else if offset_secs == 0 {
            out!("{now} (the computer's time)");
        } else {
            let (days, rest) = (offset_secs / 86_400, offset_secs % 86_400);
            let ahead = match (days, rest) {
                (0, rest) => {
                    humantime::format_duration(std::time::Duration::from_secs(rest)).to_string()
                }
                (days, 0) => format!("{days} days"),
                (days, rest) => format!(
                    "{days} days {}",
                    humantime::format_duration(std::time::Duration::from_secs(rest))
                ),
            };
            out!("{now} ({ahead} ahead of the computer's time)");
        }
    }

    pub fn events(&self, events: &[&Event]) {
        if self.json {
            self.print_json(&serde_json::to_value(events).unwrap_or(Value::Null));
            return;
        }
        for event in events {
            let level = match event.level {
                licensing_client::state::EventLevel::Information => "info",
                licensing_client::state::EventLevel::Warning => "warning",
            };
            out!("{}  {level:<8} {}", event.at, event.message);
        }
    }
}

fn how(pack: &InstalledKeyPack) -> String {
    let origin = match &pack.source {
        KeyPackSource::Installed => format!("installed ({})", pack.license_program),
        KeyPackSource::Migrated {
            from: Some(from), ..
        } => format!("migrated from {from}"),
        KeyPackSource::Migrated { from: None, .. } => "migrated".to_owned(),
        KeyPackSource::Recovered => "recovered after a restore".to_owned(),
    };
    format!("{origin}, {} method", pack.method)
}

fn key_pack_line(what: &str, pack: &InstalledKeyPack) -> String {
    let cals = counted(
        pack.installed,
        &format!("{} {} CAL", pack.product_version, pack.license_type),
    );
    format!(
        "CALs {what}: key pack {} holds {cals}. License key pack ID: {} (keep a copy)",
        pack.local_id, pack.key_pack_id
    )
}
