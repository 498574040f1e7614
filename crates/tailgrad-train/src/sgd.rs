//! Stochastic gradient descent with optional momentum and weight decay, written out plainly:
//! `g <- g + lambda w`; `v <- mu v + g` (v = g at the first step); `w <- w - lr v`.
//! At `mu = 0`, `lambda = 0` (the default, as in Qu et al. and Feng & Tu) this is `w <- w - lr g`.
//!
//! There is one step and one kind of momentum buffer for every network tailgrad trains: a run
//! alone is a population of one ([`StackedMlp`] with `P = 1`), so the update below is the only
//! one, applied to the stacked parameters, and [`Velocity`] holds the buffers stacked the same way.

use burn::tensor::{Gradients, Tensor, TensorData};
use tailgrad_model::StackedMlp;
use tailgrad_model::population::select_members;
use tailgrad_model::tensors_io::HostTensor;

/// The optimizer's settings: momentum `mu` and weight decay `lambda`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    pub momentum: f64,
    pub weight_decay: f64,
}

/// Momentum buffers stacked like a population's parameters: per layer, weights `[P, fan_in,
/// fan_out]` and biases `[P, fan_out]` (None before the first step, or without momentum). A run
/// alone holds `P = 1`.
#[derive(Clone)]
pub struct Velocity {
    weights: Vec<Option<Tensor<3>>>,
    biases: Vec<Option<Tensor<2>>>,
}

impl Sgd {
    pub fn new(momentum: f64, weight_decay: f64) -> Self {
        Self { momentum, weight_decay }
    }

    /// One step on every parameter of `net` that has a gradient in `grads` (each member's slice
    /// takes its own update: the members' losses are summed, so `grads` holds each one's own).
    pub fn step(&self, net: &mut StackedMlp, velocity: &mut Velocity, grads: &Gradients, lr: f64) {
        for (w, v) in net.weights.iter_mut().zip(&mut velocity.weights) {
            if let Some(g) = w.grad(grads) {
                *w = Tensor::from_inner(self.update(w.clone().inner(), g, v, lr)).require_grad();
            }
        }
        if let Some(biases) = net.biases.as_mut() {
            for (b, v) in biases.iter_mut().zip(&mut velocity.biases) {
                if let Some(g) = b.grad(grads) {
                    *b = Tensor::from_inner(self.update(b.clone().inner(), g, v, lr)).require_grad();
                }
            }
        }
    }

    /// The update of one parameter tensor `w` (without autodiff) with gradient `g`:
    /// `g <- g + lambda w`; `v <- mu v + g` (v = g at the first step); returns `w - lr v`.
    fn update<const D: usize>(&self, w: Tensor<D>, mut g: Tensor<D>, velocity: &mut Option<Tensor<D>>, lr: f64) -> Tensor<D> {
        if self.weight_decay > 0.0 {
            g = g + w.clone().mul_scalar(self.weight_decay);
        }
        if self.momentum > 0.0 {
            g = match velocity.take() {
                Some(prev) => prev.mul_scalar(self.momentum) + g,
                None => g,
            };
            *velocity = Some(g.clone());
        }
        w - g.mul_scalar(lr)
    }
}

impl Velocity {
    /// The empty buffers of a network of `layers` layers (before its first step).
    pub fn new(layers: usize) -> Velocity {
        Velocity { weights: vec![None; layers], biases: vec![None; layers] }
    }

    /// The members' buffers stacked in order; a layer's stays None until every member has one.
    pub fn stack(members: &[&Velocity]) -> Velocity {
        fn stacked<const D: usize>(slots: Vec<&[Option<Tensor<D>>]>) -> Vec<Option<Tensor<D>>> {
            (0..slots[0].len()).map(|l| slots.iter().map(|s| s[l].clone()).collect::<Option<Vec<_>>>().map(|vs| Tensor::cat(vs, 0))).collect()
        }
        Velocity {
            weights: stacked(members.iter().map(|v| v.weights.as_slice()).collect()),
            biases: stacked(members.iter().map(|v| v.biases.as_slice()).collect()),
        }
    }

    /// Member `p`'s buffers (a population of one).
    pub fn member(&self, p: usize) -> Velocity {
        Velocity {
            weights: self.weights.iter().map(|v| v.clone().map(|v| v.narrow(0, p, 1))).collect(),
            biases: self.biases.iter().map(|v| v.clone().map(|v| v.narrow(0, p, 1))).collect(),
        }
    }

    /// Keep only the members at indices `keep` (in that order).
    pub fn retain(&mut self, keep: &[usize]) {
        self.weights.iter_mut().for_each(|v| *v = v.take().map(|v| select_members(v, keep)));
        self.biases.iter_mut().for_each(|v| *v = v.take().map(|v| select_members(v, keep)));
    }

    /// The buffers of a population of one as host tensors, named `velocity.layers.<l>.weight|bias`
    /// with the shapes of the member's own parameters (`[fan_in, fan_out]`, `[fan_out]`).
    pub fn to_host(&self) -> Vec<HostTensor> {
        let mut out = Vec::new();
        for (l, v) in self.weights.iter().enumerate() {
            if let Some(v) = v {
                out.push(HostTensor::of(format!("velocity.layers.{l}.weight"), &v.clone().squeeze_dim::<2>(0)));
            }
        }
        for (l, v) in self.biases.iter().enumerate() {
            if let Some(v) = v {
                out.push(HostTensor::of(format!("velocity.layers.{l}.bias"), &v.clone().squeeze_dim::<1>(0)));
            }
        }
        out
    }

    /// The buffers saved by [`Velocity::to_host`] (other tensors are skipped), as a population of
    /// one on `device`, for a network of `layers` layers.
    pub fn from_host(tensors: &[HostTensor], layers: usize, device: &burn::tensor::Device) -> Result<Velocity, String> {
        let mut velocity = Velocity::new(layers);
        for t in tensors {
            let Some(rest) = t.name.strip_prefix("velocity.layers.") else { continue };
            let bad = || format!("tensor `{}` is not velocity.layers.<l>.weight|bias for l < {layers}", t.name);
            let (l, kind) = rest.split_once('.').ok_or_else(bad)?;
            let l: usize = l.parse().ok().filter(|&l| l < layers).ok_or_else(bad)?;
            let data = TensorData::new(t.values.clone(), t.shape.clone());
            match kind {
                "weight" => velocity.weights[l] = Some(Tensor::<2>::from_data(data, device).unsqueeze_dim(0)),
                "bias" => velocity.biases[l] = Some(Tensor::<1>::from_data(data, device).unsqueeze_dim(0)),
                _ => return Err(bad()),
            }
        }
        Ok(velocity)
    }
}
