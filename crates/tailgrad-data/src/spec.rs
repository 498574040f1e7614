//! `DataSpec`: the `[data]` section of a run config, checked. Written as [`RawDataSpec`] (a
//! config file, `--set`, code), validated once by `DataSpec::try_from`; the checked spec's fields
//! are private and read through getters, so every `DataSpec` a run sees keeps the rules below.

use crate::catalog::{Dataset, FileEntry, Normalization};
use crate::DataError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `[data]` section as written, before its checks: what a config file, `--set` and code fill
/// in. [`DataSpec::try_from`] turns it into a spec a run can use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataSpec {
    /// `mnist`, `fashion-mnist` or `cifar10`.
    pub name: Dataset,
    /// Data directory (default: `$TAILGRAD_DATA`, else `./datasets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(default)]
    pub normalize: Normalization,
    /// Keep only the first N training images of each class (0 = all).
    #[serde(default)]
    pub train_per_class: usize,
    /// Hold out this many training images (seeded, class-stratified by shuffling) for validation.
    #[serde(default)]
    pub validation: usize,
    /// Fraction rho of training labels replaced by a uniformly random different class.
    #[serde(default)]
    pub label_noise: f64,
    /// For data whose only file is the test set (the CIFAR-10 test batch on this project's
    /// machines): train on this fraction of each class of the test file (first images in file
    /// order) and test on the rest. Absent = use the official train/test files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_test_file: Option<f64>,
    /// Train, validate and test on these classes only (empty = all). The test images of the
    /// other classes become the split's `novel` set: concepts the network never saw, which the
    /// `few-shot` instrument learns from a few examples (Sorscher et al.'s protocol; labels keep
    /// their dataset values, and the network keeps an output per dataset class).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<u8>,
    /// Train on superclasses: the classes of group g all get label g (He & Su's shared-label
    /// protocol, e.g. `[[5, 8], [9, 3]]`); classes in no group are left out as with `classes`, and
    /// the training images' dataset classes are kept in [`crate::Split::fine_labels`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merge: Vec<Vec<u8>>,
}

impl RawDataSpec {
    /// `name` with every other setting at its default (all images, standard normalization).
    pub fn new(name: Dataset) -> Self {
        Self {
            name,
            dir: None,
            normalize: Normalization::Standard,
            train_per_class: 0,
            validation: 0,
            label_noise: 0.0,
            split_test_file: None,
            classes: Vec::new(),
            merge: Vec::new(),
        }
    }
}

/// A checked `[data]` section. Built only through validation (`TryFrom<RawDataSpec>`, serde,
/// [`DataSpec::new`]), so a struct literal does not compile outside this crate:
///
/// ```compile_fail,E0451
/// use tailgrad_data::{DataSpec, Dataset, RawDataSpec};
/// let bad = DataSpec { raw: RawDataSpec { label_noise: 1.5, ..RawDataSpec::new(Dataset::Mnist) } };
/// ```
///
/// ```
/// use tailgrad_data::{DataSpec, Dataset, RawDataSpec};
/// let bad = RawDataSpec { label_noise: 1.5, ..RawDataSpec::new(Dataset::Mnist) };
/// assert_eq!(DataSpec::try_from(bad).unwrap_err().to_string(), "data config: `data.label_noise` = 1.5 must be in [0, 1)");
/// let ok = DataSpec::try_from(RawDataSpec { label_noise: 0.2, ..RawDataSpec::new(Dataset::Mnist) }).unwrap();
/// assert_eq!((ok.name(), ok.label_noise()), (Dataset::Mnist, 0.2));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDataSpec", into = "RawDataSpec")]
pub struct DataSpec {
    raw: RawDataSpec,
}

impl TryFrom<RawDataSpec> for DataSpec {
    type Error = DataError;

    /// The settings' ranges and combinations (no file is read: a bad `[data]` fails before
    /// anything starts).
    fn try_from(raw: RawDataSpec) -> Result<Self, DataError> {
        check(&raw)?;
        Ok(Self { raw })
    }
}

impl From<DataSpec> for RawDataSpec {
    fn from(spec: DataSpec) -> Self {
        spec.raw
    }
}

impl DataSpec {
    /// All of `name`'s images with the default settings (always valid).
    pub fn new(name: Dataset) -> Self {
        Self { raw: RawDataSpec::new(name) }
    }

    /// The same spec reading another data directory (always valid; `None`: the default).
    pub fn with_dir(self, dir: Option<PathBuf>) -> Self {
        Self { raw: RawDataSpec { dir, ..self.raw } }
    }

    /// The dataset.
    pub fn name(&self) -> Dataset {
        self.raw.name
    }

