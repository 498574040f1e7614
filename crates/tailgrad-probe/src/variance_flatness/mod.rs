//! The inverse variance-flatness relation (Feng & Tu, PNAS 2021, "The inverse variance-flatness
//! relation in stochastic gradient descent is critical for finding flat minima").
//!
//! 1. Record one layer's weights before every SGD step over a window late in training
//!    ([`Trajectory`]; the authors: the last 12,000 steps of training to a loss below 5e-5).
//! 2. Centered PCA of the trajectory: variances `sigma_i^2` (normalized by T; sklearn's PCA, which
//!    the authors use, by T - 1) and unit directions `p_i` ([`pca`]: Lanczos on the implicit
//!    covariance `C v = X_c^T (X_c v) / T` for a few components, the dense covariance and its full
//!    eigen-decomposition when many are needed).
//! 3. Flatness along `p_i` from the final weights `w0`: `F_i = theta_r - theta_l`, where
//!    `L(w0 + theta p_i) = e L(w0)` (full training-set loss; bracketing by doubling, then
//!    bisection) ([`flatness`]). When a side stays below `e L(w0)` up to `max_theta` the
//!    direction's whole width is `capped_width`, as the authors' `binary_search_loss_bound`
//!    (YuFengDuke/PCA-SGD, utils_flatness.py) returns 1100 as soon as either side has not crossed
//!    by `theta` = 1000; so flat directions stay in the fit instead of being dropped, at the
//!    authors' value.
//! 4. Fits `sigma_i^2 ~ F_i^(-psi)` over the chosen directions but the first (the drift mode) and
//!    `sigma_i^2 ~ i^(-gamma)` over the same ranks. The authors (YuFengDuke/PCA-SGD) take the
//!    components 0, 10, 20, ..., 990 of the top 1000. The paper reports psi > 0 (an *inverse*
//!    relation; equilibrium physics would give the opposite sign) and gamma ~ 2-3.

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::{self, LineFit, fit_line};
use crate::objective::Objective;
use anyhow::{Context, bail};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// `T` snapshots of a `dim`-vector (row-major f32).
#[derive(Clone, Debug, Default)]
pub struct Trajectory {
    pub dim: usize,
    pub snapshots: Vec<f32>,
}

const MAGIC: &[u8; 8] = b"TGTRAJ1\0";

impl Trajectory {
    pub fn new(dim: usize) -> Self {
        Self { dim, snapshots: Vec::new() }
    }

    pub fn push(&mut self, w: &[f64]) {
        assert_eq!(w.len(), self.dim, "snapshot has the wrong length");
        self.snapshots.extend(w.iter().map(|&v| v as f32));
    }

    pub fn len(&self) -> usize {
        self.snapshots.len() / self.dim.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keep the first `count` snapshots.
    pub fn truncate(&mut self, count: usize) {
        self.snapshots.truncate(count * self.dim);
    }

    /// Append snapshot `w` to the trajectory file at `path` (written by [`Trajectory::save`]) and
    /// then raise its count, so a run killed mid-window keeps every snapshot taken so far. A
    /// snapshot cut short by the kill lies past the count and is overwritten by the next one.
    pub fn append_to_file(path: &Path, w: &[f64]) -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut header = [0u8; 24];
        f.read_exact(&mut header).with_context(|| format!("reading {}", path.display()))?;
        let dim = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes")) as usize;
        let count = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        if &header[..8] != MAGIC || dim != w.len() {
            bail!("{}: not a trajectory of {}-vectors", path.display(), w.len());
        }
        let bytes: Vec<u8> = w.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
        f.seek(SeekFrom::Start(24 + 4 * dim as u64 * count))
            .and_then(|_| f.write_all(&bytes))
            .and_then(|_| f.seek(SeekFrom::Start(16)))
            .and_then(|_| f.write_all(&(count + 1).to_le_bytes()))
            .with_context(|| format!("appending to {}", path.display()))
    }

