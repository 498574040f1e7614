//! The loss as a function of a flat parameter vector: the interface the weight-space instruments
//! (Hessian, flatness, slices) are written against, so they can be tested on functions with known
//! answers (a quadratic) and run on real networks alike.

use crate::linalg::norm;
use crate::params::Params;
use burn::module::Module;
use burn::tensor::{Int, Tensor};
use tailgrad_data::{DeviceSplit, RowBlocks};
use burn::tensor::TensorData;
use burn::tensor::activation::softmax;
use tailgrad_model::loss::read_i64s;
use tailgrad_model::{Activation, Mlp};
use tailgrad_model::loss::{nll_sum_and_correct, read_f32s};

/// A scalar loss `L(w)`, its gradient, and Hessian-vector products.
pub trait Objective {
    fn dim(&self) -> usize;
    fn value(&mut self, w: &[f64]) -> f64;
    /// `(L(w), grad L(w))`.
    fn gradient(&mut self, w: &[f64]) -> (f64, Vec<f64>);
    /// `H(w) v`; by central differences of the gradient unless the objective knows better
    /// ([`NetLoss`] computes it exactly).
    fn hvp(&mut self, w: &[f64], v: &[f64]) -> Vec<f64> {
        fd_hvp(self, w, v, REL_STEP)
    }
}

/// `H v ~ (g(w + h u) - g(w - h u)) / (2 h) * |v|` with `u = v / |v|` and step
/// `h = rel_step * max(|w| / sqrt(n), 1e-3)`, i.e. relative to the root-mean-square weight so the
/// per-coordinate move stays a small fraction of a typical weight.
///
/// Error: truncation `O(h^2 |D^3 L|)` plus the round-off of the gradients `O(eps |g| / h)`, and,
/// for piecewise-linear units, kinks crossed within `h` (`O(jump / h)`). For networks in f32 near a
/// minimum no step serves every direction (measured on a trained ReLU net: errors from 5e-3 to
/// 30 times lambda_max as the step goes from 3e-4 to 1e-3): networks use the exact R-operator
/// instead; this is for objectives evaluated in f64 (quadratics, references).
pub fn fd_hvp<O: Objective + ?Sized>(obj: &mut O, w: &[f64], v: &[f64], rel_step: f64) -> Vec<f64> {
    let nv = norm(v);
    if nv == 0.0 {
        return vec![0.0; v.len()];
    }
    let h = rel_step * (norm(w) / (w.len() as f64).sqrt()).max(1e-3);
    let step = h / nv;
    let plus: Vec<f64> = w.iter().zip(v).map(|(a, b)| a + step * b).collect();
    let minus: Vec<f64> = w.iter().zip(v).map(|(a, b)| a - step * b).collect();
    let gp = obj.gradient(&plus).1;
    let gm = obj.gradient(&minus).1;
    gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * step)).collect()
}

/// Default relative finite-difference step of [`fd_hvp`].
pub const REL_STEP: f64 = 1e-2;

/// The mean cross-entropy of an `Mlp` on a set of samples (full batch), as a function of the
/// parameters selected by `params`; the others stay at the model's values. Evaluated on the
/// model's device in chunks of `chunk` samples (values without autodiff).
///
/// Hessian-vector products are exact: Pearlmutter's (1994) R-operator, `R{f} = d/dr f(w + r v)`
/// at r = 0, carried through the MLP by hand (burn has no second-order autodiff). Forward, with
/// `h_l = a_(l-1) W_l + b_l`, `a_l = phi(h_l)`: `R{h_l} = R{a_(l-1)} W_l + a_(l-1) V_l + v_b`,
/// `R{a_l} = phi'(h_l) R{h_l}`. Backward from `delta_L = (p - onehot(y)) / n` with
/// `R{delta_L} = (p R{h_L} - p <p, R{h_L}>) / n` (softmax cross-entropy's Hessian):
/// `delta_(l-1) = (delta_l W_l^T) phi'(h_(l-1))`,
/// `R{delta_(l-1)} = (R{delta_l} W_l^T + delta_l V_l^T) phi'(h_(l-1)) + (delta_l W_l^T) phi''(h_(l-1)) R{h_(l-1)}`;
/// and `R{dL/dW_l} = R{a_(l-1)}^T delta_l + a_(l-1)^T R{delta_l}`, `R{dL/db_l} = sum R{delta_l}`.
/// No step size: at a trained minimum, where central differences of f32 gradients are swamped by
/// round-off along flat directions and cross the kinks of ReLU units along sharp ones, it agrees
/// with a double-precision reference to f32 precision (tests).
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

/// The gradient at `w` of the mean loss over the samples `picked`, indices into `rows` (a sample's
/// rows of `data`): a minibatch drawn from that sample, for the instruments that draw minibatches.
pub fn minibatch_gradient(model: &Mlp, data: &DeviceSplit, rows: &[i64], picked: &[usize], params: Params, w: &[f64]) -> Vec<f64> {
    let batch: Vec<i64> = picked.iter().map(|&i| rows[i]).collect();
    NetLoss::new(model.clone(), data, Some(&batch), params, 10_000).gradient(w).1
}

