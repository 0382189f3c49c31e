//! `nokv verify` severities through the binary: crash leftovers print as notes and exit 0,
//! `--strict` makes them exit 3, damage exits 3 in a table; `--json` carries each problem's
//! severity and the counts.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn nokv(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("nokv").unwrap();
    cmd.arg("--workdir").arg(dir);
    cmd
}

/// A workdir with one table, then crash leftovers: a temporary of an interrupted install and
/// a table numbered above the manifest's counter (an interrupted flush).
fn workdir_with_leftovers() -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    nokv(work.path()).args(["put", "a", "1"]).assert().success();
    nokv(work.path()).arg("flush").assert().success();
    std::fs::write(work.path().join("000090.sst.tmp.1.2"), b"partial").unwrap();
    std::fs::write(work.path().join("000091.sst"), b"unpublished").unwrap();
    work
}

#[test]
fn leftovers_print_as_notes_and_exit_0_unless_strict() {
    let work = workdir_with_leftovers();
    let out = nokv(work.path()).arg("verify").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("note: leftover temp_file 000090.sst.tmp.1.2")
            && stdout.contains("note: leftover orphan 000091.sst")
            && stdout.contains("OK: ")
            && stdout.contains("2 leftovers (recovery removes them)"),
        "{stdout}"
    );
    let out = nokv(work.path())
        .args(["verify", "--strict"])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("2 leftovers (--strict)"), "{stderr}");

    let out = nokv(work.path())
        .args(["verify", "--json"])
        .assert()
        .success();
    let json: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["damage"], 0);
    assert_eq!(json["leftovers"], 2);
    for p in json["problems"].as_array().unwrap() {
        assert_eq!(p["severity"], "leftover", "{p}");
    }
    // The next open removes them, and verify is then silent.
    nokv(work.path()).args(["flush"]).assert().success();
    let out = nokv(work.path())
        .args(["verify", "--strict"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).starts_with("OK: "));
}

#[test]
fn damage_exits_3_in_a_table_with_the_leftovers_as_notes() {
    let work = workdir_with_leftovers();
    let table = work.path().join("000002.sst");
    let table = if table.exists() {
        table
    } else {
        std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "sst") && p.file_name().unwrap() != "000091.sst"
            })
            .unwrap()
    };
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[3] ^= 0x20;
    std::fs::write(&table, &bytes).unwrap();
    let out = nokv(work.path()).arg("verify").assert().code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let name = table.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stdout.contains(&name)
            && stdout.contains("note: leftover temp_file")
            && stdout.contains("FAILED: 1 damage")
            && stdout.contains("2 leftovers"),
        "{stdout}"
    );
    let out = nokv(work.path())
        .args(["verify", "--json"])
        .assert()
        .code(3);
    let json: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["damage"], 1);
    let damaged: Vec<&Value> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "damage")
        .collect();
    assert_eq!(damaged.len(), 1);
    assert_eq!(damaged[0]["file"], name.as_str());
}

/// Every file of `dir` with its contents, sorted.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.push((path.clone(), Vec::new()));
                pending.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn an_initialisation_cut_short_is_not_a_database_and_not_damage_and_the_next_load_clears_it() {
    // What a kill between the manifest's creation and CURRENT's leaves: a manifest CURRENT
    // never named and an empty wal/. A read-write open initialises over it; verify, like
    // every read, says it is no database (exit 1), and names what was left, changing nothing.
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("wal")).unwrap();
    std::fs::write(work.path().join("MANIFEST-000001"), b"cut short").unwrap();
    let before = snapshot(work.path());
    nokv(work.path())
        .arg("verify")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a nokv workdir"))
        .stderr(predicates::str::contains(
            "MANIFEST-000001 left by an initialisation cut short",
        ));
    assert_eq!(snapshot(work.path()), before, "verify changed nothing");
    nokv(work.path()).args(["put", "a", "1"]).assert().success();
    nokv(work.path()).arg("verify").assert().success();
    nokv(work.path())
        .args(["get", "a"])
        .assert()
        .success()
        .stdout("1\n");
}

#[test]
fn a_missing_current_beside_data_is_damage() {
    let work = tempfile::tempdir().unwrap();
    nokv(work.path()).args(["put", "a", "1"]).assert().success();
    nokv(work.path()).arg("flush").assert().success();
    std::fs::remove_file(work.path().join("CURRENT")).unwrap();
    let out = nokv(work.path())
        .args(["verify", "--json"])
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&out).unwrap();
    let current = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "current_missing")
        .unwrap_or_else(|| panic!("no current_missing in {json}"));
    assert_eq!(current["severity"], "damage");
    // And open refuses it too, rather than initialising over the table.
    nokv(work.path())
        .args(["put", "b", "2"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "no CURRENT file, but the directory holds",
        ));
}
