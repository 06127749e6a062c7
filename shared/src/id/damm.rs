//! The per-group check digit: the Damm algorithm, started from the group's position.
//!
//! Damm's table is a weakly totally anti-symmetric quasigroup of order 10. That gives
//! three guarantees for every 5-digit group (all proved exhaustively in the tests below):
//! - any single mistyped digit changes the result, because every row and column of the
//!   table is a permutation;
//! - any swap of two adjacent digits changes the result, because `(c*x)*y != (c*y)*x`
//!   whenever `x != y`, for every interim `c`;
//! - a group checked from another start never passes, because for a fixed digit the map
//!   `c -> c*d` is a permutation, so different starts end in different interims. Starting
//!   group `i` from `i` therefore makes a group moved to another place fail its check.

/// Damm's 10x10 quasigroup with a zero diagonal (H. M. Damm, 2004).
const TABLE: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// Folds `digits` (each 0..=9) through the table, starting from `start`.
fn fold(start: u8, digits: &[u8]) -> u8 {
    digits.iter().fold(start, |interim, &d| {
        TABLE[usize::from(interim)][usize::from(d)]
    })
}

/// The check digit that completes `payload` for the group at `position` (0-based).
///
/// The table's diagonal is zero, so the digit equal to the interim brings the fold to 0.
pub(crate) fn check_digit(position: usize, payload: &[u8]) -> u8 {
    fold(start(position), payload)
}

/// Whether `group` (payload digits followed by the check digit) is valid at `position`.
pub(crate) fn is_valid(position: usize, group: &[u8]) -> bool {
    fold(start(position), group) == 0
}

fn start(position: usize) -> u8 {
    debug_assert!(position < 10, "the start must be a digit");
    (position % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSITIONS: usize = 7;

    fn digits_of(n: u32) -> [u8; 4] {
        [
            (n / 1000 % 10) as u8,
            (n / 100 % 10) as u8,
            (n / 10 % 10) as u8,
            (n % 10) as u8,
        ]
    }

    fn group(position: usize, n: u32) -> [u8; 5] {
        let p = digits_of(n);
        [p[0], p[1], p[2], p[3], check_digit(position, &p)]
    }

    #[test]
    fn every_completed_group_is_valid_at_its_own_position() {
        for position in 0..POSITIONS {
            for n in 0..10_000 {
                assert!(is_valid(position, &group(position, n)));
            }
        }
    }

    #[test]
    fn every_single_digit_substitution_is_caught() {
        for position in 0..POSITIONS {
            for n in 0..10_000 {
                let good = group(position, n);
                for i in 0..5 {
                    for d in 0..10 {
                        if d == good[i] {
                            continue;
                        }
                        let mut bad = good;
                        bad[i] = d;
                        assert!(!is_valid(position, &bad), "{good:?} -> {bad:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_caught() {
        for position in 0..POSITIONS {
            for n in 0..10_000 {
                let good = group(position, n);
                for i in 0..4 {
                    if good[i] == good[i + 1] {
                        continue;
                    }
                    let mut bad = good;
                    bad.swap(i, i + 1);
                    assert!(!is_valid(position, &bad), "{good:?} -> {bad:?}");
                }
            }
        }
    }

    #[test]
    fn a_group_never_checks_at_another_position() {
        for position in 0..POSITIONS {
            for n in 0..10_000 {
                let good = group(position, n);
                for other in (0..POSITIONS).filter(|&o| o != position) {
                    assert!(!is_valid(other, &good), "{good:?} at {other}");
                }
            }
        }
    }
}
