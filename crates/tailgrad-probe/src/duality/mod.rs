//! Activity-weight duality (Feng, Zhang & Tu, Nature Machine Intelligence 2023, "Activity-weight
//! duality in feed-forward neural networks reveals two co-determinants for generalization").
//!
//! For a dense layer `h = a W` (burn's `[fan_in, fan_out]` layout) the change of input activity
//! `a -> a' = a + da` is answered exactly by the weight change of minimal Frobenius norm
//! `dW = a^T (da W) / |a|^2` (the paper's `(W da) a^T / |a|^2` in the `h = W a` convention):
//! `a (W + dW) = a' W`, so `l(x', W) = l(x, W + dW)` when x and x' share the label.
//!
//! Generalization-gap decomposition: for each test sample `x'_k` (a seeded, class-balanced set),
//! its nearest same-class training sample `x_k` (input space) gives `dw_k` in the chosen layer;
//! `dl_k = l(x_k, w + dw_k) - l(x_k, w) = l(x'_k, w) - l(x_k, w)`; `g_k = (dl_k / |dw_k|^2) dw_k`.
//! With the eigenvectors `v_n` of the training-loss Hessian of that layer, `theta_kn = dw_k . v_n`
//! and `gamma_kn = g_k . v_n`: per direction the means, standard deviations and correlation over
//! k, and the direction's share of the gap `mu_gn mu_wn + c_n sigma_gn sigma_wn = <gamma_kn
//! theta_kn>_k`.
//!
//! What carries information, and what does not: summed over a complete orthonormal basis the
//! shares add up to `<g_k . dw_k>_k = <dl_k>_k`, the matched-pair gap, whatever the basis (the
//! authors' code, YuFengDuke/A-W-Duality-Project, sums all 900 Hessian directions, so its
//! "estimated gap" is this identity too). The matched-pair gap tracks the true gap (test loss
//! minus training loss) because nearest neighbours pair test and training samples; the Hessian
//! tells how the gap *splits*: how much of it lies in the sharp directions (large eigenvalues)
//! versus the flat ones, and whether it comes from the size of the dual weight changes
//! (`sigma_w`) or from the loss's response along them (`sigma_g`) -- the paper's two
//! co-determinants. Here the Hessian's top-k eigenpairs come from Lanczos on exact Hessian-vector
//! products (k + a few dozen HVPs instead of one per weight), their shares are reported one by one,
//! and the rest of the gap (the orthogonal complement) is the exact remainder
//! `<dl_k> - sum_top shares`. The dense Hessian (one HVP per weight, O(n^3)) remains available
//! for small layers, as the authors compute it.
//!
//! Also reported: the second-order (Hessian) estimate `<dw_k^T H dw_k> / 2`, which is the gap if
//! the loss were quadratic around the trained weights: `sum_top lambda_n <theta_kn^2> / 2` plus
//! the complement's `<dw_perp^T H dw_perp> / 2`, estimated with Rademacher combinations
//! `E_z[(sum_k z_k dw_k,perp)^T H (sum_k z_k dw_k,perp)] = sum_k dw_k,perp^T H dw_k,perp`.

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::hessian::dense_hessian;
use crate::linalg::{dot, mean_std, sym_eigen, top_eigenpairs};
use crate::objective::{NetLoss, Objective};
use crate::params::Params;
use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;
use tailgrad_model::loss::{per_sample_nll, read_f32s, read_i64s};

/// `dW = a^T (da W) / |a|^2` for `w` of shape `[fan_in, fan_out]` (row-major).
pub fn dual_weights(w: &[f64], a: &[f64], a_prime: &[f64], fan_out: usize) -> Vec<f64> {
    let fan_in = a.len();
    let a2: f64 = dot(a, a);
    let mut da_w = vec![0.0; fan_out];
    for j in 0..fan_in {
        let da = a_prime[j] - a[j];
        for k in 0..fan_out {
            da_w[k] += da * w[j * fan_out + k];
        }
    }
    (0..fan_in).flat_map(|j| da_w.iter().map(move |v| a[j] * v / a2).collect::<Vec<_>>()).collect()
}

