//! Eigenvalues and eigenvectors of a general (non-symmetric) real matrix, as the layer
//! Jacobians of Qu et al.'s multifractal analysis need: Householder reduction to Hessenberg form,
//! the complex Schur form by shifted QR iterations (Wilkinson shifts, Givens rotations, deflation),
//! and eigenvectors of the triangular factor by back-substitution. O(n^3); complex arithmetic
//! throughout, so complex-conjugate pairs need no special treatment.

use num_complex::Complex64 as C;

/// The principal square root (num-complex's needs its `std` feature, which would change the
/// features of the num-complex that burn's cubecl builds, and rebuild burn).
fn csqrt(z: C) -> C {
    let r = z.norm_sqr().sqrt();
    let re = ((r + z.re) / 2.0).max(0.0).sqrt();
    let im = ((r - z.re) / 2.0).max(0.0).sqrt();
    C::new(re, if z.im < 0.0 { -im } else { im })
}

/// Eigenvalues and unit eigenvectors (`vectors[k]` belongs to `values[k]`) of the real `n x n`
/// matrix `a` (row-major).
pub fn eigen_general(a: &[f64], n: usize) -> (Vec<C>, Vec<Vec<C>>) {
    assert_eq!(a.len(), n * n, "eigen_general: matrix is not n x n");
    let (h, q) = hessenberg(a, n, true);
    let mut t: Vec<C> = h.iter().map(|&x| C::new(x, 0.0)).collect();
    let mut z: Vec<C> = q.iter().map(|&x| C::new(x, 0.0)).collect();
    schur(&mut t, Some(&mut z), n);
    let norm = t.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    let small = f64::EPSILON * norm;
    let values: Vec<C> = (0..n).map(|k| t[k * n + k]).collect();
    let vectors = (0..n)
        .map(|k| {
            // (T - t_kk) y = 0 with y_k = 1, y_j = 0 for j > k.
            let mut y = vec![C::new(0.0, 0.0); k + 1];
            y[k] = C::new(1.0, 0.0);
            for i in (0..k).rev() {
                let s: C = (i + 1..=k).map(|j| t[i * n + j] * y[j]).sum();
                let mut d = t[i * n + i] - t[k * n + k];
                if d.norm_sqr().sqrt() < small {
                    d = C::new(small, 0.0);
                }
                y[i] = -s / d;
            }
            let mut v = vec![C::new(0.0, 0.0); n];
            for (j, yj) in y.iter().enumerate() {
                for (i, vi) in v.iter_mut().enumerate() {
                    *vi += z[i * n + j] * yj;
                }
            }
            let len = v.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt();
            v.iter().map(|x| x / len).collect()
        })
        .collect();
    (values, vectors)
}

/// The eigenvalues alone of the real `n x n` matrix `a` (row-major), in no particular order:
/// the same reduction without accumulating the transformations, and QR steps confined to the
/// unreduced block (several times faster than [`eigen_general`] for large n).
pub fn eigenvalues_general(a: &[f64], n: usize) -> Vec<C> {
    assert_eq!(a.len(), n * n, "eigenvalues_general: matrix is not n x n");
    let (h, _) = hessenberg(a, n, false);
    let mut t: Vec<C> = h.iter().map(|&x| C::new(x, 0.0)).collect();
    schur(&mut t, None, n);
    (0..n).map(|k| t[k * n + k]).collect()
}

/// `A = Q H Q^T` with `H` upper Hessenberg (Householder reflections), both row-major; `Q` is
/// accumulated only when `with_q` (else it is returned empty).
fn hessenberg(a: &[f64], n: usize, with_q: bool) -> (Vec<f64>, Vec<f64>) {
    let mut h = a.to_vec();
    let mut q = if with_q { vec![0.0; n * n] } else { Vec::new() };
    if with_q {
        (0..n).for_each(|i| q[i * n + i] = 1.0);
    }
    for k in 0..n.saturating_sub(2) {
        let mut v: Vec<f64> = (k + 1..n).map(|i| h[i * n + k]).collect();
        let alpha = -v[0].signum() * v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if alpha == 0.0 {
            continue;
        }
        v[0] -= alpha;
        let vn = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if vn == 0.0 {
            continue;
        }
        v.iter_mut().for_each(|x| *x /= vn);
        // H <- (I - 2 v v^T) H: rows k+1..n.
        for j in 0..n {
            let s: f64 = v.iter().enumerate().map(|(r, vr)| vr * h[(k + 1 + r) * n + j]).sum();
            v.iter().enumerate().for_each(|(r, vr)| h[(k + 1 + r) * n + j] -= 2.0 * vr * s);
        }
        // H <- H (I - 2 v v^T) and Q <- Q (I - 2 v v^T): columns k+1..n.
        for m in [&mut h, &mut q] {
            for i in 0..m.len() / n {
                let row = &mut m[i * n + k + 1..(i + 1) * n];
                let s: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
                row.iter_mut().zip(&v).for_each(|(a, b)| *a -= 2.0 * b * s);
            }
        }
    }
    (h, q)
}

