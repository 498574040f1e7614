//! SGD gradient noise at a fixed w: statistics of the minibatch gradients `g_mu` around their
//! mean `G`, and per-sample gradients of dense layers.
//!
//! * noise covariance trace `tr(Sigma_B) = (1/(K-1)) sum_mu |g_mu - G|^2` for batch size B;
//!   per-sample `tr(Sigma) ~ B tr(Sigma_B)`;
//! * gradient noise scale `B_simple = tr(Sigma) / |G|^2` (McCandlish et al. 2018, "An empirical
//!   model of large-batch training") and gradient SNR `|G|^2 / tr(Sigma_B)`;
//! * the order parameters of Feng & Tu (MLST 2021, learning phases with mislabeled data): the mean
//!   amplitude `<|g_mu|>` and the mean pairwise alignment `<cos(g_mu, g_nu)>_{mu != nu}`, for all,
//!   clean and mislabeled samples separately;
//! * the noise along given directions `p_i`: `T_i = (lr/2) Var_mu(p_i . g_mu)` (Feng & Tu, PNAS 2021).
//!
//! Per-sample gradients of a dense layer `h = a W` are outer products `a_i (dl_i/dh_i)^T`; the
//! factor `dl_i/dh_i` comes from one backward pass through a zero "tap" added to every
//! pre-activation (burn has no per-sample gradients).

use crate::linalg::{axpy, dot, norm};
use crate::params::Params;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;
use tailgrad_train::objective::{nll_sum_and_correct, read_f32s};

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

    pub(crate) fn summary(&self) -> GroupNoise {
        let k = self.k as f64;
        let mean_sq = dot(&self.sum, &self.sum) / (k * k);
        let su = dot(&self.sum_unit, &self.sum_unit);
        GroupNoise {
            batches: self.k,
            mean_grad_norm: mean_sq.sqrt(),
            trace_cov: (self.sum_sq - k * mean_sq) / (k - 1.0),
            mean_amplitude: self.sum_norm / k,
            alignment: (su - k) / (k * (k - 1.0)),
        }
    }
}

/// Noise statistics of one group of minibatch gradients.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupNoise {
    pub batches: usize,
    /// `|G|`, the norm of the mean gradient.
    pub mean_grad_norm: f64,
    /// `tr(Sigma_B)`, unbiased over the K minibatches.
    pub trace_cov: f64,
    /// `<|g_mu|>`.
    pub mean_amplitude: f64,
    /// `<cos(g_mu, g_nu)>` over pairs mu != nu.
    pub alignment: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoiseReport {
    pub batch_size: usize,
    pub all: GroupNoise,
    /// `B tr(Sigma_B) / |G|^2`.
    pub b_simple: f64,
    /// `|G|^2 / tr(Sigma_B)`.
    pub snr: f64,
    /// From per-sample gradients (exact outer products) over `per_sample_count` samples:
    /// `tr(Sigma) = <|g_i|^2> - |<g_i>|^2` and `B_simple = tr(Sigma) / |<g_i>|^2`.
    pub per_sample_count: usize,
    pub per_sample_trace_cov: f64,
    pub per_sample_b_simple: f64,
    /// With label noise: the same statistics over the clean and the mislabeled samples of each
    /// minibatch, and the cosine between the two mean gradients.
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
    let (mut clean, mut noisy) = (Moments::default(), Moments::default());
    let mut projections: Vec<Vec<f64>> = vec![Vec::new(); input.directions.len()];
    let grad_of = |idx: &[i64]| -> Vec<f64> {
        let (x, y) = input.data.rows(idx);
        let (nll, _) = nll_sum_and_correct(model.forward(x), y);
        let grads = nll.div_scalar(idx.len() as f64).backward();
        input.params.grad(model, &grads)
    };
    for mu in 0..k {
        let idx = &order[mu * input.batch_size..(mu + 1) * input.batch_size];
        let g = grad_of(idx);
        for (p, d) in projections.iter_mut().zip(input.directions) {
            p.push(dot(&g, d));
        }
        all.add(&g);
        if let Some(flipped) = input.flipped {
            let (bad, good): (Vec<i64>, Vec<i64>) = idx.iter().partition(|&&i| flipped[i as usize]);
            if !good.is_empty() {
                clean.add(&grad_of(&good));
            }
            if !bad.is_empty() {
                noisy.add(&grad_of(&bad));
            }
        }
    }
    let all_s = all.summary();
    let b = input.batch_size as f64;
    let g2 = all_s.mean_grad_norm.powi(2);
    let ps_idx = &order[..input.per_sample.min(input.data.len)];
    let (ps_trace, ps_b) = per_sample_noise(model, input.data, ps_idx);
    let group = |m: &Moments| (m.k >= 2).then(|| m.summary());
    let clean_mislabeled_cos = (clean.k >= 2 && noisy.k >= 2)
        .then(|| dot(&clean.sum, &noisy.sum) / (norm(&clean.sum) * norm(&noisy.sum)));
    NoiseReport {
        batch_size: input.batch_size,
        b_simple: b * all_s.trace_cov / g2,
        snr: g2 / all_s.trace_cov,
        all: all_s,
        per_sample_count: ps_idx.len(),
        per_sample_trace_cov: ps_trace,
        per_sample_b_simple: ps_b,
        clean: group(&clean),
        mislabeled: group(&noisy),
        clean_mislabeled_cos,
        direction_temperature: projections.iter().map(|p| input.lr / 2.0 * variance(p)).collect(),
    }
}

fn variance(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
}

/// Per-sample `tr(Sigma)` and `B_simple` over the samples `idx`, from squared per-sample
/// gradient norms `|g_i|^2 = sum_l |a_i^l|^2 |delta_i^l|^2 (+ |delta_i^l|^2 for a bias)`.
fn per_sample_noise(model: &Mlp, data: &DeviceSplit, idx: &[i64]) -> (f64, f64) {
    let (x, y) = data.rows(idx);
    let taps = LayerTaps::run(model, x, y);
    let n = idx.len() as f64;
    let mut sq = 0.0;
    for l in 0..model.layers.len() {
        let a2 = taps.row_sq_norms(&taps.inputs[l]);
        let d2 = taps.row_sq_norms(&taps.deltas[l]);
        let bias = if model.layers[l].bias.is_some() { 1.0 } else { 0.0 };
        sq += a2.iter().zip(&d2).map(|(a, d)| (a + bias) * d).sum::<f64>();
    }
    let sum = Params::All.grad(model, &taps.sum_grads);
    let g2 = dot(&sum, &sum) / (n * n);
    let trace = sq / n - g2;
    (trace, trace / g2)
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
