//! Mean-field theory of deep random tanh networks without biases.
//!
//! **Gaussian weights** `N(0, sigma_w^2 / N)` (Poole et al. 2016; Schoenholz et al. 2017): the
//! length map `q^(l+1) = sigma_w^2 E_z[tanh(sqrt(q^l) z)^2]` and its fixed point `q*`; the slope of
//! the correlation map at c = 1, `chi_1 = sigma_w^2 E_z[tanh'(sqrt(q*) z)^2]`, whose logarithm is the
//! largest Lyapunov exponent per layer of squared lengths (`(1/2) ln chi_1` of lengths); the
//! correlation map `c' = sigma_w^2 E[tanh(u1) tanh(u2)] / q*` with `(u1, u2)` centered Gaussian of
//! variances q* and correlation c, its stable fixed point c*, and its slope there
//! `chi_c = sigma_w^2 E[tanh'(u1) tanh'(u2)]`, which sets the correlation length
//! `xi_c = -1 / ln chi_c`. Without biases: for sigma_w < 1, q* = 0 exactly (tanh contracts), c* = 1,
//! chi_c = chi_1 = sigma_w^2 (ordered); at sigma_w = 1, chi_1 = 1 and xi is infinite (critical; q
//! decays only algebraically, ~1/l); for sigma_w > 1, q* > 0, chi_1 > 1 and c* = 0 (tanh is odd, so
//! uncorrelated inputs stay uncorrelated), with `chi_c = sigma_w^2 E[tanh'(sqrt(q*) z)]^2 < 1`.
//!
//! **Alpha-stable weights** of scale `sigma_w (1 / (2N))^(1/alpha)` (Qu et al.; the authors'
//! `random_dnn/heavy_tailed_mlp.md`): a pre-activation is alpha-stable given the previous layer,
//! and with `q` the alpha-th power of its scale (times 2) the length map is
//! `q^(l+1) = sigma_w^alpha E_z[|tanh((q^l / 2)^(1/alpha) z)|^alpha]`, z standard alpha-stable
//! (`E exp(itz) = exp(-|t|^alpha)`); at alpha = 2 it is the Gaussian map above. For alpha < 2 the map
//! leaves 0 with a logarithmically infinite slope, so q* > 0 for every sigma_w (exponentially small
//! at small sigma_w). The analogue of chi_1 under the Poole-style decoupling,
//! `chi_alpha = sigma_w^alpha E_z[|tanh'((q*/2)^(1/alpha) z)|^alpha]` with Lyapunov exponent
//! `ln(chi_alpha) / alpha`, reduces to chi_1 at alpha = 2; for alpha < 2 the decoupling it assumes
//! does not hold (the authors' note shows it by simulation), so `chi_alpha = 1` is a theory line to
//! compare the measured exponent with, not the edge of chaos itself. Since `|tanh'| <= 1`,
//! `chi_alpha <= sigma_w^alpha`, so the line lies above sigma_w = 1 (1.12 at alpha = 1.5), while
//! the measured edge of heavy-tailed nets lies below 1 (Qu et al.). On the quadrature grid the
//! logarithmic slope at q = 0 is cut off by the largest draw, so q* = 0 below some small sigma_w.

use crate::linalg::sym_eigen;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Gauss-Hermite nodes and weights for `E_{z ~ N(0,1)}` (Golub-Welsch on the Jacobi matrix of
/// the probabilists' Hermite polynomials), 80 points: exact for polynomials of degree < 160.
fn hermite() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = 80;
        let mut j = vec![0.0; n * n];
        for k in 1..n {
            let b = (k as f64).sqrt();
            j[(k - 1) * n + k] = b;
            j[k * n + k - 1] = b;
        }
        let eig = sym_eigen(&j, n);
        let weights = eig.vectors.iter().map(|v| v[0] * v[0]).collect();
        (eig.values, weights)
    })
}

/// `E_{z ~ N(0,1)}[f(z)]`.
pub fn gauss_expect(f: impl Fn(f64) -> f64) -> f64 {
    let (z, w) = hermite();
    z.iter().zip(w).map(|(&z, &w)| w * f(z)).sum()
}

/// `E[f(u1, u2)]` for `(u1, u2)` centered Gaussian with variances `q` and correlation `c`.
pub fn gauss_expect2(q: f64, c: f64, f: impl Fn(f64, f64) -> f64) -> f64 {
    let (z, w) = hermite();
    let (s, r) = (q.sqrt(), (1.0 - c * c).max(0.0).sqrt());
    z.iter().zip(w).map(|(&z1, &w1)| w1 * z.iter().zip(w).map(|(&z2, &w2)| w2 * f(s * z1, s * (c * z1 + r * z2))).sum::<f64>()).sum()
}

fn dtanh(x: f64) -> f64 {
    1.0 - x.tanh().powi(2)
}

/// Which side of the edge of chaos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Ordered,
    Critical,
    Chaotic,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MeanField {
    pub sigma_w: f64,
    pub q_star: f64,
    /// `chi_1`: the correlation map's slope at c = 1.
    pub chi: f64,
    /// `(1/2) ln chi_1`: growth rate of a perturbation's length per layer.
    pub lyapunov: f64,
    pub c_star: f64,
    /// The correlation map's slope at c*.
    pub chi_c: f64,
    /// `-1 / ln chi_c` in layers; None where infinite (critical).
    pub xi: Option<f64>,
    pub phase: Phase,
}

