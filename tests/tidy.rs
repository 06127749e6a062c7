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

/// The modules of a crate's `src` (its binaries left out), by their path from the crate
/// root (`state::dir`), each with its code: comments and tests taken out.
fn modules(src: &Path) -> std::collections::BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .iter()
        .filter(|f| !f.starts_with(src.join("bin")) && !f.ends_with("lib.rs"))
        .map(|f| {
            let relative = f.strip_prefix(src).unwrap().with_extension("");
            let name = relative
                .to_string_lossy()
                .trim_end_matches("/mod")
                .replace('/', "::");
            let text = std::fs::read_to_string(f).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (name, code)
        })
        .collect()
}

#[test]
fn the_licensing_clients_modules_import_one_another_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let modules = modules(&root.join("licensing-client/src"));
    assert!(modules.contains_key("state::dir"), "{:?}", modules.keys());
    // Module -> the modules it names through `crate::`, each as the longest module path.
    let mut imports: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for (name, code) in &modules {
        let named = imports.entry(name.as_str()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut parts: Vec<&str> = path.split("::").collect();
            while !parts.is_empty() {
                let candidate = parts.join("::");
                if let Some((module, _)) = modules.get_key_value(&candidate) {
                    if module != name {
                        named.insert(module.as_str());
                    }
                    break;
                }
                parts.pop();
            }
        }
    }
    // A depth-first walk: a module met again on the path is a circle.
    fn walk<'a>(
        module: &'a str,
        imports: &std::collections::BTreeMap<&'a str, std::collections::BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            panic!(
                "licensing-client modules import one another in a circle: {}",
                [&path[at..], &[module]].concat().join(" -> ")
            );
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for next in imports.get(module).into_iter().flatten() {
            walk(next, imports, path, done);
        }
        path.pop();
    }
    let mut done = std::collections::BTreeSet::new();
    for module in imports.keys() {
        walk(module, &imports, &mut Vec::new(), &mut done);
    }
    // The parts of the crate are folders.
    for part in ["state", "methods", "work", "peer"] {
        assert!(modules.contains_key(part), "no {part}/ in licensing-client");
    }
}

/// The commands in the README's block after `heading`.
fn readme_commands(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme.find(heading).unwrap()..];
    let block = &after[after.find("```sh\n").unwrap() + 6..];
    block[..block.find("```").unwrap()]
        .lines()
        .map(str::to_owned)
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn ci_runs_exactly_the_readmes_test_command() {
    let commands = readme_commands("Run all the tests:");
    assert_eq!(commands, ["./test"]);
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|line| line == "./test"), "{ci}");
    assert!(
        !ci.contains("cargo test"),
        ".ci/run runs the tests only through ./test"
    );
}

#[test]
fn the_test_script_installs_what_the_tests_drive_and_runs_every_test() {
    use std::os::unix::fs::PermissionsExt;
    let path = root().join("test");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "./test is executable");
    let script = std::fs::read_to_string(path).unwrap();
    for tool in ["tmux", "chromium", "chromium-driver", "chromedriver"] {
        assert!(script.contains(tool), "./test sees to {tool}");
    }
    assert!(
        script.contains("exec cargo test --workspace \"$@\""),
        "{script}"
    );
}
