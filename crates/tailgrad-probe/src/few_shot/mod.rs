//! Few-shot geometry of representations (Sorscher, Ganguli & Sompolinsky, *Neural representational
//! geometry underlies few-shot concept learning*, PNAS 2022; code bsorsch/geometry-fewshot-learning;
//! used by Qu et al.'s talk for heavy-tailed networks, the authors' `geometry()`).
//!
//! A class (concept) a is a cloud of P points `x = x_a + xi` with centroid `x_a` and covariance
//! `C_a`. The prototype rule learns a new pair of concepts from m examples each: it classifies a
//! test point of a as a if it is closer to a's prototype (the mean of a's m shots) than to b's.
//! With `Delta = x_a - x_b`, `R_a^2 = tr C_a` (the mean squared radius), the participation
//! dimension `D_a = (tr C_a)^2 / tr(C_a^2)` (their `S_a^2 / sum r_ai^4` from the centred SVD), and
//! the overlaps
//!
//! * `csa = Delta^T C_a Delta / (|Delta|^2 tr C_a)` (their `sum_i (u_ai . Delta-hat)^2 r_ai^2 / S_a`),
//! * `csb = Delta^T C_b Delta / (|Delta|^2 tr C_a)`,
//! * `ss = tr(C_a C_b) / (tr C_a)^2` (their `sum_ij (u_ai . u_bj)^2 r_ai^2 r_bj^2 / S_a^2`),
//!
//! the margin `h = |x - p_b|^2 - |x - p_a|^2` of a test point has mean
//! `|Delta|^2 + (R_b^2 - R_a^2)/m` and, in units of `4 R_a^4`, the variance
//! `1/(D_a m) + (csa + csb/m) Delta~^2 + ss/m + n2`, `Delta~^2 = |Delta|^2 / R_a^2`, so that
//!
//! `SNR_ab = (1/2) (Delta~^2 + bias/m) / sqrt(1/(D_a m) + (csa + csb/m) Delta~^2 + ss/m + n2)`,
//! `bias = R_b^2 / R_a^2 - 1`, and the predicted error is `H(SNR) = erfc(SNR / sqrt 2) / 2`.
//!
//! **The 1/m^2 term.** `n2` is the variance of `|p_b - x_b|^2 - |p_a - x_a|^2` (the prototypes'
//! own radii), `[m Var|xi_a|^2 + 2m(m-1) tr C_a^2 + (same for b)] / (4 m^4 R_a^4)`. For Gaussian
//! clouds (`Var|xi|^2 = 2 tr C^2`) and equal classes it is the `1/(D m^2)` of the authors'
//! Gaussian-cloud notebook term, for points on spheres (`Var|xi|^2 = 0`) their `m(m-1)/(D m^4)`
//! ("Synthetic experiments" notebook). tailgrad uses this general form with `Var|xi|^2` measured
//! from the P points; it differs from the "Embeddings" notebook's heuristic
//! `1/(2 D m^2) (1 - D/(P m)) + (S_b/S_a)/(2 D m^2) (1 - D/(P m))`, which reduces to the Gaussian
//! term as P grows but not to the sphere term. Qu's script omits `n2` altogether
//! ([`SecondOrder::Omitted`]), which underestimates the error for m >= 2.

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::dot;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// `H(x) = erfc(x / sqrt 2) / 2`, the Gaussian tail: the predicted error at SNR x.
pub fn gaussian_tail(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

/// The geometry of one concept manifold, from its points.
#[derive(Clone, Debug)]
pub struct Manifold {
    n: usize,
    points: usize,
    centroid: Vec<f64>,
    /// `C = (1/P) sum xi xi^T`, row-major n x n.
    cov: Vec<f64>,
    trace: f64,
    trace_sq: f64,
    /// `Var |xi|^2` over the points.
    norm_var: f64,
}

impl Manifold {
    /// The manifold of `x` (`P x n` rows, row-major).
    pub fn from_points(x: &[f64], n: usize) -> Self {
        assert!(n > 0 && x.len() % n == 0 && x.len() >= 2 * n, "few_shot: need at least 2 points of width {n}");
        let p = x.len() / n;
        let mut centroid = vec![0.0; n];
        x.chunks(n).for_each(|r| crate::linalg::axpy(1.0 / p as f64, r, &mut centroid));
        let xi: Vec<f64> = x.chunks(n).flat_map(|r| r.iter().zip(&centroid).map(|(a, b)| a - b)).collect();
        let cov = crate::linalg::gram(&xi, p, n, 1.0 / p as f64);
        let trace = (0..n).map(|i| cov[i * n + i]).sum();
        let trace_sq = cov.iter().map(|c| c * c).sum();
        let norms: Vec<f64> = xi.chunks(n).map(|r| dot(r, r)).collect();
        let (_, sd) = crate::linalg::mean_std(&norms);
        Self { n, points: p, centroid, cov, trace, trace_sq, norm_var: sd * sd }
    }

    pub fn points(&self) -> usize {
        self.points
    }

    /// `R^2 = tr C`, the mean squared distance of a point from the centroid.
    pub fn radius_sq(&self) -> f64 {
        self.trace
    }

    /// `D = (tr C)^2 / tr(C^2)`.
    pub fn dimension(&self) -> f64 {
        self.trace * self.trace / self.trace_sq
    }

    fn quad(&self, v: &[f64]) -> f64 {
        let n = self.n;
        (0..n).map(|i| v[i] * dot(&self.cov[i * n..(i + 1) * n], v)).sum()
    }
}

/// Which 1/m^2 term the SNR carries (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondOrder {
    /// The variance of the prototypes' radii, from the measured `Var |xi|^2` (tailgrad's default).
    Measured,
    /// No 1/m^2 term (Qu's `geometry()` script).
    Omitted,
}

