//! SGD's effective regularization on the smallest model that has it (Yang, Tang & Tu, PRL 130,
//! 237101 (2023), arXiv:2206.01246: anisotropic SGD noise adds a landscape-dependent loss term
//! that favours flat solutions, stronger with lr / B, up to a bound beyond which training does
//! not converge). The model is `f(x) = u v x` with the squared loss
//! `L = (1/2n) sum_i (u v x_i - y_i)^2`: its minima form the hyperbola `u v = w*`, all of equal
//! loss, and the Hessian's trace there, `tr H = m2 (u^2 + v^2)` (`m2 = mean x^2`), is smallest at
//! `|u| = |v|`: the flat end of a degenerate valley.
//!
//! **The exact one-step law.** With `s = mean_{i in batch} r_i x_i` (`r_i = u v x_i - y_i`) the
//! step `u' = u - lr v s`, `v' = v - lr u s` gives
//!
//! ```text
//! u'^2 - v'^2 = (u^2 - v^2) (1 - lr^2 s^2)
//! ```
//!
//! exactly. Full-batch GD at a minimum has `s = 0` and conserves the imbalance `D = u^2 - v^2`
//! (it stays wherever it landed on the valley); SGD's `s` fluctuates with mean 0 and
//! `E s^2 = Var(r x) (n - B) / ((n - 1) B)` (batches drawn without replacement), so each step
//! shrinks `D` by `lr^2 E s^2` on average ([`Toy::expected_shrink`]): the drift to the flat end, faster
//! with stronger noise. GD is stable at the minimum only while `lr lambda_max < 2`,
//! `lambda_max = m2 (u^2 + v^2)` (the valley's stiff direction; [`stability_bound`]).
//! The paper's own effective-loss formula is not in the stored copies tailgrad could read (only
//! the abstract), so these exact laws are what the tests check.
//!
//! On a real net the same experiment is [`drift::continue_from`], run by the `sgd-drift` probe.

pub mod drift;
mod figure;
mod probe;

pub use probe::INSTRUMENT;

use rand::Rng;
use serde::Serialize;

/// The data `(x_i, y_i)` of the toy.
#[derive(Clone, Debug)]
pub struct Toy {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Toy {
    /// `w* = sum x y / sum x^2`: the product `u v` at every minimum.
    pub fn optimum(&self) -> f64 {
        self.x.iter().zip(&self.y).map(|(x, y)| x * y).sum::<f64>() / self.x.iter().map(|x| x * x).sum::<f64>()
    }

    /// `m2 = mean x^2`.
    pub fn m2(&self) -> f64 {
        self.x.iter().map(|x| x * x).sum::<f64>() / self.x.len() as f64
    }

    /// `s = mean_{i in rows} r_i x_i`, the common factor of both partial derivatives.
    pub fn s(&self, u: f64, v: f64, rows: &[usize]) -> f64 {
        rows.iter().map(|&i| (u * v * self.x[i] - self.y[i]) * self.x[i]).sum::<f64>() / rows.len() as f64
    }

    /// One (S)GD step on the minibatch `rows`.
    pub fn step(&self, u: f64, v: f64, rows: &[usize], lr: f64) -> (f64, f64) {
        let s = self.s(u, v, rows);
        (u - lr * v * s, v - lr * u * s)
    }

    /// `tr H = m2 (u^2 + v^2)` (the mixed term does not enter the trace).
    pub fn hessian_trace(&self, u: f64, v: f64) -> f64 {
        self.m2() * (u * u + v * v)
    }

    /// `E[lr^2 s^2]` at a GD stationary point for minibatches of `b` without replacement:
    /// `lr^2 Var(r x) (n - b) / ((n - 1) b)`, the mean relative shrink of `D` per SGD step.
    pub fn expected_shrink(&self, u: f64, v: f64, b: usize, lr: f64) -> f64 {
        let n = self.x.len();
        let g: Vec<f64> = (0..n).map(|i| (u * v * self.x[i] - self.y[i]) * self.x[i]).collect();
        let mean = g.iter().sum::<f64>() / n as f64;
        let var = g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        lr * lr * var * (n - b) as f64 / ((n - 1) as f64 * b as f64)
    }
}

/// The largest stable learning rate at a minimum `(u, v)`: `2 / (m2 (u^2 + v^2))`.
pub fn stability_bound(toy: &Toy, u: f64, v: f64) -> f64 {
    2.0 / toy.hessian_trace(u, v)
}

/// One point of a trajectory.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Point {
    pub step: usize,
    pub imbalance: f64,
    pub hessian_trace: f64,
    pub loss: f64,
}

/// `steps` steps from `(u, v)` with minibatches of `b` drawn without replacement (`b = n`: GD),
/// recording every `every` steps.
pub fn trajectory<R: Rng>(toy: &Toy, (mut u, mut v): (f64, f64), lr: f64, b: usize, steps: usize, every: usize, rng: &mut R) -> Vec<Point> {
    let n = toy.x.len();
    let all: Vec<usize> = (0..n).collect();
    let loss = |u: f64, v: f64| toy.x.iter().zip(&toy.y).map(|(x, y)| (u * v * x - y).powi(2)).sum::<f64>() / (2.0 * n as f64);
    let mut out = vec![Point { step: 0, imbalance: u * u - v * v, hessian_trace: toy.hessian_trace(u, v), loss: loss(u, v) }];
    for t in 1..=steps {
        let rows = if b >= n { all.clone() } else { rand::seq::index::sample(rng, n, b).into_vec() };
        (u, v) = toy.step(u, v, &rows, lr);
        if t % every.max(1) == 0 {
            out.push(Point { step: t, imbalance: u * u - v * v, hessian_trace: toy.hessian_trace(u, v), loss: loss(u, v) });
        }
    }
    out
}
