//! Statistics of trained weight matrices, as heavy-tailed-network studies track them during
//! training (Qu, Wardak & Gong 2022; Martin & Mahoney's WeightWatcher):
//!
//! * [`power_law_fit`]: the continuous power-law MLE of Clauset, Shalizi & Newman (2009),
//!   `alpha_hat = 1 + n / sum_i ln(x_i / x_min)` over the `n` values `>= x_min`, with `x_min`
//!   chosen among the data to minimize the Kolmogorov-Smirnov distance between the empirical tail
//!   and the fitted law `P(X > x) = (x / x_min)^(1 - alpha)`.
//! * [`esd`]: the empirical spectral density of `W^T W` (eigenvalues of the correlation matrix of a
//!   layer), whose tail exponent WeightWatcher reports as the layer's quality metric.
//! * [`mcculloch`]: McCulloch's (1986) quantile estimator of a stable law's (alpha, beta, scale,
//!   location) from `nu_alpha = (x95 - x05) / (x75 - x25)` and `nu_beta = (x95 + x05 - 2 x50) /
//!   (x95 - x05)`. McCulloch's printed lookup table is replaced by one simulated once from
//!   tailgrad's own Chambers-Mallows-Stuck sampler (alpha in [0.5, 2], beta in [0, 1]).

mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::sym_eigen;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use tailgrad_init::Stable;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PowerLaw {
    /// Density exponent: `p(x) ~ x^(-alpha)`.
    pub alpha: f64,
    pub x_min: f64,
    /// Values in the fitted tail.
    pub n_tail: usize,
    /// KS distance of the tail fit.
    pub ks: f64,
}

/// Fit a power-law tail to the positive values of `xs` (at least `min_tail` of them in the tail).
pub fn power_law_fit(xs: &[f64], min_tail: usize) -> Option<PowerLaw> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| *x > 0.0 && x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n < min_tail.max(3) {
        return None;
    }
    // Suffix sums of ln x, so each candidate x_min costs O(tail) only for the KS distance.
    let mut best: Option<PowerLaw> = None;
    let mut suffix_ln = vec![0.0; n + 1];
    for i in (0..n).rev() {
        suffix_ln[i] = suffix_ln[i + 1] + v[i].ln();
    }
    let last_start = n - min_tail.max(3);
    for start in 0..=last_start {
        if start > 0 && v[start] == v[start - 1] {
            continue;
        }
        let x_min = v[start];
        let m = (n - start) as f64;
        let alpha = 1.0 + m / (suffix_ln[start] - m * x_min.ln());
        if !alpha.is_finite() {
            continue;
        }
        let ks = (start..n)
            .map(|i| {
                let cdf_fit = 1.0 - (v[i] / x_min).powf(1.0 - alpha);
                let below = (i - start) as f64 / m;
                let upto = (i - start + 1) as f64 / m;
                (cdf_fit - below).abs().max((cdf_fit - upto).abs())
            })
            .fold(0.0, f64::max);
        if best.as_ref().is_none_or(|b| ks < b.ks) {
            best = Some(PowerLaw { alpha, x_min, n_tail: n - start, ks });
        }
    }
    best
}

/// Eigenvalues of `W^T W / fan_in` for `w` row-major `[fan_in, fan_out]`, ascending.
pub fn esd(w: &[f32], fan_in: usize, fan_out: usize) -> Vec<f64> {
    let mut c = vec![0.0; fan_out * fan_out];
    for row in w.chunks(fan_out) {
        for a in 0..fan_out {
            let ra = row[a] as f64;
            if ra == 0.0 {
                continue;
            }
            for b in a..fan_out {
                c[a * fan_out + b] += ra * row[b] as f64;
            }
        }
    }
    for a in 0..fan_out {
        for b in a..fan_out {
            let v = c[a * fan_out + b] / fan_in as f64;
            c[a * fan_out + b] = v;
            c[b * fan_out + a] = v;
        }
    }
    sym_eigen(&c, fan_out).values
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StableFit {
    pub alpha: f64,
    pub beta: f64,
    pub scale: f64,
    pub location: f64,
}

const ALPHAS: [f64; 16] = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0];
const BETAS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Quantile statistics of a sample: (nu_alpha, nu_beta, x25, x50, x75).
fn quantile_stats(sorted: &[f64]) -> (f64, f64, f64, f64, f64) {
    let q = |p: f64| {
        let pos = p * (sorted.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        sorted[i] + f * (sorted[(i + 1).min(sorted.len() - 1)] - sorted[i])
    };
    let (x05, x25, x50, x75, x95) = (q(0.05), q(0.25), q(0.5), q(0.75), q(0.95));
    ((x95 - x05) / (x75 - x25), (x95 + x05 - 2.0 * x50) / (x95 - x05), x25, x50, x75)
}

/// Per grid point (alpha, beta) of a unit-scale stable law (S1, location 0): nu_alpha, nu_beta,
/// the interquartile range and the median. Simulated once (200,000 draws per point, seed 0).
fn table() -> &'static Vec<[f64; 6]> {
    static TABLE: OnceLock<Vec<[f64; 6]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = tailgrad_init::rng(0);
        let mut out = Vec::new();
        for &a in &ALPHAS {
            for &b in &BETAS {
                let law = Stable::new(a, b, 1.0).expect("grid values are valid");
                let mut xs: Vec<f64> = (0..200_000).map(|_| law.sample(&mut rng)).collect();
                xs.sort_by(f64::total_cmp);
                let (na, nb, x25, x50, x75) = quantile_stats(&xs);
                out.push([a, b, na, nb, x75 - x25, x50]);
            }
        }
        out
    })
}

/// McCulloch's estimate of a stable law from a sample (at least 100 values).
pub fn mcculloch(xs: &[f64]) -> Option<StableFit> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 100 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let (na, nb, x25, x50, x75) = quantile_stats(&v);
    let sign = if nb < 0.0 { -1.0 } else { 1.0 };
    let nb = nb.abs();
    // Inverse-distance weighting of the nearest grid points in (nu_alpha, nu_beta), which vary
    // smoothly and monotonically over the grid.
    let t = table();
    let dist = |row: &[f64; 6]| ((row[2] - na) / na).powi(2) + ((row[3] - nb) / 0.1).powi(2);
    let mut near: Vec<&[f64; 6]> = t.iter().collect();
    near.sort_by(|a, b| dist(a).total_cmp(&dist(b)));
    let (mut wsum, mut acc) = (0.0, [0.0; 4]);
    for row in near.iter().take(4) {
        let w = 1.0 / (dist(row) + 1e-9);
        wsum += w;
        acc[0] += w * row[0];
        acc[1] += w * row[1];
        acc[2] += w * row[4];
        acc[3] += w * row[5];
    }
    let (alpha, mut beta, iqr, median) = (acc[0] / wsum, acc[1] / wsum, acc[2] / wsum, acc[3] / wsum);
    if alpha > 1.9 {
        // Near the Gaussian the quantiles do not depend on beta (it is not identifiable at 2).
        beta = 0.0;
    }
    let scale = (x75 - x25) / iqr;
    Some(StableFit { alpha, beta: sign * beta, scale, location: x50 - sign * median * scale })
}
