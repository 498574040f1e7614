//! Noise along curvature on least squares at its minimum, where the per-sample gradient
//! covariance is known exactly, `C = (1/n) sum_j r_j^2 x_j x_j^T`, and close to `sigma^2 H`.

use super::rng;
use crate::linalg::{dot, sym_eigen};
use crate::noise_curvature::{NoiseCurvatureSpec, measure};
use crate::objective::Objective;
use rand::RngExt;
use rand_distr::StandardNormal;

/// `L(w) = (1/2n) sum_j (x_j . w - y_j)^2`.
struct LeastSquares {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl LeastSquares {
    fn residuals(&self, w: &[f64]) -> Vec<f64> {
        self.x.iter().zip(&self.y).map(|(x, y)| dot(x, w) - y).collect()
    }

    fn batch_gradient(&self, w: &[f64], rows: &[usize]) -> Vec<f64> {
        let r = self.residuals(w);
        let mut g = vec![0.0; w.len()];
        for &j in rows {
            for (gi, xi) in g.iter_mut().zip(&self.x[j]) {
                *gi += r[j] * xi / rows.len() as f64;
            }
        }
        g
    }

    fn hessian(&self) -> Vec<f64> {
        let (p, n) = (self.x[0].len(), self.x.len() as f64);
        let mut h = vec![0.0; p * p];
        for x in &self.x {
            for i in 0..p {
                for k in 0..p {
                    h[i * p + k] += x[i] * x[k] / n;
                }
            }
        }
        h
    }
}

impl Objective for LeastSquares {
    fn dim(&self) -> usize {
        self.x[0].len()
    }
    fn value(&mut self, w: &[f64]) -> f64 {
        self.residuals(w).iter().map(|r| r * r).sum::<f64>() / (2.0 * self.y.len() as f64)
    }
    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>) {
        let all: Vec<usize> = (0..self.y.len()).collect();
        (self.value(w), self.batch_gradient(w, &all))
    }
}

#[test]
fn noise_along_eigendirections_matches_the_exact_covariance() {
    // n = 2000 samples, 6 features of scales 10 .. 0.5 (eigenvalues ~100 .. 0.25), label noise 0.5.
    let (n, scales, noise) = (2000, [10.0, 5.0, 3.0, 2.0, 1.0, 0.5], 0.5);
    let mut r = rng(7);
    let x: Vec<Vec<f64>> = (0..n).map(|_| scales.iter().map(|s| s * r.sample::<f64, _>(StandardNormal)).collect()).collect();
    let y: Vec<f64> = x.iter().map(|x| x.iter().sum::<f64>() + noise * r.sample::<f64, _>(StandardNormal)).collect();
    let mut obj = LeastSquares { x, y };
    // The minimum: w = H^-1 X^T y / n.
    let p = scales.len();
    let eig = sym_eigen(&obj.hessian(), p);
    let xty: Vec<f64> = (0..p).map(|i| obj.x.iter().zip(&obj.y).map(|(x, y)| x[i] * y).sum::<f64>() / n as f64).collect();
    let mut w = vec![0.0; p];
    for (l, v) in eig.values.iter().zip(&eig.vectors) {
        let c = dot(v, &xty) / l;
        w.iter_mut().zip(v).for_each(|(wi, vi)| *wi += c * vi);
    }
    assert!(dot(&obj.gradient(&w).1, &obj.gradient(&w).1).sqrt() < 1e-10);
    // B = 500 of n = 2000: the without-replacement factor (n - B)/(n - 1) = 0.75 matters.
    let spec = NoiseCurvatureSpec { top_k: 4, lanczos_steps: 6, batch_size: 500, batches: 4000 };
    let residuals = obj.residuals(&w);
    let exact = |v: &[f64]| obj.x.iter().zip(&residuals).map(|(x, r)| (r * dot(x, v)).powi(2)).sum::<f64>() / n as f64;
    let exact_along: Vec<f64> = (0..4).map(|j| exact(&eig.vectors[p - 1 - j])).collect();
    let exact_trace: f64 = obj.x.iter().zip(&residuals).map(|(x, r)| r * r * dot(x, x)).sum::<f64>() / n as f64;
    let lsq = LeastSquares { x: obj.x.clone(), y: obj.y.clone() };
    let mut batch_gradient = |rows: &[usize]| lsq.batch_gradient(&w, rows);
    let got = measure(&mut obj, &w, n, &mut batch_gradient, &spec, &mut rng(8));
    // Each variance is a mean of 4000 squared Gaussians: relative error sqrt(2 / 4000) = 2.2%.
    for (i, (s, e)) in got.variances.iter().zip(&exact_along).enumerate() {
        assert!((s / e - 1.0).abs() < 0.09, "direction {i}: {s} vs exact {e}");
        assert!((got.eigenvalues[i] - eig.values[p - 1 - i]).abs() < 1e-8 * eig.values[p - 1]);
    }
    assert!((got.isotropic * p as f64 / exact_trace - 1.0).abs() < 0.09, "{} vs {}", got.isotropic * p as f64, exact_trace);
    // C ~ noise^2 H here: s_i^2 ~ 0.25 lambda_i, alignment slope 1 (isotropic noise: 0).
    let fit = got.alignment.expect("4 positive directions");
    assert!((fit.slope - 1.0).abs() < 0.1, "{fit:?}");
    assert!((fit.intercept - (noise * noise as f64).ln()).abs() < 0.2, "{fit:?}");
    let exact_share = exact_along.iter().sum::<f64>() / exact_trace;
    assert!((got.top_share - exact_share).abs() < 0.03 && exact_share > 0.95, "{} vs {exact_share}", got.top_share);
}
