//! The Hessian of a loss without second-order autodiff (burn has none): Hessian-vector products
//! from the objective (exact for networks, [`crate::objective::NetLoss`]; central finite
//! differences of gradients, [`fd_hvp`], for other objectives), then the standard estimators on
//! top of them (as PyHessian, Yao et al. 2020, offers): top eigenvalues by Lanczos, the trace by
//! Hutchinson's estimator, and the spectral density by stochastic Lanczos quadrature (SLQ).

use crate::linalg::{self, Lanczos, dot, lanczos, norm, rademacher};
use crate::objective::Objective;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `H v ~ (g(w + h u) - g(w - h u)) / (2 h) * |v|` with `u = v / |v|` and step
/// `h = rel_step * max(|w| / sqrt(n), 1e-3)`, i.e. relative to the root-mean-square weight so the
/// per-coordinate move stays a small fraction of a typical weight.
///
/// Error: truncation `O(h^2 |D^3 L|)` plus the round-off of the gradients `O(eps |g| / h)`, and,
/// for piecewise-linear units, kinks crossed within `h` (`O(jump / h)`). For networks in f32 near a
/// minimum no step serves every direction (measured on a trained ReLU net: errors from 5e-3 to
/// 30 times lambda_max as the step goes from 3e-4 to 1e-3): networks use the exact R-operator
/// instead; this is for objectives evaluated in f64 (quadratics, references).
pub fn fd_hvp<O: Objective + ?Sized>(obj: &mut O, w: &[f64], v: &[f64], rel_step: f64) -> Vec<f64> {
    let nv = norm(v);
    if nv == 0.0 {
        return vec![0.0; v.len()];
    }
    let h = rel_step * (norm(w) / (w.len() as f64).sqrt()).max(1e-3);
    let step = h / nv;
    let plus: Vec<f64> = w.iter().zip(v).map(|(a, b)| a + step * b).collect();
    let minus: Vec<f64> = w.iter().zip(v).map(|(a, b)| a - step * b).collect();
    let gp = obj.gradient(&plus).1;
    let gm = obj.gradient(&minus).1;
    gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * step)).collect()
}

/// Default relative finite-difference step of [`fd_hvp`].
pub const REL_STEP: f64 = 1e-2;

/// The dense Hessian, column by column (`n` HVPs with unit vectors; for small layers only),
/// symmetrized `(H + H^T) / 2` (the exact HVPs of a network are symmetric to round-off already).
/// Row-major.
pub fn dense_hessian(obj: &mut dyn Objective, w: &[f64]) -> Vec<f64> {
    let n = w.len();
    let mut h = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        let col = obj.hvp(w, &e);
        e[j] = 0.0;
        for i in 0..n {
            h[i * n + j] = col[i];
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            let s = 0.5 * (h[i * n + j] + h[j * n + i]);
            h[i * n + j] = s;
            h[j * n + i] = s;
        }
    }
    h
}

/// Hessian summary at one point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spectrum {
    /// Largest eigenvalues, descending.
    pub top: Vec<f64>,
    /// Hutchinson estimate of tr(H) and its standard error.
    pub trace: f64,
    pub trace_stderr: f64,
    /// SLQ spectral measure: Ritz nodes and weights pooled over the probe vectors
    /// (weights sum to 1; `dim * weight` counts eigenvalues).
    pub slq_nodes: Vec<f64>,
    pub slq_weights: Vec<f64>,
    pub dim: usize,
}

/// Settings of [`spectrum`].
#[derive(Clone, Debug)]
pub struct SpectrumSpec {
    pub top_k: usize,
    pub lanczos_steps: usize,
    pub hutchinson_probes: usize,
    pub slq_probes: usize,
}

/// Top eigenvalues (Lanczos), trace (Hutchinson: `tr H = E[z^T H z]`, z Rademacher) and SLQ
/// density (Ubaru, Chen & Saad 2017: for Rademacher start z/|z|, the Gauss quadrature of the
/// Lanczos tridiagonal T, nodes = eigenvalues of T, weights = squared first components of its
/// eigenvectors, estimates the spectral measure `(1/n) sum_i delta(x - lambda_i)`).
pub fn spectrum<R: Rng>(obj: &mut dyn Objective, w: &[f64], spec: &SpectrumSpec, rng: &mut R) -> Spectrum {
    let n = w.len();
    let mut op = |v: &[f64]| obj.hvp(w, v);
    let (top, _) = linalg::top_eigenpairs(&mut op, n, spec.top_k, spec.lanczos_steps, rng);
    let samples: Vec<f64> = (0..spec.hutchinson_probes)
        .map(|_| {
            let z = rademacher(n, rng);
            dot(&z, &op(&z))
        })
        .collect();
    let (trace, trace_stderr) = mean_stderr(&samples);
    let mut slq_nodes = Vec::new();
    let mut slq_weights = Vec::new();
    for _ in 0..spec.slq_probes {
        let lz: Lanczos = lanczos(&mut op, &rademacher(n, rng), spec.lanczos_steps);
        let eig = lz.ritz();
        for (theta, s) in eig.values.iter().zip(&eig.vectors) {
            slq_nodes.push(*theta);
            slq_weights.push(s[0] * s[0] / spec.slq_probes as f64);
        }
    }
    Spectrum { top, trace, trace_stderr, slq_nodes, slq_weights, dim: n }
}

/// The SLQ density smoothed by a Gaussian of width `sigma`, on `grid`.
pub fn smoothed_density(nodes: &[f64], weights: &[f64], grid: &[f64], sigma: f64) -> Vec<f64> {
    let c = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt());
    grid.iter()
        .map(|x| nodes.iter().zip(weights).map(|(t, w)| w * c * (-((x - t) / sigma).powi(2) / 2.0).exp()).sum())
        .collect()
}

pub(crate) fn mean_stderr(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}
