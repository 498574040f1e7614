use super::*;

#[test]
fn power_law_mle_recovers_a_planted_tail_exponent() {
    use crate::weight_stats::power_law_fit;
    let mut r = rng(31);
    // A lognormal body below 1 and a Pareto tail p(x) ~ x^-2.5 above x_min = 1.
    let mut xs: Vec<f64> = (0..3000).map(|_| (0.3 * r.sample::<f64, _>(StandardNormal) - 1.0).exp()).collect();
    xs.extend((0..5000).map(|_| r.random::<f64>().max(1e-12).powf(-1.0 / 1.5)));
    let fit = power_law_fit(&xs, 50).unwrap();
    assert!((fit.alpha - 2.5).abs() < 0.1, "{fit:?}");
    assert!((0.8..1.5).contains(&fit.x_min), "{fit:?}");
}

#[test]
fn spectrum_of_a_gaussian_matrix_fills_the_marchenko_pastur_support() {
    let mut r = rng(32);
    let (n, m) = (2000, 200);
    let w: Vec<f32> = (0..n * m).map(|_| r.sample::<f64, _>(StandardNormal) as f32).collect();
    let ev = crate::weight_stats::esd(&w, n, m);
    let q: f64 = m as f64 / n as f64;
    let (lo, hi) = ((1.0 - q.sqrt()).powi(2), (1.0 + q.sqrt()).powi(2));
    assert!((ev[0] - lo).abs() < 0.05 * lo && (ev[m - 1] - hi).abs() < 0.05 * hi, "{} {} vs [{lo}, {hi}]", ev[0], ev[m - 1]);
    assert!((ev.iter().sum::<f64>() / m as f64 - 1.0).abs() < 0.02, "mean eigenvalue = mean squared entry = 1");
}

#[test]
fn mcculloch_recovers_stable_parameters_from_our_sampler() {
    use crate::weight_stats::mcculloch;
    let mut r = rng(33);
    for (alpha, beta) in [(1.0, 0.0), (1.5, 0.0), (2.0, 0.0), (1.5, 0.5)] {
        let law = tailgrad_init::Stable::new(alpha, beta, 0.5).unwrap();
        let xs: Vec<f64> = (0..40_000).map(|_| 3.0 + law.sample(&mut r)).collect();
        let fit = mcculloch(&xs).unwrap();
        // Stated tolerance: alpha within 0.1, beta within 0.2, scale within 10% (40,000 samples).
        assert!((fit.alpha - alpha).abs() < 0.1, "alpha {alpha}: {fit:?}");
        assert!((fit.beta - beta).abs() < 0.2, "beta {beta}: {fit:?}");
        assert!((fit.scale - 0.5).abs() < 0.05, "scale: {fit:?}");
    }
}
