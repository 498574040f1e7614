//! Hidden representations of random nets, Qu et al.'s diagnostics 2 and 3: the effective
//! dimension (participation ratio) of a layer's activity over inputs and the multifractal
//! dimension D_q of its principal components and of the layer Jacobian's eigenvectors.
//!
//! Two matrices of the activity `A` (inputs x units) are reported: the covariance
//! `C = (A - mean)^T (A - mean) / m`, and the uncentered second moment `M = A^T A / m`, which is
//! what the authors' code uses (CKQu1/extended-criticality-dnn, `UTILS/utils_dnn.py` and
//! `dq_analysis/npc_fcn.py`: `C = A^T A / m - |mean|^2 / m^2`, the subtracted term a scalar, so up
//! to O(1/m) the second moment). With tanh units of random sign the two differ little; where the
//! mean activity is large (saturated, ordered nets) M's top direction is the mean and its ED is lower.

use crate::linalg::{axpy, sym_eigen};
use serde::{Deserialize, Serialize};
use tailgrad_init::InitSpec;

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
    /// `(tr C)^2 / tr(C^2)` of the covariance C of `tanh(h^layer)` over the inputs.
    pub ed: f64,
    /// The same of the uncentered second moment M (the authors' quantity).
    pub ed_second_moment: f64,
    /// Mean `D_2` of the top 10 principal components (eigenvectors) of C (the authors' quantity:
    /// `npc_layerwise_d2` in `dq_analysis/npc_fcn.py` fits sklearn's PCA, which centres), and of M.
    pub d2_pcs: f64,
    pub d2_pcs_second_moment: f64,
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
                super::propagation::vec_mat(&a, &w, width)
            })
            .collect();
    }
    (prev, h, w)
}

/// ED and D_2 at `layer` over the inputs `x`, and the Jacobian eigenvectors' D_2 over the first
/// `jacobian_inputs` of them. Eigen-decompositions are O(width^3) on the host.
pub fn representation(init: &InitSpec, width: usize, layer: usize, x: &[f32], jacobian_inputs: usize, seed: u64) -> Representation {
    let m = x.len() / width;
    let mut rng = tailgrad_init::rng(seed);
    let (prev, h, w) = forward_random(init, width, layer, x, &mut rng);
    let act: Vec<f64> = h.iter().map(|v| v.tanh()).collect();
    let mut mean = vec![0.0; width];
    act.chunks(width).for_each(|r| axpy(1.0 / m as f64, r, &mut mean));
    let centered: Vec<f64> = act.chunks(width).flat_map(|r| r.iter().zip(&mean).map(|(a, b)| a - b)).collect();
    let (ed, d2_pcs) = dimensions(&crate::linalg::gram(&centered, m, width, 1.0 / m as f64), width);
    let (ed_second_moment, d2_pcs_second_moment) = dimensions(&crate::linalg::gram(&act, m, width, 1.0 / m as f64), width);
    const QS: [f64; 5] = [0.0, 0.5, 1.0, 1.5, 2.0];
    let dq_jacobian = (jacobian_inputs > 0 && layer >= 2).then(|| {
        let inputs = jacobian_inputs.min(m);
        let mut total = [0.0; QS.len()];
        for row in prev.chunks(width).take(inputs) {
            // J[i][j] = W[j][i] tanh'(h_j): d h^layer_i / d h^(layer-1)_j.
            let slope: Vec<f64> = row.iter().map(|v| 1.0 - v.tanh().powi(2)).collect();
            let j: Vec<f64> = (0..width * width).map(|k| w[(k % width) * width + k / width] as f64 * slope[k % width]).collect();
            let (_, vectors) = crate::linalg::eigen_general(&j, width);
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
    Representation { layer, ed, ed_second_moment, d2_pcs, d2_pcs_second_moment, d2_jacobian, dq_jacobian: dq_jacobian.unwrap_or_default() }
}

/// ED and the mean D_2 of the top 10 eigenvectors of a symmetric `n x n` matrix.
fn dimensions(matrix: &[f64], n: usize) -> (f64, f64) {
    let eig = sym_eigen(matrix, n);
    let ed = effective_dimension(&eig.values.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    let top = eig.vectors.iter().rev().take(10).map(|v| participation_dimension(v, 2.0)).sum::<f64>() / 10f64.min(n as f64);
    (ed, top)
}
