//! One run's side of training: at read-back boundaries the divergence check, metrics rows, the
//! end of an epoch (diagnostics, collapse evidence, early stop), instruments, checkpoints and
//! stop requests. The SGD steps themselves are taken by the one training loop, [`training`],
//! for a population of sessions (a run alone is a population of one). What a session writes is
//! in [`records`]; how it ends (summary, console, HParams) in [`ending`]; how it starts in
//! [`opening`].

mod ending;
mod opening;
mod records;
mod training;

pub(crate) use opening::Start;
pub(crate) use training::train;

use crate::checkpoint::Position;
use crate::console::ConsoleOut;
use crate::outcome::Diverged;
use crate::prepared::Prepared;
use crate::probe::{Probe, ProbeContext, ProbeLog};
use crate::sgd::Velocity;
use crate::spec::RunSpec;
use crate::timing::{StepClock, timed};
use anyhow::Context;
use burn::tensor::{Int, Tensor};
use std::path::Path;
use std::time::Instant;
use tailgrad_data::{DeviceSplit, EpochOrder};
use tailgrad_model::Mlp;
use tailgrad_model::loss::{read_f32s, read_i64s};
use tailgrad_rundir::csvlog::Log;
use tailgrad_rundir::tensorboard::EventWriter;
use tailgrad_rundir::{DiagnosticsRow, LayerDiagnostics, MetricRow, StepRow, Summary, Timings};

/// How a session ended.
pub(crate) enum SessionEnd {
    Completed(Summary),
    Stopped { step: u64 },
}

/// What a boundary found: go on, the run diverged, or it stopped on request (checkpointed).
pub(crate) enum After {
    Continue,
    Diverged(Diverged),
    Stopped,
}

/// What is due after a step.
struct Due {
    row: bool,
    probe: bool,
}

/// Per-step loss and correct-count tensors not yet read back to the host.
#[derive(Default)]
struct Pending {
    losses: Vec<Tensor<1>>,
    corrects: Vec<Tensor<1, Int>>,
    batch_sizes: Vec<usize>,
}

/// The run directory's logs, open for appending.
struct Logs {
    metrics: Log<MetricRow>,
    steps: Option<Log<StepRow>>,
    diagnostics: Option<Log<DiagnosticsRow>>,
    events: Option<EventWriter>,
}

pub(crate) struct Session<'a> {
    spec: &'a RunSpec,
    run_dir: &'a Path,
    data: &'a Prepared,
    /// This run's network spec (a population's members share `data` but not the init law).
    model_spec: tailgrad_model::MlpSpec,
    /// The network as the instruments, evaluation and checkpoints see it: the training loop
    /// writes it from the stacked weights before each boundary (and before each step when an
    /// instrument looks at every step).
    model: Mlp,
    /// Its momentum buffers (a population of one), written by the loop like the weights.
    velocity: Velocity,
    logs: Logs,
    console: ConsoleOut,
    probes: Vec<Box<dyn Probe>>,
    probe_logs: Vec<ProbeLog>,
    description: String,
    pos: Position,
    steps_per_epoch: u64,
    /// The schedule's length: the planned number of steps.
    planned_steps: u64,
    /// Where training ends (earlier than planned after `stop_at_train_loss`).
    total_steps: u64,
    pending: Pending,
    last_row: Option<MetricRow>,
    clock: StepClock,
    /// Wall time since the last checkpoint (earlier sessions' time is in `pos.wall_s`).
    since_checkpoint: Instant,
    started: Instant,
    time: Timings,
    /// The fixed, class-balanced diagnostic batch (None: diagnostics are off).
    diagnostic_x: Option<Tensor<2>>,
    chance: f64,
    initial_diagnostics: Vec<LayerDiagnostics>,
    final_diagnostics: Vec<LayerDiagnostics>,
}

impl<'a> Session<'a> {
    /// Print only notes and the final line (a population member: the population shows progress).
    pub(crate) fn quiet(&mut self) {
        self.console = ConsoleOut::new(crate::spec::Console::Quiet, self.spec.name(), self.planned_steps, self.pos.step);
    }

    fn wall(&self) -> f64 {
        self.pos.wall_s + self.since_checkpoint.elapsed().as_secs_f64()
    }

