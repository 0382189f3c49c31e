//! The committed man pages (`man/`) and completion scripts (`completions/`) must match what
//! the clap definitions render. `NOKV_BLESS=1 cargo test --test generated` (with `CI` unset)
//! rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use nokv::cli::generate;
use nokv::cli::Cli;

const HINT: &str = "run `NOKV_BLESS=1 cargo test --test generated` and commit";

fn bless() -> bool {
    std::env::var_os("NOKV_BLESS").is_some_and(|v| v != "0" && !v.is_empty())
        && std::env::var_os("CI").is_none()
}

/// Compares (or, when blessing, rewrites) every file of `dir` against `expected`.
fn check_dir(dir: &str, expected: Vec<(String, Vec<u8>)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let expected: BTreeMap<String, Vec<u8>> = expected.into_iter().collect();
    let on_disk: BTreeMap<String, PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .collect()
        })
        .unwrap_or_default();
    if bless() {
        std::fs::create_dir_all(&root).unwrap();
        for (name, path) in &on_disk {
            if !expected.contains_key(name) {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (name, contents) in &expected {
            std::fs::write(root.join(name), contents).unwrap();
        }
        return;
    }
    let mut problems = Vec::new();
    for (name, contents) in &expected {
        match std::fs::read(root.join(name)) {
            Ok(actual) if &actual == contents => {}
            Ok(_) => problems.push(format!("{dir}/{name} is stale")),
            Err(_) => problems.push(format!("{dir}/{name} is missing")),
        }
    }
    for name in on_disk.keys() {
        if !expected.contains_key(name) {
            problems.push(format!("{dir}/{name} is not generated (extra file)"));
        }
    }
    assert!(problems.is_empty(), "{}\n{HINT}", problems.join("\n"));
}

#[test]
fn man_pages_are_up_to_date() {
    let pages = generate::man_pages().unwrap();
    assert!(pages.iter().any(|(name, _)| name == "nokv.1"));
    assert!(pages.iter().any(|(name, _)| name == "nokv-load.1"));
    check_dir("man", pages);
}

#[test]
fn completions_are_up_to_date() {
    check_dir("completions", generate::completions());
}

#[test]
fn command_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn top_level_man_page_documents_exit_status_and_examples() {
    let pages = generate::man_pages().unwrap();
    let (_, top) = pages.iter().find(|(name, _)| name == "nokv.1").unwrap();
    let top = String::from_utf8_lossy(top);
    assert!(top.contains("EXIT STATUS"), "{top}");
    assert!(top.contains("EXAMPLES"), "{top}");
    for (_, page) in &pages {
        let page = String::from_utf8_lossy(page);
        assert!(
            page.contains("EXAMPLES"),
            "every page has examples:\n{page}"
        );
    }
}

#[test]
fn rendering_is_reproducible() {
    // Nothing depends on the environment: two renders are identical.
    assert_eq!(
        generate::man_pages().unwrap(),
        generate::man_pages().unwrap()
    );
    assert_eq!(generate::completions(), generate::completions());
}