    /// Raw file: magic `TGTRAJ1\0`, dim and count as u64 little-endian, then f32 little-endian.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = Vec::with_capacity(24 + 4 * self.snapshots.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(self.dim as u64).to_le_bytes());
        bytes.extend_from_slice(&(self.len() as u64).to_le_bytes());
        self.snapshots.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        let tmp = path.with_extension("partial");
        std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(&bytes))
            .and_then(|_| std::fs::rename(&tmp, path))
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", path.display()))?;
        if bytes.len() < 24 || &bytes[..8] != MAGIC {
            bail!("{}: not a tailgrad trajectory (expected the magic TGTRAJ1)", path.display());
        }
        let dim = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
        let count = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")) as usize;
        let body = &bytes[24..];
        if body.len() < 4 * dim * count {
            bail!("{}: header says {count} x {dim} values but the file holds {} bytes of data", path.display(), body.len());
        }
        // Bytes past the count are a snapshot that a killed run did not finish appending.
        let snapshots = body[..4 * dim * count].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        Ok(Self { dim, snapshots })
    }
}

/// Leading principal components of a trajectory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pca {
    pub mean: Vec<f64>,
    /// `sigma_i^2`, descending.
    pub variances: Vec<f64>,
    pub directions: Vec<Vec<f64>>,
    /// `tr C`: the total variance, so `variances / total` is the explained fraction.
    pub total_variance: f64,
}

/// The top-`k` principal components of `traj` (covariance normalized by T): by Lanczos on the
/// implicit covariance when `k` is a small part of the dimension, else from the dense covariance.
pub fn pca(traj: &Trajectory, k: usize, seed: u64) -> Pca {
    let (t, d) = (traj.len(), traj.dim);
    assert!(t >= 2, "PCA needs at least two snapshots");
    let mut mean = vec![0.0; d];
    for row in traj.snapshots.chunks(d) {
        mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= t as f64);
    let centered: Vec<f64> = traj.snapshots.chunks(d).flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| v as f64 - m)).collect();
    let total_variance = centered.iter().map(|x| x * x).sum::<f64>() / t as f64;
    let k = k.min(d).min(t - 1);
    let (variances, directions) = if 4 * k > d {
        let eig = linalg::sym_eigen(&linalg::gram(&centered, t, d, 1.0 / t as f64), d);
        (0..k).map(|j| (eig.values[d - 1 - j], eig.vectors[d - 1 - j].clone())).unzip()
    } else {
        let mut op = |v: &[f64]| {
            let mut out = vec![0.0; d];
            for row in centered.chunks(d) {
                let c = linalg::dot(row, v) / t as f64;
                linalg::axpy(c, row, &mut out);
            }
            out
        };
        let steps = (3 * k).max(k + 40).min(d);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        linalg::top_eigenpairs(&mut op, d, k, steps, &mut rng)
    };
    Pca { mean, variances, directions, total_variance }
}

/// Where the loss along `dir` from `w0` first reaches `factor * L(w0)` on each side.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flatness {
    pub theta_left: f64,
    pub theta_right: f64,
    /// `F = theta_right - theta_left`, or `capped_width` when a side was capped.
    pub width: f64,
    /// Whether a side never reached the target within `max_theta` (its theta is then
    /// `max_theta`, and the width `capped_width`).
    pub capped: bool,
}

/// `F` along unit direction `dir` (relative bisection tolerance `tol`); a side that has not
/// crossed by `max_theta` stops there, and the width is then `capped_width`.
#[allow(clippy::too_many_arguments)]
pub fn flatness(obj: &mut dyn Objective, w0: &[f64], l0: f64, dir: &[f64], factor: f64, tol: f64, max_theta: f64, capped_width: f64) -> Flatness {
    let target = factor * l0;
    let mut loss_at = |theta: f64| {
        let w: Vec<f64> = w0.iter().zip(dir).map(|(a, b)| a + theta * b).collect();
        obj.value(&w)
    };
    // Returns the crossing, or None when the loss stays below the target up to max_theta.
    let mut crossing = |sign: f64| -> Option<f64> {
        let (mut lo, mut hi) = (0.0, (1e-2f64).min(max_theta));
        while loss_at(sign * hi) < target {
            if hi >= max_theta {
                return None;
            }
            lo = hi;
            hi = (2.0 * hi).min(max_theta);
        }
        while (hi - lo) > tol * hi {
            let mid = 0.5 * (lo + hi);
            if loss_at(sign * mid) < target { lo = mid } else { hi = mid }
        }
        Some(0.5 * (lo + hi))
    };
    let (right, left) = (crossing(1.0), crossing(-1.0));
    let capped = right.is_none() || left.is_none();
    let (right, left) = (right.unwrap_or(max_theta), -left.unwrap_or(max_theta));
    Flatness { theta_left: left, theta_right: right, width: if capped { capped_width } else { right - left }, capped }
}

