use super::*;

#[test]
fn gaussian_mean_field_matches_the_measured_lyapunov_exponent() {
    use crate::criticality::{lyapunov, mean_field_tanh};
    // Ordered (q* = 0, chi = sigma_w^2), critical, and chaotic (q* > 0, chi > 1) tanh nets.
    let ordered = mean_field_tanh(0.8);
    assert!(ordered.q_star < 1e-6 && (ordered.chi - 0.64).abs() < 1e-3, "{ordered:?}");
    assert!((mean_field_tanh(1.0).chi - 1.0).abs() < 1e-2);
    let chaotic = mean_field_tanh(2.0);
    assert!(chaotic.q_star > 0.5 && chaotic.chi > 1.0, "{chaotic:?}");
    for sigma in [0.8, 2.0] {
        let mf = mean_field_tanh(sigma);
        let mut init = tailgrad_init::InitSpec::stable(2.0, sigma).unwrap();
        init.fan = tailgrad_init::Fan::In;
        let measured = lyapunov(&init, 800, 40, 20, 1, 7)[0];
        assert!((measured - mf.lyapunov).abs() < 0.05, "sigma_w = {sigma}: measured {measured} vs mean field {}", mf.lyapunov);
    }
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
fn heavy_tailed_nets_scatter_the_propagated_circle_more_than_gaussian_ones() {
    use crate::criticality::propagated_circle_cv;
    let cv = |alpha: f64| {
        let mut init = tailgrad_init::InitSpec::stable(alpha, 1.0).unwrap();
        init.fan = tailgrad_init::Fan::In;
        propagated_circle_cv(&init, 200, 12, 300, 3, &Device::flex())
    };
    let (gauss, cauchy) = (cv(2.0), cv(1.0));
    // A single linear layer maps the circle to an ellipse: CV of a smooth closed curve, < 1.
    assert!(gauss[0] < 0.8 && cauchy[0] < 0.8);
    // Deep in, Qu et al. report CV ~ 0.2-0.4 (Gaussian) vs ~1 (heavy-tailed, extended critical regime).
    assert!(gauss[11] < 0.6 && cauchy[11] > 0.7, "CV at layer 12: Gaussian {} vs Cauchy {}", gauss[11], cauchy[11]);
}

#[test]
fn heavy_tailed_random_nets_have_lower_dimensional_representations() {
    use crate::criticality::representation;
    let mut r = rng(41);
    let (width, m) = (120, 300);
    let x: Vec<f32> = (0..width * m).map(|_| r.sample::<f64, _>(StandardNormal) as f32).collect();
    let rep = |alpha: f64| {
        let mut init = tailgrad_init::InitSpec::stable(alpha, 1.0).unwrap();
        init.fan = tailgrad_init::Fan::In;
        representation(&init, width, 4, &x, 2, 5)
    };
    let (gauss, levy) = (rep(2.0), rep(1.2));
    // Qu et al.: ED ~ 8-17 at alpha = 2 vs ~2-4 at alpha = 1.2; D_2 of Jacobian vectors 0.88 vs 0.14.
    assert!(gauss.ed > levy.ed, "ED: Gaussian {} vs alpha = 1.2 {}", gauss.ed, levy.ed);
    let (dg, dl) = (gauss.d2_jacobian.unwrap(), levy.d2_jacobian.unwrap());
    assert!(dg > dl && dg > 0.6 && dl < 0.6, "D_2 of Jacobian vectors: Gaussian {dg} vs alpha = 1.2 {dl}");
    // D_q is non-increasing in q (D_0 = 1 for vectors with no exact zeros).
    for dq in [&gauss.dq_jacobian, &levy.dq_jacobian] {
        assert!((dq[0].1 - 1.0).abs() < 1e-9 && dq.windows(2).all(|p| p[1].1 <= p[0].1 + 1e-9), "{dq:?}");
    }
}
