//! `steps.csv`: the training loss and accuracy of every SGD step, on the minibatch the step used
//! (before its update). Loss spikes, the signature of a heavy-tailed net collapsing, show here at
//! the step they happen; and the file is what `tailgrad export` users compare a PyTorch replay with.

use crate::RunDirError;
use crate::csvlog::{self, Row};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// 1 for the first step.
    pub step: u64,
    /// Mean cross-entropy over the minibatch.
    pub loss: f64,
    /// Fraction of the minibatch classified correctly.
    pub accuracy: f64,
}

impl Row for StepRow {
    const HEADER: &'static [&'static str] = &["step", "loss", "accuracy"];
    fn step(&self) -> u64 {
        self.step
    }
}

/// The file's name in a run directory.
pub const FILE: &str = "steps.csv";

/// Every whole row of a run's `steps.csv`.
pub fn read_rows(run_dir: &Path) -> Result<Vec<StepRow>, RunDirError> {
    Ok(csvlog::read::<StepRow>(&run_dir.join(FILE))?.rows)
}
