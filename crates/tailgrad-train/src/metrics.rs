//! `metrics.csv`: one row per logged point (step 0, every epoch's end, and every
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

use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

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

/// Read every row of a metrics file.
pub fn read_rows(path: &Path) -> Result<Vec<MetricRow>, csv::Error> {
    csv::Reader::from_path(path)?.deserialize().collect()
}

/// Appends rows to `metrics.csv`, flushing each one (a crash loses nothing already logged).
pub struct MetricsLog {
    path: PathBuf,
}

impl MetricsLog {
    /// Open for a run resumed at `step`: rows logged after the checkpoint (recomputed by the
    /// resumed run) are dropped, so no row is lost or duplicated. Also returns the last row kept.
    pub fn open(path: &Path, resume_step: Option<u64>) -> Result<(Self, Option<MetricRow>), csv::Error> {
        let mut last = None;
        match resume_step {
            Some(step) if path.exists() => {
                let keep: Vec<MetricRow> = read_rows(path)?.into_iter().filter(|r| r.step <= step).collect();
                let mut w = csv::Writer::from_path(path)?;
                for row in &keep {
                    w.serialize(row)?;
                }
                w.flush()?;
                last = keep.last().cloned();
            }
            _ => {
                // A fresh file holding only the header.
                let mut w = csv::Writer::from_path(path)?;
                w.write_record(["step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "samples_per_s", "wall_s"])?;
                w.flush()?;
            }
        }
        Ok((Self { path: path.to_path_buf() }, last))
    }

    pub fn append(&mut self, row: &MetricRow) -> Result<(), csv::Error> {
        let file = OpenOptions::new().append(true).open(&self.path)?;
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(file);
        w.serialize(row)?;
        w.flush()?;
        Ok(())
    }
}
