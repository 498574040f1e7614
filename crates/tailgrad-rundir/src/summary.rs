//! `summary.json`: how a run ended, its results, and where its time went.

use crate::diagnostics::LayerDiagnostics;
use crate::{RunDirError, format_error, io, io_error};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Trained to the end of its budget.
    Finished,
    /// Trained to the end, but stuck at chance accuracy after a loss spike or with its hidden
    /// units saturated for a whole epoch (see [`Collapse`]): a run that did not learn, and not
    /// one to average with those that did.
    Collapsed,
    /// Stopped by the divergence guard (a NaN/inf training loss, or one above `train.max_loss`).
    Diverged,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Finished, Status::Collapsed, Status::Diverged];

    /// The outcome's name in study tables: `learned`, `collapsed`, `diverged`.
    pub fn outcome(self) -> &'static str {
        match self {
            Status::Finished => "learned",
            Status::Collapsed => "collapsed",
            Status::Diverged => "diverged",
        }
    }
}

/// Why a run was labelled collapsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollapseReason {
    /// A step's training loss exceeded `train.collapse.spike_loss`, and every evaluation after
    /// that step stayed at chance accuracy.
    LossSpike,
    /// The hidden units were saturated (`train.collapse.saturation`) at the start and at the end
    /// of an epoch, and the run ended at chance accuracy.
    Saturation,
}

/// The evidence behind a `collapsed` label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collapse {
    pub reasons: Vec<CollapseReason>,
    /// The first step whose training loss exceeded the spike threshold, and that loss.
    pub spike_step: Option<u64>,
    pub spike_loss: Option<f64>,
    /// The epochs (1-based) at whose start and end the hidden units were saturated.
    pub saturated_epochs: Vec<u64>,
    /// Accuracy at or below which a run counts as at chance: `1/classes + train.collapse.margin`.
    pub chance_threshold: f64,
}

/// Seconds spent by this session of the run (a resumed run reports its last session).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Reading the dataset files, splitting, normalizing and uploading to the device.
    pub data_load_s: f64,
    /// SGD steps: forward, backward, update, and reading back the per-step losses.
    pub train_steps_s: f64,
    /// Of `train_steps_s`: drawing each epoch's order and gathering the minibatches.
    pub batching_s: f64,
    /// Test and validation passes (no gradients).
    pub eval_s: f64,
    /// Samples evaluated in `eval_s`.
    pub eval_samples: u64,
    /// Metric rows, TensorBoard events and histograms, diagnostics, the console.
    pub logging_s: f64,
    /// Checkpoints and best-so-far weights.
    pub checkpoint_s: f64,
    /// Instruments (probes) measured during training.
    pub probes_s: f64,
    /// Everything, from the start of data loading to the summary.
    pub total_s: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub status: Status,
    /// The first step whose training loss was NaN/inf or above `train.max_loss`.
    pub diverged_at_step: Option<u64>,
    pub diverged_loss: Option<f64>,
    /// Set when `status` is `collapsed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse: Option<Collapse>,
    pub steps: u64,
    pub epochs: f64,
    pub final_test_loss: f64,
    pub final_test_acc: f64,
    pub best_test_acc: f64,
    pub best_step: u64,
    pub wall_s: f64,
    pub train_samples_per_s: f64,
    pub backend: String,
    pub parameters: usize,
    /// Where this session's wall time went.
    #[serde(default)]
    pub time: Timings,
    /// Per-layer diagnostics of the initial network (step 0) and of the last epoch's end
    /// (`diagnostics.csv` holds every epoch).
    #[serde(default)]
    pub initial_diagnostics: Vec<LayerDiagnostics>,
    #[serde(default)]
    pub final_diagnostics: Vec<LayerDiagnostics>,
}

/// The file's name in a run directory.
pub const FILE: &str = "summary.json";

impl Summary {
    /// Read `run_dir/summary.json`.
    pub fn read(run_dir: &Path) -> Result<Summary, RunDirError> {
        let path = run_dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        serde_json::from_str(&text).map_err(|e| format_error(&path, format!("not a tailgrad summary: {e}")))
    }

    /// Write `run_dir/summary.json` atomically.
    pub fn write(&self, run_dir: &Path) -> Result<(), RunDirError> {
        let path = run_dir.join(FILE);
        let json = serde_json::to_string_pretty(self).map_err(|e| format_error(&path, e.to_string()))?;
        io::write_atomically(&path, json.as_bytes())
    }
}
