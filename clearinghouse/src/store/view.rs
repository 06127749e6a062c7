//! A view of the store with writes not yet committed on top: what one request sees while
//! the writer applies it.
//!
//! Two layers sit over the store: the writes of earlier requests in the same batch, and the
//! writes of the request being applied. A request that fails is dropped with its layer, so
//! it changes nothing; one that succeeds folds its layer into the batch.

use std::cmp::Ordering;
use std::collections::{BTreeMap, btree_map};
use std::iter::Peekable;

use super::{Batch, Scan, Store, StoreError};

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

    /// Every entry under `prefix`, in key order, read as it is consumed.
    pub fn scan(&self, prefix: &[u8]) -> Merged<'_> {
        // The uncommitted writes are few (one batch), so they are gathered up front; the
        // store's entries, which may be many, stream past them.
        let mut overlay = BTreeMap::new();
        self.pending.writes_under(prefix, &mut overlay);
        self.own.writes_under(prefix, &mut overlay);
        Merged {
            stored: self.store.scan(prefix).peekable(),
            overlay: overlay.into_iter().peekable(),
        }
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

/// The store's entries under a prefix with the uncommitted writes laid over them.
pub struct Merged<'a> {
    stored: Peekable<Scan<'a>>,
    overlay: Peekable<btree_map::IntoIter<Vec<u8>, Option<Vec<u8>>>>,
}

impl Iterator for Merged<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.stored.peek(), self.overlay.peek()) {
                (None, None) => return None,
                (Some(Err(_)) | Some(Ok(_)), None) | (Some(Err(_)), Some(_)) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((stored, _))), Some((written, _))) => stored.as_slice().cmp(written),
            };
            match order {
                Ordering::Less => return self.stored.next(),
                // An uncommitted write hides what the store holds under the same key.
                Ordering::Equal => {
                    self.stored.next();
                }
                Ordering::Greater => {}
            }
            if let Some((key, Some(value))) = self.overlay.next() {
                return Some(Ok((key, value)));
            }
            // A removal: nothing to yield for this key.
        }
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

        let keys: Vec<Vec<u8>> = view.scan(b"a/").map(|e| e.unwrap().0).collect();
        assert_eq!(keys, vec![b"a/3".to_vec(), b"a/4".to_vec()]);
        assert_eq!(view.get(b"a/2").unwrap(), None);
        assert_eq!(view.get(b"a/3").unwrap(), Some(b"batch".to_vec()));
        assert_eq!(
            store.get(b"a/1").unwrap(),
            Some(b"store".to_vec()),
            "nothing committed"
        );
    }

    #[test]
    fn a_scan_interleaves_stored_entries_with_uncommitted_ones_in_key_order() {
        let store = MemoryStore::new();
        let mut seed = Batch::default();
        for key in ["a/1", "a/3", "a/5", "b/1"] {
            seed.put(key.as_bytes().to_vec(), Some(b"store".to_vec()));
        }
        store.commit(&seed).unwrap();

        let mut pending = Batch::default();
        pending.put(b"a/0".to_vec(), Some(b"batch".to_vec()));
        pending.put(b"a/3".to_vec(), Some(b"batch".to_vec()));
        let mut view = View::new(&store, &pending);
        view.put(b"a/3".to_vec(), b"own".to_vec());
        view.put(b"a/9".to_vec(), b"own".to_vec());

        let entries: Vec<(String, String)> = view
            .scan(b"a/")
            .map(|e| {
                let (k, v) = e.unwrap();
                (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
            })
            .collect();
        let expected = [
            ("a/0", "batch"),
            ("a/1", "store"),
            ("a/3", "own"),
            ("a/5", "store"),
            ("a/9", "own"),
        ];
        assert_eq!(
            entries,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }
}
