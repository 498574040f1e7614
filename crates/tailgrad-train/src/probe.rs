//! The hook through which the trainer runs instruments during a run. The instruments themselves
//! live in `tailgrad-probe`; the trainer only knows when to call them and where their results go:
//! TensorBoard scalars `probe/<name>/<key>`, `probes/<name>.csv` (step, epoch, scalars) and
//! `probes/<name>.json` (every measurement with its full record).

use tailgrad_rundir::tensorboard::EventWriter;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;

/// `[[probes]]` in a run config: which instrument, when, and its own settings (the remaining
/// keys, checked by the instrument).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub name: String,
    /// Measure every N steps (0 = off).
    #[serde(default)]
    pub every_steps: usize,
    /// Measure every N epochs, at the epoch's end (0 = off).
    #[serde(default)]
    pub every_epochs: usize,
    /// Measure after the last step (default true).
    #[serde(default = "yes")]
    pub at_end: bool,
    #[serde(flatten)]
    pub settings: toml::Table,
}

fn yes() -> bool {
    true
}

impl ProbeSpec {
    /// Whether a measurement is due after `step` (`epochs_done` counts completed epochs).
    pub fn due(&self, step: u64, epoch_end: bool, epochs_done: u64, last: bool) -> bool {
        (self.every_steps > 0 && step % self.every_steps as u64 == 0)
            || (epoch_end && self.every_epochs > 0 && epochs_done % self.every_epochs as u64 == 0)
            || (last && self.at_end)
    }
}

/// What an instrument sees.
pub struct ProbeContext<'a> {
    /// The network (on the autodiff device) with its current weights.
    pub model: &'a Mlp,
    pub train: &'a DeviceSplit,
    pub test: &'a DeviceSplit,
    /// The test images of the classes left out of training (`data.classes`), if any.
    pub novel: Option<&'a DeviceSplit>,
    /// Which training labels label noise flipped (None without label noise).
    pub flipped: Option<&'a [bool]>,
    /// The training images' dataset classes when `data.merge` trained them under superclass
    /// labels (He & Su's shared-label protocol; None otherwise).
    pub fine_labels: Option<&'a [u8]>,
    pub step: u64,
    pub epochs_done: u64,
    pub total_steps: u64,
    pub lr: f64,
    pub batch_size: usize,
    pub seed: u64,
    pub run_dir: &'a Path,
}

/// A measurement: scalars for TensorBoard/CSV and the full record for JSON.
pub struct ProbeOutput {
    pub scalars: Vec<(String, f64)>,
    pub record: serde_json::Value,
}

/// An instrument the trainer can schedule.
pub trait Probe {
    fn spec(&self) -> &ProbeSpec;
    /// Check the settings against the network (`widths`: `[input, hidden.., classes]`) before
    /// training starts, so a run never fails at its end over a probe's settings.
    fn check(&self, _widths: &[usize]) -> anyhow::Result<()> {
        Ok(())
    }
    /// Called before every SGD step (for instruments that record the weight trajectory).
    fn before_step(&mut self, _ctx: &ProbeContext) -> anyhow::Result<()> {
        Ok(())
    }
    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput>;
}

/// Every measurement of one probe, kept in memory and rewritten atomically after each one, so a
/// crash loses nothing that was reported and a resume drops what came after its checkpoint.
pub struct ProbeLog {
    dir: PathBuf,
    name: String,
    records: Vec<serde_json::Value>,
}

impl ProbeLog {
    /// Open `run_dir/probes/<name>.json`, keeping only records at or before `resume_step`.
    pub fn open(run_dir: &Path, name: &str, resume_step: Option<u64>) -> anyhow::Result<Self> {
        let dir = run_dir.join("probes");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.json"));
        let mut records: Vec<serde_json::Value> = match (resume_step, std::fs::read_to_string(&path)) {
            (Some(_), Ok(text)) => serde_json::from_str(&text).with_context(|| format!("{}: not a probe log", path.display()))?,
            _ => Vec::new(),
        };
        let keep = resume_step.unwrap_or(0);
        records.retain(|r| r["step"].as_u64().is_some_and(|s| s <= keep));
        Ok(Self { dir, name: name.to_string(), records })
    }

    pub fn append(&mut self, step: u64, epoch: f64, out: &ProbeOutput, events: Option<&mut EventWriter>) -> anyhow::Result<()> {
        let scalars: serde_json::Map<String, serde_json::Value> =
            out.scalars.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
        self.records.push(serde_json::json!({ "step": step, "epoch": epoch, "scalars": scalars, "record": out.record }));
        let json = serde_json::to_string_pretty(&self.records)?;
        tailgrad_rundir::io::write_atomically(&self.dir.join(format!("{}.json", self.name)), json.as_bytes())?;
        tailgrad_rundir::io::write_atomically(&self.dir.join(format!("{}.csv", self.name)), self.csv().as_bytes())?;
        if let Some(events) = events {
            let tagged: Vec<(String, f64)> = out.scalars.iter().map(|(k, v)| (format!("probe/{}/{k}", self.name), *v)).collect();
            let refs: Vec<(&str, f64)> = tagged.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            events.scalars(step, &refs)?;
            events.flush()?;
        }
        Ok(())
    }

    /// Record that a measurement failed (kept in `probes/<name>.json`; the run goes on).
    pub fn append_error(&mut self, step: u64, epoch: f64, error: &str) -> anyhow::Result<()> {
        self.records.push(serde_json::json!({ "step": step, "epoch": epoch, "error": error }));
        let json = serde_json::to_string_pretty(&self.records)?;
        tailgrad_rundir::io::write_atomically(&self.dir.join(format!("{}.json", self.name)), json.as_bytes())?;
        Ok(())
    }

    /// `step,epoch,<scalar keys of the first record>` (failed measurements are left out).
    fn csv(&self) -> String {
        let measured: Vec<&serde_json::Value> = self.records.iter().filter(|r| r.get("error").is_none()).collect();
        let keys: Vec<String> = measured.first().and_then(|r| r["scalars"].as_object()).map_or(vec![], |m| m.keys().cloned().collect());
        let mut out = format!("step,epoch{}\n", keys.iter().map(|k| format!(",{k}")).collect::<String>());
        for r in measured {
            out.push_str(&format!("{},{}", r["step"], r["epoch"]));
            for k in &keys {
                out.push_str(&format!(",{}", r["scalars"][k]));
            }
            out.push('\n');
        }
        out
    }
}
