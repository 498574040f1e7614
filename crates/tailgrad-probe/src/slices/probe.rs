//! `slices`: the training loss along one or two directions ([`crate::slices`]), random
//! filter-normalized ones or the weight trajectory's principal components.

use crate::registry::{Instrument, balanced_rows, check_layer, record, settings};
use crate::objective::NetLoss;
use crate::params::Params;
use crate::slices;
use crate::variance_flatness::{self, Trajectory};
use anyhow::{Context, bail};
use rand::SeedableRng;
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Directions {
    /// Filter-normalized Gaussian directions in all parameters (Li et al. 2018).
    Random,
    /// The top principal components of the trajectory `variance-flatness` recorded for `layer`.
    Pca,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    points: usize,
    span: f64,
    dims: usize,
    samples: usize,
    directions: Directions,
    layer: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { points: 21, span: 1.0, dims: 1, samples: 5000, directions: Directions::Random, layer: 1 }
    }
}

/// `slices`: the training loss along one or two filter-normalized (or PCA) directions.
pub const INSTRUMENT: Instrument = Instrument {
    name: "slices",
    about: "the training loss along one or two filter-normalized (or PCA) directions",
    build: |spec| Ok(Box::new(SlicesProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

pub(super) struct SlicesProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl SlicesProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.points < 2 {
            bail!("config: probe `slices`: `points` = {} must be >= 2", s.points);
        }
        if !(1..=2).contains(&s.dims) {
            bail!("config: probe `slices`: `dims` = {} must be 1 or 2", s.dims);
        }
        if !(s.span > 0.0 && s.span.is_finite()) {
            bail!("config: probe `slices`: `span` = {} must be finite and > 0", s.span);
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for SlicesProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        match self.settings.directions {
            Directions::Pca => check_layer("slices", self.settings.layer, widths, ""),
            Directions::Random => Ok(()),
        }
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
        let (params, d1, d2) = match s.directions {
            Directions::Random => {
                let d1 = slices::filter_normalized(ctx.model, &mut rng);
                (Params::All, d1, (s.dims == 2).then(|| slices::filter_normalized(ctx.model, &mut rng)))
            }
            Directions::Pca => {
                let path = ctx.run_dir.join("probes").join(format!("trajectory-layer{}.bin", s.layer));
                let traj = Trajectory::load(&path).context("slices along PCA directions need the trajectory of the `variance-flatness` probe")?;
                let mut p = variance_flatness::pca(&traj, 2, ctx.seed).directions.into_iter();
                let d1 = p.next().context("the trajectory has no principal component")?;
                (Params::Layer(s.layer), d1, if s.dims == 2 { p.next() } else { None })
            }
        };
        let rows = balanced_rows(ctx.train, s.samples, ctx.seed);
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, Some(&rows), params, 10_000);
        let w = obj.point();
        let grid = slices::grid(s.span, s.points);
        let slice = slices::slice(&mut obj, &w, &d1, d2.as_deref(), &grid, &grid);
        let center = if s.dims == 1 { slice.loss[s.points / 2] } else { slice.loss[(s.points / 2) * s.points + s.points / 2] };
        let edges = [slice.loss[0], *slice.loss.last().expect("a grid of >= 2 points")];
        let scalars = vec![("loss_center".into(), center), ("loss_edge_mean".into(), edges.iter().sum::<f64>() / 2.0)];
        Ok(ProbeOutput { scalars, record: record(&slice) })
    }
}
