//! Properties of the ID codec and the vocabulary parsers, checked on generated inputs.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use shared::id::{
    AnyId, ConfirmationCode, IdError, IdKind, KeyPackContents, KeyPackId, KeyPackSerial,
    LicenseServerId, ProductId,
};
use shared::vocab::{
    AgreementNumber, AuthorizationNumber, CompanyInfo, CountryRegion, LicenseCode, LicenseType,
    OpenLicenseNumber, ProductVersion, Quantity, Term, WindowsServer,
};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn serial(rng: &mut ChaCha8Rng) -> KeyPackSerial {
    use rand::RngExt;
    KeyPackSerial::new(rng.random_range(0..=KeyPackSerial::MAX)).unwrap()
}

fn contents() -> impl Strategy<Value = KeyPackContents> {
    (
        prop::sample::select(ProductVersion::ALL),
        prop::sample::select(LicenseType::ALL),
        1..=Quantity::MAX,
    )
        .prop_map(|(product_version, license_type, n)| KeyPackContents {
            product_version,
            license_type,
            quantity: Quantity::new(n).unwrap(),
        })
}

/// An ID of every kind, generated from `seed`.
fn ids_of_every_kind(seed: u64, contents: KeyPackContents) -> Vec<AnyId> {
    let mut rng = rng(seed);
    let target = LicenseServerId::issue(
        &ProductId::generate(WindowsServer::V2022, &mut rng),
        &mut rng,
    );
    vec![
        ProductId::generate(WindowsServer::V2022, &mut rng).as_any(),
        target.as_any(),
        KeyPackId::issue(&target, contents, serial(&mut rng)).as_any(),
        ConfirmationCode::issue(&target, &mut rng).as_any(),
    ]
}

/// Replaces digit `index` (0..35, separators not counted) of the grouped text of `id`.
fn with_digits(id: &AnyId, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut digits = id.compact().as_bytes().to_vec();
    edit(&mut digits);
    let text = String::from_utf8(digits).unwrap();
    (0..7)
        .map(|g| &text[g * 5..g * 5 + 5])
        .collect::<Vec<_>>()
        .join("-")
}

