//! The licensing rules: activation, reactivation, deactivation, CAL installation,
//! migration and recovery, written once for every door.
//!
//! Each rule reads and writes through a [`Tx`]: the store as the request sees it, plus the
//! random source its IDs come from. A rule that returns an error has its writes dropped by
//! the writer, so a refused request changes nothing. Quantities are only ever moved:
//! installing moves CALs from a purchase's unallocated pool to a key pack, migrating and
//! recovering move them from key packs to a new key pack. Nothing creates a CAL.

use rand::rngs::ChaCha8Rng;
use shared::id::{
    ConfirmationCode, KeyPackContents, KeyPackId, KeyPackSerial, LicenseServerId, ProductId,
};
use shared::vocab::{LicenseProof, LicenseType, MigrationReason, ProductVersion, Proof, Quantity};
use shared::wire::{
    ActivateRequest, ActivationStatus, CalRequest, DeactivateRequest, InstallCalsRequest,
    KeyPackIssued, KeyPackRecord, LicenseServerActivated, LicenseServerDeactivated,
    LicenseServerStatus, MigrateCalsRequest, ReactivateRequest, RecoverCalsRequest,
};

use super::records::{
    self, KeyPackEntry, Keys, Moved, Origin, Purchase, ServerRecord, TenantMeta, read, source_key,
    write,
};
use super::{Answer, LedgerError};
use crate::store::View;

/// One request's access to the ledger.
pub struct Tx<'v, 'a> {
    /// The store as this request sees it.
    pub view: &'v mut View<'a>,
    /// The tenant's keys.
    pub keys: Keys<'v>,
    /// The tenant's settings and counters.
    pub meta: &'v mut TenantMeta,
    /// Where this request's IDs come from.
    pub rng: ChaCha8Rng,
}

/// What a purchase is called in messages, e.g. "Select License agreement 1234567".
pub fn describe(license: &LicenseProof) -> String {
    match license.proof() {
        Proof::LicenseCode(code) => format!("license code {code}"),
        Proof::OpenLicense { license_number, .. } => format!("Open License {license_number}"),
        Proof::AgreementNumber(number) => format!(
            "{} {} {number}",
            license.program(),
            license.program().agreement_number_label()
        ),
    }
}

impl Tx<'_, '_> {
    fn server(&self, no: u64) -> Result<ServerRecord, LedgerError> {
        read(self.view, &self.keys.server(no))?
            .ok_or_else(|| LedgerError::Corrupt(format!("license server {no} is missing")))
    }

    /// The server that has or had `id`.
    fn server_by_id(
        &self,
        id: LicenseServerId,
        field: &'static str,
    ) -> Result<ServerRecord, LedgerError> {
        let no: u64 = read(self.view, &self.keys.license_server_id(&id))?
            .ok_or(LedgerError::UnknownLicenseServer { id, field })?;
        self.server(no)
    }

    /// The server whose current ID is `id`, refusing replaced IDs.
    fn current_server(
        &self,
        id: LicenseServerId,
        field: &'static str,
    ) -> Result<ServerRecord, LedgerError> {
        let server = self.server_by_id(id, field)?;
        if server.current_id != id {
            return Err(LedgerError::LicenseServerReplaced {
                id,
                current: server.current_id,
                field,
            });
        }
        Ok(server)
    }

    /// The server whose current ID is `id`, which must be activated to receive CALs.
    fn receiving_server(
        &self,
        id: LicenseServerId,
        field: &'static str,
    ) -> Result<ServerRecord, LedgerError> {
        let server = self.current_server(id, field)?;
        if server.deactivated.is_some() {
            return Err(LedgerError::LicenseServerDeactivated(id));
        }
        Ok(server)
    }

    /// A license server ID no server has had, issued for `product_id`.
    fn new_license_server_id(
        &mut self,
        product_id: &ProductId,
    ) -> Result<LicenseServerId, LedgerError> {
        loop {
            let id = LicenseServerId::issue(product_id, &mut self.rng);
            if self.view.get(&self.keys.license_server_id(&id))?.is_none() {
                return Ok(id);
            }
        }
    }

