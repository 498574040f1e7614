use super::*;
use crate::criticality::mean_field::{correlation_map, gauss_expect};
use crate::criticality::{Activation, Phase, StableGrid, critical_sigma_w, ensemble, lyapunov, mean_field_stable_tanh, mean_field_tanh, propagated_circle_cv};

fn fan_in(alpha: f64, sigma: f64) -> tailgrad_init::InitSpec {
    tailgrad_init::InitSpec::stable(alpha, sigma).unwrap().with_fan(tailgrad_init::Fan::In)
}

#[test]
fn gaussian_mean_field_phases_correlation_length_and_measured_lyapunov_exponents() {
    // Ordered: q* = 0, chi = sigma_w^2, xi = -1 / ln sigma_w^2 (Schoenholz et al.'s xi_c at c* = 1).
    let ordered = mean_field_tanh(0.8);
    assert_eq!((ordered.q_star, ordered.phase), (0.0, Phase::Ordered));
    assert!((ordered.chi - 0.64).abs() < 1e-12 && (ordered.xi.unwrap() + 1.0 / 0.64f64.ln()).abs() < 1e-12);
    // Critical: chi = 1 exactly, infinite correlation length (not 1/|ln chi| of an unconverged q).
    let critical = mean_field_tanh(1.0);
    assert_eq!((critical.chi, critical.xi, critical.phase), (1.0, None, Phase::Critical));
    // Chaotic: q* solves the length map; c* = 0 is the correlation map's fixed point, its slope
    // there is chi_c, and the correlation length is -1 / ln chi_c.
    let chaotic = mean_field_tanh(2.0);
    assert_eq!(chaotic.phase, Phase::Chaotic);
    let q = chaotic.q_star;
    assert!((4.0 * gauss_expect(|z| (q.sqrt() * z).tanh().powi(2)) - q).abs() < 1e-10, "q* is a fixed point");
    assert!(correlation_map(2.0, q, 0.0).abs() < 1e-12, "c* = 0 is a fixed point");
    let slope = (correlation_map(2.0, q, 1e-4) - correlation_map(2.0, q, -1e-4)) / 2e-4;
    assert!((slope - chaotic.chi_c).abs() < 1e-6, "chi_c is the map's slope at c*: {slope} vs {}", chaotic.chi_c);
    let mut c = 0.6;
    (0..200).for_each(|_| c = correlation_map(2.0, q, c));
    assert!(c.abs() < 1e-6, "c* = 0 attracts: {c}");
    assert!(chaotic.chi > 1.0 && chaotic.chi_c < 1.0 && chaotic.xi.unwrap() > 0.0);
    // The measured Lyapunov exponent follows (1/2) ln chi in the ordered and the chaotic phase.
    for sigma in [0.8, 2.0] {
        let mf = mean_field_tanh(sigma);
        let measured = lyapunov(&fan_in(2.0, sigma), Activation::Tanh, 800, 40, 20, 1, 7)[0];
        assert!((measured - mf.lyapunov).abs() < 0.05, "sigma_w = {sigma}: measured {measured} vs mean field {}", mf.lyapunov);
    }
}

