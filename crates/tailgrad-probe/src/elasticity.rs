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
//! Reported: same-class and cross-class means (i != j) and a clustering accuracy: each sample goes
//! to the class whose other members have the largest mean similarity to it. A sample the net
//! already fits to float precision (softmax exactly one-hot) moves nothing: its row is undefined
//! (NaN) and left out of the means.

use crate::params::Params;
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_model::Mlp;
use tailgrad_train::objective::{nll_sum_and_correct, read_f32s};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Elasticity {
    pub samples: usize,
    pub eta: f64,
    pub s_rel_same: f64,
    pub s_rel_cross: f64,
    pub s_ker_same: f64,
    pub s_ker_cross: f64,
    pub cluster_acc_rel: f64,
    pub cluster_acc_ker: f64,
    /// Row-major `samples x samples` matrices, and the samples' labels.
    pub s_rel: Vec<f64>,
    pub s_ker: Vec<f64>,
    pub labels: Vec<i64>,
}

/// Both matrices over the samples `x`, `y` (model on an autodiff device).
pub fn measure(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>, eta: f64) -> Elasticity {
    let m = y.dims()[0];
    let labels: Vec<i64> = y.clone().into_data().convert::<i64>().try_to_vec().expect("ints");
    let eval = model.valid();
    let base_logits = eval.forward(x.clone());
    let classes = base_logits.dims()[1];
    let base = read_f32s(base_logits.clone());
    // g_i = -dl/df(x_i) = onehot(y_i) - softmax(f(x_i)).
    let probs = read_f32s(softmax(base_logits, 1));
    let w = Params::All.get(model);
    let device = x.device();
    let (mut s_rel, mut s_ker) = (vec![0.0; m * m], vec![0.0; m * m]);
    for i in 0..m {
        let one = Tensor::<1, Int>::from_data(TensorData::new(vec![i as i64], [1]), &device);
        let (nll, _) = nll_sum_and_correct(model.forward(x.clone().select(0, one.clone())), y.clone().select(0, one));
        let grad = Params::All.grad(model, &nll.backward());
        let stepped: Vec<f64> = w.iter().zip(&grad).map(|(a, g)| a - eta * g).collect();
        let moved = read_f32s(Params::All.set(eval.clone(), &stepped).forward(x.clone()));
        let delta = |j: usize| -> Vec<f64> { (0..classes).map(|c| (moved[j * classes + c] - base[j * classes + c]) as f64).collect() };
        let g: Vec<f64> =
            (0..classes).map(|c| (if c as i64 == labels[i] { 1.0 } else { 0.0 }) - probs[i * classes + c] as f64).collect();
        let g2: f64 = g.iter().map(|v| v * v).sum();
        let own = crate::linalg::norm(&delta(i));
        for j in 0..m {
            let d = delta(j);
            s_rel[i * m + j] = crate::linalg::norm(&d) / own;
            s_ker[i * m + j] = crate::linalg::dot(&d, &g) / (eta * g2);
        }
    }
    let (rel_same, rel_cross) = split_means(&s_rel, &labels);
    let (ker_same, ker_cross) = split_means(&s_ker, &labels);
    Elasticity {
        samples: m,
        eta,
        s_rel_same: rel_same,
        s_rel_cross: rel_cross,
        s_ker_same: ker_same,
        s_ker_cross: ker_cross,
        cluster_acc_rel: cluster_accuracy(&s_rel, &labels),
        cluster_acc_ker: cluster_accuracy(&s_ker, &labels),
        s_rel,
        s_ker,
        labels,
    }
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

/// Fraction of samples whose own class has the largest mean similarity `S(i, j)` over j != i.
fn cluster_accuracy(s: &[f64], labels: &[i64]) -> f64 {
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
                let js: Vec<usize> = (0..m).filter(|&j| j != i && labels[j] == c).collect();
                let vals: Vec<f64> = js.iter().map(|&j| s[i * m + j]).filter(|v| v.is_finite()).collect();
                vals.iter().sum::<f64>() / vals.len().max(1) as f64
            };
            classes.iter().copied().max_by(|&a, &b| score(a).total_cmp(&score(b))) == Some(labels[i])
        })
        .count();
    hits as f64 / defined.len().max(1) as f64
}
