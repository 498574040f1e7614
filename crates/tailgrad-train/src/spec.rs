//! `RunSpec`: everything that defines a run, read from TOML plus `--set key=value` overrides,
//! validated, and written back fully resolved as the run directory's `spec.toml`.

pub use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tailgrad_backend::BackendChoice;
use tailgrad_data::{DataSpec, RawDataSpec};
use tailgrad_model::{MlpSpec, RawMlpSpec};

pub use crate::overrides::{OverrideError, apply_override};

/// One training run, checked: every section keeps its rules (`[train]` ranges and schedule,
/// `[data]` settings, `[model]` widths, a plain folder name, named instruments). Built only
/// through validation ([`RunSpec::from_file`], [`RunSpec::from_toml`], `TryFrom<RawRunSpec>`,
/// serde), so the fields are private, read with getters, and a struct literal does not compile
/// outside this crate:
///
/// ```compile_fail,E0451
/// use tailgrad_train::RunSpec;
/// fn rename(spec: RunSpec) -> RunSpec {
///     RunSpec { name: "../elsewhere".into(), ..spec }
/// }
/// ```
///
/// A spec changed in code goes through its raw form and the same checks:
///
/// ```
/// use tailgrad_train::{RawRunSpec, RunSpec};
/// let text = "name = \"example\"\n[data]\nname = \"mnist\"\n[model]\nhidden = [16]\ninit = { law = \"gaussian\" }\n[train]\nepochs = 1\nbatch_size = 32\nlr = 0.1\n";
/// let spec = RunSpec::from_toml(text, &[], "example").unwrap();
/// let mut raw = RawRunSpec::from(spec);
/// raw.train.lr = -1.0;
/// assert_eq!(RunSpec::try_from(raw).unwrap_err().to_string(), "config: `train.lr` must be finite and > 0");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRunSpec", into = "RawRunSpec")]
pub struct RunSpec {
    name: String,
    seed: u64,
    backend: BackendChoice,
    data: DataSpec,
    model: MlpSpec,
    train: TrainSpec,
    log: LogSpec,
    probes: Vec<crate::probe::ProbeSpec>,
}

/// A run config as written, before its checks: what a TOML file with `--set` overrides reads
/// as, and what code changes before [`RunSpec::try_from`] checks it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunSpec {
    /// The run's folder name under `runs/` (default: derived from the config file's name).
    #[serde(default)]
    pub name: String,
    /// Seeds the weights, the data order, the validation split and the label noise.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub backend: BackendChoice,
    pub data: RawDataSpec,
    pub model: RawMlpSpec,
    pub train: RawTrainSpec,
    #[serde(default)]
    pub log: LogSpec,
    /// Instruments scheduled during the run (`[[probes]]`, see tailgrad-probe).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::probe::ProbeSpec>,
}

/// The SGD loop: `v <- mu v + (g + lambda w)`, `w <- w - lr_t v` (plain SGD at mu = 0, the default,
/// as in the papers; weight decay lambda enters the gradient, as in PyTorch's SGD), checked.
/// Built only through validation (`TryFrom<RawTrainSpec>`, serde); the fields are read with
/// getters named as the config keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTrainSpec", into = "RawTrainSpec")]
pub struct TrainSpec {
    raw: RawTrainSpec,
}

/// The `[train]` section as written, before its checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrainSpec {
    pub epochs: usize,
    /// Stop after this many steps in total, even mid-epoch (0 = no limit).
    #[serde(default)]
    pub max_steps: usize,
    pub batch_size: usize,
    pub lr: f64,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default)]
    pub momentum: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// Evaluate every K steps as well as at every epoch's end (0 = at epoch ends only).
    #[serde(default)]
    pub eval_every_steps: usize,
    /// Evaluate this many times per epoch, evenly spaced (the last at the epoch's end).
    #[serde(default = "default_evals_per_epoch")]
    pub evals_per_epoch: usize,
    /// Batch size of evaluation passes (no autodiff). 2500 was 2-24% faster than one batch of
    /// 10,000 on both AVX2 and AVX-512 CPUs (784-50-50-10 and 784-1000-1000-10, 11 evaluations
    /// each; BENCHMARKS.md), and needs a quarter of the activation memory.
    #[serde(default = "default_eval_batch")]
    pub eval_batch: usize,
    /// A training loss above this (or NaN/inf) stops the run as diverged.
    #[serde(default = "default_max_loss")]
    pub max_loss: f64,
    /// Stop at the end of the first epoch whose mean training loss is below this (0 = off;
    /// Feng, Zhang & Tu train to a training loss below 1e-3).
    #[serde(default)]
    pub stop_at_train_loss: f64,
    /// Keep the newest N epoch checkpoints (plus the best one).
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// When a finished run is labelled `collapsed` instead (`[train.collapse]`).
    #[serde(default)]
    pub collapse: CollapseSpec,
}

