//! A progress bar on stderr, drawn only when stderr is a terminal and `--quiet` is off;
//! otherwise every method is a no-op, so scripts and logs see no progress output at all.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Records and bytes processed, with a rate and (when the input size is known) an ETA.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` input bytes (a spinner when unknown), or nothing when stderr is
    /// not a terminal or `quiet` is set. The bar takes the terminal's width and shows the
    /// elapsed time.
    pub fn new(quiet: bool, total: Option<u64>) -> Progress {
        let template = match total {
            Some(_) => {
                "{spinner} {elapsed_precise} {prefix}[{wide_bar}] {percent:>3}% \
                 {bytes}/{total_bytes} {msg} ETA {eta}"
            }
            None => "{spinner} {elapsed_precise} {prefix}{bytes} {bytes_per_sec} {msg}",
        };
        Self::with_template(quiet, total, template)
    }

    /// A spinner with the elapsed time and `message`, for work without a measure of its own
    /// (a compaction).
    pub fn spinner(quiet: bool, message: &str) -> Progress {
        let progress = Self::with_template(quiet, None, "{spinner} {elapsed_precise} {msg}");
        progress.status(message);
        progress
    }

    fn with_template(quiet: bool, total: Option<u64>, template: &str) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let target = ProgressDrawTarget::stderr_with_hz(4);
        let bar = ProgressBar::with_draw_target(total, target);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar: Some(bar) }
    }

    /// Names the input being read (when there are several).
    pub fn file(&self, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("{name} "));
        }
    }

    /// Sets the totals so far.
    pub fn update(&self, records: u64, bytes: u64, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            let secs = elapsed.as_secs_f64();
            let rate = if secs > 0.0 {
                records as f64 / secs
            } else {
                0.0
            };
            bar.set_message(format!(
                "{} rec {}/s",
                compact(records as f64),
                compact(rate)
            ));
        }
    }

    /// Replaces the message (e.g. while the final flush runs).
    pub fn status(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `950`, `12.3K`, `1.20M`: short enough to keep the bar on one line.
fn compact(n: f64) -> String {
    if n < 10_000.0 {
        format!("{n:.0}")
    } else if n < 1_000_000.0 {
        format!("{:.1}K", n / 1000.0)
    } else {
        format!("{:.2}M", n / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_numbers() {
        assert_eq!(super::compact(950.0), "950");
        assert_eq!(super::compact(12_345.0), "12.3K");
        assert_eq!(super::compact(1_200_000.0), "1.20M");
    }
}
