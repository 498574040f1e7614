//! The training loop of one session: SGD steps, and at read-back boundaries the divergence
//! check, metrics rows, the end of an epoch (diagnostics, collapse evidence, early stop),
//! instruments, checkpoints and stop requests.

use crate::checkpoint::{self, Position};
use crate::console::ConsoleOut;
use crate::diagnostics;
use crate::evaluate::evaluate;
use crate::outcome::{Diverged, chance_threshold};
use crate::probe::{Probe, ProbeContext, ProbeLog};
use crate::run::{Prepared, TrainOptions};
use crate::sgd::Sgd;
use crate::spec::RunSpec;
use crate::stop::StopFlag;
use crate::timing::{StepClock, timed};
use anyhow::Context;
use burn::module::Module;
use burn::tensor::{Int, Tensor};
use std::path::Path;
use std::time::Instant;
use tailgrad_data::{DeviceSplit, EpochOrder};
use tailgrad_model::Mlp;
use tailgrad_model::objective::{nll_sum_and_correct, read_f32s, read_i64s};
use tailgrad_model::tensors_io::HostTensor;
use tailgrad_rundir::csvlog::Log;
use tailgrad_rundir::tensorboard::{EventWriter, HParam, SessionStatus};
use tailgrad_rundir::{DiagnosticsRow, LayerDiagnostics, MetricRow, Status, StepRow, Summary, Timings, diagnostics as diag_file};
use tailgrad_rundir::{metrics as metrics_file, steps as steps_file};