    /// The purchase `license` names, if its proof matches.
    fn purchase(&self, license: &LicenseProof) -> Result<(String, Purchase), LedgerError> {
        let source = source_key(license);
        let purchase: Purchase = read(self.view, &self.keys.purchase(&source))?
            .ok_or_else(|| LedgerError::UnknownPurchase(describe(license)))?;
        match (purchase.license.proof(), license.proof()) {
            (Proof::AgreementNumber(number), _)
                if purchase.license.program() != license.program() =>
            {
                Err(LedgerError::WrongProgram {
                    number: number.to_string(),
                    actual: purchase.license.program(),
                    given: license.program(),
                })
            }
            (
                Proof::OpenLicense {
                    authorization_number: known,
                    license_number,
                },
                Proof::OpenLicense {
                    authorization_number: given,
                    ..
                },
            ) if known != given => Err(LedgerError::AuthorizationMismatch {
                license_number: license_number.to_string(),
            }),
            _ => Ok((source, purchase)),
        }
    }

    /// Issues a key pack of `cals` from `source` to `server`, counting it on `server`.
    fn issue_key_pack(
        &mut self,
        server: &mut ServerRecord,
        source: &str,
        license: &LicenseProof,
        cals: CalRequest,
        origin: Origin,
    ) -> Result<KeyPackEntry, LedgerError> {
        let contents = KeyPackContents {
            product_version: cals.product_version,
            license_type: cals.license_type,
            quantity: cals.quantity,
        };
        let serial = KeyPackSerial::new(server.key_packs_issued)
            .ok_or(LedgerError::TooManyKeyPacks(server.current_id))?;
        server.key_packs_issued += 1;
        write(self.view, self.keys.server(server.no), &*server)?;
        let id = KeyPackId::issue(&server.current_id, contents, serial);
        let entry = KeyPackEntry {
            id,
            serial,
            server: server.no,
            bound_to: server.current_id,
            source: source.to_owned(),
            program: license.program(),
            product_version: cals.product_version,
            license_type: cals.license_type,
            issued: cals.quantity.get(),
            held: cals.quantity.get(),
            origin,
            moved: Vec::new(),
        };
        self.save_key_pack(&entry)?;
        self.adjust_held(&entry, i64::from(entry.held))?;
        Ok(entry)
    }

    fn save_key_pack(&mut self, entry: &KeyPackEntry) -> Result<(), LedgerError> {
        write(
            self.view,
            self.keys.key_pack(entry.server, entry.serial),
            entry,
        )
    }

    /// Moves the counter of what `entry`'s server holds of its purchase by `delta`.
    fn adjust_held(&mut self, entry: &KeyPackEntry, delta: i64) -> Result<(), LedgerError> {
        let key = self.keys.held(
            &entry.source,
            entry.product_version,
            entry.license_type,
            entry.server,
        );
        let held: u64 = read(self.view, &key)?.unwrap_or(0);
        let held = u64::try_from(held as i64 + delta).map_err(|_| {
            LedgerError::Corrupt(format!("{} would hold fewer than 0 CALs", entry.server))
        })?;
        if held == 0 {
            self.view.remove(key);
            Ok(())
        } else {
            write(self.view, key, &held)
        }
    }

    /// Every key pack issued to `server`, oldest key first.
    fn key_packs_of(&self, server: u64) -> Result<Vec<KeyPackEntry>, LedgerError> {
        let prefix = self.keys.server_key_packs(server);
        self.view
            .scan(&prefix)
            .map(|entry| {
                let (key, bytes) = entry?;
                records::decode(&key, &bytes)
            })
            .collect()
    }

    /// The key packs of `server` that still hold CALs of `source`, version and type.
    fn held_by(
        &self,
        server: u64,
        source: &str,
        product_version: ProductVersion,
        license_type: LicenseType,
    ) -> Result<Vec<KeyPackEntry>, LedgerError> {
        Ok(self
            .key_packs_of(server)?
            .into_iter()
            .filter(|e| e.held > 0 && e.is_of(source, product_version, license_type))
            .collect())
    }

