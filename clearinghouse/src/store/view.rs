//! A view of the store with writes not yet committed on top: what one request sees while
//! the writer applies it.
//!
//! Two layers sit over the store: the writes of earlier requests in the same batch, and the
//! writes of the request being applied. A request that fails is dropped with its layer, so
//! it changes nothing; one that succeeds folds its layer into the batch.

use std::collections::BTreeMap;

use super::{Batch, Entries, Store, StoreError};

/// The store as one request sees it.
pub struct View<'a> {
    store: &'a dyn Store,
    pending: &'a Batch,
    own: Batch,
}

impl<'a> View<'a> {
    /// A view over `store` with `pending` (the batch so far) applied.
    pub fn new(store: &'a dyn Store, pending: &'a Batch) -> Self {
        View {
            store,
            pending,
            own: Batch::default(),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.own.lookup(key) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        if let Some(v) = self.pending.lookup(key) {
            return Ok(v.map(<[u8]>::to_vec));
        }
        self.store.get(key)
    }

    /// Every entry under `prefix`, in key order.
    pub fn scan(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.store.scan(prefix)?.into_iter().collect();
        self.pending.overlay_scan(prefix, &mut merged);
        self.own.overlay_scan(prefix, &mut merged);
        Ok(merged.into_iter().collect())
    }

    /// Puts `value` under `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.own.put(key, Some(value));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.own.put(key, None);
    }

    /// Drops this request's writes.
    pub fn discard(&mut self) {
        self.own = Batch::default();
    }

    /// This request's writes, to fold into the batch.
    pub fn into_writes(self) -> Batch {
        self.own
    }
}

impl Batch {
    /// Adds `other`'s writes, which win over this batch's.
    pub fn merge(&mut self, other: Batch) {
        self.absorb(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_view_sees_its_own_writes_over_the_batch_over_the_store() {
        let store = MemoryStore::new();
        let mut seed = Batch::default();
        seed.put(b"a/1".to_vec(), Some(b"store".to_vec()));
        seed.put(b"a/2".to_vec(), Some(b"store".to_vec()));
        store.commit(&seed).unwrap();

        let mut pending = Batch::default();
        pending.put(b"a/2".to_vec(), None);
        pending.put(b"a/3".to_vec(), Some(b"batch".to_vec()));
        let mut view = View::new(&store, &pending);
        view.put(b"a/4".to_vec(), b"own".to_vec());
        view.remove(b"a/1".to_vec());

        let keys: Vec<Vec<u8>> = view
            .scan(b"a/")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"a/3".to_vec(), b"a/4".to_vec()]);
        assert_eq!(view.get(b"a/2").unwrap(), None);
        assert_eq!(view.get(b"a/3").unwrap(), Some(b"batch".to_vec()));
        assert_eq!(
            store.get(b"a/1").unwrap(),
            Some(b"store".to_vec()),
            "nothing committed"
        );
    }
}
