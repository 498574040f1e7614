//! Alpha-stable sampling by the Chambers-Mallows-Stuck (CMS) method.
//!
//! Chambers, Mallows & Stuck, *A method for simulating stable random variables*, JASA 71 (1976);
//! the form used here is Weron's (1996) for the S1 parametrization. With `V ~ U(-pi/2, pi/2)` and
//! `W ~ Exp(1)` independent:
//!
//! * alpha != 1: `X = S * sin(alpha (V + B)) / cos(V)^(1/alpha) * (cos(V - alpha (V + B)) / W)^((1 - alpha)/alpha)`
//!   with `B = atan(beta tan(pi alpha / 2)) / alpha` and `S = (1 + beta^2 tan^2(pi alpha / 2))^(1/(2 alpha))`;
//! * alpha == 1: `X = (2/pi) [ (pi/2 + beta V) tan V - beta ln( (pi/2) W cos V / (pi/2 + beta V) ) ]`.
//!
//! `X` has the characteristic function `E[exp(itX)] = exp(-|t|^alpha (1 - i beta sign(t) tan(pi alpha/2)))`
//! (alpha != 1), so for beta = 0 the scale convention is the one of Qu, Wardak & Gong
//! (arXiv:2203.12967): `c X` has `E[exp(itcX)] = exp(-|ct|^alpha)`. alpha = 2 gives a Gaussian with
//! variance `2c^2`; alpha = 1 gives a Cauchy with scale `c` (exactly: `X = tan V`).

use crate::InitError;
use rand::Rng;
use std::f64::consts::{FRAC_PI_2, PI};

/// A stable law `S_alpha(beta, c, 0)` in the S1 parametrization (location 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stable {
    alpha: f64,
    beta: f64,
    scale: f64,
    /// `B` of the CMS formula (0 for symmetric laws).
    shift: f64,
    /// `S` of the CMS formula (1 for symmetric laws).
    stretch: f64,
}

impl Stable {
    /// A stable law with index `alpha` in (0, 2], skewness `beta` in [-1, 1] and scale `c > 0`.
    pub fn new(alpha: f64, beta: f64, scale: f64) -> Result<Self, InitError> {
        if !(alpha > 0.0 && alpha <= 2.0) {
            return Err(InitError::OutOfRange { field: "alpha", value: alpha, expected: "in (0, 2]" });
        }
        if !(-1.0..=1.0).contains(&beta) {
            return Err(InitError::OutOfRange { field: "beta", value: beta, expected: "in [-1, 1]" });
        }
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(InitError::OutOfRange { field: "scale", value: scale, expected: "finite and > 0" });
        }
        let (shift, stretch) = if alpha == 1.0 || beta == 0.0 {
            (0.0, 1.0)
        } else {
            let zeta = beta * (PI * alpha / 2.0).tan();
            (zeta.atan() / alpha, (1.0 + zeta * zeta).powf(1.0 / (2.0 * alpha)))
        };
        Ok(Self { alpha, beta, scale, shift, stretch })
    }

    /// A symmetric (beta = 0) stable law.
    pub fn symmetric(alpha: f64, scale: f64) -> Result<Self, InitError> {
        Self::new(alpha, 0.0, scale)
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// One draw. Never NaN; the rare draw beyond f64's range (alpha well below 0.5) is clamped.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.from_uniforms(open_unit(rng), open_unit(rng))
    }

    /// The draw that two uniforms in (0, 1) make: `V = pi (u1 - 1/2)`, `W = -ln u2` through the
    /// CMS transform. A deterministic grid of `(u1, u2)` gives a quadrature for expectations over
    /// the law (the heavy-tailed mean-field maps use one).
    pub fn from_uniforms(&self, u1: f64, u2: f64) -> f64 {
        let x = self.scale * self.standard(PI * (u1 - 0.5), -u2.ln());
        if x.is_nan() { 0.0 } else { x.clamp(f64::MIN, f64::MAX) }
    }

    /// Fill `out` with draws, converted to f32 (clamped into f32's finite range).
    pub fn fill_f32<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f32]) {
        for slot in out {
            *slot = (self.sample(rng) as f32).clamp(f32::MIN, f32::MAX);
        }
    }

    /// The CMS transform of `(V, W)` for unit scale.
    fn standard(&self, v: f64, w: f64) -> f64 {
        let a = self.alpha;
        if a == 1.0 {
            if self.beta == 0.0 {
                return v.tan();
            }
            let b = self.beta;
            let pb = FRAC_PI_2 + b * v;
            return (pb * v.tan() - b * ((FRAC_PI_2 * w * v.cos()) / pb).ln()) / FRAC_PI_2;
        }
        if a == 2.0 {
            // sin(2V)/sqrt(cos V) * sqrt(W / cos V) = 2 sin(V) sqrt(W): N(0, 2) exactly.
            return 2.0 * v.sin() * w.sqrt();
        }
        // The two powers as one exponential of summed logarithms (cheaper than two `powf`):
        // sin(aV') * exp( ((1-a)/a) ln(cos(V - aV')/W) - ln(cos V)/a ), V' = V + B.
        let av = a * (v + self.shift);
        let sin_av = av.sin();
        let log_scale = ((1.0 - a) / a) * ((v - av).cos() / w).ln() - v.cos().ln() / a;
        let direct = self.stretch * sin_av * log_scale.exp();
        if direct.is_finite() {
            return direct;
        }
        // Far tails at small alpha: keep the product in log space, so that 0 * inf cannot occur.
        sin_av.signum() * (self.stretch.ln() + sin_av.abs().ln() + log_scale).exp()
    }
}

/// A uniform draw in the open interval (0, 1): `(k + 1/2) / 2^53`, never 0 or 1, so that
/// `ln U` and `tan(pi (U - 1/2))` stay finite.
fn open_unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}