/// The probe's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VarianceFlatness {
    pub layer: usize,
    pub snapshots: usize,
    pub loss0: f64,
    pub factor: f64,
    pub max_theta: f64,
    /// The principal components measured (0 = the largest variance).
    pub components: Vec<usize>,
    pub variances: Vec<f64>,
    pub explained_fraction: Vec<f64>,
    pub flatness: Vec<Flatness>,
    /// `log sigma^2 = c - psi log F` over the components but the first: `psi = -slope`.
    pub psi: f64,
    pub psi_ci95: f64,
    pub psi_fit: Option<LineFit>,
    /// `log sigma^2 = c - gamma log(i + 1)` over the same components (i + 1 = rank).
    pub gamma: f64,
    pub gamma_fit: Option<LineFit>,
}

/// Which components, how flatness is measured.
#[derive(Clone, Debug)]
pub struct Protocol {
    /// How many components (0, stride, 2 stride, ...).
    pub directions: usize,
    pub stride: usize,
    /// `L(w0 + theta p) = factor L(w0)` defines the width.
    pub factor: f64,
    /// A side that has not crossed by this `theta` ends the search...
    pub max_theta: f64,
    /// ... and the direction's width is then this (the authors: 1100 for max_theta = 1000).
    pub capped_width: f64,
}

/// `log sigma^2 = c - psi log F` over the directions but the first (the drift mode); capped
/// directions enter at their `capped_width`. `None` for fewer than 3 usable points.
pub fn psi_fit(flat: &[Flatness], variances: &[f64]) -> Option<LineFit> {
    let pairs: Vec<(f64, f64)> =
        flat.iter().zip(variances).skip(1).filter(|(f, v)| f.width > 0.0 && **v > 0.0).map(|(f, v)| (f.width.ln(), v.ln())).collect();
    (pairs.len() >= 3).then(|| {
        let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        fit_line(&x, &y)
    })
}

/// `sigma^2 ~ rank^(-gamma)`: fit `log sigma_i^2` against `log(i + 1)` for the given (0-based)
/// components, `-slope` being gamma. `None` for fewer than 3 positive variances.
pub fn rank_fit(components: &[usize], variances: &[f64]) -> Option<LineFit> {
    let (x, y): (Vec<f64>, Vec<f64>) =
        components.iter().zip(variances).filter(|(_, v)| **v > 0.0).map(|(&i, v)| (((i + 1) as f64).ln(), v.ln())).unzip();
    (x.len() >= 3).then(|| fit_line(&x, &y))
}

/// PCA of `traj` then flatness along its components `0, stride, ...` around `w0` (the final
/// weights of the same layer, on the full-training-set loss `obj`). The PCA comes back too, for
/// callers that need its directions (e.g. the noise temperature along each of them).
pub fn analyse(obj: &mut dyn Objective, w0: &[f64], traj: &Trajectory, layer: usize, protocol: &Protocol, seed: u64) -> (VarianceFlatness, Pca) {
    let wanted = (protocol.directions.max(1) - 1) * protocol.stride.max(1) + 1;
    let p = pca(traj, wanted, seed);
    let components: Vec<usize> = (0..protocol.directions).map(|j| j * protocol.stride.max(1)).filter(|&i| i < p.variances.len()).collect();
    let variances: Vec<f64> = components.iter().map(|&i| p.variances[i]).collect();
    let loss0 = obj.value(w0);
    let flat: Vec<Flatness> = components
        .iter()
        .map(|&i| flatness(obj, w0, loss0, &p.directions[i], protocol.factor, 1e-2, protocol.max_theta, protocol.capped_width))
        .collect();
    let psi_fit = psi_fit(&flat, &variances);
    let gamma_fit = rank_fit(&components[1.min(components.len())..], &variances[1.min(variances.len())..]);
    let vf = VarianceFlatness {
        layer,
        snapshots: traj.len(),
        loss0,
        factor: protocol.factor,
        max_theta: protocol.max_theta,
        explained_fraction: variances.iter().map(|v| v / p.total_variance).collect(),
        components,
        variances,
        flatness: flat,
        psi: psi_fit.as_ref().map_or(f64::NAN, |f| -f.slope),
        psi_ci95: psi_fit.as_ref().map_or(f64::NAN, |f| f.slope_ci95),
        psi_fit,
        gamma: gamma_fit.as_ref().map_or(f64::NAN, |f| -f.slope),
        gamma_fit,
    };
    (vf, p)
}
