//! Robustness of a network's predictions to input perturbations, the second computational claim
//! Qu et al. make for heavy-tailed networks: test accuracy under
//!
//! * **Gaussian input noise**: `x + sigma * z`, `z ~ N(0, I)` (seeded draws);
//! * **FGSM** (Goodfellow, Shlens & Szegedy, ICLR 2015): `x + eps * sign(grad_x L(x, y))`, L the
//!   cross-entropy, one gradient per input (the direction does not depend on eps).
//!
//! sigma and eps are in units of the network's input (the normalized pixels: for MNIST with the
//! standard normalization, a pixel-scale eps is eps / 0.3081 here); inputs are not clipped.
//!
//! For a two-class linear classifier with logit difference `m(x) = d . x + c` (`d = w_y - w_other`)
//! both have closed forms, the tests' known answers: FGSM moves the margin to `m - eps ||d||_1`, so
//! a correctly classified point flips exactly when `eps >= m / ||d||_1`; Gaussian noise makes the
//! margin `N(m, sigma^2 ||d||_2^2)`, so a point is classified correctly with probability
//! `Phi(m / (sigma ||d||_2))`.

mod figure;
mod probe;

pub use probe::INSTRUMENT;

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use tailgrad_model::Mlp;
use tailgrad_model::loss::{nll_sum_and_correct, per_sample_nll, read_i64s};

/// Rows per forward pass.
const CHUNK: usize = 2500;

/// Accuracy at each perturbation size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Curve {
    /// `(sigma or eps, accuracy)`.
    pub points: Vec<(f64, f64)>,
}

fn correct(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> i64 {
    read_i64s(nll_sum_and_correct(model.forward(x), y).1)[0]
}

/// `x` (`n x features`, row-major on the host) and `y` in chunks of [`CHUNK`] rows on `device`
/// (the data's device; the model may sit on its autodiff twin).
fn chunks<'a>(x: &'a [f32], y: &'a [i64], device: &'a Device) -> impl Iterator<Item = (Tensor<2>, Tensor<1, Int>)> + 'a {
    let features = x.len() / y.len();
    x.chunks(CHUNK * features).zip(y.chunks(CHUNK)).map(move |(xs, ys)| {
        (
            Tensor::<2>::from_data(TensorData::new(xs.to_vec(), [ys.len(), features]), device),
            Tensor::<1, Int>::from_data(TensorData::new(ys.to_vec(), [ys.len()]), device),
        )
    })
}

/// Accuracy on `x`, `y` with each chunk `k` perturbed by `perturb(k, x)`.
fn accuracy_of(model: &Mlp, x: &[f32], y: &[i64], device: &Device, perturb: impl Fn(usize, Tensor<2>) -> Tensor<2>) -> f64 {
    let hits: i64 = chunks(x, y, device).enumerate().map(|(k, (xt, yt))| correct(model, perturb(k, xt), yt)).sum();
    hits as f64 / y.len() as f64
}

/// Test accuracy under Gaussian input noise of each std in `sigmas`, averaged over `draws`
/// noise draws per input (seeded by `seed`); `x`, `y` on the host, sent to `device`.
pub fn gaussian_noise(model: &Mlp, x: &[f32], y: &[i64], device: &Device, sigmas: &[f64], draws: usize, seed: u64) -> Curve {
    let points = sigmas
        .iter()
        .map(|&sigma| {
            let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed ^ sigma.to_bits());
            let acc = (0..draws.max(1))
                .map(|_| {
                    let noisy: Vec<f32> = x.iter().map(|&v| v + (sigma * rng.sample::<f64, _>(rand_distr::StandardNormal)) as f32).collect();
                    accuracy_of(model, &noisy, y, device, |_, xt| xt)
                })
                .sum::<f64>()
                / draws.max(1) as f64;
            (sigma, acc)
        })
        .collect();
    Curve { points }
}

/// `sign(grad_x L(x, y))` of the summed cross-entropy, per input.
fn gradient_sign(model: &Mlp, x: Tensor<2>, y: Tensor<1, Int>) -> Tensor<2> {
    let x = x.autodiff().require_grad();
    let grads = per_sample_nll(model.forward(x.clone()), y).sum().backward();
    x.grad(&grads).expect("the input requires its gradient").sign()
}

/// Test accuracy under FGSM of each size in `eps`; `x`, `y` on the host, sent to `device`.
pub fn fgsm(model: &Mlp, x: &[f32], y: &[i64], device: &Device, eps: &[f64]) -> Curve {
    let signs: Vec<Tensor<2>> = chunks(x, y, device).map(|(xt, yt)| gradient_sign(model, xt, yt)).collect();
    let points = eps.iter().map(|&e| (e, accuracy_of(model, x, y, device, |k, xt| xt + signs[k].clone().mul_scalar(e)))).collect();
    Curve { points }
}