/// Per-direction statistics of the decomposition (one Hessian eigenvector).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Direction {
    pub eigenvalue: f64,
    pub mu_w: f64,
    pub sigma_w: f64,
    pub mu_g: f64,
    pub sigma_g: f64,
    pub corr: f64,
    /// `mu_g mu_w + corr sigma_g sigma_w`: this direction's share of the gap.
    pub share: f64,
}

/// How the layer's Hessian is taken.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HessianMode {
    /// Every eigenpair: the dense Hessian (one HVP per weight, O(n^3)).
    Dense,
    /// The top `top_k` eigenpairs by Lanczos, and the complement as a remainder.
    Lanczos,
}

/// What [`decompose`] measures.
#[derive(Clone, Debug)]
pub struct DualitySpec {
    pub layer: usize,
    pub test_samples: usize,
    pub hessian_samples: usize,
    pub hessian: HessianMode,
    pub top_k: usize,
    /// Rademacher probes of the complement's second-order term.
    pub remainder_probes: usize,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DualityReport {
    pub layer: usize,
    pub test_samples: usize,
    pub train_loss: f64,
    pub test_loss: f64,
    /// Test loss minus training loss, on the full splits.
    pub true_gap: f64,
    /// `<dl_k>_k`: the gap over the matched pairs (equal to the sum of every direction's share).
    pub matched_gap: f64,
    /// The shares of the directions computed (all of them for a dense Hessian).
    pub directions: Vec<Direction>,
    /// `sum` of those shares, and what is left for the other directions.
    pub directions_gap: f64,
    pub remainder_gap: f64,
    /// `<dw_k^T H dw_k> / 2`.
    pub hessian_estimate: f64,
    /// Of it, the complement's part (0 for a dense Hessian), and that part's standard error
    /// over the Rademacher probes (0 for a dense Hessian).
    pub hessian_remainder: f64,
    #[serde(default)]
    pub hessian_remainder_stderr: f64,
    /// Largest |l(x, w + dw) - l(x', w)| over the checked pairs (the exact duality, float error).
    pub duality_max_error: f64,
}

/// The shares of the gap along orthonormal `vectors` (eigenvalues `values`), from the dual
/// weight changes `dws` and the loss changes `dls`; returns the directions, in the order given,
/// and the complement of their span: `(directions, sum of shares, remainder, sum_n lambda_n
/// <theta_n^2> / 2)`.
pub fn shares(dws: &[Vec<f64>], dls: &[f64], values: &[f64], vectors: &[Vec<f64>]) -> (Vec<Direction>, f64, f64, f64) {
    let m = dws.len() as f64;
    let matched = dls.iter().sum::<f64>() / m;
    let scale: Vec<f64> = dws.iter().zip(dls).map(|(dw, dl)| dl / dot(dw, dw).max(1e-300)).collect();
    let mut directions = Vec::with_capacity(vectors.len());
    let (mut total, mut second_order) = (0.0, 0.0);
    for (lambda, v) in values.iter().zip(vectors) {
        let theta: Vec<f64> = dws.iter().map(|dw| dot(dw, v)).collect();
        let gamma: Vec<f64> = theta.iter().zip(&scale).map(|(t, s)| s * t).collect();
        let (mu_w, sigma_w) = mean_std(&theta);
        let (mu_g, sigma_g) = mean_std(&gamma);
        let cov = theta.iter().zip(&gamma).map(|(t, g)| (t - mu_w) * (g - mu_g)).sum::<f64>() / m;
        let corr = if sigma_w > 0.0 && sigma_g > 0.0 { cov / (sigma_w * sigma_g) } else { 0.0 };
        let share = mu_g * mu_w + corr * sigma_g * sigma_w;
        total += share;
        second_order += 0.5 * lambda * theta.iter().map(|t| t * t).sum::<f64>() / m;
        directions.push(Direction { eigenvalue: *lambda, mu_w, sigma_w, mu_g, sigma_g, corr, share });
    }
    (directions, total, matched - total, second_order)
}

/// `<dw_perp^T H dw_perp>_k / 2`, with `dw_perp` the part of each `dw_k` outside the span of
/// `vectors`, from `probes` Rademacher combinations `u = sum_k z_k dw_perp_k` (one HVP each):
/// `E[u^T H u] = sum_k dw_perp_k^T H dw_perp_k` (Hutchinson). Returns the estimate and its
/// standard error, `sd(u^T H u) / (2 K sqrt(probes))` from the probes' spread (the variance of one
/// probe is `2 sum_(k != l) (dw_perp_k^T H dw_perp_l)^2`: with 20 probes of 100 pairs the estimate
/// spreads by tens of percent, and the error bar says so). `(0, 0)` without probes.
pub fn second_order_remainder(dws: &[Vec<f64>], vectors: &[Vec<f64>], hvp: &mut dyn FnMut(&[f64]) -> Vec<f64>, probes: usize, seed: u64) -> (f64, f64) {
    if probes == 0 || dws.is_empty() {
        return (0.0, 0.0);
    }
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let perp: Vec<Vec<f64>> = dws
        .iter()
        .map(|dw| {
            let mut r = dw.clone();
            for v in vectors {
                let c = dot(&r, v);
                crate::linalg::axpy(-c, v, &mut r);
            }
            r
        })
        .collect();
    let scale = 0.5 / perp.len() as f64;
    let values: Vec<f64> = (0..probes)
        .map(|_| {
            let z = crate::linalg::rademacher(perp.len(), &mut rng);
            let mut u = vec![0.0; perp[0].len()];
            perp.iter().zip(&z).for_each(|(p, zk)| crate::linalg::axpy(*zk, p, &mut u));
            scale * dot(&u, &hvp(&u))
        })
        .collect();
    let n = probes as f64;
    let mean = values.iter().sum::<f64>() / n;
    let stderr = if probes > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt() } else { f64::NAN };
    (mean, stderr)
}

