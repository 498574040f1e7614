//! Statistical tests of the samplers against their exact laws, and of spec validation.
//! Every test uses a fixed seed, so it is deterministic; the tolerances are stated next to each
//! check and are wide enough for a correct sampler (>= 4 standard errors) yet fail a wrong one.

use super::*;
use std::f64::consts::PI;

fn draws(law: &Stable, n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    (0..n).map(|_| law.sample(&mut r)).collect()
}

/// Kolmogorov-Smirnov statistic `sup |F_n(x) - F(x)|`.
fn ks_statistic(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max((((i + 1) as f64) / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Critical value of the KS test at level 0.1% for large n: 1.95 / sqrt(n).
fn ks_critical(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

#[test]
fn cauchy_at_alpha_one_passes_ks() {
    let c = 0.7;
    let xs = draws(&Stable::symmetric(1.0, c).unwrap(), 50_000, 1);
    let d = ks_statistic(xs, |x| 0.5 + (x / c).atan() / PI);
    assert!(d < ks_critical(50_000), "KS D = {d}");
}

#[test]
fn gaussian_at_alpha_two_passes_ks() {
    // exp(-|ct|^2) is N(0, 2c^2).
    let c = 1.3;
    let sd = 2f64.sqrt() * c;
    let xs = draws(&Stable::symmetric(2.0, c).unwrap(), 50_000, 2);
    let d = ks_statistic(xs, |x| 0.5 * libm::erfc(-x / (sd * 2f64.sqrt())));
    assert!(d < ks_critical(50_000), "KS D = {d}");
}

#[test]
fn totally_skewed_half_stable_is_levy() {
    // S_{1/2}(beta = 1, c) is the Levy law with CDF erfc(sqrt(c / (2x))) on x > 0.
    let c = 0.5;
    let xs = draws(&Stable::new(0.5, 1.0, c).unwrap(), 50_000, 3);
    assert!(xs.iter().all(|&x| x > 0.0), "a totally skewed alpha < 1 law lives on x > 0");
    let d = ks_statistic(xs, |x| libm::erfc((c / (2.0 * x)).sqrt()));
    assert!(d < ks_critical(50_000), "KS D = {d}");
}

#[test]
fn ks_rejects_a_wrong_law() {
    // The test above has power: a Cauchy sample is far from the Gaussian CDF (D = 0.084 here,
    // ten times the 0.1% critical value).
    let xs = draws(&Stable::symmetric(1.0, 1.0).unwrap(), 50_000, 4);
    let d = ks_statistic(xs, |x| 0.5 * libm::erfc(-x / 2.0));
    assert!(d > 5.0 * ks_critical(50_000), "KS D = {d}");
}

/// Empirical characteristic function against `exp(-|ct|^alpha)`. Each `cos(tX)` has variance
/// <= 1/2, so with n = 200k the standard error is <= 0.0016; the tolerance 0.008 is 5 of them.
#[test]
fn characteristic_function_matches_for_any_alpha() {
    let n = 200_000;
    let c = 0.8;
    for (k, alpha) in [0.5, 1.2, 1.7, 0.999, 1.001].into_iter().enumerate() {
        let xs = draws(&Stable::symmetric(alpha, c).unwrap(), n, 10 + k as u64);
        for t in [0.25, 0.5, 1.0, 2.0, 4.0] {
            let re = xs.iter().map(|x| (t * x).cos()).sum::<f64>() / n as f64;
            let im = xs.iter().map(|x| (t * x).sin()).sum::<f64>() / n as f64;
            let exact = (-(c * t).powf(alpha)).exp();
            assert!((re - exact).abs() < 0.008, "alpha {alpha}, t {t}: Re ecf {re} vs {exact}");
            assert!(im.abs() < 0.008, "alpha {alpha}, t {t}: Im ecf {im} (symmetric law)");
        }
    }
}

#[test]
fn tail_index_is_alpha() {
    // Hill's standard error is alpha / sqrt(k) = 0.05 at k = 1000; tolerance 0.2.
    for (k, alpha) in [0.8, 1.2, 1.6].into_iter().enumerate() {
        let xs = draws(&Stable::symmetric(alpha, 1.0).unwrap(), 1_000_000, 20 + k as u64);
        let est = crate::tail::hill(&xs, 1000).unwrap();
        assert!((est - alpha).abs() < 0.2, "alpha {alpha}: Hill estimate {est}");
    }
}

#[test]
fn tiny_alpha_and_extreme_draws_stay_finite() {
    for alpha in [0.05, 0.3, 0.999_999, 1.000_001, 1.999_999] {
        let spec = InitSpec::stable(alpha, 3.0).unwrap();
        let w = spec.sample(300, 300, &mut rng(5));
        assert!(w.iter().all(|x| x.is_finite()), "alpha {alpha}: non-finite weight");
    }
}

#[test]
fn stable_scale_follows_qu_et_al() {
    // At alpha = 2 the weights are Gaussian with variance sigma_w^2 / N_eff.
    let spec = InitSpec::stable(2.0, 1.5).unwrap();
    let (fan_in, fan_out) = (400, 100);
    let w = spec.sample(fan_in, fan_out, &mut rng(6));
    let var = w.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / w.len() as f64;
    let expected = 1.5f64.powi(2) / (400.0f64 * 100.0).sqrt();
    // Relative standard error of a variance estimate: sqrt(2/n) = 0.0045; tolerance 3%.
    assert!((var / expected - 1.0).abs() < 0.03, "var {var} vs {expected}");
    let fan_in_spec: InitSpec = "gaussian:sigma=1.5,fan=in".parse().unwrap();
    let w = fan_in_spec.sample(fan_in, fan_out, &mut rng(7));
    let var = w.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / w.len() as f64;
    assert!((var / (2.25 / 400.0) - 1.0).abs() < 0.03, "fan-in var {var}");
}

#[test]
fn baselines_have_their_variances() {
    let (fan_in, fan_out) = (300, 200);
    let var_of = |text: &str| {
        let w = text.parse::<InitSpec>().unwrap().sample(fan_in, fan_out, &mut rng(8));
        w.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / w.len() as f64
    };
    let n_eff = (300.0f64 * 200.0).sqrt();
    for (text, expected) in [
        ("uniform:sigma=2", 4.0 / n_eff),
        ("xavier", 2.0 / 500.0),
        ("he", 2.0 / 300.0),
        ("student-t:nu=5,sigma=1", 5.0 / 3.0 / n_eff),
    ] {
        let var = var_of(text);
        assert!((var / expected - 1.0).abs() < 0.05, "{text}: var {var} vs {expected}");
    }
}

#[test]
fn same_seed_same_weights() {
    let spec: InitSpec = "stable:alpha=1.3,sigma=1".parse().unwrap();
    assert_eq!(spec.sample(50, 40, &mut rng(9)), spec.sample(50, 40, &mut rng(9)));
    assert_ne!(spec.sample(50, 40, &mut rng(9)), spec.sample(50, 40, &mut rng(10)));
}

#[test]
fn command_line_and_toml_forms_agree() {
    let cli: InitSpec = "stable:alpha=1.5,sigma=1".parse().unwrap();
    let toml_form: InitSpec = toml::from_str(r#"law = "stable"
alpha = 1.5
sigma_w = 1.0"#)
    .unwrap();
    assert_eq!(cli, toml_form);
    assert_eq!(cli.law(), Law::Stable { alpha: 1.5, beta: 0.0 });
    assert_eq!(cli.fan(), Fan::Geometric);
    for text in ["stable:alpha=0.7,beta=-0.5,sigma=2,fan=in", "student-t:nu=3,sigma=0.5", "cauchy", "he:sigma=2"] {
        let spec: InitSpec = text.parse().unwrap();
        assert_eq!(spec.to_string().parse::<InitSpec>().unwrap(), spec, "{text}");
        let back: InitSpec = toml::from_str(&toml::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec, "{text} through TOML");
    }
}

#[test]
fn bad_specs_name_the_field_and_range() {
    let err = |text: &str| text.parse::<InitSpec>().unwrap_err().to_string();
    assert_eq!(err("stable:alpha=0"), "init: `alpha` = 0 is out of range: expected in (0, 2]");
    assert_eq!(err("stable:alpha=2.5"), "init: `alpha` = 2.5 is out of range: expected in (0, 2]");
    assert_eq!(err("stable:alpha=1,beta=2"), "init: `beta` = 2 is out of range: expected in [-1, 1]");
    assert_eq!(err("gaussian:sigma=-1"), "init: `sigma_w` = -1 is out of range: expected finite and > 0");
    assert_eq!(err("student-t:nu=0"), "init: `nu` = 0 is out of range: expected finite and > 0");
    assert_eq!(err("stable"), "init: law `stable` needs `alpha`");
    assert_eq!(err("gaussian:alpha=1"), "init: law `gaussian` takes no `alpha`");
    assert!(err("levy:alpha=1").starts_with("init: unknown law `levy` (known laws: stable,"));
    assert!(err("stable:alpha=x").contains("`alpha` must be a number, got `x`"));
    assert!(err("stable:gamma=1").contains("unknown key `gamma`"));
    let toml_err = toml::from_str::<InitSpec>("law = \"stable\"\nalpha = 1.5\nsigmaw = 1.0").unwrap_err();
    assert!(toml_err.to_string().contains("unknown field `sigmaw`"), "{toml_err}");
    let toml_err = toml::from_str::<InitSpec>("law = \"stable\"\nalpha = 3.0").unwrap_err();
    assert!(toml_err.to_string().contains("`alpha` = 3 is out of range"), "{toml_err}");
}

#[test]
fn scale_is_the_laws_own_scale() {
    // Medians of |W| with known values: |Cauchy(c)| has median c exactly; a stable law at
    // alpha = 2 with scale c is N(0, 2c^2), so median |W| = 0.6745 sqrt(2) c; a Gaussian of standard
    // deviation c: 0.6745 c; uniform on (-c, c): c / 2. 200,000 draws: the medians' relative
    // standard errors are below 0.5%.
    let (fan_in, fan_out) = (500, 400);
    let median_abs = |spec: &InitSpec, seed| {
        let mut w: Vec<f64> = spec.sample(fan_in, fan_out, &mut rng(seed)).iter().map(|x| (*x as f64).abs()).collect();
        w.sort_by(f64::total_cmp);
        w[w.len() / 2] / spec.scale(fan_in, fan_out)
    };
    let cases: [(&str, f64); 4] = [
        ("cauchy:sigma=0.5", 1.0),
        ("stable:alpha=2,sigma=1.3", 0.674_49 * std::f64::consts::SQRT_2),
        ("gaussian:sigma=2", 0.674_49),
        ("uniform:sigma=1", 0.5),
    ];
    for (seed, (text, expected)) in cases.into_iter().enumerate() {
        let spec: InitSpec = text.parse().unwrap();
        let m = median_abs(&spec, 30 + seed as u64);
        assert!((m / expected - 1.0).abs() < 0.02, "{text}: median |W| / c = {m}, expected {expected}");
    }
    let cauchy: InitSpec = "cauchy:sigma=0.5".parse().unwrap();
    assert!((cauchy.scale(500, 400) - 0.5 / (2.0 * (500.0f64 * 400.0).sqrt())).abs() < 1e-15);
}

#[test]
fn each_law_names_its_tail_index() {
    // Stable: its alpha; Student-t: min(nu, 2) (nu = 1 is the Cauchy, nu = 3 has a finite
    // variance); the Gaussian laws: 2; the bounded uniform: none.
    let law = |s: &str| s.parse::<InitSpec>().unwrap().law();
    assert_eq!(law("stable:alpha=1.3,sigma=1").tail_index(), Some(1.3));
    assert_eq!(law("cauchy:sigma=1").tail_index(), Some(1.0));
    assert_eq!(law("student-t:nu=1.5,sigma=1").tail_index(), Some(1.5));
    assert_eq!(law("student-t:nu=3,sigma=1").tail_index(), Some(2.0));
    assert_eq!(law("gaussian:sigma=1").tail_index(), Some(2.0));
    assert_eq!(law("uniform:sigma=1").tail_index(), None);
    assert_eq!(law("student-t:nu=3,sigma=1").name(), "student-t");
}

