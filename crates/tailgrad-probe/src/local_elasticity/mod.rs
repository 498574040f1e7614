//! Local elasticity (He & Su, ICLR 2020, "The local elasticity of neural networks"): how much one
//! SGD step on a sample x moves the prediction at another sample x'.
//!
//! From fixed weights w, for each sample i: `w+ = w - eta grad_w l(f(x_i, w), y_i)` (every update
//! restarts from w), then for every sample j
//! * `S_rel(i, j) = |f(x_j, w+) - f(x_j, w)| / |f(x_i, w+) - f(x_i, w)|`;
//! * `S_ker(i, j) = <f(x_j, w+) - f(x_j, w), g_i> / (eta |g_i|^2)` with `g_i = -dl/df(x_i)`: the
//!   paper's `(f(x', w+) - f(x', w)) / (eta (-dl/df(x)))` for vector outputs (the logits),
//!   projected on the update's direction in output space; it tends to `g^T K(x_j, x_i) g / |g|^2`
//!   (the neural tangent kernel) as eta -> 0. For a linear model `f = x W` it is exactly `x_j . x_i`:
//!   no locality beyond input similarity, which is the paper's point of comparison.
//!
//! Reported: same-class and cross-class means (i != j), and how well the matrices separate the
//! classes without labels, as He & Su measure it (HornHehhf/LocalElasticity): the symmetrized
//! matrix `(S + S^T)/2` clustered by k-means on its rows and by spectral clustering (`S_rel`, an
//! affinity, negative entries clipped to 0) and by kernel k-means (`S_ker`, a kernel), each scored
//! by the best matching of clusters to classes ([`crate::linalg::clustering`]). The older score that
//! assigns each sample to the class with the largest mean similarity uses the labels, so it is
//! reported separately (`label_score_*`): it typically overstates what the matrices separate.
//!
//! A step too small to move the sample's own logits measurably in f32 (a sample the net fits to
//! float precision) is repeated with the step size multiplied by 3, as He & Su do when nothing
//! moves, here until the own change is at least `1e-4` of the logits' size (about 800 f32 ulps,
//! so the ratios keep ~3 digits; up to `3^20` times eta); `S_ker` uses the step actually taken.
//! A row that still does not move is left out (NaN) and counted in `dropped`.

mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::clustering::{kernel_kmeans, kmeans, matched_accuracy, spectral};
use crate::params::Params;
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_model::Mlp;
use tailgrad_model::loss::{nll_sum_and_correct, read_f32s, read_i64s};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Elasticity {
    pub samples: usize,
    pub eta: f64,
    /// The step each sample's update used (eta, or eta 3^k when eta moved nothing).
    pub eta_used: Vec<f64>,
    /// Rows left out because no step moved the sample's own logits.
    pub dropped: usize,
    pub s_rel_same: f64,
    pub s_rel_cross: f64,
    pub s_ker_same: f64,
    pub s_ker_cross: f64,
    /// Unsupervised clustering accuracies (He & Su's protocol).
    pub kmeans_acc_rel: f64,
    pub spectral_acc_rel: f64,
    pub kernel_kmeans_acc_ker: f64,
    /// Each sample assigned to the class whose other members have the largest mean similarity
    /// to it: a score that uses the labels.
    pub label_score_rel: f64,
    pub label_score_ker: f64,
    /// Row-major `samples x samples` matrices, and the classes the scores split the samples by
    /// (their labels, or under the shared-label protocol their dataset classes).
    pub s_rel: Vec<f64>,
    pub s_ker: Vec<f64>,
    pub labels: Vec<i64>,
}

/// The step escalation: at most this many multiplications by 3.
const MAX_ESCALATIONS: usize = 20;

/// A change of the own logits this small relative to their size is not measured, but rounding.
const MEASURABLE: f64 = 1e-4;

