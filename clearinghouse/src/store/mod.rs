//! Where the ledger keeps its records: a small key-value interface, so the ledger's rules
//! are written once and tested without caring which store is below.
//!
//! Two stores implement it: [`SledStore`] (on disk, durable) and [`MemoryStore`] (nothing on
//! disk, for quick tests and throwaway runs). Over sled, [`PackedStore`] keeps the ledger's
//! many small records a group to an entry, and [`CachedStore`] its few hot ones in memory. Writes reach a store only as a [`Batch`],
//! committed atomically; the single writer builds each batch in a [`View`].

mod cached;
mod memory;
mod packed;
mod sled_store;
mod view;

use std::collections::BTreeMap;

use thiserror::Error;

pub use cached::CachedStore;
pub use memory::MemoryStore;
pub use packed::{Layout, PackedStore};
pub use sled_store::SledStore;
pub use view::{Merged, View};

/// A failure of the store below; the writes of the batch in hand are not applied.
#[derive(Debug, Error)]
#[error("store failure: {0}")]
pub struct StoreError(pub String);

/// Writes to apply together: a value to put, or `None` to remove the key.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Batch {
    /// Whether the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The writes, in key order.
    pub fn writes(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.writes
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    fn lookup(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(key).map(|v| v.as_deref())
    }

    fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.writes.insert(key, value);
    }

    fn absorb(&mut self, other: Batch) {
        self.writes.extend(other.writes);
    }

    /// Copies this batch's writes in `prefix` into `overlay`, over what it holds.
    fn writes_under(&self, prefix: &[u8], overlay: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        for (key, value) in self
            .writes
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            overlay.insert(key.clone(), value.clone());
        }
    }
}

/// Key-value pairs in key order, read as they are consumed: an audit of a hundred thousand
/// key packs must not hold them all in memory at once.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// A key-value store the ledger can commit to.
pub trait Store: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every entry whose key starts with `prefix`, in key order.
    fn scan<'a>(&'a self, prefix: &[u8]) -> Scan<'a>;

    /// Applies `batch` atomically. When this returns `Ok`, the batch is durable: it
    /// survives the process being killed (for stores that keep anything at all).
    fn commit(&self, batch: &Batch) -> Result<(), StoreError>;
}
