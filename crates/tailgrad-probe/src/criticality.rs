//! Criticality of random deep networks (no training): how signals propagate through
//! `h^l = W^l tanh(h^(l-1))` with a fresh weight matrix per layer, Gaussian or alpha-stable
//! (Qu, Wardak & Gong 2022, arXiv:2203.12967; mean-field theory of Poole et al. 2016 and
//! Schoenholz et al. 2017, as used by Grosvenor & Jefferson, arXiv:2109.13247).
//!
//! * [`mean_field_tanh`]: Gaussian weights of variance `sigma_w^2 / N`, no bias: the length map
//!   `q^(l+1) = sigma_w^2 E_z[tanh(sqrt(q^l) z)^2]`, its fixed point `q*`, the slope
//!   `chi = sigma_w^2 E_z[tanh'(sqrt(q*) z)^2]` (criticality at chi = 1: sigma_w = 1 for tanh
//!   without bias), the largest Lyapunov exponent per layer `(1/2) ln chi` (of vector lengths;
//!   `ln chi` of squared lengths) and the correlation length `xi = 1 / |ln chi|` (Schoenholz et
//!   al.'s `-1 / ln chi` in the ordered phase: the depth over which perturbations die out or grow by e).
//! * [`lyapunov`]: the measured exponents from products of layer Jacobians
//!   `J^l = W^l diag(tanh'(h^(l-1)))` (in burn's `h W` layout, `v -> (tanh'(h) * v) W`),
//!   re-orthonormalized by Gram-Schmidt (QR) every layer, `lambda_i = <ln R_ii>` over layers.
//! * [`propagated_circle_cv`]: inputs on a circle `h^0(t) = (cos t, sin t, 0, ...)`, distances
//!   `d_k = |h^l(t_(k+1)) - h^l(t_k)|` between neighbouring angles, `CV_l = std_k d_k / mean_k d_k`.
//!   Qu et al.: CV ~ 1 in the extended critical regime of heavy-tailed nets vs ~0.2-0.4 at alpha = 2.
//! * [`participation_dimension`] (`D_q`) and [`effective_dimension`] (ED).

use crate::linalg::{axpy, dot, norm};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_init::InitSpec;
use tailgrad_model::objective::read_f32s;

/// `E_{z ~ N(0,1)}[f(z)]` by the trapezoid rule on [-10, 10] (4001 points; error < 1e-10 for the
/// smooth bounded integrands here).
pub fn gauss_expect(f: impl Fn(f64) -> f64) -> f64 {
    let n = 4000;
    let h = 20.0 / n as f64;
    let c = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    (0..=n)
        .map(|i| {
            let z = -10.0 + i as f64 * h;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * f(z) * c * (-z * z / 2.0).exp()
        })
        .sum::<f64>()
        * h
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MeanField {
    pub sigma_w: f64,
    pub q_star: f64,
    pub chi: f64,
    /// `(1/2) ln chi`: growth rate of a perturbation's length per layer.
    pub lyapunov: f64,
    /// `1 / |ln chi|` (infinite at chi = 1).
    pub xi: f64,
}

/// Mean-field theory of a deep tanh net with Gaussian weights `N(0, sigma_w^2 / N)`, no bias.
pub fn mean_field_tanh(sigma_w: f64) -> MeanField {
    let s2 = sigma_w * sigma_w;
    let mut q: f64 = 1.0;
    for _ in 0..5000 {
        let next = s2 * gauss_expect(|z| (q.sqrt() * z).tanh().powi(2));
        if (next - q).abs() < 1e-14 {
            q = next;
            break;
        }
        q = next;
    }
    let chi = s2 * gauss_expect(|z| (1.0 - (q.sqrt() * z).tanh().powi(2)).powi(2));
    MeanField { sigma_w, q_star: q, chi, lyapunov: 0.5 * chi.ln(), xi: 1.0 / chi.ln().abs() }
}

/// `y = x W` for `W` row-major `[n, m]`.
fn vec_mat(x: &[f64], w: &[f32], m: usize) -> Vec<f64> {
    let mut y = vec![0.0; m];
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            let row = &w[i * m..(i + 1) * m];
            y.iter_mut().zip(row).for_each(|(y, &wij)| *y += xi * wij as f64);
        }
    }
    y
}

