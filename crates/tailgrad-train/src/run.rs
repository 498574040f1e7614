//! One training run, start to finish (or to divergence), in its run directory:
//! `spec.toml`, `metrics.csv`, `events.out.tfevents.*`, `checkpoints/`, `summary.json`.

use crate::checkpoint::{self, Position};
use crate::console::ConsoleOut;
use crate::metrics::{MetricRow, MetricsLog};
use crate::objective::{evaluate, nll_sum_and_correct, read_f32s};
use crate::probe::{Probe, ProbeContext, ProbeLog};
use crate::sgd::Sgd;
use crate::spec::RunSpec;
use crate::tensorboard::EventWriter;
use crate::timing::{Timings, timed};
use anyhow::{Context, bail};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tailgrad_data::{DeviceSplit, EpochOrder};
use tailgrad_model::Mlp;
use tailgrad_model::tensors_io::HostTensor;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Finished,
    Diverged,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub status: Status,
    /// The first step whose training loss was NaN/inf or above `train.max_loss`.
    pub diverged_at_step: Option<u64>,
    pub diverged_loss: Option<f64>,
    pub steps: u64,
    pub epochs: f64,
    pub final_test_loss: f64,
    pub final_test_acc: f64,
    pub best_test_acc: f64,
    pub best_step: u64,
    pub wall_s: f64,
    pub train_samples_per_s: f64,
    pub backend: String,
    pub parameters: usize,
    /// Where this session's wall time went.
    #[serde(default)]
    pub time: Timings,
}

pub fn read_summary(run_dir: &Path) -> anyhow::Result<Summary> {
    let path = run_dir.join("summary.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a tailgrad summary", path.display()))
}

/// The device a run trains on, and how it is described in the summary.
pub struct Backend<'a> {
    pub device: &'a Device,
    pub description: &'a str,
}

/// A run's data on the device and its model spec with sizes taken from the data.
pub struct Prepared {
    pub split: tailgrad_data::Split,
    pub model_spec: tailgrad_model::MlpSpec,
    pub train_set: DeviceSplit,
    pub val_set: Option<DeviceSplit>,
    pub test_set: DeviceSplit,
}

/// Load `spec`'s data once onto `device` and resolve `model.input` / `model.classes` (0 = from
/// the data).
pub fn prepare(spec: &RunSpec, device: &Device) -> anyhow::Result<Prepared> {
    let split = spec.data.load(spec.seed)?;
    let mut model_spec = spec.model.clone();
    if model_spec.input == 0 {
        model_spec.input = split.train.features();
    }
    if model_spec.classes == 0 {
        model_spec.classes = split.train.classes;
    }
    if model_spec.input != split.train.features() {
        bail!("config: `model.input` = {} but {} images have {} values", model_spec.input, split.dataset, split.train.features());
    }
    let upload = |images| DeviceSplit::upload(images, split.dataset, spec.data.normalize, device);
    let train_set = upload(&split.train);
    let val_set = split.validation.as_ref().map(upload);
    let test_set = upload(&split.test);
    Ok(Prepared { split, model_spec, train_set, val_set, test_set })
}