    /// The last time CALs of `source`, version and type left `server`, if ever.
    fn last_move_out(
        &self,
        server: u64,
        source: &str,
        cals: &CalRequest,
    ) -> Result<Option<Moved>, LedgerError> {
        Ok(self
            .key_packs_of(server)?
            .into_iter()
            .filter(|e| e.is_of(source, cals.product_version, cals.license_type))
            .filter_map(|e| e.moved.last().copied())
            .next_back())
    }

    /// Moves `cals` of `source` from the key packs of `from` into a new key pack on `to`
    /// (which may be `from` itself: a recovery). Fails, moving nothing, with how many
    /// `from` holds when that is fewer than asked.
    fn move_cals(
        &mut self,
        from: &ServerRecord,
        to: &mut ServerRecord,
        source: &str,
        license: &LicenseProof,
        cals: CalRequest,
        origin: Origin,
    ) -> Result<KeyPackEntry, Shortfall> {
        let mut entries = self
            .held_by(from.no, source, cals.product_version, cals.license_type)
            .map_err(Shortfall::Failed)?;
        let held: u32 = entries.iter().map(|e| u32::from(e.held)).sum();
        let asked = cals.quantity.get();
        if held < u32::from(asked) {
            return Err(Shortfall::Held(held));
        }
        let new = self
            .issue_key_pack(to, source, license, cals, origin)
            .map_err(Shortfall::Failed)?;
        let mut remaining = asked;
        for entry in &mut entries {
            if remaining == 0 {
                break;
            }
            let take = entry.held.min(remaining);
            entry.held -= take;
            remaining -= take;
            entry.moved.push(Moved {
                to: new.id,
                to_server: new.bound_to,
                quantity: take,
            });
            self.save_key_pack(entry).map_err(Shortfall::Failed)?;
            self.adjust_held(entry, -i64::from(take))
                .map_err(Shortfall::Failed)?;
        }
        Ok(new)
    }
}

/// The version rule: a license server takes only CALs of its own Windows Server release or
/// older. A product ID of the first layout does not say its release; the license server
/// applies the rule then.
fn check_version(server: &ServerRecord, cals: &CalRequest) -> Result<(), LedgerError> {
    match server.product_id.release() {
        Some(os) if !cals.product_version.installs_on(os) => Err(LedgerError::CalsTooNew {
            license_server_id: server.current_id,
            os,
            product_version: cals.product_version,
        }),
        _ => Ok(()),
    }
}

/// A key pack as the API reports it: as issued, with what it still holds and, for a
/// migration, the source's license server ID as it is now.
fn record(tx: &Tx<'_, '_>, entry: &KeyPackEntry) -> Result<KeyPackRecord, LedgerError> {
    let issued = issued(entry)?;
    let migrated_from = match entry.origin {
        Origin::Migrated { from, .. } => Some(tx.server(from)?.current_id),
        _ => None,
    };
    Ok(KeyPackRecord {
        key_pack_id: issued.key_pack_id,
        license_server_id: issued.license_server_id,
        license_program: issued.license_program,
        cals: issued.cals,
        held: entry.held,
        origin: entry.origin.wire(),
        migrated_from,
    })
}

/// Why CALs could not be moved.
enum Shortfall {
    /// The source holds only this many.
    Held(u32),
    /// The ledger failed.
    Failed(LedgerError),
}

/// A key pack as it was issued.
pub fn issued(entry: &KeyPackEntry) -> Result<KeyPackIssued, LedgerError> {
    Ok(KeyPackIssued {
        key_pack_id: entry.id,
        license_server_id: entry.bound_to,
        license_program: entry.program,
        cals: CalRequest {
            product_version: entry.product_version,
            license_type: entry.license_type,
            quantity: Quantity::new(entry.issued)
                .map_err(|e| LedgerError::Corrupt(e.to_string()))?,
        },
    })
}