/// Per-sample cross-entropy of `model` (no autodiff) on `x`, `y`.
fn sample_losses(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> Vec<f64> {
    read_f32s(per_sample_nll(model.forward(x), y)).iter().map(|&v| v as f64).collect()
}

fn rows(values: &[f32], width: usize) -> Vec<Vec<f64>> {
    values.chunks(width).map(|r| r.iter().map(|&v| v as f64).collect()).collect()
}

/// Index of the nearest same-class training sample (Euclidean, input space) of each test sample.
fn nearest_same_class(train: &DeviceSplit, test_x: Tensor<2>, test_y: &[i64], train_y: &[i64]) -> Vec<usize> {
    // Squared norms and test-train products, block by block of the training rows.
    let n = train.len;
    let m = test_x.dims()[0];
    let mut train_sq = Vec::with_capacity(n);
    let mut cross = vec![0.0f32; m * n];
    for (first, block) in train.x.blocks() {
        train_sq.extend(read_f32s(block.clone().powf_scalar(2.0).sum_dim(1)));
        let rows = block.dims()[0];
        let part = read_f32s(test_x.clone().matmul(block.clone().transpose()));
        for k in 0..m {
            cross[k * n + first..k * n + first + rows].copy_from_slice(&part[k * rows..(k + 1) * rows]);
        }
    }
    test_y
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            (0..n)
                .filter(|&i| train_y[i] == c)
                .min_by(|&i, &j| {
                    let di = train_sq[i] - 2.0 * cross[k * n + i];
                    let dj = train_sq[j] - 2.0 * cross[k * n + j];
                    di.total_cmp(&dj)
                })
                .expect("every class has training samples")
        })
        .collect()
}

