//! What the CLI test files share: a temporary workdir and ways to run `nokv` on it.
#![allow(dead_code)]

use std::path::PathBuf;

use assert_cmd::Command;
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nokv");

/// A temporary directory with a workdir path inside it (not created).
pub struct Fixture {
    pub tmp: TempDir,
    pub db: PathBuf,
}

/// What a finished command printed.
pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db");
        Fixture { tmp, db }
    }

    /// `nokv --workdir DB ARGS...` (no inherited NOKV_WORKDIR, no COLUMNS).
    pub fn nokv(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("NOKV_WORKDIR")
            .env_remove("COLUMNS")
            .arg("--workdir")
            .arg(&self.db)
            .args(args);
        cmd
    }

    /// Runs `nokv ARGS...` with `stdin` and returns what it printed.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Outcome {
        let out = self
            .nokv(args)
            .write_stdin(stdin.to_vec())
            .output()
            .unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A file in the temporary directory.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Loads `contents` as a file called `name` with `args` before the file name.
    pub fn load(&self, name: &str, contents: &[u8], args: &[&str]) -> Outcome {
        let path = self.file(name, contents);
        let path = path.to_str().unwrap().to_string();
        let mut all = vec!["load"];
        all.extend_from_slice(args);
        all.push(&path);
        self.run(&all, b"")
    }

    pub fn put(&self, key: &str, value: &str) {
        self.nokv(&["put", key, value]).assert().success();
    }

    /// The value of `key`, or `None` when `get` exits 4.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let out = self
            .nokv(&["get", "--raw", "--key-hex", &hex(key)])
            .output()
            .unwrap();
        match out.status.code() {
            Some(0) => Some(out.stdout),
            Some(4) => None,
            other => panic!(
                "get exited {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Every record, as `scan` prints them (tsv lines).
    pub fn scan(&self) -> String {
        let out = self.run(&["scan"], b"");
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout_text()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
