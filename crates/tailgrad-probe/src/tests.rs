//! Every instrument against a case with a known answer.

use crate::hessian::{self, SpectrumSpec, hvp};
use crate::linalg::{self, dot, norm, sym_eigen};
use crate::objective::{NetLoss, Objective};
use crate::params::Params;
use crate::variance_flatness::{self, Trajectory};
use burn::tensor::Device;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use tailgrad_data::{DataSpec, Dataset, DeviceSplit};
use tailgrad_model::{Mlp, MlpSpec};

fn rng(seed: u64) -> rand::rngs::Xoshiro256PlusPlus {
    rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A random orthogonal matrix (rows), by Gram-Schmidt on Gaussian vectors.
fn orthogonal(n: usize, seed: u64) -> Vec<Vec<f64>> {
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
struct Quadratic {
    c: f64,
    a: Vec<f64>,
    n: usize,
}

impl Quadratic {
    fn new(lambdas: &[f64], c: f64, seed: u64) -> (Self, Vec<Vec<f64>>) {
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

    fn apply(&self, w: &[f64]) -> Vec<f64> {
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

#[test]
fn symmetric_eigen_decomposition_reconstructs_the_matrix() {
    let lambdas: Vec<f64> = (0..40).map(|i| (i as f64 - 13.0) * 0.7).collect();
    let (q, _) = Quadratic::new(&lambdas, 0.0, 3);
    let eig = sym_eigen(&q.a, 40);
    let mut sorted = lambdas.clone();
    sorted.sort_by(f64::total_cmp);
    for (got, want) in eig.values.iter().zip(&sorted) {
        assert!((got - want).abs() < 1e-10, "{got} vs {want}");
    }
    for (l, v) in eig.values.iter().zip(&eig.vectors) {
        let av = q.apply(v);
        assert!(av.iter().zip(v).all(|(a, b)| (a - l * b).abs() < 1e-9));
        assert!((norm(v) - 1.0).abs() < 1e-12);
    }
    assert!(dot(&eig.vectors[0], &eig.vectors[1]).abs() < 1e-12);
}

#[test]
fn lanczos_finds_the_top_eigenvalues() {
    let lambdas: Vec<f64> = (1..=200).map(|i| i as f64).collect();
    let (q, basis) = Quadratic::new(&lambdas, 0.0, 5);
    let mut op = |v: &[f64]| q.apply(v);
    let (values, vectors) = linalg::top_eigenpairs(&mut op, 200, 3, 80, &mut rng(1));
    assert_eq!(values.len(), 3);
    for (k, v) in values.iter().enumerate() {
        assert!((v - (200 - k) as f64).abs() < 1e-6, "eigenvalue {k}: {v}");
    }
    assert!(dot(&vectors[0], &basis[199]).abs() > 1.0 - 1e-6);
}

#[test]
fn student_t_quantiles_match_tables() {
    for (nu, t) in [(5.0, 2.5706), (10.0, 2.2281), (30.0, 2.0423), (100.0, 1.9840)] {
        assert!((linalg::t975(nu) - t).abs() < 2e-3, "nu = {nu}: {}", linalg::t975(nu));
    }
}

#[test]
fn line_fit_recovers_a_planted_slope_within_its_interval() {
    let mut r = rng(2);
    let x: Vec<f64> = (0..50).map(|i| i as f64 / 10.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 1.5 - 3.0 * x + 0.1 * r.sample::<f64, _>(StandardNormal)).collect();
    let fit = linalg::fit_line(&x, &y);
    assert!((fit.slope + 3.0).abs() < fit.slope_ci95, "{fit:?}");
    assert!(fit.slope_ci95 < 0.05 && fit.r2 > 0.99);
}

#[test]
fn hessian_spectrum_of_a_quadratic() {
    // Known spectrum: 3 outliers over a bulk in [0, 1].
    let mut lambdas: Vec<f64> = (0..97).map(|i| i as f64 / 96.0).collect();
    lambdas.extend([50.0, 20.0, 8.0]);
    let (mut q, _) = Quadratic::new(&lambdas, 1.0, 7);
    let w: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
    let spec = SpectrumSpec { top_k: 3, lanczos_steps: 40, hutchinson_probes: 200, slq_probes: 10 };
    let s = hessian::spectrum(&mut q, &w, &spec, &mut rng(3));
    for (got, want) in s.top.iter().zip([50.0, 20.0, 8.0]) {
        assert!((got - want).abs() < 1e-6 * want, "top eigenvalue {got} vs {want}");
    }
    let trace: f64 = lambdas.iter().sum();
    assert!((s.trace - trace).abs() < 4.0 * s.trace_stderr + 1e-9, "trace {} +- {} vs {trace}", s.trace, s.trace_stderr);
    // SLQ is a quadrature: its first two moments estimate tr(H)/n and tr(H^2)/n.
    let m1: f64 = s.slq_nodes.iter().zip(&s.slq_weights).map(|(t, w)| t * w).sum();
    let m2: f64 = s.slq_nodes.iter().zip(&s.slq_weights).map(|(t, w)| t * t * w).sum();
    let weights: f64 = s.slq_weights.iter().sum();
    assert!((weights - 1.0).abs() < 1e-9);
    assert!((m1 - trace / 100.0).abs() < 0.15 * trace / 100.0, "first moment {m1}");
    let t2: f64 = lambdas.iter().map(|l| l * l).sum::<f64>() / 100.0;
    assert!((m2 - t2).abs() < 0.3 * t2, "second moment {m2} vs {t2}");
}

fn mnist(train_per_class: usize) -> (DeviceSplit, DeviceSplit) {
    let mut spec = DataSpec::new(Dataset::Mnist);
    spec.dir = Some(tailgrad_testkit::data_dir());
    spec.train_per_class = train_per_class;
    let split = spec.load(0).unwrap();
    let device = Device::flex();
    (
        DeviceSplit::upload(&split.train, split.dataset, spec.normalize, &device),
        DeviceSplit::upload(&split.test, split.dataset, spec.normalize, &device),
    )
}

fn net(hidden: &[usize], seed: u64, sigma: f64) -> Mlp {
    let text = format!(
        "input = 784\nclasses = 10\nhidden = {hidden:?}\nactivation = \"relu\"\ninit = {{ law = \"gaussian\", sigma_w = {sigma} }}"
    );
    let spec: MlpSpec = toml::from_str(&text).unwrap();
    Mlp::init(&spec, seed, &Device::flex().autodiff()).unwrap()
}

/// Softmax regression (one linear layer): `H V = (1/N) sum_i x_i^T [diag(p_i) - p_i p_i^T] (x_i V)`.
fn softmax_regression_hvp(x: &[f32], w: &[f64], v: &[f64], n: usize) -> Vec<f64> {
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

#[test]
fn finite_difference_hvp_matches_the_exact_hessian_of_softmax_regression() {
    let (train, _) = mnist(20);
    let model = net(&[], 1, 1.0);
    let x = tailgrad_train::objective::read_f32s(train.x.range(0, train.len));
    let mut obj = NetLoss::new(model, &train, 0, Params::All, 10_000);
    let w = obj.point();
    let mut r = rng(9);
    for _ in 0..3 {
        let v = linalg::random_unit(w.len(), &mut r);
        let exact = softmax_regression_hvp(&x, &w, &v, train.len);
        let fd = hvp(&mut obj, &w, &v, hessian::REL_STEP);
        let err = norm(&fd.iter().zip(&exact).map(|(a, b)| a - b).collect::<Vec<_>>()) / norm(&exact);
        // The stated bound of `hvp`: relative error below 1e-2.
        assert!(err < 1e-2, "relative HVP error {err}");
    }
}

#[test]
fn per_sample_gradients_of_a_linear_model_are_exact() {
    let (train, _) = mnist(2);
    let model = net(&[], 4, 1.0);
    let (x, y) = train.range(0, 8);
    let xs = tailgrad_train::objective::read_f32s(x.clone());
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
    let (nll, _) = tailgrad_train::objective::nll_sum_and_correct(model.forward(x), y);
    let mean = Params::All.grad(&model, &nll.div_scalar(8.0).backward());
    for k in (0..mean.len()).step_by(101) {
        let avg: f64 = grads.iter().map(|g| g[k]).sum::<f64>() / 8.0;
        assert!((avg - mean[k]).abs() < 1e-5, "{avg} vs {}", mean[k]);
    }
}

#[test]
fn gradient_noise_statistics_on_a_real_net() {
    let (train, _) = mnist(50);
    let model = net(&[32], 2, 1.0);
    let flipped: Vec<bool> = (0..train.len).map(|i| i % 5 == 0).collect();
    let input = crate::noise::NoiseInput {
        data: &train,
        flipped: Some(&flipped),
        batch_size: 25,
        batches: 16,
        params: Params::All,
        directions: &[],
        lr: 0.1,
        per_sample: 200,
        seed: 1,
    };
    let r = crate::noise::measure(&model, &input);
    // Per-sample and minibatch estimates of tr(Sigma) agree (B tr(Sigma_B) ~ tr(Sigma)) up to the
    // sampling error of 16 minibatches, and B_simple is their ratio to |G|^2.
    let ratio = r.b_simple / r.per_sample_b_simple;
    assert!((0.4..2.5).contains(&ratio), "B_simple {} vs per-sample {}", r.b_simple, r.per_sample_b_simple);
    assert!(r.all.alignment > 0.0 && r.all.alignment < 1.0);
    assert!(r.all.mean_amplitude >= r.all.mean_grad_norm, "|<g>| <= <|g|>");
    assert!((r.snr * r.b_simple - 25.0).abs() < 1e-9, "snr * B_simple = B");
    assert!(r.clean.is_some() && r.mislabeled.is_some() && r.clean_mislabeled_cos.is_some());
}

#[test]
fn noise_moments_of_known_vectors() {
    let mut m = crate::noise::Moments::default();
    for k in 0..4 {
        let mut e = vec![0.0; 4];
        e[k] = 2.0;
        m.add(&e);
    }
    let s = m.summary();
    // Orthogonal vectors of length 2: no alignment, amplitude 2, mean (0.5, 0.5, 0.5, 0.5).
    assert!(s.alignment.abs() < 1e-12 && (s.mean_amplitude - 2.0).abs() < 1e-12);
    assert!((s.mean_grad_norm - 1.0).abs() < 1e-12);
    // tr(Sigma) = (sum |g|^2 - K |G|^2) / (K - 1) = (16 - 4) / 3.
    assert!((s.trace_cov - 4.0).abs() < 1e-12);
    let mut same = crate::noise::Moments::default();
    (0..3).for_each(|_| same.add(&[1.0, 2.0]));
    assert!((same.summary().alignment - 1.0).abs() < 1e-12 && same.summary().trace_cov.abs() < 1e-12);
}

/// Snapshots `w_t = sum_i sqrt(var_i) z_ti q_i` along an orthonormal basis `q`.
fn planted_trajectory(variances: &[f64], q: &[Vec<f64>], t: usize, seed: u64) -> Trajectory {
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

#[test]
fn trajectory_pca_recovers_planted_variances() {
    let n = 40;
    let variances: Vec<f64> = (1..=n).map(|i| 1.0 / (i * i) as f64).collect();
    let q = orthogonal(n, 11);
    let traj = planted_trajectory(&variances, &q, 4000, 12);
    let p = variance_flatness::pca(&traj, 8, 0);
    for i in 0..8 {
        let rel = (p.variances[i] - variances[i]).abs() / variances[i];
        assert!(rel < 0.1, "variance {i}: {} vs {}", p.variances[i], variances[i]);
    }
    for i in 0..3 {
        assert!(dot(&p.directions[i], &q[i]).abs() > 0.98, "direction {i}");
    }
    // gamma of sigma_i^2 ~ i^-gamma, planted 2.
    let tmp = tailgrad_testkit::TempDir::new();
    let path = tmp.path().join("t.bin");
    traj.save(&path).unwrap();
    let back = Trajectory::load(&path).unwrap();
    assert_eq!(back.snapshots, traj.snapshots);
    std::fs::write(&path, &std::fs::read(&path).unwrap()[..100]).unwrap();
    let err = Trajectory::load(&path).unwrap_err().to_string();
    assert!(err.contains("header says 4000 x 40"), "{err}");
    // Snapshot by snapshot, as the probe records: a snapshot cut short by a kill is ignored and
    // overwritten by the next append.
    let mut first = traj.clone();
    first.truncate(2);
    first.save(&path).unwrap();
    let row = |t: usize| traj.snapshots[t * n..(t + 1) * n].iter().map(|&v| v as f64).collect::<Vec<_>>();
    Trajectory::append_to_file(&path, &row(2)).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &[7u8; 30]).unwrap();
    assert_eq!(Trajectory::load(&path).unwrap().snapshots, traj.snapshots[..3 * n]);
    Trajectory::append_to_file(&path, &row(3)).unwrap();
    assert_eq!(Trajectory::load(&path).unwrap().snapshots, traj.snapshots[..4 * n]);
    assert!(Trajectory::append_to_file(&path, &[1.0; 3]).unwrap_err().to_string().contains("not a trajectory of 3-vectors"));
}

#[test]
fn flatness_of_a_quadratic_and_a_planted_inverse_relation() {
    // L = c + (1/2) sum lambda_i theta_i^2: the loss reaches e c at theta = sqrt(2 c (e - 1) / lambda).
    let lambdas: Vec<f64> = (0..12).map(|i| 4f64.powf(-(i as f64) / 3.0) * 10.0).collect();
    let (mut quad, q) = Quadratic::new(&lambdas, 0.5, 21);
    let w0 = vec![0.0; 12];
    let e = std::f64::consts::E;
    for (l, d) in lambdas.iter().zip(&q).take(3) {
        let f = variance_flatness::flatness(&mut quad, &w0, 0.5, d, e, 1e-4);
        let want = (2.0 * 0.5 * (e - 1.0) / l).sqrt();
        assert!((f.theta_right - want).abs() < 1e-3 * want && (f.theta_left + want).abs() < 1e-3 * want);
    }
    // Plant sigma_i^2 = lambda_i^2: F ~ lambda^(-1/2) so sigma^2 ~ F^-4, psi = 4.
    let variances: Vec<f64> = lambdas.iter().map(|l| l * l * 1e-4).collect();
    let traj = planted_trajectory(&variances, &q, 6000, 22);
    let (vf, _) = variance_flatness::analyse(&mut quad, &w0, &traj, 1, 10, e, 0);
    assert!((vf.psi - 4.0).abs() < 0.3 && vf.psi_ci95 < 0.5, "psi = {} +- {}", vf.psi, vf.psi_ci95);
}

#[test]
fn dual_weights_reproduce_the_other_inputs_loss_exactly() {
    let (_, test) = mnist(1);
    let model = net(&[30, 30], 5, 1.0);
    let eval = burn::module::Module::valid(&model);
    let (x, _) = test.range(0, 2);
    let post = eval.forward_trace(x.clone()).post[0].clone();
    let a = tailgrad_train::objective::read_f32s(post);
    let (a, a_prime): (Vec<f64>, Vec<f64>) = (a[..30].iter().map(|&v| v as f64).collect(), a[30..].iter().map(|&v| v as f64).collect());
    let w = Params::Layer(1).get(&model);
    let dw = crate::duality::dual_weights(&w, &a, &a_prime, 30);
    let moved = Params::Layer(1).set(eval.clone(), &w.iter().zip(&dw).map(|(a, b)| a + b).collect::<Vec<_>>());
    let logits_moved = tailgrad_train::objective::read_f32s(moved.forward(x.clone().narrow(0, 0, 1)));
    let logits_other = tailgrad_train::objective::read_f32s(eval.forward(x.narrow(0, 1, 1)));
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
fn duality_decomposition_is_consistent() {
    let (train, test) = mnist(10);
    let model = net(&[8, 8], 6, 1.0);
    let r = crate::duality::decompose(&model, &train, &test, 1, 50, 0);
    assert!(r.duality_max_error < 1e-4, "duality error {}", r.duality_max_error);
    // sum_n theta_kn gamma_kn = dl_k exactly, so the decomposition sums to the matched gap.
    assert!((r.estimated_gap - r.matched_gap).abs() < 1e-6 * (1.0 + r.matched_gap.abs()), "{r:?}");
    assert_eq!(r.directions.len(), 64);
    assert!(r.directions.windows(2).all(|p| p[0].eigenvalue >= p[1].eigenvalue));
}

#[test]
fn filter_normalized_directions_match_each_neurons_norm() {
    let model = net(&[16], 8, 1.0);
    let d = crate::slices::filter_normalized(&model, &mut rng(4));
    let w = Params::All.get(&model);
    for k in [0, 7, 15] {
        let col = |v: &[f64]| (0..784).map(|j| v[j * 16 + k].powi(2)).sum::<f64>().sqrt();
        assert!((col(&d) - col(&w)).abs() < 1e-9 * col(&w));
    }
    let (train, _) = mnist(5);
    let mut obj = NetLoss::new(model, &train, 0, Params::All, 10_000);
    let w0 = obj.point();
    let l0 = obj.value(&w0);
    let s = crate::slices::slice(&mut obj, &w0, &d, None, &crate::slices::grid(1.0, 5), &[]);
    assert!((s.loss[2] - l0).abs() < 1e-6, "the centre of a slice is the loss at w0");
}

#[test]
fn probe_configs_are_checked() {
    let spec = |text: &str| -> tailgrad_train::ProbeSpec { toml::from_str(text).unwrap() };
    let err = crate::build(&[spec("name = \"hesian\"")]).err().unwrap().to_string();
    assert!(err.contains("unknown probe `hesian`") && err.contains("variance-flatness"), "{err}");
    let err = format!("{:#}", crate::build(&[spec("name = \"hessian\"\ntop_kk = 3")]).err().unwrap());
    assert!(err.contains("probe `hessian` has bad settings") && err.contains("top_kk"), "{err}");
    assert!(crate::build(&[spec("name = \"duality\"\nlayer = 1\nevery_epochs = 2")]).is_ok());
}

#[test]
fn hvp_of_the_net_is_symmetric() {
    // <u, H v> = <v, H u> for the real MLP Hessian, within the finite-difference error.
    let (train, _) = mnist(10);
    let model = net(&[16], 3, 1.0);
    let mut obj = NetLoss::new(model, &train, 0, Params::All, 10_000);
    let w = obj.point();
    let mut r = rng(5);
    let (u, v) = (linalg::random_unit(w.len(), &mut r), linalg::random_unit(w.len(), &mut r));
    let (hu, hv) = (hvp(&mut obj, &w, &u, hessian::REL_STEP), hvp(&mut obj, &w, &v, hessian::REL_STEP));
    let (a, b) = (dot(&u, &hv), dot(&v, &hu));
    assert!((a - b).abs() < 2e-2 * (norm(&hu) + norm(&hv)), "{a} vs {b}");
}

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
fn power_law_mle_recovers_a_planted_tail_exponent() {
    use crate::weight_stats::power_law_fit;
    let mut r = rng(31);
    // A lognormal body below 1 and a Pareto tail p(x) ~ x^-2.5 above x_min = 1.
    let mut xs: Vec<f64> = (0..3000).map(|_| (0.3 * r.sample::<f64, _>(StandardNormal) - 1.0).exp()).collect();
    xs.extend((0..5000).map(|_| r.random::<f64>().max(1e-12).powf(-1.0 / 1.5)));
    let fit = power_law_fit(&xs, 50).unwrap();
    assert!((fit.alpha - 2.5).abs() < 0.1, "{fit:?}");
    assert!((0.8..1.5).contains(&fit.x_min), "{fit:?}");
}

#[test]
fn spectrum_of_a_gaussian_matrix_fills_the_marchenko_pastur_support() {
    let mut r = rng(32);
    let (n, m) = (2000, 200);
    let w: Vec<f32> = (0..n * m).map(|_| r.sample::<f64, _>(StandardNormal) as f32).collect();
    let ev = crate::weight_stats::esd(&w, n, m);
    let q: f64 = m as f64 / n as f64;
    let (lo, hi) = ((1.0 - q.sqrt()).powi(2), (1.0 + q.sqrt()).powi(2));
    assert!((ev[0] - lo).abs() < 0.05 * lo && (ev[m - 1] - hi).abs() < 0.05 * hi, "{} {} vs [{lo}, {hi}]", ev[0], ev[m - 1]);
    assert!((ev.iter().sum::<f64>() / m as f64 - 1.0).abs() < 0.02, "mean eigenvalue = mean squared entry = 1");
}

#[test]
fn mcculloch_recovers_stable_parameters_from_our_sampler() {
    use crate::weight_stats::mcculloch;
    let mut r = rng(33);
    for (alpha, beta) in [(1.0, 0.0), (1.5, 0.0), (2.0, 0.0), (1.5, 0.5)] {
        let law = tailgrad_init::Stable::new(alpha, beta, 0.5).unwrap();
        let xs: Vec<f64> = (0..40_000).map(|_| 3.0 + law.sample(&mut r)).collect();
        let fit = mcculloch(&xs).unwrap();
        // Stated tolerance: alpha within 0.1, beta within 0.2, scale within 10% (40,000 samples).
        assert!((fit.alpha - alpha).abs() < 0.1, "alpha {alpha}: {fit:?}");
        assert!((fit.beta - beta).abs() < 0.2, "beta {beta}: {fit:?}");
        assert!((fit.scale - 0.5).abs() < 0.05, "scale: {fit:?}");
    }
}

#[test]
fn local_elasticity_of_a_linear_model_is_the_input_kernel() {
    // f = x W: one step at x_i moves f(x_j) by -eta (x_j . x_i) dl/df(x_i), so S_ker(i, j) = x_j . x_i
    // exactly and S_rel(i, j) = |x_j . x_i| / |x_i|^2: similarity of inputs, nothing learned.
    let (train, _) = mnist(3);
    let model = net(&[], 12, 1.0);
    let (x, y) = train.range(0, 12);
    let xs: Vec<f64> = tailgrad_train::objective::read_f32s(x.clone()).iter().map(|&v| v as f64).collect();
    let e = crate::elasticity::measure(&model, x, y, 1e-3);
    let row = |i: usize| &xs[i * 784..(i + 1) * 784];
    for (i, j) in [(0, 1), (3, 7), (5, 5), (11, 2)] {
        let k = dot(row(i), row(j));
        assert!((e.s_ker[i * 12 + j] - k).abs() < 2e-2 * (1.0 + k.abs()), "S_ker({i},{j}) = {} vs x_i.x_j = {k}", e.s_ker[i * 12 + j]);
        let rel = k.abs() / dot(row(i), row(i));
        assert!((e.s_rel[i * 12 + j] - rel).abs() < 2e-2 * (1.0 + rel), "S_rel({i},{j})");
    }
}

#[test]
fn a_trained_net_is_locally_elastic() {
    // Train a small ReLU net briefly on two classes, then same-class S_rel exceeds cross-class.
    let (train, _) = mnist(50);
    let mut model = net(&[64], 13, 1.0);
    let ys: Vec<i64> = train.y.clone().into_data().convert::<i64>().try_to_vec().unwrap();
    let idx: Vec<i64> = (0..train.len as i64).filter(|&i| ys[i as usize] == 3 || ys[i as usize] == 7).collect();
    let (x, y) = train.rows(&idx);
    for _ in 0..30 {
        let (nll, _) = tailgrad_train::objective::nll_sum_and_correct(model.forward(x.clone()), y.clone());
        let g = Params::All.grad(&model, &nll.div_scalar(idx.len() as f64).backward());
        let w = Params::All.get(&model);
        model = Params::All.set(model, &w.iter().zip(&g).map(|(a, b)| a - 0.1 * b).collect::<Vec<_>>());
    }
    let e = crate::elasticity::measure(&model, x.narrow(0, 0, 60), y.narrow(0, 0, 60), 1e-2);
    assert!(e.s_rel_same > e.s_rel_cross, "{} vs {}", e.s_rel_same, e.s_rel_cross);
    assert!(e.cluster_acc_rel > 0.8, "clustering accuracy {}", e.cluster_acc_rel);
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

#[test]
fn general_eigen_decomposition_of_non_symmetric_matrices() {
    use crate::eigen_general::eigen_general;
    use num_complex::Complex64 as C;
    // A rotation block (eigenvalues +-i) next to 2 and 3, conjugated by a random orthogonal matrix.
    let q = orthogonal(4, 50);
    let d = [[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.5, 3.0]];
    let mut a = vec![0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            a[i * 4 + j] = (0..4).flat_map(|k| (0..4).map(move |l| (k, l))).map(|(k, l)| q[k][i] * d[k][l] * q[l][j]).sum();
        }
    }
    let (values, _) = eigen_general(&a, 4);
    let mut got: Vec<(f64, f64)> = values.iter().map(|v| (v.re, v.im)).collect();
    got.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    for (g, w) in got.iter().zip([(0.0, -1.0), (0.0, 1.0), (2.0, 0.0), (3.0, 0.0)]) {
        assert!((g.0 - w.0).abs() < 1e-10 && (g.1 - w.1).abs() < 1e-10, "{got:?}");
    }
    // A random matrix: every pair satisfies A v = lambda v.
    let mut r = rng(51);
    let n = 40;
    let a: Vec<f64> = (0..n * n).map(|_| r.sample(StandardNormal)).collect();
    let (values, vectors) = eigen_general(&a, n);
    for (lambda, v) in values.iter().zip(&vectors) {
        let residual: f64 = (0..n)
            .map(|i| ((0..n).map(|j| v[j] * a[i * n + j]).sum::<C>() - lambda * v[i]).norm_sqr())
            .sum::<f64>()
            .sqrt();
        assert!(residual < 1e-8, "residual {residual} for {lambda}");
    }
}
