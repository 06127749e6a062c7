//! What a license key pack ID carries, and how it is bound to its license server.
//!
//! The telephone and web methods have no channel but the ID itself: the license server
//! decodes the product version, license type and quantity from the 35 digits a person
//! typed. The 28 payload digits are laid out as:
//!
//! | digits | what |
//! | --- | --- |
//! | 1 | kind tag (3) |
//! | 3 | fingerprint of the target license server ID |
//! | 11 | digest: SHA-256 over the target license server ID and the content |
//! | 13 | content, whitened: product version (1), license type (1), quantity (4), nonce (7) |
//!
//! The content is whitened by adding, digit by digit, a key stream drawn from SHA-256 over
//! the target license server ID and the digest. Opening the ID with another license server
//! ID fails the fingerprint (and, in the 1 case in 1,000 where the fingerprints agree, the
//! digest). Changing any digit and recomputing that group's check digit fails the digest.
//! The digest is not keyed: it catches accidents and edits, not a forger who knows this
//! layout; the Clearinghouse's ledger remains the authority on what was issued.

use rand::{Rng, RngExt};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{Digits, IdKind, KeyPackId, LicenseServerId, PAYLOAD_LEN, Payload};
use crate::vocab::{LicenseType, ProductVersion, Quantity};

const FINGERPRINT: std::ops::Range<usize> = 1..4;
const DIGEST: std::ops::Range<usize> = 4..15;
const CONTENT: std::ops::Range<usize> = 15..PAYLOAD_LEN;
const CONTENT_LEN: usize = PAYLOAD_LEN - 15;
const NONCE_LEN: usize = 7;

/// What a key pack holds: the CALs a license server installs from a key pack ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct KeyPackContents {
    /// The Windows Server version the CALs are for.
    pub product_version: ProductVersion,
    /// Per Device or Per User.
    pub license_type: LicenseType,
    /// How many CALs.
    pub quantity: Quantity,
}

/// Why a key pack ID could not be opened for a license server.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyPackError {
    /// The ID was issued for another license server.
    #[error(
        "this license key pack ID was issued for another license server: obtain one for license server ID {expected}"
    )]
    NotForThisServer {
        /// The license server that tried to open it.
        expected: LicenseServerId,
    },
    /// The ID passes its check digits but its content was changed after it was issued.
    #[error(
        "this license key pack ID fails its integrity check: it was changed after it was issued; ask the Clearinghouse for it again"
    )]
    Damaged,
}

impl KeyPackId {
    /// Issues a key pack ID for `target` holding `contents`, with a nonce drawn from `rng`.
    ///
    /// Two calls with the same arguments differ only in the nonce; the issuer keeps IDs
    /// unique by drawing again on the rare collision.
    pub fn issue(
        target: &LicenseServerId,
        contents: KeyPackContents,
        rng: &mut (impl Rng + ?Sized),
    ) -> Self {
        let mut content = [0u8; CONTENT_LEN];
        content[0] = contents.product_version.code();
        content[1] = contents.license_type.code();
        let quantity = contents.quantity.get();
        for (i, slot) in content[2..6].iter_mut().enumerate() {
            *slot = (quantity / 10u16.pow(3 - i as u32) % 10) as u8;
        }
        for slot in &mut content[6..6 + NONCE_LEN] {
            *slot = rng.random_range(0..10);
        }

        let mut payload: Payload = [0; PAYLOAD_LEN];
        payload[0] = IdKind::KeyPackId.tag();
        payload[FINGERPRINT].copy_from_slice(&fingerprint(target));
        let digest = digest(target, &content);
        payload[DIGEST].copy_from_slice(&digest);
        let stream = key_stream(target, &digest);
        for ((slot, c), k) in payload[CONTENT].iter_mut().zip(content).zip(stream) {
            *slot = (c + k) % 10;
        }
        KeyPackId(Digits::from_payload(&payload))
    }