proptest! {
    #[test]
    fn every_kind_round_trips_through_its_text_forms(seed: u64, contents in contents()) {
        for id in ids_of_every_kind(seed, contents) {
            let grouped = id.to_string();
            prop_assert_eq!(grouped.parse::<AnyId>(), Ok(id));
            prop_assert_eq!(id.compact().parse::<AnyId>(), Ok(id));
            prop_assert_eq!(id.groups().join(" ").parse::<AnyId>(), Ok(id));
            prop_assert_eq!(id.groups().join(" \u{2013} ").parse::<AnyId>(), Ok(id));
        }
    }

    #[test]
    fn typed_ids_round_trip_and_refuse_other_kinds(seed: u64, contents in contents()) {
        let ids = ids_of_every_kind(seed, contents);
        for id in &ids {
            let text = id.to_string();
            let expect = |kind: IdKind| if kind == id.kind() {
                Ok(())
            } else {
                Err(IdError::WrongKind { found: id.kind(), expected: kind })
            };
            prop_assert_eq!(text.parse::<ProductId>().map(|_| ()), expect(IdKind::ProductId));
            prop_assert_eq!(text.parse::<LicenseServerId>().map(|_| ()), expect(IdKind::LicenseServerId));
            prop_assert_eq!(text.parse::<KeyPackId>().map(|_| ()), expect(IdKind::KeyPackId));
            prop_assert_eq!(text.parse::<ConfirmationCode>().map(|_| ()), expect(IdKind::ConfirmationCode));
        }
    }

    #[test]
    fn every_single_digit_substitution_is_named_at_its_group(seed: u64, contents in contents()) {
        for id in ids_of_every_kind(seed, contents) {
            for index in 0..35 {
                for delta in 1..10u8 {
                    let text = with_digits(&id, |d| d[index] = b'0' + (d[index] - b'0' + delta) % 10);
                    prop_assert_eq!(
                        text.parse::<AnyId>(),
                        Err(IdError::Typo { groups: vec![index / 5 + 1] }),
                        "{} -> {}", id, text
                    );
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_in_a_group_is_named_at_its_group(seed: u64, contents in contents()) {
        for id in ids_of_every_kind(seed, contents) {
            for group in 0..7 {
                for i in 0..4 {
                    let index = group * 5 + i;
                    let digits = id.compact().as_bytes();
                    if digits[index] == digits[index + 1] {
                        continue;
                    }
                    let text = with_digits(&id, |d| d.swap(index, index + 1));
                    prop_assert_eq!(
                        text.parse::<AnyId>(),
                        Err(IdError::Typo { groups: vec![group + 1] }),
                        "{} -> {}", id, text
                    );
                }
            }
        }
    }

    #[test]
    fn swapped_groups_are_caught_and_both_named(seed: u64, contents in contents(), a in 0..7usize, b in 0..7usize) {
        prop_assume!(a != b);
        for id in ids_of_every_kind(seed, contents) {
            let mut groups = id.groups();
            prop_assume!(groups[a] != groups[b]);
            groups.swap(a, b);
            let text = groups.join("-");
            prop_assert_eq!(
                text.parse::<AnyId>(),
                Err(IdError::Typo { groups: vec![a.min(b) + 1, a.max(b) + 1] })
            );
        }
    }

    #[test]
    fn a_key_pack_opens_on_its_target_with_what_it_was_issued_with(seed: u64, contents in contents()) {
        let mut rng = rng(seed);
        let target = LicenseServerId::issue(&ProductId::generate(WindowsServer::V2022, &mut rng), &mut rng);
        let id = KeyPackId::issue(&target, contents, serial(&mut rng));
        let read: KeyPackId = id.to_string().parse().unwrap();
        prop_assert_eq!(read.open(&target), Ok(contents));
        prop_assert_eq!(read.serial(&target).map(|_| ()), Ok(()));
    }

    #[test]
    fn a_key_pack_fails_on_any_other_license_server(seed: u64, other_seed: u64, contents in contents()) {
        let mut rng = rng(seed);
        let target = LicenseServerId::issue(&ProductId::generate(WindowsServer::V2022, &mut rng), &mut rng);
        let mut other_rng = self::rng(other_seed);
        let other = LicenseServerId::issue(&ProductId::generate(WindowsServer::V2022, &mut other_rng), &mut other_rng);
        prop_assume!(other != target);
        let id = KeyPackId::issue(&target, contents, serial(&mut rng));
        prop_assert!(id.open(&other).is_err());
    }

    #[test]
    fn a_license_server_id_and_a_confirmation_code_hold_only_for_what_they_were_issued_for(
        seed: u64,
        release in prop::sample::select(WindowsServer::ALL),
    ) {
        let mut rng = rng(seed);
        let product = ProductId::generate(release, &mut rng);
        let other_product = ProductId::generate(release, &mut rng);
        prop_assert_eq!(product.release(), Some(release));
        let id: LicenseServerId = LicenseServerId::issue(&product, &mut rng).to_string().parse().unwrap();
        prop_assert!(id.check_issued_for(&product).is_ok());
        prop_assert!(id.check_issued_for(&other_product).is_err());
        let other_id = LicenseServerId::issue(&other_product, &mut rng);
        let code: ConfirmationCode = ConfirmationCode::issue(&id, &mut rng).to_string().parse().unwrap();
        prop_assert!(code.check_issued_for(&id).is_ok());
        prop_assert!(code.check_issued_for(&other_id).is_err());
    }

    #[test]
    fn the_same_seed_issues_the_same_ids(seed: u64, contents in contents()) {
        prop_assert_eq!(ids_of_every_kind(seed, contents), ids_of_every_kind(seed, contents));
    }

    #[test]
    fn arbitrary_text_never_panics_a_parser(text in ".{0,80}") {
        parse_everything(&text);
    }

    #[test]
    fn digit_and_separator_soup_never_panics_a_parser(text in "[0-9 \u{2013}-]{0,60}") {
        parse_everything(&text);
    }
}

fn parse_everything(text: &str) {
    let _ = text.parse::<AnyId>();
    let _ = text.parse::<LicenseServerId>();
    let _ = text.parse::<KeyPackId>();
    let _ = text.parse::<ProductId>();
    let _ = text.parse::<ConfirmationCode>();
    let _ = text.parse::<LicenseCode>();
    let _ = text.parse::<AgreementNumber>();
    let _ = text.parse::<AuthorizationNumber>();
    let _ = text.parse::<OpenLicenseNumber>();
    let _ = text.parse::<Quantity>();
    let _ = text.parse::<ProductVersion>();
    let _ = text.parse::<CountryRegion>();
    for group in 0..9 {
        let _ = shared::id::check_group(group, text);
    }
    let _ = serde_json::from_str::<CompanyInfo>(text);
}
