//! SGD gradient noise at a fixed w: statistics of the minibatch gradients `g_mu` (mu = 1..K, each
//! over B samples) around their mean, and per-sample gradients of dense layers.
//!
//! * noise covariance trace `tr(Sigma_B) = (1/(K-1)) sum_mu |g_mu - g_bar|^2`; for K disjoint
//!   minibatches of a population of N samples its expectation is `S^2 / B` exactly, with
//!   `S^2 = sum_i |g_i - G|^2 / (N - 1)` the per-sample noise trace;
//! * the squared norm of the true (population) gradient G, without the bias of `|g_bar|^2`. Drawn
//!   without replacement, `E|g_bar|^2 = |G|^2 + (S^2 / KB)(1 - KB/N)` (the finite-population
//!   correction; Cochran, *Sampling Techniques*, 1977, thm 2.2), so
//!   `|G|^2_hat = |g_bar|^2 - (tr(Sigma_B)/K)(1 - KB/N)`. For N -> infinity this is McCandlish et
//!   al.'s (2018, "An empirical model of large-batch training", appendix A) two-batch-size
//!   estimator with B_small = B and B_big = K B: `(B_big |G_big|^2 - B_small |G_small|^2) /
//!   (B_big - B_small)` with `|G_big|^2 = |g_bar|^2` and `|G_small|^2 = <|g_mu|^2>` reduces to it;
//!   without the correction |G|^2 comes out low by `S^2/N`, a factor `1 - B_simple/N` (half the
//!   truth when B_simple is N/2). In the noise-dominated regime it can come out <= 0: `B_simple`
//!   is then beyond what K minibatches resolve (reported as unresolved, NaN), where the plug-in
//!   ratio would instead saturate near K B;
//! * gradient noise scale `B_simple = tr(Sigma) / |G|^2 = B tr(Sigma_B) / |G|^2_hat` and gradient
//!   SNR `|G|^2_hat / tr(Sigma_B)`; the same from n per-sample gradients g_i (the first n of a
//!   permutation): `tr(Sigma) = (sum_i |g_i|^2 - n |g_bar|^2) / (n - 1)` (unbiased for S^2),
//!   `|G|^2_hat = |g_bar|^2 - (tr(Sigma)/n)(1 - n/N)`;
//! * the order parameters of Feng & Tu (MLST 2021, learning phases with mislabeled data): the mean
//!   amplitude `<|g_mu|>` and the mean pairwise alignment `<cos(g_mu, g_nu)>_{mu != nu}`, for all
//!   samples, and for the clean and the mislabeled samples separately, each group's minibatches
//!   drawn from that group alone at one common size (amplitude and alignment depend on the batch
//!   size, so groups compared at different sizes would differ by size alone); and the cosine of
//!   the two groups' true gradients, `g_bar_c . g_bar_m / sqrt(|G_c|^2_hat |G_m|^2_hat)`: the two
//!   groups' samples are disjoint, so the dot product of their means is unbiased, and the norms
//!   are the unbiased ones (dividing by `|g_bar_c| |g_bar_m|`, norms inflated by the noise, pulls
//!   the cosine toward 0);
//! * the noise along given directions `p_i`: `T_i = (lr/2) Var_mu(p_i . g_mu)` (Feng & Tu, PNAS 2021).
//!
//! Minibatches are disjoint slices of one seeded permutation (sampling without replacement, with
//! the finite-population correction above). Per-sample gradients of a dense layer
//! `h = a W` are outer products `a_i (dl_i/dh_i)^T`; the factor `dl_i/dh_i` comes from one backward
//! pass through a zero "tap" added to every pre-activation (burn has no per-sample gradients).

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::{axpy, dot, norm};
use crate::params::Params;
use burn::tensor::{Int, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;
use tailgrad_model::loss::{nll_sum_and_correct, read_f32s};

/// Streaming moments of a set of gradient vectors.
#[derive(Default)]
pub(crate) struct Moments {
    k: usize,
    sum: Vec<f64>,
    sum_sq: f64,
    sum_unit: Vec<f64>,
    sum_norm: f64,
}

impl Moments {
    pub(crate) fn add(&mut self, g: &[f64]) {
        if self.sum.is_empty() {
            self.sum = vec![0.0; g.len()];
            self.sum_unit = vec![0.0; g.len()];
        }
        let n = norm(g);
        axpy(1.0, g, &mut self.sum);
        if n > 0.0 {
            axpy(1.0 / n, g, &mut self.sum_unit);
        }
        self.sum_sq += n * n;
        self.sum_norm += n;
        self.k += 1;
    }

    /// The statistics of the K vectors added, each a gradient over `batch_size` samples drawn
    /// without replacement (disjoint minibatches) from `population` samples.
    pub(crate) fn summary(&self, batch_size: usize, population: usize) -> GroupNoise {
        let k = self.k as f64;
        let mean_sq = dot(&self.sum, &self.sum) / (k * k);
        let trace_cov = (self.sum_sq - k * mean_sq) / (k - 1.0);
        let su = dot(&self.sum_unit, &self.sum_unit);
        let unsampled = 1.0 - k * batch_size as f64 / population as f64;
        GroupNoise {
            batches: self.k,
            batch_size,
            mean_grad_norm: mean_sq.sqrt(),
            trace_cov,
            grad_norm_sq: mean_sq - trace_cov / k * unsampled,
            mean_amplitude: self.sum_norm / k,
            alignment: (su - k) / (k * (k - 1.0)),
        }
    }
}

/// Noise statistics of one group of K gradients over B samples each.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupNoise {
    pub batches: usize,
    pub batch_size: usize,
    /// `|g_bar|`, the norm of the mean of the K gradients (biased upward by the noise).
    pub mean_grad_norm: f64,
    /// `tr(Sigma_B)`, unbiased over the K gradients.
    pub trace_cov: f64,
    /// `|G|^2_hat = |g_bar|^2 - (tr(Sigma_B) / K)(1 - KB/N)`, unbiased (may be <= 0 when noise
    /// dominates).
    pub grad_norm_sq: f64,
    /// `<|g_mu|>`.
    pub mean_amplitude: f64,
    /// `<cos(g_mu, g_nu)>` over pairs mu != nu.
    pub alignment: f64,
}

