//! `robustness`: test accuracy under Gaussian input noise and under FGSM ([`crate::robustness`])
//! on a seeded, class-balanced sample of `samples` test images.

use crate::registry::{Instrument, balanced_rows, record, settings};
use crate::robustness::{self, Curve};
use anyhow::bail;
use serde::{Deserialize, Serialize};
use tailgrad_model::loss::{read_f32s, read_i64s};
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Test images (0 = all).
    samples: usize,
    /// Noise standard deviations, in the network's (normalized) input units.
    noise_std: Vec<f64>,
    /// FGSM step sizes, in the same units.
    fgsm_eps: Vec<f64>,
    /// Noise draws per image.
    draws: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { samples: 2000, noise_std: vec![0.5, 1.0, 2.0, 4.0], fgsm_eps: vec![0.05, 0.1, 0.2, 0.4], draws: 1 }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct Robustness {
    pub(super) samples: usize,
    pub(super) clean_accuracy: f64,
    pub(super) noise: Curve,
    pub(super) fgsm: Curve,
}

/// `robustness`: test accuracy under Gaussian input noise and FGSM.
pub const INSTRUMENT: Instrument = Instrument {
    name: "robustness",
    about: "test accuracy under Gaussian input noise and FGSM",
    build: |spec| Ok(Box::new(RobustnessProbe::new(spec)?)),
    figure: None,
    study_points: Some(super::figure::study_points),
};

pub(super) struct RobustnessProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl RobustnessProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        let sizes = s.noise_std.iter().chain(&s.fgsm_eps);
        if s.draws == 0 || (s.noise_std.is_empty() && s.fgsm_eps.is_empty()) || sizes.clone().any(|v| !(v.is_finite() && *v >= 0.0)) {
            bail!("config: probe `robustness`: need `draws` >= 1 and finite, non-negative `noise_std` / `fgsm_eps` (not both empty)");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for RobustnessProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let (x, y) = ctx.test.rows(&balanced_rows(ctx.test, s.samples, ctx.seed));
        let (x, y) = (read_f32s(x), read_i64s(y));
        let device = ctx.test.device();
        let clean_accuracy = robustness::gaussian_noise(ctx.model, &x, &y, &device, &[0.0], 1, ctx.seed).points[0].1;
        let r = Robustness {
            samples: y.len(),
            clean_accuracy,
            noise: robustness::gaussian_noise(ctx.model, &x, &y, &device, &s.noise_std, s.draws, ctx.seed),
            fgsm: robustness::fgsm(ctx.model, &x, &y, &device, &s.fgsm_eps),
        };
        let mut scalars = vec![("clean_accuracy".to_string(), r.clean_accuracy)];
        scalars.extend(r.noise.points.iter().map(|(v, a)| (format!("noise_{v}/accuracy"), *a)));
        scalars.extend(r.fgsm.points.iter().map(|(v, a)| (format!("fgsm_{v}/accuracy"), *a)));
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}