/// When a run that trained to the end is labelled `collapsed`: it ended at chance accuracy
/// (test accuracy at most `1/classes + margin`) after a loss spike (a step's training loss above
/// `spike_loss`, with every later evaluation at chance), or with more than `saturation` of its
/// hidden units saturated at the start and the end of an epoch. The signature of a heavy-tailed
/// net whose extreme output weights blow up the first steps' loss and saturate its tanh units for
/// good; such runs are results, but not ones to average with the runs that learned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollapseSpec {
    pub margin: f64,
    pub spike_loss: f64,
    pub saturation: f64,
}

impl Default for CollapseSpec {
    fn default() -> Self {
        Self { margin: 0.1, spike_loss: 10.0, saturation: 0.99 }
    }
}

/// What a run writes besides `metrics.csv`, checkpoints and `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSpec {
    /// TensorBoard event files in the run directory.
    pub tensorboard: bool,
    /// Weight and gradient histograms every N epochs (0 = never).
    pub histogram_every_epochs: usize,
    /// Console output: `progress` (a bar per run), `quiet`, or `jsonl` (one JSON object per
    /// logged point on stdout, for scripts).
    pub console: Console,
    /// Refresh the progress bar and check for divergence every N steps.
    pub check_every_steps: usize,
    /// Write every step's minibatch loss and accuracy to `steps.csv`.
    pub step_losses: bool,
    /// Training samples (a fixed, seeded, class-balanced set) on which `diagnostics.csv` measures
    /// each layer's activity at step 0 and every epoch's end (0 = no diagnostics).
    pub diagnostics_samples: usize,
}

