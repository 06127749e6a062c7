//! The state directory: the license server's state kept as one JSON document.
//!
//! Every change is made under an exclusive lock on the directory and written to a new file
//! that replaces the old one only once it is on disk. So the daemon and the command line can
//! share a directory, and a crash leaves the old state or the new one, never half of each.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{STATE_FORMAT, ServerState};

/// The file the state is kept in, inside the state directory.
pub const STATE_FILE: &str = "license-server.json";
const LOCK_FILE: &str = "license-server.lock";

/// The license server's state directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The path given is a file, not a directory.
    #[error(
        "{} is a file, not a directory: --state-dir names the directory a license server keeps its state in",
        path.display()
    )]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// No license server is installed there.
    #[error(
        "no license server is installed in {}: run `license-server install` first, or pass --state-dir",
        dir.display()
    )]
    NotInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// No session host is installed there.
    #[error(
        "no session host is installed in {}: run `license-server session-host --host-dir {} install` first",
        dir.display(), dir.display()
    )]
    NoSessionHost {
        /// The directory.
        dir: PathBuf,
    },
    /// A session host is already installed there.
    #[error(
        "a session host is already installed in {}: use another --host-dir, or remove that one",
        dir.display()
    )]
    SessionHostInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// A license server is already installed there.
    #[error(
        "a license server is already installed in {}: use another --state-dir, or remove that one",
        dir.display()
    )]
    AlreadyInstalled {
        /// The directory.
        dir: PathBuf,
    },
    /// The state file is not one this build reads.
    #[error("the license server state in {} cannot be read: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl StateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StateError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A license server's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Creates a license server in `dir`, which must not hold one yet.
    pub fn create(dir: &Path, state: &ServerState) -> Result<Self, StateError> {
        not_a_file(dir)?;
        fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let this = StateDir {
            dir: dir.to_owned(),
        };
        let _lock = this.lock()?;
        if this.file().exists() {
            return Err(StateError::AlreadyInstalled {
                dir: dir.to_owned(),
            });
        }
        this.write(state)?;
        Ok(this)
    }

    /// Opens the license server in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        not_a_file(dir)?;
        let this = StateDir {
            dir: dir.to_owned(),
        };
        if !this.file().exists() {
            return Err(StateError::NotInstalled {
                dir: dir.to_owned(),
            });
        }
        Ok(this)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The state as it is now.
    pub fn read(&self) -> Result<ServerState, StateError> {
        let path = self.file();
        let bytes = fs::read(&path).map_err(|e| StateError::io(&path, e))?;
        let state: ServerState =
            serde_json::from_slice(&bytes).map_err(|e| StateError::Damaged {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if state.format != STATE_FORMAT {
            return Err(StateError::Damaged {
                path,
                reason: format!(
                    "layout version {} (this build reads version {STATE_FORMAT})",
                    state.format
                ),
            });
        }
        Ok(state)
    }

    /// Applies `change` to the state and keeps the result, or keeps nothing if `change`
    /// fails. No other process changes the state meanwhile.
    pub fn update<T, E>(
        &self,
        change: impl FnOnce(&mut ServerState) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StateError>,
    {
        let _lock = self.lock()?;
        let mut state = self.read()?;
        let out = change(&mut state)?;
        self.write(&state)?;
        Ok(out)
    }

    fn lock(&self) -> Result<File, StateError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StateError::io(&path, e))?;
        file.lock().map_err(|e| StateError::io(&path, e))?;
        Ok(file)
    }

    fn write(&self, state: &ServerState) -> Result<(), StateError> {
        let path = self.file();
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        replace_file(&path, &bytes)
    }
}

/// Refuses a path that names a file where a directory belongs.
pub fn not_a_file(path: &Path) -> Result<(), StateError> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => Err(StateError::NotADirectory {
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Replaces the file at `path` with `bytes`, so that a crash leaves the old file or the
/// new one, never half of one: written beside it, synced, renamed over it, and the rename
/// made durable by syncing the directory.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary).map_err(|e| StateError::io(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| StateError::io(path, e))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ClearinghouseAddress, EventLevel, Identity};
    use rand::SeedableRng;
    use shared::id::ProductId;
    use shared::vocab::CompanyFields;
    use shared::vocab::{CompanyInfo, ConnectionMethod, WindowsServer};

    fn fresh(dir: &Path) -> StateDir {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3);
        let company = CompanyInfo::new(CompanyFields {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            company: Some("Engines".into()),
            country_region: Some("GB".into()),
            ..CompanyFields::default()
        })
        .unwrap();
        let identity = Identity {
            name: "LS".into(),
            os: WindowsServer::V2022,
            product_id: ProductId::generate(WindowsServer::V2022, &mut rng),
            company,
            connection_method: ConnectionMethod::Automatic,
            clearinghouse: ClearinghouseAddress {
                url: "http://127.0.0.1:1".into(),
                tenant: None,
                seat_token: None,
            },
        };
        StateDir::create(dir, &ServerState::new(identity)).unwrap()
    }

    #[test]
    fn a_change_that_fails_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        let before = state.read().unwrap();
        let failed: Result<(), StateError> = state.update(|s| {
            s.identity.name = "CHANGED".into();
            Err(StateError::NotInstalled {
                dir: dir.path().to_owned(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(state.read().unwrap(), before);
    }

    #[test]
    fn changes_from_many_threads_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let state = state.clone();
                std::thread::spawn(move || {
                    state
                        .update(|s| {
                            s.log(EventLevel::Information, format!("thread {i}"));
                            Ok::<_, StateError>(())
                        })
                        .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The installation event and one per thread.
        assert_eq!(state.read().unwrap().events.len(), 9);
    }

    #[test]
    fn a_damaged_state_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path());
        fs::write(dir.path().join(STATE_FILE), b"{ not json").unwrap();
        let error = state.read().unwrap_err();
        assert!(error.to_string().contains(STATE_FILE), "{error}");
    }
}
