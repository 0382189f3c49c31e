//! `nokv put KEY VALUE`: write one key. Silent on success.

use crate::types::MAX_VALUE_LEN;

use super::{arg_bytes, close, key_arg, open_for_write};
use crate::cli::args::{GlobalArgs, PutArgs};
use crate::cli::CliError;

/// Runs `put`.
///
/// # Errors
/// Usage errors for bad arguments; engine errors.
pub fn run(global: &GlobalArgs, args: &PutArgs) -> Result<(), CliError> {
    let key = key_arg(&args.key, args.hex, "KEY")?;
    let value = arg_bytes(&args.value, args.hex, "VALUE")?;
    if value.len() > MAX_VALUE_LEN {
        return Err(CliError::Usage(format!(
            "VALUE is {} bytes long; values are at most {MAX_VALUE_LEN} bytes",
            value.len()
        )));
    }
    let db = open_for_write(global)?;
    db.put(&key, &value)?;
    close(db)
}