/// Reduce the upper Hessenberg `t` to upper triangular (complex Schur) form in place,
/// accumulating the unitary transformations into `z`. Without `z` only the eigenvalues are
/// wanted: the rotations then touch the unreduced block alone, and `t` off the diagonal is not
/// the Schur factor.
fn schur(t: &mut [C], mut z: Option<&mut [C]>, n: usize) {
    let full = z.is_some();
    if n < 2 {
        return;
    }
    let norm = t.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    let eps = f64::EPSILON;
    let mut hi = n - 1;
    let mut iter = 0;
    let mut total = 0;
    while hi > 0 {
        // The start of the unreduced block that ends at `hi`.
        let mut l = hi;
        while l > 0 {
            let s = t[(l - 1) * n + l - 1].norm_sqr().sqrt() + t[l * n + l].norm_sqr().sqrt();
            let s = if s == 0.0 { norm } else { s };
            if t[l * n + l - 1].norm_sqr().sqrt() <= eps * s {
                t[l * n + l - 1] = C::new(0.0, 0.0);
                break;
            }
            l -= 1;
        }
        if l == hi {
            hi -= 1;
            iter = 0;
            continue;
        }
        iter += 1;
        total += 1;
        assert!(total < 100 * n, "eigen_general: the QR iterations did not converge");
        // Wilkinson shift: the eigenvalue of the trailing 2x2 block nearer its last entry;
        // an exceptional shift every 10 iterations without deflation.
        let (a, b, c, d) = (t[(hi - 1) * n + hi - 1], t[(hi - 1) * n + hi], t[hi * n + hi - 1], t[hi * n + hi]);
        let mu = if iter % 10 == 0 {
            d + C::new(t[hi * n + hi - 1].norm_sqr().sqrt() * 0.75, 0.0)
        } else {
            let half = (a - d) / 2.0;
            let root = csqrt(half * half + b * c);
            let (m1, m2) = ((a + d) / 2.0 + root, (a + d) / 2.0 - root);
            if (m1 - d).norm_sqr().sqrt() < (m2 - d).norm_sqr().sqrt() { m1 } else { m2 }
        };
        for i in l..=hi {
            t[i * n + i] -= mu;
        }
        let mut rot = Vec::with_capacity(hi - l);
        for k in l..hi {
            let (x, y) = (t[k * n + k], t[(k + 1) * n + k]);
            let r = (x.norm_sqr() + y.norm_sqr()).sqrt();
            let (cs, sn) = if r == 0.0 { (C::new(1.0, 0.0), C::new(0.0, 0.0)) } else { (x / r, y / r) };
            for j in k..if full { n } else { hi + 1 } {
                let (p, q) = (t[k * n + j], t[(k + 1) * n + j]);
                t[k * n + j] = cs.conj() * p + sn.conj() * q;
                t[(k + 1) * n + j] = -sn * p + cs * q;
            }
            rot.push((cs, sn));
        }
        for (k, &(cs, sn)) in (l..hi).zip(&rot) {
            for i in if full { 0 } else { l }..=(k + 2).min(hi) {
                let (p, q) = (t[i * n + k], t[i * n + k + 1]);
                t[i * n + k] = p * cs + q * sn;
                t[i * n + k + 1] = -p * sn.conj() + q * cs.conj();
            }
            if let Some(z) = z.as_deref_mut() {
                for i in 0..n {
                    let (p, q) = (z[i * n + k], z[i * n + k + 1]);
                    z[i * n + k] = p * cs + q * sn;
                    z[i * n + k + 1] = -p * sn.conj() + q * cs.conj();
                }
            }
        }
        for i in l..=hi {
            t[i * n + i] += mu;
        }
    }
}