/// Train `spec` in `run_dir`. With `resume`, continue from the newest checkpoint there (the
/// caller passes the spec read back from the run's `spec.toml`). `probes` are the instruments
/// built from `spec.probes` (by tailgrad-probe), measured on their cadence. Returns the summary,
/// which says `diverged` when the divergence guard stopped the run.
pub fn train(
    spec: &RunSpec,
    run_dir: &Path,
    backend: Backend,
    resume: bool,
    probes: &mut [Box<dyn Probe>],
) -> anyhow::Result<Summary> {
    let device = backend.device;
    let t = &spec.train;
    let checkpoint = if resume { checkpoint::latest(run_dir)? } else { None };
    if !resume && run_dir.join("spec.toml").exists() {
        bail!(
            "{} already holds a run; resume it with `tailgrad train --resume {}` or choose another name",
            run_dir.display(),
            run_dir.display()
        );
    }
    std::fs::create_dir_all(run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    tailgrad_model::tensors_io::write_atomically(&run_dir.join("spec.toml"), spec.to_toml().as_bytes())?;
    let _ = std::fs::remove_file(run_dir.join("summary.json"));

    let session = Instant::now();
    let mut time = Timings::default();
    let Prepared { split, model_spec, train_set, val_set, test_set } = timed(&mut time.data_load_s, || prepare(spec, device))?;

    // Model and optimizer, fresh or from the checkpoint.
    let train_device = device.clone().autodiff();
    let mut model = Mlp::init(&model_spec, spec.seed, &train_device)?;
    let mut sgd = Sgd::new(t.momentum, t.weight_decay, model.layers.len());
    let mut pos = Position::default();
    if let Some((tensors, p)) = checkpoint.as_ref() {
        model = model.load_host(tensors).map_err(anyhow::Error::msg).context("checkpoint does not fit the model")?;
        sgd.load_host(tensors, device);
        pos = p.clone();
    } else if resume {
        eprintln!("note: {} has no checkpoint yet; starting from step 0", run_dir.display());
    }

    let steps_per_epoch = train_set.batches(t.batch_size) as u64;
    let total_steps = match (t.epochs as u64 * steps_per_epoch, t.max_steps as u64) {
        (e, 0) => e,
        (0, m) => m,
        (e, m) => e.min(m),
    };
    let (mut metrics, last_row) = MetricsLog::open(&run_dir.join("metrics.csv"), checkpoint.as_ref().map(|c| c.1.step))?;
    let mut events = if spec.log.tensorboard {
        let mut w = EventWriter::create(run_dir, checkpoint.as_ref().map(|c| c.1.step))?;
        w.text(pos.step, "spec", &format!("```toml\n{}\n```", spec.to_toml()))?;
        Some(w)
    } else {
        None
    };
    let resume_step = checkpoint.as_ref().map(|c| c.1.step).or(resume.then_some(0));
    let probe_logs =
        probes.iter().map(|p| ProbeLog::open(run_dir, &p.spec().name, resume_step)).collect::<anyhow::Result<Vec<_>>>()?;
    let flipped = (spec.data.label_noise > 0.0).then_some(split.noise.flipped.as_slice());
    let console = ConsoleOut::new(spec.log.console, &spec.name, total_steps, pos.step);
    let parameters = model.num_params();

    let mut run = Loop {
        spec,
        run_dir,
        metrics: &mut metrics,
        events: events.as_mut(),
        console: &console,
        val_set: val_set.as_ref(),
        test_set: &test_set,
        steps_per_epoch,
        total_steps,
        pos,
        started: Instant::now(),
        window: Window::default(),
        last_row,
        train_time: 0.0,
        train_samples: 0,
        time,
        probes,
        probe_logs,
        flipped,
    };
    let outcome = run.train_loop(&mut model, &mut sgd, &train_set)?;
    let (final_loss, final_acc) = run.last_row.as_ref().map_or((f64::NAN, f64::NAN), |r| (r.test_loss, r.test_acc));
    let wall_s = run.wall();
    let summary = Summary {
        name: spec.name.clone(),
        status: if outcome.is_some() { Status::Diverged } else { Status::Finished },
        diverged_at_step: outcome.map(|d| d.0),
        diverged_loss: outcome.map(|d| d.1),
        steps: run.pos.step,
        epochs: run.pos.step as f64 / steps_per_epoch as f64,
        final_test_loss: final_loss,
        final_test_acc: final_acc,
        best_test_acc: run.pos.best_test_acc,
        best_step: run.pos.best_step,
        wall_s,
        train_samples_per_s: run.train_samples as f64 / run.train_time.max(1e-9),
        backend: backend.description.to_string(),
        parameters,
        time: Timings { train_steps_s: run.train_time, total_s: session.elapsed().as_secs_f64(), ..run.time },
    };
    if let Some(w) = events.as_mut() {
        w.flush()?;
    }
    tailgrad_model::tensors_io::write_atomically(
        &run_dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    console.finish(&match summary.status {
        Status::Finished => format!(
            "{}: finished {} steps, test accuracy {:.2}% (best {:.2}%), {:.1} s",
            spec.name,
            summary.steps,
            100.0 * final_acc,
            100.0 * summary.best_test_acc,
            wall_s
        ),
        Status::Diverged => format!(
            "{}: DIVERGED at step {} (loss {}); logs and the last good checkpoint are kept in {}",
            spec.name,
            summary.diverged_at_step.unwrap_or(0),
            summary.diverged_loss.unwrap_or(f64::NAN),
            run_dir.display()
        ),
    });
    Ok(summary)
}

/// Per-step loss and correct-count tensors not yet read back to the host.
#[derive(Default)]
struct Window {
    losses: Vec<Tensor<1>>,
    corrects: Vec<Tensor<1, Int>>,
    batch_sizes: Vec<usize>,
    /// Host sums since the last metric row.
    loss_sum: f64,
    correct_sum: f64,
    seen: usize,
}

struct Loop<'a> {
    spec: &'a RunSpec,
    run_dir: &'a Path,
    metrics: &'a mut MetricsLog,
    events: Option<&'a mut EventWriter>,
    console: &'a ConsoleOut,
    val_set: Option<&'a DeviceSplit>,
    test_set: &'a DeviceSplit,
    steps_per_epoch: u64,
    total_steps: u64,
    pos: Position,
    started: Instant,
    window: Window,
    last_row: Option<MetricRow>,
    /// Seconds spent in training steps (evaluation excluded) and samples seen, this session.
    train_time: f64,
    train_samples: u64,
    /// The other buckets of this session's time.
    time: Timings,
    probes: &'a mut [Box<dyn Probe>],
    probe_logs: Vec<ProbeLog>,
    flipped: Option<&'a [bool]>,
}

impl<'a> Loop<'a> {
    fn wall(&self) -> f64 {
        self.pos.wall_s + self.started.elapsed().as_secs_f64()
    }

    fn lr(&self) -> f64 {
        let t = &self.spec.train;
        t.schedule.lr(t.lr, self.pos.step.saturating_sub(1) as usize, self.steps_per_epoch as usize, self.total_steps as usize)
    }

    /// Returns `Some((step, loss))` if the run diverged.
    fn train_loop(&mut self, model: &mut Mlp, sgd: &mut Sgd, train_set: &DeviceSplit) -> anyhow::Result<Option<(u64, f64)>> {
        let t = &self.spec.train;
        let device = train_set.device();
        if self.pos.step == 0 {
            self.log_row(model)?;
        }
        let mut segment_start = Instant::now();
        let mut segment_samples = 0usize;
        // Time inside a segment that is not a training step (probe hooks, histograms).
        let mut segment_excluded = 0.0;
        while self.pos.step < self.total_steps {
            let order = timed(&mut self.time.batching_s, || EpochOrder::new(train_set.len, self.spec.seed, self.pos.epoch, &device));
            let batches = train_set.batches(t.batch_size) as u64;
            while self.pos.batch < batches && self.pos.step < self.total_steps {
                let lr = t.schedule.lr(t.lr, self.pos.step as usize, self.steps_per_epoch as usize, self.total_steps as usize);
                if !self.probes.is_empty() {
                    let ctx = self.probe_context(model, train_set, lr);
                    let mut spent = 0.0;
                    timed(&mut spent, || self.probes.iter_mut().try_for_each(|p| p.before_step(&ctx)))?;
                    self.time.probes_s += spent;
                    segment_excluded += spent;
                }
                let (x, y) = timed(&mut self.time.batching_s, || train_set.batch(&order, self.pos.batch as usize, t.batch_size));
                let b = y.dims()[0];
                let (nll, correct) = nll_sum_and_correct(model.forward(x), y);
                let loss = nll.clone().div_scalar(b as f64);
                let grads = loss.backward();
                let last_of_epoch = self.pos.batch + 1 == batches;
                if last_of_epoch && self.histograms_due() {
                    let mut spent = 0.0;
                    timed(&mut spent, || self.histograms(model, &grads))?;
                    self.time.logging_s += spent;
                    segment_excluded += spent;
                }
                sgd.step(model, &grads, lr);
                self.window.losses.push(loss.inner());
                self.window.corrects.push(correct.inner());
                self.window.batch_sizes.push(b);
                self.pos.step += 1;
                self.pos.batch += 1;
                segment_samples += b;
                let eval_due = t.eval_every_steps > 0 && self.pos.step % t.eval_every_steps as u64 == 0;
                let row_due = last_of_epoch || eval_due || self.pos.step == self.total_steps;
                let epochs_done = self.pos.epoch + last_of_epoch as u64;
                let probe_due = self.probes.iter().any(|p| {
                    p.spec().due(self.pos.step, last_of_epoch, epochs_done, self.pos.step == self.total_steps)
                });
                if row_due || probe_due || self.window.losses.len() >= self.spec.log.check_every_steps {
                    if let Some(d) = self.drain_window()? {
                        return Ok(Some(d));
                    }
                    self.train_time += segment_start.elapsed().as_secs_f64() - segment_excluded;
                    self.train_samples += segment_samples as u64;
                    let rate = self.train_samples as f64 / self.train_time.max(1e-9);
                    let w = &self.window;
                    let (loss, acc) = (w.loss_sum / w.seen.max(1) as f64, w.correct_sum / w.seen.max(1) as f64);
                    timed(&mut self.time.logging_s, || self.console.progress(self.pos.step, loss, acc, rate));
                    if row_due {
                        self.log_row(model)?;
                    }
                    if last_of_epoch {
                        self.pos.epoch += 1;
                        self.pos.batch = 0;
                        self.stop_if_fitted();
                    }
                    let mut spent = 0.0;
                    timed(&mut spent, || self.run_probes(model, train_set, last_of_epoch))?;
                    self.time.probes_s += spent;
                    if last_of_epoch || self.pos.step == self.total_steps {
                        self.checkpoint(model, sgd)?;
                    }
                    segment_start = Instant::now();
                    segment_samples = 0;
                    segment_excluded = 0.0;
                    if last_of_epoch {
                        break; // the next epoch draws its own order
                    }
                }
            }
        }
        Ok(None)
    }

    /// `train.stop_at_train_loss`: end the run after an epoch whose mean training loss fell below it.
    fn stop_if_fitted(&mut self) {
        let target = self.spec.train.stop_at_train_loss;
        let fitted = self.last_row.as_ref().and_then(|r| r.train_loss).is_some_and(|l| l < target);
        if target > 0.0 && fitted && self.pos.step < self.total_steps {
            self.console.note(&format!("{}: training loss below {target} after epoch {}; stopping", self.spec.name, self.pos.epoch));
            self.total_steps = self.pos.step;
        }
    }

    /// What the probes see now (borrows nothing from `self` beyond the call).
    fn probe_context<'c>(&self, model: &'c Mlp, train_set: &'c DeviceSplit, lr: f64) -> ProbeContext<'c>
    where
        'a: 'c,
    {
        ProbeContext {
            model,
            train: train_set,
            test: self.test_set,
            flipped: self.flipped,
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
    fn run_probes(&mut self, model: &Mlp, train_set: &DeviceSplit, epoch_end: bool) -> anyhow::Result<()> {
        let last = self.pos.step == self.total_steps;
        let epoch = self.pos.step as f64 / self.steps_per_epoch as f64;
        let ctx = self.probe_context(model, train_set, self.lr());
        for (probe, log) in self.probes.iter_mut().zip(self.probe_logs.iter_mut()) {
            if !probe.spec().due(ctx.step, epoch_end, ctx.epochs_done, last) {
                continue;
            }
            let name = probe.spec().name.clone();
            probe
                .measure(&ctx)
                .and_then(|out| log.append(ctx.step, epoch, &out, self.events.as_deref_mut()))
                .with_context(|| format!("probe `{name}` at step {}", ctx.step))?;
        }
        Ok(())
    }

    fn histograms_due(&self) -> bool {
        let every = self.spec.log.histogram_every_epochs as u64;
        self.events.is_some() && every > 0 && (self.pos.epoch + 1) % every == 0
    }

    fn histograms(&mut self, model: &Mlp, grads: &burn::tensor::Gradients) -> anyhow::Result<()> {
        let step = self.pos.step + 1;
        let Some(events) = self.events.as_deref_mut() else { return Ok(()) };
        for (l, layer) in model.layers.iter().enumerate() {
            let w = layer.weight.val();
            events.histogram(step, &format!("weights/layer{l}"), &read_f32s(w.clone().inner()), 60)?;
            if let Some(g) = w.grad(grads) {
                events.histogram(step, &format!("gradients/layer{l}"), &read_f32s(g), 60)?;
            }
        }
        Ok(())
    }

    /// Read the pending per-step losses; stop at the first non-finite or too-large one.
    fn drain_window(&mut self) -> anyhow::Result<Option<(u64, f64)>> {
        if self.window.losses.is_empty() {
            return Ok(None);
        }
        let losses = read_f32s(Tensor::cat(std::mem::take(&mut self.window.losses), 0));
        let corrects: Vec<i64> =
            Tensor::cat(std::mem::take(&mut self.window.corrects), 0).into_data().convert::<i64>().try_to_vec().expect("ints");
        let sizes = std::mem::take(&mut self.window.batch_sizes);
        let first_step = self.pos.step - losses.len() as u64 + 1;
        for (k, (&loss, &b)) in losses.iter().zip(&sizes).enumerate() {
            let loss = loss as f64;
            if !loss.is_finite() || loss > self.spec.train.max_loss {
                self.pos.step = first_step + k as u64 - 1;
                return Ok(Some((first_step + k as u64, loss)));
            }
            self.window.loss_sum += loss * b as f64;
            self.window.correct_sum += corrects[k] as f64;
            self.window.seen += b;
        }
        Ok(None)
    }

    fn log_row(&mut self, model: &Mlp) -> anyhow::Result<()> {
        let eval_start = Instant::now();
        let eval_model = model.valid();
        let eval_batch = self.spec.train.eval_batch;
        let (test_loss, test_acc) = evaluate(&eval_model, self.test_set, eval_batch);
        let (val_loss, val_acc) = match self.val_set {
            Some(v) => {
                let (l, a) = evaluate(&eval_model, v, eval_batch);
                (Some(l), Some(a))
            }
            None => (None, None),
        };
        self.time.eval_s += eval_start.elapsed().as_secs_f64();
        self.time.eval_samples += (self.test_set.len + self.val_set.map_or(0, |v| v.len)) as u64;
        let w = std::mem::take(&mut self.window);
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
            lr: self.lr(),
            samples_per_s: (self.train_time > 0.0).then(|| self.train_samples as f64 / self.train_time),
            wall_s: self.wall(),
        };
        if test_acc > self.pos.best_test_acc || self.pos.step == 0 {
            self.pos.best_test_acc = test_acc;
            self.pos.best_step = self.pos.step;
            timed(&mut self.time.checkpoint_s, || checkpoint::save_best(self.run_dir, &model.to_host(), &self.pos))?;
        }
        let logging_start = Instant::now();
        self.metrics.append(&row)?;
        if let Some(events) = self.events.as_deref_mut() {
            events.scalars(row.step, &row.scalars())?;
            events.flush()?;
        }
        self.console.row(&row);
        self.last_row = Some(row);
        self.time.logging_s += logging_start.elapsed().as_secs_f64();
        Ok(())
    }

    fn checkpoint(&mut self, model: &Mlp, sgd: &Sgd) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut tensors: Vec<HostTensor> = model.to_host();
        tensors.extend(sgd.to_host());
        self.pos.wall_s = self.wall();
        self.started = Instant::now();
        checkpoint::save(self.run_dir, &tensors, &self.pos, self.spec.train.keep_checkpoints)?;
        self.time.checkpoint_s += start.elapsed().as_secs_f64();
        Ok(())
    }
}
