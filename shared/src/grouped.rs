//! Reading values that people type in groups: IDs (7 groups of 5 digits) and retail
//! license codes (5 groups of 5 characters).
//!
//! One reader serves every grouped value so that they all accept the same spellings: the
//! groups joined by single separators (spaces or any kind of dash, runs allowed), or with
//! no separator at all. Anything else (a separator inside a group, a stray character, a
//! group of the wrong length) is refused with an error that says where.

use thiserror::Error;

use crate::vocab::counted;

/// The shape of a grouped value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grouping {
    pub groups: usize,
    pub group_len: usize,
    /// The characters a group may hold, for the error message, e.g. "digits 0-9".
    pub alphabet: &'static str,
}

impl Grouping {
    pub(crate) const fn total(&self) -> usize {
        self.groups * self.group_len
    }
}

/// Why a grouped value could not be read. Positions and group numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// Nothing but whitespace was given.
    #[error("nothing was entered")]
    Empty,
    /// A character that is neither allowed in a group nor a separator.
    #[error(
        "{found:?} at position {position} is not allowed: use {alphabet}, with groups separated by '-' or spaces"
    )]
    InvalidCharacter {
        /// The character found.
        found: char,
        /// Its position in the text, counting characters from 1.
        position: usize,
        /// What a group may hold.
        alphabet: &'static str,
    },
    /// No separators, and not the full number of characters.
    #[error("{}", length_message(*.found, *.expected, *.groups, *.group_len))]
    WrongLength {
        /// Characters found.
        found: usize,
        /// Characters needed.
        expected: usize,
        /// Groups needed.
        groups: usize,
        /// Characters per group.
        group_len: usize,
    },
    /// Separators split the value into the wrong number of groups.
    #[error(
        "{} entered; {} needed",
        were(counted(*.found, "group"), *.found),
        were_needed(*.expected, *.group_len)
    )]
    WrongGroupCount {
        /// Groups found.
        found: usize,
        /// Groups needed.
        expected: usize,
        /// Characters per group.
        group_len: usize,
    },
    /// One group is too short or too long.
    #[error("group {group} of {groups} has {found} characters instead of {expected}")]
    GroupLength {
        /// The group, from 1.
        group: usize,
        /// Groups in all.
        groups: usize,
        /// Characters found in it.
        found: usize,
        /// Characters needed.
        expected: usize,
    },
}

fn length_message(found: usize, expected: usize, groups: usize, group_len: usize) -> String {
    let shape = if groups > 1 {
        format!(" ({groups} groups of {group_len})")
    } else {
        String::new()
    };
    let entered = were(counted(found, "character"), found);
    format!("{entered} entered; {expected} are needed{shape}")
}

/// "3 groups were", "1 group was".
fn were(counted: String, n: usize) -> String {
    format!("{counted} {}", if n == 1 { "was" } else { "were" })
}

/// "7 groups of 5 are", "one group of 5 is".
fn were_needed(groups: usize, group_len: usize) -> String {
    if groups == 1 {
        format!("one group of {group_len} is")
    } else {
        format!("{groups} groups of {group_len} are")
    }
}

/// Whether `c` may separate two groups: whitespace or any dash or hyphen.
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
        )
}

/// Reads `input` as `grouping`, keeping the characters `allowed` accepts after `normalize`.
///
/// Returns the characters of all groups, in order, as ASCII bytes.
pub(crate) fn read(
    input: &str,
    grouping: Grouping,
    normalize: impl Fn(char) -> Option<u8>,
) -> Result<Vec<u8>, LayoutError> {
    let text = input.trim_matches(is_separator);
    if text.is_empty() {
        return Err(LayoutError::Empty);
    }
    let mut groups: Vec<Vec<u8>> = vec![Vec::new()];
    let mut after_separator = false;
    for (index, c) in text.chars().enumerate() {
        if is_separator(c) {
            after_separator = true;
            continue;
        }
        let Some(byte) = normalize(c) else {
            // Report the position in what the person typed, leading separators included.
            let leading = input.chars().take_while(|&c| is_separator(c)).count();
            return Err(LayoutError::InvalidCharacter {
                found: c,
                position: leading + index + 1,
                alphabet: grouping.alphabet,
            });
        };
        if after_separator {
            groups.push(Vec::new());
            after_separator = false;
        }
        if let Some(group) = groups.last_mut() {
            group.push(byte);
        }
    }

    if groups.len() == 1 {
        let all = groups.swap_remove(0);
        if all.len() != grouping.total() {
            return Err(LayoutError::WrongLength {
                found: all.len(),
                expected: grouping.total(),
                groups: grouping.groups,
                group_len: grouping.group_len,
            });
        }
        return Ok(all);
    }
    if groups.len() != grouping.groups {
        return Err(LayoutError::WrongGroupCount {
            found: groups.len(),
            expected: grouping.groups,
            group_len: grouping.group_len,
        });
    }
    if let Some((index, group)) = groups
        .iter()
        .enumerate()
        .find(|(_, g)| g.len() != grouping.group_len)
    {
        return Err(LayoutError::GroupLength {
            group: index + 1,
            groups: grouping.groups,
            found: group.len(),
            expected: grouping.group_len,
        });
    }
    Ok(groups.concat())
}

