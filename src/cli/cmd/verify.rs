//! `nokv verify`: check a workdir (SPEC 5), read-only. Exit 0 when there is no damage
//! (leftovers of a crash print as notes), 3 on damage (or on leftovers with `--strict`), 1
//! when it could not run.

use crate::verify::{self, Problem, Severity, VerifyOptions, VerifyReport};
use crate::vfs::RealFs;

use super::require_workdir;
use crate::cli::args::{GlobalArgs, VerifyArgs};
use crate::cli::output::{self, human_bytes, note};
use crate::cli::{CliError, EXIT_VERIFY_PROBLEMS};

/// Runs `verify`.
///
/// # Errors
/// Could not run (exit 1): a missing workdir, locked without `--allow-live`, I/O errors.
/// Problems found: [`EXIT_VERIFY_PROBLEMS`].
pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> Result<(), CliError> {
    let dir = &global.workdir;
    require_workdir(dir)?;
    let options = VerifyOptions {
        allow_live: args.allow_live,
    };
    let report = match verify::verify(&RealFs::new(), dir, &options) {
        Ok(report) => report,
        Err(err @ crate::Error::Locked { .. }) => {
            return Err(CliError::Failed(format!(
                "{err}; verify refuses to check a live workdir (use --allow-live to check \
                 anyway; results may then be inconsistent)"
            )))
        }
        Err(err) => return Err(err.into()),
    };
    if report.live && !global.quiet {
        note("nokv: warning: another process holds the workdir; findings may be inconsistent");
    }
    if args.json {
        output::print_report_json(&report)?;
    } else {
        output::print(render(&report))?;
    }
    if report.damage > 0 {
        Err(CliError::Status {
            code: EXIT_VERIFY_PROBLEMS,
            message: Some(format!("verify found {}", count(report.damage, "damage"))),
        })
    } else if args.strict && report.leftovers > 0 {
        Err(CliError::Status {
            code: EXIT_VERIFY_PROBLEMS,
            message: Some(format!(
                "verify found {} (--strict)",
                count(report.leftovers, "leftover")
            )),
        })
    } else {
        Ok(())
    }
}

/// `1 leftover`, `2 leftovers`, `3 damage` (a mass noun).
fn count(n: u64, what: &str) -> String {
    if n == 1 || what == "damage" {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// One note line per leftover: what a crash left and recovery removes.
fn notes(problems: &[&Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            let at = p
                .offset
                .map(|o| format!(" at offset {o}"))
                .unwrap_or_default();
            format!("note: leftover {} {}{at}: {}\n", p.kind, p.file, p.detail)
        })
        .collect()
}

fn render(report: &VerifyReport) -> String {
    let width = output::terminal_width();
    let checks = report.checks.join(", ");
    let files = format!(
        "{} file{}, {}",
        report.files_checked,
        if report.files_checked == 1 { "" } else { "s" },
        human_bytes(report.bytes_checked)
    );
    let (damage, leftovers): (Vec<&Problem>, Vec<&Problem>) = report
        .problems
        .iter()
        .partition(|p| p.severity == Severity::Damage);
    let notes: String = notes(&leftovers)
        .lines()
        .map(|line| output::wrap(line, width, 4))
        .collect();
    let leftover_summary = if leftovers.is_empty() {
        String::new()
    } else {
        format!(
            "; {} (recovery removes them)",
            count(leftovers.len() as u64, "leftover")
        )
    };
    if damage.is_empty() {
        return format!(
            "{notes}{}",
            output::wrap(
                &format!("OK: {files} checked (checks: {checks}){leftover_summary}"),
                width,
                4
            )
        );
    }
    let rows: Vec<Vec<String>> = damage
        .iter()
        .map(|p| {
            vec![
                p.kind.clone(),
                p.file.clone(),
                p.level.map(|l| format!("L{l}")).unwrap_or_default(),
                p.offset.map(|o| o.to_string()).unwrap_or_default(),
                p.expected.clone().unwrap_or_default(),
                p.actual.clone().unwrap_or_default(),
                p.detail.clone(),
            ]
        })
        .collect();
    let header = [
        "kind", "file", "level", "offset", "expected", "actual", "detail",
    ];
    let table = output::table_or_records(&header, &rows);
    format!(
        "{table}\n{notes}{}",
        output::wrap(
            &format!(
                "FAILED: {} in {files} checked (checks: {checks}){leftover_summary}",
                count(damage.len() as u64, "damage"),
            ),
            width,
            4
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Problem;

    #[test]
    fn clean_report_says_ok_with_counts() {
        let report = VerifyReport {
            ok: true,
            checks: vec!["manifest".into(), "tables".into()],
            files_checked: 3,
            bytes_checked: 2048,
            ..VerifyReport::default()
        };
        let text = render(&report);
        assert!(text.starts_with("OK: 3 files, 2.0 KiB"), "{text}");
        assert!(text.contains("manifest, tables"), "{text}");
    }

    #[test]
    fn problems_are_listed_with_file_and_offset() {
        let report = VerifyReport {
            ok: false,
            checks: vec!["tables".into()],
            files_checked: 1,
            bytes_checked: 10,
            live: false,
            damage: 1,
            leftovers: 0,
            problems: vec![Problem {
                kind: "checksum_mismatch".into(),
                severity: Severity::Damage,
                file: "000012.sst".into(),
                level: Some(0),
                offset: Some(4096),
                expected: Some("0x1".into()),
                actual: Some("0x2".into()),
                detail: "data block checksum".into(),
            }],
        };
        let text = render(&report);
        for needle in [
            "checksum_mismatch",
            "000012.sst",
            "L0",
            "4096",
            "0x1",
            "0x2",
            "FAILED: 1 damage",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
    }
}
