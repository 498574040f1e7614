//! The LE-ODE estimator against simulated dynamics with known impacts.

use crate::le_dynamics::{ClassMeans, integrated_impacts, rates};

/// RK4 of `dX_k/dt = (1/K)[alpha X_k + beta sum_(j != k) X_j]` from `x0`, recording every step.
fn simulate(alpha: impl Fn(f64) -> f64, beta: impl Fn(f64) -> f64, x0: &[Vec<f64>], steps: usize, dt: f64) -> Vec<ClassMeans> {
    let k = x0.len();
    let field = |t: f64, x: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let total: Vec<f64> = (0..x[0].len()).map(|c| x.iter().map(|r| r[c]).sum()).collect();
        x.iter().map(|r| r.iter().zip(&total).map(|(v, s)| (alpha(t) * v + beta(t) * (s - v)) / k as f64).collect()).collect()
    };
    let axpy = |x: &[Vec<f64>], d: &[Vec<f64>], h: f64| -> Vec<Vec<f64>> { x.iter().zip(d).map(|(r, dr)| r.iter().zip(dr).map(|(v, dv)| v + h * dv).collect()).collect() };
    let mut x = x0.to_vec();
    let mut out = vec![ClassMeans { step: 0, class_means: x.clone() }];
    for s in 0..steps {
        let t = s as f64 * dt;
        let k1 = field(t, &x);
        let k2 = field(t + dt / 2.0, &axpy(&x, &k1, dt / 2.0));
        let k3 = field(t + dt / 2.0, &axpy(&x, &k2, dt / 2.0));
        let k4 = field(t + dt, &axpy(&x, &k3, dt));
        x = x.iter().enumerate().map(|(i, r)| r.iter().enumerate().map(|(c, v)| v + dt / 6.0 * (k1[i][c] + 2.0 * k2[i][c] + 2.0 * k3[i][c] + k4[i][c])).collect()).collect();
        out.push(ClassMeans { step: s as u64 + 1, class_means: x.clone() });
    }
    out
}

fn start() -> Vec<Vec<f64>> {
    // K = 3 classes, 3 logits each, a mean and deviations in every component.
    vec![vec![1.2, 0.4, -0.3], vec![0.5, 1.1, 0.2], vec![0.1, -0.2, 0.9]]
}

#[test]
fn constant_impacts_are_recovered_from_simulated_class_means() {
    // dt = 0.01 per step: A(t) = alpha t, B(t) = beta t exactly for the ODE.
    let (alpha, beta, dt) = (2.0, 0.5, 0.01);
    let records = simulate(|_| alpha, |_| beta, &start(), 300, dt);
    let impacts = integrated_impacts(&records);
    assert_eq!((impacts[0].a, impacts[0].b), (0.0, 0.0));
    for i in [100, 200, 300] {
        let t = i as f64 * dt;
        assert!((impacts[i].a - alpha * t).abs() < 1e-8 && (impacts[i].b - beta * t).abs() < 1e-8, "t = {t}: {:?}", impacts[i]);
    }
    // Rates per step: alpha dt and beta dt.
    for (_, a, b) in rates(&impacts) {
        assert!((a - alpha * dt).abs() < 1e-8 && (b - beta * dt).abs() < 1e-8, "{a} {b}");
    }
    // Not locally elastic (beta > alpha): the deviations shrink, and the estimate says so.
    let records = simulate(|_| 0.2, |_| 1.0, &start(), 100, dt);
    let last = *integrated_impacts(&records).last().unwrap();
    assert!((last.a - 0.2).abs() < 1e-8 && (last.b - 1.0).abs() < 1e-8, "{last:?}");
}

#[test]
fn time_varying_impacts_integrate() {
    // alpha(t) = 1 + t, beta(t) = 0.5 cos t: A = t + t^2/2, B = 0.5 sin t.
    let dt = 0.01;
    let records = simulate(|t| 1.0 + t, |t| 0.5 * t.cos(), &start(), 200, dt);
    let impacts = integrated_impacts(&records);
    let t = 2.0;
    assert!((impacts[200].a - (t + t * t / 2.0)).abs() < 1e-6 && (impacts[200].b - 0.5 * t.sin()).abs() < 1e-6, "{:?}", impacts[200]);
}
