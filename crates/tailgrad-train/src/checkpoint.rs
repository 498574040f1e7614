//! Checkpoints: `checkpoints/step-<NNNNNNNN>.safetensors` holding the weights, the momentum
//! buffers and, in the metadata, the position in training (`step`, `epoch`, `batch` within the
//! epoch) and the running bests. The data order is a function of `(seed, epoch)` (see
//! `tailgrad_data::device::epoch_permutation`), so this position is the whole RNG state.
//! `best.safetensors` holds the weights with the best test accuracy so far.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tailgrad_model::ModelError;
use tailgrad_model::tensors_io::{self, HostTensor};

/// Where a run stands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub step: u64,
    pub epoch: u64,
    /// Batches of `epoch` already taken.
    pub batch: u64,
    pub best_test_acc: f64,
    pub best_step: u64,
    pub wall_s: f64,
}

pub fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

fn step_path(run_dir: &Path, step: u64) -> PathBuf {
    dir(run_dir).join(format!("step-{step:08}.safetensors"))
}

/// Save a checkpoint and keep only the newest `keep` of them.
pub fn save(run_dir: &Path, tensors: &[HostTensor], pos: &Position, keep: usize) -> Result<(), ModelError> {
    let meta = HashMap::from([("position".to_string(), serde_json::to_string(pos).expect("serializable"))]);
    tensors_io::save(&step_path(run_dir, pos.step), tensors, meta)?;
    let mut all = list(run_dir);
    while all.len() > keep {
        let _ = std::fs::remove_file(all.remove(0));
    }
    Ok(())
}

/// Save the best weights so far.
pub fn save_best(run_dir: &Path, tensors: &[HostTensor], pos: &Position) -> Result<(), ModelError> {
    let meta = HashMap::from([("position".to_string(), serde_json::to_string(pos).expect("serializable"))]);
    tensors_io::save(&dir(run_dir).join("best.safetensors"), tensors, meta)
}

/// Step checkpoints, oldest first.
pub fn list(run_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(run_dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-") && n.ends_with(".safetensors")))
        .collect();
    v.sort();
    v
}

/// The newest checkpoint: its tensors and position.
pub fn latest(run_dir: &Path) -> Result<Option<(Vec<HostTensor>, Position)>, ModelError> {
    let Some(path) = list(run_dir).pop() else { return Ok(None) };
    load(&path).map(Some)
}

pub fn load(path: &Path) -> Result<(Vec<HostTensor>, Position), ModelError> {
    let (tensors, meta) = tensors_io::load(path)?;
    let pos = meta
        .get("position")
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| ModelError::File { path: path.display().to_string(), problem: "no training position in the metadata".into() })?;
    Ok((tensors, pos))
}
