//! `gradient-noise`: SGD noise statistics at the current weights ([`crate::gradient_noise`]).

use crate::registry::{Instrument, check_layer, record, settings};
use crate::params::Params;
use anyhow::bail;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Minibatches K.
    batches: usize,
    /// Their size B (0 = the run's batch size).
    batch_size: usize,
    /// The size of the clean and mislabeled groups' minibatches (0 = the run's batch size).
    group_batch_size: usize,
    /// Samples for the per-sample statistics (0 = none).
    per_sample: usize,
    /// One layer's weights (0-based), or all parameters.
    layer: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { batches: 20, batch_size: 0, group_batch_size: 0, per_sample: 512, layer: None }
    }
}

/// `gradient-noise`: SGD noise at the current weights: B_simple, SNR, alignment, per-direction temperature.
pub const INSTRUMENT: Instrument = Instrument {
    name: "gradient-noise",
    about: "SGD noise at the current weights: B_simple, SNR, alignment, per-direction temperature",
    build: |spec| Ok(Box::new(GradientNoise::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

pub(super) struct GradientNoise {
    spec: ProbeSpec,
    settings: Settings,
}

impl GradientNoise {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let settings: Settings = settings(&spec)?;
        if settings.batches < 2 {
            bail!("config: probe `gradient-noise`: `batches` = {} must be >= 2", settings.batches);
        }
        if settings.per_sample == 1 {
            bail!("config: probe `gradient-noise`: `per_sample` must be 0 (off) or >= 2");
        }
        Ok(Self { spec, settings })
    }
}

impl Probe for GradientNoise {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        self.settings.layer.map_or(Ok(()), |l| check_layer("gradient-noise", l, widths, ""))
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let batch_size = if s.batch_size == 0 { ctx.batch_size } else { s.batch_size };
        if 2 * batch_size > ctx.train.len {
            bail!("probe `gradient-noise`: batches of {batch_size} leave fewer than 2 in the {} training samples", ctx.train.len);
        }
        let r = super::measure(
            ctx.model,
            &super::NoiseInput {
                data: ctx.train,
                flipped: ctx.flipped,
                batch_size,
                batches: s.batches,
                group_batch_size: if s.group_batch_size == 0 { ctx.batch_size } else { s.group_batch_size },
                params: Params::from_layer(s.layer),
                directions: &[],
                lr: ctx.lr,
                per_sample: s.per_sample,
                seed: ctx.seed ^ ctx.step,
            },
        );
        let mut scalars = vec![
            ("b_simple".to_string(), r.b_simple),
            ("snr".to_string(), r.snr),
            ("grad_norm_sq".to_string(), r.all.grad_norm_sq),
            ("trace_cov".to_string(), r.all.trace_cov),
            ("alignment".to_string(), r.all.alignment),
            ("amplitude".to_string(), r.all.mean_amplitude),
            ("mean_grad_norm".to_string(), r.all.mean_grad_norm),
            ("per_sample_b_simple".to_string(), r.per_sample_b_simple),
        ];
        for (tag, g) in [("clean", &r.clean), ("mislabeled", &r.mislabeled)] {
            if let Some(g) = g {
                scalars.push((format!("{tag}_alignment"), g.alignment));
                scalars.push((format!("{tag}_amplitude"), g.mean_amplitude));
            }
        }
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}
