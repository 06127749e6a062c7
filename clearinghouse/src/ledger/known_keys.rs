//! The idempotency keys that may have a saved answer, so that a request with a new key,
//! the common case, costs no read of the store.
//!
//! The set is a Bloom filter of a fixed size: it takes the same 2 MiB for ten keys as for
//! ten million, and only ever errs towards "may exist" (about one key in 250 with a million
//! keys in it), which falls back to reading the store. Until it holds every key saved
//! before start-up, every key may exist.
//!
//! A clean stop keeps the filter in the store, and the next start takes it back in a few
//! milliseconds instead of reading every saved answer again (which took seconds with a few
//! hundred thousand of them, while every request read the store for its key). Taken back,
//! it is removed from the store at once, so that after a crash the keys are read again:
//! a filter missing a key that was saved would let a retry be applied twice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::records::Keys;
use super::{LedgerError, TenantName, tenants};
use crate::store::{Batch, Store, View};

/// Bits in the filter: 2 MiB.
const BITS: usize = 1 << 24;
/// Bits set per key.
const HASHES: u64 = 3;
/// Where a clean stop keeps the filter.
const KEPT: &[u8] = b"ledger/known-keys";
/// What the kept filter starts with: how its bits were set. The bits depend on the hash,
/// so a filter set another way is not taken back.
const KEPT_FORMAT: &[u8] = b"bloom-sha256-3x2^24\n";

/// The keys that may have a saved answer.
pub struct KnownKeys {
    loaded: AtomicBool,
    bits: Vec<AtomicU64>,
}

impl KnownKeys {
    /// An empty set that trusts nothing yet.
    pub fn new() -> Self {
        KnownKeys {
            loaded: AtomicBool::new(false),
            bits: (0..BITS / 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The bits of `key`: two hashes combined (Kirsch and Mitzenmacher's double hashing),
    /// both from SHA-256, whose value never changes, since the bits are kept in the store.
    fn positions(tenant: &TenantName, key: &str) -> impl Iterator<Item = usize> {
        let mut hasher = Sha256::new();
        hasher.update(tenant.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&digest[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        let (first, second) = (word(0), word(8) | 1);
        (0..HASHES)
            .map(move |i| (first.wrapping_add(i.wrapping_mul(second)) % BITS as u64) as usize)
    }

    /// Whether every key saved before start-up is in the set.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Whether `key` may have a saved answer for `tenant`: false only if it certainly has
    /// none.
    pub fn may_exist(&self, tenant: &TenantName, key: &str) -> bool {
        if !self.is_loaded() {
            return true;
        }
        Self::positions(tenant, key)
            .all(|bit| self.bits[bit / 64].load(Ordering::Relaxed) & (1 << (bit % 64)) != 0)
    }

    /// Adds `key` (before its answer is committed, so the set never misses one).
    pub fn insert(&self, tenant: &TenantName, key: &str) {
        for bit in Self::positions(tenant, key) {
            self.bits[bit / 64].fetch_or(1 << (bit % 64), Ordering::Relaxed);
        }
    }

    /// Adds the keys saved in `store`, then trusts the set.
    pub fn load(&self, store: &dyn Store) -> Result<(), LedgerError> {
        let empty = Batch::default();
        let view = View::new(store, &empty);
        for tenant in tenants::list(&view)? {
            let tenant = TenantName::parse(&tenant.name)?;
            let prefix = Keys::new(&tenant).idempotency("");
            for entry in view.scan(&prefix) {
                let (key, _) = entry?;
                self.insert(&tenant, &String::from_utf8_lossy(&key[prefix.len()..]));
            }
        }
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// Takes back the set a clean stop kept in `store`, removing it from there; whether
    /// there was one (else the keys are to be loaded).
    pub fn restore(&self, store: &dyn Store) -> Result<bool, LedgerError> {
        let Some(kept) = store.get(KEPT)? else {
            return Ok(false);
        };
        let empty = Batch::default();
        let mut view = View::new(store, &empty);
        view.remove(KEPT.to_vec());
        store.commit(&view.into_writes())?;
        let Some(bits) = kept.strip_prefix(KEPT_FORMAT) else {
            return Ok(false);
        };
        if bits.len() != BITS / 8 {
            return Ok(false);
        }
        for (word, bytes) in self.bits.iter().zip(bits.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes);
            word.store(u64::from_le_bytes(le), Ordering::Relaxed);
        }
        self.loaded.store(true, Ordering::Release);
        Ok(true)
    }

    /// Keeps the set in `store` for the next start, if it holds every saved key (once
    /// nothing more is saved: when the writer has stopped).
    pub fn keep(&self, store: &dyn Store) -> Result<(), LedgerError> {
        if !self.is_loaded() {
            return Ok(());
        }
        let mut kept = Vec::with_capacity(KEPT_FORMAT.len() + BITS / 8);
        kept.extend_from_slice(KEPT_FORMAT);
        for word in &self.bits {
            kept.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        let empty = Batch::default();
        let mut view = View::new(store, &empty);
        view.put(KEPT.to_vec(), kept);
        store.commit(&view.into_writes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn the_known_keys_tell_almost_every_new_key_from_a_million_saved_ones() {
        let known = KnownKeys::new();
        let tenant = TenantName::default_tenant();
        for n in 0..1_000_000 {
            known.insert(&tenant, &format!("saved-{n}"));
        }
        known.loaded.store(true, Ordering::Release);
        assert!((0..1_000_000).all(|n| known.may_exist(&tenant, &format!("saved-{n}"))));
        let mistaken = (0..100_000)
            .filter(|n| known.may_exist(&tenant, &format!("new-{n}")))
            .count();
        assert!(
            mistaken < 1_000,
            "{mistaken} new keys of 100,000 taken as saved"
        );
        let other = TenantName::parse("other").unwrap();
        assert!(!(0..100).all(|n| known.may_exist(&other, &format!("saved-{n}"))));
    }

    #[test]
    fn a_kept_set_is_taken_back_once_and_then_gone_from_the_store() {
        let store = MemoryStore::new();
        let tenant = TenantName::default_tenant();
        let known = KnownKeys::new();
        known.load(&store).unwrap();
        known.insert(&tenant, "saved");
        known.keep(&store).unwrap();

        let next = KnownKeys::new();
        assert!(next.restore(&store).unwrap());
        assert!(next.is_loaded());
        assert!(next.may_exist(&tenant, "saved"));
        assert!(!next.may_exist(&tenant, "new"));
        // Taken back, it is gone: a crash now must not leave it to be trusted again.
        assert!(!KnownKeys::new().restore(&store).unwrap());
    }

    #[test]
    fn a_set_not_yet_loaded_is_not_kept() {
        let store = MemoryStore::new();
        KnownKeys::new().keep(&store).unwrap();
        assert!(!KnownKeys::new().restore(&store).unwrap());
    }

    #[test]
    fn a_kept_set_of_another_format_is_not_trusted() {
        let store = MemoryStore::new();
        let empty = Batch::default();
        let mut view = View::new(&store, &empty);
        view.put(KEPT.to_vec(), b"bloom-other\n0000".to_vec());
        store.commit(&view.into_writes()).unwrap();
        let known = KnownKeys::new();
        assert!(!known.restore(&store).unwrap());
        assert!(!known.is_loaded());
    }
}
