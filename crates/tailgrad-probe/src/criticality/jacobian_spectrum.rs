//! The authors' heavy-tailed random-matrix theory of the edge of chaos: the distribution of the
//! moduli of the eigenvalues of a layer Jacobian `J = diag(phi'(h)) W` of a deep random tanh
//! network at its length fixed point (Qu, Wardak & Gong, arXiv:2203.12967; the authors' code,
//! CKQu1/extended-criticality-dnn, `random_dnn/theory_RMT.wl`: `JacobianEigCDF`, `EigCDF`,
//! `EigInverseCDF`, `LogEigInverseCDF`, with `FPStable`, `StableDist` and `SDist` of `utils.wl`).
//!
//! **The theory.** Weights `W_ij = (1/(2N))^(1/alpha) Z_ij` (Z standard symmetric alpha-stable,
//! `E exp(itZ) = exp(-|t|^alpha)`), so each unit has a gain
//! `chi = sigma_w phi'(q*^(1/alpha) h)`, `h ~ StableDist = S_alpha(0, 2^(-1/alpha), 0)`, with q* the
//! fixed point of `q = sigma_w^alpha E|phi(q^(1/alpha) h)|^alpha` (tailgrad's
//! [`super::mean_field_stable_tanh`], the same map in the same convention). With `S, S'`
//! independent draws of the one-sided stable law
//! `SDist = S_(alpha/2)(beta = 1, scale (c(alpha) / (4 c(alpha/2)))^(2/alpha), 0)`,
//! `c(x) = Gamma(1 + x) sin(pi x / 2) / pi` (the constant 1 at alpha = 2), the fraction of
//! eigenvalues of modulus below r is, for the y solving
//!
//! `|y|^alpha = E[(chi^2 S / ((r/|y|)^2 + chi^2 S S'))^(alpha/2)]`,
//!
//! `CDF(r) = E[(r/y)^2 / ((r/y)^2 + chi^2 S S')]` (`EigCDF`; CDF = 1 beyond the outer edge
//! `r_max = E[|chi|^alpha S^(alpha/2)]^(1/alpha)`, where no y != 0 exists). With `w = r/|y|`
//! both sides are explicit in w, which is how the authors invert the CDF (`EigInverseCDF`):
//! `u(w) = E[w^2 / (w^2 + chi^2 S S')]` is the fraction and
//! `r(w) = w E[(chi^2 S / (w^2 + chi^2 S S'))^(alpha/2)]^(1/alpha)` the radius, both increasing in w.
//! At alpha = 2 with equal gains (sigma_w <= 1, q* = 0) this is the circular law
//! `CDF(r) = r^2 / sigma_w^2`; with unequal gains, the single-ring law of `diag(chi) x Ginibre`,
//! whose outer edge is `sqrt(E[chi^2])`.
//!
//! **Expectations** are Monte Carlo means over `samples` seeded draws of `(h, S)`, with `S'` the
//! draws of S rotated by one (the authors' `Sp = RotateRight @ SList`). Gains are kept as logarithms
//! (`ln tanh'(x) = ln 4 - 2|x| - 2 ln(1 + e^(-2|x|))`), so a saturated unit has a tiny gain, not
//! an exact 0 as `1 - tanh(x)^2` has in floating point.
//!
//! **The edge.** The authors' "effective spectral radius" is the radius holding 99% of the
//! eigenvalues, `r_0.99` (`GetJacobianEigInverseCDF` at `.99`); their `PlotLogMeasure` averages
//! `ln r` over the quantiles `Subdivide[0, 1, 100]`. tailgrad reports both, and defines the
//! theory's edge sigma_w*(alpha) as where `r_0.99 = 1` ([`edge`]). The log-average is taken over
//! the midpoints `(k + 1/2)/n` of n quantile bins (the authors include the end points 0 and 1,
//! where `ln r` is -inf and the radius is the outer edge): it is finite for every alpha, while
//! the exact mean log-modulus `E[ln |lambda|] = E[ln chi] + const(alpha)` is -inf for alpha <= 1
//! (`E|h| = inf`, and `ln tanh'(x) ~ -2|x|`), so the log criterion is not robust there.

use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use tailgrad_init::Stable;

