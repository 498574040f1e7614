//! The tailgrad trainer: an explicit SGD loop over a dataset held on the device, with run
//! directories, metrics, TensorBoard logs, checkpoints, resume, and a divergence guard.

pub mod checkpoint;
pub mod console;
pub mod metrics;
pub mod objective;
pub mod probe;
pub mod run;
pub mod sgd;
pub mod spec;
pub mod tensorboard;
pub mod timing;

pub use probe::{Probe, ProbeContext, ProbeOutput, ProbeSpec};
pub use run::{Backend, Prepared, Status, Summary, prepare, read_summary, train};
pub use timing::Timings;
pub use spec::{Console, LogSpec, RunSpec, Schedule, SpecError, TrainSpec};

#[cfg(test)]
mod tests;
