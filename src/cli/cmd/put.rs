//! `nokv put KEY VALUE` / `nokv put KEY --value-file FILE`: write one key. Silent on success.

use std::io::Read;

use crate::types::MAX_VALUE_LEN;

use super::{arg_bytes, close, key_arg, open_for_write};
use crate::cli::args::{GlobalArgs, PutArgs};
use crate::cli::CliError;

/// Runs `put`.
///
/// # Errors
/// Usage errors for bad arguments or a value over the limit; an unreadable value file;
/// engine errors.
pub fn run(global: &GlobalArgs, args: &PutArgs) -> Result<(), CliError> {
    let key = key_arg(&args.key, args.hex, "KEY")?;
    let value = match (&args.value, &args.value_file) {
        (_, Some(path)) => read_value_file(path)?,
        (Some(value), None) => arg_bytes(value, args.hex, "VALUE")?,
        (None, None) => return Err(CliError::Usage("give VALUE or --value-file".into())),
    };
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

/// The bytes of `path` (`-` is stdin), read up to one byte past the value limit.
fn read_value_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    let limit = MAX_VALUE_LEN as u64 + 1;
    let mut value = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut value)
    } else {
        std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut value))
    };
    result.map_err(CliError::io(format!(
        "read --value-file {}",
        path.display()
    )))?;
    Ok(value)
}
