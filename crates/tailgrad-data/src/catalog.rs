//! What each dataset is made of: its files, their SHA-256 (of the uncompressed files), the
//! official download locations, its classes and its normalization constants.

use crate::DataError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    Mnist,
    FashionMnist,
    Cifar10,
}

/// One file of a dataset as it lies in the data directory.
#[derive(Clone, Copy, Debug)]
pub struct FileEntry {
    pub name: &'static str,
    /// SHA-256 of the uncompressed file; `None` where no trusted hash is known (CIFAR-10's
    /// batches, which are checked through the MD5 of the official archive instead).
    pub sha256: Option<&'static str>,
    /// The uncompressed size in bytes: a download that inflates past it is stopped there.
    pub bytes: u64,
}

/// How pixels in [0, 255] become network inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    /// `(p/255 - mean_c) / std_c` with the dataset's per-channel constants (default).
    #[default]
    Standard,
    /// `p/255` (as in Feng & Tu's MNIST experiments).
    Unit,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Mnist, Dataset::FashionMnist, Dataset::Cifar10];

    /// The folder under the data directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Cifar10 => "cifar10",
        }
    }

    pub fn classes(self) -> usize {
        10
    }

    /// `[channels, height, width]`.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            Dataset::Cifar10 => [3, 32, 32],
            _ => [1, 28, 28],
        }
    }

    /// Per-channel pixel mean and standard deviation in [0, 1] of the training set:
    /// MNIST 0.1307 / 0.3081, Fashion-MNIST 0.2860 / 0.3530 (measured on the real files by
    /// this crate's tests), CIFAR-10 (0.4914, 0.4822, 0.4465) / (0.2470, 0.2435, 0.2616).
    pub fn mean_std(self) -> (&'static [f32], &'static [f32]) {
        match self {
            Dataset::Mnist => (&[0.1307], &[0.3081]),
            Dataset::FashionMnist => (&[0.2860], &[0.3530]),
            Dataset::Cifar10 => (&[0.4914, 0.4822, 0.4465], &[0.2470, 0.2435, 0.2616]),
        }
    }

    /// The files that make up the dataset, in the data directory's `dir_name()` folder.
    pub fn files(self) -> &'static [FileEntry] {
        match self {
            Dataset::Mnist => &MNIST_FILES,
            Dataset::FashionMnist => &FASHION_FILES,
            Dataset::Cifar10 => &CIFAR10_FILES,
        }
    }

    /// Where the official files live. IDX datasets: one gzipped file per entry of `files()`, at
    /// `base + name + ".gz"`. CIFAR-10: one tar.gz holding `cifar-10-batches-bin/<name>`.
    pub fn remote(self) -> Remote {
        match self {
            Dataset::Mnist => Remote::GzipEach { base: "https://storage.googleapis.com/cvdf-datasets/mnist/" },
            Dataset::FashionMnist => Remote::GzipEach {
                base: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            },
            Dataset::Cifar10 => Remote::Archive {
                url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                md5: "c32a1d4ab5d03f1284b67883e8d87530",
                inner_dir: "cifar-10-batches-bin",
            },
        }
    }
}

/// The official source of a dataset.
#[derive(Clone, Copy, Debug)]
pub enum Remote {
    GzipEach { base: &'static str },
    Archive { url: &'static str, md5: &'static str, inner_dir: &'static str },
}

impl FromStr for Dataset {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, DataError> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.dir_name() == s)
            .ok_or_else(|| DataError::Config(format!("unknown dataset `{s}` (expected mnist, fashion-mnist or cifar10)")))
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

const fn idx(name: &'static str, bytes: u64, sha256: &'static str) -> FileEntry {
    FileEntry { name, sha256: Some(sha256), bytes }
}

/// A CIFAR-10 batch: 10,000 records of 1 label byte and 3 x 32 x 32 pixels.
const fn batch(name: &'static str) -> FileEntry {
    FileEntry { name, sha256: None, bytes: 10_000 * 3073 }
}

const MNIST_FILES: [FileEntry; 4] = [
    idx("train-images-idx3-ubyte", 47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    idx("train-labels-idx1-ubyte", 60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    idx("t10k-images-idx3-ubyte", 7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    idx("t10k-labels-idx1-ubyte", 10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

const FASHION_FILES: [FileEntry; 4] = [
    idx("train-images-idx3-ubyte", 47_040_016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    idx("train-labels-idx1-ubyte", 60_008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    idx("t10k-images-idx3-ubyte", 7_840_016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    idx("t10k-labels-idx1-ubyte", 10_008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
];

const CIFAR10_FILES: [FileEntry; 6] = [
    batch("data_batch_1.bin"),
    batch("data_batch_2.bin"),
    batch("data_batch_3.bin"),
    batch("data_batch_4.bin"),
    batch("data_batch_5.bin"),
    batch("test_batch.bin"),
];
