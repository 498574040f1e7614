//! Stochastic gradient descent with optional momentum and weight decay, written out plainly:
//! `g <- g + lambda w`; `v <- mu v + g` (v = g at the first step); `w <- w - lr v`.
//! At `mu = 0`, `lambda = 0` (the default, as in Qu et al. and Feng & Tu) this is `w <- w - lr g`.

use burn::module::Param;
use burn::tensor::{Gradients, Tensor};
use tailgrad_model::tensors_io::HostTensor;
use tailgrad_model::{Mlp, replace_param};

/// The update of one parameter tensor `w` (without autodiff) with gradient `g`:
/// `g <- g + lambda w`; `v <- mu v + g` (v = g at the first step); returns `w - lr v`.
/// A population's stacked parameters take the same update, member by member.
pub fn sgd_update<const D: usize>(w: Tensor<D>, mut g: Tensor<D>, velocity: &mut Option<Tensor<D>>, momentum: f64, weight_decay: f64, lr: f64) -> Tensor<D> {
    if weight_decay > 0.0 {
        g = g + w.clone().mul_scalar(weight_decay);
    }
    if momentum > 0.0 {
        g = match velocity.take() {
            Some(prev) => prev.mul_scalar(momentum) + g,
            None => g,
        };
        *velocity = Some(g.clone());
    }
    w - g.mul_scalar(lr)
}

/// Momentum buffers, one per parameter (weights and biases of each layer).
#[derive(Default)]
pub struct Velocity {
    weights: Vec<Option<Tensor<2>>>,
    biases: Vec<Option<Tensor<1>>>,
}

pub struct Sgd {
    pub momentum: f64,
    pub weight_decay: f64,
    pub velocity: Velocity,
}

impl Sgd {
    pub fn new(momentum: f64, weight_decay: f64, layers: usize) -> Self {
        Self {
            momentum,
            weight_decay,
            velocity: Velocity { weights: vec![None; layers], biases: vec![None; layers] },
        }
    }

    /// One step on every parameter that has a gradient in `grads`.
    pub fn step(&mut self, model: &mut Mlp, grads: &Gradients, lr: f64) {
        for (l, layer) in model.layers.iter_mut().enumerate() {
            layer.weight = self.update(layer.weight.clone(), grads, l, lr, |v| &mut v.weights);
            if let Some(b) = layer.bias.take() {
                layer.bias = Some(self.update(b, grads, l, lr, |v| &mut v.biases));
            }
        }
    }

    fn update<const D: usize>(
        &mut self,
        param: Param<Tensor<D>>,
        grads: &Gradients,
        layer: usize,
        lr: f64,
        slot: impl Fn(&mut Velocity) -> &mut Vec<Option<Tensor<D>>>,
    ) -> Param<Tensor<D>> {
        let w = param.val();
        let Some(g) = w.grad(grads) else { return param };
        let velocity = &mut slot(&mut self.velocity)[layer];
        let next = sgd_update(w.inner(), g, velocity, self.momentum, self.weight_decay, lr);
        replace_param(param, next)
    }

    /// Member `p`'s momentum buffers taken from a population's stacked ones.
    pub fn set_velocity(&mut self, weights: Vec<Option<Tensor<2>>>, biases: Vec<Option<Tensor<1>>>) {
        self.velocity = Velocity { weights, biases };
    }

    /// The momentum buffers (None before the first step, or without momentum).
    pub fn velocity(&self) -> (&[Option<Tensor<2>>], &[Option<Tensor<1>>]) {
        (&self.velocity.weights, &self.velocity.biases)
    }

    /// The momentum buffers as host tensors, named `velocity.layers.<l>.weight|bias`.
    pub fn to_host(&self) -> Vec<HostTensor> {
        let mut out = Vec::new();
        for (l, v) in self.velocity.weights.iter().enumerate() {
            if let Some(v) = v {
                out.push(HostTensor::of(format!("velocity.layers.{l}.weight"), v));
            }
        }
        for (l, v) in self.velocity.biases.iter().enumerate() {
            if let Some(v) = v {
                out.push(HostTensor::of(format!("velocity.layers.{l}.bias"), v));
            }
        }
        out
    }

    /// Restore momentum buffers saved by [`Sgd::to_host`] onto `device`.
    pub fn load_host(&mut self, tensors: &[HostTensor], device: &burn::tensor::Device) {
        use burn::tensor::TensorData;
        for t in tensors {
            let Some(rest) = t.name.strip_prefix("velocity.layers.") else { continue };
            let (l, kind) = rest.split_once('.').expect("velocity names are velocity.layers.<l>.<kind>");
            let l: usize = l.parse().expect("layer index");
            let data = TensorData::new(t.values.clone(), t.shape.clone());
            match kind {
                "weight" => self.velocity.weights[l] = Some(Tensor::from_data(data, device)),
                _ => self.velocity.biases[l] = Some(Tensor::from_data(data, device)),
            }
        }
    }
}
