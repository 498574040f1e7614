use super::*;

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
fn line_fit_standard_errors_by_hand() {
    // x = 0..3, y = (1, 3, 2, 5): slope 1.1, intercept 1.1, SSE 2.7, s^2 = 1.35, Sxx = 5:
    // se(slope)^2 = 1.35 / 5, se(intercept)^2 = 1.35 (1/4 + 1.5^2 / 5) = 0.945.
    let fit = linalg::fit_line(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 5.0]);
    assert!((fit.slope - 1.1).abs() < 1e-12 && (fit.intercept - 1.1).abs() < 1e-12);
    assert!((fit.slope_stderr - 0.27f64.sqrt()).abs() < 1e-12 && (fit.intercept_stderr - 0.945f64.sqrt()).abs() < 1e-12, "{fit:?}");
}

#[test]
fn general_eigen_decomposition_of_non_symmetric_matrices() {
    use crate::linalg::eigen_general;
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