/// How a session ended.
pub(crate) enum SessionEnd {
    Completed(Summary),
    Stopped { step: u64 },
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
    model: Mlp,
    sgd: Sgd,
    logs: Logs,
    console: ConsoleOut,
    probes: Vec<Box<dyn Probe>>,
    probe_logs: Vec<ProbeLog>,
    stop: StopFlag,
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
    /// Open the logs (fresh, or cut back to the checkpoint's step) and get ready to train.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open(
        spec: &'a RunSpec,
        run_dir: &'a Path,
        data: &'a Prepared,
        model: Mlp,
        sgd: Sgd,
        position: Option<Position>,
        time: Timings,
        started: Instant,
        options: TrainOptions,
    ) -> anyhow::Result<Self> {
        let t = &spec.train;
        let steps_per_epoch = data.train_set.batches(t.batch_size) as u64;
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
        let steps = if spec.log.step_losses { Some(open_log::<StepRow>(run_dir, steps_file::FILE, resume_step)?) } else { None };
        let diagnostics = if spec.log.diagnostics_samples > 0 {
            Some(open_log::<DiagnosticsRow>(run_dir, diag_file::FILE, resume_step)?)
        } else {
            None
        };
        let events = if spec.log.tensorboard {
            // A resumed session tells TensorBoard to drop what earlier files logged after the
            // checkpoint (or everything, when there was no checkpoint).
            let restart = options.resume.then(|| resume_step.map_or(0, |s| s + 1));
            let mut w = EventWriter::create(run_dir, restart).with_context(|| format!("creating event file in {}", run_dir.display()))?;
            let step = resume_step.unwrap_or(0);
            w.text(step, "spec", &format!("```toml\n{}\n```", spec.to_toml()))?;
            w.hparams_session_start(&hparams(spec, &data.model_spec), "")?;
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
        let console = ConsoleOut::new(spec.log.console, &spec.name, planned_steps, pos.step);
        let diagnostic_x = (spec.log.diagnostics_samples > 0).then(|| {
            let labels = &data.split.train.labels;
            let idx: Vec<i64> = tailgrad_data::balanced_sample(labels, data.split.train.classes, spec.log.diagnostics_samples, spec.seed)
                .into_iter()
                .map(|i| i as i64)
                .collect();
            data.train_set.rows(&idx).0
        });
        let chance = chance_threshold(&t.collapse, data.model_spec.classes);
        let initial_diagnostics = diag_rows_at(run_dir, spec, 0);
        let final_diagnostics = resume_step.map(|s| diag_rows_at(run_dir, spec, s)).unwrap_or_default();
        Ok(Self {
            spec,
            run_dir,
            data,
            model,
            sgd,
            logs: Logs { metrics, steps, diagnostics, events },
            console,
            probes: options.probes,
            probe_logs,
            stop: options.stop,
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

    fn wall(&self) -> f64 {
        self.pos.wall_s + self.since_checkpoint.elapsed().as_secs_f64()
    }

    fn train_set(&self) -> &'a DeviceSplit {
        &self.data.train_set
    }

    /// The learning rate of the step taken from position `step`.
    fn lr_at(&self, step: u64) -> f64 {
        self.spec.train.lr_at(step, self.steps_per_epoch, self.planned_steps)
    }

    /// Train to the end of the budget, to divergence, or to a stop request.
    pub(crate) fn run(mut self) -> anyhow::Result<SessionEnd> {
        if self.pos.step == 0 {
            self.log_row()?;
            self.diagnose()?;
        }
        let batches = self.train_set().batches(self.spec.train.batch_size) as u64;
        self.clock.restart();
        'epochs: while self.pos.step < self.total_steps {
            let order = timed(&mut self.time.batching_s, || {
                EpochOrder::new(self.data.train_set.len, self.spec.seed, self.pos.epoch, &self.data.train_set.device())
            });
            while self.pos.batch < batches && self.pos.step < self.total_steps {
                let last_of_epoch = self.pos.batch + 1 == batches;
                self.step(&order, last_of_epoch)?;
                let eval_due = self.spec.train.eval_every_steps > 0 && self.pos.step % self.spec.train.eval_every_steps as u64 == 0;
                let row_due = last_of_epoch || eval_due || self.pos.step == self.total_steps;
                let epochs_done = self.pos.epoch + last_of_epoch as u64;
                let last = self.pos.step == self.total_steps;
                let probe_due = self.probes.iter().any(|p| p.spec().due(self.pos.step, last_of_epoch, epochs_done, last));
                let stopping = self.stop.requested();
                if !(row_due || probe_due || stopping || self.pending.losses.len() >= self.spec.log.check_every_steps) {
                    continue;
                }
                if let Some(d) = self.read_back()? {
                    return self.finish(Some(d));
                }
                if row_due {
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
                if stopping {
                    return self.stopped();
                }
                if last_of_epoch {
                    continue 'epochs; // the next epoch draws its own order
                }
            }
        }
        self.finish(None)
    }

    /// One SGD step on the next batch of `order`.
    fn step(&mut self, order: &EpochOrder, last_of_epoch: bool) -> anyhow::Result<()> {
        let t = &self.spec.train;
        let lr = self.lr_at(self.pos.step);
        if !self.probes.is_empty() {
            let mut probes = std::mem::take(&mut self.probes);
            let mut spent = 0.0;
            let result = timed(&mut spent, || {
                let ctx = self.probe_context(lr);
                probes.iter_mut().try_for_each(|p| p.before_step(&ctx))
            });
            self.probes = probes;
            result?;
            self.time.probes_s += spent;
            self.clock.exclude(spent);
        }
        let train_set = self.train_set();
        let (x, y) = timed(&mut self.time.batching_s, || train_set.batch(order, self.pos.batch as usize, t.batch_size));
        let b = y.dims()[0];
        let (nll, correct) = nll_sum_and_correct(self.model.forward(x), y);
        let loss = nll.div_scalar(b as f64);
        let grads = loss.backward();
        if last_of_epoch && self.histograms_due() {
            let mut spent = 0.0;
            timed(&mut spent, || self.histograms(&grads))?;
            self.time.logging_s += spent;
            self.clock.exclude(spent);
        }
        self.sgd.step(&mut self.model, &grads, lr);
        self.pending.losses.push(loss.inner());
        self.pending.corrects.push(correct.inner());
        self.pending.batch_sizes.push(b);
        self.pos.step += 1;
        self.pos.batch += 1;
        self.clock.add_samples(b);
        Ok(())
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
            if !loss.is_finite() || loss > self.spec.train.max_loss {
                diverged = Some(Diverged { step, loss });
                break;
            }
            self.pos.collapse.step_loss(&self.spec.train.collapse, step, loss);
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
            flipped: (self.spec.data.label_noise > 0.0).then_some(self.data.split.noise.flipped.as_slice()),
            step: self.pos.step,
            epochs_done: self.pos.epoch,
            total_steps: self.total_steps,
            lr,
            batch_size: self.spec.train.batch_size,
            seed: self.spec.seed,
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

    fn histograms_due(&self) -> bool {
        let every = self.spec.log.histogram_every_epochs as u64;
        self.logs.events.is_some() && every > 0 && (self.pos.epoch + 1) % every == 0
    }

    fn histograms(&mut self, grads: &burn::tensor::Gradients) -> anyhow::Result<()> {
        let step = self.pos.step + 1;
        let Some(events) = self.logs.events.as_mut() else { return Ok(()) };
        for (l, layer) in self.model.layers.iter().enumerate() {
            let w = layer.weight.val();
            events.histogram(step, &format!("weights/layer{l}"), &read_f32s(w.clone().inner()), 60)?;
            if let Some(g) = w.grad(grads) {
                events.histogram(step, &format!("gradients/layer{l}"), &read_f32s(g), 60)?;
            }
        }
        Ok(())
    }

    /// Evaluate and append a metrics row for the current step.
    fn log_row(&mut self) -> anyhow::Result<()> {
        let eval_start = Instant::now();
        let eval_model = self.model.valid();
        let eval_batch = self.spec.train.eval_batch;
        let (test_loss, test_acc) = evaluate(&eval_model, &self.data.test_set, eval_batch);
        let (val_loss, val_acc) = match &self.data.val_set {
            Some(v) => {
                let (l, a) = evaluate(&eval_model, v, eval_batch);
                (Some(l), Some(a))
            }
            None => (None, None),
        };
        self.time.eval_s += eval_start.elapsed().as_secs_f64();
        self.time.eval_samples += (self.data.test_set.len + self.data.val_set.as_ref().map_or(0, |v| v.len)) as u64;
        let w = std::mem::take(&mut self.pos.window);
        let seen = (w.seen > 0).then_some(w.seen as f64);
        let row = MetricRow {
            step: self.pos.step,
            epoch: self.pos.step as f64 / self.steps_per_epoch as f64,
            train_loss: seen.map(|n| w.loss_sum / n),
            train_acc: seen.map(|n| w.correct_sum / n),
            val_loss,
            val_acc,
            test_loss,
            test_acc,
            lr: self.lr_at(self.pos.step.saturating_sub(1)),
            samples_per_s: (self.clock.seconds > 0.0).then(|| self.clock.rate()),
            wall_s: self.wall(),
        };
        self.pos.collapse.evaluation(row.step, test_acc, self.chance);
        if test_acc > self.pos.best_test_acc || self.pos.step == 0 {
            self.pos.best_test_acc = test_acc;
            self.pos.best_step = self.pos.step;
            let tensors = self.model.to_host();
            timed(&mut self.time.checkpoint_s, || checkpoint::save_best(self.run_dir, &tensors, &self.pos))?;
        }
        let logging = Instant::now();
        self.logs.metrics.append(std::slice::from_ref(&row))?;
        if let Some(events) = self.logs.events.as_mut() {
            events.scalars(row.step, &row.scalars())?;
            events.flush()?;
        }
        self.console.row(&row);
        self.last_row = Some(row);
        self.time.logging_s += logging.elapsed().as_secs_f64();
        Ok(())
    }

    /// Diagnostics of the current weights on the fixed batch: logged, and fed to the collapse
    /// watch at epoch boundaries.
    fn diagnose(&mut self) -> anyhow::Result<()> {
        let Some(x) = self.diagnostic_x.clone() else { return Ok(()) };
        let started = Instant::now();
        let layers = diagnostics::measure(&self.model, &self.data.model_spec, x);
        let epoch = self.pos.step as f64 / self.steps_per_epoch as f64;
        let rows: Vec<DiagnosticsRow> = layers.iter().map(|d| DiagnosticsRow::new(self.pos.step, epoch, d)).collect();
        if let Some(log) = self.logs.diagnostics.as_mut() {
            log.append(&rows)?;
        }
        if let Some(events) = self.logs.events.as_mut() {
            let scalars = diagnostics::scalars(&layers);
            let refs: Vec<(&str, f64)> = scalars.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            events.scalars(self.pos.step, &refs)?;
        }
        let hidden_widths = &self.data.model_spec.hidden;
        if let Some(s) = tailgrad_rundir::diagnostics::overall_saturation(&layers, hidden_widths) {
            self.pos.collapse.saturation(&self.spec.train.collapse, self.pos.epoch, s);
        }
        if self.pos.step == 0 {
            self.initial_diagnostics = layers.clone();
        }
        self.final_diagnostics = layers;
        self.time.logging_s += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// After an epoch's last step: count it, diagnose, and stop early if the training loss is
    /// already low enough (`train.stop_at_train_loss`).
    fn end_epoch(&mut self) -> anyhow::Result<()> {
        self.pos.epoch += 1;
        self.pos.batch = 0;
        self.diagnose()?;
        let target = self.spec.train.stop_at_train_loss;
        let fitted = self.last_row.as_ref().and_then(|r| r.train_loss).is_some_and(|l| l < target);
        if target > 0.0 && fitted && self.pos.step < self.total_steps {
            self.console.note(&format!("{}: training loss below {target} after epoch {}; stopping", self.spec.name, self.pos.epoch));
            self.total_steps = self.pos.step;
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut tensors: Vec<HostTensor> = self.model.to_host();
        tensors.extend(self.sgd.to_host());
        self.pos.wall_s = self.wall();
        self.since_checkpoint = Instant::now();
        checkpoint::save(self.run_dir, &tensors, &self.pos, self.spec.train.keep_checkpoints)?;
        if let Some(events) = self.logs.events.as_mut() {
            events.flush()?;
        }
        self.time.checkpoint_s += start.elapsed().as_secs_f64();
        Ok(())
    }

    fn stopped(mut self) -> anyhow::Result<SessionEnd> {
        if let Some(events) = self.logs.events.as_mut() {
            events.flush()?;
        }
        self.console.finish(&format!(
            "{}: stopped on request at step {}, checkpointed; continue with `tailgrad train --resume {}`",
            self.spec.name,
            self.pos.step,
            self.run_dir.display()
        ));
        Ok(SessionEnd::Stopped { step: self.pos.step })
    }

    /// Write the summary: diverged, collapsed or finished.
    fn finish(mut self, diverged: Option<Diverged>) -> anyhow::Result<SessionEnd> {
        let (final_loss, final_acc) = self.last_row.as_ref().map_or((f64::NAN, f64::NAN), |r| (r.test_loss, r.test_acc));
        let collapse = if diverged.is_none() { self.pos.collapse.verdict(final_acc, self.chance) } else { None };
        let status = match (diverged, &collapse) {
            (Some(_), _) => Status::Diverged,
            (None, Some(_)) => Status::Collapsed,
            (None, None) => Status::Finished,
        };
        let wall_s = self.wall();
        let summary = Summary {
            name: self.spec.name.clone(),
            status,
            diverged_at_step: diverged.map(|d| d.step),
            diverged_loss: diverged.map(|d| d.loss),
            collapse,
            steps: self.pos.step,
            epochs: self.pos.step as f64 / self.steps_per_epoch as f64,
            final_test_loss: final_loss,
            final_test_acc: final_acc,
            best_test_acc: self.pos.best_test_acc,
            best_step: self.pos.best_step,
            wall_s,
            train_samples_per_s: self.clock.rate(),
            backend: self.description.clone(),
            parameters: self.model.num_params(),
            time: Timings { train_steps_s: self.clock.seconds, total_s: self.started.elapsed().as_secs_f64(), ..self.time.clone() },
            initial_diagnostics: std::mem::take(&mut self.initial_diagnostics),
            final_diagnostics: std::mem::take(&mut self.final_diagnostics),
        };
        if let Some(w) = self.logs.events.as_mut() {
            w.hparams_session_end(if status == Status::Finished { SessionStatus::Success } else { SessionStatus::Failure })?;
            w.flush()?;
        }
        summary.write(self.run_dir)?;
        self.console.finish(&ending(&summary, self.run_dir));
        Ok(SessionEnd::Completed(summary))
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
    if spec.log.diagnostics_samples == 0 {
        return Vec::new();
    }
    diag_file::read_rows(run_dir).map(|rows| rows.iter().filter(|r| r.step == step).map(|r| r.layer_diagnostics()).collect()).unwrap_or_default()
}

/// The hyperparameters the HParams dashboard shows for a run.
fn hparams(spec: &RunSpec, model: &tailgrad_model::MlpSpec) -> Vec<(String, HParam)> {
    use tailgrad_init::Law;
    let init = &model.init;
    let (law, alpha) = match init.law {
        Law::Stable { alpha, .. } => ("stable", alpha),
        Law::Cauchy => ("cauchy", 1.0),
        Law::Gaussian => ("gaussian", 2.0),
        Law::StudentT { nu } => ("student-t", nu.min(2.0)),
        Law::Uniform => ("uniform", f64::NAN),
        Law::Xavier => ("xavier", 2.0),
        Law::He => ("he", 2.0),
    };
    let mut v = vec![
        ("law".to_string(), HParam::Text(law.into())),
        ("sigma_w".into(), HParam::Number(init.sigma_w)),
        ("lr".into(), HParam::Number(spec.train.lr)),
        ("batch_size".into(), HParam::Number(spec.train.batch_size as f64)),
        ("seed".into(), HParam::Number(spec.seed as f64)),
        ("width".into(), HParam::Number(model.hidden.iter().copied().max().unwrap_or(0) as f64)),
        ("depth".into(), HParam::Number(model.hidden.len() as f64)),
    ];
    if alpha.is_finite() {
        v.push(("alpha".into(), HParam::Number(alpha)));
    }
    v
}

/// The console's last line for a run.
fn ending(s: &Summary, run_dir: &Path) -> String {
    match s.status {
        Status::Finished => format!(
            "{}: finished {} steps, test accuracy {:.2}% (best {:.2}%), {:.1} s",
            s.name,
            s.steps,
            100.0 * s.final_test_acc,
            100.0 * s.best_test_acc,
            s.wall_s
        ),
        Status::Collapsed => {
            let c = s.collapse.as_ref().expect("a collapsed run has its evidence");
            let spike = c.spike_step.map_or(String::new(), |st| format!(" after a loss spike at step {st} (loss {:.3e})", c.spike_loss.unwrap_or(f64::NAN)));
            format!(
                "{}: COLLAPSED: trained {} steps but ended at chance, test accuracy {:.2}%{spike}; see {}/diagnostics.csv",
                s.name,
                s.steps,
                100.0 * s.final_test_acc,
                run_dir.display()
            )
        }
        Status::Diverged => format!(
            "{}: DIVERGED at step {} (loss {}); logs and the last good checkpoint are kept in {}",
            s.name,
            s.diverged_at_step.unwrap_or(0),
            s.diverged_loss.unwrap_or(f64::NAN),
            run_dir.display()
        ),
    }
}
