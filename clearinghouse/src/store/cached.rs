//! A write-through cache in front of a store, for the few records nearly every request
//! reads (a tenant's settings, its purchases, its license servers).
//!
//! Only the single writer reads and commits, so the cache can never go stale: it is
//! filled by reads and updated by every commit that succeeds. Which keys are worth caching
//! is the caller's choice; the cache is bounded and simply emptied when full.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Batch, Scan, Store, StoreError};

/// The most entries kept before the cache is emptied.
const MAX_ENTRIES: usize = 50_000;

/// A store with a cache for the keys `hot` accepts.
pub struct CachedStore<S> {
    inner: S,
    hot: fn(&[u8]) -> bool,
    cache: Mutex<HashMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl<S: Store> CachedStore<S> {
    /// Caches the keys of `inner` for which `hot` is true.
    pub fn new(inner: S, hot: fn(&[u8]) -> bool) -> Self {
        CachedStore {
            inner,
            hot,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: Store> Store for CachedStore<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !(self.hot)(key) {
            return self.inner.get(key);
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(value) = cache.get(key)
        {
            return Ok(value.clone());
        }
        let value = self.inner.get(key)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key.to_vec(), value.clone());
        }
        Ok(value)
    }

    fn scan<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        self.inner.scan(prefix)
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let committed = self.inner.commit(batch);
        match self.cache.lock() {
            Ok(mut cache) if committed.is_ok() => {
                for (key, value) in batch.writes() {
                    if (self.hot)(key) {
                        cache.insert(key.to_vec(), value.map(<[u8]>::to_vec));
                    }
                }
            }
            // After a failed commit the store's state is uncertain: forget everything.
            Ok(mut cache) => cache.clear(),
            Err(_) => {}
        }
        committed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn all_hot(_: &[u8]) -> bool {
        true
    }

    #[test]
    fn a_commit_updates_what_was_cached() {
        let store = CachedStore::new(MemoryStore::new(), all_hot);
        assert_eq!(store.get(b"k").unwrap(), None);
        let mut batch = Batch::default();
        batch.put(b"k".to_vec(), Some(b"v".to_vec()));
        store.commit(&batch).unwrap();
        assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
        let mut batch = Batch::default();
        batch.put(b"k".to_vec(), None);
        store.commit(&batch).unwrap();
        assert_eq!(store.get(b"k").unwrap(), None);
    }
}
