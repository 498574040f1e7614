//! Finite-width signal propagation: the exact law of linear nets, the correlation-length fit on a
//! planted decay, the measured tanh correlation length against mean field, the 1/N fit and the
//! edge interpolation.

use crate::criticality::finite_width::{correlation_length, correlation_traces, inverse_width_fit, linear_log_growth, zero_crossing};
use crate::criticality::{Activation, ensemble, lyapunov, mean_field_tanh};
use rand::RngExt;
use rand_distr::StandardNormal;

fn gaussian(sigma: f64) -> tailgrad_init::InitSpec {
    tailgrad_init::InitSpec::stable(2.0, sigma).unwrap().with_fan(tailgrad_init::Fan::In)
}

#[test]
fn the_linear_law_gives_the_known_numbers() {
    // T [ln sigma^2 + ln(2/N) + digamma(N/2)] and T trigamma(N/2) at T = 32, sigma = 1.
    for (n, mean, var) in [(64, -0.50260, 1.01579), (256, -0.12516, 0.25098)] {
        let (m, v) = linear_log_growth(n, 32, 1.0);
        assert!((m - mean).abs() < 2e-4 && (v - var).abs() < 2e-4, "N = {n}: ({m}, {v})");
    }
    // At N = 2 a layer multiplies |h|^2 by chi^2_2 / 2, an exponential of mean 1:
    // E ln = ln(1/2) + ln 2 + digamma(1) = -gamma (Euler), Var = trigamma(1) = pi^2 / 6.
    let (m, v) = linear_log_growth(2, 1, 1.0);
    assert!((m + 0.577_215_664_9).abs() < 1e-9 && (v - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-9, "({m}, {v})");
    // sigma enters as T ln sigma^2.
    let (m2, _) = linear_log_growth(64, 32, 1.5);
    assert!((m2 - (-0.50260 + 32.0 * 2.25f64.ln())).abs() < 2e-4);
}

#[test]
fn measured_linear_nets_follow_the_exact_law_not_mean_field() {
    // 2 T lambda is one draw of ln(|h_T|^2 / |h_0|^2) (k = 1, no burn-in).
    let (n, depth, draws) = (64, 32, 1200);
    let g = ensemble(draws, 11, |s| vec![2.0 * depth as f64 * lyapunov(&gaussian(1.0), Activation::Linear, n, depth, 0, 1, s)[0]]);
    let (mean, var) = linear_log_growth(n, depth, 1.0);
    let (m, v) = (g.mean[0], g.std[0].powi(2));
    let se = (var / draws as f64).sqrt();
    // Mean field says 0, which is 17 standard errors away.
    assert!((m - mean).abs() < 3.5 * se, "mean {m} vs exact {mean} (se {se})");
    assert!(m.abs() > 10.0 * se);
    // The variance within 4 of its standard errors v sqrt(2 / (D - 1)); T / N (a missing 2) fails.
    let v_se = var * (2.0 / (draws - 1) as f64).sqrt();
    assert!((v - var).abs() < 4.0 * v_se, "variance {v} vs exact {var} (se {v_se})");
}

#[test]
fn correlation_length_recovers_a_planted_decay() {
    // 40 draws of c^l = 0.6 exp(-l / 5) + noise of size 0.02: the fit stops where the mean
    // falls below 3 standard errors and recovers xi = 5 within its error.
    let mut r = tailgrad_init::rng(3);
    let traces: Vec<Vec<f64>> = (0..40).map(|_| (0..=30).map(|l| 0.6 * (-(l as f64) / 5.0).exp() + 0.02 * r.sample::<f64, _>(StandardNormal)).collect()).collect();
    let (xi, se, fit) = correlation_length(&traces, 3.0).expect("a decay to fit");
    assert!((xi - 5.0).abs() < 3.0 * se && se < 0.3, "xi {xi} ± {se}");
    assert!((fit.intercept - 0.6f64.ln()).abs() < 0.1 && fit.n >= 10 && fit.n < 30, "{fit:?}");
    // Flat traces (no decay above the noise) give no length.
    let flat: Vec<Vec<f64>> = (0..40).map(|_| (0..=30).map(|_| 0.02 * r.sample::<f64, _>(StandardNormal)).collect()).collect();
    assert!(correlation_length(&flat, 3.0).is_none());
}

#[test]
fn tanh_correlation_length_at_width_512_is_near_mean_field() {
    // sigma_w = 2 (chaotic, q* = 2.12, c* = 0): mean field xi = -1 / ln chi_c = 7.98 layers.
    // Measured (40 draws, c^0 = 0.5): 7.8 at N = 256, 9.1 at 512, 8.7 at 1024, each ± ~0.5 by the
    // jackknife: finite-width noise at this budget is ~10%, hence the 25% window; what it rules
    // out is a length from the wrong slope, 1 / ln chi_1 = 3.2, or the ordered side's
    // -1 / ln sigma_w^2 (negative here).
    let mf = mean_field_tanh(2.0);
    let xi_mf = mf.xi.expect("chaotic");
    assert!((xi_mf - 7.98).abs() < 0.01);
    let traces = correlation_traces(&gaussian(2.0), 512, 40, mf.q_star, 0.5, 20, 0);
    // The inputs' correlation c^0 is 0.5 in expectation.
    assert!((traces.iter().map(|t| t[0]).sum::<f64>() / 20.0 - 0.5).abs() < 0.05);
    let (xi, se, _) = correlation_length(&traces, 4.0).expect("a decay to fit");
    assert!((xi - xi_mf).abs() < 0.25 * xi_mf && se < 0.15 * xi, "xi {xi} ± {se} vs mean field {xi_mf}");
}

#[test]
fn inverse_width_fit_and_zero_crossing() {
    let widths = [32, 64, 128, 256];
    let fit = inverse_width_fit(&widths, &widths.iter().map(|&n| 3.0 + 5.0 / n as f64).collect::<Vec<_>>());
    assert!((fit.intercept - 3.0).abs() < 1e-12 && (fit.slope - 5.0).abs() < 1e-9, "{fit:?}");
    assert_eq!(zero_crossing(&[0.5, 1.0, 1.5], &[-0.2, -0.1, 0.1]), Some(1.25));
    // Only a crossing from below counts; none on the grid gives None.
    assert_eq!(zero_crossing(&[0.5, 1.0, 1.5], &[0.2, -0.1, 0.1]), Some(1.25));
    assert_eq!(zero_crossing(&[0.5, 1.0], &[-0.2, -0.1]), None);
}