/// `ln tanh'(x) = ln(1 - tanh(x)^2)`, finite for every x.
pub fn ln_dtanh(x: f64) -> f64 {
    let a = x.abs();
    4f64.ln() - 2.0 * a - 2.0 * (-2.0 * a).exp().ln_1p()
}

/// `c(x) = Gamma(1 + x) sin(pi x / 2) / pi` of the authors' `SDist`.
fn c(x: f64) -> f64 {
    libm::tgamma(1.0 + x) * (PI * x / 2.0).sin() / PI
}

/// The authors' `SDist[alpha]`: one-sided `S_(alpha/2)(beta = 1)` of scale
/// `(c(alpha) / (4 c(alpha/2)))^(2/alpha)` for alpha < 2; None at alpha = 2 (S = 1 exactly).
pub fn s_dist(alpha: f64) -> Option<Stable> {
    (alpha < 2.0).then(|| {
        let scale = (c(alpha) / (4.0 * c(alpha / 2.0))).powf(2.0 / alpha);
        Stable::new(alpha / 2.0, 1.0, scale).expect("alpha/2 in (0, 1), beta = 1, positive scale")
    })
}

/// Monte Carlo draws of the theory's random quantities for one (alpha, gain law).
#[derive(Clone, Debug)]
pub struct JacobianSpectrum {
    alpha: f64,
    /// `ln(chi^2 S)` per draw.
    ln_b: Vec<f64>,
    /// `ln(chi^2 S S')` per draw.
    ln_a: Vec<f64>,
}

/// Summary of the theory at one (alpha, sigma_w).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpectrumSummary {
    pub alpha: f64,
    pub sigma_w: f64,
    pub q_star: f64,
    /// The outer edge `r_max = E[|chi|^alpha S^(alpha/2)]^(1/alpha)`.
    pub outer_radius: f64,
    /// `r_0.99`, the authors' effective spectral radius.
    pub effective_radius: f64,
    /// `ln r` averaged over 100 quantile-bin midpoints (the authors' log measure).
    pub log_measure: f64,
}

impl JacobianSpectrum {
    /// The theory for per-unit log-gains `ln |chi|` (the test cases' gains are given directly);
    /// `S` drawn from [`s_dist`] with `seed`.
    pub fn from_log_gains(alpha: f64, ln_chi: &[f64], seed: u64) -> Self {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let ln_s: Vec<f64> = match s_dist(alpha) {
            Some(law) => ln_chi.iter().map(|_| law.sample(&mut rng).ln()).collect(),
            None => vec![0.0; ln_chi.len()],
        };
        let n = ln_chi.len();
        let ln_b: Vec<f64> = ln_chi.iter().zip(&ln_s).map(|(lc, ls)| 2.0 * lc + ls).collect();
        // S' = S rotated right by one, as the authors' `RotateRight @ SList`.
        let ln_a = (0..n).map(|i| ln_b[i] + ln_s[(i + n - 1) % n]).collect();
        Self { alpha, ln_b, ln_a }
    }

    /// The layer Jacobian of a tanh net at its fixed point: `chi = sigma_w tanh'(q*^(1/alpha) h)`,
    /// `h ~ S_alpha(0, 2^(-1/alpha), 0)`, `samples` draws (the authors use 10,000).
    pub fn tanh(alpha: f64, sigma_w: f64, q_star: f64, samples: usize, seed: u64) -> Self {
        let h_law = Stable::symmetric(alpha, 2f64.powf(-1.0 / alpha)).expect("alpha in (0, 2]");
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_4a11);
        let scale = q_star.powf(1.0 / alpha);
        let ln_chi: Vec<f64> = (0..samples).map(|_| sigma_w.ln() + ln_dtanh(scale * h_law.sample(&mut rng))).collect();
        Self::from_log_gains(alpha, &ln_chi, seed)
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// `u(w)` at `t = ln w`: the fraction of eigenvalues inside the radius `r(w)`.
    fn fraction(&self, t: f64) -> f64 {
        self.ln_a.iter().map(|&la| 1.0 / (1.0 + (la - 2.0 * t).exp())).sum::<f64>() / self.ln_a.len() as f64
    }

    /// `ln r(w)` at `t = ln w`.
    fn ln_radius(&self, t: f64) -> f64 {
        let h = self.alpha / 2.0;
        let mean = self.ln_b.iter().zip(&self.ln_a).map(|(&lb, &la)| (h * (lb - log_add_exp(2.0 * t, la))).exp()).sum::<f64>() / self.ln_a.len() as f64;
        t + mean.ln() / self.alpha
    }

