//! Where a run's wall time goes, written to `summary.json` as `time`: the profile behind
//! "the data pipeline and logging take under 5% of a study" (BENCHMARKS.md).
//!
//! On the CPU backend every operation runs when it is called, so each bucket holds its own work.
//! On wgpu the device runs asynchronously and a bucket holds the time until its host read
//! returns: steps are paid for where the loss window is read back (in `train_steps_s`).

use serde::{Deserialize, Serialize};
use std::time::Instant;

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
    /// Metric rows, TensorBoard events and histograms, the console.
    pub logging_s: f64,
    /// Checkpoints and best-so-far weights.
    pub checkpoint_s: f64,
    /// Instruments (probes) measured during training.
    pub probes_s: f64,
    /// Everything, from the start of data loading to the summary.
    pub total_s: f64,
}

/// Run `f` and add its duration to `bucket`.
pub fn timed<T>(bucket: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    *bucket += start.elapsed().as_secs_f64();
    out
}
