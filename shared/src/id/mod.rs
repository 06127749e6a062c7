//! The 35-digit IDs that pass between a license server, a person and the Clearinghouse.
//!
//! Every ID is shown as 7 groups of 5 decimal digits joined by `-`. Each group holds 4
//! payload digits and ends in a check digit (see [`damm`](self) for why mistyped digits,
//! swapped neighbours and groups moved to another place are all caught, and named by
//! group). The first payload digit says what kind of ID it is, so a license server ID
//! typed where a key pack ID belongs gets its own error. The full layout is written down
//! in `docs/ids.md`.
//!
//! Each kind is its own type ([`ProductId`], [`LicenseServerId`], [`KeyPackId`],
//! [`ConfirmationCode`]); a value of one exists only if it was read from valid text or
//! generated. Generation takes the random source as an argument, so a seeded source
//! reproduces the same IDs.
//!
//! IDs are bound to what they were issued for, so a license server checks offline what a
//! person types back: a product ID names the Windows Server release the license server
//! runs; a license server ID is bound to the product ID it was issued for; a confirmation
//! code to the license server ID it deactivated; a key pack ID to the license server ID it
//! was issued for (see [`binding`](self) and [`KeyPackId::open`]). IDs of the first layout,
//! issued before product IDs, license server IDs and confirmation codes were bound, are
//! still read; they carry no binding to check.

mod binding;
mod damm;
mod key_pack;

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use thiserror::Error;

use crate::grouped::{self, Grouping, LayoutError};
use crate::vocab::{Term, WindowsServer};

pub use binding::BindingError;
pub use key_pack::{KeyPackContents, KeyPackError, KeyPackSerial};

/// Groups in an ID.
pub const GROUPS: usize = 7;
/// Digits in a group, check digit included.
pub const GROUP_LEN: usize = 5;
/// Digits in an ID, check digits included.
pub const DIGITS: usize = GROUPS * GROUP_LEN;
/// Payload digits in a group.
const PAYLOAD_PER_GROUP: usize = GROUP_LEN - 1;
/// Payload digits in an ID: what is left once the check digits are taken out.
const PAYLOAD_LEN: usize = GROUPS * PAYLOAD_PER_GROUP;

const ID_GROUPING: Grouping = Grouping {
    groups: GROUPS,
    group_len: GROUP_LEN,
    alphabet: "digits 0-9",
};

/// The payload of an ID: 28 digits, each 0..=9 (not ASCII).
type Payload = [u8; PAYLOAD_LEN];

/// What an ID identifies. Its tag is the first payload digit of every ID of the kind; a
/// kind whose layout changed keeps the tag of its first layout, which is still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    /// Shown by a license server before activation; given to the Clearinghouse to activate.
    ProductId,
    /// Given by the Clearinghouse when a license server is activated or reactivated.
    LicenseServerId,
    /// Given by the Clearinghouse for CALs installed or migrated onto one license server.
    KeyPackId,
    /// Given by the Clearinghouse when a license server is deactivated.
    ConfirmationCode,
}

impl IdKind {
    /// Every kind.
    pub const ALL: [IdKind; 4] = [
        IdKind::ProductId,
        IdKind::LicenseServerId,
        IdKind::KeyPackId,
        IdKind::ConfirmationCode,
    ];

    /// The tag of the IDs issued now.
    fn tag(self) -> u8 {
        match self {
            IdKind::ProductId => 5,
            IdKind::LicenseServerId => 6,
            IdKind::KeyPackId => 3,
            IdKind::ConfirmationCode => 7,
        }
    }