impl GroupNoise {
    /// `B_simple = B tr(Sigma_B) / |G|^2_hat`; NaN when `|G|^2_hat <= 0` (unresolved: the true
    /// value is larger than the K minibatches can tell apart from infinity).
    pub fn b_simple(&self) -> f64 {
        if self.grad_norm_sq > 0.0 { self.batch_size as f64 * self.trace_cov / self.grad_norm_sq } else { f64::NAN }
    }

    /// `|G|^2_hat / tr(Sigma_B)` (negative estimates are kept: they say the signal is not resolved).
    pub fn snr(&self) -> f64 {
        self.grad_norm_sq / self.trace_cov
    }
}

/// Per-sample noise from n per-sample gradients drawn without replacement from `population`:
/// `tr(Sigma) = (sum |g_i|^2 - n |g_bar|^2) / (n-1)`, `|G|^2_hat = |g_bar|^2 - (tr(Sigma)/n)(1 - n/N)`,
/// `B_simple = tr(Sigma) / |G|^2_hat` (NaN when <= 0).
pub fn per_sample_stats(sum_sq_norms: f64, mean_norm_sq: f64, n: usize, population: usize) -> (f64, f64) {
    let unsampled = 1.0 - n as f64 / population as f64;
    let n = n as f64;
    let trace = (sum_sq_norms - n * mean_norm_sq) / (n - 1.0);
    let g2 = mean_norm_sq - trace / n * unsampled;
    (trace, if g2 > 0.0 { trace / g2 } else { f64::NAN })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoiseReport {
    pub batch_size: usize,
    pub all: GroupNoise,
    /// `B tr(Sigma_B) / |G|^2_hat` (NaN: unresolved).
    pub b_simple: f64,
    /// `|G|^2_hat / tr(Sigma_B)`.
    pub snr: f64,
    /// From exact per-sample gradients of the chosen parameters over `per_sample_count` samples.
    pub per_sample_count: usize,
    pub per_sample_trace_cov: f64,
    pub per_sample_b_simple: f64,
    /// With label noise: the same statistics over minibatches of clean samples alone and of
    /// mislabeled samples alone, both of `group_batch_size`, and the cosine between their mean
    /// gradients.
    pub group_batch_size: usize,
    pub clean: Option<GroupNoise>,
    pub mislabeled: Option<GroupNoise>,
    pub clean_mislabeled_cos: Option<f64>,
    /// `T_i = (lr/2) Var_mu(p_i . g_mu)` for the directions given.
    pub direction_temperature: Vec<f64>,
}

/// What [`measure`] needs besides the model.
pub struct NoiseInput<'a> {
    pub data: &'a DeviceSplit,
    /// Training labels flipped by label noise (the run's mask), if any.
    pub flipped: Option<&'a [bool]>,
    pub batch_size: usize,
    pub batches: usize,
    /// The size of the clean and mislabeled groups' minibatches (0 = `batch_size`).
    pub group_batch_size: usize,
    pub params: Params,
    /// Unit directions in the space of `params` for `T_i`, and the learning rate.
    pub directions: &'a [Vec<f64>],
    pub lr: f64,
    pub per_sample: usize,
    pub seed: u64,
}

