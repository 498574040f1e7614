//! `sgd-drift`: from the run's current weights (a converged net), continue with full-batch GD and
//! with SGD at every (lr, batch size) of the settings, on a seeded, class-balanced sample of the
//! training set, tracking loss, `tr H` and `lambda_max` ([`super::drift`]). The run's own weights
//! are not changed.

use super::drift::{self, Continuation, DriftSpec, Setting};
use crate::hessian::SpectrumSpec;
use crate::objective::{NetLoss, minibatch_gradient};
use crate::params::Params;
use crate::registry::{Instrument, balanced_rows, record, settings};
use anyhow::bail;
use rand::SeedableRng;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Training samples n the continuations train on (0 = all).
    samples: usize,
    /// Learning rates (empty: the run's).
    lr: Vec<f64>,
    /// SGD batch sizes, each continued at every learning rate (empty: the run's).
    batch_sizes: Vec<usize>,
    /// Also continue with full-batch GD at every learning rate.
    full_batch: bool,
    steps: usize,
    /// Record every this many steps.
    every: usize,
    lanczos_steps: usize,
    hutchinson_probes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { samples: 5000, lr: vec![], batch_sizes: vec![], full_batch: true, steps: 2000, every: 200, lanczos_steps: 20, hutchinson_probes: 10 }
    }
}

/// `sgd-drift`: GD vs SGD continued from the current weights: the drift of tr H and lambda_max at equal loss.
pub const INSTRUMENT: Instrument = Instrument {
    name: "sgd-drift",
    about: "GD vs SGD at several lr/B continued from the current weights: loss, tr H and lambda_max (Yang, Tang & Tu's drift to flat minima)",
    build: |spec| Ok(Box::new(DriftProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

struct DriftProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl DriftProbe {
    fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.steps == 0 || s.every == 0 || s.lanczos_steps == 0 || s.hutchinson_probes < 2 {
            bail!("config: probe `sgd-drift`: need `steps`, `every` and `lanczos_steps` >= 1 and `hutchinson_probes` >= 2");
        }
        if s.lr.iter().any(|&l| !(l > 0.0)) || s.batch_sizes.contains(&0) {
            bail!("config: probe `sgd-drift`: every `lr` must be > 0 and every batch size >= 1 (got {:?} and {:?})", s.lr, s.batch_sizes);
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for DriftProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let rows = balanced_rows(ctx.train, s.samples, ctx.seed);
        let lrs = if s.lr.is_empty() { vec![ctx.lr] } else { s.lr.clone() };
        let sizes = if s.batch_sizes.is_empty() { vec![ctx.batch_size] } else { s.batch_sizes.clone() };
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, Some(&rows), Params::All, 10_000);
        let w0 = obj.point();
        let mut batch_gradient = |w: &[f64], picked: &[usize]| minibatch_gradient(ctx.model, ctx.train, &rows, picked, Params::All, w);
        let spec = DriftSpec {
            steps: s.steps,
            every: s.every,
            spectrum: SpectrumSpec { top_k: 1, lanczos_steps: s.lanczos_steps, hutchinson_probes: s.hutchinson_probes, slq_probes: 0 },
        };
        let mut runs: Vec<Continuation> = Vec::new();
        let mut scalars = Vec::new();
        for &lr in &lrs {
            let batch_sizes = sizes.iter().copied().chain(s.full_batch.then_some(rows.len()));
            for b in batch_sizes {
                let setting = Setting { lr, batch_size: b };
                let mut batches = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step ^ 0xd71f7);
                let mut probes = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
                let c = drift::continue_from(&mut obj, &mut batch_gradient, &w0, rows.len(), setting, &spec, &mut batches, &mut probes);
                let last = c.points.last().expect("the starting record");
                let tag = if c.full_batch { format!("lr{lr}_gd") } else { format!("lr{lr}_b{b}") };
                scalars.push((format!("trace_ratio_{tag}"), last.trace / c.points[0].trace));
                scalars.push((format!("loss_{tag}"), last.loss));
                runs.push(c);
            }
        }
        Ok(ProbeOutput { scalars, record: record(&runs) })
    }
}