    /// The data directory as configured (`None`: `$TAILGRAD_DATA`, else `./datasets`; see
    /// [`DataSpec::resolved_dir`]).
    pub fn dir(&self) -> Option<&Path> {
        self.raw.dir.as_deref()
    }

    /// How pixels become inputs.
    pub fn normalize(&self) -> Normalization {
        self.raw.normalize
    }

    /// The first N training images of each class (0 = all).
    pub fn train_per_class(&self) -> usize {
        self.raw.train_per_class
    }

    /// Training images held out for validation.
    pub fn validation(&self) -> usize {
        self.raw.validation
    }

    /// The fraction of training labels replaced by another class, in [0, 1).
    pub fn label_noise(&self) -> f64 {
        self.raw.label_noise
    }

    /// The fraction of each class of a lone test file trained on, in (0, 1).
    pub fn split_test_file(&self) -> Option<f64> {
        self.raw.split_test_file
    }

    /// The classes trained and tested on (empty: all).
    pub fn classes(&self) -> &[u8] {
        &self.raw.classes
    }

    /// The superclasses trained on (empty: none).
    pub fn merge(&self) -> &[Vec<u8>] {
        &self.raw.merge
    }

    /// The classes trained on: those of `merge`'s groups, else `classes` (empty: all).
    pub(crate) fn kept_classes(&self) -> Vec<u8> {
        kept_classes(&self.raw)
    }

    /// The data directory this spec reads.
    pub fn resolved_dir(&self) -> PathBuf {
        crate::fetch::data_dir(self.dir())
    }

    /// The dataset files this spec reads (only the test file under `split_test_file`).
    pub fn needed_files(&self) -> Vec<&'static str> {
        let files = self.name().files();
        let (train, test) = match self.name() {
            Dataset::Cifar10 => (&files[..5], &files[5..]),
            _ => (&files[..2], &files[2..]),
        };
        let parts: Vec<&[FileEntry]> = if self.split_test_file().is_some() { vec![test] } else { vec![train, test] };
        parts.into_iter().flatten().map(|f| f.name).collect()
    }

    /// Make sure the files this spec reads are present and intact, downloading them if allowed.
    pub fn ensure(&self, download: &crate::fetch::Download) -> Result<(), DataError> {
        crate::fetch::ensure(&self.resolved_dir(), self.name(), &self.needed_files(), download, true)
    }
}

/// The rules of a `[data]` section: ranges, and which settings combine.
fn check(raw: &RawDataSpec) -> Result<(), DataError> {
    if !(0.0..1.0).contains(&raw.label_noise) {
        return Err(DataError::Config(format!("`data.label_noise` = {} must be in [0, 1)", raw.label_noise)));
    }
    if let Some(f) = raw.split_test_file
        && !(f > 0.0 && f < 1.0)
    {
        return Err(DataError::Config(format!("`data.split_test_file` = {f} must be in (0, 1)")));
    }
    let n = raw.name.classes();
    if !raw.merge.is_empty() {
        let members = kept_classes(raw);
        let mut distinct = members.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if !raw.classes.is_empty() || raw.label_noise > 0.0 {
            return Err(DataError::Config("`data.merge` cannot be combined with `data.classes` or `data.label_noise`".into()));
        }
        if raw.merge.len() < 2 || raw.merge.iter().any(|g| g.is_empty()) || distinct.len() != members.len() || members.iter().any(|&c| c as usize >= n) {
            return Err(DataError::Config(format!(
                "`data.merge` = {:?} must be at least 2 non-empty groups of distinct classes of {} (0..{})",
                raw.merge,
                raw.name,
                n - 1
            )));
        }
        return Ok(());
    }
    if !raw.classes.is_empty() && raw.label_noise > 0.0 {
        return Err(DataError::Config("`data.classes` and `data.label_noise` cannot be combined (noise would draw labels of the left-out classes)".into()));
    }
    if let Some(c) = raw.classes.iter().find(|&&c| c as usize >= n) {
        return Err(DataError::Config(format!("`data.classes` has class {c}, but {} has classes 0..{}", raw.name, n - 1)));
    }
    let mut sorted = raw.classes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != raw.classes.len() || raw.classes.len() == 1 || raw.classes.len() == n {
        return Err(DataError::Config(format!(
            "`data.classes` = {:?} must list 2 to {} distinct classes of {} (leave it out to use all)",
            raw.classes,
            n - 1,
            raw.name
        )));
    }
    Ok(())
}

fn kept_classes(raw: &RawDataSpec) -> Vec<u8> {
    if raw.merge.is_empty() { raw.classes.clone() } else { raw.merge.iter().flatten().copied().collect() }
}

