//! SGD's effective regularization on f = u v x: the exact one-step law, GD's conservation of the
//! imbalance at a minimum, SGD's mean shrink, and the stability bound.

use super::rng;
use crate::objective::Objective;
use crate::sgd_regularization::{Toy, stability_bound, trajectory};
use rand::RngExt;
use rand_distr::StandardNormal;

/// tr H at the flattest minimum: 2 m2 w*.
fn flattest_trace(t: &Toy) -> f64 {
    2.0 * t.m2() * t.optimum()
}

fn toy(n: usize, seed: u64) -> Toy {
    let mut r = rng(seed);
    let x: Vec<f64> = (0..n).map(|_| r.sample::<f64, _>(StandardNormal)).collect();
    let y = x.iter().map(|x| 1.5 * x + 0.5 * r.sample::<f64, _>(StandardNormal)).collect();
    Toy { x, y }
}

#[test]
fn one_step_imbalance_law_is_exact() {
    let t = toy(200, 1);
    let mut r = rng(2);
    for _ in 0..50 {
        let (u, v, lr) = (r.random_range(-3.0..3.0), r.random_range(-3.0..3.0), r.random_range(0.001..0.2));
        let rows = rand::seq::index::sample(&mut r, 200, 17).into_vec();
        let s = t.s(u, v, &rows);
        let (u1, v1) = t.step(u, v, &rows, lr);
        let law = (u * u - v * v) * (1.0 - lr * lr * s * s);
        assert!((u1 * u1 - v1 * v1 - law).abs() < 1e-12 * (1.0 + law.abs()), "{} vs {law}", u1 * u1 - v1 * v1);
        // A first-order law (1 - lr s) is wrong whenever s != 0.
        assert!(s.abs() < 1e-9 || ((u * u - v * v) * (1.0 - lr * s) - law).abs() > 1e-9);
    }
}

#[test]
fn gd_conserves_the_imbalance_and_sgd_shrinks_it_at_the_predicted_rate() {
    let t = toy(200, 3);
    let w = t.optimum();
    let (u, v) = (2.0, w / 2.0);
    let lr = 0.2 * stability_bound(&t, u, v);
    // GD at a minimum: s = 0, nothing moves.
    let gd = trajectory(&t, (u, v), lr, 200, 1000, 1000, &mut rng(4));
    assert!((gd[1].imbalance / gd[0].imbalance - 1.0).abs() < 1e-9 && (gd[1].hessian_trace / gd[0].hessian_trace - 1.0).abs() < 1e-9);
    // One SGD step from the minimum, B = 50 of n = 200: E[(D - D')/D] = lr^2 E s^2 with
    // E s^2 = Var(r x)(n - B)/((n - 1) B); the finite-population factor 0.754 matters at 20,000 draws.
    let b = 50;
    let mut r = rng(5);
    let draws = 20_000;
    let shrink: Vec<f64> = (0..draws)
        .map(|_| {
            let rows = rand::seq::index::sample(&mut r, 200, b).into_vec();
            let (u1, v1) = t.step(u, v, &rows, lr);
            1.0 - (u1 * u1 - v1 * v1) / (u * u - v * v)
        })
        .collect();
    let (mean, std) = crate::linalg::mean_std(&shrink);
    let expected = t.expected_shrink(u, v, b, lr);
    let se = std / (draws as f64).sqrt();
    assert!((mean - expected).abs() < 4.0 * se, "mean shrink {mean} ± {se} vs {expected}");
    assert!((mean - expected / (150.0 / 199.0)).abs() > 4.0 * se, "the finite-population factor is resolved");
    // Many SGD steps: the imbalance and tr H fall toward the flat end |u| = |v| while the loss stays at its minimum.
    let sgd = trajectory(&t, (u, v), lr, b, 20_000, 20_000, &mut rng(6));
    let (first, last) = (sgd[0], sgd[1]);
    assert!(last.imbalance.abs() < 0.5 * first.imbalance.abs() && last.hessian_trace < first.hessian_trace, "{first:?} -> {last:?}");
    assert!(last.loss < first.loss * 1.05, "{first:?} -> {last:?}");
}

#[test]
fn gd_is_stable_below_two_over_lambda_max_and_not_above() {
    let t = toy(200, 7);
    let w = t.optimum();
    let (u, v) = (2.0, w / 2.0);
    let bound = stability_bound(&t, u, v);
    // The flattest minimum |u| = |v| = sqrt(w) has lambda_max = 2 m2 w: no minimum is stable above 2 / that.
    let flattest = stability_bound(&t, w.sqrt(), w.sqrt());
    assert!(flattest > 1.4 * bound);
    // A small kick off the valley, along the stiff direction (v, u).
    let start = (u + 1e-3 * v, v + 1e-3 * u);
    let run = |lr: f64| trajectory(&t, start, lr, 200, 2000, 2000, &mut rng(8));
    let below = run(0.9 * bound);
    assert!(below[1].loss < below[0].loss && (below[1].imbalance / below[0].imbalance - 1.0).abs() < 1e-3, "{below:?}");
    // Above every minimum's bound: no convergence (measured: a bounded oscillation at the flat end
    // whose loss, 0.21, stays 43% above the minimum's).
    let above = run(1.1 * flattest);
    assert!(!(above[1].loss < 1.2 * below[1].loss), "{above:?}");
    // Between: this minimum is unstable; GD oscillates (s != 0 at every step), the one-step law
    // shrinks the imbalance, and GD settles on a flatter minimum where lr lambda_max < 2
    // (measured at 1.1 times the bound: D from 3.43 to 2.36, tr H from 4.22 to 3.53 < 2 / lr = 3.83).
    let lr = 1.1 * bound;
    let between = run(lr);
    assert!(between[1].loss < 1.0001 * below[1].loss && between[1].hessian_trace < 2.0 / lr, "{between:?}");
    assert!(between[1].imbalance < 0.8 * between[0].imbalance && between[1].hessian_trace > flattest_trace(&t), "{between:?}");
}

