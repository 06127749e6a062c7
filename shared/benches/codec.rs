//! Encode and decode costs of the ID codec: `cargo bench -p shared --bench codec`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use shared::id::{KeyPackContents, KeyPackId, KeyPackSerial, LicenseServerId, ProductId};
use shared::vocab::{LicenseType, ProductVersion, Quantity, WindowsServer};

fn codec(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let product = ProductId::generate(WindowsServer::V2022, &mut rng);
    let target = LicenseServerId::issue(&product, &mut rng);
    let contents = KeyPackContents {
        product_version: ProductVersion::WindowsServer2022,
        license_type: LicenseType::PerDevice,
        quantity: Quantity::new(250).expect("250 is a quantity"),
    };
    let serial = KeyPackSerial::new(1234).expect("1234 is a serial");
    let key_pack = KeyPackId::issue(&target, contents, serial);
    let server_text = target.to_string();
    let key_pack_text = key_pack.to_string();

    c.bench_function("encode/license_server_id", |b| {
        b.iter(|| LicenseServerId::issue(black_box(&product), black_box(&mut rng)))
    });
    c.bench_function("encode/key_pack_id", |b| {
        b.iter(|| KeyPackId::issue(black_box(&target), black_box(contents), black_box(serial)))
    });
    c.bench_function("display/key_pack_id", |b| {
        b.iter(|| black_box(&key_pack).to_string())
    });
    c.bench_function("decode/license_server_id", |b| {
        b.iter(|| black_box(&server_text).parse::<LicenseServerId>())
    });
    c.bench_function("decode/key_pack_id_and_open", |b| {
        b.iter(|| {
            black_box(&key_pack_text)
                .parse::<KeyPackId>()
                .map(|id| id.open(black_box(&target)))
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
