//! Datasets for tailgrad: MNIST, Fashion-MNIST and CIFAR-10 from their real files.
//!
//! * [`formats`]: strict parsers for IDX (gzipped or not) and the CIFAR binary batches.
//! * [`catalog`]: what each dataset is made of (files, SHA-256, official URLs, normalization).
//! * [`fetch`]: the data directory, verification, and the downloader (temp file + rename).
//! * [`host`]: a labelled image set in host memory, read from the official files.
//! * [`spec`]: the `[data]` section of a run config ([`RawDataSpec`] as written, [`DataSpec`] checked).
//! * [`split`]: the train/validation/test split a run uses, with subsets and label noise.
//! * [`device`]: the whole set as tensors on a burn device, batched by index.

pub mod catalog;
pub mod device;
pub mod fetch;
pub mod formats;
pub mod host;
pub mod spec;
pub mod split;

pub use catalog::{Dataset, Normalization};
pub use device::{DeviceSplit, EpochOrder, RowBlocks};
pub use fetch::{data_dir, verify};
pub use spec::{DataSpec, RawDataSpec};
pub use split::{LabelNoise, Split, balanced_sample};

/// Why data could not be read, verified or fetched. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {problem}")]
    Corrupt { path: String, problem: String },
    /// The OS error is part of the message, not a `source` (which error reporters such as
    /// anyhow's `{:#}` print a second time).
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: SHA-256 is {actual}, expected {expected} (a corrupt or different file; delete it and fetch again)")]
    Checksum { path: String, expected: String, actual: String },
    #[error("dataset `{dataset}` is not in {dir}: missing {missing}. {hint}")]
    Missing { dataset: String, dir: String, missing: String, hint: String },
    #[error("download of {url} failed: {problem}")]
    Download { url: String, problem: String },
    #[error("data config: {0}")]
    Config(String),
}

pub(crate) fn io_error(path: &std::path::Path, source: std::io::Error) -> DataError {
    DataError::Io { path: path.display().to_string(), error: source }
}

pub(crate) fn corrupt(path: &std::path::Path, problem: impl Into<String>) -> DataError {
    DataError::Corrupt { path: path.display().to_string(), problem: problem.into() }
}

pub use host::{Images, Part, load_part};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod io_error_tests {
    #[test]
    fn an_os_error_is_printed_once_in_an_error_chain() {
        // Issue 24, item 8: "...(os error 28): No space left on device (os error 28)".
        let e = super::io_error(std::path::Path::new("runs/a/metrics.csv"), std::io::Error::from_raw_os_error(28));
        tailgrad_testkit::assert_os_error_printed_once(&e, "runs/a/metrics.csv");
    }
}
