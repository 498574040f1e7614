//! Robustness against the closed forms of a two-class linear classifier on real MNIST 0 / 1.

use crate::few_shot::gaussian_tail;
use crate::robustness::{fgsm, gaussian_noise};
use burn::tensor::Device;
use tailgrad_model::loss::{read_f32s, read_i64s};
use tailgrad_model::{Mlp, MlpSpec};

/// The first 1000 test images of digits 0 and 1 (normalized) and their labels.
fn zeros_and_ones() -> (Vec<f32>, Vec<i64>) {
    let (_, test) = super::mnist(1);
    let (x, y) = test.range(0, test.len);
    let (x, y) = (read_f32s(x), read_i64s(y));
    let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] <= 1).take(1000).collect();
    (rows.iter().flat_map(|&i| x[i * 784..(i + 1) * 784].to_vec()).collect(), rows.iter().map(|&i| y[i]).collect())
}

/// A random two-class linear model with biases, and each image's margin `m = d . x + c` and
/// `||d||_1`, `||d||_2` with `d = w_y - w_other`.
fn linear_margins(x: &[f32], y: &[i64]) -> (Mlp, Vec<(f64, f64, f64)>) {
    let spec: MlpSpec = toml::from_str("input = 784\nclasses = 2\nhidden = []\nactivation = \"tanh\"\nbias = true\ninit = { law = \"gaussian\", sigma_w = 1.0 }").unwrap();
    let model = Mlp::init(&spec, 3, &Device::flex().autodiff()).unwrap();
    let host = model.to_host();
    let (w, b) = (&host[0].values, &host[1].values); // weight [784, 2] (in, out), bias [2]
    let margins = y
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let (a, o) = (label as usize, 1 - label as usize);
            let d: Vec<f64> = (0..784).map(|k| (w[k * 2 + a] - w[k * 2 + o]) as f64).collect();
            let m = (0..784).map(|k| d[k] * x[i * 784 + k] as f64).sum::<f64>() + (b[a] - b[o]) as f64;
            (m, d.iter().map(|v| v.abs()).sum(), d.iter().map(|v| v * v).sum::<f64>().sqrt())
        })
        .collect();
    (model, margins)
}

#[test]
fn fgsm_flips_a_linear_classifier_exactly_where_eps_reaches_the_l1_margin() {
    let (x, y) = zeros_and_ones();
    let (model, margins) = linear_margins(&x, &y);
    let eps = [0.0, 0.03, 0.1, 0.3];
    let curve = fgsm(&model, &x, &y, &Device::flex(), &eps);
    for (&e, &(_, measured)) in eps.iter().zip(&curve.points) {
        let exact = margins.iter().filter(|(m, l1, _)| m - e * l1 > 0.0).count() as f64 / y.len() as f64;
        assert!((measured - exact).abs() <= 2.0 / y.len() as f64, "eps {e}: measured {measured} vs exact {exact}");
    }
    assert!(curve.points[0].1 - curve.points[3].1 > 0.05, "the attack bites: {:?}", curve.points);
}

#[test]
fn gaussian_noise_matches_phi_of_the_l2_margin() {
    let (x, y) = zeros_and_ones();
    let (model, margins) = linear_margins(&x, &y);
    let sigmas = [0.5, 2.0];
    let curve = gaussian_noise(&model, &x, &y, &Device::flex(), &sigmas, 20, 9);
    for (&s, &(_, measured)) in sigmas.iter().zip(&curve.points) {
        // P(correct) = Phi(m / (sigma ||d||_2)) = H(-m / (sigma ||d||_2)).
        let exact = margins.iter().map(|(m, _, l2)| gaussian_tail(-m / (s * l2))).sum::<f64>() / y.len() as f64;
        assert!((measured - exact).abs() < 0.012, "sigma {s}: measured {measured} vs exact {exact}");
    }
}
