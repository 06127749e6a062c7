//! Binding an ID to the ID it was issued for: a license server ID to the product ID of its
//! license server, a confirmation code to the license server ID it deactivated.
//!
//! Such an ID is its kind digit, 19 random digits and 8 binding digits: a hash of the
//! parent ID's 35 digits and the random digits. A license server checks what a person types
//! back against its own product ID or license server ID, offline: an ID issued for another
//! server fails with a chance of one in a hundred million of passing. Like the key pack
//! digest, the hash is not keyed: it catches IDs typed on the wrong server, not a forger.

use rand::Rng;
use thiserror::Error;

use super::{Digits, LicenseServerId, PAYLOAD_LEN, Payload, ProductId};

/// Random digits of a bound ID.
const RANDOM: usize = 19;
/// Binding digits of a bound ID.
const BINDING: usize = PAYLOAD_LEN - 1 - RANDOM;
/// 10^19: the draws below it give 19 uniformly distributed digits.
const NINETEEN_DIGITS: u64 = 10_000_000_000_000_000_000;

/// An ID typed on the license server it was not issued for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BindingError {
    /// A license server ID the Clearinghouse issued for another license server.
    #[error(
        "this license server ID belongs to another license server: it was not issued for this one (product ID {product_id}); type the license server ID the Clearinghouse gave for product ID {product_id}"
    )]
    LicenseServerIdOfAnother {
        /// The product ID of the license server it was typed on.
        product_id: ProductId,
    },
    /// A confirmation code the Clearinghouse issued when another license server was
    /// deactivated.
    #[error(
        "this confirmation code belongs to another license server: it was not issued for license server ID {license_server_id}; type the code the Clearinghouse gave when it deactivated {license_server_id}"
    )]
    ConfirmationCodeOfAnother {
        /// The license server ID of the license server it was typed on.
        license_server_id: LicenseServerId,
    },
}

/// Fills `out` with random decimal digits, each equally likely: 19 from every 64-bit draw
/// below 10^19, the lowest digit first.
pub(super) fn random_digits(rng: &mut (impl Rng + ?Sized), out: &mut [u8]) {
    for chunk in out.chunks_mut(RANDOM) {
        let mut digits = [0u8; RANDOM];
        spread(draw(rng), &mut digits);
        chunk.copy_from_slice(&digits[..chunk.len()]);
    }
}

/// A random number below 10^19, every one equally likely.
fn draw(rng: &mut (impl Rng + ?Sized)) -> u64 {
    loop {
        let draw = rng.next_u64();
        if draw < NINETEEN_DIGITS {
            return draw;
        }
    }
}

/// The 19 decimal digits of `n` (below 10^19), the lowest first. `n` is cut into four
/// numbers of at most five digits first, so that their digits are found side by side.
fn spread(n: u64, out: &mut [u8; RANDOM]) {
    let (high, low) = (n / 10_000_000_000, n % 10_000_000_000);
    let parts = [
        (low % 100_000) as u32,
        (low / 100_000) as u32,
        (high % 100_000) as u32,
        (high / 100_000) as u32,
    ];
    for (digits, mut part) in out.chunks_mut(5).zip(parts) {
        for digit in digits {
            *digit = (part % 10) as u8;
            part /= 10;
        }
    }
}

/// A new ID of the kind tagged `tag`, bound to `parent`.
pub(super) fn issue(tag: u8, parent: &Digits, rng: &mut (impl Rng + ?Sized)) -> Digits {
    let random = draw(rng);
    let mut payload: Payload = [0; PAYLOAD_LEN];
    payload[0] = tag;
    let mut digits = [0u8; RANDOM];
    spread(random, &mut digits);
    payload[1..=RANDOM].copy_from_slice(&digits);
    let bound = binding(tag, parent, random);
    payload[RANDOM + 1..].copy_from_slice(&bound);
    Digits::from_payload(&payload)
}

/// Whether `id` (a bound ID) was issued for `parent`.
pub(super) fn holds(id: &Digits, parent: &Digits) -> bool {
    let payload = id.payload();
    let random = payload[1..=RANDOM]
        .iter()
        .rev()
        .fold(0u64, |n, &d| n * 10 + u64::from(d));
    binding(payload[0], parent, random)[..] == payload[RANDOM + 1..]
}

/// The binding digits of an ID tagged `tag` with the random number `random`, issued for
/// `parent`: the parent's digits read as four numbers, combined with the random number and
/// the tag by odd multipliers, and mixed.
fn binding(tag: u8, parent: &Digits, random: u64) -> [u8; BINDING] {
    let mut parts = [0u64; 4];
    for (part, digits) in parts.iter_mut().zip(parent.0.chunks(9)) {
        *part = digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'));
    }
    let combined = parts[0]
        .wrapping_mul(0xd6e8_feb8_6659_fd93)
        .wrapping_add(parts[1].wrapping_mul(0xa076_1d64_78bd_642f))
        .wrapping_add(parts[2].wrapping_mul(0xe703_7ed1_a0b4_28db))
        .wrapping_add(parts[3].wrapping_mul(0x8ebc_6af0_9c88_c6e3))
        .wrapping_add(random.wrapping_mul(0x5899_65cc_7537_4cc3))
        .wrapping_add(u64::from(tag));
    let n = (mix(combined) % 100_000_000) as u32;
    let (high, low) = (n / 10_000, n % 10_000);
    let mut out = [0u8; BINDING];
    for i in 0..4 {
        let scale = 10u32.pow(3 - i as u32);
        out[i] = (high / scale % 10) as u8;
        out[i + 4] = (low / scale % 10) as u8;
    }
    out
}

/// The SplitMix64 finaliser: every input bit moves about half the output bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;
    use crate::id::{ConfirmationCode, IdKind};
    use crate::vocab::WindowsServer;

    #[test]
    fn random_digits_are_all_digits_and_cover_every_value() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = [0u32; 10];
        for _ in 0..200 {
            let mut out = [0u8; 26];
            random_digits(&mut rng, &mut out);
            for d in out {
                seen[usize::from(d)] += 1;
            }
        }
        // 5,200 digits: each value near 520.
        assert!(seen.iter().all(|&n| (400..650).contains(&n)), "{seen:?}");
    }

    #[test]
    fn a_bound_id_holds_for_its_parent_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mine = ProductId::generate(WindowsServer::V2019, &mut rng);
        let other = ProductId::generate(WindowsServer::V2019, &mut rng);
        let id = LicenseServerId::issue(&mine, &mut rng);
        assert_eq!(id.as_any().kind(), IdKind::LicenseServerId);
        assert!(holds(&id.0, &mine.0));
        assert!(!holds(&id.0, &other.0));
        let code = ConfirmationCode::issue(&id, &mut rng);
        assert!(holds(&code.0, &id.0));
    }

    #[test]
    fn one_in_a_hundred_million_would_pass_elsewhere_so_a_thousand_never_do() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mine = ProductId::generate(WindowsServer::V2022, &mut rng);
        for _ in 0..1000 {
            let other = ProductId::generate(WindowsServer::V2022, &mut rng);
            let theirs = LicenseServerId::issue(&other, &mut rng);
            assert!(theirs.check_issued_for(&mine).is_err());
            assert!(theirs.check_issued_for(&other).is_ok());
        }
    }
}
