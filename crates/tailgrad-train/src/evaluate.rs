//! Loss and accuracy of a network on a whole split, computed on the device.

use burn::tensor::Tensor;
use tailgrad_data::DeviceSplit;
use tailgrad_model::Mlp;
use tailgrad_model::loss::{nll_sum_and_correct, read_f32s, read_i64s};

/// Mean cross-entropy and accuracy of `model` on a whole split, in batches of `batch`, with one
/// host read. Pass a model without autodiff (`Module::valid`).
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
    let correct: i64 = read_i64s(Tensor::cat(corrects, 0)).iter().sum();
    (loss / split.len as f64, correct as f64 / split.len as f64)
}