    /// The kind a tag stands for, in either layout.
    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 | 5 => Some(IdKind::ProductId),
            2 | 6 => Some(IdKind::LicenseServerId),
            3 => Some(IdKind::KeyPackId),
            4 | 7 => Some(IdKind::ConfirmationCode),
            _ => None,
        }
    }

    /// The name people use for this kind of ID, e.g. "license key pack ID".
    pub fn name(self) -> &'static str {
        match self {
            IdKind::ProductId => "product ID",
            IdKind::LicenseServerId => "license server ID",
            IdKind::KeyPackId => "license key pack ID",
            IdKind::ConfirmationCode => "confirmation code",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why text could not be read as an ID.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdError {
    /// The text is not 7 groups of 5 digits.
    #[error("not an ID: {0}")]
    Layout(#[from] LayoutError),
    /// One or more groups fail their check digit: a mistyped digit, two swapped digits, or
    /// groups in the wrong order.
    #[error("{}", typo_message(.groups))]
    Typo {
        /// The groups that fail, numbered from 1, in order.
        groups: Vec<usize>,
    },
    /// Every group checks, but the ID is of no kind this Clearinghouse issues.
    #[error("this is not an ID issued by the Clearinghouse or a license server (kind digit {tag})")]
    UnknownKind {
        /// The kind digit found.
        tag: u8,
    },
    /// A group number outside 1 to 7 was asked for.
    #[error("there is no group {group}: an ID has groups 1 to {GROUPS}")]
    NoSuchGroup {
        /// The group asked for.
        group: usize,
    },
    /// A valid ID of another kind than the one expected.
    #[error("this is a {found}, a {expected} was expected")]
    WrongKind {
        /// The kind of ID that was given.
        found: IdKind,
        /// The kind of ID that was asked for.
        expected: IdKind,
    },
}

fn typo_message(groups: &[usize]) -> String {
    match groups {
        [one] => format!("group {one} of {GROUPS} has a typo: check its five digits"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(ToString::to_string).collect();
            format!(
                "groups {} and {last} of {GROUPS} have typos, or are in the wrong order",
                init.join(", ")
            )
        }
        [] => "the ID has a typo".to_owned(),
    }
}

/// The 35 digits of a valid ID, check digits included, as ASCII.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Digits([u8; DIGITS]);

impl Digits {
    fn from_payload(payload: &Payload) -> Self {
        let mut out = [0u8; DIGITS];
        for (group, chunk) in payload.chunks_exact(PAYLOAD_PER_GROUP).enumerate() {
            let base = group * GROUP_LEN;
            for (i, d) in chunk.iter().enumerate() {
                out[base + i] = b'0' + d;
            }
            out[base + PAYLOAD_PER_GROUP] = b'0' + damm::check_digit(group, chunk);
        }
        Digits(out)
    }

    /// Checks every group of 35 ASCII digits.
    fn check(ascii: &[u8]) -> Result<Self, IdError> {
        let digits: [u8; DIGITS] = ascii.try_into().map_err(|_| {
            IdError::Layout(LayoutError::WrongLength {
                found: ascii.len(),
                expected: DIGITS,
                groups: GROUPS,
                group_len: GROUP_LEN,
            })
        })?;
        let bad: Vec<usize> = digits
            .chunks_exact(GROUP_LEN)
            .enumerate()
            .filter(|(position, group)| !group_checks(*position, group))
            .map(|(position, _)| position + 1)
            .collect();
        if bad.is_empty() {
            Ok(Digits(digits))
        } else {
            Err(IdError::Typo { groups: bad })
        }
    }

    fn payload(&self) -> Payload {
        let mut out = [0u8; PAYLOAD_LEN];
        for (group, chunk) in self.0.chunks_exact(GROUP_LEN).enumerate() {
            for (i, d) in chunk[..PAYLOAD_PER_GROUP].iter().enumerate() {
                out[group * PAYLOAD_PER_GROUP + i] = d - b'0';
            }
        }
        out
    }

    fn kind_tag(&self) -> u8 {
        self.0[0] - b'0'
    }

    /// Whether this ID is of the first layout, issued before IDs were bound (tags 1, 2
    /// and 4).
    fn first_layout(&self) -> bool {
        matches!(self.kind_tag(), 1 | 2 | 4)
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn group(&self, index: usize) -> &str {
        &self.as_str()[index * GROUP_LEN..(index + 1) * GROUP_LEN]
    }
}

fn group_checks(position: usize, ascii_group: &[u8]) -> bool {
    let mut values = [0u8; GROUP_LEN];
    for (value, ascii) in values.iter_mut().zip(ascii_group) {
        *value = ascii - b'0';
    }
    ascii_group.len() == GROUP_LEN && damm::is_valid(position, &values)
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for index in 0..GROUPS {
            if index > 0 {
                f.write_str("-")?;
            }
            f.write_str(self.group(index))?;
        }
        Ok(())
    }
}

/// Checks one group as a person types it, before the rest of the ID is known.
///
/// `group` counts from 1. This is what the telephone and web methods use to catch a typo
/// the moment a group is entered.
///
/// ```
/// use shared::id::{check_group, LicenseServerId, ProductId};
/// use shared::vocab::WindowsServer;
/// # let mut rng = rand::rngs::ChaCha8Rng::from_seed([7; 32]);
/// # use rand::SeedableRng;
/// let id = LicenseServerId::issue(&ProductId::generate(WindowsServer::V2022, &mut rng), &mut rng);
/// let groups = id.groups();
/// assert!(check_group(3, groups[2]).is_ok());
/// assert!(check_group(4, groups[2]).is_err()); // the right digits in the wrong place
/// ```
pub fn check_group(group: usize, text: &str) -> Result<(), IdError> {
    let one = Grouping {
        groups: 1,
        ..ID_GROUPING
    };
    if !(1..=GROUPS).contains(&group) {
        return Err(IdError::NoSuchGroup { group });
    }
    let ascii = grouped::read(text, one, ascii_digit)?;
    if group_checks(group - 1, &ascii) {
        Ok(())
    } else {
        Err(IdError::Typo {
            groups: vec![group],
        })
    }
}

fn ascii_digit(c: char) -> Option<u8> {
    c.is_ascii_digit().then_some(c as u8)
}

/// A valid ID of any kind: what a parser has when it does not yet know what to expect.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnyId {
    kind: IdKind,
    digits: Digits,
}

impl AnyId {
    /// The kind of this ID.
    pub fn kind(&self) -> IdKind {
        self.kind
    }

    /// The 35 digits without separators, as the license server's WMI methods take them.
    pub fn compact(&self) -> &str {
        self.digits.as_str()
    }

    /// The 7 groups of 5 digits, in order.
    pub fn groups(&self) -> [&str; GROUPS] {
        std::array::from_fn(|i| self.digits.group(i))
    }

    fn expect(self, expected: IdKind) -> Result<Digits, IdError> {
        if self.kind == expected {
            Ok(self.digits)
        } else {
            Err(IdError::WrongKind {
                found: self.kind,
                expected,
            })
        }
    }
}

impl FromStr for AnyId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ascii = grouped::read(s, ID_GROUPING, ascii_digit)?;
        let digits = Digits::check(&ascii)?;
        let tag = digits.kind_tag();
        let kind = IdKind::from_tag(tag).ok_or(IdError::UnknownKind { tag })?;
        Ok(AnyId { kind, digits })
    }
}