    /// Opens this key pack ID on license server `target`: what it holds, if it was issued
    /// for `target` and is unchanged.
    pub fn open(&self, target: &LicenseServerId) -> Result<KeyPackContents, KeyPackError> {
        let payload = self.0.payload();
        if payload[FINGERPRINT] != fingerprint(target) {
            return Err(KeyPackError::NotForThisServer { expected: *target });
        }
        let stream = key_stream(target, &payload[DIGEST]);
        let mut content = [0u8; CONTENT_LEN];
        for ((slot, w), k) in content.iter_mut().zip(&payload[CONTENT]).zip(stream) {
            *slot = (w + 10 - k) % 10;
        }
        if digest(target, &content)[..] != payload[DIGEST] {
            return Err(KeyPackError::Damaged);
        }
        let quantity = content[2..6]
            .iter()
            .fold(0u16, |n, &d| n * 10 + u16::from(d));
        Ok(KeyPackContents {
            product_version: ProductVersion::from_code(content[0]).ok_or(KeyPackError::Damaged)?,
            license_type: LicenseType::from_code(content[1]).ok_or(KeyPackError::Damaged)?,
            quantity: Quantity::new(quantity).map_err(|_| KeyPackError::Damaged)?,
        })
    }
}

fn fingerprint(target: &LicenseServerId) -> [u8; 3] {
    hash_digits(b"fingerprint", &[target.compact().as_bytes()])
}

fn digest(target: &LicenseServerId, content: &[u8]) -> [u8; 11] {
    hash_digits(b"digest", &[target.compact().as_bytes(), content])
}

fn key_stream(target: &LicenseServerId, digest: &[u8]) -> [u8; CONTENT_LEN] {
    hash_digits(b"whiten", &[target.compact().as_bytes(), digest])
}

/// `N` uniformly distributed decimal digits drawn from SHA-256 over a domain label and
/// `parts`. Bytes of 250 and above are skipped so that every digit is equally likely; the
/// hash is extended with a counter in the (astronomically rare) case 32 bytes fall short.
fn hash_digits<const N: usize>(label: &[u8], parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut filled = 0;
    let mut counter = 0u32;
    while filled < N {
        let mut hasher = Sha256::new();
        hasher.update(b"clearinghouse-sim/key-pack/v1/");
        hasher.update(label);
        hasher.update(counter.to_be_bytes());
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        for byte in hasher.finalize() {
            if filled == N {
                break;
            }
            if byte < 250 {
                out[filled] = byte % 10;
                filled += 1;
            }
        }
        counter += 1;
    }
    out
}

#[cfg(test)]
impl KeyPackContents {
    pub(crate) fn example() -> Self {
        KeyPackContents {
            product_version: ProductVersion::WindowsServer2022,
            license_type: LicenseType::PerUser,
            quantity: Quantity::new(25).unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_target_opens_what_was_issued() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let target = LicenseServerId::generate(&mut rng);
        let id = KeyPackId::issue(&target, KeyPackContents::example(), &mut rng);
        assert_eq!(id.open(&target), Ok(KeyPackContents::example()));
    }

    #[test]
    fn another_license_server_cannot_open_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let target = LicenseServerId::generate(&mut rng);
        let other = LicenseServerId::generate(&mut rng);
        let id = KeyPackId::issue(&target, KeyPackContents::example(), &mut rng);
        assert_eq!(
            id.open(&other),
            Err(KeyPackError::NotForThisServer { expected: other })
        );
    }

    #[test]
    fn an_edited_digit_with_a_recomputed_check_digit_is_detected() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let target = LicenseServerId::generate(&mut rng);
        let id = KeyPackId::issue(&target, KeyPackContents::example(), &mut rng);
        for index in 1..PAYLOAD_LEN {
            let mut payload = id.0.payload();
            payload[index] = (payload[index] + 1) % 10;
            let edited = KeyPackId(Digits::from_payload(&payload));
            assert!(edited.open(&target).is_err(), "digit {index}");
        }
    }
}
