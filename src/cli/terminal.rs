//! The size of the terminal stdout is on, for layouts that must fit it (`stats --watch`,
//! `events`). Not a terminal: `None`, and callers keep their fixed 80-column layout.

use std::io::IsTerminal;

/// Columns and rows of the terminal on stdout; `COLUMNS`/`LINES` override (as `tmux`
/// or a test sets them), and `None` when stdout is not a terminal and neither is set.
pub fn size() -> Option<(usize, usize)> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    let stdout = std::io::stdout();
    let from_tty = if stdout.is_terminal() {
        rustix::termios::tcgetwinsize(&stdout)
            .ok()
            .filter(|w| w.ws_col > 0 && w.ws_row > 0)
            .map(|w| (usize::from(w.ws_col), usize::from(w.ws_row)))
    } else {
        None
    };
    match (env("COLUMNS"), env("LINES"), from_tty) {
        (Some(cols), Some(rows), _) => Some((cols, rows)),
        (cols, rows, Some((tty_cols, tty_rows))) => {
            Some((cols.unwrap_or(tty_cols), rows.unwrap_or(tty_rows)))
        }
        (Some(cols), None, None) => Some((cols, 24)),
        _ => None,
    }
}
