//! Small dense linear algebra on the host, in f64: vector helpers (here), the symmetric
//! eigen-decomposition ([`sym_eigen`]: Householder tridiagonalization + implicit QL, EISPACK's
//! tred2/tql2 as published in JAMA), Lanczos with full reorthogonalization ([`lanczos`]), and
//! least-squares line fits with confidence intervals ([`fit_line`]), and the eigen-decomposition
//! of a general real matrix ([`eigen_general`], [`eigenvalues_general`]: complex eigenvalues and
//! eigenvectors, for Jacobians); and clustering of similarity matrices ([`clustering`]: k-means,
//! spectral, kernel k-means, matched accuracy).
//!
//! Hand-written because the eigen-solvers are all tailgrad needs here and nalgebra would switch on
//! features of crates that burn's cubecl shares (num-integer, num-complex), forcing a full
//! rebuild of burn (measured with `cargo tree -e features`).

pub mod clustering;
mod general;
mod krylov;
mod line_fit;
mod symmetric;

pub use general::{eigen_general, eigenvalues_general};
pub use krylov::{Lanczos, lanczos, top_eigenpairs};
pub use line_fit::{LineFit, fit_line, t975};
pub use symmetric::{SymEigen, sym_eigen};

use rand::{Rng, RngExt};

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y <- y + s x`.
pub fn axpy(s: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += s * x);
}

pub fn scaled(a: &[f64], s: f64) -> Vec<f64> {
    a.iter().map(|x| x * s).collect()
}

/// Mean and population standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt())
}

/// A vector of +-1 entries (Hutchinson's probe vectors).
pub fn rademacher<R: Rng>(n: usize, rng: &mut R) -> Vec<f64> {
    (0..n).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect()
}

/// A uniformly random unit vector.
pub fn random_unit<R: Rng>(n: usize, rng: &mut R) -> Vec<f64> {
    let v: Vec<f64> = (0..n).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal)).collect();
    let s = 1.0 / norm(&v);
    scaled(&v, s)
}

/// `scale X^T X` for `X` with `t` rows of `d` values (row-major): the `d x d` Gram matrix,
/// row-major. Computed in tiles of 128 x 128 (kept in cache while the rows stream by), tiles in
/// parallel; O(t d^2).
pub fn gram(x: &[f64], t: usize, d: usize, scale: f64) -> Vec<f64> {
    use rayon::prelude::*;
    assert_eq!(x.len(), t * d, "gram: X is not t x d");
    const TILE: usize = 128;
    let blocks = d.div_ceil(TILE);
    let pairs: Vec<(usize, usize)> = (0..blocks).flat_map(|i| (i..blocks).map(move |j| (i, j))).collect();
    let tiles: Vec<((usize, usize), Vec<f64>)> = pairs
        .par_iter()
        .map(|&(bi, bj)| {
            let (i0, i1) = (bi * TILE, ((bi + 1) * TILE).min(d));
            let (j0, j1) = (bj * TILE, ((bj + 1) * TILE).min(d));
            let width = j1 - j0;
            let mut c = vec![0.0; (i1 - i0) * width];
            for row in x.chunks_exact(d) {
                let rj = &row[j0..j1];
                for (a, &xa) in row[i0..i1].iter().enumerate() {
                    if xa != 0.0 {
                        c[a * width..(a + 1) * width].iter_mut().zip(rj).for_each(|(c, &xb)| *c += xa * xb);
                    }
                }
            }
            ((bi, bj), c)
        })
        .collect();
    let mut g = vec![0.0; d * d];
    for ((bi, bj), c) in tiles {
        let (i0, j0) = (bi * TILE, bj * TILE);
        let width = (((bj + 1) * TILE).min(d)) - j0;
        for (a, row) in c.chunks_exact(width).enumerate() {
            for (b, &v) in row.iter().enumerate() {
                g[(i0 + a) * d + j0 + b] = scale * v;
                g[(j0 + b) * d + i0 + a] = scale * v;
            }
        }
    }
    g
}
