use super::*;
use crate::variance_flatness::{Flatness, Protocol, analyse, flatness, psi_fit, rank_fit};

#[test]
fn trajectory_pca_recovers_planted_variances_by_lanczos_and_densely() {
    let n = 40;
    let variances: Vec<f64> = (1..=n).map(|i| 1.0 / (i * i) as f64).collect();
    let q = orthogonal(n, 11);
    let traj = planted_trajectory(&variances, &q, 4000, 12);
    // 8 of 40 components: Lanczos; 30 of 40: the dense covariance.
    for k in [8, 30] {
        let p = variance_flatness::pca(&traj, k, 0);
        for i in 0..8 {
            let rel = (p.variances[i] - variances[i]).abs() / variances[i];
            assert!(rel < 0.1, "k = {k}, variance {i}: {} vs {}", p.variances[i], variances[i]);
        }
        for i in 0..3 {
            assert!(dot(&p.directions[i], &q[i]).abs() > 0.98, "k = {k}, direction {i}");
        }
    }
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
fn the_rank_fit_recovers_a_planted_gamma() {
    // sigma_i^2 = 3 (i + 1)^-2.5 for the components 0, 10, 20, ..., 990 (rank = index + 1).
    let components: Vec<usize> = (0..100).map(|j| 10 * j).collect();
    let variances: Vec<f64> = components.iter().map(|&i| 3.0 * ((i + 1) as f64).powf(-2.5)).collect();
    let fit = rank_fit(&components, &variances).unwrap();
    assert!((fit.slope + 2.5).abs() < 1e-9 && (fit.intercept - 3f64.ln()).abs() < 1e-9, "{fit:?}");
    // Against the 0-based index instead of the rank, the same data fit no line.
    let shifted: Vec<usize> = components.iter().map(|i| i + 1).collect();
    let wrong = rank_fit(&shifted, &variances).unwrap();
    assert!((wrong.slope + 2.5).abs() > 0.1 || wrong.r2 < 0.999, "{wrong:?}");
    assert!(rank_fit(&[0, 1], &[1.0, 0.5]).is_none());
}

#[test]
fn flatness_of_a_quadratic_a_capped_flat_direction_and_a_planted_inverse_relation() {
    // L = c + (1/2) sum lambda_i theta_i^2: the loss reaches e c at theta = sqrt(2 c (e - 1) / lambda).
    let mut lambdas: Vec<f64> = (0..12).map(|i| 4f64.powf(-(i as f64) / 3.0) * 10.0).collect();
    lambdas[11] = 0.0; // one exactly flat direction
    let (mut quad, q) = Quadratic::new(&lambdas, 0.5, 21);
    let w0 = vec![0.0; 12];
    let e = std::f64::consts::E;
    for (l, d) in lambdas.iter().zip(&q).take(3) {
        let f = flatness(&mut quad, &w0, 0.5, d, e, 1e-4, 1000.0, 1100.0);
        let want = (2.0 * 0.5 * (e - 1.0) / l).sqrt();
        assert!((f.theta_right - want).abs() < 1e-3 * want && (f.theta_left + want).abs() < 1e-3 * want && !f.capped);
    }
    let flat = flatness(&mut quad, &w0, 0.5, &q[11], e, 1e-4, 1000.0, 1100.0);
    assert!(flat.capped && flat.width == 1100.0 && flat.theta_right == 1000.0, "the authors' width for a capped direction: {flat:?}");
    // Plant sigma_i^2 = lambda_i^2: F ~ lambda^(-1/2) so sigma^2 ~ F^-4, psi = 4; the flat
    // direction, capped, stays in the fit (variance 0 -> left out of the log fit).
    let variances: Vec<f64> = lambdas.iter().map(|l| (l * l * 1e-4).max(1e-14)).collect();
    let traj = planted_trajectory(&variances, &q, 6000, 22);
    let protocol = Protocol { directions: 11, stride: 1, factor: e, max_theta: 1000.0, capped_width: 1100.0 };
    let (vf, _) = analyse(&mut quad, &w0, &traj, 1, &protocol, 0);
    assert_eq!(vf.components, (0..11).collect::<Vec<_>>());
    assert!((vf.psi - 4.0).abs() < 0.3 && vf.psi_ci95 < 0.5, "psi = {} +- {}", vf.psi, vf.psi_ci95);
    // sigma_i^2 = lambda_i^2 1e-4 with lambda_i = 10 4^(-i/3): log sigma^2 is linear in i, not in
    // log(i + 1); the rank fit reports the slope of the planted variances against log rank over
    // components 1..10 (the first, the drift mode, left out): gamma = 4.91 here. Fitting against
    // the 0-based index, or with component 0 in, gives 3.63 or 3.90.
    let planted = rank_fit(&vf.components[1..], &variances[1..11]).unwrap();
    assert!((vf.gamma + planted.slope).abs() < 0.1, "gamma {} vs planted {}", vf.gamma, -planted.slope);
}

#[test]
fn a_direction_capped_on_one_side_takes_the_authors_width_and_stays_in_the_fit() {
    // Issue 22, item 4: a side that never crossed made the width max_theta + the other side
    // (1000.5 here); the authors' code returns 1100 for the whole width. L = c + (1/2) lambda
    // theta^2 for theta > 0 only (flat for theta < 0): the right side crosses, the left never.
    struct HalfFlat;
    impl crate::objective::Objective for HalfFlat {
        fn dim(&self) -> usize {
            1
        }
        fn value(&mut self, w: &[f64]) -> f64 {
            0.5 + 0.5 * 8.0 * w[0].max(0.0).powi(2)
        }
        fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>) {
            (self.value(w), vec![8.0 * w[0].max(0.0)])
        }
    }
    let e = std::f64::consts::E;
    let f = flatness(&mut HalfFlat, &[0.0], 0.5, &[1.0], e, 1e-6, 1000.0, 1100.0);
    let right = (2.0 * 0.5 * (e - 1.0) / 8.0f64).sqrt();
    assert!((f.theta_right - right).abs() < 1e-5 && f.theta_left == -1000.0 && f.capped, "{f:?}");
    assert_eq!(f.width, 1100.0);
    // A fit over widths 2, 4, ..., 64 and one capped direction, with variances planted as
    // sigma^2 = F^-2 at the authors' widths (the capped one at 1100): psi = 2 exactly. Had the
    // capped width been max_theta + its other side (1000.5), the fit would bend.
    let widths = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
    let mut flat: Vec<Flatness> = widths.iter().map(|&w| Flatness { theta_left: -w / 2.0, theta_right: w / 2.0, width: w, capped: false }).collect();
    flat.push(f);
    let variances: Vec<f64> = flat.iter().map(|f| f.width.powi(-2)).collect();
    let fit = psi_fit(&flat, &variances).unwrap();
    assert!((fit.slope + 2.0).abs() < 1e-12, "{fit:?}");
    let mut old = flat.clone();
    old.last_mut().unwrap().width = 1000.0 + right;
    let bent = psi_fit(&old, &variances).unwrap();
    assert!((bent.slope + 2.0).abs() > 0.01, "{bent:?}");
}