/// The Gaussian mean field of a tanh net without biases at `sigma_w`.
pub fn mean_field_tanh(sigma_w: f64) -> MeanField {
    let s2 = sigma_w * sigma_w;
    if sigma_w <= 1.0 {
        let phase = if sigma_w == 1.0 { Phase::Critical } else { Phase::Ordered };
        let xi = (sigma_w < 1.0).then(|| -1.0 / s2.ln());
        return MeanField { sigma_w, q_star: 0.0, chi: s2, lyapunov: 0.5 * s2.ln(), c_star: 1.0, chi_c: s2, xi, phase };
    }
    // From above, the length map decreases monotonically to q*.
    let mut q: f64 = s2;
    for _ in 0..10_000 {
        let next = s2 * gauss_expect(|z| (q.sqrt() * z).tanh().powi(2));
        let done = (next - q).abs() <= 1e-14 * q;
        q = next;
        if done {
            break;
        }
    }
    let chi = s2 * gauss_expect(|z| dtanh(q.sqrt() * z).powi(2));
    // c* = 0 (tanh is odd and there is no bias); the map's slope there factorizes.
    let chi_c = s2 * gauss_expect(|z| dtanh(q.sqrt() * z)).powi(2);
    MeanField { sigma_w, q_star: q, chi, lyapunov: 0.5 * chi.ln(), c_star: 0.0, chi_c, xi: Some(-1.0 / chi_c.ln()), phase: Phase::Chaotic }
}

/// One application of the correlation map, `c -> sigma_w^2 E[tanh(u1) tanh(u2)] / q` (for tests
/// of its fixed point and slope).
pub fn correlation_map(sigma_w: f64, q: f64, c: f64) -> f64 {
    sigma_w * sigma_w * gauss_expect2(q, c, |a, b| a.tanh() * b.tanh()) / q
}

/// Draws of a standard alpha-stable law (`E exp(itz) = exp(-|t|^alpha)`) on a midpoint grid of
/// the two uniforms of the CMS transform: a deterministic quadrature for `E[f(z)]` with bounded f.
pub struct StableGrid {
    pub alpha: f64,
    z: Vec<f64>,
}

impl StableGrid {
    /// `points^2` draws (`points` = 600: expectations of bounded smooth functions to ~1e-4).
    pub fn new(alpha: f64, points: usize) -> Self {
        let law = tailgrad_init::Stable::symmetric(alpha, 1.0).expect("alpha in (0, 2]");
        let u = |i: usize| (i as f64 + 0.5) / points as f64;
        let z = (0..points).flat_map(|i| (0..points).map(move |j| (i, j))).map(|(i, j)| law.from_uniforms(u(i), u(j))).collect();
        Self { alpha, z }
    }

    pub fn expect(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.z.iter().map(|&z| f(z)).sum::<f64>() / self.z.len() as f64
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StableMeanField {
    pub alpha: f64,
    pub sigma_w: f64,
    pub q_star: f64,
    /// `sigma_w^alpha E[|tanh'((q*/2)^(1/alpha) z)|^alpha]` (the decoupled closure).
    pub chi_alpha: f64,
    /// `ln(chi_alpha) / alpha`.
    pub lyapunov: f64,
}

/// The heavy-tailed mean field of a tanh net without biases (see the module documentation).
///
/// The largest fixed point of the length map is found by bisection on `ln q`: `g(q) / q` with
/// `g(q) = sigma_w^alpha E|tanh((q/2)^(1/alpha) z)|^alpha` decreases in q (tanh(x)/x does), and
/// `g(q) <= sigma_w^alpha`, so `q* in (0, sigma_w^alpha]` is where `g(q) / q` crosses 1. (Iterating
/// the map instead converges only algebraically near the edge of chaos.) `q* = 0` when the ratio
/// is below 1 down to `q = 1e-300`.
pub fn mean_field_stable_tanh(grid: &StableGrid, sigma_w: f64) -> StableMeanField {
    let a = grid.alpha;
    let sa = sigma_w.powf(a);
    let scale = |q: f64| (q / 2.0).powf(1.0 / a);
    let excess = |ln_q: f64| {
        let q = ln_q.exp();
        let s = scale(q);
        sa * grid.expect(|z| (s * z).tanh().abs().powf(a)) / q - 1.0
    };
    // ln q to 1e-12 (relative in q); no crossing: the ratio is below 1 down to 1e-300, q* = 0.
    let q = super::crossing::crossing(|ln_q| excess(ln_q) > 0.0, 1e-300f64.ln(), sa.ln(), 1e-12).map_or(0.0, f64::exp);
    let s = scale(q);
    let chi_alpha = sa * grid.expect(|z| dtanh(s * z).powf(a));
    StableMeanField { alpha: a, sigma_w, q_star: q, chi_alpha, lyapunov: chi_alpha.ln() / a }
}

/// The sigma_w at which `chi_alpha = 1` (bisection in [lo, hi] to 1e-6; None if it does not
/// cross there).
pub fn critical_sigma_w(grid: &StableGrid, lo: f64, hi: f64) -> Option<f64> {
    super::crossing::crossing(|s| mean_field_stable_tanh(grid, s).chi_alpha > 1.0, lo, hi, 1e-6)
}