/// Reads `input` as one run of characters of one of the lengths in `lengths`, ignoring
/// separators anywhere (numbers printed on paperwork are often split up for reading).
pub(crate) fn read_plain(
    input: &str,
    lengths: &[usize],
    alphabet: &'static str,
    normalize: impl Fn(char) -> Option<u8>,
) -> Result<Vec<u8>, LayoutError> {
    let mut out = Vec::new();
    for (index, c) in input.chars().enumerate() {
        if is_separator(c) {
            continue;
        }
        match normalize(c) {
            Some(byte) => out.push(byte),
            None => {
                return Err(LayoutError::InvalidCharacter {
                    found: c,
                    position: index + 1,
                    alphabet,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(LayoutError::Empty);
    }
    if !lengths.contains(&out.len()) {
        let expected = lengths.first().copied().unwrap_or_default();
        return Err(LayoutError::WrongLength {
            found: out.len(),
            expected,
            groups: 1,
            group_len: expected,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Grouping = Grouping {
        groups: 3,
        group_len: 2,
        alphabet: "digits 0-9",
    };

    fn digits(input: &str) -> Result<String, LayoutError> {
        read(input, SHAPE, |c| c.is_ascii_digit().then_some(c as u8))
            .map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn accepts_dashes_spaces_unicode_dashes_and_no_separators() {
        for input in [
            "12-34-56",
            "12 34 56",
            "12\u{2013}34\u{2014}56",
            "123456",
            "  12 - 34 - 56 ",
        ] {
            assert_eq!(digits(input).as_deref(), Ok("123456"), "{input}");
        }
    }

    #[test]
    fn refuses_a_separator_inside_a_group() {
        assert_eq!(
            digits("1-234-56"),
            Err(LayoutError::GroupLength {
                group: 1,
                groups: 3,
                found: 1,
                expected: 2
            })
        );
    }

    #[test]
    fn refuses_partly_separated_input() {
        assert_eq!(
            digits("1234-56"),
            Err(LayoutError::WrongGroupCount {
                found: 2,
                expected: 3,
                group_len: 2
            })
        );
    }

    #[test]
    fn names_the_position_of_a_stray_character() {
        assert_eq!(
            digits(" 12-3x-56"),
            Err(LayoutError::InvalidCharacter {
                found: 'x',
                position: 6,
                alphabet: "digits 0-9"
            })
        );
    }

    #[test]
    fn counts_characters_when_there_are_no_separators() {
        assert_eq!(
            digits("12345"),
            Err(LayoutError::WrongLength {
                found: 5,
                expected: 6,
                groups: 3,
                group_len: 2
            })
        );
    }

    #[test]
    fn plain_values_ignore_separators_and_count_characters() {
        let read = |s| {
            read_plain(s, &[7, 8], "digits 0-9", |c| {
                c.is_ascii_digit().then_some(c as u8)
            })
        };
        assert_eq!(read("123-4567"), Ok(b"1234567".to_vec()));
        assert_eq!(read("12345678"), Ok(b"12345678".to_vec()));
        let err = read("123456").unwrap_err();
        assert_eq!(err.to_string(), "6 characters were entered; 7 are needed");
    }

    #[test]
    fn one_of_a_thing_is_said_in_the_singular() {
        let one_group = LayoutError::WrongGroupCount {
            found: 2,
            expected: 1,
            group_len: 5,
        };
        assert_eq!(
            one_group.to_string(),
            "2 groups were entered; one group of 5 is needed"
        );
        let one_entered = LayoutError::WrongGroupCount {
            found: 1,
            expected: 7,
            group_len: 5,
        };
        assert_eq!(
            one_entered.to_string(),
            "1 group was entered; 7 groups of 5 are needed"
        );
        assert_eq!(
            crate::id::check_group(3, "12345 67890")
                .unwrap_err()
                .to_string(),
            "not an ID: 2 groups were entered; one group of 5 is needed"
        );
    }

    #[test]
    fn empty_input_is_named_as_such() {
        assert_eq!(digits(" - "), Err(LayoutError::Empty));
    }
}
