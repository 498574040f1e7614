//! Small dense linear algebra on the host, in f64: vector helpers, the symmetric eigen-decomposition
//! (Householder tridiagonalization + implicit QL, EISPACK's tred2/tql2 as published in JAMA),
//! Lanczos with full reorthogonalization, and least-squares line fits with confidence intervals.
//!
//! Hand-written because the eigen-solvers are all tailgrad needs here and nalgebra would switch on
//! features of crates that burn's cubecl shares (num-integer, num-complex), forcing a full
//! rebuild of burn (measured with `cargo tree -e features`).

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

/// Eigenvalues in ascending order and the matching unit eigenvectors (`vectors[k]`).
pub struct SymEigen {
    pub values: Vec<f64>,
    pub vectors: Vec<Vec<f64>>,
}

/// Eigen-decomposition of the symmetric `n x n` matrix `a` (row-major). O(n^3).
pub fn sym_eigen(a: &[f64], n: usize) -> SymEigen {
    assert_eq!(a.len(), n * n, "sym_eigen: matrix is not n x n");
    if n == 0 {
        return SymEigen { values: vec![], vectors: vec![] };
    }
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| a[i * n..(i + 1) * n].to_vec()).collect();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(&mut v, &mut d, &mut e);
    tql2(&mut v, &mut d, &mut e);
    let vectors = (0..n).map(|k| (0..n).map(|i| v[i][k]).collect()).collect();
    SymEigen { values: d, vectors }
}

/// Householder reduction to tridiagonal form (diagonal `d`, sub-diagonal `e`), accumulating the
/// orthogonal transformation in `v`.
fn tred2(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    d.copy_from_slice(&v[n - 1]);
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
                v[j][i] = 0.0;
            }
        } else {
            for dk in d[..i].iter_mut() {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = if f > 0.0 { -h.sqrt() } else { h.sqrt() };
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].iter_mut().for_each(|x| *x = 0.0);
            for j in 0..i {
                f = d[j];
                v[j][i] = f;
                g = e[j] + v[j][j] * f;
                for k in j + 1..i {
                    g += v[k][j] * d[k];
                    e[k] += v[k][j] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[k][j] -= f * e[k] + g * d[k];
                }
                d[j] = v[i - 1][j];
                v[i][j] = 0.0;
            }
        }
        d[i] = h;
    }
    for i in 0..n - 1 {
        v[n - 1][i] = v[i][i];
        v[i][i] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[k][i + 1] / h;
            }
            for j in 0..=i {
                let g: f64 = (0..=i).map(|k| v[k][i + 1] * v[k][j]).sum();
                for k in 0..=i {
                    v[k][j] -= g * d[k];
                }
            }
        }
        for row in v.iter_mut().take(i + 1) {
            row[i + 1] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[n - 1][j];
        v[n - 1][j] = 0.0;
    }
    v[n - 1][n - 1] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal matrix; eigenvalues sorted ascending at the end.
fn tql2(v: &mut [Vec<f64>], d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            loop {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for row in v.iter_mut() {
                        h = row[i + 1];
                        row[i + 1] = s * row[i] + c * h;
                        row[i] = c * row[i] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]));
    let sorted_d: Vec<f64> = order.iter().map(|&k| d[k]).collect();
    d.copy_from_slice(&sorted_d);
    for row in v.iter_mut() {
        let sorted: Vec<f64> = order.iter().map(|&k| row[k]).collect();
        row.copy_from_slice(&sorted);
    }
}

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

/// Least-squares line `y = intercept + slope x`, with the slope's standard error and the
/// half-width of its 95% confidence interval (Student t with n - 2 degrees of freedom).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LineFit {
    pub slope: f64,
    pub intercept: f64,
    pub slope_stderr: f64,
    pub slope_ci95: f64,
    pub r2: f64,
    pub n: usize,
}

pub fn fit_line(x: &[f64], y: &[f64]) -> LineFit {
    let n = x.len();
    assert!(n >= 3 && y.len() == n, "fit_line needs at least 3 points");
    let (mx, my) = (x.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = x.iter().zip(y).map(|(a, b)| (b - intercept - slope * a).powi(2)).sum();
    let dof = (n - 2) as f64;
    let slope_stderr = (sse / dof / sxx).sqrt();
    LineFit { slope, intercept, slope_stderr, slope_ci95: t975(dof) * slope_stderr, r2: 1.0 - sse / syy, n }
}

/// The 97.5% quantile of Student's t with `nu` degrees of freedom, by the Cornish-Fisher
/// expansion about the normal quantile (Abramowitz & Stegun 26.7.5; error < 1e-3 for nu >= 3).
pub fn t975(nu: f64) -> f64 {
    let z: f64 = 1.959_963_984_540_054;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5) - 1920.0 * z.powi(3) - 945.0 * z) / 92160.0;
    z + g1 / nu + g2 / nu.powi(2) + g3 / nu.powi(3) + g4 / nu.powi(4)
}