/// The decomposition for layer `spec.layer >= 1` of `model` (autodiff device).
pub fn decompose(model: &Mlp, train: &DeviceSplit, test: &DeviceSplit, spec: &DualitySpec) -> DualityReport {
    let layer = spec.layer;
    assert!(layer >= 1 && layer < model.layers.len(), "duality needs a layer with a hidden input (1..{})", model.layers.len());
    let eval = model.valid();
    let balanced = |split: &DeviceSplit, n: usize| -> Vec<i64> {
        let labels: Vec<u8> = read_i64s(split.y.clone()).iter().map(|&l| l as u8).collect();
        let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
        tailgrad_data::balanced_sample(&labels, classes, if n == 0 { labels.len() } else { n }, spec.seed).into_iter().map(|i| i as i64).collect()
    };
    let test_rows = balanced(test, spec.test_samples);
    let m = test_rows.len();
    let (tx, ty) = test.rows(&test_rows);
    let (test_y, train_y) = (read_i64s(ty.clone()), read_i64s(train.y.clone()));
    let nearest = nearest_same_class(train, tx.clone(), &test_y, &train_y);
    let (nx, ny) = train.rows(&nearest.iter().map(|&i| i as i64).collect::<Vec<_>>());

    // Activities entering the layer, for the test samples (a') and their neighbours (a).
    let fan_in = eval.layers[layer].weight.val().dims()[0];
    let fan_out = eval.layers[layer].weight.val().dims()[1];
    let a_test = rows(&read_f32s(eval.forward_trace(tx.clone()).post[layer - 1].clone()), fan_in);
    let a_near = rows(&read_f32s(eval.forward_trace(nx.clone()).post[layer - 1].clone()), fan_in);
    let w = Params::Layer(layer).get(model);
    let l_test = sample_losses(&eval, tx, ty);
    let l_near = sample_losses(&eval, nx.clone(), ny.clone());
    let dws: Vec<Vec<f64>> = a_near.iter().zip(&a_test).map(|(a, ap)| dual_weights(&w, a, ap, fan_out)).collect();
    let dls: Vec<f64> = l_test.iter().zip(&l_near).map(|(t, n)| t - n).collect();

    // The exact identity, checked on a few pairs by really changing the weights.
    let mut duality_max_error: f64 = 0.0;
    for k in 0..m.min(5) {
        let shifted: Vec<f64> = w.iter().zip(&dws[k]).map(|(a, b)| a + b).collect();
        let moved = Params::Layer(layer).set(eval.clone(), &shifted);
        let one = Tensor::<1, Int>::from_data(TensorData::new(vec![k as i64], [1]), &nx.device());
        let l = sample_losses(&moved, nx.clone().select(0, one.clone()), ny.clone().select(0, one))[0];
        duality_max_error = duality_max_error.max((l - l_test[k]).abs());
    }

    // The training-loss Hessian of this layer's weights: its eigenpairs, largest first.
    let hessian_rows = balanced(train, spec.hessian_samples);
    let mut obj = NetLoss::new(model.clone(), train, Some(&hessian_rows), Params::Layer(layer), 10_000);
    let (values, vectors): (Vec<f64>, Vec<Vec<f64>>) = match spec.hessian {
        HessianMode::Dense => {
            let eig = sym_eigen(&dense_hessian(&mut obj, &w), w.len());
            eig.values.into_iter().zip(eig.vectors).rev().unzip()
        }
        HessianMode::Lanczos => {
            let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(spec.seed);
            let mut op = |v: &[f64]| obj.hvp(&w, v);
            top_eigenpairs(&mut op, w.len(), spec.top_k, (2 * spec.top_k).max(spec.top_k + 30), &mut rng)
        }
    };
    let (directions, directions_gap, remainder_gap, top_second_order) = shares(&dws, &dls, &values, &vectors);
    let (hessian_remainder, hessian_remainder_stderr) = match spec.hessian {
        HessianMode::Dense => (0.0, 0.0),
        HessianMode::Lanczos => {
            let mut op = |v: &[f64]| obj.hvp(&w, v);
            second_order_remainder(&dws, &vectors, &mut op, spec.remainder_probes, spec.seed ^ 0x4e55)
        }
    };
    let (train_loss, test_loss) = (full_loss(&eval, train), full_loss(&eval, test));
    DualityReport {
        layer,
        test_samples: m,
        train_loss,
        test_loss,
        true_gap: test_loss - train_loss,
        matched_gap: dls.iter().sum::<f64>() / m as f64,
        directions,
        directions_gap,
        remainder_gap,
        hessian_estimate: top_second_order + hessian_remainder,
        hessian_remainder,
        hessian_remainder_stderr,
        duality_max_error,
    }
}

fn full_loss(eval: &Mlp, split: &DeviceSplit) -> f64 {
    let total: f64 = split
        .x
        .blocks()
        .map(|(first, x)| {
            let rows = x.dims()[0];
            sample_losses(eval, x.clone(), split.y.clone().narrow(0, first, rows)).iter().sum::<f64>()
        })
        .sum();
    total / split.len as f64
}
