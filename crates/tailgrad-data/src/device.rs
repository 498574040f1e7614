//! A split held on a burn device: images as row blocks, labels as one tensor, batched by index
//! on the device.
//!
//! The whole split is uploaded once (`x`: `n` rows of `features` f32, normalized; `y`: `[n]` int).
//! Each epoch uploads one permutation of `0..n`; a batch is a `narrow` of that permutation and
//! a `select` of rows, so the training loop makes no host-to-device copies of images per batch.

use crate::catalog::{Dataset, Normalization};
use crate::host::Images;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// The largest block of rows kept in one device buffer on a GPU. Adapters cap single
/// allocations: Mesa's lavapipe could not allocate MNIST's 188 MB of training images as one
/// buffer, and CIFAR-10's are 614 MB.
pub const MAX_BLOCK_BYTES: usize = 64 << 20;

/// The rows of a `[len, features]` f32 matrix on the device, in blocks of `rows_per_block` rows
/// (the last may be shorter), one buffer each. Reads that cross blocks are assembled on the
/// device; with one block (the CPU backend, or a small matrix) every read is a plain
/// `narrow` / `select` of it.
#[derive(Clone, Debug)]
pub struct RowBlocks {
    blocks: Vec<Tensor<2>>,
    rows_per_block: usize,
    len: usize,
}

impl RowBlocks {
    /// Upload `values` (`len` rows of `features`, row-major) in blocks of `rows_per_block` rows.
    pub fn upload(values: &[f32], features: usize, rows_per_block: usize, device: &Device) -> Self {
        let len = values.len() / features.max(1);
        let rows_per_block = rows_per_block.clamp(1, len.max(1));
        let blocks = values
            .chunks(rows_per_block * features)
            .map(|b| Tensor::from_data(TensorData::new(b.to_vec(), [b.len() / features, features]), device))
            .collect();
        Self { blocks, rows_per_block, len }
    }

    /// Rows per block for a matrix of `features` columns on `device`: everything in one block on
    /// the CPU backend, at most [`MAX_BLOCK_BYTES`] per block elsewhere.
    pub fn rows_per_block(features: usize, device: &Device) -> usize {
        if *device == Device::flex() { usize::MAX } else { (MAX_BLOCK_BYTES / (4 * features.max(1))).max(1) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn device(&self) -> Device {
        self.blocks[0].device()
    }

    /// The blocks with the index of their first row.
    pub fn blocks(&self) -> impl Iterator<Item = (usize, &Tensor<2>)> {
        self.blocks.iter().enumerate().map(move |(b, t)| (b * self.rows_per_block, t))
    }

    /// The rows `idx` (in that order) as row blocks of this one's block size.
    pub fn gather(&self, idx: &[i64]) -> Self {
        let r = self.rows_per_block.min(idx.len().max(1));
        Self { blocks: idx.chunks(r).map(|chunk| self.select(chunk)).collect(), rows_per_block: r, len: idx.len() }
    }

    /// `f` applied to each block: for row-wise maps such as a forward pass.
    pub fn map(&self, f: impl Fn(Tensor<2>) -> Tensor<2>) -> Self {
        Self { blocks: self.blocks.iter().map(|b| f(b.clone())).collect(), ..self.clone() }
    }

    /// Rows `start..start + count`.
    pub fn range(&self, start: usize, count: usize) -> Tensor<2> {
        assert!(count > 0 && start + count <= self.len, "rows {start}..{} of {}", start + count, self.len);
        let r = self.rows_per_block;
        let parts: Vec<Tensor<2>> = (start / r..(start + count).div_ceil(r))
            .map(|b| {
                let (lo, hi) = (start.max(b * r), (start + count).min((b + 1) * r));
                self.blocks[b].clone().narrow(0, lo - b * r, hi - lo)
            })
            .collect();
        if parts.len() == 1 { parts.into_iter().next().expect("one part") } else { Tensor::cat(parts, 0) }
    }

    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[i64]) -> Tensor<2> {
        let device = self.device();
        let ints = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device)
        };
        if self.blocks.len() == 1 {
            return self.blocks[0].clone().select(0, ints(idx.to_vec()));
        }
        // Gather block by block, then restore the requested order.
        let r = self.rows_per_block as i64;
        let mut local: Vec<Vec<i64>> = vec![Vec::new(); self.blocks.len()];
        let mut position: Vec<Vec<usize>> = vec![Vec::new(); self.blocks.len()];
        for (k, &i) in idx.iter().enumerate() {
            local[(i / r) as usize].push(i % r);
            position[(i / r) as usize].push(k);
        }
        let parts: Vec<Tensor<2>> = local
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(b, rows)| self.blocks[b].clone().select(0, ints(rows)))
            .collect();
        let mut gathered_row_of = vec![0i64; idx.len()];
        for (g, &k) in position.iter().flatten().enumerate() {
            gathered_row_of[k] = g as i64;
        }
        Tensor::cat(parts, 0).select(0, ints(gathered_row_of))
    }
}

