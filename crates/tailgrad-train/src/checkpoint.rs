//! Checkpoints: `checkpoints/step-<NNNNNNNN>.safetensors` holding the weights, the momentum
//! buffers and, in the metadata, the position in training (`step`, `epoch`, `batch` within the
//! epoch), the running sums of the metrics row in progress, the running bests and what collapse
//! detection has seen. The data order is a function of `(seed, epoch)` (see
//! `tailgrad_data::device::epoch_permutation`), so this position is the whole RNG state, and a
//! run resumed from any checkpoint (mid-epoch ones included) logs the same rows as an
//! uninterrupted one. `best.safetensors` holds the weights with the best test accuracy so far.

use crate::outcome::CollapseWatch;
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
    /// The training loss and correct-count sums, and the samples, since the last metrics row.
    #[serde(default)]
    pub window: Window,
    #[serde(default)]
    pub collapse: CollapseWatch,
}

/// Sums over the minibatches since the last metrics row (its `train_loss` and `train_acc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub loss_sum: f64,
    pub correct_sum: f64,
    pub seen: u64,
}

pub fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

fn step_path(run_dir: &Path, step: u64) -> PathBuf {
    dir(run_dir).join(format!("step-{step:08}.safetensors"))
}

fn metadata(pos: &Position) -> HashMap<String, String> {
    HashMap::from([("position".to_string(), serde_json::to_string(pos).expect("serializable"))])
}

/// Save a checkpoint and keep only the newest `keep` of them.
pub fn save(run_dir: &Path, tensors: &[HostTensor], pos: &Position, keep: usize) -> Result<(), ModelError> {
    tensors_io::save(&step_path(run_dir, pos.step), tensors, metadata(pos))?;
    let mut all = list(run_dir);
    while all.len() > keep {
        let _ = std::fs::remove_file(all.remove(0));
    }
    Ok(())
}

/// Save the best weights so far.
pub fn save_best(run_dir: &Path, tensors: &[HostTensor], pos: &Position) -> Result<(), ModelError> {
    tensors_io::save(&dir(run_dir).join("best.safetensors"), tensors, metadata(pos))
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

/// The newest checkpoint that reads back whole: its tensors and position. Unreadable newer ones
/// (a disk that filled up, a file damaged after the fact) are reported through `warn` and
/// skipped. When none is readable the run starts again from step 0 (`None`): it is seeded, so
/// it replays the same curve, and its logs are rewritten from the start.
pub fn latest_valid(run_dir: &Path, mut warn: impl FnMut(String)) -> Option<(Vec<HostTensor>, Position)> {
    let all = list(run_dir);
    for path in all.iter().rev() {
        match load(path) {
            Ok(found) => return Some(found),
            Err(e) => warn(format!("warning: skipping unreadable checkpoint ({e}); trying an older one")),
        }
    }
    if !all.is_empty() {
        warn("warning: no readable checkpoint; the run starts again from step 0 (seeded: it replays the same curve)".into());
    }
    None
}

pub fn load(path: &Path) -> Result<(Vec<HostTensor>, Position), ModelError> {
    let (tensors, meta) = tensors_io::load(path)?;
    let pos = meta
        .get("position")
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| ModelError::File { path: path.display().to_string(), problem: "no training position in the metadata".into() })?;
    Ok((tensors, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_reads_back_bit_for_bit() {
        // Issue 24, item 3: a population resumed mid-interval logged train_loss 0.969567020626172
        // where the uninterrupted run logged 0.9695670206261717: the JSON reader returned some
        // sums 1 ulp off (985.6906946328695 is one such value for serde_json's fast path).
        let run = tailgrad_testkit::TempDir::new();
        let pos = Position {
            step: 47,
            epoch: 2,
            batch: 7,
            best_test_acc: 0.9403000116348267,
            best_step: 40,
            wall_s: 12.345678901234567,
            window: Window { loss_sum: 985.6906946328695, correct_sum: 311.0, seen: 350 },
            ..Default::default()
        };
        let tensors = [HostTensor { name: "w0".into(), shape: vec![1], values: vec![1.0] }];
        save(run.path(), &tensors, &pos, 2).unwrap();
        let (_, back) = load(&list(run.path())[0]).unwrap();
        assert_eq!(back.window.loss_sum.to_bits(), pos.window.loss_sum.to_bits());
        assert_eq!(back, pos);
        // And every sum a window can hold: 10,000 pseudo-random values over the range of losses.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
            let text = serde_json::to_string(&Position { window: Window { loss_sum: v, ..Default::default() }, ..Default::default() }).unwrap();
            let back: Position = serde_json::from_str(&text).unwrap();
            assert_eq!(back.window.loss_sum.to_bits(), v.to_bits(), "{v}");
        }
    }
}
