//! `duality`: the activity-weight duality decomposition of the generalization gap
//! ([`crate::duality`]) in one layer.

use crate::registry::{Instrument, check_layer, record, settings};
use crate::duality::{self, DualitySpec, HessianMode};
use anyhow::bail;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// A layer with a hidden input (>= 1).
    layer: usize,
    /// Test samples (seeded, class-balanced; 0 = all).
    test_samples: usize,
    /// Training samples in the Hessian's loss (0 = all).
    hessian_samples: usize,
    hessian: HessianMode,
    /// Eigenpairs of a `lanczos` Hessian.
    top_k: usize,
    /// HVPs for the complement's second-order term.
    remainder_probes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { layer: 1, test_samples: 2000, hessian_samples: 5000, hessian: HessianMode::Lanczos, top_k: 50, remainder_probes: 20 }
    }
}

/// `duality`: Feng, Zhang & Tu's activity-weight duality: the generalization gap by Hessian direction.
pub const INSTRUMENT: Instrument = Instrument {
    name: "duality",
    about: "Feng, Zhang & Tu's activity-weight duality: the generalization gap by Hessian direction",
    build: |spec| Ok(Box::new(DualityProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

pub(super) struct DualityProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl DualityProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.layer == 0 {
            bail!("config: probe `duality`: `layer` must be >= 1 (a layer whose input is a hidden activity)");
        }
        if s.hessian == HessianMode::Lanczos && s.top_k == 0 {
            bail!("config: probe `duality`: `top_k` must be >= 1");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for DualityProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        check_layer("duality", self.settings.layer, widths, "")
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let spec = DualitySpec {
            layer: s.layer,
            test_samples: s.test_samples,
            hessian_samples: s.hessian_samples,
            hessian: s.hessian,
            top_k: s.top_k,
            remainder_probes: s.remainder_probes,
            seed: ctx.seed,
        };
        let r = duality::decompose(ctx.model, ctx.train, ctx.test, &spec);
        let scalars = vec![
            ("true_gap".into(), r.true_gap),
            ("matched_gap".into(), r.matched_gap),
            ("directions_gap".into(), r.directions_gap),
            ("remainder_gap".into(), r.remainder_gap),
            ("hessian_estimate".into(), r.hessian_estimate),
            ("hessian_remainder_stderr".into(), r.hessian_remainder_stderr),
        ];
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}
