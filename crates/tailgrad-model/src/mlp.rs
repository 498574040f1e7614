//! The fully connected network.

use crate::tensors_io::{self, HostTensor};
use crate::{Activation, MlpSpec, ModelError};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::HashMap;
use std::path::Path;

/// `h^1 = W^1 x`, `h^(l+1) = W^(l+1) phi(h^l)` (+ biases when enabled); the last `h` are logits.
/// Weights are stored as burn stores them, `[fan_in, fan_out]`, so `h = x W`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    #[module(skip)]
    pub activation: Activation,
}

/// Per-layer signals of one forward pass: `pre[l] = h^(l+1)` (pre-activations; the last is the
/// logits) and `post[l] = phi(pre[l])` for the hidden layers.
pub struct Trace {
    pub pre: Vec<Tensor<2>>,
    pub post: Vec<Tensor<2>>,
}

impl Mlp {
    /// A new network: layer `l`'s weights drawn on the host from `spec.init_of(l)` with one
    /// generator seeded by `seed` (layers in order), biases zero. On an autodiff device the
    /// parameters require gradients.
    pub fn init(spec: &MlpSpec, seed: u64, device: &Device) -> Result<Self, ModelError> {
        spec.check_sizes()?;
        let mut rng = tailgrad_init::rng(seed);
        let widths = spec.widths();
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(l, pair)| {
                let (fan_in, fan_out) = (pair[0], pair[1]);
                let values = spec.init_of(l).sample(fan_in, fan_out, &mut rng);
                let weight = Tensor::from_data(TensorData::new(values, [fan_in, fan_out]), device);
                Linear {
                    weight: Param::from_tensor(weight),
                    bias: spec.bias().then(|| Param::from_tensor(Tensor::zeros([fan_out], device))),
                }
            })
            .collect();
        Ok(Self { layers, activation: spec.activation() })
    }

    /// Layer widths `[input, hidden.., classes]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.layers[0].weight.val().dims()[0]];
        w.extend(self.layers.iter().map(|l| l.weight.val().dims()[1]));
        w
    }

    /// Logits for a batch `x` of shape `[batch, input]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |h, (l, layer)| {
            let out = layer.forward(h);
            if l == last { out } else { self.activation.apply(out) }
        })
    }

    /// The forward pass with every layer's pre-activation and activation kept.
    pub fn forward_trace(&self, x: Tensor<2>) -> Trace {
        let mut trace = Trace { pre: Vec::new(), post: Vec::new() };
        let mut h = x;
        for (l, layer) in self.layers.iter().enumerate() {
            let pre = layer.forward(h);
            trace.pre.push(pre.clone());
            if l + 1 == self.layers.len() {
                break;
            }
            h = self.activation.apply(pre);
            trace.post.push(h.clone());
        }
        trace
    }

    /// All parameters copied to the host, named `layers.<l>.weight` / `layers.<l>.bias`.
    pub fn to_host(&self) -> Vec<HostTensor> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            out.push(HostTensor::of(format!("layers.{l}.weight"), &layer.weight.val()));
            if let Some(b) = &layer.bias {
                out.push(HostTensor::of(format!("layers.{l}.bias"), &b.val()));
            }
        }
        out
    }

    /// Replace every parameter by the host values in `tensors` (as produced by [`Mlp::to_host`]).
    pub fn load_host(mut self, tensors: &[HostTensor]) -> Result<Self, String> {
        let by_name: HashMap<&str, &HostTensor> = tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        let take = |name: String, shape: Vec<usize>| -> Result<TensorData, String> {
            let t = by_name.get(name.as_str()).ok_or_else(|| format!("missing tensor `{name}`"))?;
            if t.shape != shape {
                return Err(format!("tensor `{name}` has shape {:?}, expected {shape:?}", t.shape));
            }
            Ok(TensorData::new(t.values.clone(), shape))
        };
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let device = layer.weight.val().device();
            let data = take(format!("layers.{l}.weight"), layer.weight.val().dims().to_vec())?;
            layer.weight = replace_param(layer.weight.clone(), Tensor::from_data(data, &device));
            if let Some(b) = layer.bias.take() {
                let data = take(format!("layers.{l}.bias"), b.val().dims().to_vec())?;
                layer.bias = Some(replace_param(b, Tensor::from_data(data, &device)));
            }
        }
        Ok(self)
    }

    /// Save the weights and the spec (as JSON in the metadata) to a safetensors file.
    pub fn save(&self, spec: &MlpSpec, path: &Path) -> Result<(), ModelError> {
        let spec_json = serde_json::to_string(spec).expect("an MlpSpec always serializes");
        tensors_io::save(path, &self.to_host(), HashMap::from([("spec".to_string(), spec_json)]))
    }

    /// Load a network saved by [`Mlp::save`] onto `device`.
    pub fn load(path: &Path, device: &Device) -> Result<(Self, MlpSpec), ModelError> {
        let (tensors, meta) = tensors_io::load(path)?;
        let problem = |p: String| ModelError::File { path: path.display().to_string(), problem: p };
        let spec_text = meta.get("spec").ok_or_else(|| problem("no `spec` in the metadata".into()))?;
        let spec: MlpSpec = serde_json::from_str(spec_text).map_err(|e| problem(format!("bad spec: {e}")))?;
        let model = Self::init(&spec, 0, device)?.load_host(&tensors).map_err(problem)?;
        Ok((model, spec))
    }
}

/// A parameter with a new value, keeping its id (the optimizer's and the gradients' key) and its
/// autodiff setting.
pub fn replace_param<const D: usize>(param: Param<Tensor<D>>, value: Tensor<D>) -> Param<Tensor<D>> {
    let (id, old, mapper) = param.consume();
    let value = if old.is_autodiff() { value.autodiff().require_grad() } else { value };
    Param::from_mapped_value(id, value, mapper)
}
