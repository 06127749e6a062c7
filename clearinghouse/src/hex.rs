//! Bytes as lowercase hexadecimal and back, the one way the clearinghouse writes digests,
//! tokens and random numbers as text, and compares secrets so written.

/// `bytes` as lowercase hex.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex `text` (either case), unless it is not hex or longer than `most`
/// bytes' worth.
pub fn decode(text: &str, most: usize) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 2 * most {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether secret `given` is `expected`. Every byte is compared, so the time taken does not
/// tell how much of a guess was right.
pub fn same(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A random 128-bit number as 32 hex digits: a session, a form's nonce, an admin token.
pub fn random_128() -> String {
    encode(&rand::random::<u128>().to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_back_what_it_wrote_and_nothing_else() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(encode(&bytes), "007fabff");
        assert_eq!(decode("007FABff", 4).as_deref(), Some(&bytes[..]));
        for bad in ["0", "zz", "007fabff00"] {
            assert_eq!(decode(bad, 4), None, "{bad}");
        }
        assert_eq!(random_128().len(), 32);
    }

    #[test]
    fn a_secret_is_the_same_only_byte_for_byte() {
        assert!(same("3f6c", "3f6c"));
        for other in ["3f6d", "3f6", "3f6c0", ""] {
            assert!(!same(other, "3f6c"), "{other}");
        }
    }
}
