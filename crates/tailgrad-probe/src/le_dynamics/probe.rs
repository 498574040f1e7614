//! `le-dynamics`: the class-mean logits of a fixed, seeded, class-balanced set of training samples,
//! recorded at every measurement (schedule it with `every_steps`); A(t) and B(t) of the LE-ODE
//! ([`crate::le_dynamics`]) relative to this session's first measurement as scalars, and over the
//! whole log in the figure.

use super::{ClassMeans, impacts};
use crate::registry::{Instrument, balanced_rows, record, settings};
use anyhow::bail;
use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use tailgrad_data::RowBlocks;
use serde::Deserialize;
use tailgrad_model::loss::{read_f32s, read_i64s};
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Tracked training samples (class-balanced).
    samples: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { samples: 200 }
    }
}

/// `le-dynamics`: class-mean logits over training and the LE-ODE's integrated intra-/inter-class impacts.
pub const INSTRUMENT: Instrument = Instrument {
    name: "le-dynamics",
    about: "class-mean logits during training and the LE-ODE's integrated intra-/inter-class impacts A(t), B(t) (Zhang, Wang & Su)",
    build: |spec| Ok(Box::new(DynamicsProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

struct DynamicsProbe {
    spec: ProbeSpec,
    settings: Settings,
    /// This session's first record: t = 0 of the scalars.
    start: Option<ClassMeans>,
    /// The tracked samples (drawn at the first measurement) and their labels.
    tracked: Option<(RowBlocks, Vec<i64>)>,
}

impl DynamicsProbe {
    fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.samples < 2 {
            bail!("config: probe `le-dynamics`: `samples` = {} must be >= 2", s.samples);
        }
        Ok(Self { spec, settings: s, start: None, tracked: None })
    }
}

impl Probe for DynamicsProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let samples = self.settings.samples;
        let (x, labels) = self.tracked.get_or_insert_with(|| {
            let rows = balanced_rows(ctx.train, samples, ctx.seed ^ 0x1e_d7);
            let idx = Tensor::<1, Int>::from_data(TensorData::new(rows.clone(), [rows.len()]), &ctx.train.y.device());
            (ctx.train.x.gather(&rows), read_i64s(ctx.train.y.clone().select(0, idx)))
        });
        let labels = labels.clone();
        let model = ctx.model.valid();
        let mut logits: Vec<f32> = Vec::new();
        for (_, block) in x.blocks() {
            logits.extend(read_f32s(model.forward(block.clone())));
        }
        let outputs = logits.len() / labels.len();
        let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1).min(outputs);
        let mut sums = vec![vec![0.0; outputs]; classes];
        let mut counts = vec![0usize; classes];
        for (i, &l) in labels.iter().enumerate() {
            let k = (l as usize).min(classes - 1);
            counts[k] += 1;
            sums[k].iter_mut().zip(&logits[i * outputs..(i + 1) * outputs]).for_each(|(s, &v)| *s += v as f64);
        }
        let class_means: Vec<Vec<f64>> = sums.into_iter().zip(&counts).filter(|(_, n)| **n > 0).map(|(s, &n)| s.into_iter().map(|v| v / n as f64).collect()).collect();
        let current = ClassMeans { step: ctx.step, class_means };
        let now = impacts(self.start.get_or_insert_with(|| current.clone()), &current);
        Ok(ProbeOutput { scalars: vec![("A".into(), now.a), ("B".into(), now.b)], record: record(&current) })
    }
}
