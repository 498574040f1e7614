//! Lanczos with full reorthogonalization: Krylov decompositions, Ritz pairs, top eigenpairs.

use super::{SymEigen, axpy, dot, norm, random_unit, scaled, sym_eigen};
use rand::Rng;

/// The Krylov decomposition `A Q = Q T + r e_m^T` built by Lanczos from a start vector:
/// `T` has diagonal `alpha` and off-diagonal `beta`; `basis` holds the orthonormal `q_j`.
pub struct Lanczos {
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    pub basis: Vec<Vec<f64>>,
}

/// `steps` Lanczos iterations of the symmetric operator `op` from `start`, with full
/// reorthogonalization (twice, classical Gram-Schmidt) so that Ritz values do not repeat.
/// Stops early when the Krylov space is exhausted.
pub fn lanczos(op: &mut dyn FnMut(&[f64]) -> Vec<f64>, start: &[f64], steps: usize) -> Lanczos {
    let mut q = scaled(start, 1.0 / norm(start));
    let mut out = Lanczos { alpha: Vec::new(), beta: Vec::new(), basis: Vec::new() };
    for _ in 0..steps.min(start.len()) {
        let mut w = op(&q);
        let a = dot(&q, &w);
        out.basis.push(q);
        out.alpha.push(a);
        for _ in 0..2 {
            for b in &out.basis {
                let c = dot(b, &w);
                axpy(-c, b, &mut w);
            }
        }
        let beta = norm(&w);
        if out.basis.len() == steps || beta <= 1e-10 * a.abs().max(1e-300) {
            break;
        }
        out.beta.push(beta);
        q = scaled(&w, 1.0 / beta);
    }
    out
}

impl Lanczos {
    /// Eigen-decomposition of the tridiagonal `T` (Ritz values ascending, eigenvectors of T).
    pub fn ritz(&self) -> SymEigen {
        let m = self.alpha.len();
        let mut t = vec![0.0; m * m];
        for i in 0..m {
            t[i * m + i] = self.alpha[i];
            if i + 1 < m {
                t[i * m + i + 1] = self.beta[i];
                t[(i + 1) * m + i] = self.beta[i];
            }
        }
        sym_eigen(&t, m)
    }

    /// The Ritz vector `Q s` for an eigenvector `s` of `T`.
    pub fn lift(&self, s: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; self.basis[0].len()];
        for (q, &c) in self.basis.iter().zip(s) {
            axpy(c, q, &mut y);
        }
        y
    }
}

/// The `k` largest eigenpairs of a symmetric operator on `R^dim`, by `steps` Lanczos iterations
/// (`steps >= 2k` recommended) from a random start. Returned in descending order.
pub fn top_eigenpairs<R: Rng>(
    op: &mut dyn FnMut(&[f64]) -> Vec<f64>,
    dim: usize,
    k: usize,
    steps: usize,
    rng: &mut R,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let start = random_unit(dim, rng);
    let lz = lanczos(op, &start, steps.max(k));
    let eig = lz.ritz();
    let m = eig.values.len();
    let take = k.min(m);
    let values = (0..take).map(|j| eig.values[m - 1 - j]).collect();
    let vectors = (0..take).map(|j| lz.lift(&eig.vectors[m - 1 - j])).collect();
    (values, vectors)
}
