//! A running query's progress on standard error: rows and bytes scanned, bytes spilled.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use lode_exec::memory::human_bytes;
use lode_exec::{Progress, QueryProgress};

/// Queries shorter than this show nothing.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// How often the terminal line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(500);
/// How often `-v` logs the figures.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Shows a query's progress while it lives: on a terminal, one line redrawn in place (when
/// the result does not go to the same terminal); with `-v`, a log line every few seconds.
/// Dropping it clears the line.
pub struct ProgressReporter {
    task: tokio::task::JoinHandle<()>,
    draws: bool,
}

impl ProgressReporter {
    /// Starts reporting `progress`; `result_on_terminal`: the result is printed to the terminal
    /// standard error shares, where a redrawn line would tangle with it.
    pub fn start(progress: QueryProgress, result_on_terminal: bool) -> ProgressReporter {
        let draws = std::io::stderr().is_terminal() && !result_on_terminal;
        let started = Instant::now();
        let task = tokio::spawn(async move {
            tokio::time::sleep(QUIET_FOR).await;
            let mut last_log = Instant::now();
            loop {
                let figures = progress.snapshot();
                if draws {
                    let mut err = std::io::stderr().lock();
                    // A failed write to the terminal only loses a progress line.
                    let _ = write!(err, "\r\x1b[2K{}", line(&figures, started.elapsed()));
                    let _ = err.flush();
                }
                if last_log.elapsed() >= LOG_EVERY {
                    log(&figures, started.elapsed());
                    last_log = Instant::now();
                }
                tokio::time::sleep(REDRAW_EVERY).await;
            }
        });
        ProgressReporter { task, draws }
    }
}

impl Drop for ProgressReporter {
    fn drop(&mut self) {
        self.task.abort();
        if self.draws {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `3.2 s: scanned 1200000 rows, 340.0 MiB; spilled 1.2 GiB in 14 files`.
pub fn line(figures: &Progress, elapsed: Duration) -> String {
    let mut line = format!(
        "{:.1} s: scanned {} rows, {}",
        elapsed.as_secs_f64(),
        figures.rows_scanned,
        human_bytes(figures.bytes_scanned)
    );
    if figures.spilled_bytes > 0 {
        line.push_str(&format!(
            "; spilled {} in {} files",
            human_bytes(figures.spilled_bytes),
            figures.spills
        ));
    }
    line
}

/// The figures as a log event (`-v`).
pub fn log(figures: &Progress, elapsed: Duration) {
    tracing::info!(
        elapsed_s = elapsed.as_secs_f64(),
        rows_scanned = figures.rows_scanned,
        bytes_scanned = figures.bytes_scanned,
        spilled_bytes = figures.spilled_bytes,
        spill_files = figures.spills,
        "query progress"
    );
}
