//! `local-elasticity`: He & Su's local elasticity ([`crate::local_elasticity`]) over a seeded,
//! class-balanced sample of training samples of the chosen classes.

use crate::registry::{Instrument, check_classes, record, settings};
use crate::local_elasticity as elasticity;
use anyhow::bail;
use serde::Deserialize;
use tailgrad_model::loss::read_i64s;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    samples: usize,
    /// The classes to draw from (empty = all); He & Su use pairs of similar classes.
    classes: Vec<i64>,
    /// The step of the probing update (default: the run's learning rate).
    eta: Option<f64>,
    /// He & Su's shared-label protocol: draw only training samples of this (superclass) label and
    /// score the similarities and the clustering by their dataset classes (needs `data.merge`).
    within: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { samples: 100, classes: Vec::new(), eta: None, within: None }
    }
}

/// `local-elasticity`: He & Su's local elasticity: relative and kernelized similarity, clustering by it.
pub const INSTRUMENT: Instrument = Instrument {
    name: "local-elasticity",
    about: "He & Su's local elasticity: relative and kernelized similarity, clustering by it",
    build: |spec| Ok(Box::new(ElasticityProbe::new(spec)?)),
    figure: None,
    study_points: None,
};

pub(super) struct ElasticityProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl ElasticityProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.samples < 4 {
            bail!("config: probe `local-elasticity`: `samples` = {} must be >= 4", s.samples);
        }
        if let Some(eta) = s.eta
            && !(eta > 0.0 && eta.is_finite())
        {
            bail!("config: probe `local-elasticity`: `eta` = {eta} must be finite and > 0");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for ElasticityProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        check_classes("local-elasticity", &self.settings.classes, widths)
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let labels = read_i64s(ctx.train.y.clone());
        if s.within.is_some() && ctx.fine_labels.is_none() {
            bail!("probe `local-elasticity`: `within` is He & Su's shared-label protocol: it needs a run trained with `data.merge`");
        }
        // The classes the samples are balanced over and scored by: the dataset classes under the
        // shared-label protocol, else the labels.
        let truth: Vec<i64> = match (s.within, ctx.fine_labels) {
            (Some(_), Some(fine)) => fine.iter().map(|&c| c as i64).collect(),
            _ => labels.clone(),
        };
        let eligible: Vec<usize> = (0..labels.len())
            .filter(|&i| s.within.is_none_or(|w| labels[i] == w) && (s.classes.is_empty() || s.classes.contains(&truth[i])))
            .collect();
        let eligible_truth: Vec<u8> = eligible.iter().map(|&i| truth[i] as u8).collect();
        let classes = eligible_truth.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
        let idx: Vec<i64> = tailgrad_data::balanced_sample(&eligible_truth, classes, s.samples, ctx.seed).into_iter().map(|k| eligible[k] as i64).collect();
        if idx.len() < 4 {
            bail!("probe `local-elasticity`: only {} training samples of classes {:?} (within label {:?})", idx.len(), s.classes, s.within);
        }
        let (x, y) = ctx.train.rows(&idx);
        let sample_truth: Vec<i64> = idx.iter().map(|&i| truth[i as usize]).collect();
        let e = elasticity::measure(ctx.model, x, y, s.within.map(|_| sample_truth.as_slice()), s.eta.unwrap_or(ctx.lr), ctx.seed);
        let scalars = vec![
            ("s_rel_same".into(), e.s_rel_same),
            ("s_rel_cross".into(), e.s_rel_cross),
            ("s_ker_same".into(), e.s_ker_same),
            ("s_ker_cross".into(), e.s_ker_cross),
            ("kmeans_acc_rel".into(), e.kmeans_acc_rel),
            ("spectral_acc_rel".into(), e.spectral_acc_rel),
            ("kernel_kmeans_acc_ker".into(), e.kernel_kmeans_acc_ker),
            ("label_score_rel".into(), e.label_score_rel),
            ("dropped".into(), e.dropped as f64),
        ];
        Ok(ProbeOutput { scalars, record: record(&e) })
    }
}
