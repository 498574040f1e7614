//! `few-shot`: Sorscher et al.'s few-shot geometry ([`crate::few_shot`]) of every hidden layer's
//! representation (and the input), over the first `points` images per class of `classes`, for
//! each m in `shots`: the mean over ordered class pairs of the SNR, the predicted error H(SNR) and
//! the prototype rule's measured error over `episodes` episodes. The images are the novel
//! concepts (the test images of the classes that `data.classes` left out of training) when the run
//! has them, else the test split.

use crate::registry::{Instrument, check_classes, record, settings};
use crate::few_shot::{Manifold, PairGeometry, SecondOrder, prototype_error};
use anyhow::bail;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tailgrad_model::loss::{read_f32s, read_i64s};
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Classes whose images form the concept manifolds (empty = all of the source's).
    classes: Vec<i64>,
    /// Test images per class.
    points: usize,
    shots: Vec<usize>,
    episodes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { classes: Vec::new(), points: 500, shots: vec![1, 5], episodes: 100 }
    }
}

/// One layer's few-shot geometry at one m, averaged over ordered class pairs.
#[derive(Serialize, Deserialize)]
pub(super) struct LayerShots {
    /// 0 = the input pixels, l = the activation after hidden layer l.
    pub(super) layer: usize,
    pub(super) m: usize,
    pub(super) snr: f64,
    pub(super) predicted_error: f64,
    /// The prediction without the 1/m^2 term (Qu's script).
    pub(super) predicted_error_omitted: f64,
    pub(super) measured_error: f64,
    pub(super) signal: f64,
    pub(super) dimension: f64,
    pub(super) bias: f64,
}

/// `few-shot`: Sorscher et al.'s few-shot geometry of each layer: SNR, predicted and measured prototype error.
pub const INSTRUMENT: Instrument = Instrument {
    name: "few-shot",
    about: "Sorscher et al.'s few-shot geometry of each layer: SNR, predicted and measured prototype error",
    build: |spec| Ok(Box::new(FewShotProbe::new(spec)?)),
    figure: None,
    study_points: Some(super::figure::study_points),
};

pub(super) struct FewShotProbe {
    spec: ProbeSpec,
    settings: Settings,
}

impl FewShotProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.points < 4 || s.episodes == 0 || s.shots.is_empty() || s.shots.iter().any(|&m| m == 0 || m >= s.points) {
            bail!("config: probe `few-shot`: need `points` >= 4, `episodes` >= 1 and every m in `shots` in 1..points");
        }
        Ok(Self { spec, settings: s })
    }
}

impl Probe for FewShotProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        check_classes("few-shot", &self.settings.classes, widths)?;
        if self.settings.classes.len() == 1 {
            bail!("config: probe `few-shot`: `classes` needs at least two classes");
        }
        Ok(())
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let source = ctx.novel.unwrap_or(ctx.test);
        let labels = read_i64s(source.y.clone());
        let classes: Vec<i64> = if s.classes.is_empty() {
            let mut present = labels.clone();
            present.sort_unstable();
            present.dedup();
            present
        } else {
            s.classes.clone()
        };
        // The first `points` images of each class, in file order.
        let mut per_class: Vec<Vec<i64>> = Vec::new();
        for &c in &classes {
            let idx: Vec<i64> = (0..labels.len()).filter(|&i| labels[i] == c).take(s.points).map(|i| i as i64).collect();
            if idx.len() < s.points {
                let what = if ctx.novel.is_some() { "novel (left-out)" } else { "test" };
                bail!("probe `few-shot`: class {c} has {} {what} images, fewer than `points` = {}", idx.len(), s.points);
            }
            per_class.push(idx);
        }
        // Per class, per layer: the representation (input pixels, then each hidden activation).
        let mut reps: Vec<Vec<(usize, Vec<f64>)>> = Vec::new();
        for idx in &per_class {
            let (x, _) = source.rows(idx);
            let trace = ctx.model.forward_trace(x.clone());
            let mut layers = vec![x];
            layers.extend(trace.post);
            reps.push(
                layers
                    .into_iter()
                    .map(|t| {
                        let width = t.dims()[1];
                        (width, read_f32s(t).into_iter().map(f64::from).collect())
                    })
                    .collect(),
            );
        }
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed);
        let mut rows = Vec::new();
        for layer in 0..reps[0].len() {
            let width = reps[0][layer].0;
            let manifolds: Vec<Manifold> = reps.iter().map(|r| Manifold::from_points(&r[layer].1, width)).collect();
            for &m in &s.shots {
                let mut acc = [0.0; 7];
                let mut pairs = 0.0;
                for a in 0..classes.len() {
                    for b in (0..classes.len()).filter(|&b| b != a) {
                        let g = PairGeometry::new(&manifolds[a], &manifolds[b]);
                        let measured = prototype_error(&reps[a][layer].1, &reps[b][layer].1, width, m, s.episodes, &mut rng);
                        let values = [
                            g.snr(m, SecondOrder::Measured),
                            g.predicted_error(m, SecondOrder::Measured),
                            g.predicted_error(m, SecondOrder::Omitted),
                            measured,
                            g.signal,
                            g.dimension,
                            g.bias,
                        ];
                        acc.iter_mut().zip(values).for_each(|(t, v)| *t += v);
                        pairs += 1.0;
                    }
                }
                let [snr, predicted_error, predicted_error_omitted, measured_error, signal, dimension, bias] = acc.map(|t| t / pairs);
                rows.push(LayerShots { layer, m, snr, predicted_error, predicted_error_omitted, measured_error, signal, dimension, bias });
            }
        }
        let scalars = rows
            .iter()
            .flat_map(|r| {
                [
                    (format!("layer{}/m{}/snr", r.layer, r.m), r.snr),
                    (format!("layer{}/m{}/predicted_error", r.layer, r.m), r.predicted_error),
                    (format!("layer{}/m{}/measured_error", r.layer, r.m), r.measured_error),
                ]
            })
            .collect();
        Ok(ProbeOutput { scalars, record: record(&rows) })
    }
}
