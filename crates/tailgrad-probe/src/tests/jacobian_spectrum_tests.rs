//! The authors' Jacobian-spectrum theory against the circular law, the determinant identity of
//! `diag(chi) x Ginibre`, and the eigenvalues of sampled Jacobians.

use super::rng;
use crate::criticality::jacobian_spectrum::{JacobianSpectrum, ln_dtanh, s_dist, tanh_spectrum};
use crate::criticality::{StableGrid, mean_field_tanh};
use crate::linalg::eigenvalues_general;
use tailgrad_init::Stable;

/// Moduli of the eigenvalues of `diag(tanh'(h)) W` at the fixed point: `W_ij = sigma_w
/// (1/(2N))^(1/alpha) Z_ij`, `h_i = q*^(1/alpha) x` with x ~ S_alpha(0, 2^(-1/alpha), 0).
fn sampled_moduli(alpha: f64, sigma_w: f64, q_star: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let z = Stable::symmetric(alpha, 1.0).unwrap();
    let h = Stable::symmetric(alpha, (q_star / 2.0).powf(1.0 / alpha)).unwrap();
    let scale = sigma_w * (1.0 / (2.0 * n as f64)).powf(1.0 / alpha);
    let gains: Vec<f64> = (0..n).map(|_| ln_dtanh(h.sample(&mut r)).exp()).collect();
    let j: Vec<f64> = (0..n * n).map(|k| gains[k / n] * scale * z.sample(&mut r)).collect();
    let mut m: Vec<f64> = eigenvalues_general(&j, n).iter().map(|l| l.norm_sqr().sqrt()).collect();
    m.sort_by(f64::total_cmp);
    m
}

