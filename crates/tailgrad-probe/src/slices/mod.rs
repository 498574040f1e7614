//! Loss-landscape slices (Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss
//! landscape of neural nets"): `L(w0 + a d1)` and `L(w0 + a d1 + b d2)` along random directions
//! that are *filter-normalized* — each neuron's incoming weights in `d` are rescaled to the norm
//! of that neuron's weights in `w0` (`d_j <- d_j |w0_j| / |d_j|`), biases set to zero — or along
//! given directions (e.g. the trajectory's principal components).

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use crate::linalg::axpy;
use crate::objective::Objective;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use tailgrad_model::Mlp;

/// A filter-normalized Gaussian direction in the space of all parameters (`Params::All` order).
pub fn filter_normalized<R: Rng>(model: &Mlp, rng: &mut R) -> Vec<f64> {
    let w = crate::params::Params::All.get(model);
    let mut d = Vec::with_capacity(w.len());
    let mut offset = 0;
    for layer in &model.layers {
        let [fan_in, fan_out] = layer.weight.val().dims();
        let block = &w[offset..offset + fan_in * fan_out];
        let mut dir: Vec<f64> = (0..block.len()).map(|_| rng.sample(rand_distr::StandardNormal)).collect();
        for k in 0..fan_out {
            // Neuron k's incoming weights are column k of the [fan_in, fan_out] matrix.
            let col = |v: &[f64]| (0..fan_in).map(|j| v[j * fan_out + k].powi(2)).sum::<f64>().sqrt();
            let scale = col(block) / col(&dir).max(1e-300);
            (0..fan_in).for_each(|j| dir[j * fan_out + k] *= scale);
        }
        d.extend(dir);
        offset += fan_in * fan_out;
        if layer.bias.is_some() {
            d.extend(std::iter::repeat_n(0.0, fan_out));
            offset += fan_out;
        }
    }
    d
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Slice {
    pub alphas: Vec<f64>,
    /// Empty for a 1-D slice.
    pub betas: Vec<f64>,
    /// `loss[i]` (1-D) or `loss[i * betas.len() + j]` (2-D).
    pub loss: Vec<f64>,
}

/// `L(w0 + a d1)` for each `a`, or `L(w0 + a d1 + b d2)` on the grid when `d2` is given.
pub fn slice(obj: &mut dyn Objective, w0: &[f64], d1: &[f64], d2: Option<&[f64]>, alphas: &[f64], betas: &[f64]) -> Slice {
    let mut loss = Vec::new();
    for &a in alphas {
        let mut w = w0.to_vec();
        axpy(a, d1, &mut w);
        match d2 {
            None => loss.push(obj.value(&w)),
            Some(d2) => {
                for &b in betas {
                    let mut wb = w.clone();
                    axpy(b, d2, &mut wb);
                    loss.push(obj.value(&wb));
                }
            }
        }
    }
    Slice { alphas: alphas.to_vec(), betas: if d2.is_some() { betas.to_vec() } else { vec![] }, loss }
}

/// `n` evenly spaced values from `-span` to `span`.
pub fn grid(span: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| -span + 2.0 * span * i as f64 / (n.max(2) - 1) as f64).collect()
}
