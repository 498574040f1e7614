//! Signal propagation at finite width N. Grosvenor & Jefferson (SciPost Phys. 12, 081 (2022),
//! arXiv:2109.13247) expand the correlation functions of a random net in depth over width, T/N:
//! mean field is the N -> infinity limit, and the corrections move the correlation length that
//! sets how deep a net can be trained.
//!
//! **The exact reference, a linear net.** With Gaussian weights of variance `sigma^2 / N` and
//! `h^l = h^(l-1) W^l`, each layer multiplies `|h|^2` by `(sigma^2 / N) chi^2_N`, independently of
//! the layers before, so
//!
//! ```text
//! ln(|h_T|^2 / |h_0|^2)  has mean  T [ln sigma^2 + ln(2/N) + digamma(N/2)]
//!                        and variance  T trigamma(N/2)  (~ 2T/N)
//! ```
//!
//! ([`linear_log_growth`]). The Lyapunov exponent of lengths is half the mean per layer,
//! `lambda(N) = (1/2)[ln sigma^2 + ln(2/N) + digamma(N/2)] ~ (1/2) ln sigma^2 - 1/(2N)`: finite width
//! lowers it by `1/(2N)` (the edge moves to `sigma^2 = (N/2) exp(-digamma(N/2)) ~ 1 + 1/N`), and the
//! spread between draws grows like `T/N`, the expansion parameter. This calibrates the measured
//! exponents ([`super::lyapunov`] with [`super::Activation::Linear`]) at every width.
//!
//! **Measured for tanh nets**: the exponent `lambda(N)`, and the correlation length `xi(N)` from the
//! decay of the correlation of two inputs' hidden states, `c^l - c* ~ exp(-l / xi)` with `c* = 0`
//! on the chaotic side of a tanh net without biases ([`correlation_trace`],
//! [`correlation_length`]); each fitted against `1/N` ([`inverse_width_fit`]):
//! `value(N) = value_inf + a / N`, `value_inf` to compare with mean field
//! ([`super::mean_field_tanh`]: `xi = -1 / ln chi_c`, `chi_c = sigma_w^2 E[tanh'(sqrt(q*) z)]^2`).
//! Grosvenor & Jefferson's own O(T/N) coefficient for tanh nets is not in the stored copies of
//! their paper that tailgrad could read (only the abstract), so it is not compared here.

use super::propagation::{draw_seeds, parallel_map, vec_mat};
use crate::linalg::{LineFit, dot, fit_line, mean_std};
use rand_distr::{Distribution, StandardNormal};
use tailgrad_init::InitSpec;

/// The exact mean and variance of `ln(|h_T|^2 / |h_0|^2)` for a linear net of width `width` and
/// depth `depth` with Gaussian weights of variance `sigma^2 / width`.
pub fn linear_log_growth(width: usize, depth: usize, sigma: f64) -> (f64, f64) {
    let half = width as f64 / 2.0;
    let digamma = polygamma::polygamma(0, half).expect("digamma of a positive number");
    let trigamma = polygamma::polygamma(1, half).expect("trigamma of a positive number");
    let t = depth as f64;
    (t * (sigma.ln() * 2.0 + (2.0 / width as f64).ln() + digamma), t * trigamma)
}

/// The correlation `c^l = <h_a, h_b> / (|h_a| |h_b|)` of two inputs' hidden states at layers
/// `l = 0..=depth` of one draw of a random net `h^l = phi(h^(l-1)) W^l` (`phi` = tanh). The
/// inputs are Gaussian with variance `q0` per unit and correlation `c0` (in expectation; `c^0`
/// is the draw's own).
pub fn correlation_trace(init: &InitSpec, width: usize, depth: usize, q0: f64, c0: f64, seed: u64) -> Vec<f64> {
    let mut rng = tailgrad_init::rng(seed);
    let mut gauss = || -> f64 { StandardNormal.sample(&mut rng) };
    let z: Vec<(f64, f64)> = (0..width).map(|_| (gauss(), gauss())).collect();
    let scale = q0.sqrt();
    let mut a: Vec<f64> = z.iter().map(|(z1, _)| scale * z1).collect();
    let mut b: Vec<f64> = z.iter().map(|(z1, z2)| scale * (c0 * z1 + (1.0 - c0 * c0).sqrt() * z2)).collect();
    let corr = |a: &[f64], b: &[f64]| dot(a, b) / (dot(a, a) * dot(b, b)).sqrt();
    let mut trace = vec![corr(&a, &b)];
    for _ in 0..depth {
        let w = init.sample(width, width, &mut rng);
        a = vec_mat(&a.iter().map(|x| x.tanh()).collect::<Vec<_>>(), &w, width);
        b = vec_mat(&b.iter().map(|x| x.tanh()).collect::<Vec<_>>(), &w, width);
        trace.push(corr(&a, &b));
    }
    trace
}

