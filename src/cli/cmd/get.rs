//! `nokv get KEY...`: print the value of one key, or `key<TAB>value` lines for several
//! (exit 4 when any is absent).

use super::{key_arg, open_read_only};
use crate::cli::args::{GetArgs, GlobalArgs};
use crate::cli::format::tsv::escape_into;
use crate::cli::output::{self, escaped, note};
use crate::cli::{CliError, EXIT_NOT_FOUND};

/// Runs `get`.
///
/// # Errors
/// Usage errors; a missing workdir; engine errors; [`EXIT_NOT_FOUND`] when a key is absent.
pub fn run(global: &GlobalArgs, args: &GetArgs) -> Result<(), CliError> {
    let keys = args
        .keys
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            let what = if args.keys.len() == 1 {
                "KEY".to_string()
            } else {
                format!("KEY #{}", i + 1)
            };
            key_arg(arg, args.key_hex, &what)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.raw && keys.len() > 1 {
        return Err(CliError::Usage(
            "--raw prints one value as it is; give one key (or use --hex or --json)".into(),
        ));
    }
    let db = open_read_only(global)?;
    let values = keys
        .iter()
        .map(|key| db.get(key))
        .collect::<Result<Vec<_>, _>>()?;

    let mut out = Vec::new();
    let mut missing = Vec::new();
    let several = keys.len() > 1;
    for (key, value) in keys.iter().zip(values) {
        let Some(value) = value else {
            missing.push(escaped(key));
            continue;
        };
        if args.json {
            output::json_record(&mut out, key, &value);
            continue;
        }
        if several {
            escape_into(key, &mut out);
            out.push(b'\t');
        }
        if args.raw {
            out.extend_from_slice(&value);
        } else if args.hex {
            out.extend_from_slice(output::hex(&value).as_bytes());
            out.push(b'\n');
        } else if several {
            // Escaped, so that every line is one record.
            escape_into(&value, &mut out);
            out.push(b'\n');
        } else {
            out.extend_from_slice(&value);
            out.push(b'\n');
        }
    }
    output::print(out)?;
    match missing.as_slice() {
        [] => Ok(()),
        [one] => Err(CliError::Status {
            code: EXIT_NOT_FOUND,
            message: Some(format!("key not found: {one}")),
        }),
        many => {
            for key in many {
                note(format_args!("nokv: key not found: {key}"));
            }
            Err(CliError::Status {
                code: EXIT_NOT_FOUND,
                message: Some(format!("{} of {} keys not found", many.len(), keys.len())),
            })
        }
    }
}