/// The `k` largest Lyapunov exponents (per layer, of lengths) of a random tanh net of width
/// `width`: `depth` layers after `burn_in` layers that bring the signal to its stationary length.
/// The input has unit variance per unit.
pub fn lyapunov(init: &InitSpec, width: usize, depth: usize, burn_in: usize, k: usize, seed: u64) -> Vec<f64> {
    let mut rng = tailgrad_init::rng(seed);
    let mut h: Vec<f64> = (0..width).map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng)).collect();
    let mut vs: Vec<Vec<f64>> = (0..k).map(|i| (0..width).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    let mut sums = vec![0.0; k];
    for l in 0..burn_in + depth {
        let w = init.sample(width, width, &mut rng);
        let slope: Vec<f64> = h.iter().map(|x| 1.0 - x.tanh().powi(2)).collect();
        let act: Vec<f64> = h.iter().map(|x| x.tanh()).collect();
        h = vec_mat(&act, &w, width);
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(k);
        for v in &vs {
            let scaled: Vec<f64> = v.iter().zip(&slope).map(|(a, b)| a * b).collect();
            let mut u = vec_mat(&scaled, &w, width);
            for q in &next {
                let c = dot(q, &u);
                axpy(-c, q, &mut u);
            }
            let r = norm(&u);
            if l >= burn_in {
                sums[next.len()] += r.max(1e-300).ln();
            }
            next.push(u.iter().map(|x| x / r.max(1e-300)).collect());
        }
        vs = next;
    }
    sums.iter().map(|s| s / depth as f64).collect()
}

/// `CV_l` for l = 1..=depth of `angles` inputs on a circle, propagated on `device`.
pub fn propagated_circle_cv(init: &InitSpec, width: usize, depth: usize, angles: usize, seed: u64, device: &Device) -> Vec<f64> {
    let mut rng = tailgrad_init::rng(seed);
    let mut x = vec![0f32; angles * width];
    for k in 0..angles {
        let t = 2.0 * std::f64::consts::PI * k as f64 / angles as f64;
        x[k * width] = t.cos() as f32;
        x[k * width + 1] = t.sin() as f32;
    }
    let mut h = Tensor::<2>::from_data(TensorData::new(x, [angles, width]), device);
    let mut cvs = Vec::with_capacity(depth);
    for l in 0..depth {
        let w = Tensor::<2>::from_data(TensorData::new(init.sample(width, width, &mut rng), [width, width]), device);
        h = if l == 0 { h.matmul(w) } else { h.tanh().matmul(w) };
        // Distances between neighbouring angles (the circle closes: the last pairs with the first).
        let next = Tensor::cat(vec![h.clone().narrow(0, 1, angles - 1), h.clone().narrow(0, 0, 1)], 0);
        // CV is scale-free: divide by the largest difference first so that deep ordered nets,
        // whose signals shrink like sigma_w^l, do not underflow f32 when squared.
        let diff = next - h.clone();
        let scale = (read_f32s(diff.clone().abs().max())[0] as f64).max(f64::MIN_POSITIVE);
        let d: Vec<f64> = read_f32s(diff.div_scalar(scale).powf_scalar(2.0).sum_dim(1).sqrt()).iter().map(|&v| v as f64).collect();
        let (mean, std) = crate::linalg::mean_std(&d);
        cvs.push(std / mean);
    }
    cvs
}

/// Multifractal dimension `D_q = ln IPR_q / ((1 - q) ln N)` with
/// `IPR_q = sum |v_i|^(2q) / (sum |v_i|^2)^q` (q != 1; at q = 1 the limit, the Shannon form
/// `-sum p_i ln p_i / ln N` with `p_i = v_i^2 / |v|^2`). 0 for a localized vector, 1 for a uniform one.
pub fn participation_dimension(v: &[f64], q: f64) -> f64 {
    let n = v.len() as f64;
    let total: f64 = v.iter().map(|x| x * x).sum();
    let p = v.iter().map(|x| x * x / total);
    if (q - 1.0).abs() < 1e-12 {
        return -p.filter(|&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>() / n.ln();
    }
    let ipr: f64 = p.filter(|&p| p > 0.0).map(|p| p.powf(q)).sum();
    ipr.ln() / ((1.0 - q) * n.ln())
}

/// Effective dimension (participation ratio) of a covariance matrix from its eigenvalues:
/// `ED = (tr C)^2 / tr(C^2) = (sum l_i)^2 / sum l_i^2`.
pub fn effective_dimension(eigenvalues: &[f64]) -> f64 {
    let s: f64 = eigenvalues.iter().sum();
    s * s / eigenvalues.iter().map(|l| l * l).sum::<f64>()
}

/// Hidden representations of a random net at one layer (Qu et al.'s diagnostics 2 and 3).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Representation {
    pub layer: usize,
    /// `(tr C)^2 / tr(C^2)` of the covariance of `tanh(h^layer)` over the inputs.
    pub ed: f64,
    /// Mean `D_2` of the top 10 principal components of that covariance.
    pub d2_pcs: f64,
    /// Mean `D_2` of the eigenvectors of the layer Jacobian `J = W^layer diag(tanh'(h^(layer-1)))`
    /// (Qu et al.'s convention; `W^T` in burn's layout), from `|v_i|^2` of the complex eigenvectors,
    /// averaged over `jacobian_inputs` inputs (None = not computed).
    pub d2_jacobian: Option<f64>,
    /// The multifractal spectrum of the same eigenvectors: `(q, mean D_q)` for q in [0, 2].
    pub dq_jacobian: Vec<(f64, f64)>,
}