/// Both matrices over the samples `x`, `y` (model on an autodiff device). The same/cross means and
/// the clustering scores split the samples by `truth` (None: their labels `y`); He & Su's
/// shared-label protocol passes the dataset classes of samples that were trained under one label.
pub fn measure(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>, truth: Option<&[i64]>, eta: f64, seed: u64) -> Elasticity {
    let m = y.dims()[0];
    let trained = read_i64s(y.clone());
    let labels = truth.map_or_else(|| trained.clone(), <[i64]>::to_vec);
    assert_eq!(labels.len(), m, "one class per sample");
    let eval = model.valid();
    let base_logits = eval.forward(x.clone());
    let classes = base_logits.dims()[1];
    let base = read_f32s(base_logits.clone());
    // g_i = -dl/df(x_i) = onehot(y_i) - softmax(f(x_i)).
    let probs = read_f32s(softmax(base_logits, 1));
    let w = Params::All.get(model);
    let device = x.device();
    let (mut s_rel, mut s_ker) = (vec![f64::NAN; m * m], vec![f64::NAN; m * m]);
    let mut eta_used = vec![f64::NAN; m];
    for i in 0..m {
        let one = Tensor::<1, Int>::from_data(TensorData::new(vec![i as i64], [1]), &device);
        let (nll, _) = nll_sum_and_correct(model.forward(x.clone().select(0, one.clone())), y.clone().select(0, one));
        let grad = Params::All.grad(model, &nll.backward());
        let g: Vec<f64> = (0..classes).map(|c| (if c as i64 == trained[i] { 1.0 } else { 0.0 }) - probs[i * classes + c] as f64).collect();
        let g2: f64 = g.iter().map(|v| v * v).sum();
        let mut step = eta;
        for _ in 0..=MAX_ESCALATIONS {
            let stepped: Vec<f64> = w.iter().zip(&grad).map(|(a, gr)| a - step * gr).collect();
            let moved = read_f32s(Params::All.set(eval.clone(), &stepped).forward(x.clone()));
            let delta = |j: usize| -> Vec<f64> { (0..classes).map(|c| (moved[j * classes + c] - base[j * classes + c]) as f64).collect() };
            let own = crate::linalg::norm(&delta(i));
            let size = crate::linalg::norm(&(0..classes).map(|c| base[i * classes + c] as f64).collect::<Vec<_>>());
            if own > MEASURABLE * size.max(f64::MIN_POSITIVE) {
                for j in 0..m {
                    let d = delta(j);
                    s_rel[i * m + j] = crate::linalg::norm(&d) / own;
                    s_ker[i * m + j] = crate::linalg::dot(&d, &g) / (step * g2);
                }
                eta_used[i] = step;
                break;
            }
            step *= 3.0;
        }
    }
    let dropped = eta_used.iter().filter(|e| e.is_nan()).count();
    let (rel_same, rel_cross) = split_means(&s_rel, &labels);
    let (ker_same, ker_cross) = split_means(&s_ker, &labels);
    let (kmeans_acc_rel, spectral_acc_rel, kernel_kmeans_acc_ker) = cluster_scores(&s_rel, &s_ker, &labels, seed);
    Elasticity {
        samples: m,
        eta,
        eta_used,
        dropped,
        s_rel_same: rel_same,
        s_rel_cross: rel_cross,
        s_ker_same: ker_same,
        s_ker_cross: ker_cross,
        kmeans_acc_rel,
        spectral_acc_rel,
        kernel_kmeans_acc_ker,
        label_score_rel: label_score(&s_rel, &labels),
        label_score_ker: label_score(&s_ker, &labels),
        s_rel,
        s_ker,
        labels,
    }
}

/// He & Su's unsupervised scores over the rows that moved: k-means on the rows and spectral
/// clustering of the symmetrized `S_rel`, kernel k-means of the symmetrized `S_ker`.
fn cluster_scores(s_rel: &[f64], s_ker: &[f64], labels: &[i64], seed: u64) -> (f64, f64, f64) {
    let m = labels.len();
    let keep: Vec<usize> = (0..m).filter(|&i| s_rel[i * m..(i + 1) * m].iter().all(|v| v.is_finite())).collect();
    let n = keep.len();
    let mut classes = labels.to_vec();
    classes.sort();
    classes.dedup();
    let k = classes.len();
    if n < 2 * k {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let sym = |s: &[f64]| -> Vec<f64> { keep.iter().flat_map(|&i| keep.iter().map(move |&j| 0.5 * (s[i * m + j] + s[j * m + i]))).collect() };
    let (rel, ker) = (sym(s_rel), sym(s_ker));
    let kept_labels: Vec<i64> = keep.iter().map(|&i| labels[i]).collect();
    let rows: Vec<Vec<f64>> = rel.chunks(n).map(|r| r.to_vec()).collect();
    let affinity: Vec<f64> = rel.iter().map(|v| v.max(0.0)).collect();
    (
        matched_accuracy(&kmeans(&rows, k, 10, seed), &kept_labels),
        matched_accuracy(&spectral(&affinity, n, k, seed), &kept_labels),
        matched_accuracy(&kernel_kmeans(&ker, n, k, 10, seed), &kept_labels),
    )
}

/// Mean over pairs i != j of the same class, and of different classes.
fn split_means(s: &[f64], labels: &[i64]) -> (f64, f64) {
    let m = labels.len();
    let (mut same, mut ns, mut cross, mut nc) = (0.0, 0usize, 0.0, 0usize);
    for i in 0..m {
        for j in (0..m).filter(|&j| j != i) {
            if !s[i * m + j].is_finite() {
                continue;
            }
            if labels[i] == labels[j] {
                same += s[i * m + j];
                ns += 1;
            } else {
                cross += s[i * m + j];
                nc += 1;
            }
        }
    }
    (same / ns.max(1) as f64, cross / nc.max(1) as f64)
}

/// Fraction of samples whose own class has the largest mean similarity `S(i, j)` over j != i
/// (uses the labels).
fn label_score(s: &[f64], labels: &[i64]) -> f64 {
    let m = labels.len();
    let mut classes: Vec<i64> = labels.to_vec();
    classes.sort();
    classes.dedup();
    let defined: Vec<usize> = (0..m).filter(|&i| s[i * m..(i + 1) * m].iter().all(|v| v.is_finite())).collect();
    let hits = defined
        .iter()
        .copied()
        .filter(|&i| {
            let score = |c: i64| {
                let vals: Vec<f64> = (0..m).filter(|&j| j != i && labels[j] == c).map(|j| s[i * m + j]).filter(|v| v.is_finite()).collect();
                vals.iter().sum::<f64>() / vals.len().max(1) as f64
            };
            classes.iter().copied().max_by(|&a, &b| score(a).total_cmp(&score(b))) == Some(labels[i])
        })
        .count();
    hits as f64 / defined.len().max(1) as f64
}
