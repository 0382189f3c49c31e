//! One module per subcommand, plus what they share: engine options from the global flags,
//! opening the workdir, and decoding key arguments.

mod checkpoint;
mod compact;
mod delete;
mod delete_range;
mod events;
mod export;
mod flush;
mod get;
mod manifest;
mod put;
mod salvage;
mod scan;
pub(crate) mod stats;
mod verify;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use crate::types::MAX_KEY_LEN;
use crate::{Db, Durability, Options, ReadOnlyDb};

use super::args::{Cli, Command, DurabilityArg, GlobalArgs};
use super::output;
use super::CliError;

/// Runs the parsed command.
///
/// # Errors
/// Whatever the command reports.
pub fn run(cli: &Cli) -> Result<(), CliError> {
    let global = &cli.global;
    match &cli.command {
        Command::Put(args) => put::run(global, args),
        Command::Get(args) => get::run(global, args),
        Command::Delete(args) => delete::run(global, args),
        Command::DeleteRange(args) => delete_range::run(global, args),
        Command::Scan(args) => scan::run(global, args),
        Command::Load(args) => super::load::run(global, args),
        Command::Flush(args) => flush::run(global, args),
        Command::Compact(args) => compact::run(global, args),
        Command::Stats(args) => stats::run(global, args),
        Command::Verify(args) => verify::run(global, args),
        Command::Manifest(args) => manifest::run(global, args),
        Command::Export(args) => export::run(global, args),
        Command::Events(args) => events::run(global, args),
        Command::Salvage(args) => salvage::run(global, args),
        Command::Checkpoint(args) => checkpoint::run(global, args),
    }
}

/// Engine options from the global flags.
pub fn engine_options(global: &GlobalArgs) -> Options {
    Options {
        memtable_size: global.memtable_size,
        durability: match global.durability {
            DurabilityArg::Strict => Durability::Strict,
            DurabilityArg::Fast => Durability::Fast,
        },
        sync_writes: global.sync,
        compression: global.compression,
        stats_interval: Some(Duration::from_secs(1)),
        ..Options::default()
    }
}

/// Opens (creating if needed) the workdir read-write, for the commands that create a
/// database: `put` and `load`.
///
/// # Errors
/// The engine's open errors (locked, corruption, I/O).
pub fn open_for_write(global: &GlobalArgs) -> Result<Db, CliError> {
    Ok(warn_torn_tails(Db::open(
        &global.workdir,
        engine_options(global),
    )?))
}

/// Names on stderr each torn tail the open dropped (an unsynced write a crash cut short).
fn warn_torn_tails(db: Db) -> Db {
    for tail in db.torn_tails() {
        output::note(format!("nokv: warning: {tail}"));
    }
    db
}

/// Opens an existing database read-write, for the write commands that never create one
/// (`flush`, `compact`, `delete`, `delete-range`): a mistyped `--workdir` is refused, not
/// turned into an empty database.
///
/// # Errors
/// As [`require_database`]; the engine's open errors.
pub fn open_existing_for_write(global: &GlobalArgs) -> Result<Db, CliError> {
    require_database(&global.workdir)?;
    open_for_write(global)
}

/// Opens an existing database read-only, for read commands (SPEC 2.3a): no `LOCK`, nothing
/// written, so it works beside a live writer; refuses a workdir that does not exist or holds
/// no database.
///
/// # Errors
/// A clear message for a missing workdir or database; the engine's open errors.
pub fn open_read_only(global: &GlobalArgs) -> Result<ReadOnlyDb, CliError> {
    require_database(&global.workdir)?;
    Ok(ReadOnlyDb::open(&global.workdir, engine_options(global))?)
}

/// Checks that `dir` exists and is a directory.
///
/// # Errors
/// [`CliError::Failed`] naming the workdir.
pub fn require_workdir(dir: &Path) -> Result<(), CliError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(CliError::Failed(format!(
            "no database at {}: it is not a directory",
            dir.display()
        ))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(CliError::Failed(format!(
            "no database at {}: the directory does not exist (set --workdir or NOKV_WORKDIR; \
             only put and load create a database)",
            dir.display()
        ))),
        Err(err) => Err(CliError::Io {
            context: format!("workdir {}", dir.display()),
            source: err,
        }),
    }
}

/// Checks that `dir` exists and holds a database (a `CURRENT` file).
///
/// # Errors
/// As [`require_workdir`], or when there is no `CURRENT`.
pub fn require_database(dir: &Path) -> Result<(), CliError> {
    require_workdir(dir)?;
    let current = dir.join(crate::filenames::CURRENT);
    match std::fs::symlink_metadata(&current) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(CliError::Failed(format!(
            "no database at {}: the directory holds no nokv database (no {} file)",
            dir.display(),
            crate::filenames::CURRENT
        ))),
        Err(err) => Err(CliError::Io {
            context: format!("stat {}", current.display()),
            source: err,
        }),
    }
}

/// Closes the database, turning a failure into the command's error.
///
/// # Errors
/// The close error (the writes may not be durable).
pub fn close(db: Db) -> Result<(), CliError> {
    db.close().map_err(CliError::Engine)
}

/// The bytes of a command-line argument: the OS string's bytes, or hex-decoded.
///
/// # Errors
/// A usage error (exit 2) naming the argument for bad hex.
pub fn arg_bytes(arg: &OsStr, hex: bool, what: &str) -> Result<Vec<u8>, CliError> {
    let bytes = arg.as_bytes();
    if hex {
        output::unhex(bytes).map_err(|reason| {
            CliError::Usage(format!(
                "invalid hex in {what} `{}`: {reason}",
                output::escaped(bytes)
            ))
        })
    } else {
        Ok(bytes.to_vec())
    }
}

/// A key argument: as [`arg_bytes`], and 1 to 65,535 bytes long.
///
/// # Errors
/// A usage error (exit 2).
pub fn key_arg(arg: &OsStr, hex: bool, what: &str) -> Result<Vec<u8>, CliError> {
    let key = arg_bytes(arg, hex, what)?;
    if key.is_empty() {
        return Err(CliError::Usage(format!("{what} must not be empty")));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(CliError::Usage(format!(
            "{what} is {} bytes long; keys are at most {MAX_KEY_LEN} bytes",
            key.len()
        )));
    }
    Ok(key)
}
