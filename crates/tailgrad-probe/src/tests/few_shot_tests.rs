//! Few-shot geometry against Sorscher, Ganguli & Sompolinsky's synthetic manifolds: two D = 50
//! subspaces, orthogonal to each other and to the centre offset, |dx0| = 1, radius R = 2.

use super::rng;
use crate::few_shot::{Manifold, PairGeometry, SecondOrder, gaussian_tail, prototype_error};
use rand::RngExt;
use rand_distr::StandardNormal;

const N: usize = 128;
const D: usize = 50;
const R: f64 = 2.0;

/// Points of class `class` (0 or 1): centre `class * e_127`, spread in coordinates
/// `class * D .. (class + 1) * D`; on the sphere of radius R or a Gaussian cloud of
/// per-direction std R / sqrt(D).
fn cloud(class: usize, points: usize, sphere: bool, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let mut x = vec![0.0; points * N];
    for p in 0..points {
        let row = &mut x[p * N..(p + 1) * N];
        row[N - 1] = class as f64;
        let z: Vec<f64> = (0..D).map(|_| r.sample::<f64, _>(StandardNormal)).collect();
        let scale = if sphere { R / z.iter().map(|v| v * v).sum::<f64>().sqrt() } else { R / (D as f64).sqrt() };
        z.iter().enumerate().for_each(|(k, v)| row[class * D + k] = scale * v);
    }
    x
}

/// The exact sphere geometry: the 2D points +-R e_k of each subspace (covariance (R^2/D) I_D,
/// every |xi| = R).
fn exact_spheres() -> PairGeometry {
    let poles = |class: usize| -> Vec<f64> {
        let mut x = vec![0.0; 2 * D * N];
        for k in 0..D {
            for (s, sign) in [(0, 1.0), (1, -1.0)] {
                let row = &mut x[(2 * k + s) * N..(2 * k + s + 1) * N];
                row[N - 1] = class as f64;
                row[class * D + k] = sign * R;
            }
        }
        x
    };
    PairGeometry::new(&Manifold::from_points(&poles(0), N), &Manifold::from_points(&poles(1), N))
}

#[test]
fn the_snr_reproduces_the_authors_sphere_and_gaussian_cloud_terms() {
    let g = exact_spheres();
    assert!((g.signal - 0.25).abs() < 1e-12 && (g.dimension - 50.0).abs() < 1e-9 && g.bias.abs() < 1e-12);
    assert!(g.csa.abs() < 1e-15 && g.csb.abs() < 1e-15 && g.ss.abs() < 1e-15 && g.norm_var.abs() < 1e-15);
    // Spheres: the term m(m-1)/(D m^4): errors 0.188 / 0.132 / 0.033 at m = 1 / 2 / 5.
    for (m, want) in [(1, 0.188), (2, 0.132), (5, 0.033)] {
        let got = g.predicted_error(m, SecondOrder::Measured);
        assert!((got - want).abs() < 1e-3, "spheres, m = {m}: {got} vs {want}");
        assert!((g.second_order(m) - (m * (m - 1)) as f64 / (D as f64 * (m as f64).powi(4))).abs() < 1e-12);
    }
    // Gaussian clouds: Var|xi|^2 = 2 tr C^2, so the 1/m^3 part equals the (m-1)/m^3 part's
    // coefficient and n2 = 1/(D m^2): errors 0.266 / 0.154 / 0.036.
    let gauss = PairGeometry { norm_var: g.radius_var, ..g.clone() };
    for (m, want) in [(1, 0.266), (2, 0.154), (5, 0.036)] {
        let got = gauss.predicted_error(m, SecondOrder::Measured);
        assert!((got - want).abs() < 1e-3, "Gaussian clouds, m = {m}: {got} vs {want}");
    }
    // Without the 1/m^2 term (Qu's script): 0.188 / 0.106 / 0.024 for both.
    for (m, want) in [(1, 0.188), (2, 0.106), (5, 0.024)] {
        assert!((g.predicted_error(m, SecondOrder::Omitted) - want).abs() < 1e-3);
    }
    assert_eq!(gaussian_tail(0.0), 0.5);
}

