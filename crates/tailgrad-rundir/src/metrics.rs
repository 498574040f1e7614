//! `metrics.csv`: one row per evaluation (step 0, every epoch's end, and every
//! `eval_every_steps` steps when asked). Columns:
//!
//! | column | meaning |
//! |---|---|
//! | `step` | SGD steps taken so far |
//! | `epoch` | `step / steps_per_epoch` (fractional between epoch ends) |
//! | `train_loss`, `train_acc` | running mean over the minibatches since the previous row (empty at step 0) |
//! | `val_loss`, `val_acc` | on the validation split, if the run has one (else empty) |
//! | `test_loss`, `test_acc` | on the test split (cross-entropy, accuracy in [0, 1]) |
//! | `lr` | learning rate of the last step |
//! | `samples_per_s` | training throughput since the previous row, evaluation excluded |
//! | `wall_s` | seconds of training and evaluation since the run began (summed over resumes) |

use crate::RunDirError;
use crate::csvlog::{self, Row};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub step: u64,
    pub epoch: f64,
    pub train_loss: Option<f64>,
    pub train_acc: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_acc: Option<f64>,
    pub test_loss: f64,
    pub test_acc: f64,
    pub lr: f64,
    pub samples_per_s: Option<f64>,
    pub wall_s: f64,
}

impl Row for MetricRow {
    const HEADER: &'static [&'static str] =
        &["step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "samples_per_s", "wall_s"];
    fn step(&self) -> u64 {
        self.step
    }
}

impl MetricRow {
    /// `(name, value)` pairs of the set fields, for TensorBoard and the console.
    pub fn scalars(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![("epoch", self.epoch), ("test/loss", self.test_loss), ("test/accuracy", self.test_acc), ("lr", self.lr)];
        for (name, value) in [
            ("train/loss", self.train_loss),
            ("train/accuracy", self.train_acc),
            ("val/loss", self.val_loss),
            ("val/accuracy", self.val_acc),
            ("perf/samples_per_s", self.samples_per_s),
        ] {
            if let Some(x) = value {
                v.push((name, x));
            }
        }
        v
    }
}

/// The file's name in a run directory.
pub const FILE: &str = "metrics.csv";

/// Every whole row of a run's `metrics.csv`.
pub fn read_rows(run_dir: &Path) -> Result<Vec<MetricRow>, RunDirError> {
    Ok(csvlog::read::<MetricRow>(&run_dir.join(FILE))?.rows)
}