/// Forward `x` (`m x width`, row-major) through `layer` fresh random layers (`h^1 = x W^1`,
/// `h^(l+1) = tanh(h^l) W^(l+1)`), keeping the last two weight matrices and pre-activations.
fn forward_random(init: &InitSpec, width: usize, layer: usize, x: &[f32], rng: &mut impl rand::Rng) -> (Vec<f64>, Vec<f64>, Vec<f32>) {
    let m = x.len() / width;
    let mut prev = vec![0.0; m * width];
    let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut w = Vec::new();
    for l in 0..layer {
        w = init.sample(width, width, rng);
        prev = h.clone();
        h = prev
            .chunks(width)
            .flat_map(|row| {
                let a: Vec<f64> = if l == 0 { row.to_vec() } else { row.iter().map(|v| v.tanh()).collect() };
                vec_mat(&a, &w, width)
            })
            .collect();
    }
    (prev, h, w)
}

/// ED and D_2 at `layer` over the inputs `x`, and the Jacobian eigenvectors' D_2 over the first
/// `jacobian_inputs` of them. Eigen-decompositions are O(width^3) on the host.
pub fn representation(init: &InitSpec, width: usize, layer: usize, x: &[f32], jacobian_inputs: usize, seed: u64) -> Representation {
    use crate::linalg::sym_eigen;
    let m = x.len() / width;
    let mut rng = tailgrad_init::rng(seed);
    let (prev, h, w) = forward_random(init, width, layer, x, &mut rng);
    let act: Vec<f64> = h.iter().map(|v| v.tanh()).collect();
    let mut mean = vec![0.0; width];
    act.chunks(width).for_each(|r| axpy(1.0 / m as f64, r, &mut mean));
    let mut cov = vec![0.0; width * width];
    for r in act.chunks(width) {
        let c: Vec<f64> = r.iter().zip(&mean).map(|(a, b)| a - b).collect();
        for i in 0..width {
            if c[i] != 0.0 {
                axpy(c[i] / m as f64, &c, &mut cov[i * width..(i + 1) * width]);
            }
        }
    }
    let eig = sym_eigen(&cov, width);
    let ed = effective_dimension(&eig.values.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    let top = eig.vectors.iter().rev().take(10).map(|v| participation_dimension(v, 2.0)).sum::<f64>() / 10f64.min(width as f64);
    const QS: [f64; 5] = [0.0, 0.5, 1.0, 1.5, 2.0];
    let dq_jacobian = (jacobian_inputs > 0 && layer >= 2).then(|| {
        let inputs = jacobian_inputs.min(m);
        let mut total = [0.0; QS.len()];
        for row in prev.chunks(width).take(inputs) {
            // J[i][j] = W[j][i] tanh'(h_j): d h^layer_i / d h^(layer-1)_j.
            let slope: Vec<f64> = row.iter().map(|v| 1.0 - v.tanh().powi(2)).collect();
            let j: Vec<f64> = (0..width * width).map(|k| w[(k % width) * width + k / width] as f64 * slope[k % width]).collect();
            let (_, vectors) = crate::eigen_general::eigen_general(&j, width);
            for v in &vectors {
                let moduli: Vec<f64> = v.iter().map(|c| c.norm_sqr().sqrt()).collect();
                for (t, &q) in total.iter_mut().zip(&QS) {
                    *t += participation_dimension(&moduli, q) / (width * inputs) as f64;
                }
            }
        }
        QS.iter().copied().zip(total).collect::<Vec<_>>()
    });
    let d2_jacobian = dq_jacobian.as_ref().map(|dq| dq[QS.len() - 1].1);
    Representation { layer, ed, d2_pcs: top, d2_jacobian, dq_jacobian: dq_jacobian.unwrap_or_default() }
}