    fn train_set(&self) -> &'a DeviceSplit {
        &self.data.train_set
    }

    /// The learning rate of the step taken from position `step`.
    fn lr_at(&self, step: u64) -> f64 {
        self.spec.train().lr_at(step, self.steps_per_epoch, self.planned_steps)
    }

    /// Before the first step of a fresh run: the step-0 metrics row and diagnostics.
    fn begin(&mut self) -> anyhow::Result<()> {
        if self.pos.step == 0 {
            self.log_row()?;
            self.diagnose()?;
        }
        self.clock.restart();
        Ok(())
    }

    /// Batches per epoch (the last may be smaller).
    fn batches(&self) -> u64 {
        self.train_set().batches(self.spec.train().batch_size()) as u64
    }

    /// The shuffled order of the current epoch (a function of the seed and the epoch).
    fn epoch_order(&mut self) -> EpochOrder {
        let (n, seed, epoch) = (self.data.train_set.len, self.spec.seed(), self.pos.epoch);
        let device = self.data.train_set.device();
        timed(&mut self.time.batching_s, || EpochOrder::new(n, seed, epoch, &device))
    }

    /// Before the step from the current position (taken at rate `lr`): the instruments that
    /// look at every step see the network.
    fn before_step(&mut self, lr: f64) -> anyhow::Result<()> {
        if self.probes.is_empty() {
            return Ok(());
        }
        let mut probes = std::mem::take(&mut self.probes);
        let mut spent = 0.0;
        let result = timed(&mut spent, || {
            let ctx = self.probe_context(lr);
            probes.iter_mut().try_for_each(|p| p.before_step(&ctx))
        });
        self.probes = probes;
        self.time.probes_s += spent;
        self.clock.exclude(spent);
        result
    }

    /// Count a step taken from the current position: its loss and correct count (read back
    /// later), and the position one batch on.
    fn record_step(&mut self, loss: Tensor<1>, correct: Tensor<1, Int>, batch: usize) {
        self.pending.losses.push(loss);
        self.pending.corrects.push(correct);
        self.pending.batch_sizes.push(batch);
        self.pos.step += 1;
        self.pos.batch += 1;
        self.clock.add_samples(batch);
    }

    /// Whether the step just taken ends at a boundary: a metrics row, a probe, a stop request,
    /// or enough pending losses to read back.
    fn boundary_due(&self, last_of_epoch: bool, stopping: bool) -> bool {
        self.boundary(last_of_epoch, stopping).is_some()
    }

    /// What is due after the step just taken, when it ends at a boundary.
    fn boundary(&self, last_of_epoch: bool, stopping: bool) -> Option<Due> {
        let due = self.due(last_of_epoch);
        (due.row || due.probe || stopping || self.pending.losses.len() >= self.spec.log().check_every_steps).then_some(due)
    }

    fn due(&self, last_of_epoch: bool) -> Due {
        let t = self.spec.train();
        let step = self.pos.step;
        let eval_due = (t.eval_every_steps() > 0 && step % t.eval_every_steps() as u64 == 0) || t.evaluates_after(self.pos.batch, self.batches());
        let epochs_done = self.pos.epoch + last_of_epoch as u64;
        let last = step == self.total_steps;
        Due {
            row: last_of_epoch || eval_due || last,
            probe: self.probes.iter().any(|p| p.spec().due(step, last_of_epoch, epochs_done, last)),
        }
    }

    /// After a step: at a boundary, read the losses back (stopping at divergence), log a metrics
    /// row, end the epoch, measure the probes due, checkpoint, and honour a stop request.
    fn after_step(&mut self, last_of_epoch: bool, stopping: bool) -> anyhow::Result<After> {
        let Some(due) = self.boundary(last_of_epoch, stopping) else { return Ok(After::Continue) };
        if let Some(d) = self.read_back()? {
            return Ok(After::Diverged(d));
        }
        if due.row {
            self.log_row()?;
        }
        if last_of_epoch {
            self.end_epoch()?;
        }
        self.run_probes(last_of_epoch)?;
        let stopping = stopping && self.pos.step < self.total_steps;
        if last_of_epoch || self.pos.step == self.total_steps || stopping {
            self.checkpoint()?;
        }
        self.clock.restart();
        Ok(if stopping { After::Stopped } else { After::Continue })
    }

    /// Read the pending per-step losses back: log them, feed the collapse watch, and stop at
    /// the first non-finite or too-large one.
    fn read_back(&mut self) -> anyhow::Result<Option<Diverged>> {
        if self.pending.losses.is_empty() {
            return Ok(None);
        }
        let pending = std::mem::take(&mut self.pending);
        let losses = read_f32s(Tensor::cat(pending.losses, 0));
        let corrects = read_i64s(Tensor::cat(pending.corrects, 0));
        let first_step = self.pos.step - losses.len() as u64 + 1;
        self.clock.close_segment();
        let mut rows = Vec::with_capacity(losses.len());
        let mut diverged = None;
        for (k, (&loss, &b)) in losses.iter().zip(&pending.batch_sizes).enumerate() {
            let (step, loss) = (first_step + k as u64, loss as f64);
            rows.push(StepRow { step, loss, accuracy: corrects[k] as f64 / b as f64 });
            if !loss.is_finite() || loss > self.spec.train().max_loss() {
                diverged = Some(Diverged { step, loss });
                break;
            }
            self.pos.collapse.step_loss(self.spec.train().collapse(), step, loss);
            self.pos.window.loss_sum += loss * b as f64;
            self.pos.window.correct_sum += corrects[k] as f64;
            self.pos.window.seen += b as u64;
        }
        let logging = Instant::now();
        if let Some(log) = self.logs.steps.as_mut() {
            log.append(&rows)?;
        }
        if let Some(d) = diverged {
            self.pos.step = d.step - 1;
            return Ok(Some(d));
        }
        let w = &self.pos.window;
        let seen = w.seen.max(1) as f64;
        self.console.progress(self.pos.step, w.loss_sum / seen, w.correct_sum / seen, self.clock.rate());
        self.time.logging_s += logging.elapsed().as_secs_f64();
        Ok(None)
    }

    /// What the instruments see now; `lr` is the rate of the next step from these weights.
    fn probe_context(&self, lr: f64) -> ProbeContext<'_> {
        ProbeContext {
            model: &self.model,
            train: &self.data.train_set,
            test: &self.data.test_set,
            novel: self.data.novel_set.as_ref(),
            flipped: (self.spec.data().label_noise() > 0.0).then_some(self.data.split.noise.flipped.as_slice()),
            fine_labels: self.data.split.fine_labels.as_deref(),
            step: self.pos.step,
            epochs_done: self.pos.epoch,
            total_steps: self.total_steps,
            lr,
            batch_size: self.spec.train().batch_size(),
            seed: self.spec.seed(),
            run_dir: self.run_dir,
        }
    }

    /// Measure the probes due after this step and log their results.
    fn run_probes(&mut self, epoch_end: bool) -> anyhow::Result<()> {
        if self.probes.is_empty() {
            return Ok(());
        }
        let last = self.pos.step == self.total_steps;
        let epoch = self.pos.step as f64 / self.steps_per_epoch as f64;
        let mut probes = std::mem::take(&mut self.probes);
        let mut logs = std::mem::take(&mut self.probe_logs);
        let mut events = self.logs.events.take();
        let started = Instant::now();
        let result = (|| {
            let ctx = self.probe_context(self.lr_at(self.pos.step));
            for (probe, log) in probes.iter_mut().zip(logs.iter_mut()) {
                if !probe.spec().due(ctx.step, epoch_end, ctx.epochs_done, last) {
                    continue;
                }
                let name = probe.spec().name.clone();
                match probe.measure(&ctx) {
                    Ok(out) => log.append(ctx.step, epoch, &out, events.as_mut()).with_context(|| format!("logging probe `{name}`"))?,
                    // An instrument that fails does not end the run: the failure is shown and
                    // recorded in probes/<name>.json, and training goes on.
                    Err(e) => {
                        self.console.note(&format!("warning: probe `{name}` failed at step {}: {e:#}; training goes on", ctx.step));
                        log.append_error(ctx.step, epoch, &format!("{e:#}"))?;
                    }
                }
            }
            anyhow::Ok(())
        })();
        self.time.probes_s += started.elapsed().as_secs_f64();
        self.probes = probes;
        self.probe_logs = logs;
        self.logs.events = events;
        result
    }
}
