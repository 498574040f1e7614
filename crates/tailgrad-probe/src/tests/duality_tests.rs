use super::*;
use crate::duality::{DualitySpec, HessianMode, decompose, second_order_remainder, shares};
use crate::hessian::dense_hessian;

#[test]
fn dual_weights_reproduce_the_other_inputs_loss_exactly() {
    let (_, test) = mnist(1);
    let model = net(&[30, 30], 5, 1.0);
    let eval = burn::module::Module::valid(&model);
    let (x, _) = test.range(0, 2);
    let post = eval.forward_trace(x.clone()).post[0].clone();
    let a = tailgrad_model::loss::read_f32s(post);
    let (a, a_prime): (Vec<f64>, Vec<f64>) = (a[..30].iter().map(|&v| v as f64).collect(), a[30..].iter().map(|&v| v as f64).collect());
    let w = Params::Layer(1).get(&model);
    let dw = crate::duality::dual_weights(&w, &a, &a_prime, 30);
    let moved = Params::Layer(1).set(eval.clone(), &w.iter().zip(&dw).map(|(a, b)| a + b).collect::<Vec<_>>());
    let logits_moved = tailgrad_model::loss::read_f32s(moved.forward(x.clone().narrow(0, 0, 1)));
    let logits_other = tailgrad_model::loss::read_f32s(eval.forward(x.narrow(0, 1, 1)));
    for (m, o) in logits_moved.iter().zip(&logits_other) {
        assert!((m - o).abs() < 1e-4 * (1.0 + o.abs()), "{m} vs {o}");
    }
    // Minimal norm: |dW|_F = |da W| / |a|.
    let mut da_w = [0.0; 30];
    for j in 0..30 {
        for k in 0..30 {
            da_w[k] += (a_prime[j] - a[j]) * w[j * 30 + k];
        }
    }
    assert!((norm(&dw) - norm(&da_w) / norm(&a)).abs() < 1e-9);
}

#[test]
fn the_dense_finite_difference_hessian_is_the_exact_one() {
    // Softmax regression: the Hessian column by column from FD HVPs against the closed form.
    let (train, _) = mnist(5);
    let x = tailgrad_model::loss::read_f32s(train.x.range(0, train.len));
    let model = net(&[], 7, 1.0);
    let mut obj = NetLoss::new(model, &train, None, Params::All, 10_000);
    let w = obj.point();
    let n = w.len();
    let h = dense_hessian(&mut obj, &w);
    let mut err = 0.0;
    let mut total = 0.0;
    for j in (0..n).step_by(97) {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = softmax_regression_hvp(&x, &w, &e, train.len);
        err += (0..n).map(|i| (h[i * n + j] - col[i]).powi(2)).sum::<f64>();
        total += dot(&col, &col);
    }
    assert!((err / total).sqrt() < 1e-2, "relative error {}", (err / total).sqrt());
}

/// Dual weight changes of a quadratic loss `L(w0 + dw) - L(w0) = dw^T A dw / 2` at its minimum
/// (w0 = 0): the loss changes are exactly second order.
fn quadratic_pairs(q: &Quadratic, m: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut r = rng(seed);
    let dws: Vec<Vec<f64>> = (0..m).map(|_| (0..q.n).map(|_| 0.3 * r.sample::<f64, _>(StandardNormal)).collect()).collect();
    let dls = dws.iter().map(|dw| 0.5 * dot(dw, &q.apply(dw))).collect();
    (dws, dls)
}

#[test]
fn the_shares_sum_to_the_matched_gap_and_the_hessian_estimate_is_exact_on_a_quadratic() {
    let lambdas: Vec<f64> = (0..40).map(|i| 10.0 * 0.8f64.powi(i)).collect();
    let (q, basis) = Quadratic::new(&lambdas, 0.0, 8);
    let (dws, dls) = quadratic_pairs(&q, 300, 9);
    let matched = dls.iter().sum::<f64>() / 300.0;
    // Every eigenpair: the shares add up to the matched gap (an identity of any orthonormal
    // basis), and the second-order estimate equals the gap (the loss is quadratic).
    let (_, total, remainder, second) = shares(&dws, &dls, &lambdas, &basis);
    assert!((total - matched).abs() < 1e-10 && remainder.abs() < 1e-10);
    assert!((second - matched).abs() < 1e-10 * matched, "{second} vs {matched}");
    // The top 5 alone: their shares and the exact remainder still add up, and the complement's
    // second-order term from Rademacher probes of the HVP completes the estimate.
    let (top, total5, remainder5, second5) = shares(&dws, &dls, &lambdas[..5], &basis[..5]);
    assert_eq!(top.len(), 5);
    assert!((total5 + remainder5 - matched).abs() < 1e-12);
    let mut op = |v: &[f64]| q.apply(v);
    let (rest, stderr) = second_order_remainder(&dws, &basis[..5], &mut op, 400, 10);
    let perp: Vec<Vec<f64>> = dws
        .iter()
        .map(|dw| {
            let mut p = dw.clone();
            basis[..5].iter().for_each(|v| linalg::axpy(-dot(dw, v), v, &mut p));
            p
        })
        .collect();
    let hp: Vec<Vec<f64>> = perp.iter().map(|p| q.apply(p)).collect();
    let exact_rest: f64 = perp.iter().zip(&hp).map(|(p, h)| 0.5 * dot(p, h)).sum::<f64>() / 300.0;
    assert!((rest - exact_rest).abs() < 4.0 * stderr, "remainder {rest} +- {stderr} vs {exact_rest}");
    // The error bar is the Hutchinson estimator's: one probe's variance is
    // 2 sum_(k != l) (p_k^T H p_l)^2, scaled by 1/(2K) and averaged over 400 probes.
    let off: f64 = (0..300).flat_map(|k| (0..300).filter(move |&l| l != k).map(move |l| (k, l))).map(|(k, l)| dot(&perp[k], &hp[l]).powi(2)).sum();
    let want = (2.0 * off).sqrt() / (2.0 * 300.0) / 400f64.sqrt();
    assert!((stderr / want - 1.0).abs() < 0.15, "standard error {stderr} vs {want}");
    assert!((second5 + rest - matched).abs() < 0.05 * matched, "{} vs {matched}", second5 + rest);
}