    /// The outer edge `r_max = E[|chi|^alpha S^(alpha/2)]^(1/alpha)` (the limit of r(w), w -> inf).
    pub fn outer_radius(&self) -> f64 {
        let h = self.alpha / 2.0;
        (self.ln_b.iter().map(|&lb| (h * lb).exp()).sum::<f64>() / self.ln_b.len() as f64).powf(1.0 / self.alpha)
    }

    /// The fraction of eigenvalues of modulus below r (`EigCDF`).
    pub fn cdf(&self, r: f64) -> f64 {
        if r <= 0.0 {
            return 0.0;
        }
        if r >= self.outer_radius() {
            return 1.0;
        }
        let lr = r.ln();
        self.fraction(self.solve(|t| self.ln_radius(t) < lr))
    }

    /// The radius holding the fraction `u` in (0, 1) of the eigenvalues (`EigInverseCDF`).
    pub fn quantile(&self, u: f64) -> f64 {
        assert!(u > 0.0 && u < 1.0, "quantile: u = {u} is not in (0, 1)");
        self.ln_radius(self.solve(|t| self.fraction(t) < u)).exp()
    }

    /// `r_0.99`, the authors' effective spectral radius.
    pub fn effective_radius(&self) -> f64 {
        self.quantile(0.99)
    }

    /// `ln r` averaged over the quantile-bin midpoints `(k + 1/2)/bins`, k < bins: the authors'
    /// log measure, and as bins grow the mean log-modulus `E ln |lambda|` where that is finite.
    pub fn log_measure(&self, bins: usize) -> f64 {
        (0..bins).map(|k| self.quantile((k as f64 + 0.5) / bins as f64).ln()).sum::<f64>() / bins as f64
    }

    /// The `t = ln w` (to 1e-10) where the increasing map behind `below` reaches its target,
    /// searched over a range that holds every draw's transition (`w^2` against `chi^2 S S'`); the
    /// nearer end of that range when the target lies beyond it (a radius within rounding of the
    /// outer edge).
    fn solve(&self, below: impl Fn(f64) -> bool) -> f64 {
        let (lo, hi) = self.ln_a.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let (lo, hi) = (lo / 2.0 - 40.0, hi / 2.0 + 40.0);
        super::crossing::crossing(&below, lo, hi, 1e-10).unwrap_or(if below(lo) { hi } else { lo })
    }
}

/// `ln(e^x + e^y)`.
fn log_add_exp(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    m + ((x - m).exp() + (y - m).exp()).ln()
}

/// The theory at (alpha, sigma_w) for a tanh net, q* from tailgrad's heavy-tailed mean field on
/// `grid` (the same fixed point as the authors' `FPStable`).
pub fn tanh_spectrum(grid: &super::StableGrid, sigma_w: f64, samples: usize, seed: u64) -> (JacobianSpectrum, f64) {
    let q_star = super::mean_field_stable_tanh(grid, sigma_w).q_star;
    (JacobianSpectrum::tanh(grid.alpha, sigma_w, q_star, samples, seed), q_star)
}

/// The effective radius, outer edge and log measure of the theory at (alpha, sigma_w) with the
/// length fixed point `q_star`.
pub fn summary(alpha: f64, sigma_w: f64, q_star: f64, samples: usize, seed: u64) -> SpectrumSummary {
    let spec = JacobianSpectrum::tanh(alpha, sigma_w, q_star, samples, seed);
    SpectrumSummary {
        alpha,
        sigma_w,
        q_star,
        outer_radius: spec.outer_radius(),
        effective_radius: spec.effective_radius(),
        log_measure: spec.log_measure(100),
    }
}

/// The theory's edge of chaos: the sigma_w in [lo, hi] where the effective spectral radius
/// `r_0.99` crosses 1 (bisection to 1e-4 with common random numbers, so the radius is a smooth
/// function of sigma_w; None if it does not cross there).
pub fn edge(grid: &super::StableGrid, lo: f64, hi: f64, samples: usize, seed: u64) -> Option<f64> {
    super::crossing::crossing(|s| tanh_spectrum(grid, s, samples, seed).0.effective_radius() > 1.0, lo, hi, 1e-4)
}
