//! How a session ends: on a stop request (checkpointed, resumable), or with a summary
//! (finished, collapsed, diverged), its console line and its HParams record.

use super::{Session, SessionEnd};
use crate::outcome::Diverged;
use crate::spec::RunSpec;
use burn::module::Module;
use std::path::Path;
use tailgrad_rundir::tensorboard::{HParam, SessionStatus};
use tailgrad_rundir::{Status, Summary, Timings};

impl Session<'_> {
    pub(super) fn stopped(mut self) -> anyhow::Result<SessionEnd> {
        if let Some(events) = self.logs.events.as_mut() {
            events.flush()?;
        }
        self.console.finish(&format!(
            "{}: stopped on request at step {}, checkpointed; continue with `tailgrad train --resume {}`",
            self.spec.name(),
            self.pos.step,
            self.run_dir.display()
        ));
        Ok(SessionEnd::Stopped { step: self.pos.step })
    }

    /// Write the summary: diverged, collapsed or finished.
    pub(super) fn finish(mut self, diverged: Option<Diverged>) -> anyhow::Result<SessionEnd> {
        let (final_loss, final_acc) = self.last_row.as_ref().map_or((f64::NAN, f64::NAN), |r| (r.test_loss, r.test_acc));
        let collapse = if diverged.is_none() { self.pos.collapse.verdict(final_acc, self.chance) } else { None };
        let status = match (diverged, &collapse) {
            (Some(_), _) => Status::Diverged,
            (None, Some(_)) => Status::Collapsed,
            (None, None) => Status::Finished,
        };
        let wall_s = self.wall();
        let summary = Summary {
            name: self.spec.name().to_string(),
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
            // A session that trained no step (a finished run's summary regenerated) keeps the
            // throughput its last metrics row measured.
            train_samples_per_s: if self.clock.seconds > 0.0 { self.clock.rate() } else { self.last_row.as_ref().and_then(|r| r.samples_per_s).unwrap_or(0.0) },
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

/// The hyperparameters the HParams dashboard shows for a run.
pub(super) fn hparams(spec: &RunSpec, model: &tailgrad_model::MlpSpec) -> Vec<(String, HParam)> {
    let init = model.init();
    let mut v = vec![
        ("law".to_string(), HParam::Text(init.law().name().into())),
        ("sigma_w".into(), HParam::Number(init.sigma_w())),
        ("lr".into(), HParam::Number(spec.train().lr())),
        ("batch_size".into(), HParam::Number(spec.train().batch_size() as f64)),
        ("seed".into(), HParam::Number(spec.seed() as f64)),
        ("width".into(), HParam::Number(model.hidden().iter().copied().max().unwrap_or(0) as f64)),
        ("depth".into(), HParam::Number(model.hidden().len() as f64)),
    ];
    if let Some(alpha) = init.law().tail_index() {
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
