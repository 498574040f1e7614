//! The loss and accuracy of a network's logits, computed on the device, and reading results
//! back to the host.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// Sum over the batch of the cross-entropy `-log softmax(logits)[y]`, and the number of correct
/// argmax predictions: a population of one (the same reductions, so a network trained alone and
/// in a population logs the same losses to the bit).
pub fn nll_sum_and_correct(logits: Tensor<2>, y: Tensor<1, Int>) -> (Tensor<1>, Tensor<1, Int>) {
    crate::population::stacked_nll_sum_and_correct(logits.unsqueeze_dim(0), y.unsqueeze_dim(0))
}

/// The cross-entropy of each sample, `[batch]`.
pub fn per_sample_nll(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    let b = y.dims()[0];
    log_softmax(logits, 1).gather(1, y.reshape([b, 1])).neg().reshape([b])
}

/// A float tensor's values on the host.
pub fn read_f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float data")
}

/// An int tensor's values on the host.
pub fn read_i64s<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().expect("int data")
}