/// The geometry of the ordered pair (a, b): test points of a, prototypes of a and b.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PairGeometry {
    /// `Delta~^2 = |x_a - x_b|^2 / R_a^2`.
    pub signal: f64,
    /// `R_b^2 / R_a^2 - 1`.
    pub bias: f64,
    /// `D_a`.
    pub dimension: f64,
    pub csa: f64,
    pub csb: f64,
    pub ss: f64,
    /// `[Var|xi_a|^2 + Var|xi_b|^2] / (4 R_a^4)`, the 1/m^3 part of n2.
    pub norm_var: f64,
    /// `[tr C_a^2 + tr C_b^2] / (2 R_a^4)`, the (m - 1)/m^3 part of n2.
    pub radius_var: f64,
}

impl PairGeometry {
    pub fn new(a: &Manifold, b: &Manifold) -> Self {
        assert_eq!(a.n, b.n, "few_shot: manifolds of different widths");
        let delta: Vec<f64> = a.centroid.iter().zip(&b.centroid).map(|(x, y)| x - y).collect();
        let d2 = dot(&delta, &delta);
        let r4 = a.trace * a.trace;
        let cross: f64 = a.cov.iter().zip(&b.cov).map(|(x, y)| x * y).sum();
        let (csa, csb) = if d2 > 0.0 { (a.quad(&delta) / (d2 * a.trace), b.quad(&delta) / (d2 * a.trace)) } else { (0.0, 0.0) };
        Self {
            signal: d2 / a.trace,
            bias: b.trace / a.trace - 1.0,
            dimension: a.dimension(),
            csa,
            csb,
            ss: cross / r4,
            norm_var: (a.norm_var + b.norm_var) / (4.0 * r4),
            radius_var: (a.trace_sq + b.trace_sq) / (2.0 * r4),
        }
    }

    /// The 1/m^2 term `n2` at m shots.
    pub fn second_order(&self, m: usize) -> f64 {
        let m = m as f64;
        self.norm_var / m.powi(3) + self.radius_var * (m - 1.0) / m.powi(3)
    }

    /// `SNR_ab` at m shots.
    pub fn snr(&self, m: usize, term: SecondOrder) -> f64 {
        let mf = m as f64;
        let n2 = match term {
            SecondOrder::Measured => self.second_order(m),
            SecondOrder::Omitted => 0.0,
        };
        let noise = 1.0 / (self.dimension * mf) + (self.csa + self.csb / mf) * self.signal + self.ss / mf + n2;
        0.5 * (self.signal + self.bias / mf) / noise.sqrt()
    }

    /// `H(SNR_ab)`, the predicted error on a's test points.
    pub fn predicted_error(&self, m: usize, term: SecondOrder) -> f64 {
        gaussian_tail(self.snr(m, term))
    }
}

/// The measured error of the prototype rule on a's points (`a`, `b`: `P x n` rows): over
/// `episodes` draws of m shots from each class (without replacement), the fraction of a's other
/// points closer to b's prototype than to a's (ties count half).
pub fn prototype_error(a: &[f64], b: &[f64], n: usize, m: usize, episodes: usize, rng: &mut impl rand::Rng) -> f64 {
    let (pa, pb) = (a.len() / n, b.len() / n);
    assert!(m >= 1 && m < pa && m <= pb, "few_shot: {m} shots need more points (a: {pa}, b: {pb})");
    let mut ia: Vec<usize> = (0..pa).collect();
    let mut ib: Vec<usize> = (0..pb).collect();
    let prototype = |x: &[f64], idx: &[usize]| {
        let mut p = vec![0.0; n];
        idx.iter().for_each(|&i| crate::linalg::axpy(1.0 / idx.len() as f64, &x[i * n..(i + 1) * n], &mut p));
        p
    };
    let dist2 = |x: &[f64], p: &[f64]| x.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
    let mut errors = 0.0;
    let mut tests = 0usize;
    for _ in 0..episodes {
        ia.shuffle(rng);
        ib.shuffle(rng);
        let (proto_a, proto_b) = (prototype(a, &ia[..m]), prototype(b, &ib[..m]));
        for &i in &ia[m..] {
            let x = &a[i * n..(i + 1) * n];
            let (da, db) = (dist2(x, &proto_a), dist2(x, &proto_b));
            errors += if db < da { 1.0 } else if db == da { 0.5 } else { 0.0 };
            tests += 1;
        }
    }
    errors / tests as f64
}