/// Gradient-noise statistics at the model's current weights (`model` on an autodiff device).
pub fn measure(model: &Mlp, input: &NoiseInput) -> NoiseReport {
    let order = tailgrad_data::device::epoch_permutation(input.data.len, input.seed, u64::MAX);
    let k = input.batches.min(input.data.len / input.batch_size).max(2);
    let mut all = Moments::default();
    let mut projections: Vec<Vec<f64>> = vec![Vec::new(); input.directions.len()];
    let grad_of = |idx: &[i64]| -> Vec<f64> {
        let (x, y) = input.data.rows(idx);
        let (nll, _) = nll_sum_and_correct(model.forward(x), y);
        let grads = nll.div_scalar(idx.len() as f64).backward();
        input.params.grad(model, &grads)
    };
    for mu in 0..k {
        let g = grad_of(&order[mu * input.batch_size..(mu + 1) * input.batch_size]);
        for (p, d) in projections.iter_mut().zip(input.directions) {
            p.push(dot(&g, d));
        }
        all.add(&g);
    }
    // Clean and mislabeled samples, each group's minibatches drawn from it alone at one size.
    let group_batch_size = if input.group_batch_size == 0 { input.batch_size } else { input.group_batch_size };
    let group = |mislabeled: bool| -> Moments {
        let mut m = Moments::default();
        let Some(flipped) = input.flipped else { return m };
        let mut members: Vec<i64> = (0..input.data.len as i64).filter(|&i| flipped[i as usize] == mislabeled).collect();
        members.shuffle(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(input.seed ^ (0xc1ea_4 + mislabeled as u64)));
        for batch in members.chunks_exact(group_batch_size).take(k) {
            m.add(&grad_of(batch));
        }
        m
    };
    let (clean, noisy) = (group(false), group(true));
    let all_s = all.summary(input.batch_size, input.data.len);
    let ps_idx = &order[..input.per_sample.min(input.data.len)];
    let (ps_trace, ps_b) = if ps_idx.len() >= 2 { per_sample_noise(model, input.data, ps_idx, input.params) } else { (f64::NAN, f64::NAN) };
    let mislabeled_count = input.flipped.map_or(0, |f| f.iter().filter(|&&m| m).count());
    let clean_s = (clean.k >= 2).then(|| clean.summary(group_batch_size, input.data.len - mislabeled_count));
    let noisy_s = (noisy.k >= 2).then(|| noisy.summary(group_batch_size, mislabeled_count));
    let clean_mislabeled_cos = match (&clean_s, &noisy_s) {
        (Some(c), Some(m)) => Some(true_gradient_cosine(&clean, c, &noisy, m)),
        _ => None,
    };
    NoiseReport {
        batch_size: input.batch_size,
        b_simple: all_s.b_simple(),
        snr: all_s.snr(),
        all: all_s,
        per_sample_count: ps_idx.len(),
        per_sample_trace_cov: ps_trace,
        per_sample_b_simple: ps_b,
        group_batch_size,
        clean: clean_s,
        mislabeled: noisy_s,
        clean_mislabeled_cos,
        direction_temperature: projections.iter().map(|p| input.lr / 2.0 * variance(p)).collect(),
    }
}

