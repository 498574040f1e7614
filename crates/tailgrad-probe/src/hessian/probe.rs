//! `hessian`: the spectrum of the training-loss Hessian ([`crate::hessian`]) on a seeded,
//! class-balanced sample of the training set.

use crate::registry::{Instrument, balanced_rows, check_layer, record, settings};
use crate::hessian;
use crate::objective::NetLoss;
use crate::params::Params;
use anyhow::bail;
use rand::SeedableRng;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// One layer's weights (0-based), or all parameters.
    layer: Option<usize>,
    /// Training samples in the loss (0 = all).
    samples: usize,
    top_k: usize,
    lanczos_steps: usize,
    hutchinson_probes: usize,
    slq_probes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { layer: None, samples: 5000, top_k: 5, lanczos_steps: 30, hutchinson_probes: 20, slq_probes: 3 }
    }
}

/// `hessian`: the training-loss Hessian: top eigenvalues (Lanczos), trace (Hutchinson), spectral density (SLQ).
pub const INSTRUMENT: Instrument = Instrument {
    name: "hessian",
    about: "the training-loss Hessian: top eigenvalues (Lanczos), trace (Hutchinson), spectral density (SLQ)",
    build: |spec| Ok(Box::new(HessianProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

pub(super) struct HessianProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl HessianProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.top_k == 0 || s.lanczos_steps < s.top_k {
            bail!("config: probe `hessian`: need `top_k` >= 1 and `lanczos_steps` >= `top_k` (got {} and {})", s.top_k, s.lanczos_steps);
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for HessianProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        self.settings.layer.map_or(Ok(()), |l| check_layer("hessian", l, widths, ""))
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let rows = balanced_rows(ctx.train, s.samples, ctx.seed);
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, Some(&rows), Params::from_layer(s.layer), 10_000);
        let w = obj.point();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
        let settings = hessian::SpectrumSpec {
            top_k: s.top_k,
            lanczos_steps: s.lanczos_steps,
            hutchinson_probes: s.hutchinson_probes,
            slq_probes: s.slq_probes,
        };
        let spec = hessian::spectrum(&mut obj, &w, &settings, &mut rng);
        let mut scalars: Vec<(String, f64)> = spec.top.iter().enumerate().map(|(i, v)| (format!("top{}", i + 1), *v)).collect();
        scalars.push(("trace".into(), spec.trace));
        Ok(ProbeOutput { scalars, record: record(&spec) })
    }
}