impl NetLoss {
    /// The loss on the samples `rows` of `data` (every sample when `rows` is None), read block
    /// by block from the device split. `model` must live on an autodiff device.
    pub fn new(model: Mlp, data: &DeviceSplit, rows: Option<&[i64]>, params: Params, chunk: usize) -> Self {
        let (x, y, len) = match rows {
            Some(rows) => {
                let t = Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(rows.to_vec(), [rows.len()]), &data.y.device());
                (data.x.gather(rows), data.y.clone().select(0, t), rows.len())
            }
            None => (data.x.clone(), data.y.clone(), data.len),
        };
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

impl NetLoss {
    /// `H v` by the R-operator (see the type's documentation).
    fn exact_hvp(&mut self, w: &[f64], v: &[f64]) -> Vec<f64> {
        self.set(w);
        let model = self.model().valid();
        let dirs = self.params.split(&model, v);
        let last = model.layers.len() - 1;
        let act = model.activation;
        let mut sums: Vec<(Option<Tensor<2>>, Option<Tensor<1>>)> = vec![(None, None); model.layers.len()];
        let add2 = |acc: &mut Option<Tensor<2>>, t: Tensor<2>| *acc = Some(match acc.take() { Some(a) => a + t, None => t });
        let add1 = |acc: &mut Option<Tensor<1>>, t: Tensor<1>| *acc = Some(match acc.take() { Some(a) => a + t, None => t });
        for (s, n) in self.chunks().collect::<Vec<_>>() {
            // Forward: each layer's input a, its R{a}, the pre-activation h and R{h}.
            let mut inputs: Vec<(Tensor<2>, Option<Tensor<2>>)> = Vec::new();
            let mut pre: Vec<(Tensor<2>, Tensor<2>)> = Vec::new();
            let (mut a, mut ra): (Tensor<2>, Option<Tensor<2>>) = (self.x.range(s, n), None);
            for l in self.first..=last {
                let layer = &model.layers[l];
                let wl = layer.weight.val();
                let mut h = a.clone().matmul(wl.clone());
                if let Some(b) = &layer.bias {
                    h = h + b.val().unsqueeze();
                }
                let mut rh = ra.clone().map(|r| r.matmul(wl.clone()));
                if let Some(vw) = &dirs[l].0 {
                    let t = a.clone().matmul(vw.clone());
                    rh = Some(rh.map_or(t.clone(), |r| r + t));
                }
                if let Some(vb) = &dirs[l].1 {
                    let t = vb.clone().unsqueeze::<2>().repeat_dim(0, n);
                    rh = Some(rh.map_or(t.clone(), |r| r + t));
                }
                let rh = rh.unwrap_or_else(|| h.zeros_like());
                inputs.push((a.clone(), ra.clone()));
                if l < last {
                    let next = act.apply(h.clone());
                    ra = Some(slope(act, &h, &next) * rh.clone());
                    a = next;
                }
                pre.push((h, rh));
            }
            // Backward.
            let (logits, r_logits) = pre.last().cloned().expect("a network has a layer");
            let p = softmax(logits, 1);
            let onehot = Tensor::<2>::from_data(
                TensorData::new(
                    read_i64s(self.y.clone().narrow(0, s, n)).iter().flat_map(|&c| (0..p.dims()[1]).map(move |k| if k as i64 == c { 1.0f32 } else { 0.0 })).collect::<Vec<f32>>(),
                    [n, p.dims()[1]],
                ),
                &p.device(),
            );
            let scale = 1.0 / self.len as f64;
            let mut delta = (p.clone() - onehot).mul_scalar(scale);
            let pr = p.clone() * r_logits;
            let mut r_delta = (pr.clone() - p * pr.sum_dim(1)).mul_scalar(scale);
            for l in (self.first..=last).rev() {
                let k = l - self.first;
                let (a_in, ra_in) = &inputs[k];
                let mut rg = a_in.clone().transpose().matmul(r_delta.clone());
                if let Some(ra) = ra_in {
                    rg = rg + ra.clone().transpose().matmul(delta.clone());
                }
                add2(&mut sums[l].0, rg);
                add1(&mut sums[l].1, r_delta.clone().sum_dim(0).reshape([r_delta.dims()[1]]));
                if l == self.first {
                    break;
                }
                let wl = model.layers[l].weight.val();
                let back = delta.clone().matmul(wl.clone().transpose());
                let mut r_back = r_delta.clone().matmul(wl.transpose());
                if let Some(vw) = &dirs[l].0 {
                    r_back = r_back + delta.clone().matmul(vw.clone().transpose());
                }
                let (h_prev, rh_prev) = &pre[k - 1];
                let a_prev = &inputs[k].0;
                let d1 = slope(act, h_prev, a_prev);
                r_delta = r_back * d1.clone() + back.clone() * curvature(act, a_prev) * rh_prev.clone();
                delta = back * d1;
            }
        }
        self.params.join(&model, &sums)
    }
}

/// `phi'(h)` from `h` and `a = phi(h)`.
fn slope(act: Activation, h: &Tensor<2>, a: &Tensor<2>) -> Tensor<2> {
    match act {
        Activation::Tanh => a.clone().powf_scalar(2.0).neg().add_scalar(1.0),
        Activation::Relu => h.clone().greater_elem(0.0).float(),
        Activation::Linear => h.ones_like(),
    }
}

/// `phi''(h)` from `a = phi(h)` (0 for ReLU and linear units).
fn curvature(act: Activation, a: &Tensor<2>) -> Tensor<2> {
    match act {
        Activation::Tanh => a.clone().mul_scalar(-2.0) * a.clone().powf_scalar(2.0).neg().add_scalar(1.0),
        Activation::Relu | Activation::Linear => a.zeros_like(),
    }
}

impl Objective for NetLoss {
    fn hvp(&mut self, w: &[f64], v: &[f64]) -> Vec<f64> {
        self.exact_hvp(w, v)
    }

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
