//! One training run, start to finish (or to divergence, or to a stop request), in its run
//! directory: `spec.toml`, `metrics.csv`, `steps.csv`, `diagnostics.csv`,
//! `events.out.tfevents.*`, `checkpoints/`, `summary.json`, owned by one process at a time.

use crate::checkpoint;
use crate::options::TrainOptions;
use crate::prepared::{Prepared, prepare};
use crate::session::{self, Session, SessionEnd, Start};
use crate::sgd::Velocity;
use crate::spec::RunSpec;
use crate::timing::timed;
use anyhow::{Context, bail};
use burn::tensor::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tailgrad_model::Mlp;
use tailgrad_rundir::{RunLock, Summary, Timings};

/// How a training session ended.
#[derive(Debug)]
pub enum RunEnd {
    /// The run is over (`finished`, `collapsed` or `diverged`; a resumed run that was already
    /// over returns its summary unchanged).
    Completed(Summary),
    /// Stopped on request, with a checkpoint at `step`; `--resume` continues it.
    Stopped { step: u64 },
}

/// Train `spec` in `run_dir`, or continue it there (`options.resume`).
///
/// Nothing in the directory changes until the data are loaded and the model is built: a run
/// that cannot start (missing data, a model too large for memory) leaves the directory as it was.
pub fn train(spec: &RunSpec, run_dir: &Path, options: TrainOptions) -> anyhow::Result<RunEnd> {
    let claim = match Claim::take(run_dir, options.resume)? {
        Claimed::Done(summary) => return Ok(RunEnd::Completed(summary)),
        Claimed::Ready(claim) => claim,
    };
    let started = Instant::now();
    let mut time = Timings::default();
    let ready = (|| -> anyhow::Result<_> {
        let data = timed(&mut time.data_load_s, || prepare(spec, options.device))?;
        let widths = data.model_spec.widths();
        check_memory(&widths, spec.train().batch_size().max(spec.train().eval_batch()), 1, options.device)?;
        for probe in &options.probes {
            probe.check(&widths)?;
        }
        let start = claim.build(spec, &data, options.device)?;
        Ok((data, start))
    })();
    let (data, start) = match ready {
        Ok(ready) => ready,
        Err(e) => {
            claim.abandon();
            return Err(e);
        }
    };
    claim.write_spec(spec)?;
    let stop = options.stop.clone();
    // A run alone trains as a population of one, by the one training loop.
    let session = Session::open(spec, run_dir, &data, start, time, started, options)?;
    let end = session::train(vec![session], &stop, false)?.pop().expect("one end per session")?;
    drop(claim);
    Ok(end.into())
}

impl From<SessionEnd> for RunEnd {
    fn from(end: SessionEnd) -> Self {
        match end {
            SessionEnd::Completed(summary) => RunEnd::Completed(summary),
            SessionEnd::Stopped { step } => RunEnd::Stopped { step },
        }
    }
}

/// A run directory locked for training by this process.
pub(crate) struct Claim {
    run_dir: PathBuf,
    resume: bool,
    /// Whether this process made the directory (and so removes it if the run cannot start).
    created: bool,
    lock: RunLock,
}

pub(crate) enum Claimed {
    /// A resumed run that was already over.
    Done(Summary),
    Ready(Claim),
}

impl Claim {
    /// Lock `run_dir`: a fresh run needs an empty directory, a resumed one that is already over
    /// is reported as done.
    pub(crate) fn take(run_dir: &Path, resume: bool) -> anyhow::Result<Claimed> {
        if !resume {
            check_fresh(run_dir)?;
        }
        let created = !run_dir.exists();
        let lock = RunLock::acquire(run_dir)?;
        if resume
            && let Ok(summary) = Summary::read(run_dir)
        {
            eprintln!("{}: already {} ({}); nothing to do", run_dir.display(), summary.status.outcome(), run_dir.join("summary.json").display());
            return Ok(Claimed::Done(summary));
        }
        Ok(Claimed::Ready(Self { run_dir: run_dir.to_path_buf(), resume, created, lock }))
    }

