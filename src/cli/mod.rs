//! The `nokv` command line. The only module that prints; the engine never does.
//!
//! [`main`] parses the arguments ([`args::Cli`]), runs one subcommand (`cmd::*`), and maps
//! the outcome to an exit status (see [`args::EXIT_STATUS`]): errors print as
//! `nokv: error: {err}` plus their `source()` chain on stderr; a closed stdout pipe is not an
//! error.

pub mod args;
mod cmd;
mod dashboard;
mod format;
pub mod generate;
pub mod load;
mod output;
mod progress;
pub mod prometheus;
mod terminal;

use std::fmt;
use std::io;
use std::process::ExitCode;

pub use args::Cli;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: an operational error (I/O, lock, corruption, unsupported).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: a usage error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: `verify` found problems.
pub const EXIT_VERIFY_PROBLEMS: u8 = 3;
/// Exit status: `get` found no value.
pub const EXIT_NOT_FOUND: u8 = 4;
/// Exit status: `load` stopped at bad input.
pub const EXIT_BAD_INPUT: u8 = 5;
/// Exit status: interrupted by Ctrl-C (128 + SIGINT); `load` reports what is durable.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum CliError {
    /// The engine failed (exit 1).
    Engine(crate::Error),
    /// An operating-system call of the CLI itself failed (exit 1).
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's answer.
        source: io::Error,
    },
    /// Anything else that stops a command (exit 1).
    Failed(String),
    /// Bad arguments that clap could not catch (exit 2).
    Usage(String),
    /// A non-error outcome with its own status; the message, if any, goes to stderr
    /// prefixed `nokv: ` (not `error:`).
    Status {
        /// The exit status.
        code: u8,
        /// What to tell the user.
        message: Option<String>,
    },
    /// stdout was closed by its reader: exit 0 quietly.
    BrokenPipe,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Engine(err) => write!(f, "{err}"),
            CliError::Io { context, source } => write!(f, "{context}: {source}"),
            CliError::Failed(message) | CliError::Usage(message) => f.write_str(message),
            CliError::Status { message, .. } => f.write_str(message.as_deref().unwrap_or("")),
            CliError::BrokenPipe => f.write_str("broken pipe"),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Engine(err) => Some(err),
            CliError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<crate::Error> for CliError {
    fn from(err: crate::Error) -> Self {
        CliError::Engine(err)
    }
}

impl CliError {
    /// The exit status for this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Engine(_) | CliError::Io { .. } | CliError::Failed(_) => EXIT_FAILURE,
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Status { code, .. } => *code,
            CliError::BrokenPipe => EXIT_OK,
        }
    }

    /// `context: source` for an I/O error of the CLI.
    pub fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// `nokv -V`: the crate version and the on-disk format versions it reads and writes.
pub fn version_text() -> String {
    format!(
        "{} (formats: table {}, WAL {}, manifest {}, STATS {})",
        env!("CARGO_PKG_VERSION"),
        crate::sst::FORMAT_VERSION,
        crate::wal::FORMAT_VERSION,
        crate::manifest::FORMAT_VERSION,
        crate::stats::STATS_FORMAT_VERSION,
    )
}

/// `nokv --version`: [`version_text`], the git commit and the build profile.
pub fn long_version_text() -> String {
    format!(
        "{}\ncommit:  {}\nprofile: {}\nformats: table v{}, WAL v{}, manifest v{}, STATS v{}",
        env!("CARGO_PKG_VERSION"),
        env!("NOKV_GIT_COMMIT"),
        env!("NOKV_BUILD_PROFILE"),
        crate::sst::FORMAT_VERSION,
        crate::wal::FORMAT_VERSION,
        crate::manifest::FORMAT_VERSION,
        crate::stats::STATS_FORMAT_VERSION,
    )
}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // The versions are built at run time (the man pages keep the plain crate version).
    let command = Cli::command()
        .version(version_text().leak() as &str)
        .long_version(long_version_text().leak() as &str);
    let parsed = command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
            if let Err(print_err) = err.print() {
                if print_err.kind() != io::ErrorKind::BrokenPipe {
                    return ExitCode::from(EXIT_FAILURE);
                }
            }
            return ExitCode::from(code);
        }
    };
    match cmd::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Prints an outcome to stderr: `nokv: error: ...` and every `source()` not already part of
/// the message.
fn report(err: &CliError) {
    match err {
        CliError::BrokenPipe => {}
        CliError::Status { message, .. } => {
            if let Some(message) = message {
                output::note(format_args!("nokv: {message}"));
            }
        }
        CliError::Usage(message) => {
            output::note(format_args!(
                "nokv: error: {message}\n\nFor more information, try '--help'."
            ));
        }
        _ => {
            let mut text = format!("nokv: error: {err}");
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(&format!("\n  caused by: {cause_text}"));
                }
                source = cause.source();
            }
            output::note(text);
        }
    }
}
