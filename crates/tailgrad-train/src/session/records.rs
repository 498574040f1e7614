//! What a session records as it trains: metrics rows, diagnostics, histograms, checkpoints.

use super::Session;
use crate::checkpoint;
use crate::diagnostics;
use crate::evaluate::evaluate;
use crate::timing::timed;
use burn::module::Module;
use burn::tensor::Tensor;
use std::time::Instant;
use tailgrad_model::loss::read_f32s;
use tailgrad_model::tensors_io::HostTensor;
use tailgrad_rundir::{DiagnosticsRow, MetricRow};

impl Session<'_> {
    pub(super) fn histograms_due(&self) -> bool {
        let every = self.spec.log().histogram_every_epochs as u64;
        self.logs.events.is_some() && every > 0 && (self.pos.epoch + 1) % every == 0
    }

    /// Histograms of each layer's weights and gradient (before the step's update), timed as
    /// logging; returns the seconds spent, for the caller to leave out of the step clock.
    pub(super) fn histograms(&mut self, layers: Vec<(Tensor<2>, Option<Tensor<2>>)>) -> anyhow::Result<f64> {
        let started = Instant::now();
        let step = self.pos.step + 1;
        if let Some(events) = self.logs.events.as_mut() {
            for (l, (w, g)) in layers.into_iter().enumerate() {
                events.histogram(step, &format!("weights/layer{l}"), &read_f32s(w), 60)?;
                if let Some(g) = g {
                    events.histogram(step, &format!("gradients/layer{l}"), &read_f32s(g), 60)?;
                }
            }
        }
        let spent = started.elapsed().as_secs_f64();
        self.time.logging_s += spent;
        Ok(spent)
    }

    /// Evaluate and append a metrics row for the current step.
    pub(super) fn log_row(&mut self) -> anyhow::Result<()> {
        let eval_start = Instant::now();
        let eval_model = self.model.valid();
        let eval_batch = self.spec.train().eval_batch();
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
    pub(super) fn diagnose(&mut self) -> anyhow::Result<()> {
        let Some(x) = self.diagnostic_x.clone() else { return Ok(()) };
        let started = Instant::now();
        let layers = diagnostics::measure(&self.model, &self.model_spec, x);
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
        let hidden_widths = self.model_spec.hidden();
        if let Some(s) = tailgrad_rundir::diagnostics::overall_saturation(&layers, hidden_widths) {
            self.pos.collapse.saturation(self.spec.train().collapse(), self.pos.epoch, s);
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
    pub(super) fn end_epoch(&mut self) -> anyhow::Result<()> {
        self.pos.epoch += 1;
        self.pos.batch = 0;
        self.diagnose()?;
        let target = self.spec.train().stop_at_train_loss();
        let fitted = self.last_row.as_ref().and_then(|r| r.train_loss).is_some_and(|l| l < target);
        if target > 0.0 && fitted && self.pos.step < self.total_steps {
            self.console.note(&format!("{}: training loss below {target} after epoch {}; stopping", self.spec.name(), self.pos.epoch));
            self.total_steps = self.pos.step;
        }
        Ok(())
    }

    pub(super) fn checkpoint(&mut self) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut tensors: Vec<HostTensor> = self.model.to_host();
        tensors.extend(self.velocity.to_host());
        self.pos.wall_s = self.wall();
        self.since_checkpoint = Instant::now();
        checkpoint::save(self.run_dir, &tensors, &self.pos, self.spec.train().keep_checkpoints())?;
        if let Some(events) = self.logs.events.as_mut() {
            events.flush()?;
        }
        self.time.checkpoint_s += start.elapsed().as_secs_f64();
        Ok(())
    }
}