/// Activates a license server: a product ID seen for the first time gets a license
/// server ID.
pub fn activate(tx: &mut Tx<'_, '_>, request: &ActivateRequest) -> Result<Answer, LedgerError> {
    if let Some(no) = read::<u64>(tx.view, &tx.keys.product_id(&request.product_id))? {
        let server = tx.server(no)?;
        return Err(LedgerError::AlreadyActivated {
            product_id: request.product_id,
            license_server_id: server.current_id,
            deactivated: server.deactivated.is_some(),
        });
    }
    let no = tx.meta.next_server;
    tx.meta.next_server += 1;
    let id = tx.new_license_server_id(&request.product_id)?;
    write(tx.view, tx.keys.company(no), &request.company)?;
    let server = ServerRecord {
        no,
        product_id: request.product_id,
        current_id: id,
        key_packs_issued: 0,
        former_ids: Vec::new(),
        deactivated: None,
    };
    write(tx.view, tx.keys.server(no), &server)?;
    write(tx.view, tx.keys.license_server_id(&id), &no)?;
    write(tx.view, tx.keys.product_id(&request.product_id), &no)?;
    Ok(Answer::Activated(LicenseServerActivated {
        license_server_id: id,
    }))
}

/// Reactivates a license server under a new ID; the old ID receives nothing any more, and
/// the CALs it holds stay with it.
pub fn reactivate(tx: &mut Tx<'_, '_>, request: &ReactivateRequest) -> Result<Answer, LedgerError> {
    let mut server = tx.current_server(request.license_server_id, "license_server_id")?;
    if server.product_id != request.product_id {
        return Err(LedgerError::ProductIdMismatch {
            product_id: request.product_id,
            license_server_id: request.license_server_id,
        });
    }
    let id = tx.new_license_server_id(&server.product_id)?;
    server.former_ids.push(server.current_id);
    server.current_id = id;
    server.deactivated = None;
    write(tx.view, tx.keys.server(server.no), &server)?;
    write(tx.view, tx.keys.license_server_id(&id), &server.no)?;
    Ok(Answer::Activated(LicenseServerActivated {
        license_server_id: id,
    }))
}

/// Deactivates a license server: it receives nothing until it is reactivated.
pub fn deactivate(tx: &mut Tx<'_, '_>, request: &DeactivateRequest) -> Result<Answer, LedgerError> {
    let mut server = tx.receiving_server(request.license_server_id, "license_server_id")?;
    let code = ConfirmationCode::issue(&server.current_id, &mut tx.rng);
    server.deactivated = Some(code);
    write(tx.view, tx.keys.server(server.no), &server)?;
    Ok(Answer::Deactivated(LicenseServerDeactivated {
        confirmation_code: code,
    }))
}

/// Installs CALs from a purchase's unallocated pool on a license server.
pub fn install_cals(
    tx: &mut Tx<'_, '_>,
    request: &InstallCalsRequest,
) -> Result<Answer, LedgerError> {
    let mut server = tx.receiving_server(request.license_server_id, "license_server_id")?;
    let (source, mut purchase) = tx.purchase(&request.license)?;
    // A retail license code says which CALs it is for; every other proof needs them said.
    let cals = match (request.cals, purchase.is_retail()) {
        (Some(cals), true) => {
            check_retail(&source, &purchase, Some(&cals))?;
            cals
        }
        (None, true) => check_retail(&source, &purchase, None)?,
        (Some(cals), false) => cals,
        (None, false) => {
            return Err(LedgerError::CalsRequired {
                purchase: describe(&request.license),
            });
        }
    };
    check_version(&server, &cals)?;
    let description = describe(&request.license);
    let holding = purchase
        .holding_mut(cals.product_version, cals.license_type)
        .ok_or(LedgerError::NotPurchased {
            purchase: description.clone(),
            product_version: cals.product_version,
            license_type: cals.license_type,
        })?;
    let asked = cals.quantity.get();
    if holding.unallocated < u32::from(asked) {
        return Err(LedgerError::Exhausted {
            purchase: description,
            product_version: cals.product_version,
            license_type: cals.license_type,
            asked,
            remaining: holding.unallocated,
        });
    }
    holding.unallocated -= u32::from(asked);
    let entry = tx.issue_key_pack(
        &mut server,
        &source,
        &request.license,
        cals,
        Origin::Installed,
    )?;
    if purchase.is_retail() {
        purchase.used_by = Some(entry.id);
    }
    write(tx.view, tx.keys.purchase(&source), &purchase)?;
    Ok(Answer::KeyPack(issued(&entry)?))
}

