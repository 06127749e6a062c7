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
//! | 13 | content, whitened: product version (1), license type (1), quantity (4), serial (7) |
//!
//! The serial numbers the key packs issued to one license server, so two of them never
//! share an ID. The content is whitened by adding, digit by digit, a key stream drawn from SHA-256 over
//! the target license server ID and the digest. Opening the ID with another license server
//! ID fails the fingerprint (and, in the 1 case in 1,000 where the fingerprints agree, the
//! digest). Changing any digit and recomputing that group's check digit fails the digest.
//! The digest is not keyed: it catches accidents and edits, not a forger who knows this
//! layout; the Clearinghouse's ledger remains the authority on what was issued.

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{Digits, IdKind, KeyPackId, LicenseServerId, PAYLOAD_LEN, Payload};
use crate::vocab::{LicenseType, ProductVersion, Quantity};

const FINGERPRINT: std::ops::Range<usize> = 1..4;
const DIGEST: std::ops::Range<usize> = 4..15;
const CONTENT: std::ops::Range<usize> = 15..PAYLOAD_LEN;
const CONTENT_LEN: usize = PAYLOAD_LEN - 15;
const SERIAL_LEN: usize = 7;

/// The number of a key pack among those issued to one license server: 0 to 9,999,999.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct KeyPackSerial(u32);

impl TryFrom<u32> for KeyPackSerial {
    type Error = String;

    fn try_from(n: u32) -> Result<Self, String> {
        KeyPackSerial::new(n)
            .ok_or_else(|| format!("a key pack serial is at most {}, not {n}", Self::MAX))
    }
}

impl From<KeyPackSerial> for u32 {
    fn from(serial: KeyPackSerial) -> u32 {
        serial.0
    }
}

impl KeyPackSerial {
    /// The highest serial: a license server receives at most ten million key packs.
    pub const MAX: u32 = 9_999_999;

    /// Serial `n`, if it is at most [`KeyPackSerial::MAX`].
    pub fn new(n: u32) -> Option<Self> {
        (n <= Self::MAX).then_some(KeyPackSerial(n))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

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
    /// The ID holds Windows Server 2012 R2 CALs, which were never sold: only an earlier
    /// version of this simulator issued them.
    #[error(
        "this license key pack ID holds Windows Server 2012 R2 CALs, which do not exist (Windows Server 2012 CALs serve Windows Server 2012 R2); an earlier version of this simulator issued it: ask the Clearinghouse for Windows Server 2012 CALs instead"
    )]
    Retired2012R2,
    /// The ID passes its check digits but its content was changed after it was issued.
    #[error(
        "this license key pack ID fails its integrity check: it was changed after it was issued; ask the Clearinghouse for it again"
    )]
    Damaged,
}

impl KeyPackId {
    /// Issues the key pack ID of key pack number `serial` of `target`, holding `contents`.
    ///
    /// For one target, different serials always give different IDs, so an issuer that
    /// numbers the key packs of each license server never issues an ID twice.
    pub fn issue(
        target: &LicenseServerId,
        contents: KeyPackContents,
        serial: KeyPackSerial,
    ) -> Self {
        let mut content = [0u8; CONTENT_LEN];
        content[0] = contents.product_version.code();
        content[1] = contents.license_type.code();
        let quantity = contents.quantity.get();
        for (i, slot) in content[2..6].iter_mut().enumerate() {
            *slot = (quantity / 10u16.pow(3 - i as u32) % 10) as u8;
        }
        for (i, slot) in content[6..6 + SERIAL_LEN].iter_mut().enumerate() {
            *slot = (serial.0 / 10u32.pow((SERIAL_LEN - 1 - i) as u32) % 10) as u8;
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
        self.decode(target).map(|(contents, _)| contents)
    }

    /// The serial of this key pack among those of `target`, if it was issued for `target`.
    pub fn serial(&self, target: &LicenseServerId) -> Result<KeyPackSerial, KeyPackError> {
        self.decode(target).map(|(_, serial)| serial)
    }

    fn decode(
        &self,
        target: &LicenseServerId,
    ) -> Result<(KeyPackContents, KeyPackSerial), KeyPackError> {
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
        let serial = content[6..]
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d));
        if content[0] == crate::vocab::RETIRED_2012_R2_CODE {
            return Err(KeyPackError::Retired2012R2);
        }
        let contents = KeyPackContents {
            product_version: ProductVersion::from_code(content[0]).ok_or(KeyPackError::Damaged)?,
            license_type: LicenseType::from_code(content[1]).ok_or(KeyPackError::Damaged)?,
            quantity: Quantity::new(quantity).map_err(|_| KeyPackError::Damaged)?,
        };
        Ok((contents, KeyPackSerial(serial)))
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
    use crate::id::ProductId;
    use crate::vocab::WindowsServer;

    #[test]
    fn the_target_opens_what_was_issued() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let target = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng),
            &mut rng,
        );
        let serial = KeyPackSerial::new(1_234_567).unwrap();
        let id = KeyPackId::issue(&target, KeyPackContents::example(), serial);
        assert_eq!(id.open(&target), Ok(KeyPackContents::example()));
        assert_eq!(id.serial(&target), Ok(serial));
    }

    #[test]
    fn another_license_server_cannot_open_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let target = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng),
            &mut rng,
        );
        let other = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng),
            &mut rng,
        );
        let id = KeyPackId::issue(&target, KeyPackContents::example(), KeyPackSerial(0));
        assert_eq!(
            id.open(&other),
            Err(KeyPackError::NotForThisServer { expected: other })
        );
    }

    #[test]
    fn serials_of_one_server_give_different_ids() {
        let target = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut ChaCha8Rng::seed_from_u64(6)),
            &mut ChaCha8Rng::seed_from_u64(6),
        );
        let ids: std::collections::HashSet<KeyPackId> = (0..1000)
            .map(|n| KeyPackId::issue(&target, KeyPackContents::example(), KeyPackSerial(n)))
            .collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(KeyPackSerial::new(10_000_000), None);
    }

    #[test]
    fn an_edited_digit_with_a_recomputed_check_digit_is_detected() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let target = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng),
            &mut rng,
        );
        let id = KeyPackId::issue(&target, KeyPackContents::example(), KeyPackSerial(42));
        for index in 1..PAYLOAD_LEN {
            let mut payload = id.0.payload();
            payload[index] = (payload[index] + 1) % 10;
            let edited = KeyPackId(Digits::from_payload(&payload));
            assert!(edited.open(&target).is_err(), "digit {index}");
        }
    }
}
