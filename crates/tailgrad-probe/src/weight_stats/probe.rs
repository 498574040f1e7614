//! `weight-stats`: per layer, a stable-law fit of the weight entries (McCulloch) and the
//! power-law exponent of the eigenvalue spectrum of `W^T W` (Clauset MLE, as WeightWatcher
//! reports), when the layer has enough eigenvalues for a tail fit to mean anything.

use crate::registry::{Instrument, settings};
use crate::weight_stats;
use anyhow::bail;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Fewest eigenvalues in a fitted tail.
    min_tail: usize,
    /// Fewest eigenvalues (the smaller of fan_in and fan_out) for which an ESD fit is attempted:
    /// the 10-wide output layer has 10, too few for a power-law tail.
    min_eigenvalues: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { min_tail: 10, min_eigenvalues: 50 }
    }
}

/// `weight-stats`: each layer's fitted stable law and its eigenvalue spectrum's tail index.
pub const INSTRUMENT: Instrument = Instrument {
    name: "weight-stats",
    about: "each layer's fitted stable law and its eigenvalue spectrum's tail index",
    build: |spec| Ok(Box::new(WeightStatsProbe::new(spec)?)),
    figure: None,
    study_points: None,
};

pub(super) struct WeightStatsProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl WeightStatsProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.min_tail < 3 || s.min_eigenvalues < s.min_tail {
            bail!("config: probe `weight-stats`: need `min_tail` >= 3 and `min_eigenvalues` >= `min_tail`");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for WeightStatsProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let mut scalars = Vec::new();
        let mut layers = Vec::new();
        for (l, layer) in ctx.model.layers.iter().enumerate() {
            let [fan_in, fan_out] = layer.weight.val().dims();
            let w = tailgrad_model::loss::read_f32s(layer.weight.val());
            let entries: Vec<f64> = w.iter().map(|&v| v as f64).collect();
            let fit = weight_stats::mcculloch(&entries);
            if let Some(f) = &fit {
                scalars.extend([(format!("layer{l}/alpha"), f.alpha), (format!("layer{l}/beta"), f.beta), (format!("layer{l}/scale"), f.scale)]);
            }
            let eigenvalues = fan_in.min(fan_out);
            let (spectrum, tail) = if eigenvalues >= self.settings.min_eigenvalues {
                let spectrum = weight_stats::esd(&w, fan_in, fan_out);
                let tail = weight_stats::power_law_fit(&spectrum, self.settings.min_tail);
                (Some(spectrum), tail.map(|t| serde_json::json!(t)))
            } else {
                let why = format!("not fitted: {eigenvalues} eigenvalues, fewer than `min_eigenvalues` = {}", self.settings.min_eigenvalues);
                (None, Some(serde_json::json!(why)))
            };
            if let Some(alpha) = tail.as_ref().and_then(|t| t["alpha"].as_f64()) {
                scalars.push((format!("layer{l}/esd_alpha"), alpha));
            }
            layers.push(serde_json::json!({
                "layer": l,
                "stable_fit": fit,
                "esd_power_law": tail,
                "esd_max": spectrum.as_ref().and_then(|s| s.last()),
            }));
        }
        Ok(ProbeOutput { scalars, record: serde_json::json!({ "layers": layers }) })
    }
}
