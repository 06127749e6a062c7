//! Fuzzes every parser of typed text: nothing may panic, and whatever reads as an ID must
//! read back the same from its display form.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::id::{AnyId, KeyPackId, LicenseServerId, check_group};
use shared::vocab::{
    AgreementNumber, AuthorizationNumber, CountryRegion, LicenseCode, LicenseProgram,
    OpenLicenseNumber, ProductVersion, Quantity,
};

/// A fixed, valid license server ID to open key pack IDs with.
const SERVER: &str = "29453-80734-02157-73682-19300-36420-62121";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = text.parse::<AnyId>() {
        assert_eq!(id.to_string().parse::<AnyId>(), Ok(id));
        assert_eq!(id.compact().parse::<AnyId>(), Ok(id));
    }
    if let (Ok(key_pack), Ok(server)) =
        (text.parse::<KeyPackId>(), SERVER.parse::<LicenseServerId>())
    {
        let _ = key_pack.open(&server);
    }
    for group in 0..=8 {
        let _ = check_group(group, &text);
    }
    let _ = text.parse::<LicenseCode>();
    let _ = text.parse::<AgreementNumber>();
    let _ = text.parse::<AuthorizationNumber>();
    let _ = text.parse::<OpenLicenseNumber>();
    let _ = text.parse::<Quantity>();
    let _ = text.parse::<ProductVersion>();
    let _ = text.parse::<LicenseProgram>();
    let _ = text.parse::<CountryRegion>();
});
