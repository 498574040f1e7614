//! Every instrument against a case with a known answer, one file per instrument; shared test
//! fixtures (quadratics, small real MNIST nets, planted trajectories) here.

mod criticality_tests;
mod duality_tests;
mod finite_width_tests;
mod few_shot_tests;
mod gradient_noise_tests;
mod hessian_tests;
mod jacobian_spectrum_tests;
mod linalg_tests;
mod le_dynamics_tests;
mod local_elasticity_tests;
mod noise_curvature_tests;
mod registry_tests;
mod robustness_tests;
mod sgd_regularization_tests;
mod variance_flatness_tests;
mod weight_stats_tests;

use crate::hessian::{self, SpectrumSpec};
use crate::linalg::{self, dot, norm, sym_eigen};
use crate::objective::{NetLoss, Objective};
use crate::params::Params;
use crate::variance_flatness::{self, Trajectory};
use burn::tensor::Device;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use tailgrad_data::{DataSpec, Dataset, DeviceSplit, RawDataSpec};
use tailgrad_model::{Mlp, MlpSpec};

pub(crate) fn rng(seed: u64) -> rand::rngs::Xoshiro256PlusPlus {
    rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A random orthogonal matrix (rows), by Gram-Schmidt on Gaussian vectors.
pub(crate) fn orthogonal(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut r = rng(seed);
    let mut basis: Vec<Vec<f64>> = Vec::new();
    while basis.len() < n {
        let mut v: Vec<f64> = (0..n).map(|_| r.sample(StandardNormal)).collect();
        for b in &basis {
            let c = dot(b, &v);
            linalg::axpy(-c, b, &mut v);
        }
        let s = 1.0 / norm(&v);
        basis.push(linalg::scaled(&v, s));
    }
    basis
}

/// `L(w) = c + (1/2) w^T A w` with `A = sum_i lambda_i q_i q_i^T`.
pub(crate) struct Quadratic {
    pub(crate) c: f64,
    pub(crate) a: Vec<f64>,
    pub(crate) n: usize,
}

impl Quadratic {
    pub(crate) fn new(lambdas: &[f64], c: f64, seed: u64) -> (Self, Vec<Vec<f64>>) {
        let n = lambdas.len();
        let q = orthogonal(n, seed);
        let mut a = vec![0.0; n * n];
        for (l, v) in lambdas.iter().zip(&q) {
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += l * v[i] * v[j];
                }
            }
        }
        (Self { c, a, n }, q)
    }

    pub(crate) fn apply(&self, w: &[f64]) -> Vec<f64> {
        (0..self.n).map(|i| dot(&self.a[i * self.n..(i + 1) * self.n], w)).collect()
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&mut self, w: &[f64]) -> f64 {
        self.c + 0.5 * dot(w, &self.apply(w))
    }
    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>) {
        (self.value(w), self.apply(w))
    }
}

pub(crate) fn mnist(train_per_class: usize) -> (DeviceSplit, DeviceSplit) {
    let raw = RawDataSpec { dir: Some(tailgrad_testkit::data_dir()), train_per_class, ..RawDataSpec::new(Dataset::Mnist) };
    let spec = DataSpec::try_from(raw).unwrap();
    let split = spec.load(0).unwrap();
    let device = Device::flex();
    (
        DeviceSplit::upload(&split.train, split.dataset, spec.normalize(), &device),
        DeviceSplit::upload(&split.test, split.dataset, spec.normalize(), &device),
    )
}

pub(crate) fn net(hidden: &[usize], seed: u64, sigma: f64) -> Mlp {
    let text = format!(
        "input = 784\nclasses = 10\nhidden = {hidden:?}\nactivation = \"relu\"\ninit = {{ law = \"gaussian\", sigma_w = {sigma} }}"
    );
    let spec: MlpSpec = toml::from_str(&text).unwrap();
    Mlp::init(&spec, seed, &Device::flex().autodiff()).unwrap()
}

/// Softmax regression (one linear layer): `H V = (1/N) sum_i x_i^T [diag(p_i) - p_i p_i^T] (x_i V)`.
pub(crate) fn softmax_regression_hvp(x: &[f32], w: &[f64], v: &[f64], n: usize) -> Vec<f64> {
    let (d, k) = (784, 10);
    let mut out = vec![0.0; d * k];
    for xi in x.chunks(d).take(n) {
        let logits: Vec<f64> = (0..k).map(|c| (0..d).map(|j| xi[j] as f64 * w[j * k + c]).sum()).collect();
        let m = logits.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let z: f64 = e.iter().sum();
        let p: Vec<f64> = e.iter().map(|v| v / z).collect();
        let u: Vec<f64> = (0..k).map(|c| (0..d).map(|j| xi[j] as f64 * v[j * k + c]).sum()).collect();
        let pu = dot(&p, &u);
        let s: Vec<f64> = (0..k).map(|c| p[c] * (u[c] - pu)).collect();
        for j in 0..d {
            for c in 0..k {
                out[j * k + c] += xi[j] as f64 * s[c] / n as f64;
            }
        }
    }
    out
}

/// Snapshots `w_t = sum_i sqrt(var_i) z_ti q_i` along an orthonormal basis `q`.
pub(crate) fn planted_trajectory(variances: &[f64], q: &[Vec<f64>], t: usize, seed: u64) -> Trajectory {
    let n = q[0].len();
    let mut r = rng(seed);
    let mut traj = Trajectory::new(n);
    for _ in 0..t {
        let mut w = vec![0.0; n];
        for (v, qi) in variances.iter().zip(q) {
            linalg::axpy(v.sqrt() * r.sample::<f64, _>(StandardNormal), qi, &mut w);
        }
        traj.push(&w);
    }
    traj
}

