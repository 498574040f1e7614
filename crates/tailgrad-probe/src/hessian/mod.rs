//! The Hessian of a loss without second-order autodiff (burn has none): Hessian-vector products
//! from the objective (exact for networks, [`crate::objective::NetLoss`]; central finite
//! differences of gradients, [`crate::objective::fd_hvp`], for other objectives), then the standard estimators on
//! top of them (as PyHessian, Yao et al. 2020, offers): top eigenvalues by Lanczos, the trace by
//! Hutchinson's estimator, and the spectral density by stochastic Lanczos quadrature (SLQ).

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::{self, Lanczos, dot, lanczos, rademacher};
use crate::objective::Objective;
use rand::Rng;
use serde::{Deserialize, Serialize};

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
