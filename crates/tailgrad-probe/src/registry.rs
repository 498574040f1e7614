//! The instruments as schedulable [`Probe`]s, configured by `[[probes]]` entries (or
//! `tailgrad probe --probe NAME --set key=value`). Each instrument's folder holds its math
//! (`mod.rs`), its adapter with its settings (`probe.rs`, every key optional, defaults shown) and
//! its run figure (`figure.rs`); [`crate::INSTRUMENTS`] lists them once, and the names, the CLI's
//! help and the figure dispatch come from that table:
//!
//! | name | settings (defaults) | scalars |
//! |---|---|---|
//! | `gradient-noise` | `batches` (20), `batch_size` (the run's), `group_batch_size` (the run's), `per_sample` (512), `layer` (all) | `b_simple`, `snr`, `grad_norm_sq`, `alignment`, `amplitude`, `clean_*`, `mislabeled_*`, ... |
//! | `hessian` | `layer` (all), `samples` (5000), `top_k` (5), `lanczos_steps` (30), `hutchinson_probes` (20), `slq_probes` (3) | `top1..`, `trace` |
//! | `slices` | `points` (21), `span` (1.0), `dims` (1), `samples` (5000), `directions` (`random` or `pca`), `layer` (1) | `loss_center`, `loss_edge_mean` |
//! | `variance-flatness` | `layer` (1), `window_steps` (12000), `directions` (100), `stride` (10), `factor` (e), `max_theta` (1000), `capped_width` (1100), `samples` (0 = all), `noise_batches` (20) | `psi`, `psi_ci95`, `gamma` |
//! | `duality` | `layer` (1), `test_samples` (2000), `hessian_samples` (5000), `hessian` (`lanczos` or `dense`), `top_k` (50), `remainder_probes` (20) | `true_gap`, `matched_gap`, `top_k_share`, `hessian_estimate` |
//! | `weight-stats` | `min_tail` (10), `min_eigenvalues` (50) | `layer<l>/alpha`, `/beta`, `/scale`, `/esd_alpha` |
//! | `few-shot` | `classes` (all), `points` (500), `shots` ([1, 5]), `episodes` (100) | `layer<l>/m<m>/snr`, `/predicted_error`, `/measured_error` |
//! | `robustness` | `samples` (2000), `noise_std` ([0.5, 1, 2, 4]), `fgsm_eps` ([0.05, 0.1, 0.2, 0.4]), `draws` (1) | `clean_accuracy`, `noise_<sigma>/accuracy`, `fgsm_<eps>/accuracy` |
//! | `local-elasticity` | `samples` (100), `classes` (all), `eta` (the run's lr) | `s_rel_same`, `s_rel_cross`, `kmeans_acc_rel`, `spectral_acc_rel`, `kernel_kmeans_acc_ker`, ... |
//!
//! Settings are checked when the probe is built (values) and before training starts (against
//! the network: a layer that does not exist), so a run never fails at its end over a probe.

use crate::INSTRUMENTS;
use crate::figure::{Figure, StudyPoint};
use crate::probe_log::Measurement;
use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

/// One instrument: what `[[probes]] name` selects, how its probe is built from its entry, how
/// its run figure is drawn from its log (`None`: no figure; the scalars are in its CSV), and what
/// one run adds to a study's figures (`None`: none; a study tabulates every scalar).
pub struct Instrument {
    pub name: &'static str,
    /// One line for the CLI's help.
    pub about: &'static str,
    pub build: fn(ProbeSpec) -> anyhow::Result<Box<dyn Probe>>,
    pub figure: Option<fn(&[Measurement]) -> anyhow::Result<Figure>>,
    pub study_points: Option<fn(&[Measurement]) -> anyhow::Result<Vec<StudyPoint>>>,
}

/// The instruments' names, in [`INSTRUMENTS`]' order.
pub fn names() -> Vec<&'static str> {
    INSTRUMENTS.iter().map(|i| i.name).collect()
}

/// The instrument called `name`, or an error listing them.
pub fn instrument(name: &str) -> anyhow::Result<&'static Instrument> {
    INSTRUMENTS.iter().find(|i| i.name == name).with_context(|| format!("config: unknown probe `{name}`; the probes are {}", names().join(", ")))
}

/// The probes of a run config, checked (unknown names or settings are errors naming the entry).
pub fn build(specs: &[ProbeSpec]) -> anyhow::Result<Vec<Box<dyn Probe>>> {
    specs.iter().map(build_one).collect()
}

/// A probe's settings from its `[[probes]]` entry.
pub(crate) fn settings<T: DeserializeOwned>(spec: &ProbeSpec) -> anyhow::Result<T> {
    toml::Value::Table(spec.settings.clone()).try_into().with_context(|| format!("config: probe `{}` has bad settings", spec.name))
}

fn build_one(spec: &ProbeSpec) -> anyhow::Result<Box<dyn Probe>> {
    (instrument(&spec.name)?.build)(spec.clone())
}

/// Run probe `name` once on `model` (settings from `spec`), outside of training.
pub fn offline(spec: &ProbeSpec, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
    let mut probe = build_one(spec)?;
    probe.check(&ctx.model.widths())?;
    probe.measure(ctx)
}

pub(crate) fn record<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("probe results serialize")
}

/// `layer` must index a weight matrix of a network with `widths` (`[input, hidden.., classes]`).
pub(crate) fn check_layer(probe: &str, layer: usize, widths: &[usize], what: &str) -> anyhow::Result<()> {
    let layers = widths.len() - 1;
    if layer >= layers {
        bail!("config: probe `{probe}`: `layer` = {layer}, but the network has {layers} layers (0..{}){what}", layers - 1);
    }
    Ok(())
}

/// Every class in `classes` must be one of the network's (`widths`: `[input, hidden.., classes]`).
pub(crate) fn check_classes(probe: &str, classes: &[i64], widths: &[usize]) -> anyhow::Result<()> {
    let n = *widths.last().expect("a network has an output layer") as i64;
    if let Some(c) = classes.iter().find(|&&c| c < 0 || c >= n) {
        bail!("config: probe `{probe}`: class {c} does not exist (the network has {n} classes)");
    }
    Ok(())
}

/// A seeded, class-balanced sample of `n` rows of a split (all rows when `n` is 0 or larger
/// than the split), so that a class-sorted file cannot hand an instrument a few classes only.
pub(crate) fn balanced_rows(split: &tailgrad_data::DeviceSplit, n: usize, seed: u64) -> Vec<i64> {
    let labels: Vec<u8> = tailgrad_model::loss::read_i64s(split.y.clone()).iter().map(|&l| l as u8).collect();
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
    let n = if n == 0 { labels.len() } else { n };
    tailgrad_data::balanced_sample(&labels, classes, n, seed).into_iter().map(|i| i as i64).collect()
}