/// [`correlation_trace`] for `draws` seeds derived from `seed` (as [`super::ensemble`] derives
/// them), on the machine's cores.
pub fn correlation_traces(init: &InitSpec, width: usize, depth: usize, q0: f64, c0: f64, draws: usize, seed: u64) -> Vec<Vec<f64>> {
    parallel_map(&draw_seeds(draws, seed), &|&s| correlation_trace(init, width, depth, q0, c0, s))
}

/// The correlation length from the ensemble of [`correlation_trace`]s of one cell: the mean over
/// draws `cbar^l` decays like `exp(-l / xi)` (c* = 0), fitted as `ln cbar^l = b - l / xi` over
/// layers `1..` while `cbar^l` stays above `floor_sigmas` standard errors of the mean (beyond
/// that it is noise about 0, of size `~ 1 / sqrt(N draws)`). Returns `(xi, its standard error,
/// the fit)`, or None with fewer than 3 layers above the floor. The standard error is the
/// jackknife's over draws (the same layers refitted without each draw in turn): a draw's
/// fluctuations are correlated from layer to layer, so the fit's own residual error understates it.
pub fn correlation_length(traces: &[Vec<f64>], floor_sigmas: f64) -> Option<(f64, f64, LineFit)> {
    let layers = traces.first()?.len();
    let mut x = Vec::new();
    for l in 1..layers {
        let (mean, std) = mean_std(&traces.iter().map(|t| t[l]).collect::<Vec<_>>());
        let stderr = std / (traces.len() as f64).sqrt();
        if mean <= floor_sigmas * stderr || mean <= 0.0 {
            break;
        }
        x.push(l as f64);
    }
    if x.len() < 3 {
        return None;
    }
    // The fit of the mean of `traces` without draw `skip` over the chosen layers (None: one of them <= 0).
    let fit_without = |skip: Option<usize>| -> Option<LineFit> {
        let kept = traces.len() - usize::from(skip.is_some());
        let y: Option<Vec<f64>> = x
            .iter()
            .map(|&l| {
                let sum: f64 = traces.iter().enumerate().filter(|(d, _)| Some(*d) != skip).map(|(_, t)| t[l as usize]).sum();
                let mean = sum / kept as f64;
                (mean > 0.0).then(|| mean.ln())
            })
            .collect();
        Some(fit_line(&x, &y?))
    };
    let fit = fit_without(None)?;
    let xi = -1.0 / fit.slope;
    let d = traces.len() as f64;
    let leave_one_out: Vec<f64> = (0..traces.len()).filter_map(|k| fit_without(Some(k))).map(|f| -1.0 / f.slope).collect();
    let mean_loo = leave_one_out.iter().sum::<f64>() / leave_one_out.len() as f64;
    let jackknife = ((d - 1.0) / d * leave_one_out.iter().map(|v| (v - mean_loo).powi(2)).sum::<f64>()).sqrt();
    Some((xi, jackknife, fit))
}

/// `value(N) = value_inf + a / N` by least squares over the widths: `intercept` is `value_inf`
/// (with `intercept_stderr`), `slope` is `a`.
pub fn inverse_width_fit(widths: &[usize], values: &[f64]) -> LineFit {
    let inverse: Vec<f64> = widths.iter().map(|&n| 1.0 / n as f64).collect();
    fit_line(&inverse, values)
}

/// `sigma_w` where `lambda(sigma_w)` crosses 0 from below, by linear interpolation between the
/// first pair of neighbouring grid points that brackets it (None: no crossing on the grid).
pub fn zero_crossing(sigma_w: &[f64], lambda: &[f64]) -> Option<f64> {
    let points: Vec<(f64, f64)> = sigma_w.iter().copied().zip(lambda.iter().copied()).collect();
    points.windows(2).find(|p| p[0].1 < 0.0 && p[1].1 >= 0.0).map(|p| p[0].0 + (p[1].0 - p[0].0) * (-p[0].1) / (p[1].1 - p[0].1))
}