impl fmt::Display for AnyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.digits.fmt(f)
    }
}

impl fmt::Debug for AnyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.kind, self.digits)
    }
}

/// Defines a typed ID: a kind-checked wrapper around [`Digits`] with text and serde forms.
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $kind:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Digits);

        impl $name {
            /// The kind of ID this type holds.
            pub const KIND: IdKind = $kind;

            /// The 35 digits without separators.
            pub fn compact(&self) -> &str {
                self.0.as_str()
            }

            /// The 7 groups of 5 digits, in order.
            pub fn groups(&self) -> [&str; GROUPS] {
                std::array::from_fn(|i| self.0.group(i))
            }

            /// This ID as an ID of any kind.
            pub fn as_any(&self) -> AnyId {
                AnyId { kind: Self::KIND, digits: self.0 }
            }
        }

        impl TryFrom<AnyId> for $name {
            type Error = IdError;

            fn try_from(any: AnyId) -> Result<Self, IdError> {
                any.expect(Self::KIND).map($name)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                s.parse::<AnyId>()?.try_into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        serde_via_str!($name);
    };
}

typed_id!(
    /// The ID a license server shows before it is activated, and gives to the Clearinghouse
    /// to be activated or reactivated.
    ProductId,
    IdKind::ProductId
);

typed_id!(
    /// The ID the Clearinghouse gives a license server when it is activated or reactivated.
    LicenseServerId,
    IdKind::LicenseServerId
);

typed_id!(
    /// The ID the Clearinghouse gives for a key pack of CALs, bound to one license server.
    ///
    /// It carries the product version, license type and quantity; only the license server
    /// it was issued for can open it (see [`KeyPackId::open`]).
    KeyPackId,
    IdKind::KeyPackId
);

typed_id!(
    /// The code the Clearinghouse gives to confirm that a license server was deactivated.
    ConfirmationCode,
    IdKind::ConfirmationCode
);

/// Payload digits of a product ID drawn at random: all but the kind and the release.
const PRODUCT_RANDOM: usize = PAYLOAD_LEN - 2;

