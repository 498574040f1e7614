//! A network's parameters as one flat host vector, for the instruments that work in weight space
//! (Hessian, flatness, slices, PCA). Order: layer 0 weight (row-major `[fan_in, fan_out]`),
//! layer 0 bias, layer 1 weight, ...

use burn::tensor::{Gradients, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tailgrad_model::{Mlp, replace_param};
use tailgrad_model::loss::read_f32s;

/// Which parameters an instrument looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Params {
    /// Every weight and bias.
    #[default]
    All,
    /// The weight matrix of one layer (0-based; layer 1 of 784-50-50-10 is the 50x50 one).
    Layer(usize),
}

impl Params {
    /// `None` means the whole network.
    pub fn from_layer(layer: Option<usize>) -> Self {
        layer.map_or(Params::All, Params::Layer)
    }

    /// The (layer, is_bias) tensors selected, checked against the model.
    fn tensors(self, model: &Mlp) -> Vec<(usize, bool)> {
        match self {
            Params::All => model
                .layers
                .iter()
                .enumerate()
                .flat_map(|(l, layer)| std::iter::once((l, false)).chain(layer.bias.is_some().then_some((l, true))))
                .collect(),
            Params::Layer(l) => {
                assert!(l < model.layers.len(), "layer {l} does not exist: the net has {} layers", model.layers.len());
                vec![(l, false)]
            }
        }
    }

    pub fn count(self, model: &Mlp) -> usize {
        self.tensors(model).iter().map(|&(l, bias)| shape(model, l, bias).iter().product::<usize>()).sum()
    }

    /// The selected parameters' values.
    pub fn get(self, model: &Mlp) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.count(model));
        for (l, bias) in self.tensors(model) {
            let layer = &model.layers[l];
            let values = if bias { read_f32s(layer.bias.as_ref().expect("bias").val()) } else { read_f32s(layer.weight.val()) };
            out.extend(values.iter().map(|&v| v as f64));
        }
        out
    }

    /// The model with the selected parameters set to `w` (the others untouched).
    pub fn set(self, mut model: Mlp, w: &[f64]) -> Mlp {
        assert_eq!(w.len(), self.count(&model), "parameter vector has the wrong length");
        let mut offset = 0;
        for (l, bias) in self.tensors(&model) {
            let dims = shape(&model, l, bias);
            let n: usize = dims.iter().product();
            let values: Vec<f32> = w[offset..offset + n].iter().map(|&v| v as f32).collect();
            offset += n;
            let layer = &mut model.layers[l];
            let device = layer.weight.val().device();
            if bias {
                let b = layer.bias.take().expect("bias");
                layer.bias = Some(replace_param(b, Tensor::from_data(TensorData::new(values, [n]), &device)));
            } else {
                let t = Tensor::from_data(TensorData::new(values, [dims[0], dims[1]]), &device);
                layer.weight = replace_param(layer.weight.clone(), t);
            }
        }
        model
    }

    /// A direction `v` in the space of the selected parameters as per-layer tensors on `device`:
    /// `(weight part, bias part)` of each layer (None where `v` does not move it).
    pub fn split(self, model: &Mlp, v: &[f64]) -> Vec<(Option<Tensor<2>>, Option<Tensor<1>>)> {
        assert_eq!(v.len(), self.count(model), "direction has the wrong length");
        let device = model.layers[0].weight.val().device();
        let mut out: Vec<(Option<Tensor<2>>, Option<Tensor<1>>)> = vec![(None, None); model.layers.len()];
        let mut offset = 0;
        for (l, bias) in self.tensors(model) {
            let dims = shape(model, l, bias);
            let n: usize = dims.iter().product();
            let values: Vec<f32> = v[offset..offset + n].iter().map(|&x| x as f32).collect();
            offset += n;
            if bias {
                out[l].1 = Some(Tensor::from_data(TensorData::new(values, [n]), &device));
            } else {
                out[l].0 = Some(Tensor::from_data(TensorData::new(values, [dims[0], dims[1]]), &device));
            }
        }
        out
    }

    /// Flatten per-layer `(weight, bias)` tensors (as [`Params::split`] gives them) back into the
    /// selected parameters' order; a missing part is zeros.
    pub fn join(self, model: &Mlp, parts: &[(Option<Tensor<2>>, Option<Tensor<1>>)]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.count(model));
        for (l, bias) in self.tensors(model) {
            let n: usize = shape(model, l, bias).iter().product();
            let values = if bias { parts[l].1.clone().map(read_f32s) } else { parts[l].0.clone().map(read_f32s) };
            match values {
                Some(v) => out.extend(v.iter().map(|&x| x as f64)),
                None => out.extend(std::iter::repeat_n(0.0, n)),
            }
        }
        out
    }

    /// The gradient of the selected parameters (zeros where a parameter got none).
    pub fn grad(self, model: &Mlp, grads: &Gradients) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.count(model));
        for (l, bias) in self.tensors(model) {
            let layer = &model.layers[l];
            let n: usize = shape(model, l, bias).iter().product();
            let g = if bias { layer.bias.as_ref().expect("bias").val().grad(grads).map(read_f32s) } else { layer.weight.val().grad(grads).map(read_f32s) };
            match g {
                Some(g) => out.extend(g.iter().map(|&v| v as f64)),
                None => out.extend(std::iter::repeat_n(0.0, n)),
            }
        }
        out
    }
}

fn shape(model: &Mlp, l: usize, bias: bool) -> Vec<usize> {
    let layer = &model.layers[l];
    if bias { layer.bias.as_ref().expect("bias").val().dims().to_vec() } else { layer.weight.val().dims().to_vec() }
}
