use super::*;
use crate::noise::{Moments, NoiseInput, measure, per_sample_stats};

/// K minibatch gradients `g_mu = G + xi_mu`, with `xi` of covariance `I / B` in D dimensions:
/// `tr(Sigma_B) = D / B`, `tr(Sigma) = D`, `B_simple = D / |G|^2`.
fn synthetic_moments(d: usize, k: usize, b: usize, g_norm_sq: f64, seed: u64) -> Moments {
    let mut r = rng(seed);
    let g: Vec<f64> = (0..d).map(|i| if i == 0 { g_norm_sq.sqrt() } else { 0.0 }).collect();
    let noise = 1.0 / (b as f64).sqrt();
    let mut m = Moments::default();
    for _ in 0..k {
        let v: Vec<f64> = g.iter().map(|gi| gi + noise * r.sample::<f64, _>(StandardNormal)).collect();
        m.add(&v);
    }
    m
}

#[test]
fn the_gradient_noise_scale_is_unbiased_where_noise_dominates() {
    // The case: K = 20, B = 50, true B_simple = 2e4. |g_bar|^2 is |G|^2 + tr(Sigma_B)/K =
    // 10 + 200: dividing by it caps the estimate near K B = 1000 (it gives ~950); the unbiased
    // |G|^2 = |g_bar|^2 - tr(Sigma_B)/K recovers 2e4 within its sampling error (~7% here).
    let (d, k, b) = (200_000, 20, 50);
    let s = synthetic_moments(d, k, b, 10.0, 1).summary(b);
    assert!((s.trace_cov / (d as f64 / b as f64) - 1.0).abs() < 0.02, "tr(Sigma_B) {}", s.trace_cov);
    assert!((s.b_simple() / 2e4 - 1.0).abs() < 0.2, "B_simple {} vs 2e4", s.b_simple());
    let plug_in = b as f64 * s.trace_cov / s.mean_grad_norm.powi(2);
    assert!(plug_in < 1000.0, "the biased plug-in estimate saturates below K B: {plug_in}");
    assert!((s.snr() / 2.5e-3 - 1.0).abs() < 0.2, "SNR {} vs |G|^2 / tr(Sigma_B) = 10 / 4000", s.snr());
    // Signal-dominated: B_simple = 100.
    let s = synthetic_moments(20_000, k, b, 200.0, 2).summary(b);
    assert!((s.b_simple() / 100.0 - 1.0).abs() < 0.05, "B_simple {}", s.b_simple());
    // Pure noise (G = 0): |G|^2_hat scatters around 0; when it is <= 0 B_simple is unresolved (NaN).
    let unresolved = (0..10).filter(|&seed| synthetic_moments(2000, k, b, 0.0, 10 + seed).summary(b).b_simple().is_nan()).count();
    assert!((2..=8).contains(&unresolved), "{unresolved} of 10 pure-noise cases unresolved");
}

#[test]
fn the_per_sample_noise_scale_is_unbiased() {
    // n = 200 per-sample gradients G + xi_i, xi ~ N(0, I) in D = 50,000 dimensions: tr(Sigma) = D,
    // |G|^2 = 50, B_simple = 1000. The old form, tr = <|g|^2> - |g_bar|^2 and B = tr / |g_bar|^2,
    // gives ~166 (|g_bar|^2 = 50 + D / n = 300).
    let (d, n) = (50_000, 200);
    let mut r = rng(3);
    let (mut sum_sq, mut mean) = (0.0, vec![0.0; d]);
    for _ in 0..n {
        let v: Vec<f64> = (0..d).map(|i| if i == 0 { 50f64.sqrt() } else { 0.0 } + r.sample::<f64, _>(StandardNormal)).collect();
        sum_sq += dot(&v, &v);
        linalg::axpy(1.0 / n as f64, &v, &mut mean);
    }
    let (trace, b_simple) = per_sample_stats(sum_sq, dot(&mean, &mean), n);
    assert!((trace / d as f64 - 1.0).abs() < 0.01, "tr(Sigma) {trace}");
    assert!((b_simple / 1000.0 - 1.0).abs() < 0.15, "B_simple {b_simple}");
}

#[test]
fn noise_moments_of_known_vectors() {
    let mut m = Moments::default();
    for k in 0..4 {
        let mut e = vec![0.0; 4];
        e[k] = 2.0;
        m.add(&e);
    }
    let s = m.summary(8);
    // Orthogonal vectors of length 2: no alignment, amplitude 2, mean (0.5, 0.5, 0.5, 0.5).
    assert!(s.alignment.abs() < 1e-12 && (s.mean_amplitude - 2.0).abs() < 1e-12);
    assert!((s.mean_grad_norm - 1.0).abs() < 1e-12);
    // tr(Sigma_B) = (sum |g|^2 - K |g_bar|^2) / (K - 1) = (16 - 4) / 3; |G|^2 = 1 - 4/4 = 0.
    assert!((s.trace_cov - 4.0).abs() < 1e-12 && s.grad_norm_sq.abs() < 1e-12);
    assert!(s.b_simple().is_nan(), "no resolved signal");
    let mut same = Moments::default();
    (0..3).for_each(|_| same.add(&[1.0, 2.0]));
    let s = same.summary(8);
    assert!((s.alignment - 1.0).abs() < 1e-12 && s.trace_cov.abs() < 1e-12 && (s.grad_norm_sq - 5.0).abs() < 1e-12);
}

fn input<'a>(train: &'a DeviceSplit, flipped: Option<&'a [bool]>, params: Params, per_sample: usize) -> NoiseInput<'a> {
    NoiseInput { data: train, flipped, batch_size: 25, batches: 16, group_batch_size: 25, params, directions: &[], lr: 0.1, per_sample, seed: 1 }
}

