//! `noise-curvature`: SGD's minibatch noise along the Hessian's top eigendirections
//! ([`crate::noise_curvature`]) on a seeded, class-balanced sample of the training set, with the
//! run's own batch size unless set.

use crate::noise_curvature::{self, NoiseCurvatureSpec};
use crate::objective::{NetLoss, minibatch_gradient};
use crate::params::Params;
use crate::registry::{Instrument, balanced_rows, check_layer, record, settings};
use anyhow::bail;
use rand::SeedableRng;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// One layer's weights (0-based), or all parameters.
    layer: Option<usize>,
    /// Training samples n of the loss (its Hessian and the population the batches are drawn from).
    samples: usize,
    top_k: usize,
    lanczos_steps: usize,
    /// Minibatch size B (None: the run's).
    batch_size: Option<usize>,
    /// Minibatches M.
    batches: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { layer: None, samples: 5000, top_k: 10, lanczos_steps: 40, batch_size: None, batches: 200 }
    }
}

/// `noise-curvature`: minibatch-gradient variance along the Hessian's top eigendirections against the eigenvalues.
pub const INSTRUMENT: Instrument = Instrument {
    name: "noise-curvature",
    about: "SGD noise along the Hessian's top eigendirections vs the eigenvalues (Yang, Tang & Tu's anisotropy)",
    build: |spec| Ok(Box::new(NoiseCurvatureProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

struct NoiseCurvatureProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl NoiseCurvatureProbe {
    fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.top_k == 0 || s.lanczos_steps < s.top_k || s.batches < 2 {
            bail!("config: probe `noise-curvature`: need `top_k` >= 1, `lanczos_steps` >= `top_k` and `batches` >= 2 (got {}, {} and {})", s.top_k, s.lanczos_steps, s.batches);
        }
        if s.batch_size == Some(0) || s.samples == 1 {
            bail!("config: probe `noise-curvature`: `batch_size` must be >= 1 and `samples` >= 2 (or 0 = all)");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for NoiseCurvatureProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        self.settings.layer.map_or(Ok(()), |l| check_layer("noise-curvature", l, widths, ""))
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let rows = balanced_rows(ctx.train, s.samples, ctx.seed);
        let batch_size = s.batch_size.unwrap_or(ctx.batch_size);
        if batch_size >= rows.len() {
            bail!("probe `noise-curvature`: batch size {batch_size} must be below the {} samples it is drawn from", rows.len());
        }
        let params = Params::from_layer(s.layer);
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, Some(&rows), params, 10_000);
        let w = obj.point();
        let mut batch_gradient = |picked: &[usize]| minibatch_gradient(ctx.model, ctx.train, &rows, picked, params, &w);
        let spec = NoiseCurvatureSpec { top_k: s.top_k, lanczos_steps: s.lanczos_steps, batch_size, batches: s.batches };
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
        let r = noise_curvature::measure(&mut obj, &w, rows.len(), &mut batch_gradient, &spec, &mut rng);
        let mut scalars = vec![("top_share".to_string(), r.top_share), ("isotropic".into(), r.isotropic)];
        scalars.push(("anisotropy_top1".into(), r.variances.first().map_or(f64::NAN, |v| v / r.isotropic)));
        scalars.push(("alignment_slope".into(), r.alignment.as_ref().map_or(f64::NAN, |f| f.slope)));
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}
