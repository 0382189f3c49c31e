//! `nokv get KEY`: print the value (exit 4 when absent).

use super::{key_arg, open_read_only};
use crate::cli::args::{GetArgs, GlobalArgs};
use crate::cli::output::{self, escaped};
use crate::cli::{CliError, EXIT_NOT_FOUND};

/// Runs `get`.
///
/// # Errors
/// Usage errors; a missing workdir; engine errors; [`EXIT_NOT_FOUND`] when absent.
pub fn run(global: &GlobalArgs, args: &GetArgs) -> Result<(), CliError> {
    let key = key_arg(&args.key, args.key_hex, "KEY")?;
    let db = open_read_only(global)?;
    let Some(value) = db.get(&key)? else {
        return Err(CliError::Status {
            code: EXIT_NOT_FOUND,
            message: Some(format!("key not found: {}", escaped(&key))),
        });
    };
    let mut out = Vec::with_capacity(value.len() + 64);
    if args.raw {
        out = value;
    } else if args.hex {
        out.extend_from_slice(output::hex(&value).as_bytes());
        out.push(b'\n');
    } else if args.json {
        output::json_record(&mut out, &key, &value);
    } else {
        out.extend_from_slice(&value);
        out.push(b'\n');
    }
    output::print(out)
}
