//! SGD's noise along curvature: how strong the minibatch noise is along each of the training-loss
//! Hessian's top eigendirections. Yang, Tang & Tu (PRL 130, 237101 (2023), arXiv:2206.01246):
//! SGD noise is anisotropic, strongest along the stiff directions, and that anisotropy turns it
//! into an effective, landscape-dependent loss term that favours flat solutions; Feng & Tu (PNAS
//! 2021) see the same alignment as the inverse variance-flatness relation.
//!
//! For the top eigenpairs `(lambda_i, v_i)` of H (Lanczos) and M minibatches of size B drawn
//! without replacement from the n samples of the loss, with minibatch-mean gradients `g_b` and the
//! full gradient `g`, the per-sample gradient covariance `C = (1/n) sum_j (g_j - g)(g_j - g)^T`
//! along `v_i` is
//!
//! ```text
//! s_i^2 = v_i^T C v_i = B (n - 1) / (n - B) * (1/M) sum_b (v_i . (g_b - g))^2
//! ```
//!
//! (a minibatch mean drawn without replacement has covariance `(C / B)(n - B)/(n - 1)`), and the
//! isotropic level `tr(C) / P` from `|g_b - g|^2` the same way. SGD with batch size B then kicks
//! the weights along `v_i` with variance `lr^2 s_i^2 / B` per step. Reported: `s_i^2` against
//! `lambda_i`, the anisotropy `s_i^2 / (tr C / P)`, the share of the noise power in the top
//! directions `sum_i s_i^2 / tr C`, and the alignment exponent, the slope of `ln s_i^2` on
//! `ln lambda_i` (1 where `C` is proportional to `H`, as at a least-squares minimum with noise
//! independent of the input; 0 for isotropic noise).

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::{LineFit, dot, fit_line, top_eigenpairs};
use crate::objective::Objective;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How the directions and the noise are sampled.
#[derive(Clone, Debug)]
pub struct NoiseCurvatureSpec {
    pub top_k: usize,
    pub lanczos_steps: usize,
    pub batch_size: usize,
    pub batches: usize,
}

/// The noise along the Hessian's top eigendirections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoiseCurvature {
    /// n: the samples of the loss.
    pub population: usize,
    pub batch_size: usize,
    pub batches: usize,
    /// `lambda_i`, descending.
    pub eigenvalues: Vec<f64>,
    /// `s_i^2 = v_i^T C v_i`, the per-sample gradient variance along `v_i`.
    pub variances: Vec<f64>,
    /// `tr(C) / P`: the variance along a typical direction.
    pub isotropic: f64,
    /// `sum_i s_i^2 / tr(C)`: the share of the noise power in the top directions.
    pub top_share: f64,
    /// `ln s_i^2 = b + slope ln lambda_i` over the directions with `lambda_i > 0` (None: fewer than 3).
    pub alignment: Option<LineFit>,
}

/// Measure at `w`: `obj` is the loss over the n samples (its Hessian and full gradient),
/// `batch_gradient(rows)` the gradient of the mean loss over the rows `rows` of those samples.
pub fn measure<R: Rng>(
    obj: &mut dyn Objective,
    w: &[f64],
    population: usize,
    batch_gradient: &mut dyn FnMut(&[usize]) -> Vec<f64>,
    spec: &NoiseCurvatureSpec,
    rng: &mut R,
) -> NoiseCurvature {
    let (b, n, m) = (spec.batch_size, population, spec.batches);
    let dim = obj.dim();
    let (eigenvalues, vectors) = top_eigenpairs(&mut |v: &[f64]| obj.hvp(w, v), dim, spec.top_k, spec.lanczos_steps, rng);
    let (_, full) = obj.gradient(w);
    let (mut along, mut total) = (vec![0.0; vectors.len()], 0.0);
    for _ in 0..m {
        let rows = rand::seq::index::sample(rng, n, b).into_vec();
        let d: Vec<f64> = batch_gradient(&rows).iter().zip(&full).map(|(gb, g)| gb - g).collect();
        for (a, v) in along.iter_mut().zip(&vectors) {
            *a += dot(v, &d).powi(2);
        }
        total += dot(&d, &d);
    }
    // Per-sample covariance from the minibatch mean's: times B (n - 1) / (n - B), over M draws.
    let scale = if n > b { b as f64 * (n - 1) as f64 / (n - b) as f64 / m as f64 } else { f64::NAN };
    let variances: Vec<f64> = along.iter().map(|a| a * scale).collect();
    let trace = total * scale;
    let (x, y): (Vec<f64>, Vec<f64>) = eigenvalues.iter().zip(&variances).filter(|(l, s)| **l > 0.0 && **s > 0.0).map(|(l, s)| (l.ln(), s.ln())).unzip();
    NoiseCurvature {
        population: n,
        batch_size: b,
        batches: m,
        top_share: variances.iter().sum::<f64>() / trace,
        isotropic: trace / dim as f64,
        alignment: (x.len() >= 3).then(|| fit_line(&x, &y)),
        eigenvalues,
        variances,
    }
}
