//! The drift to flat minima on a real net (Yang, Tang & Tu's experiment): from one converged
//! point `w0`, continue with full-batch GD and with SGD at several (lr, B), and track the loss,
//! the Hessian's trace (Hutchinson) and its largest eigenvalue (Lanczos) along the way. GD at a
//! minimum stays put; SGD's noise, `lr^2 / B` times the per-sample covariance per step, carries the
//! weights toward flatter minima (lower `tr H` at the same loss), faster with stronger noise, and
//! where `lr lambda_max > 2` no minimum nearby is stable and training does not converge (the exact
//! laws of both on the `u v x` toy: [`super`]).

use crate::hessian::{self, SpectrumSpec};
use crate::linalg::axpy;
use crate::objective::Objective;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One continuation: SGD at `lr` with minibatches of `batch_size` drawn without replacement from
/// the n samples (`batch_size >= n`: full-batch GD).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Setting {
    pub lr: f64,
    pub batch_size: usize,
}

/// A record along a continuation.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct DriftPoint {
    pub step: usize,
    pub loss: f64,
    pub trace: f64,
    pub trace_stderr: f64,
    pub lambda_max: f64,
}

/// A continuation's records; `diverged` when the loss left 1000 times its start (or a finite value).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Continuation {
    pub lr: f64,
    pub batch_size: usize,
    /// Full-batch GD (batch size >= n).
    pub full_batch: bool,
    /// `lr / B`, the noise strength (0 for GD).
    pub noise: f64,
    pub points: Vec<DriftPoint>,
    pub diverged: bool,
}

/// How far and how finely.
#[derive(Clone, Debug)]
pub struct DriftSpec {
    pub steps: usize,
    pub every: usize,
    pub spectrum: SpectrumSpec,
}

/// Continue from `w0` with `setting`: `obj` is the loss over the n samples (GD's gradient, the
/// records), `batch_gradient(w, rows)` the mean loss's gradient over rows `rows` of them. Batches
/// come from `batches`, the spectra's random vectors from `probes` (two streams, so a setting's
/// batches do not depend on how often it is recorded).
pub fn continue_from<R: Rng, S: Rng>(
    obj: &mut dyn Objective,
    batch_gradient: &mut dyn FnMut(&[f64], &[usize]) -> Vec<f64>,
    w0: &[f64],
    population: usize,
    setting: Setting,
    spec: &DriftSpec,
    batches: &mut R,
    probes: &mut S,
) -> Continuation {
    let full_batch = setting.batch_size >= population;
    let mut record = |obj: &mut dyn Objective, w: &[f64], step: usize| {
        let loss = obj.value(w);
        let s = hessian::spectrum(obj, w, &spec.spectrum, probes);
        DriftPoint { step, loss, trace: s.trace, trace_stderr: s.trace_stderr, lambda_max: s.top.first().copied().unwrap_or(f64::NAN) }
    };
    let mut w = w0.to_vec();
    let mut points = vec![record(obj, &w, 0)];
    let start = points[0].loss;
    let mut diverged = false;
    for step in 1..=spec.steps {
        let g = if full_batch { obj.gradient(&w).1 } else { batch_gradient(&w, &rand::seq::index::sample(batches, population, setting.batch_size).into_vec()) };
        axpy(-setting.lr, &g, &mut w);
        if step % spec.every.max(1) == 0 || step == spec.steps {
            let p = if w.iter().all(|v| v.is_finite()) { Some(obj.value(&w)) } else { None };
            if p.is_none_or(|l| !l.is_finite() || l > 1e3 * start.max(1e-12)) {
                points.push(DriftPoint { step, loss: p.unwrap_or(f64::NAN), trace: f64::NAN, trace_stderr: f64::NAN, lambda_max: f64::NAN });
                diverged = true;
                break;
            }
            points.push(record(obj, &w, step));
        }
    }
    let noise = if full_batch { 0.0 } else { setting.lr / setting.batch_size as f64 };
    Continuation { lr: setting.lr, batch_size: setting.batch_size.min(population), full_batch, noise, points, diverged }
}