/// The cosine of two groups' true gradients from their minibatch moments and summaries:
/// `g_bar_a . g_bar_b / sqrt(|G_a|^2_hat |G_b|^2_hat)` (NaN when either norm is unresolved).
pub(crate) fn true_gradient_cosine(a: &Moments, sa: &GroupNoise, b: &Moments, sb: &GroupNoise) -> f64 {
    let dot_means = dot(&a.sum, &b.sum) / (a.k as f64 * b.k as f64);
    if sa.grad_norm_sq > 0.0 && sb.grad_norm_sq > 0.0 { dot_means / (sa.grad_norm_sq * sb.grad_norm_sq).sqrt() } else { f64::NAN }
}

fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
}

/// Per-sample `tr(Sigma)` and `B_simple` of the parameters `params` over the samples `idx`, from
/// squared per-sample gradient norms `|g_i|^2 = sum_l |a_i^l|^2 |delta_i^l|^2 (+ |delta_i^l|^2 for
/// a bias)` over the selected layers.
fn per_sample_noise(model: &Mlp, data: &DeviceSplit, idx: &[i64], params: Params) -> (f64, f64) {
    let (x, y) = data.rows(idx);
    let taps = LayerTaps::run(model, x, y);
    let n = idx.len() as f64;
    let layers: Vec<usize> = match params {
        Params::All => (0..model.layers.len()).collect(),
        Params::Layer(l) => vec![l],
    };
    let mut sq = 0.0;
    for l in layers {
        let a2 = taps.row_sq_norms(&taps.inputs[l]);
        let d2 = taps.row_sq_norms(&taps.deltas[l]);
        let bias = if params == Params::All && model.layers[l].bias.is_some() { 1.0 } else { 0.0 };
        sq += a2.iter().zip(&d2).map(|(a, d)| (a + bias) * d).sum::<f64>();
    }
    let sum = params.grad(model, &taps.sum_grads);
    per_sample_stats(sq, dot(&sum, &sum) / (n * n), idx.len(), data.len)
}

/// One forward/backward pass with taps: each layer's input `a^l` and the per-sample gradient at
/// its output `delta^l = d l_i / d h^l_i` (host, row-major `[batch, width]`), and the parameter
/// gradients of the summed loss `sum_i l_i`.
pub struct LayerTaps {
    pub inputs: Vec<(Vec<f32>, usize)>,
    pub deltas: Vec<(Vec<f32>, usize)>,
    pub sum_grads: burn::tensor::Gradients,
}

impl LayerTaps {
    pub fn run(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> Self {
        let b = y.dims()[0];
        let device = model.layers[0].weight.val().device();
        let last = model.layers.len() - 1;
        let mut h = x;
        let mut inputs = Vec::new();
        let mut taps = Vec::new();
        for (l, layer) in model.layers.iter().enumerate() {
            let width = layer.weight.val().dims()[1];
            inputs.push((read_f32s(h.clone()), h.dims()[1]));
            let tap = Tensor::<2>::zeros([b, width], &device).require_grad();
            let pre = layer.forward(h) + tap.clone();
            taps.push((tap, width));
            h = if l == last { pre } else { model.activation.apply(pre) };
        }
        let (nll, _) = nll_sum_and_correct(h, y);
        let sum_grads = nll.backward();
        let deltas = taps.iter().map(|(t, w)| (read_f32s(t.grad(&sum_grads).expect("tap gradient")), *w)).collect();
        Self { inputs, deltas, sum_grads }
    }

    fn row_sq_norms(&self, (values, width): &(Vec<f32>, usize)) -> Vec<f64> {
        values.chunks(*width).map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum()).collect()
    }

    /// Per-sample gradients of layer `l`'s weight, `g_i[j * fan_out + k] = a_i[j] delta_i[k]`.
    pub fn layer_grads(&self, l: usize) -> Vec<Vec<f64>> {
        let (a, fan_in) = &self.inputs[l];
        let (d, fan_out) = &self.deltas[l];
        a.chunks(*fan_in)
            .zip(d.chunks(*fan_out))
            .map(|(ai, di)| ai.iter().flat_map(|&aj| di.iter().map(move |&dk| aj as f64 * dk as f64)).collect())
            .collect()
    }
}
