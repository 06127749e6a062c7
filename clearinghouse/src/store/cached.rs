//! A write-through cache in front of a store, for the few records nearly every request
//! reads (a tenant's settings, its purchases, its license servers).
//!
//! Only the single writer reads and commits, so the cache can never go stale: it is
//! filled by reads and updated by every commit that succeeds. Which keys are worth caching
//! is the caller's choice; the cache is bounded in bytes and simply emptied when full.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Batch, Scan, Store, StoreError};

/// The most bytes the cache holds (keys, values and a map entry's own cost) before it is
/// emptied: a class with thousands of license servers keeps its resident memory flat, while
/// a tenant's settings, purchases and servers in use stay cached.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// What a map entry costs beyond its key and value: two vectors and the table's slot.
const ENTRY_COST: usize = 64;

/// A store with a cache for the keys `hot` accepts.
pub struct CachedStore<S> {
    inner: S,
    hot: fn(&[u8]) -> bool,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
}

fn cost(key: &[u8], value: Option<&[u8]>) -> usize {
    key.len() + value.map_or(0, <[u8]>::len) + ENTRY_COST
}

impl Cache {
    fn insert(&mut self, key: &[u8], value: Option<&[u8]>) {
        let added = cost(key, value);
        if let Some(old) = self.entries.get(key) {
            self.bytes -= cost(key, old.as_deref());
        }
        if self.bytes + added > MAX_BYTES {
            self.clear();
        }
        self.bytes += added;
        self.entries.insert(key.to_vec(), value.map(<[u8]>::to_vec));
    }

    fn clear(&mut self) {
        self.entries = HashMap::new();
        self.bytes = 0;
    }
}

impl<S: Store> CachedStore<S> {
    /// Caches the keys of `inner` for which `hot` is true.
    pub fn new(inner: S, hot: fn(&[u8]) -> bool) -> Self {
        CachedStore {
            inner,
            hot,
            cache: Mutex::new(Cache::default()),
        }
    }
}

impl<S: Store> Store for CachedStore<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !(self.hot)(key) {
            return self.inner.get(key);
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(value) = cache.entries.get(key)
        {
            return Ok(value.clone());
        }
        let value = self.inner.get(key)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, value.as_deref());
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
                        cache.insert(key, value);
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

    #[test]
    fn the_cache_holds_no_more_bytes_than_its_bound_and_still_answers_from_the_store() {
        let inner = MemoryStore::new();
        let mut batch = Batch::default();
        let value = vec![7u8; 1000];
        for n in 0..10_000u32 {
            batch.put(n.to_be_bytes().to_vec(), Some(value.clone()));
        }
        inner.commit(&batch).unwrap();
        let store = CachedStore::new(inner, all_hot);
        for n in 0..10_000u32 {
            assert_eq!(store.get(&n.to_be_bytes()).unwrap().as_ref(), Some(&value));
            let cache = store.cache.lock().unwrap();
            assert!(cache.bytes <= MAX_BYTES, "{} bytes cached", cache.bytes);
        }
        let cache = store.cache.lock().unwrap();
        let counted: usize = cache
            .entries
            .iter()
            .map(|(k, v)| cost(k, v.as_deref()))
            .sum();
        assert_eq!(cache.bytes, counted, "the count follows what is held");
        assert!(!cache.entries.is_empty());
    }

    #[test]
    fn replacing_a_cached_value_counts_only_the_new_one() {
        let store = CachedStore::new(MemoryStore::new(), all_hot);
        for size in [10, 500, 20] {
            let mut batch = Batch::default();
            batch.put(b"k".to_vec(), Some(vec![1; size]));
            store.commit(&batch).unwrap();
        }
        assert_eq!(
            store.cache.lock().unwrap().bytes,
            cost(b"k", Some(&[1; 20]))
        );
    }
}