#[test]
fn the_heavy_tailed_length_map_reduces_to_the_gaussian_and_matches_a_wide_random_net() {
    // At alpha = 2 the stable grid's expectations are Gaussian ones: the same q* and chi.
    let gauss = StableGrid::new(2.0, 600);
    for sigma in [1.5, 2.5] {
        let (a, b) = (mean_field_stable_tanh(&gauss, sigma), mean_field_tanh(sigma));
        assert!((a.q_star / b.q_star - 1.0).abs() < 2e-3, "q*: {} vs {}", a.q_star, b.q_star);
        assert!((a.chi_alpha / b.chi - 1.0).abs() < 2e-3 && (a.lyapunov - b.lyapunov).abs() < 2e-3);
    }
    // At alpha = 1.5: a random tanh net of width 2000 with stable weights of scale
    // sigma_w (1/(2N))^(1/alpha); its pre-activations are alpha-stable with scale (q/2)^(1/alpha),
    // so q = 2 scale^alpha from a McCulloch fit of layers 20-29 should match the map's q*.
    let grid = StableGrid::new(1.5, 600);
    let mf = mean_field_stable_tanh(&grid, 1.5);
    let init = fan_in(1.5, 1.5);
    let (width, mut r) = (2000, tailgrad_init::rng(3));
    let mut h: Vec<f64> = (0..width).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let mut fitted = Vec::new();
    for l in 0..30 {
        let w = init.sample(width, width, &mut r);
        let act: Vec<f64> = h.iter().map(|x| x.tanh()).collect();
        h = crate::criticality::propagation::vec_mat(&act, &w, width);
        if l >= 20 {
            let fit = crate::weight_stats::mcculloch(&h).unwrap();
            fitted.push(2.0 * fit.scale.powf(1.5));
        }
    }
    let q = fitted.iter().sum::<f64>() / fitted.len() as f64;
    assert!((q / mf.q_star - 1.0).abs() < 0.1, "measured q {q} vs mean field {}", mf.q_star);
    // For alpha < 2, q* > 0 already below sigma_w = 1 (the map's slope at 0 is logarithmically
    // infinite, cut off here by the grid's largest draw), and since |tanh'| <= 1 the decoupled
    // chi_alpha = sigma_w^alpha E|tanh'|^alpha stays below sigma_w^alpha: it reaches 1 only above
    // sigma_w = 1 (1.12 at alpha = 1.5; an independent NumPy evaluation of the same quadrature
    // gives chi_alpha = 0.984 at 1.1 and 1.044 at 1.2). The measured edge of heavy-tailed nets lies
    // below 1 (Qu et al.): the closure is a reference line, not the edge.
    let below = mean_field_stable_tanh(&grid, 0.9);
    assert!((below.q_star / 0.0495 - 1.0).abs() < 0.02 && (below.chi_alpha - 0.815).abs() < 2e-3, "{below:?}");
    let edge = critical_sigma_w(&grid, 0.2, 2.0).unwrap();
    assert!(edge > 1.1 && edge < 1.2, "chi_alpha = 1 at sigma_w = {edge}");
    assert!((critical_sigma_w(&gauss, 0.2, 2.0).unwrap() - 1.0).abs() < 1e-2);
}

#[test]
fn participation_and_effective_dimensions_of_known_cases() {
    use crate::criticality::{effective_dimension, participation_dimension};
    let mut one_hot = vec![0.0; 100];
    one_hot[7] = 3.0;
    let uniform = vec![0.5; 100];
    for q in [0.5, 1.0, 2.0] {
        assert!(participation_dimension(&one_hot, q).abs() < 1e-12, "localized: D_{q} = 0");
        assert!((participation_dimension(&uniform, q) - 1.0).abs() < 1e-12, "delocalized: D_{q} = 1");
    }
    assert!((effective_dimension(&[2.0; 50]) - 50.0).abs() < 1e-9, "isotropic: ED = N");
    let mut rank1 = vec![0.0; 50];
    rank1[0] = 4.0;
    assert!((effective_dimension(&rank1) - 1.0).abs() < 1e-12, "rank 1: ED = 1");
}

#[test]
fn heavy_tailed_nets_scatter_the_propagated_circle_more_than_gaussian_ones_over_draws() {
    let cv = |alpha: f64| ensemble(4, 3, |seed| propagated_circle_cv(&fan_in(alpha, 1.0), 200, 12, 300, seed, &Device::flex()));
    let (gauss, cauchy) = (cv(2.0), cv(1.0));
    assert_eq!(gauss.draws, 4);
    // Deep in, Qu et al. report CV ~ 0.2-0.4 (Gaussian) vs ~1 (heavy-tailed, extended critical regime).
    assert!(gauss.mean[11] < 0.6 && cauchy.mean[11] > 0.7, "CV at layer 12: Gaussian {} vs Cauchy {}", gauss.mean[11], cauchy.mean[11]);
    assert!(gauss.std[11] > 0.0 && gauss.std[11] < gauss.mean[11], "the spread over draws is reported");
    // The circle goes through tanh before the first layer (as the authors propagate it). Layer
    // 1's CV is then that of the neighbour differences (tanh(x_(k+1)) - tanh(x_k)) W, computed here
    // in f64 from the same draw of W; without the first tanh (a linear map's ellipse) it is
    // 0.053 here, against 0.166 with it, so the check tells the two apart.
    let init = fan_in(2.0, 1.0);
    let (width, angles) = (200, 300);
    let one = propagated_circle_cv(&init, width, 1, angles, 5, &Device::flex());
    let w = init.sample(width, width, &mut tailgrad_init::rng(5));
    let cv_of = |f: fn(f64) -> f64| {
        let point = |k: usize| {
            let t = 2.0 * std::f64::consts::PI * (k % angles) as f64 / angles as f64;
            (f(t.cos()), f(t.sin()))
        };
        let d: Vec<f64> = (0..angles)
            .map(|k| {
                let ((a0, b0), (a1, b1)) = (point(k), point(k + 1));
                (0..width).map(|j| ((a1 - a0) * w[j] as f64 + (b1 - b0) * w[width + j] as f64).powi(2)).sum::<f64>().sqrt()
            })
            .collect();
        let (mean, std) = crate::linalg::mean_std(&d);
        std / mean
    };
    let (with_tanh, linear) = (cv_of(f64::tanh), cv_of(|x| x));
    eprintln!("layer-1 CV: measured {}, through tanh {with_tanh}, linear {linear}", one[0]);
    assert!((one[0] - with_tanh).abs() < 1e-3 * with_tanh, "layer-1 CV {} vs {with_tanh} through tanh", one[0]);
    assert!((with_tanh - linear).abs() > 0.08, "with tanh {with_tanh}, without {linear}");
}

