//! The files of a run directory, read and written without any tensor library, so that reports,
//! scripts and the scheduler side of a study depend on nothing heavier than `csv` and `serde`:
//!
//! | file | module |
//! |---|---|
//! | `summary.json` | [`summary`]: how the run ended (`finished`, `collapsed`, `diverged`), its results and time profile |
//! | `metrics.csv` | [`metrics`]: one row per evaluation |
//! | `steps.csv` | [`steps`]: the training loss and accuracy of every SGD step |
//! | `diagnostics.csv` | [`diagnostics`]: per-layer weight-tail and activity statistics at step 0 and every epoch |
//! | `events.out.tfevents.*` | [`tensorboard`]: scalars, histograms, text and HParams for TensorBoard |
//! | `.lock` | [`lock`]: the one process that owns the directory |
//!
//! Every file is written so that a crash leaves either the old content or the new (whole files go
//! through [`io::write_atomically`]), or a log whose last line may be cut short, which the readers
//! of [`csvlog`] drop.

pub mod csvlog;
pub mod diagnostics;
pub mod io;
pub mod lock;
pub mod metrics;
pub mod steps;
pub mod summary;
pub mod tensorboard;

pub use diagnostics::{DiagnosticsRow, LayerDiagnostics};
pub use lock::RunLock;
pub use metrics::MetricRow;
pub use steps::StepRow;
pub use summary::{Collapse, CollapseReason, Status, Summary, Timings};

/// Why a run-directory file could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The OS error is part of the message, not a `source` (which error reporters such as
    /// anyhow's `{:#}` print a second time).
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {problem}")]
    Format { path: String, problem: String },
    #[error(
        "{path} is owned by {owner}; wait for it to finish, or stop it \
         (a lock left by a process that no longer runs is taken over automatically)"
    )]
    Locked { path: String, owner: String },
}

pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> RunDirError {
    RunDirError::Io { path: path.display().to_string(), error: source }
}

pub(crate) fn format_error(path: &std::path::Path, problem: impl Into<String>) -> RunDirError {
    RunDirError::Format { path: path.display().to_string(), problem: problem.into() }
}

#[cfg(test)]
mod io_error_tests {
    #[test]
    fn an_os_error_is_printed_once_in_an_error_chain() {
        // Issue 24, item 8: "...(os error 28): No space left on device (os error 28)".
        let e = super::io_error(std::path::Path::new("runs/a/metrics.csv"), std::io::Error::from_raw_os_error(28));
        tailgrad_testkit::assert_os_error_printed_once(&e, "runs/a/metrics.csv");
    }
}