#[test]
fn shares_by_hand() {
    // Three pairs in 2-D along e1, e2: dw = (1, 0), (1, 1), (2, -1), dl = 1, 4, 5, so
    // gamma_k = dl_k / |dw_k|^2 * theta_k with dl_k / |dw_k|^2 = 1, 2, 1.
    // e1: theta = (1, 1, 2), gamma = (1, 2, 2): share = <gamma theta> = 7/3.
    // e2: theta = (0, 1, -1), gamma = (0, 2, -1): share = 1; mu_g mu_w + sigma_g sigma_w (the
    // correlation dropped) would give 1.018. Second order with lambda = (2, 1): 2 + 1/3.
    let dws = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![2.0, -1.0]];
    let dls = [1.0, 4.0, 5.0];
    let basis = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
    let (dirs, total, remainder, second) = shares(&dws, &dls, &[2.0, 1.0], &basis);
    assert!((dirs[0].share - 7.0 / 3.0).abs() < 1e-12 && (dirs[1].share - 1.0).abs() < 1e-12, "{dirs:?}");
    assert!((dirs[1].mu_w - 0.0).abs() < 1e-12 && (dirs[1].mu_g - 1.0 / 3.0).abs() < 1e-12);
    assert!((total - 10.0 / 3.0).abs() < 1e-12 && remainder.abs() < 1e-12);
    assert!((second - 7.0 / 3.0).abs() < 1e-12, "{second}");
    // Only e1: the remainder is e2's share.
    let (_, total1, remainder1, _) = shares(&dws, &dls, &[2.0], &basis[..1]);
    assert!((total1 - 7.0 / 3.0).abs() < 1e-12 && (remainder1 - 1.0).abs() < 1e-12);
}

#[test]
fn the_decomposition_of_a_real_net_adds_up_with_lanczos_and_with_the_dense_hessian() {
    let (train, test) = mnist(10);
    let model = net(&[8, 8], 6, 1.0);
    let spec = |hessian, top_k| DualitySpec { layer: 1, test_samples: 50, hessian_samples: 0, hessian, top_k, remainder_probes: 10, seed: 1 };
    let dense = decompose(&model, &train, &test, &spec(HessianMode::Dense, 0));
    assert!(dense.duality_max_error < 1e-4, "duality error {}", dense.duality_max_error);
    assert_eq!(dense.directions.len(), 64);
    assert!(dense.directions.windows(2).all(|p| p[0].eigenvalue >= p[1].eigenvalue));
    assert!(dense.remainder_gap.abs() < 1e-6 * (1.0 + dense.matched_gap.abs()), "a complete basis leaves no remainder");
    let top = decompose(&model, &train, &test, &spec(HessianMode::Lanczos, 10));
    assert_eq!(top.directions.len(), 10);
    assert!((top.directions_gap + top.remainder_gap - top.matched_gap).abs() < 1e-9);
    assert_eq!(top.matched_gap, dense.matched_gap, "the same test samples and neighbours");
    for (a, b) in top.directions.iter().zip(&dense.directions).take(3) {
        assert!((a.eigenvalue - b.eigenvalue).abs() < 0.05 * b.eigenvalue.abs().max(1e-3), "top eigenvalues {} vs {}", a.eigenvalue, b.eigenvalue);
    }
    assert!((top.hessian_estimate - dense.hessian_estimate).abs() < 0.3 * dense.hessian_estimate.abs(), "{} vs {}", top.hessian_estimate, dense.hessian_estimate);
}