    /// The network of `spec` on `device` (autodiff), from the newest readable checkpoint when
    /// resuming.
    pub(crate) fn build(&self, spec: &RunSpec, data: &Prepared, device: &Device) -> anyhow::Result<Start> {
        let checkpoint = if self.resume { checkpoint::latest_valid(&self.run_dir, |w| eprintln!("{w}")) } else { None };
        if self.resume && checkpoint.is_none() && checkpoint::list(&self.run_dir).is_empty() {
            // Checkpoints deleted (or never written) although training went on: say so, since
            // the curve so far is dropped and trained again.
            if let Some(step) = tailgrad_rundir::metrics::read_rows(&self.run_dir).ok().and_then(|rows| rows.last().map(|r| r.step)).filter(|&s| s > 0) {
                eprintln!(
                    "warning: {} holds no checkpoint, but {} reached step {step}; the run starts again from step 0 \
                     (seeded: it replays the same curve)",
                    checkpoint::dir(&self.run_dir).display(),
                    self.run_dir.join(tailgrad_rundir::metrics::FILE).display()
                );
            }
        }
        // The sizes come from the data; the init law is the run's own (a population's members
        // share the data but not the law).
        let model_spec = spec.model().clone().with_sizes(data.model_spec.input(), data.model_spec.classes());
        let mut model = Mlp::init(&model_spec, spec.seed(), &device.clone().autodiff())?;
        let (velocity, position) = match checkpoint {
            Some((tensors, pos)) => {
                model = model.load_host(&tensors).map_err(anyhow::Error::msg).context("the checkpoint does not fit the model")?;
                let velocity = Velocity::from_host(&tensors, model.layers.len(), device).map_err(anyhow::Error::msg).context("the checkpoint's momentum")?;
                (velocity, Some(pos))
            }
            None => (Velocity::new(model.layers.len()), None),
        };
        Ok(Start { model_spec, model, velocity, position })
    }

    /// A run that could not start leaves no directory behind (only the lock was made).
    pub(crate) fn abandon(self) {
        let Self { run_dir, created, lock, .. } = self;
        drop(lock);
        if created {
            let _ = std::fs::remove_dir_all(run_dir);
        }
    }

    /// A fresh run's `spec.toml`, written once it is sure to start.
    pub(crate) fn write_spec(&self, spec: &RunSpec) -> anyhow::Result<()> {
        if !self.resume {
            tailgrad_rundir::io::write_atomically(&self.run_dir.join("spec.toml"), spec.to_toml().as_bytes())?;
        }
        Ok(())
    }
}

/// A fresh run needs an empty (or absent) directory: anything else there belongs to another run.
fn check_fresh(run_dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(run_dir) else { return Ok(()) };
    let names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n != ".lock").collect();
    if names.iter().any(|n| n == "spec.toml") {
        bail!(
            "{} already holds a run; resume it with `tailgrad train --resume {}` or choose another name",
            run_dir.display(),
            run_dir.display()
        );
    }
    if !names.is_empty() {
        bail!("{} exists and is not empty (it holds {}); choose another run name or remove it", run_dir.display(), names.join(", "));
    }
    Ok(())
}

/// Refuse a model whose training would not fit in memory, before allocating it: weights,
/// gradients, momentum and the member's own network, which the training loop writes from the
/// stacked weights at boundaries (4 copies of the parameters), plus activations and their
/// gradients for a batch, for each of `members` networks trained at once (a population; 1 for a
/// run alone).
/// Only on the CPU backend, where the limit is the machine's available memory.
pub fn check_memory(widths: &[usize], batch: usize, members: usize, device: &Device) -> anyhow::Result<()> {
    if *device != Device::flex() {
        return Ok(());
    }
    let params: f64 = widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let activations: f64 = widths.iter().map(|&w| (w * batch) as f64).sum();
    let need = 4.0 * (4.0 * params + 4.0 * activations) * members as f64;
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb * 1024.0)
    });
    if let Some(available) = available
        && need > available
    {
        bail!(
            "config: `model.hidden` = {:?}: training {} needs about {:.1} GB ({:.0} M parameters, 4 copies, and batch activations), \
             but {:.1} GB of memory are available",
            &widths[1..widths.len() - 1],
            if members == 1 { "one network".to_string() } else { format!("a population of {members} networks") },
            need / 1e9,
            params / 1e6,
            available / 1e9
        );
    }
    Ok(())
}
