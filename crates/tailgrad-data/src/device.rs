//! A split held on a burn device as two tensors, batched by index on the device.
//!
//! The whole split is uploaded once (`x`: `[n, features]` f32, normalized; `y`: `[n]` int).
//! Each epoch uploads one permutation of `0..n`; a batch is a `narrow` of that permutation and
//! a `select` of rows, so the training loop makes no host-to-device copies per batch.

use crate::catalog::{Dataset, Normalization};
use crate::host::Images;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;

pub struct DeviceSplit {
    pub x: Tensor<2>,
    pub y: Tensor<1, Int>,
    pub len: usize,
    pub features: usize,
}

impl DeviceSplit {
    /// Normalize `images` on the host and upload them to `device`.
    pub fn upload(images: &Images, dataset: Dataset, norm: Normalization, device: &Device) -> Self {
        let (len, features) = (images.len(), images.features());
        let x = Tensor::from_data(TensorData::new(images.normalized(dataset, norm), [len, features]), device);
        let labels: Vec<i64> = images.labels.iter().map(|&l| l as i64).collect();
        let y = Tensor::from_data(TensorData::new(labels, [len]), device);
        Self { x, y, len, features }
    }

    /// Rows `start..start+count` in file order (evaluation).
    pub fn range(&self, start: usize, count: usize) -> (Tensor<2>, Tensor<1, Int>) {
        (self.x.clone().narrow(0, start, count), self.y.clone().narrow(0, start, count))
    }

    /// Batch `b` (of size up to `batch_size`) of an epoch's order.
    pub fn batch(&self, order: &EpochOrder, b: usize, batch_size: usize) -> (Tensor<2>, Tensor<1, Int>) {
        let start = b * batch_size;
        let count = batch_size.min(self.len - start);
        let idx = order.perm.clone().narrow(0, start, count);
        (self.x.clone().select(0, idx.clone()), self.y.clone().select(0, idx))
    }

    /// Number of batches per epoch (the last one may be smaller).
    pub fn batches(&self, batch_size: usize) -> usize {
        self.len.div_ceil(batch_size)
    }
}

/// The shuffled order of one epoch, on the device.
pub struct EpochOrder {
    pub perm: Tensor<1, Int>,
}

/// The host permutation of `0..n` for `epoch` of a run seeded with `seed`: a function of
/// `(seed, epoch)` alone, so a resumed run replays exactly the order an uninterrupted one uses.
pub fn epoch_permutation(n: usize, seed: u64, epoch: u64) -> Vec<i64> {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ epoch);
    let mut perm: Vec<i64> = (0..n as i64).collect();
    perm.shuffle(&mut rng);
    perm
}

impl EpochOrder {
    pub fn new(n: usize, seed: u64, epoch: u64, device: &Device) -> Self {
        Self { perm: Tensor::from_data(TensorData::new(epoch_permutation(n, seed, epoch), [n]), device) }
    }
}