impl ProductId {
    /// A new product ID for a license server running `release`, drawn from `rng` (a seeded
    /// `rng` gives the same IDs).
    pub fn generate(release: WindowsServer, rng: &mut (impl Rng + ?Sized)) -> Self {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = IdKind::ProductId.tag();
        payload[1] = release_code(release);
        binding::random_digits(rng, &mut payload[2..2 + PRODUCT_RANDOM]);
        ProductId(Digits::from_payload(&payload))
    }

    /// The Windows Server release the license server that shows this product ID runs;
    /// `None` for a product ID of the first layout, which does not say.
    pub fn release(&self) -> Option<WindowsServer> {
        if self.0.first_layout() {
            return None;
        }
        WindowsServer::ALL
            .get(usize::from(self.0.payload()[1]))
            .copied()
    }
}

/// The digit that stands for `release` in a product ID: its place among the releases.
fn release_code(release: WindowsServer) -> u8 {
    WindowsServer::ALL
        .iter()
        .position(|r| *r == release)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or_default()
}

// One digit names a release: a tenth release after Windows Server 2025 needs a new layout.
const _: () = assert!(<WindowsServer as Term>::ALL.len() <= 10);

impl LicenseServerId {
    /// Issues the license server ID of the license server that shows `product_id`: random
    /// digits drawn from `rng`, bound to `product_id`.
    pub fn issue(product_id: &ProductId, rng: &mut (impl Rng + ?Sized)) -> Self {
        LicenseServerId(binding::issue(
            IdKind::LicenseServerId.tag(),
            &product_id.0,
            rng,
        ))
    }

    /// Checks that this license server ID was issued for the license server that shows
    /// `product_id`. An ID of the first layout carries no binding and passes.
    pub fn check_issued_for(&self, product_id: &ProductId) -> Result<(), BindingError> {
        if self.0.first_layout() || binding::holds(&self.0, &product_id.0) {
            Ok(())
        } else {
            Err(BindingError::LicenseServerIdOfAnother {
                product_id: *product_id,
            })
        }
    }
}

impl ConfirmationCode {
    /// Issues the confirmation code that `license_server_id` was deactivated: random digits
    /// drawn from `rng`, bound to `license_server_id`.
    pub fn issue(license_server_id: &LicenseServerId, rng: &mut (impl Rng + ?Sized)) -> Self {
        ConfirmationCode(binding::issue(
            IdKind::ConfirmationCode.tag(),
            &license_server_id.0,
            rng,
        ))
    }

    /// Checks that this confirmation code was issued when `license_server_id` was
    /// deactivated. A code of the first layout carries no binding and passes.
    pub fn check_issued_for(
        &self,
        license_server_id: &LicenseServerId,
    ) -> Result<(), BindingError> {
        if self.0.first_layout() || binding::holds(&self.0, &license_server_id.0) {
            Ok(())
        } else {
            Err(BindingError::ConfirmationCodeOfAnother {
                license_server_id: *license_server_id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(1)
    }

    #[test]
    fn display_is_seven_groups_of_five_joined_by_dashes() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        )
        .to_string();
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(groups.len(), 7);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_ids() {
        let a: Vec<String> = (0..3)
            .map(|_| ProductId::generate(WindowsServer::V2022, &mut rng()).to_string())
            .collect();
        assert!(a.iter().all(|id| id == &a[0]));
        let mut one = rng();
        assert_ne!(
            LicenseServerId::issue(
                &ProductId::generate(WindowsServer::V2022, &mut one),
                &mut one
            ),
            LicenseServerId::issue(
                &ProductId::generate(WindowsServer::V2022, &mut one),
                &mut one
            )
        );
    }

    #[test]
    fn a_license_server_id_is_refused_where_a_key_pack_id_is_expected() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        )
        .to_string();
        assert_eq!(
            id.parse::<KeyPackId>(),
            Err(IdError::WrongKind {
                found: IdKind::LicenseServerId,
                expected: IdKind::KeyPackId
            })
        );
        let message = id.parse::<KeyPackId>().unwrap_err().to_string();
        assert_eq!(
            message,
            "this is a license server ID, a license key pack ID was expected"
        );
    }

