//! A population: `P` networks of one architecture trained as one batched computation.
//!
//! Layer `l` of every member is one tensor `W^l` of shape `[P, fan_in, fan_out]` (biases
//! `[P, fan_out]`), and a batch holds one sub-batch per member, `x` of shape `[P, B, input]`:
//! `h^1_p = x_p W^1_p`, `h^(l+1)_p = phi(h^l_p) W^(l+1)_p`, all members in one batched matmul per
//! layer. The members share nothing but the shapes: each has its own weights (its own init law
//! and seed), its own data order and its own gradient, because the population's loss is the sum
//! of the members' losses and `d(sum_q L_q)/dW_p = dL_p/dW_p`.

use crate::{Activation, Mlp, replace_param};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// The stacked parameters of a population (on an autodiff device they require gradients).
pub struct StackedMlp {
    pub weights: Vec<Tensor<3>>,
    pub biases: Option<Vec<Tensor<2>>>,
    pub activation: Activation,
}

impl StackedMlp {
    /// Stack `members` (same widths, same activation, biases all on or all off) in order.
    ///
    /// Panics if the members' shapes differ: a population is built from one architecture.
    pub fn stack(members: &[&Mlp]) -> Self {
        let first = members.first().expect("a population has at least one member");
        assert!(members.iter().all(|m| m.widths() == first.widths() && m.activation == first.activation), "population members share one architecture");
        let weights = (0..first.layers.len())
            .map(|l| require_grad(Tensor::stack(members.iter().map(|m| m.layers[l].weight.val().inner()).collect(), 0)))
            .collect();
        let biases = first.layers[0].bias.is_some().then(|| {
            (0..first.layers.len())
                .map(|l| {
                    let rows = members.iter().map(|m| m.layers[l].bias.as_ref().expect("biases all on or all off").val().inner()).collect();
                    require_grad(Tensor::stack(rows, 0))
                })
                .collect()
        });
        Self { weights, biases, activation: first.activation }
    }

    /// Logits `[P, B, classes]` of the members' batches `x` of shape `[P, B, input]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let last = self.weights.len() - 1;
        self.weights.iter().enumerate().fold(x, |h, (l, w)| {
            let mut out = h.matmul(w.clone());
            if let Some(b) = &self.biases {
                out = out + b[l].clone().unsqueeze_dim(1);
            }
            if l == last { out } else { self.activation.apply(out) }
        })
    }

    /// Member `p`'s layer `l`: its weight `[fan_in, fan_out]` and bias (without autodiff).
    pub fn member_layer(&self, p: usize, l: usize) -> (Tensor<2>, Option<Tensor<1>>) {
        let w = self.weights[l].clone().inner().narrow(0, p, 1).squeeze_dim(0);
        let b = self.biases.as_ref().map(|b| b[l].clone().inner().narrow(0, p, 1).squeeze_dim(0));
        (w, b)
    }

    /// Write member `p`'s current parameters into `model` (same architecture).
    pub fn write_member(&self, p: usize, model: &mut Mlp) {
        for (l, layer) in model.layers.iter_mut().enumerate() {
            let (w, b) = self.member_layer(p, l);
            layer.weight = replace_param(layer.weight.clone(), w);
            if let (Some(param), Some(b)) = (layer.bias.take(), b) {
                layer.bias = Some(replace_param(param, b));
            }
        }
    }

    /// Keep only the members at indices `keep` (in that order), e.g. without a diverged one.
    pub fn retain(&mut self, keep: &[usize]) {
        self.weights = self.weights.drain(..).map(|w| select_members(w, keep)).collect();
        if let Some(biases) = self.biases.take() {
            self.biases = Some(biases.into_iter().map(|b| select_members(b, keep)).collect());
        }
    }
}

/// Rows `keep` along the member axis, as a new leaf that requires gradients when `t` did.
pub fn select_members<const D: usize>(t: Tensor<D>, keep: &[usize]) -> Tensor<D> {
    let autodiff = t.is_autodiff();
    let inner = t.inner();
    let idx: Vec<i64> = keep.iter().map(|&k| k as i64).collect();
    let idx = Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(idx, [keep.len()]), &inner.device());
    let kept = inner.select(0, idx);
    if autodiff { require_grad(kept) } else { kept }
}

/// An inner (non-autodiff) tensor as an autodiff leaf that requires gradients.
fn require_grad<const D: usize>(inner: Tensor<D>) -> Tensor<D> {
    Tensor::from_inner(inner).require_grad()
}

/// Per member, the sum over its sub-batch of `-log softmax(logits)[y]` (`[P]`) and its number of
/// correct argmax predictions (`[P]`), for logits `[P, B, C]` and labels `[P, B]`.
pub fn stacked_nll_sum_and_correct(logits: Tensor<3>, y: Tensor<2, Int>) -> (Tensor<1>, Tensor<1, Int>) {
    let [p, b] = y.dims();
    let y = y.reshape([p, b, 1]);
    let correct = logits.clone().argmax(2).equal(y.clone()).int().sum_dim(1).reshape([p]);
    let nll = log_softmax(logits, 2).gather(2, y).sum_dim(1).reshape([p]).neg();
    (nll, correct)
}
