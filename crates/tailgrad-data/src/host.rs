//! A labelled image set in host memory, read from a dataset's official files.

use crate::catalog::{Dataset, Normalization};
use crate::fetch::{check_sha256, locate, missing};
use crate::formats::{parse_idx_pair, read_cifar10, read_maybe_gzip};
use crate::{DataError, corrupt};
use std::path::{Path, PathBuf};

/// Images as bytes, `n x (c*h*w)` row-major (CIFAR: R, G, B planes), and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub shape: [usize; 3],
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    pub classes: usize,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image, `c*h*w`.
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Images {
        let f = self.features();
        Images {
            shape: self.shape,
            pixels: indices.iter().flat_map(|&i| self.pixels[i * f..(i + 1) * f].iter().copied()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }

    /// How many images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Indices of the first `n` images of each class, in file order (a balanced subset).
    pub(crate) fn first_per_class(&self, n: usize) -> Vec<usize> {
        let mut taken = vec![0; self.classes];
        (0..self.len())
            .filter(|&i| {
                let c = self.labels[i] as usize;
                taken[c] += 1;
                taken[c] <= n
            })
            .collect()
    }

    /// Per-channel mean and standard deviation of the pixels in [0, 1].
    pub fn channel_mean_std(&self) -> Vec<(f64, f64)> {
        let [c, h, w] = self.shape;
        let plane = h * w;
        (0..c)
            .map(|ch| {
                let (mut s, mut s2, mut n) = (0.0f64, 0.0f64, 0.0f64);
                for img in self.pixels.chunks_exact(c * plane) {
                    for &p in &img[ch * plane..(ch + 1) * plane] {
                        let v = p as f64 / 255.0;
                        s += v;
                        s2 += v * v;
                    }
                    n += plane as f64;
                }
                let mean = s / n;
                (mean, (s2 / n - mean * mean).sqrt())
            })
            .collect()
    }

    /// Network inputs: each image flattened and normalized, `n x features` f32 row-major.
    pub fn normalized(&self, dataset: Dataset, norm: Normalization) -> Vec<f32> {
        let plane = self.shape[1] * self.shape[2];
        let (mean, std) = dataset.mean_std();
        let f = self.features();
        let table: Vec<[f32; 256]> = (0..self.shape[0])
            .map(|ch| {
                std::array::from_fn(|p| {
                    let v = p as f32 / 255.0;
                    match norm {
                        Normalization::Standard => (v - mean[ch]) / std[ch],
                        Normalization::Unit => v,
                    }
                })
            })
            .collect();
        let mut out = vec![0.0f32; self.pixels.len()];
        for (image_out, image) in out.chunks_mut(f).zip(self.pixels.chunks(f)) {
            for ((plane_out, plane_in), table) in image_out.chunks_mut(plane).zip(image.chunks(plane)).zip(&table) {
                plane_out.iter_mut().zip(plane_in).for_each(|(o, &p)| *o = table[p as usize]);
            }
        }
        out
    }
}

/// Which of a dataset's two official splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Train,
    Test,
}

/// Read one official split of `dataset` from `dir`, verifying checksums where known.
pub fn load_part(dir: &Path, dataset: Dataset, part: Part) -> Result<Images, DataError> {
    let files = dataset.files();
    let wanted: Vec<_> = match (dataset, part) {
        (Dataset::Cifar10, Part::Train) => files[..5].to_vec(),
        (Dataset::Cifar10, Part::Test) => files[5..].to_vec(),
        (_, Part::Train) => files[..2].to_vec(),
        (_, Part::Test) => files[2..].to_vec(),
    };
    let paths: Vec<PathBuf> = wanted.iter().filter_map(|e| locate(dir, dataset, e.name)).collect();
    if paths.len() != wanted.len() {
        let absent: Vec<&str> = wanted.iter().map(|e| e.name).filter(|n| locate(dir, dataset, n).is_none()).collect();
        return Err(missing(dir, dataset, &absent));
    }
    if dataset == Dataset::Cifar10 {
        let mut all = Images { shape: dataset.image_shape(), pixels: vec![], labels: vec![], classes: 10 };
        for path in &paths {
            let (pixels, labels) = read_cifar10(path)?;
            all.pixels.extend(pixels);
            all.labels.extend(labels);
        }
        return Ok(all);
    }
    // Each file is read (and decompressed) once: checksum, then parse.
    let mut bytes = Vec::with_capacity(2);
    for (path, entry) in paths.iter().zip(&wanted) {
        let b = read_maybe_gzip(path)?;
        check_sha256(path, &b, entry)?;
        bytes.push(b);
    }
    let (pixels, shape, labels) =
        parse_idx_pair((&paths[0], &bytes[0]), (&paths[1], &bytes[1]), dataset.classes() as u8)?;
    if shape != dataset.image_shape() {
        return Err(corrupt(&paths[0], format!("images are {shape:?}, expected {:?}", dataset.image_shape())));
    }
    Ok(Images { shape, pixels, labels, classes: dataset.classes() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_uses_the_dataset_constants() {
        let images = Images { shape: [1, 1, 2], pixels: vec![0, 255], labels: vec![0], classes: 10 };
        let x = images.normalized(Dataset::Mnist, Normalization::Standard);
        assert!((x[0] - (-0.1307 / 0.3081)).abs() < 1e-6 && (x[1] - (0.8693 / 0.3081)).abs() < 1e-5);
        assert_eq!(images.normalized(Dataset::Mnist, Normalization::Unit), vec![0.0, 1.0]);
        let rgb = Images { shape: [3, 1, 1], pixels: vec![255, 255, 255], labels: vec![0], classes: 10 };
        let x = rgb.normalized(Dataset::Cifar10, Normalization::Standard);
        assert!((x[2] - (1.0 - 0.4465) / 0.2616).abs() < 1e-5, "{x:?}");
    }
}
