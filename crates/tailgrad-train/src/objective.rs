//! Cross-entropy and accuracy, computed on the device.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;

/// Sum over the batch of `-log softmax(logits)[y]`, and the number of correct argmax predictions.
pub fn nll_sum_and_correct(logits: Tensor<2>, y: Tensor<1, Int>) -> (Tensor<1>, Tensor<1, Int>) {
    let b = y.dims()[0];
    let y = y.reshape([b, 1]);
    let correct = logits.clone().argmax(1).equal(y.clone()).int().sum();
    let nll = log_softmax(logits, 1).gather(1, y).sum().neg();
    (nll, correct)
}

/// Mean loss and accuracy of `model` on a whole split, in batches of `batch`, one host read.
/// Pass a model without autodiff (`Module::valid`).
pub fn evaluate(model: &Mlp, split: &DeviceSplit, batch: usize) -> (f64, f64) {
    let mut losses = Vec::new();
    let mut corrects = Vec::new();
    for start in (0..split.len).step_by(batch) {
        let (x, y) = split.range(start, batch.min(split.len - start));
        let (l, c) = nll_sum_and_correct(model.forward(x), y);
        losses.push(l);
        corrects.push(c);
    }
    let loss: f64 = read_f32s(Tensor::cat(losses, 0)).iter().map(|&v| v as f64).sum();
    let correct: i64 = Tensor::cat(corrects, 0).into_data().convert::<i64>().try_to_vec::<i64>().expect("int data").iter().sum();
    (loss / split.len as f64, correct as f64 / split.len as f64)
}

pub fn read_f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float data")
}