/// The largest gap between the theory's CDF and the empirical CDF of `moduli` at its deciles
/// and at the 0.95 / 0.99 points.
fn cdf_gap(theory: &JacobianSpectrum, moduli: &[f64]) -> f64 {
    let n = moduli.len() as f64;
    [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
        .iter()
        .map(|&u: &f64| {
            let r = moduli[((u * n) as usize).min(moduli.len() - 1)];
            let empirical = moduli.partition_point(|&x| x <= r) as f64 / n;
            (theory.cdf(r) - empirical).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn s_dist_is_the_one_sided_stable_law_of_the_authors_convention() {
    // S1 parametrization with beta = 1, index a < 1: E[exp(-sX)] = exp(-c^a s^a / cos(pi a / 2)).
    for alpha in [1.0, 1.5] {
        let law = s_dist(alpha).unwrap();
        let a = alpha / 2.0;
        let gamma = |x: f64| libm::tgamma(1.0 + x) * (std::f64::consts::PI * x / 2.0).sin() / std::f64::consts::PI;
        let scale = (gamma(alpha) / (4.0 * gamma(a))).powf(2.0 / alpha);
        let mut r = rng(11);
        let draws: Vec<f64> = (0..200_000).map(|_| law.sample(&mut r)).collect();
        assert!(draws.iter().all(|&x| x > 0.0), "one-sided");
        for s in [0.5, 2.0] {
            let empirical = draws.iter().map(|x| (-s * x).exp()).sum::<f64>() / draws.len() as f64;
            let exact = (-scale.powf(a) * s.powf(a) / (std::f64::consts::PI * a / 2.0).cos()).exp();
            assert!((empirical - exact).abs() < 4e-3, "alpha {alpha}, s {s}: {empirical} vs {exact}");
        }
    }
    assert!(s_dist(2.0).is_none(), "S = 1 at alpha = 2");
}

#[test]
fn equal_gaussian_gains_give_the_circular_law() {
    // alpha = 2, sigma_w = 0.8 < 1: q* = 0, every chi = sigma_w, S = 1: CDF(r) = r^2 / sigma_w^2.
    let sigma: f64 = 0.8;
    assert_eq!(mean_field_tanh(sigma).q_star, 0.0);
    let theory = JacobianSpectrum::tanh(2.0, sigma, 0.0, 1000, 1);
    for r in [0.1, 0.3, 0.5, 0.7, 0.79] {
        assert!((theory.cdf(r) - r * r / (sigma * sigma)).abs() < 1e-8, "r = {r}: {}", theory.cdf(r));
    }
    assert_eq!(theory.cdf(0.81), 1.0);
    assert!((theory.outer_radius() - sigma).abs() < 1e-12);
    assert!((theory.effective_radius() - sigma * 0.99f64.sqrt()).abs() < 1e-8);
    // Mean log-modulus of the uniform disc of radius sigma: ln sigma - 1/2.
    assert!((theory.log_measure(4000) - (sigma.ln() - 0.5)).abs() < 1e-4, "{}", theory.log_measure(4000));
}

#[test]
fn unequal_gaussian_gains_give_the_single_ring_law_of_diag_chi_times_ginibre() {
    // alpha = 2, sigma_w = 1.5 (q* > 0): gains chi = sigma_w tanh'(sqrt(q*) z) differ by unit.
    let (sigma, n) = (1.5f64, 1000);
    let q = mean_field_tanh(sigma).q_star;
    let mut r = rng(5);
    let normal = Stable::symmetric(2.0, std::f64::consts::FRAC_1_SQRT_2).unwrap();
    let ln_chi: Vec<f64> = (0..20_000).map(|_| sigma.ln() + ln_dtanh(q.sqrt() * normal.sample(&mut r))).collect();
    let theory = JacobianSpectrum::from_log_gains(2.0, &ln_chi, 2);
    // Outer edge sqrt(E chi^2); the mean log-modulus is (1/N) ln|det| = E ln chi + E ln|det G|/N
    // = E ln chi - 1/2 (the Fuglede-Kadison determinant of the circular element).
    let mean_chi2 = ln_chi.iter().map(|l| (2.0 * l).exp()).sum::<f64>() / ln_chi.len() as f64;
    assert!((theory.outer_radius() - mean_chi2.sqrt()).abs() < 1e-12);
    assert!(theory.cdf(0.999 * mean_chi2.sqrt()) < 0.999 && theory.cdf(1.001 * mean_chi2.sqrt()) == 1.0);
    let mean_ln_chi = ln_chi.iter().sum::<f64>() / ln_chi.len() as f64;
    assert!((theory.log_measure(4000) - (mean_ln_chi - 0.5)).abs() < 1e-3, "{} vs {}", theory.log_measure(4000), mean_ln_chi - 0.5);
    // Not the circular law of the same second moment: the inner mass is larger.
    let r_half = theory.quantile(0.5);
    assert!((r_half * r_half / mean_chi2 - 0.5).abs() > 0.02, "single ring differs from the disc");
    // And the eigenvalues of a sampled N = 1000 matrix follow it (one draw; finite-N gaps seen:
    // 0.02).
    let moduli = sampled_moduli(2.0, sigma, q, n, 9);
    let gap = cdf_gap(&JacobianSpectrum::tanh(2.0, sigma, q, 20_000, 3), &moduli);
    assert!(gap < 0.03, "largest CDF gap {gap}");
}

#[test]
fn heavy_tailed_theory_matches_the_eigenvalues_of_sampled_jacobians() {
    // One N = 1000 Jacobian per point at the fixed point; the theory from 20,000 draws. Gaps of a
    // single heavy-tailed draw: 0.025-0.041 at N = 1000, 0.017 at N = 1500 (alpha 1.5, sigma_w
    // 0.8); a wrong SDist scale (power alpha/2 for 2/alpha) moves the theory's CDF by 0.25-0.31 at
    // these points, a missing alpha/2 power by 0.90-0.95, so 0.05 separates right from wrong.
    for (alpha, sigma, seed) in [(1.5, 0.8, 21), (1.5, 1.5, 22), (1.0, 0.6, 23)] {
        let grid = StableGrid::new(alpha, 600);
        let (theory, q) = tanh_spectrum(&grid, sigma, 20_000, seed);
        let moduli = sampled_moduli(alpha, sigma, q, 1000, seed + 100);
        let gap = cdf_gap(&theory, &moduli);
        assert!(gap < 0.05, "alpha {alpha}, sigma_w {sigma}: largest CDF gap {gap}");
    }
}
