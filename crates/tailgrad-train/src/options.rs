//! How a run trains: on which device, whether it resumes, with which instruments, and what may
//! stop it early.

use crate::probe::Probe;
use crate::stop::StopFlag;
use burn::tensor::Device;

/// How [`train`](crate::train) runs: on which device, whether it resumes, with which instruments, and what may
/// stop it early.
pub struct TrainOptions<'a> {
    pub device: &'a Device,
    /// How `summary.json` names the device.
    pub description: String,
    /// Continue from the newest readable checkpoint (the caller passes the spec read back from
    /// the run's `spec.toml`). A run directory without a checkpoint starts from step 0.
    pub resume: bool,
    /// Instruments measured on their cadence (built from `spec.probes` by tailgrad-probe).
    pub probes: Vec<Box<dyn Probe>>,
    /// A request to stop at the next step boundary, after checkpointing.
    pub stop: StopFlag,
}

impl<'a> TrainOptions<'a> {
    /// A fresh run on `device`, without instruments.
    pub fn on(device: &'a Device) -> Self {
        Self { device, description: format!("{device:?}"), resume: false, probes: Vec::new(), stop: StopFlag::never() }
    }
}

