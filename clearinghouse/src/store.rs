//! Opening the embedded sled store.
//!
//! sled 0.34 keeps a 1 GiB page cache by default; a simulator is expected to stay small,
//! so the cache is bounded here.

use crate::config::Storage;

/// The page cache sled may use, in bytes.
const CACHE_CAPACITY: u64 = 32 * 1024 * 1024;

/// Opens (or creates) the store described by `storage`.
pub fn open(storage: &Storage) -> Result<sled::Db, sled::Error> {
    let config = sled::Config::new().cache_capacity(CACHE_CAPACITY);
    let config = match storage {
        Storage::Directory(path) => config.path(path),
        Storage::Temporary => config.temporary(true),
    };
    config.open()
}
