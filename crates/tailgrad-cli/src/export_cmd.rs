//! `tailgrad export RUN_DIR`: everything another framework needs to replay a run step for
//! step, in one safetensors file (numpy: `safetensors.numpy.load_file`; metadata with
//! `safe_open(...).metadata()`):
//!
//! | tensor | dtype, shape | meaning |
//! |---|---|---|
//! | `layers.<l>.weight` | f32 `[fan_in, fan_out]` | initial weights (`h = x W`; PyTorch's `Linear.weight` is the transpose) |
//! | `train_index` | i64 `[n]` | each training sample's index in its source file (metadata `source`) |
//! | `train_labels` | i64 `[n]` | the labels trained on (after label noise) |
//! | `order` | i64 `[epochs, n]` | row e: the order of epoch e (indices into the training split); batch b of epoch e is `order[e, b*B:(b+1)*B]` |
//!
//! Metadata: `spec` (the run's spec.toml), `dataset`, `source` (`train` or `test` file),
//! `mean` and `std` (per channel: inputs are `(pixel/255 - mean) / std`, or `pixel/255` when
//! `normalize = "unit"`), `batch_size`, `lr`.

use crate::{ExportArgs, data_cmd};
use anyhow::Context;
use safetensors::{Dtype, tensor::TensorView};
use std::collections::HashMap;
use std::process::ExitCode;
use tailgrad_data::Normalization;
use tailgrad_model::Mlp;
use tailgrad_train::RunSpec;

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let file = args.run_dir.join("spec.toml");
    let overrides: Vec<String> = args.data_dir.iter().map(|d| format!("data.dir={}", crate::toml_string(&d.display().to_string()))).collect();
    let spec = RunSpec::from_file(&file, &overrides).with_context(|| format!("{} is not a run directory", args.run_dir.display()))?;
    data_cmd::ensure(spec.data(), false)?;
    let split = spec.data().load(spec.seed())?;
    let model_spec = tailgrad_train::model_for(&spec, &split)?;
    // The trainer draws the initial weights on the host from (spec, seed): the same on every backend.
    let init = Mlp::init(&model_spec, spec.seed(), &burn::tensor::Device::flex())?.to_host();
    let n = split.train.len();
    let epochs = args.epochs.unwrap_or(spec.train().epochs() as u64).max(1);
    let order: Vec<i64> = (0..epochs).flat_map(|e| tailgrad_data::device::epoch_permutation(n, spec.seed(), e)).collect();
    let le = |v: &[i64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let index: Vec<i64> = split.train_index.iter().map(|&i| i as i64).collect();
    let labels: Vec<i64> = split.train.labels.iter().map(|&l| l as i64).collect();
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = init
        .iter()
        .map(|t| (t.name.clone(), Dtype::F32, t.shape.clone(), t.values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    buffers.push(("train_index".into(), Dtype::I64, vec![n], le(&index)));
    buffers.push(("train_labels".into(), Dtype::I64, vec![n], le(&labels)));
    buffers.push(("order".into(), Dtype::I64, vec![epochs as usize, n], le(&order)));
    let views = buffers.iter().map(|(name, dtype, shape, bytes)| Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?))).collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let (mean, std) = match spec.data().normalize() {
        Normalization::Standard => split.dataset.mean_std(),
        Normalization::Unit => (&[0.0f32, 0.0, 0.0][..split.train.shape[0]], &[1.0f32, 1.0, 1.0][..split.train.shape[0]]),
    };
    let meta = HashMap::from([
        ("spec".to_string(), spec.to_toml()),
        ("dataset".to_string(), split.dataset.to_string()),
        ("source".to_string(), if spec.data().split_test_file().is_some() { "test".into() } else { "train".into() }),
        ("mean".to_string(), serde_json::to_string(mean)?),
        ("std".to_string(), serde_json::to_string(std)?),
        ("batch_size".to_string(), spec.train().batch_size().to_string()),
        ("lr".to_string(), spec.train().lr().to_string()),
    ]);
    let bytes = safetensors::serialize(views, Some(meta))?;
    let out = args.out.unwrap_or_else(|| args.run_dir.join("export.safetensors"));
    tailgrad_rundir::io::write_atomically(&out, &bytes)?;
    eprintln!("wrote {} ({} layers, {n} training samples, {epochs} epochs of batch order)", out.display(), init.len());
    Ok(ExitCode::SUCCESS)
}