#[test]
fn predicted_errors_match_the_prototype_rule_on_sampled_manifolds_and_the_omitted_term_does_not() {
    // Monte Carlo of the prototype rule (issue's reference, +-0.001: spheres 0.190 / 0.134 / 0.037,
    // Gaussian clouds 0.258 / 0.152 / 0.039), against the theory from the sampled points' geometry.
    for sphere in [true, false] {
        let (a, b) = (cloud(0, 2000, sphere, 1), cloud(1, 2000, sphere, 2));
        let g = PairGeometry::new(&Manifold::from_points(&a, N), &Manifold::from_points(&b, N));
        let mut r = rng(3);
        for m in [1, 2, 5] {
            let measured = prototype_error(&a, &b, N, m, 300, &mut r);
            let theory = g.predicted_error(m, SecondOrder::Measured);
            let omitted = g.predicted_error(m, SecondOrder::Omitted);
            assert!((measured - theory).abs() < 0.012, "sphere {sphere}, m = {m}: measured {measured} vs theory {theory}");
            if m >= 2 {
                assert!(measured - omitted > 0.012, "sphere {sphere}, m = {m}: the omitted term must miss: {omitted} vs {measured}");
            }
        }
    }
}

#[test]
fn identical_manifolds_have_zero_snr() {
    let a = cloud(0, 400, false, 4);
    let m = Manifold::from_points(&a, N);
    let g = PairGeometry::new(&m, &m);
    assert_eq!((g.signal, g.bias), (0.0, 0.0));
    assert_eq!(g.snr(5, SecondOrder::Measured), 0.0);
    assert_eq!(g.predicted_error(1, SecondOrder::Measured), 0.5);
    let measured = prototype_error(&a, &a, N, 1, 200, &mut rng(5));
    assert!((measured - 0.5).abs() < 0.02, "{measured}");
}

#[test]
fn the_few_shot_probe_measures_each_layer_of_a_network_on_real_mnist() {
    // Wiring: the probe's layer 0 is the input; its SNR there equals the geometry of the same
    // test images (the first 40 of classes 5, 6, 7) computed here by hand.
    use tailgrad_model::loss::{read_f32s, read_i64s};
    let (train, test) = super::mnist(20);
    let model = super::net(&[32], 1, 1.0);
    let spec: tailgrad_train::ProbeSpec = toml::from_str("name = \"few-shot\"\nclasses = [5, 6, 7]\npoints = 40\nshots = [1, 5]\nepisodes = 10").unwrap();
    let ctx = tailgrad_train::ProbeContext {
        model: &model,
        train: &train,
        test: &test,
        novel: None,
        flipped: None,
        fine_labels: None,
        step: 0,
        epochs_done: 0,
        total_steps: 0,
        lr: 0.1,
        batch_size: 32,
        seed: 0,
        run_dir: std::path::Path::new("."),
    };
    let out = crate::offline(&spec, &ctx).unwrap();
    let rows = out.record.as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2, "input and one hidden layer, two values of m");
    let labels = read_i64s(test.y.clone());
    let pixels = read_f32s(test.range(0, test.len).0);
    let class = |c: i64| -> Vec<f64> {
        (0..labels.len()).filter(|&i| labels[i] == c).take(40).flat_map(|i| pixels[i * 784..(i + 1) * 784].iter().map(|&v| v as f64)).collect()
    };
    let manifolds: Vec<Manifold> = [5, 6, 7].iter().map(|&c| Manifold::from_points(&class(c), 784)).collect();
    let mut snr = 0.0;
    for a in 0..3 {
        for b in (0..3).filter(|&b| b != a) {
            snr += PairGeometry::new(&manifolds[a], &manifolds[b]).snr(1, SecondOrder::Measured) / 6.0;
        }
    }
    let row = rows.iter().find(|r| r["layer"] == 0 && r["m"] == 1).unwrap();
    assert!((row["snr"].as_f64().unwrap() - snr).abs() < 1e-9 * snr.abs().max(1.0), "{} vs {snr}", row["snr"]);
    for r in rows {
        let e = r["measured_error"].as_f64().unwrap();
        assert!((0.0..0.5).contains(&e), "digits are separable better than chance: {r}");
    }
    let err = crate::build(&[toml::from_str("name = \"few-shot\"\nshots = [0]").unwrap()]).err().unwrap().to_string();
    assert!(err.contains("`shots`"), "{err}");
}
