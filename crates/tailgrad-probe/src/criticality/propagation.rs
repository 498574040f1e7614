//! Measured signal propagation through random tanh nets `h^l = W^l tanh(h^(l-1))`, a fresh
//! weight matrix per layer (burn's `h W` layout):
//!
//! * [`lyapunov`]: the largest exponents from products of layer Jacobians
//!   `J^l = W^l diag(tanh'(h^(l-1)))` (`v -> (tanh'(h) * v) W`), re-orthonormalized by Gram-Schmidt
//!   (QR) every layer, `lambda_i = <ln R_ii>` over layers;
//! * [`propagated_circle_cv`]: inputs on a circle, distances `d_k = |h^l(t_(k+1)) - h^l(t_k)|`
//!   between neighbouring angles, `CV_l = std_k d_k / mean_k d_k` (Qu et al.: CV ~ 1 in the
//!   extended critical regime of heavy-tailed nets vs ~0.2-0.4 at alpha = 2);
//! * [`ensemble`]: a measurement repeated over independent weight draws, with its mean and spread
//!   (the authors average CV over 100 draws per cell).

use crate::linalg::{axpy, dot, norm};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_init::InitSpec;
use tailgrad_model::loss::read_f32s;

/// `y = x W` for `W` row-major `[n, m]`.
pub(crate) fn vec_mat(x: &[f64], w: &[f32], m: usize) -> Vec<f64> {
    let mut y = vec![0.0; m];
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            let row = &w[i * m..(i + 1) * m];
            y.iter_mut().zip(row).for_each(|(y, &wij)| *y += xi * wij as f64);
        }
    }
    y
}

/// The nonlinearity `phi` of `h^l = W^l phi(h^(l-1))`: tanh (the authors'), or none (a linear
/// net, whose finite-width statistics are known exactly: [`super::finite_width`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    Tanh,
    Linear,
}

impl Activation {
    pub fn value(self, x: f64) -> f64 {
        match self {
            Self::Tanh => x.tanh(),
            Self::Linear => x,
        }
    }

    /// `phi'(x)`.
    pub fn slope(self, x: f64) -> f64 {
        match self {
            Self::Tanh => 1.0 - x.tanh().powi(2),
            Self::Linear => 1.0,
        }
    }
}

/// The `k` largest Lyapunov exponents (per layer, of lengths) of a random net of width `width`
/// with nonlinearity `phi`: `depth` layers after `burn_in` layers that bring the signal to its
/// stationary length. The input has unit variance per unit.
pub fn lyapunov(init: &InitSpec, phi: Activation, width: usize, depth: usize, burn_in: usize, k: usize, seed: u64) -> Vec<f64> {
    let mut rng = tailgrad_init::rng(seed);
    let mut h: Vec<f64> = (0..width).map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng)).collect();
    let mut vs: Vec<Vec<f64>> = (0..k).map(|i| (0..width).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    let mut sums = vec![0.0; k];
    for l in 0..burn_in + depth {
        let w = init.sample(width, width, &mut rng);
        let slope: Vec<f64> = h.iter().map(|&x| phi.slope(x)).collect();
        let act: Vec<f64> = h.iter().map(|&x| phi.value(x)).collect();
        h = vec_mat(&act, &w, width);
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(k);
        for v in &vs {
            let scaled: Vec<f64> = v.iter().zip(&slope).map(|(a, b)| a * b).collect();
            let mut u = vec_mat(&scaled, &w, width);
            for q in &next {
                let c = dot(q, &u);
                axpy(-c, q, &mut u);
            }
            let r = norm(&u);
            if l >= burn_in {
                sums[next.len()] += r.max(1e-300).ln();
            }
            next.push(u.iter().map(|x| x / r.max(1e-300)).collect());
        }
        vs = next;
    }
    sums.iter().map(|s| s / depth as f64).collect()
}

/// `CV_l` for l = 1..=depth of `angles` inputs on the unit circle `h^0(t) = (cos t, sin t, 0, ...)`,
/// `t = 2 pi k / angles`, propagated on `device` through one draw of `depth` weight matrices.
pub fn propagated_circle_cv(init: &InitSpec, width: usize, depth: usize, angles: usize, seed: u64, device: &Device) -> Vec<f64> {
    let mut rng = tailgrad_init::rng(seed);
    let mut x = vec![0f32; angles * width];
    for k in 0..angles {
        let t = 2.0 * std::f64::consts::PI * k as f64 / angles as f64;
        x[k * width] = t.cos() as f32;
        x[k * width + 1] = t.sin() as f32;
    }
    let mut h = Tensor::<2>::from_data(TensorData::new(x, [angles, width]), device);
    let mut cvs = Vec::with_capacity(depth);
    for _ in 0..depth {
        let w = Tensor::<2>::from_data(TensorData::new(init.sample(width, width, &mut rng), [width, width]), device);
        // h^l = W^l tanh(h^(l-1)) at every layer, the circle itself included, as the authors
        // propagate it (geometry_analysis/greatcircle_proj2.py).
        h = h.tanh().matmul(w);
        // Distances between neighbouring angles (the circle closes: the last pairs with the first).
        let next = Tensor::cat(vec![h.clone().narrow(0, 1, angles - 1), h.clone().narrow(0, 0, 1)], 0);
        // CV is scale-free: divide by the largest difference first so that deep ordered nets,
        // whose signals shrink like sigma_w^l, do not underflow f32 when squared.
        let diff = next - h.clone();
        let scale = (read_f32s(diff.clone().abs().max())[0] as f64).max(f64::MIN_POSITIVE);
        let d: Vec<f64> = read_f32s(diff.div_scalar(scale).powf_scalar(2.0).sum_dim(1).sqrt()).iter().map(|&v| v as f64).collect();
        let (mean, std) = crate::linalg::mean_std(&d);
        cvs.push(std / mean);
    }
    cvs
}

/// A measurement (a vector, e.g. CV per layer) over independent weight draws: the mean and
/// the standard deviation across draws, entry by entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ensemble {
    pub draws: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// `measure(seed)` for `draws` seeds derived from `seed`, the draws shared among the machine's
/// cores (each draw owns its seed, so the result does not depend on the number of threads).
pub fn ensemble(draws: usize, seed: u64, measure: impl Fn(u64) -> Vec<f64> + Sync) -> Ensemble {
    let seeds = draw_seeds(draws.max(1), seed);
    let runs = parallel_map(&seeds, &|s: &u64| measure(*s));
    let n = runs[0].len();
    let (mean, std) = (0..n).map(|i| crate::linalg::mean_std(&runs.iter().map(|r| r[i]).collect::<Vec<_>>())).unzip();
    Ensemble { draws: runs.len(), mean, std }
}

/// The seeds of `draws` weight draws derived from `seed` (the same for every ensemble of a cell).
pub(crate) fn draw_seeds(draws: usize, seed: u64) -> Vec<u64> {
    (0..draws as u64).map(|d| seed.wrapping_mul(1_000_003).wrapping_add(d)).collect()
}

/// `f` over `items` in order, on up to `available_parallelism` scoped threads (one contiguous chunk
/// each).
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: &(impl Fn(&T) -> R + Sync)) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len()).max(1);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("an ensemble thread panicked")).collect()
    })
}