impl Default for LogSpec {
    fn default() -> Self {
        Self {
            tensorboard: true,
            histogram_every_epochs: 1,
            console: Console::Progress,
            check_every_steps: 20,
            step_losses: true,
            diagnostics_samples: 1000,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Console {
    #[default]
    Progress,
    Quiet,
    Jsonl,
}

fn default_eval_batch() -> usize {
    2_500
}
fn default_max_loss() -> f64 {
    1e4
}
fn default_keep() -> usize {
    2
}
fn default_evals_per_epoch() -> usize {
    1
}

/// A rejected config: which file or key, and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: {problem}")]
    Parse { file: String, problem: String },
    #[error(transparent)]
    Override(#[from] OverrideError),
    #[error("config: `{field}` {problem}")]
    Invalid { field: &'static str, problem: String },
    /// A `[data]` setting out of range (the message names the key).
    #[error("{0}")]
    Data(#[from] tailgrad_data::DataError),
    /// A `[model]` that is not a network (the message names the key).
    #[error("{0}")]
    Model(#[from] tailgrad_model::ModelError),
}

impl TryFrom<RawTrainSpec> for TrainSpec {
    type Error = SpecError;

    fn try_from(t: RawTrainSpec) -> Result<Self, SpecError> {
        let invalid = |field, problem: &str| Err(SpecError::Invalid { field, problem: problem.to_string() });
        if t.epochs == 0 && t.max_steps == 0 {
            return invalid("train.epochs", "must be > 0");
        }
        if t.batch_size == 0 {
            return invalid("train.batch_size", "must be > 0");
        }
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            return invalid("train.lr", "must be finite and > 0");
        }
        if !(0.0..1.0).contains(&t.momentum) {
            return invalid("train.momentum", "must be in [0, 1)");
        }
        if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
            return invalid("train.weight_decay", "must be finite and >= 0");
        }
        if t.evals_per_epoch == 0 {
            return invalid("train.evals_per_epoch", "must be >= 1");
        }
        if t.eval_batch == 0 {
            return invalid("train.eval_batch", "must be > 0");
        }
        if !(t.max_loss > 0.0 && !t.max_loss.is_nan()) {
            return invalid("train.max_loss", "must be > 0");
        }
        if !(t.stop_at_train_loss >= 0.0 && t.stop_at_train_loss.is_finite()) {
            return invalid("train.stop_at_train_loss", "must be finite and >= 0");
        }
        if t.keep_checkpoints == 0 {
            return invalid("train.keep_checkpoints", "must be >= 1");
        }
        if let Err((field, problem)) = t.schedule.check(t.lr) {
            return invalid(field, &problem);
        }
        let c = &t.collapse;
        if !(c.margin >= 0.0 && c.margin < 1.0) {
            return invalid("train.collapse.margin", "must be in [0, 1)");
        }
        if !(c.spike_loss > 0.0) {
            return invalid("train.collapse.spike_loss", "must be > 0");
        }
        if !(c.saturation > 0.0 && c.saturation <= 1.0) {
            return invalid("train.collapse.saturation", "must be in (0, 1]");
        }
        Ok(Self { raw: t })
    }
}

impl From<TrainSpec> for RawTrainSpec {
    fn from(spec: TrainSpec) -> Self {
        spec.raw
    }
}

impl TrainSpec {
    /// Epochs to train (0: `max_steps` sets the length).
    pub fn epochs(&self) -> usize {
        self.raw.epochs
    }

    /// A limit on the steps in total (0 = none).
    pub fn max_steps(&self) -> usize {
        self.raw.max_steps
    }

    /// Minibatch size (> 0).
    pub fn batch_size(&self) -> usize {
        self.raw.batch_size
    }

    /// The base learning rate (finite, > 0).
    pub fn lr(&self) -> f64 {
        self.raw.lr
    }

    /// How the learning rate moves over the run.
    pub fn schedule(&self) -> &Schedule {
        &self.raw.schedule
    }

    /// Momentum mu, in [0, 1).
    pub fn momentum(&self) -> f64 {
        self.raw.momentum
    }

    /// Weight decay lambda (>= 0).
    pub fn weight_decay(&self) -> f64 {
        self.raw.weight_decay
    }

    /// Evaluate every K steps too (0 = at the planned evaluations only).
    pub fn eval_every_steps(&self) -> usize {
        self.raw.eval_every_steps
    }

    /// Evaluations per epoch (>= 1).
    pub fn evals_per_epoch(&self) -> usize {
        self.raw.evals_per_epoch
    }

    /// Batch size of evaluation passes (> 0).
    pub fn eval_batch(&self) -> usize {
        self.raw.eval_batch
    }

    /// The training loss above which a run has diverged.
    pub fn max_loss(&self) -> f64 {
        self.raw.max_loss
    }

    /// Stop after the first epoch whose mean training loss is below this (0 = off).
    pub fn stop_at_train_loss(&self) -> f64 {
        self.raw.stop_at_train_loss
    }

    /// Epoch checkpoints kept (>= 1, plus the best one).
    pub fn keep_checkpoints(&self) -> usize {
        self.raw.keep_checkpoints
    }

    /// When a finished run is labelled `collapsed`.
    pub fn collapse(&self) -> &CollapseSpec {
        &self.raw.collapse
    }

    /// The planned length of the run in steps: `epochs` epochs of `steps_per_epoch`, or
    /// `max_steps` when that is set and sooner.
    pub fn planned_steps(&self, steps_per_epoch: u64) -> u64 {
        match (self.epochs() as u64 * steps_per_epoch, self.max_steps() as u64) {
            (e, 0) => e,
            (0, m) => m,
            (e, m) => e.min(m),
        }
    }

    /// Whether an evaluation is due after the `batch`-th step (1-based) of an epoch of `batches`:
    /// at `round(k batches / evals_per_epoch)` for k = 1..evals_per_epoch.
    pub fn evaluates_after(&self, batch: u64, batches: u64) -> bool {
        let n = self.evals_per_epoch() as u64;
        (1..=n).any(|k| (k * batches + n / 2) / n == batch)
    }

    /// The learning rate of the SGD step taken from position `step` (the number of steps already
    /// taken: 0 for the first step): [`Schedule::lr_at`] at this spec's `lr`.
    pub fn lr_at(&self, step: u64, steps_per_epoch: u64, planned_steps: u64) -> f64 {
        self.raw.schedule.lr_at(self.raw.lr, step, steps_per_epoch, planned_steps)
    }
}

impl RunSpec {
    /// Parse a config file with overrides applied, then validate. A config without `name` is
    /// named after its file.
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Self, SpecError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Parse { file: origin.clone(), problem: e.to_string() })?;
        let mut tree: toml::Table = toml::from_str(&text).map_err(|e| SpecError::Parse { file: origin.clone(), problem: e.to_string() })?;
        if !tree.contains_key("name") {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
            tree.insert("name".into(), toml::Value::String(stem.into()));
        }
        Self::from_table(tree, overrides, &origin)
    }

    /// Parse TOML text (named `origin` in errors) with overrides applied, then validate.
    pub fn from_toml(text: &str, overrides: &[String], origin: &str) -> Result<Self, SpecError> {
        let tree: toml::Table =
            toml::from_str(text).map_err(|e| SpecError::Parse { file: origin.to_string(), problem: e.to_string() })?;
        Self::from_table(tree, overrides, origin)
    }

    /// Build from a parsed TOML table with overrides applied, then validate.
    pub fn from_table(mut tree: toml::Table, overrides: &[String], origin: &str) -> Result<Self, SpecError> {
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let raw: RawRunSpec = tree
            .try_into()
            .map_err(|e: toml::de::Error| SpecError::Parse { file: origin.to_string(), problem: e.to_string() })?;
        Self::try_from(raw)
    }

    /// The run's folder name under `runs/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seeds the weights, the data order, the validation split and the label noise.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The backend asked for.
    pub fn backend(&self) -> BackendChoice {
        self.backend
    }

    /// The `[data]` section.
    pub fn data(&self) -> &DataSpec {
        &self.data
    }

    /// The `[model]` section.
    pub fn model(&self) -> &MlpSpec {
        &self.model
    }

    /// The `[train]` section.
    pub fn train(&self) -> &TrainSpec {
        &self.train
    }

    /// The `[log]` section.
    pub fn log(&self) -> &LogSpec {
        &self.log
    }

    /// The instruments scheduled during the run (`[[probes]]`).
    pub fn probes(&self) -> &[crate::probe::ProbeSpec] {
        &self.probes
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a RunSpec always serializes")
    }
}

impl TryFrom<RawRunSpec> for RunSpec {
    type Error = SpecError;

    /// Every section's checks, then the run's own: a plain folder name, named instruments, a
    /// console refresh interval.
    fn try_from(raw: RawRunSpec) -> Result<Self, SpecError> {
        let train = TrainSpec::try_from(raw.train)?;
        if let Some(p) = raw.probes.iter().find(|p| p.name.is_empty()) {
            return Err(SpecError::Invalid { field: "probes.name", problem: format!("is empty in {p:?}") });
        }
        if raw.log.check_every_steps == 0 {
            return Err(SpecError::Invalid { field: "log.check_every_steps", problem: "must be > 0".into() });
        }
        if let Err(problem) = tailgrad_rundir::io::check_folder_name(&raw.name) {
            return Err(SpecError::Invalid { field: "name", problem });
        }
        Ok(RunSpec {
            name: raw.name,
            seed: raw.seed,
            backend: raw.backend,
            data: DataSpec::try_from(raw.data)?,
            model: MlpSpec::try_from(raw.model)?,
            train,
            log: raw.log,
            probes: raw.probes,
        })
    }
}

impl From<RunSpec> for RawRunSpec {
    fn from(spec: RunSpec) -> Self {
        RawRunSpec {
            name: spec.name,
            seed: spec.seed,
            backend: spec.backend,
            data: spec.data.into(),
            model: spec.model.into(),
            train: spec.train.into(),
            log: spec.log,
            probes: spec.probes,
        }
    }
}
