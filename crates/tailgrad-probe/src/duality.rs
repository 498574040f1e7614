//! Activity-weight duality (Feng, Zhang & Tu, Nature Machine Intelligence 2023, "Activity-weight
//! duality in feed-forward neural networks reveals two co-determinants for generalization").
//!
//! For a dense layer `h = a W` (burn's `[fan_in, fan_out]` layout) the change of input activity
//! `a -> a' = a + da` is answered exactly by the weight change of minimal Frobenius norm
//! `dW = a^T (da W) / |a|^2` (the paper's `(W da) a^T / |a|^2` in the `h = W a` convention):
//! `a (W + dW) = a' W`, so `l(x', W) = l(x, W + dW)` when x and x' share the label.
//!
//! Generalization-gap decomposition: for each test sample `x'_k`, its nearest same-class training
//! sample `x_k` (input space) gives `dw_k` in the chosen layer; `dl_k = l(x_k, w + dw_k) - l(x_k, w)
//! = l(x'_k, w) - l(x_k, w)`; `g_k = (dl_k / |dw_k|^2) dw_k`. With the eigenvectors `v_n` of the
//! training-loss Hessian of that layer, `theta_kn = dw_k . v_n` and `gamma_kn = g_k . v_n`:
//! `gap ~ sum_n (mu_gn mu_wn + c_n sigma_gn sigma_wn)` (means, standard deviations and correlation
//! over k). Also reported: the second-order (Hessian) estimate `sum_n lambda_n <theta_kn^2> / 2`,
//! which holds at a minimum where `dl_k ~ dw_k^T H dw_k / 2`.

use crate::hessian::dense_hessian;
use crate::linalg::{dot, mean_std, sym_eigen};
use crate::objective::NetLoss;
use crate::params::Params;
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;
use tailgrad_train::objective::read_f32s;

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
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DualityReport {
    pub layer: usize,
    pub test_samples: usize,
    pub train_loss: f64,
    pub test_loss: f64,
    /// Test loss minus training loss, on the full splits.
    pub true_gap: f64,
    /// `mean_k dl_k`: the gap over the matched pairs.
    pub matched_gap: f64,
    /// `sum_n (mu_gn mu_wn + c_n sigma_gn sigma_wn)`.
    pub estimated_gap: f64,
    /// `sum_n lambda_n <theta_n^2> / 2`.
    pub hessian_estimate: f64,
    /// Largest |l(x, w + dw) - l(x', w)| over the checked pairs (the exact duality, float error).
    pub duality_max_error: f64,
    pub directions: Vec<Direction>,
}

/// Per-sample cross-entropy of `model` (no autodiff) on `x`, `y`.
fn sample_losses(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> Vec<f64> {
    let b = y.dims()[0];
    let nll = log_softmax(model.forward(x), 1).gather(1, y.reshape([b, 1])).neg();
    read_f32s(nll).iter().map(|&v| v as f64).collect()
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

/// The decomposition for layer `layer >= 1` of `model` (autodiff device), over the first
/// `test_samples` test samples; the layer's Hessian is that of the loss on the first
/// `hessian_samples` training samples (all when 0), `n` finite-difference HVPs for `n` weights.
pub fn decompose(
    model: &Mlp,
    train: &DeviceSplit,
    test: &DeviceSplit,
    layer: usize,
    test_samples: usize,
    hessian_samples: usize,
) -> DualityReport {
    assert!(layer >= 1 && layer < model.layers.len(), "duality needs a layer with a hidden input (1..{})", model.layers.len());
    let eval = model.valid();
    let m = test_samples.min(test.len);
    let (tx, ty) = test.range(0, m);
    let ints = |t: Tensor<1, Int>| t.into_data().convert::<i64>().try_to_vec::<i64>().expect("ints");
    let (test_y, train_y) = (ints(ty.clone()), ints(train.y.clone()));
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

    // Hessian of the training loss in this layer's weights, and its eigenvectors.
    let mut obj = NetLoss::new(model.clone(), train, hessian_samples, Params::Layer(layer), 10_000);
    let hess = dense_hessian(&mut obj, &w);
    let eig = sym_eigen(&hess, w.len());
    let (train_loss, test_loss) = (full_loss(&eval, train), full_loss(&eval, test));

    let mut directions = Vec::new();
    let (mut estimated_gap, mut hessian_estimate) = (0.0, 0.0);
    for (lambda, v) in eig.values.iter().zip(&eig.vectors).rev() {
        let theta: Vec<f64> = dws.iter().map(|dw| dot(dw, v)).collect();
        let gamma: Vec<f64> =
            theta.iter().zip(&dws).zip(&dls).map(|((t, dw), dl)| dl / dot(dw, dw).max(1e-300) * t).collect();
        let (mu_w, sigma_w) = mean_std(&theta);
        let (mu_g, sigma_g) = mean_std(&gamma);
        let cov = theta.iter().zip(&gamma).map(|(t, g)| (t - mu_w) * (g - mu_g)).sum::<f64>() / m as f64;
        let corr = if sigma_w > 0.0 && sigma_g > 0.0 { cov / (sigma_w * sigma_g) } else { 0.0 };
        estimated_gap += mu_g * mu_w + corr * sigma_g * sigma_w;
        hessian_estimate += 0.5 * lambda * theta.iter().map(|t| t * t).sum::<f64>() / m as f64;
        directions.push(Direction { eigenvalue: *lambda, mu_w, sigma_w, mu_g, sigma_g, corr });
    }
    DualityReport {
        layer,
        test_samples: m,
        train_loss,
        test_loss,
        true_gap: test_loss - train_loss,
        matched_gap: dls.iter().sum::<f64>() / m as f64,
        estimated_gap,
        hessian_estimate,
        duality_max_error,
        directions,
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
