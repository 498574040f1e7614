//! How a session starts: its logs opened fresh or cut back to the checkpoint's step, the event
//! file with its restart marker and HParams record, the probes' logs, the diagnostic batch.

use super::{Logs, Pending, Session};
use crate::checkpoint::Position;
use crate::console::ConsoleOut;
use crate::options::TrainOptions;
use crate::outcome::chance_threshold;
use crate::prepared::Prepared;
use crate::probe::ProbeLog;
use crate::sgd::Velocity;
use crate::spec::RunSpec;
use crate::timing::StepClock;
use anyhow::Context;
use std::path::Path;
use std::time::Instant;
use tailgrad_rundir::csvlog::Log;
use tailgrad_rundir::tensorboard::EventWriter;
use tailgrad_rundir::{DiagnosticsRow, LayerDiagnostics, StepRow, Timings, diagnostics as diag_file};
use tailgrad_model::{Mlp, MlpSpec};
use tailgrad_rundir::{metrics as metrics_file, steps as steps_file};

/// Where a session starts: its network and momentum buffers, and the checkpoint's position
/// (None: step 0).
pub(crate) struct Start {
    /// The run's network spec, with sizes from the data.
    pub model_spec: MlpSpec,
    pub model: Mlp,
    pub velocity: Velocity,
    pub position: Option<Position>,
}

impl<'a> Session<'a> {
    /// Open the logs (fresh, or cut back to the checkpoint's step) and get ready to train.
    pub(crate) fn open(
        spec: &'a RunSpec,
        run_dir: &'a Path,
        data: &'a Prepared,
        start: Start,
        time: Timings,
        started: Instant,
        options: TrainOptions,
    ) -> anyhow::Result<Self> {
        let Start { model_spec, model, velocity, position } = start;
        let t = spec.train();
        let steps_per_epoch = data.train_set.batches(t.batch_size()) as u64;
        let planned_steps = t.planned_steps(steps_per_epoch);
        let resume_step = position.as_ref().map(|p| p.step);
        let mut last_row = None;
        let metrics = match resume_step {
            Some(step) => {
                let (log, kept) = Log::resume(&run_dir.join(metrics_file::FILE), step)?;
                last_row = kept.last().cloned();
                log
            }
            None => Log::create(&run_dir.join(metrics_file::FILE))?,
        };
        let steps = if spec.log().step_losses { Some(open_log::<StepRow>(run_dir, steps_file::FILE, resume_step)?) } else { None };
        let diagnostics = if spec.log().diagnostics_samples > 0 {
            Some(open_log::<DiagnosticsRow>(run_dir, diag_file::FILE, resume_step)?)
        } else {
            None
        };
        let events = if spec.log().tensorboard {
            // A resumed session tells TensorBoard to drop what earlier files logged after the
            // checkpoint (or everything, when there was no checkpoint).
            let restart = options.resume.then(|| resume_step.map_or(0, |s| s + 1));
            let mut w = EventWriter::create(run_dir, restart).with_context(|| format!("creating event file in {}", run_dir.display()))?;
            let step = resume_step.unwrap_or(0);
            w.text(step, "spec", &format!("```toml\n{}\n```", spec.to_toml()))?;
            w.hparams_session_start(&super::ending::hparams(spec, &model_spec), "")?;
            Some(w)
        } else {
            None
        };
        let probe_resume = options.resume.then(|| resume_step.unwrap_or(0));
        let probe_logs = options
            .probes
            .iter()
            .map(|p| ProbeLog::open(run_dir, &p.spec().name, probe_resume))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let pos = position.unwrap_or_default();
        let console = ConsoleOut::new(spec.log().console, spec.name(), planned_steps, pos.step);
        let diagnostic_x = (spec.log().diagnostics_samples > 0).then(|| {
            let labels = &data.split.train.labels;
            let idx: Vec<i64> = tailgrad_data::balanced_sample(labels, data.split.train.classes, spec.log().diagnostics_samples, spec.seed())
                .into_iter()
                .map(|i| i as i64)
                .collect();
            data.train_set.rows(&idx).0
        });
        let chance = chance_threshold(t.collapse(), model_spec.classes());
        let initial_diagnostics = diag_rows_at(run_dir, spec, 0);
        let final_diagnostics = resume_step.map(|s| diag_rows_at(run_dir, spec, s)).unwrap_or_default();
        Ok(Self {
            spec,
            run_dir,
            data,
            model_spec,
            model,
            velocity,
            logs: Logs { metrics, steps, diagnostics, events },
            console,
            probes: options.probes,
            probe_logs,
            description: options.description,
            steps_per_epoch,
            planned_steps,
            total_steps: planned_steps,
            pos,
            pending: Pending::default(),
            last_row,
            clock: StepClock::default(),
            since_checkpoint: Instant::now(),
            started,
            time,
            diagnostic_x,
            chance,
            initial_diagnostics,
            final_diagnostics,
        })
    }
}

/// A log of `run_dir/name`, fresh or cut back to `resume_step`; a log missing from a run that
/// was started without it (a run from before the log existed) starts fresh.
fn open_log<R: tailgrad_rundir::csvlog::Row>(run_dir: &Path, name: &str, resume_step: Option<u64>) -> anyhow::Result<Log<R>> {
    let path = run_dir.join(name);
    Ok(match resume_step {
        Some(step) if path.exists() => Log::resume(&path, step)?.0,
        _ => Log::create(&path)?,
    })
}

/// The diagnostics rows of `step` in a run's `diagnostics.csv` (after a resume).
fn diag_rows_at(run_dir: &Path, spec: &RunSpec, step: u64) -> Vec<LayerDiagnostics> {
    if spec.log().diagnostics_samples == 0 {
        return Vec::new();
    }
    diag_file::read_rows(run_dir).map(|rows| rows.iter().filter(|r| r.step == step).map(|r| r.layer_diagnostics()).collect()).unwrap_or_default()
}
