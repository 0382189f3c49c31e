//! `nokv verify`: check a workdir (SPEC 5), read-only. Exit 0 clean, 3 problems found, 1 could
//! not run.

use crate::verify::{self, VerifyOptions, VerifyReport};
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
        let mut value = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.insert("format_version".into(), 1.into());
        }
        output::print_json(&value)?;
    } else {
        output::print(render(&report))?;
    }
    if report.ok && report.problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Status {
            code: EXIT_VERIFY_PROBLEMS,
            message: Some(format!(
                "verify found {} problem{}",
                report.problems.len(),
                if report.problems.len() == 1 { "" } else { "s" }
            )),
        })
    }
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
    if report.problems.is_empty() && report.ok {
        return output::wrap(&format!("OK: {files} checked (checks: {checks})"), width, 4);
    }
    let rows: Vec<Vec<String>> = report
        .problems
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
        "{table}\n{}",
        output::wrap(
            &format!(
                "FAILED: {} problem{} in {files} checked (checks: {checks})",
                report.problems.len(),
                if report.problems.len() == 1 { "" } else { "s" },
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
            problems: vec![Problem {
                kind: "checksum_mismatch".into(),
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
            "FAILED: 1 problem",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
    }
}
