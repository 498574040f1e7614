//! Helpers shared by the end-to-end test files: the `tailgrad` binary, small configs on real
//! MNIST, and TensorBoard's own reader.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

pub use tailgrad_testkit::repo_root as repo;

pub fn tailgrad() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tailgrad"));
    c.current_dir(repo());
    if std::env::var_os("TAILGRAD_DATA").is_none() {
        c.env("TAILGRAD_DATA", repo().join("datasets"));
    }
    c
}

pub fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "tailgrad failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Wait until `ready()` holds (polling every 2 ms, at most 5 minutes), failing if `child` ends
/// first: the moment to kill it mid-way.
pub fn wait_while_running(child: &mut Child, ready: impl Fn() -> bool, what: &str) {
    let started = Instant::now();
    while !ready() {
        assert!(child.try_wait().unwrap().is_none(), "it ended before {what}");
        assert!(started.elapsed() < Duration::from_secs(300), "no {what} within 5 minutes");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// SIGKILL the process group `child` leads (a study and its workers), and reap it.
pub fn kill_group(child: &mut Child) {
    // `--` so that the negative number is read as a process group, not as an option.
    let killed = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status().unwrap();
    assert!(killed.success());
    child.wait().unwrap();
}

pub fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(|r| r.unwrap()).collect()
}

/// A small run config on real MNIST: 100 images per class, 3 epochs of 20 steps.
pub const SMALL_RUN: &str = r#"
seed = 3
backend = "cpu"
[data]
name = "mnist"
train_per_class = 100
[model]
hidden = [64, 64]
activation = "tanh"
init = { law = "stable", alpha = 1.5, sigma_w = 1.0 }
[train]
epochs = 3
batch_size = 50
lr = 0.05
[log]
console = "quiet"
"#;

pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// Parse a run's TensorBoard files with TensorBoard's own EventAccumulator (Python), as a user
/// opening them in TensorBoard would. Needs `TAILGRAD_TB_PYTHON` (set by `.ci/run`).
pub fn tensorboard_view(run_dir: &Path) -> Option<serde_json::Value> {
    let python = match std::env::var("TAILGRAD_TB_PYTHON") {
        Ok(p) => p,
        Err(_) if std::env::var_os("CI").is_some() => panic!("CI must set TAILGRAD_TB_PYTHON (see .ci/run)"),
        Err(_) => {
            eprintln!("TAILGRAD_TB_PYTHON not set: skipping the TensorBoard reader check (CI runs it)");
            return None;
        }
    };
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
ea.Reload()
tags = ea.Tags()
print(json.dumps({
    "scalars": {t: [[e.step, e.value] for e in ea.Scalars(t)] for t in tags["scalars"]},
    "histograms": {t: len(ea.Histograms(t)) for t in tags["histograms"]},
    "tensors": tags["tensors"],
}))
"#;
    let out = ok(Command::new(python).arg("-c").arg(script).arg(run_dir).output().unwrap());
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

pub fn small_study_args(name: &str) -> Vec<String> {
    [
        "experiments/gauss_vs_levy_mnist.toml",
        "--set",
        &format!("study.name={name}"),
        "--set",
        "study.seeds=[0]",
        "--set",
        "study.alpha=[1.5, 2.0]",
        "--set",
        "study.sigma_w=[0.5, 1.0]",
        "--set",
        "run.data.train_per_class=100",
        "--set",
        "run.model.depth=2",
        "--set",
        "run.model.width=64",
        "--set",
        "run.train.epochs=3",
        "--set",
        "run.train.evals_per_epoch=1",
        "--set",
        "run.train.batch_size=50",
        "--set",
        "run.train.lr=0.05",
        "--backend",
        "cpu",
        "--console",
        "quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