/// A retail license pack is installed once, whole: the CALs it holds, which `cals`, when
/// given, must be.
fn check_retail(
    source: &str,
    purchase: &Purchase,
    cals: Option<&CalRequest>,
) -> Result<CalRequest, LedgerError> {
    let Some(holding) = purchase.holdings.first() else {
        return Err(LedgerError::Corrupt(format!("{source} holds nothing")));
    };
    let code = match purchase.license.proof() {
        Proof::LicenseCode(code) => code.to_string(),
        _ => source.to_owned(),
    };
    if let Some(key_pack) = purchase.used_by {
        return Err(LedgerError::LicenseCodeUsed { code, key_pack });
    }
    let mismatch = || LedgerError::RetailMismatch {
        code: code.clone(),
        product_version: holding.product_version,
        license_type: holding.license_type,
        quantity: holding.purchased,
    };
    let held = CalRequest {
        product_version: holding.product_version,
        license_type: holding.license_type,
        quantity: u16::try_from(holding.purchased)
            .ok()
            .and_then(|n| Quantity::new(n).ok())
            .ok_or_else(mismatch)?,
    };
    match cals {
        Some(cals) if *cals != held => Err(mismatch()),
        _ => Ok(held),
    }
}

/// Migrates CALs from a source license server to the target: the source's allocation
/// shrinks by exactly what the target's new key pack holds.
pub fn migrate_cals(
    tx: &mut Tx<'_, '_>,
    request: &MigrateCalsRequest,
) -> Result<Answer, LedgerError> {
    let mut target = tx.receiving_server(request.license_server_id, "license_server_id")?;
    check_version(&target, &request.cals)?;
    let source_info = &request.source;
    if request.reason.source_must_be_named(source_info.reachable)
        && (source_info.license_server_id.is_none() || source_info.os.is_none())
    {
        return Err(LedgerError::SourceRequired(
            "the source license server is being replaced and is not available on the network: give its license server ID and operating system",
        ));
    }
    if request.reason == MigrationReason::SourceReplaced
        && source_info.license_server_id.is_none()
        && source_info.name.is_none()
    {
        return Err(LedgerError::SourceRequired(
            "give the name or the license server ID of the source license server",
        ));
    }
    let (source, purchase) = tx.purchase(&request.license)?;
    let cals = request.cals;
    if purchase
        .holding(cals.product_version, cals.license_type)
        .is_none()
    {
        return Err(LedgerError::NotPurchased {
            purchase: describe(&request.license),
            product_version: cals.product_version,
            license_type: cals.license_type,
        });
    }
    let from = match source_info.license_server_id {
        Some(id) => tx.server_by_id(id, "source.license_server_id")?,
        None => {
            let servers = holders(tx, &source, &cals, target.no)?;
            match servers.as_slice() {
                [] => {
                    return Err(LedgerError::NoSourceHolds {
                        product_version: cals.product_version,
                        license_type: cals.license_type,
                    });
                }
                [one] => tx.server(*one)?,
                many => {
                    return Err(LedgerError::SourceAmbiguous {
                        count: many.len(),
                        product_version: cals.product_version,
                        license_type: cals.license_type,
                    });
                }
            }
        }
    };
    if from.no == target.no {
        return Err(LedgerError::SameServer);
    }
    let origin = Origin::Migrated {
        from: from.no,
        reason: request.reason,
        source_os: source_info.os,
        reachable: source_info.reachable,
    };
    match tx.move_cals(&from, &mut target, &source, &request.license, cals, origin) {
        Ok(entry) => Ok(Answer::KeyPack(issued(&entry)?)),
        Err(Shortfall::Failed(e)) => Err(e),
        Err(Shortfall::Held(0)) => match tx.last_move_out(from.no, &source, &cals)? {
            Some(moved) => Err(LedgerError::AlreadyMigrated {
                to: moved.to_server,
                key_pack: moved.to,
                quantity: moved.quantity,
            }),
            None => Err(nothing_to_migrate(&from, &cals, 0)),
        },
        Err(Shortfall::Held(held)) => Err(nothing_to_migrate(&from, &cals, held)),
    }
}

