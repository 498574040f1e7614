//! The loss as a function of a flat parameter vector: the interface the weight-space instruments
//! (Hessian, flatness, slices) are written against, so they can be tested on functions with known
//! answers (a quadratic) and run on real networks alike.

use crate::params::Params;
use burn::module::Module;
use burn::tensor::{Int, Tensor};
use tailgrad_data::{DeviceSplit, RowBlocks};
use tailgrad_model::Mlp;
use tailgrad_train::objective::{nll_sum_and_correct, read_f32s};

/// A scalar loss `L(w)` and its gradient.
pub trait Objective {
    fn dim(&self) -> usize;
    fn value(&mut self, w: &[f64]) -> f64;
    /// `(L(w), grad L(w))`.
    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>);
}

/// The mean cross-entropy of an `Mlp` on a whole split (full batch), as a function of the
/// parameters selected by `params`; the others stay at the model's values. Evaluated on the
/// model's device in chunks of `chunk` samples (values without autodiff).
///
/// When only layer `l >= 1` varies, the activations entering it are computed once and every
/// evaluation starts there: for the 50x50 layer of 784-50-50-10 that skips ~95% of the arithmetic.
pub struct NetLoss {
    model: Option<Mlp>,
    params: Params,
    /// The inputs of layer `first` (the data itself when `first` is 0).
    x: RowBlocks,
    first: usize,
    y: Tensor<1, Int>,
    len: usize,
    chunk: usize,
}

impl NetLoss {
    /// The loss on the first `samples` samples of `data` (all of them when 0), read block by
    /// block from the device split. `model` must live on an autodiff device.
    pub fn new(model: Mlp, data: &DeviceSplit, samples: usize, params: Params, chunk: usize) -> Self {
        let len = if samples == 0 { data.len } else { samples.min(data.len) };
        let (x, y) = (data.x.head(len), data.y.clone().narrow(0, 0, len));
        let (x, first) = match params {
            Params::Layer(l) if l >= 1 => {
                let eval = model.valid();
                (x.map(|block| eval.forward_trace(block).post[l - 1].clone()), l)
            }
            _ => (x, 0),
        };
        Self { model: Some(model), params, x, first, y, len, chunk: chunk.max(1) }
    }

    /// Logits from the inputs of layer `first`.
    fn logits(&self, model: &Mlp, h: Tensor<2>) -> Tensor<2> {
        let last = model.layers.len() - 1;
        model.layers.iter().enumerate().skip(self.first).fold(h, |h, (l, layer)| {
            let out = layer.forward(h);
            if l == last { out } else { model.activation.apply(out) }
        })
    }

    /// The current parameter vector.
    pub fn point(&self) -> Vec<f64> {
        self.params.get(self.model())
    }

    pub fn model(&self) -> &Mlp {
        self.model.as_ref().expect("model present")
    }

    fn set(&mut self, w: &[f64]) {
        let m = self.model.take().expect("model present");
        self.model = Some(self.params.set(m, w));
    }

    fn chunks(&self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (len, chunk) = (self.len, self.chunk);
        (0..len).step_by(chunk).map(move |s| (s, chunk.min(len - s)))
    }
}

impl Objective for NetLoss {
    fn dim(&self) -> usize {
        self.params.count(self.model())
    }

    fn value(&mut self, w: &[f64]) -> f64 {
        self.set(w);
        let eval = self.model().valid();
        let sums: Vec<Tensor<1>> = self
            .chunks()
            .map(|(s, n)| nll_sum_and_correct(self.logits(&eval, self.x.range(s, n)), self.y.clone().narrow(0, s, n)).0)
            .collect();
        read_f32s(Tensor::cat(sums, 0)).iter().map(|&v| v as f64).sum::<f64>() / self.len as f64
    }

    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>) {
        self.set(w);
        let mut total = vec![0.0; w.len()];
        let mut loss = 0.0;
        for (s, n) in self.chunks().collect::<Vec<_>>() {
            let model = self.model();
            let (nll, _) = nll_sum_and_correct(self.logits(model, self.x.range(s, n)), self.y.clone().narrow(0, s, n));
            let mean_part = nll.div_scalar(self.len as f64);
            let grads = mean_part.backward();
            loss += read_f32s(mean_part.inner())[0] as f64;
            let g = self.params.grad(model, &grads);
            total.iter_mut().zip(&g).for_each(|(t, v)| *t += v);
        }
        (loss, total)
    }
}
