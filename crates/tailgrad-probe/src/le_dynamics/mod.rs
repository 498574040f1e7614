//! Local-elasticity dynamics: the locally elastic ODE of Zhang, Wang & Su ("Imitating deep learning
//! dynamics via locally elastic stochastic differential equations", NeurIPS 2021, arXiv:2110.05960;
//! code zjiayao/le_sde), fitted to how the class-mean logits move during training.
//!
//! With K classes, sampling one training example per step (batch size 1, class k with probability
//! 1/K), the class-mean logit vectors `X_k(t)` follow in expectation
//!
//! ```text
//! dX_k/dt = (1/K) [ alpha(t) X_k + beta(t) sum_(j != k) X_j ]
//! ```
//!
//! with `alpha` the intra-class impact of a step and `beta` the inter-class one (locally elastic
//! when alpha > beta). The mean over classes `Xbar` and the deviations `D_k = X_k - Xbar` then
//! evolve separately: `Xbar(t) = Xbar(0) exp((A + (K-1) B)/K)`, `D_k(t) = D_k(0) exp((A - B)/K)`,
//! with `A = int_0^t alpha`, `B = int_0^t beta`. Inverted, per class and logit component,
//!
//! ```text
//! A(t) = ln|Xbar(t)/Xbar(0)| + (K - 1) ln|D_k(t)/D_k(0)|
//! B(t) = ln|Xbar(t)/Xbar(0)| -          ln|D_k(t)/D_k(0)|
//! ```
//!
//! averaged over classes and components (the authors' `estimate_AB_I`, which averages these logs
//! likewise, skipping components where a ratio is not finite). The rates `alpha`, `beta` are the
//! derivatives of A and B by central differences over the recorded steps (their `diff`).

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use serde::{Deserialize, Serialize};

/// One record: the step and the class-mean logit vectors, `class_means[k][c]` = mean logit `c` over
/// the tracked samples of class `k`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassMeans {
    pub step: u64,
    pub class_means: Vec<Vec<f64>>,
}

/// The integrated impacts at one record, relative to the first.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Impacts {
    pub step: u64,
    /// `A(t) = int alpha`, intra-class.
    pub a: f64,
    /// `B(t) = int beta`, inter-class.
    pub b: f64,
}

/// `A(t)` and `B(t)` at every record, from the class means (the first record is t = 0).
pub fn integrated_impacts(records: &[ClassMeans]) -> Vec<Impacts> {
    records.first().map_or_else(Vec::new, |first| records.iter().map(|r| impacts(first, r)).collect())
}

/// `A(t)` and `B(t)` at record `now` relative to `start` (t = 0).
pub fn impacts(start: &ClassMeans, now: &ClassMeans) -> Impacts {
    let k = start.class_means.len();
    let summary = |x: &[Vec<f64>]| -> (Vec<f64>, Vec<Vec<f64>>) {
        let components = x[0].len();
        let mean: Vec<f64> = (0..components).map(|c| x.iter().map(|row| row[c]).sum::<f64>() / k as f64).collect();
        let dev = x.iter().map(|row| row.iter().zip(&mean).map(|(v, m)| v - m).collect()).collect();
        (mean, dev)
    };
    let (mean0, dev0) = summary(&start.class_means);
    let (mean, dev) = summary(&now.class_means);
    let (mut sum_a, mut sum_b, mut count) = (0.0, 0.0, 0usize);
    for (d, d0) in dev.iter().zip(&dev0) {
        for c in 0..mean.len() {
            let grow_mean = (mean[c] / mean0[c]).abs().ln();
            let grow_dev = (d[c] / d0[c]).abs().ln();
            if grow_mean.is_finite() && grow_dev.is_finite() {
                sum_a += grow_mean + (k as f64 - 1.0) * grow_dev;
                sum_b += grow_mean - grow_dev;
                count += 1;
            }
        }
    }
    let n = count as f64;
    Impacts { step: now.step, a: if count > 0 { sum_a / n } else { f64::NAN }, b: if count > 0 { sum_b / n } else { f64::NAN } }
}

/// `(step, alpha, beta)` at the interior records: central differences of A and B per step.
pub fn rates(impacts: &[Impacts]) -> Vec<(u64, f64, f64)> {
    impacts
        .windows(3)
        .map(|w| {
            let dt = (w[2].step - w[0].step) as f64;
            (w[1].step, (w[2].a - w[0].a) / dt, (w[2].b - w[0].b) / dt)
        })
        .collect()
}
