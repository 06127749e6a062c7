//! A store in memory: nothing on disk, nothing survives the process. For tests and
//! throwaway runs (`--in-memory`).

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{Batch, Scan, Store, StoreError};

/// A sorted map behind a lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> StoreError {
    StoreError("the in-memory store was poisoned by a panic".to_owned())
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.read().map_err(|_| poisoned())?.get(key).cloned())
    }

    fn scan<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        // A copy, so that no lock is held while the caller consumes it; this store only
        // serves tests and throwaway runs, whose data is small.
        let entries: Vec<_> = match self.map.read() {
            Ok(map) => map
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| Ok((k.clone(), v.clone())))
                .collect(),
            Err(_) => vec![Err(poisoned())],
        };
        Box::new(entries.into_iter())
    }

    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut map = self.map.write().map_err(|_| poisoned())?;
        for (key, value) in batch.writes() {
            match value {
                Some(v) => map.insert(key.to_vec(), v.to_vec()),
                None => map.remove(key),
            };
        }
        Ok(())
    }
}