fn nothing_to_migrate(from: &ServerRecord, cals: &CalRequest, held: u32) -> LedgerError {
    LedgerError::NothingToMigrate {
        source_desc: format!("source license server {}", from.current_id),
        product_version: cals.product_version,
        license_type: cals.license_type,
        asked: cals.quantity.get(),
        held,
    }
}

/// The servers other than `except` that hold CALs of `source`, version and type.
fn holders(
    tx: &Tx<'_, '_>,
    source: &str,
    cals: &CalRequest,
    except: u64,
) -> Result<Vec<u64>, LedgerError> {
    let prefix = tx
        .keys
        .held_by_all(source, cals.product_version, cals.license_type);
    let mut servers = Vec::new();
    for entry in tx.view.scan(&prefix) {
        let (key, _) = entry?;
        let rest = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        let no: u64 = rest
            .parse()
            .map_err(|_| LedgerError::Corrupt(format!("held counter {rest}")))?;
        if no != except {
            servers.push(no);
        }
    }
    Ok(servers)
}

/// Reissues CALs a license server lost when its database was restored onto a new
/// installation: its old key packs give up what the new one holds.
pub fn recover_cals(
    tx: &mut Tx<'_, '_>,
    request: &RecoverCalsRequest,
) -> Result<Answer, LedgerError> {
    let server = tx.receiving_server(request.license_server_id, "license_server_id")?;
    check_version(&server, &request.cals)?;
    let (source, _) = tx.purchase(&request.license)?;
    let cals = request.cals;
    // The new key pack goes to the same server: `to` is a copy that counts it.
    let mut to = server.clone();
    match tx.move_cals(
        &server,
        &mut to,
        &source,
        &request.license,
        cals,
        Origin::Recovered,
    ) {
        Ok(entry) => Ok(Answer::KeyPack(issued(&entry)?)),
        Err(Shortfall::Failed(e)) => Err(e),
        Err(Shortfall::Held(held)) => Err(LedgerError::NothingToRecover {
            license_server_id: server.current_id,
            product_version: cals.product_version,
            license_type: cals.license_type,
            asked: cals.quantity.get(),
            held,
        }),
    }
}

/// Whether license server `id` can receive CALs (or be deactivated) now: its status if it
/// can, the refusal a request for it would get if not.
pub fn receiving(tx: &Tx<'_, '_>, id: LicenseServerId) -> Result<Answer, LedgerError> {
    tx.receiving_server(id, "license_server_id")?;
    status(tx, id)
}

/// What the Clearinghouse knows of a license server ID.
pub fn status(tx: &Tx<'_, '_>, id: LicenseServerId) -> Result<Answer, LedgerError> {
    let server = tx.server_by_id(id, "license_server_id")?;
    let (status, replaced_by) = if server.current_id != id {
        (ActivationStatus::Replaced, Some(server.current_id))
    } else if server.deactivated.is_some() {
        (ActivationStatus::Deactivated, None)
    } else {
        (ActivationStatus::Activated, None)
    };
    let key_packs = tx
        .key_packs_of(server.no)?
        .iter()
        .map(|entry| record(tx, entry))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Answer::Status(LicenseServerStatus {
        license_server_id: id,
        status,
        replaced_by,
        key_packs,
    }))
}

/// Verifies a key pack ID for a license server: it must open with that license server ID
/// and be on record.
pub fn verify_key_pack(
    tx: &Tx<'_, '_>,
    license_server_id: LicenseServerId,
    key_pack_id: KeyPackId,
) -> Result<Answer, LedgerError> {
    let server = tx.server_by_id(license_server_id, "license_server_id")?;
    let serial = key_pack_id.serial(&license_server_id)?;
    let entry = read::<KeyPackEntry>(tx.view, &tx.keys.key_pack(server.no, serial))?
        .filter(|entry| entry.id == key_pack_id)
        .ok_or(LedgerError::UnknownKeyPack(key_pack_id))?;
    Ok(Answer::KeyPackRecord(record(tx, &entry)?))
}
