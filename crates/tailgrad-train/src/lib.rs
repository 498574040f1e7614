//! The tailgrad trainer: an explicit SGD loop over a dataset held on the device, writing a run
//! directory (metrics, per-step losses, diagnostics, TensorBoard logs, checkpoints, summary; the
//! formats are in `tailgrad-rundir`) that resumes exactly, with a divergence guard, collapse
//! detection, clean stops on request, and a hook ([`Probe`]) through which instruments measure
//! the network during training.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use tailgrad_train::{RunSpec, TrainOptions, train};
//! let spec = RunSpec::from_file("experiments/mnist_single_run.toml".as_ref(), &["train.epochs=1".into()])?;
//! let device = burn::tensor::Device::flex();
//! let end = train(&spec, "runs/demo".as_ref(), TrainOptions::on(&device))?;
//! println!("{end:?}");
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod console;
pub mod diagnostics;
pub mod evaluate;
pub mod outcome;
pub mod population;
mod options;
mod overrides;
mod prepared;
pub mod probe;
pub mod run;
pub mod schedule;
mod session;
pub mod sgd;
pub mod spec;
pub mod stop;
pub mod timing;

pub use probe::{Probe, ProbeContext, ProbeOutput, ProbeSpec};
pub use population::{Member, population_key, train_population};
pub use options::TrainOptions;
pub use prepared::{Prepared, model_for, prepare};
pub use run::{RunEnd, train};
pub use spec::{CollapseSpec, Console, LogSpec, RawRunSpec, RawTrainSpec, RunSpec, Schedule, SpecError, TrainSpec};
pub use stop::{EXIT_STOPPED, StopFlag};
pub use tailgrad_rundir::{Status, Summary, Timings};

#[cfg(test)]
mod tests;
