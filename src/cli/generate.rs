//! Man pages and shell completion scripts, rendered from the clap definitions. The committed
//! copies in `man/` and `completions/` are checked against these by `tests/generated.rs`
//! (`NOKV_BLESS=1 cargo test --test generated` rewrites them).

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::{Generator, Shell};
use clap_mangen::Man;

use super::args::Cli;

/// Shells that get a completion script.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// `(file name, contents)` of every man page: `nokv.1` and one `nokv-<command>.1` per
/// subcommand.
///
/// # Errors
/// Only if rendering fails (it writes to memory).
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    let top = cmd.clone();
    pages.push(render_page(top)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(render_page(sub.clone())?);
    }
    Ok(pages)
}

/// `(file name, contents)` of every completion script.
pub fn completions() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|&shell| {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "nokv", &mut out);
            (shell.file_name("nokv"), out)
        })
        .collect()
}

fn render_page(cmd: clap::Command) -> io::Result<(String, Vec<u8>)> {
    let extra = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|text| text.to_string());
    let has_options = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_subcommands = cmd.has_subcommands();
    let has_version = cmd.get_version().is_some();
    let man = Man::new(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if has_options {
        man.render_options_section(&mut out)?;
    }
    if has_subcommands {
        man.render_subcommands_section(&mut out)?;
    }
    if let Some(extra) = extra {
        render_sections(&extra, &mut out)?;
    }
    if has_version {
        man.render_version_section(&mut out)?;
    }
    Ok((man.get_filename(), out))
}

/// Renders help text made of blocks separated by blank lines: a block whose first line is an
/// unindented `Heading:` starts a section `.SH HEADING`; indented lines are kept as they are
/// (no fill), other lines form a paragraph.
fn render_sections(text: &str, out: &mut Vec<u8>) -> io::Result<()> {
    let mut in_section = false;
    for block in text.split("\n\n") {
        let mut lines: Vec<&str> = block.lines().collect();
        if let Some(first) = lines.first() {
            if !first.starts_with(' ') && first.ends_with(':') && !first.contains(". ") {
                let heading = first.trim_end_matches(':').to_uppercase();
                writeln!(out, ".SH \"{}\"", roff_escape(&heading))?;
                in_section = true;
                lines.remove(0);
            }
        }
        if lines.is_empty() {
            continue;
        }
        if !in_section {
            writeln!(out, ".SH NOTES")?;
            in_section = true;
        }
        let items: Option<Vec<(&str, &str)>> = lines.iter().map(|l| list_item(l)).collect();
        if let Some(items) = items {
            // `  0  meaning` lines: a tagged list.
            for (tag, text) in items {
                writeln!(
                    out,
                    ".TP\n\\fB{}\\fR\n{}",
                    roff_escape(tag),
                    roff_line(text)
                )?;
            }
        } else if lines.iter().all(|l| l.starts_with(' ')) {
            writeln!(out, ".PP\n.nf")?;
            for line in lines {
                writeln!(
                    out,
                    "{}",
                    roff_line(line.strip_prefix("  ").unwrap_or(line))
                )?;
            }
            writeln!(out, ".fi")?;
        } else {
            writeln!(out, ".PP")?;
            for line in lines {
                writeln!(out, "{}", roff_line(line.trim()))?;
            }
        }
    }
    Ok(())
}

/// `  3  text` (an indented number, two spaces, text) as `("3", "text")`.
fn list_item(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("  ")?;
    let (tag, text) = rest.split_once("  ")?;
    (!tag.is_empty() && tag.bytes().all(|b| b.is_ascii_digit())).then_some((tag, text))
}

fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

fn roff_line(line: &str) -> String {
    let escaped = roff_escape(line);
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