/// The toy as an [`Objective`] (the drift engine's interface), with its exact Hessian
/// `[[m2 v^2, s + m2 u v], [s + m2 u v, m2 u^2]]` (s over all samples).
struct ToyLoss(Toy);

impl ToyLoss {
    fn hessian(&self, w: &[f64]) -> [f64; 4] {
        let (u, v, m2) = (w[0], w[1], self.0.m2());
        let all: Vec<usize> = (0..self.0.x.len()).collect();
        let off = self.0.s(u, v, &all) + m2 * u * v;
        [m2 * v * v, off, off, m2 * u * u]
    }
}

impl Objective for ToyLoss {
    fn dim(&self) -> usize {
        2
    }
    fn value(&mut self, w: &[f64]) -> f64 {
        self.0.x.iter().zip(&self.0.y).map(|(x, y)| (w[0] * w[1] * x - y).powi(2)).sum::<f64>() / (2.0 * self.0.x.len() as f64)
    }
    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>) {
        let all: Vec<usize> = (0..self.0.x.len()).collect();
        let s = self.0.s(w[0], w[1], &all);
        (self.value(w), vec![w[1] * s, w[0] * s])
    }
    fn hvp(&mut self, w: &[f64], v: &[f64]) -> Vec<f64> {
        let h = self.hessian(w);
        vec![h[0] * v[0] + h[1] * v[1], h[2] * v[0] + h[3] * v[1]]
    }
}

#[test]
fn the_drift_engine_reproduces_the_toy_and_records_its_exact_curvature() {
    use crate::hessian::SpectrumSpec;
    use crate::sgd_regularization::drift::{DriftSpec, Setting, continue_from};
    let t = toy(200, 3);
    let w = t.optimum();
    let (u, v) = (2.0, w / 2.0);
    let lr = 0.2 * stability_bound(&t, u, v);
    let mut obj = ToyLoss(t.clone());
    let toy = t.clone();
    let mut batch_gradient = |w: &[f64], rows: &[usize]| {
        let s = toy.s(w[0], w[1], rows);
        vec![w[1] * s, w[0] * s]
    };
    let spec = DriftSpec { steps: 3000, every: 1000, spectrum: SpectrumSpec { top_k: 1, lanczos_steps: 2, hutchinson_probes: 400, slq_probes: 0 } };
    let sgd = continue_from(&mut obj, &mut batch_gradient, &[u, v], 200, Setting { lr, batch_size: 50 }, &spec, &mut rng(6), &mut rng(9));
    // The same batches as the toy's own trajectory: the same weights, step by step.
    let reference = trajectory(&t, (u, v), lr, 50, 3000, 1000, &mut rng(6));
    assert_eq!(sgd.points.len(), 4);
    assert!(!sgd.full_batch && !sgd.diverged && (sgd.noise - lr / 50.0).abs() < 1e-15);
    for (p, r) in sgd.points.iter().zip(&reference) {
        assert!((p.loss - r.loss).abs() < 1e-9 * r.loss, "{p:?} vs {r:?}");
        // tr H = m2 (u^2 + v^2) exactly; Hutchinson within 4 of its standard errors.
        assert!((p.trace - r.hessian_trace).abs() < 4.0 * p.trace_stderr.max(1e-12), "{p:?} vs {r:?}");
    }
    // lambda_max of the 2x2 Hessian at the end (Lanczos in 2 steps is exact).
    let end = sgd.points.last().unwrap();
    assert!(end.trace < sgd.points[0].trace, "SGD drifted to a flatter minimum: {:?}", sgd.points);
    // GD from the same minimum: nothing moves.
    let gd = continue_from(&mut obj, &mut batch_gradient, &[u, v], 200, Setting { lr, batch_size: 200 }, &spec, &mut rng(6), &mut rng(9));
    assert!(gd.full_batch && gd.noise == 0.0);
    assert!(gd.points.iter().all(|p| (p.lambda_max - gd.points[0].lambda_max).abs() < 1e-9), "{:?}", gd.points);
    let h = ToyLoss(t.clone()).hessian(&[u, v]);
    let exact_max = 0.5 * (h[0] + h[3] + ((h[0] - h[3]).powi(2) + 4.0 * h[1] * h[1]).sqrt());
    assert!((gd.points[0].lambda_max - exact_max).abs() < 1e-9 * exact_max, "{} vs {exact_max}", gd.points[0].lambda_max);
    // Far above the bound: the loss runs away and the continuation says so.
    let wild = continue_from(&mut obj, &mut batch_gradient, &[u, v + 0.01], 200, Setting { lr: 20.0 * stability_bound(&t, u, v), batch_size: 200 }, &spec, &mut rng(6), &mut rng(9));
    assert!(wild.diverged && wild.points.len() < 4, "{:?}", wild.points);
}