    #[test]
    fn a_typo_names_its_group() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        )
        .to_string();
        let mut bytes = id.into_bytes();
        // Group 4 starts at 3 * 6 (five digits and a dash per group).
        bytes[18] = if bytes[18] == b'9' {
            b'0'
        } else {
            bytes[18] + 1
        };
        let typo = String::from_utf8(bytes).unwrap();
        let err = typo.parse::<LicenseServerId>().unwrap_err();
        assert_eq!(err, IdError::Typo { groups: vec![4] });
        assert_eq!(
            err.to_string(),
            "group 4 of 7 has a typo: check its five digits"
        );
    }

    #[test]
    fn swapped_groups_are_named_together() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        );
        let mut groups = id.groups();
        groups.swap(1, 4);
        let err = groups.join("-").parse::<LicenseServerId>().unwrap_err();
        assert_eq!(err, IdError::Typo { groups: vec![2, 5] });
        assert_eq!(
            err.to_string(),
            "groups 2 and 5 of 7 have typos, or are in the wrong order"
        );
    }

    #[test]
    fn compact_and_spaced_forms_read_the_same() {
        let id = KeyPackId::issue(
            &LicenseServerId::issue(
                &ProductId::generate(WindowsServer::V2022, &mut rng()),
                &mut rng(),
            ),
            KeyPackContents::example(),
            KeyPackSerial::new(7).unwrap(),
        );
        assert_eq!(id.compact().parse::<KeyPackId>(), Ok(id));
        assert_eq!(id.groups().join(" ").parse::<KeyPackId>(), Ok(id));
    }

    #[test]
    fn ids_of_the_first_layout_are_still_read_and_carry_no_binding() {
        // Issued before product IDs named their release and IDs were bound: kind digits
        // 1, 2 and 4.
        let product: ProductId = "10974-31221-16202-49672-18729-77270-17360".parse().unwrap();
        assert_eq!(product.release(), None);
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = 2;
        payload[9] = 7;
        let old_server: LicenseServerId =
            Digits::from_payload(&payload).to_string().parse().unwrap();
        assert_eq!(old_server.check_issued_for(&product), Ok(()));
        payload[0] = 4;
        let old_code: ConfirmationCode =
            Digits::from_payload(&payload).to_string().parse().unwrap();
        assert_eq!(old_code.check_issued_for(&old_server), Ok(()));
    }

    #[test]
    fn a_product_id_names_the_release_its_license_server_runs() {
        for &release in WindowsServer::ALL {
            let id = ProductId::generate(release, &mut rng());
            let read: ProductId = id.to_string().parse().unwrap();
            assert_eq!(read.release(), Some(release));
        }
    }

    #[test]
    fn a_license_server_id_typed_on_another_server_says_so() {
        let mut rng = rng();
        let mine = ProductId::generate(WindowsServer::V2019, &mut rng);
        let theirs = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2019, &mut rng),
            &mut rng,
        );
        let error = theirs.check_issued_for(&mine).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "this license server ID belongs to another license server: it was not issued for this one (product ID {mine}); type the license server ID the Clearinghouse gave for product ID {mine}"
            )
        );
    }

    #[test]
    fn an_id_of_no_known_kind_is_refused() {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = 9;
        let text = Digits::from_payload(&payload).to_string();
        assert_eq!(text.parse::<AnyId>(), Err(IdError::UnknownKind { tag: 9 }));
    }

    #[test]
    fn check_group_catches_a_typo_in_the_group_being_typed() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        );
        let group = id.groups()[5];
        assert_eq!(check_group(6, group), Ok(()));
        let mut typo = group.as_bytes().to_vec();
        typo.swap(0, 1);
        let typo = String::from_utf8(typo).unwrap();
        if typo != group {
            assert_eq!(
                check_group(6, &typo),
                Err(IdError::Typo { groups: vec![6] })
            );
        }
        assert!(matches!(check_group(6, "1234"), Err(IdError::Layout(_))));
        assert_eq!(
            check_group(8, group),
            Err(IdError::NoSuchGroup { group: 8 })
        );
    }

    #[test]
    fn serde_uses_the_grouped_text_and_reports_parse_errors() {
        let id = LicenseServerId::issue(
            &ProductId::generate(WindowsServer::V2022, &mut rng()),
            &mut rng(),
        );
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<LicenseServerId>(&json).unwrap(), id);
        let err = serde_json::from_str::<KeyPackId>(&json).unwrap_err();
        assert!(err.to_string().contains("license server ID"), "{err}");
    }
}