#[test]
fn minibatch_and_per_sample_estimates_agree_on_a_real_net() {
    let (train, _) = mnist(50);
    let model = net(&[32], 2, 1.0);
    let r = measure(&model, &input(&train, None, Params::All, 400));
    // Two estimators of the same B_simple (from 16 minibatches of 25; from 400 per-sample
    // gradients) agree within their sampling errors.
    let ratio = r.b_simple / r.per_sample_b_simple;
    assert!((0.5..2.0).contains(&ratio), "B_simple {} vs per-sample {}", r.b_simple, r.per_sample_b_simple);
    // B tr(Sigma_B) estimates tr(Sigma) as the per-sample trace does.
    let ratio = 25.0 * r.all.trace_cov / r.per_sample_trace_cov;
    assert!((0.6..1.6).contains(&ratio), "{ratio}");
    assert!(r.all.alignment > 0.0 && r.all.alignment < 1.0);
    assert!(r.clean.is_none() && r.mislabeled.is_none());
}

#[test]
fn the_per_sample_estimate_respects_the_layer() {
    // The per-sample trace of one layer is the mean squared per-sample gradient of that layer
    // (from the exact outer products) minus the squared mean, over n - 1.
    let (train, _) = mnist(20);
    let model = net(&[16, 16], 3, 1.0);
    let idx: Vec<i64> = tailgrad_data::device::epoch_permutation(train.len, 1, u64::MAX)[..100].to_vec();
    let (x, y) = train.rows(&idx);
    let grads = crate::noise::LayerTaps::run(&model, x, y).layer_grads(1);
    let n = grads.len() as f64;
    let mut mean = vec![0.0; grads[0].len()];
    grads.iter().for_each(|g| linalg::axpy(1.0 / n, g, &mut mean));
    let expected = (grads.iter().map(|g| dot(g, g)).sum::<f64>() - n * dot(&mean, &mean)) / (n - 1.0);
    let r = measure(&model, &input(&train, None, Params::Layer(1), 100));
    assert!((r.per_sample_trace_cov / expected - 1.0).abs() < 1e-4, "{} vs {expected}", r.per_sample_trace_cov);
    let all = measure(&model, &input(&train, None, Params::All, 100));
    assert!(all.per_sample_trace_cov > 1.5 * r.per_sample_trace_cov, "all layers hold more than layer 1");
}

#[test]
fn clean_and_mislabeled_groups_from_one_distribution_measure_alike() {
    // A "mislabeled" mask over 30% of correctly labelled samples: both groups come from the same
    // distribution, so at equal minibatch sizes their amplitudes and alignments agree. Sub-batches
    // of a shared minibatch (sizes ~17 and ~8) would differ by size alone (amplitude ~ 1/sqrt(B)).
    let (train, _) = mnist(100);
    let model = net(&[32], 4, 1.0);
    let mut r = rng(6);
    let flipped: Vec<bool> = (0..train.len).map(|_| r.random::<f64>() < 0.3).collect();
    let m = measure(&model, &input(&train, Some(&flipped), Params::All, 0));
    let (clean, noisy) = (m.clean.unwrap(), m.mislabeled.unwrap());
    // 16 batches of 25 clean samples; the ~300 "mislabeled" ones make 12.
    assert_eq!((clean.batch_size, noisy.batch_size, clean.batches), (25, 25, 16));
    assert!(noisy.batches >= 10, "{}", noisy.batches);
    assert!((clean.mean_amplitude / noisy.mean_amplitude - 1.0).abs() < 0.15, "amplitudes {} vs {}", clean.mean_amplitude, noisy.mean_amplitude);
    assert!((clean.alignment - noisy.alignment).abs() < 0.1, "alignments {} vs {}", clean.alignment, noisy.alignment);
    assert!(m.clean_mislabeled_cos.unwrap() > 0.8, "the two mean gradients point alike");
}

#[test]
fn per_sample_gradients_of_a_linear_model_are_exact() {
    let (train, _) = mnist(2);
    let model = net(&[], 4, 1.0);
    let (x, y) = train.range(0, 8);
    let xs = tailgrad_model::objective::read_f32s(x.clone());
    let ys: Vec<i64> = y.clone().into_data().convert::<i64>().try_to_vec().unwrap();
    let w = Params::All.get(&model);
    let taps = crate::noise::LayerTaps::run(&model, x, y);
    let grads = taps.layer_grads(0);
    for (i, g) in grads.iter().enumerate() {
        let xi = &xs[i * 784..(i + 1) * 784];
        let logits: Vec<f64> = (0..10).map(|c| (0..784).map(|j| xi[j] as f64 * w[j * 10 + c]).sum()).collect();
        let m = logits.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
        for j in (0..784).step_by(37) {
            for c in 0..10 {
                let p = (logits[c] - m).exp() / z;
                let want = xi[j] as f64 * (p - if c as i64 == ys[i] { 1.0 } else { 0.0 });
                assert!((g[j * 10 + c] - want).abs() < 1e-4 * (1.0 + want.abs()), "sample {i} ({j},{c}): {} vs {want}", g[j * 10 + c]);
            }
        }
    }
    // The per-sample gradients average to the minibatch gradient autodiff computes.
    let (x, y) = train.range(0, 8);
    let (nll, _) = tailgrad_model::objective::nll_sum_and_correct(model.forward(x), y);
    let mean = Params::All.grad(&model, &nll.div_scalar(8.0).backward());
    for k in (0..mean.len()).step_by(101) {
        let avg: f64 = grads.iter().map(|g| g[k]).sum::<f64>() / 8.0;
        assert!((avg - mean[k]).abs() < 1e-5, "{avg} vs {}", mean[k]);
    }
}
