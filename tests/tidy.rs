//! Repository-wide rules that a reviewer would otherwise have to remember: every Rust
//! file opens with a `//!` comment saying what it is for.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_comment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! doc comment: {missing:?}"
    );
}

#[test]
fn the_example_id_in_the_id_spec_is_a_valid_license_server_id() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let spec = std::fs::read_to_string(root.join("docs/ids.md")).unwrap();
    let example = spec
        .lines()
        .find(|l| l.len() == 41 && l.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .expect("docs/ids.md shows an example ID on a line of its own");
    let id: shared::id::LicenseServerId = example.parse().unwrap();
    assert_eq!(id.to_string(), example);
}

#[test]
fn every_company_fixture_is_valid_company_information() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(root.join("fixtures/companies.json")).unwrap();
    let companies: Vec<shared::vocab::CompanyInfo> = serde_json::from_str(&text).unwrap();
    assert!(companies.len() >= 5);
}