#[test]
fn heavy_tailed_random_nets_have_lower_dimensional_representations() {
    use crate::criticality::representation;
    let mut r = rng(41);
    let (width, m) = (120, 300);
    let x: Vec<f32> = (0..width * m).map(|_| r.sample::<f64, _>(StandardNormal) as f32).collect();
    let rep = |alpha: f64| representation(&fan_in(alpha, 1.0), width, 4, &x, 2, 5);
    let (gauss, levy) = (rep(2.0), rep(1.2));
    // Qu et al.: ED ~ 8-17 at alpha = 2 vs ~2-4 at alpha = 1.2; D_2 of Jacobian vectors 0.88 vs 0.14.
    assert!(gauss.ed > levy.ed, "ED: Gaussian {} vs alpha = 1.2 {}", gauss.ed, levy.ed);
    assert!(gauss.ed_second_moment > levy.ed_second_moment);
    let (dg, dl) = (gauss.d2_jacobian.unwrap(), levy.d2_jacobian.unwrap());
    assert!(dg > dl && dg > 0.6 && dl < 0.6, "D_2 of Jacobian vectors: Gaussian {dg} vs alpha = 1.2 {dl}");
    // D_q is non-increasing in q (D_0 = 1 for vectors with no exact zeros).
    for dq in [&gauss.dq_jacobian, &levy.dq_jacobian] {
        assert!((dq[0].1 - 1.0).abs() < 1e-9 && dq.windows(2).all(|p| p[1].1 <= p[0].1 + 1e-9), "{dq:?}");
    }
}

#[test]
fn representation_measures_the_marchenko_pastur_dimension_and_the_mean_as_a_direction() {
    // Through `representation` itself: one Gaussian layer of width N = 100 with sigma_w = 0.01
    // (tanh linear to 0.3%), inputs x = c + z with z ~ N(0, I) and a common offset c = 10 * 1.
    // Activity covariance: W^T W (Wishart, ratio 1), whose ED = (tr)^2 / tr(^2) = N^2 / (2N + 1),
    // less the sampling term: 1/ED = (2N + 1)/N^2 + 1/m = 49.1 at m = 4000. Its eigenvectors are
    // Haar: E sum v_i^4 = 3/(N + 2), so D_2 = 1 - ln(3N/(N + 2)) / ln N = 0.766. The second moment
    // adds the mean activity c W, of squared norm ~100 tr(W^T W): ED ~ 1.02.
    use crate::criticality::representation;
    let (n, m) = (100, 4000);
    let mut r = rng(42);
    let x: Vec<f32> = (0..n * m).map(|_| (10.0 + r.sample::<f64, _>(StandardNormal)) as f32).collect();
    let rep = representation(&fan_in(2.0, 0.01), n, 1, &x, 0, 7);
    let ed = 1.0 / ((2 * n + 1) as f64 / (n * n) as f64 + 1.0 / m as f64);
    assert!((rep.ed - ed).abs() < 2.5, "covariance ED {} vs {ed}", rep.ed);
    assert!(rep.ed_second_moment < 1.05, "second-moment ED {}", rep.ed_second_moment);
    let d2 = 1.0 - (3.0 * n as f64 / (n + 2) as f64).ln() / (n as f64).ln();
    assert!((rep.d2_pcs - d2).abs() < 0.04, "D_2 of the top PCs {} vs {d2}", rep.d2_pcs);
    assert!(rep.d2_jacobian.is_none() && rep.dq_jacobian.is_empty());
}