pub struct DeviceSplit {
    pub x: RowBlocks,
    pub y: Tensor<1, Int>,
    pub len: usize,
    pub features: usize,
}

impl DeviceSplit {
    /// Normalize `images` on the host and upload them to `device`, in blocks that fit its buffers.
    pub fn upload(images: &Images, dataset: Dataset, norm: Normalization, device: &Device) -> Self {
        Self::upload_in_blocks(images, dataset, norm, device, RowBlocks::rows_per_block(images.features(), device))
    }

    /// [`DeviceSplit::upload`] with a chosen block size (tests).
    pub fn upload_in_blocks(images: &Images, dataset: Dataset, norm: Normalization, device: &Device, rows_per_block: usize) -> Self {
        let (len, features) = (images.len(), images.features());
        let x = RowBlocks::upload(&images.normalized(dataset, norm), features, rows_per_block, device);
        let labels: Vec<i64> = images.labels.iter().map(|&l| l as i64).collect();
        let y = Tensor::from_data(TensorData::new(labels, [len]), device);
        Self { x, y, len, features }
    }

    pub fn device(&self) -> Device {
        self.x.device()
    }

    /// Rows `start..start+count` in file order (evaluation).
    pub fn range(&self, start: usize, count: usize) -> (Tensor<2>, Tensor<1, Int>) {
        (self.x.range(start, count), self.y.clone().narrow(0, start, count))
    }

    /// The samples `idx` (indices into the split), in that order.
    pub fn rows(&self, idx: &[i64]) -> (Tensor<2>, Tensor<1, Int>) {
        let t = Tensor::<1, Int>::from_data(TensorData::new(idx.to_vec(), [idx.len()]), &self.y.device());
        (self.x.select(idx), self.y.clone().select(0, t))
    }

    /// Batch `b` (of size up to `batch_size`) of an epoch's order.
    pub fn batch(&self, order: &EpochOrder, b: usize, batch_size: usize) -> (Tensor<2>, Tensor<1, Int>) {
        let start = b * batch_size;
        let count = batch_size.min(self.len - start);
        let idx = order.perm.clone().narrow(0, start, count);
        let x = match &self.x.blocks[..] {
            [one] => one.clone().select(0, idx.clone()),
            _ => self.x.select(&order.host[start..start + count]),
        };
        (x, self.y.clone().select(0, idx))
    }

    /// Number of batches per epoch (the last one may be smaller).
    pub fn batches(&self, batch_size: usize) -> usize {
        self.len.div_ceil(batch_size)
    }
}

/// The shuffled order of one epoch, on the device and on the host.
pub struct EpochOrder {
    pub perm: Tensor<1, Int>,
    pub host: Vec<i64>,
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
        let host = epoch_permutation(n, seed, epoch);
        Self { perm: Tensor::from_data(TensorData::new(host.clone(), [n]), device), host }
    }
}
