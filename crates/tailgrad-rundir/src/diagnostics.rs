//! `diagnostics.csv`: per-layer statistics of a network's weights and activity, at step 0 and at
//! the end of every epoch, the evidence a study needs to explain why a heavy-tailed run collapsed
//! (one output-layer weight of 10^4-10^5 times the law's scale saturates the net for good).
//! One row per (step, layer); the last layer's pre-activations are the logits.

use crate::RunDirError;
use crate::csvlog::{self, Row};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The statistics of one layer `h = phi(h_prev) W` at one point of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerDiagnostics {
    /// 0 = the input layer.
    pub layer: usize,
    /// `max |W_ij| / c`, with `c` the scale of the layer's initial law (the stable scale, the
    /// Gaussian's standard deviation, ...; `tailgrad_init::InitSpec::scale`).
    pub max_abs_w_over_c: f64,
    /// Hill's estimate of the tail index of `|W_ij|` (about alpha for an alpha-stable layer, large
    /// for a Gaussian one; `tailgrad_init::tail::hill`).
    pub hill_alpha: f64,
    /// Root mean square of the layer's pre-activations `h` over the diagnostic batch
    /// (for the last layer: the logit scale).
    pub preact_rms: f64,
    /// Largest `|h|` over the batch.
    pub preact_max_abs: f64,
    /// Fraction of (sample, unit) pairs whose activation is saturated: `|tanh(h)| > 0.99` for
    /// tanh, `h <= 0` (inactive) for ReLU, never for a linear layer; `None` for the last layer.
    pub saturation: Option<f64>,
}

/// A row of `diagnostics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsRow {
    pub step: u64,
    pub epoch: f64,
    pub layer: usize,
    pub max_abs_w_over_c: f64,
    pub hill_alpha: f64,
    pub preact_rms: f64,
    pub preact_max_abs: f64,
    pub saturation: Option<f64>,
}

impl Row for DiagnosticsRow {
    const HEADER: &'static [&'static str] =
        &["step", "epoch", "layer", "max_abs_w_over_c", "hill_alpha", "preact_rms", "preact_max_abs", "saturation"];
    fn step(&self) -> u64 {
        self.step
    }
}

impl DiagnosticsRow {
    pub fn new(step: u64, epoch: f64, d: &LayerDiagnostics) -> Self {
        Self {
            step,
            epoch,
            layer: d.layer,
            max_abs_w_over_c: d.max_abs_w_over_c,
            hill_alpha: d.hill_alpha,
            preact_rms: d.preact_rms,
            preact_max_abs: d.preact_max_abs,
            saturation: d.saturation,
        }
    }

    pub fn layer_diagnostics(&self) -> LayerDiagnostics {
        LayerDiagnostics {
            layer: self.layer,
            max_abs_w_over_c: self.max_abs_w_over_c,
            hill_alpha: self.hill_alpha,
            preact_rms: self.preact_rms,
            preact_max_abs: self.preact_max_abs,
            saturation: self.saturation,
        }
    }
}

/// Fraction of all hidden (sample, unit) pairs that are saturated: the mean of the hidden layers'
/// saturations weighted by their widths.
pub fn overall_saturation(layers: &[LayerDiagnostics], widths: &[usize]) -> Option<f64> {
    let (sum, n) = layers
        .iter()
        .zip(widths)
        .filter_map(|(d, &w)| d.saturation.map(|s| (s * w as f64, w as f64)))
        .fold((0.0, 0.0), |(a, b), (s, w)| (a + s, b + w));
    (n > 0.0).then(|| sum / n)
}

/// The file's name in a run directory.
pub const FILE: &str = "diagnostics.csv";

/// Every whole row of a run's `diagnostics.csv`.
pub fn read_rows(run_dir: &Path) -> Result<Vec<DiagnosticsRow>, RunDirError> {
    Ok(csvlog::read::<DiagnosticsRow>(&run_dir.join(FILE))?.rows)
}
