//! Trainer tests on real MNIST (a balanced subset), on the CPU backend and on wgpu.

use super::*;
use crate::metrics::read_rows;
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use tailgrad_backend::{BackendChoice, select};
use tailgrad_model::{Mlp, MlpSpec};

use tailgrad_testkit::data_dir;

fn small_spec(extra: &[&str]) -> RunSpec {
    let text = format!(
        r#"
name = "t"
seed = 1
backend = "cpu"
[data]
name = "mnist"
dir = "{}"
train_per_class = 50
[model]
hidden = [32, 32]
init = {{ law = "stable", alpha = 1.5, sigma_w = 1.0 }}
[train]
epochs = 2
batch_size = 25
lr = 0.05
[log]
console = "quiet"
"#,
        data_dir().display()
    );
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    RunSpec::from_toml(&text, &extra, "test").unwrap()
}

fn cpu() -> Device {
    Device::flex()
}

fn run(spec: &RunSpec, dir: &Path, resume: bool) -> Summary {
    train(spec, dir, Backend { device: &cpu(), description: "cpu: flex" }, resume, &mut []).unwrap()
}

#[test]
fn loss_falls_on_real_mnist() {
    let tmp = tailgrad_testkit::TempDir::new();
    let summary = run(&small_spec(&[]), tmp.path(), false);
    assert_eq!(summary.status, Status::Finished);
    assert_eq!(summary.steps, 40, "500 images / 25 per batch x 2 epochs");
    let rows = read_rows(&tmp.path().join("metrics.csv")).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].train_loss.is_none());
    assert!(rows[2].test_loss < 0.6 * rows[0].test_loss, "test loss {} -> {}", rows[0].test_loss, rows[2].test_loss);
    assert!(rows[2].test_acc > 0.6, "test accuracy {} after 2 epochs on 500 images", rows[2].test_acc);
    assert!(rows[2].train_loss.unwrap() < rows[1].train_loss.unwrap());
    assert!(tmp.path().join("checkpoints/best.safetensors").is_file());
    // The time profile: every bucket was used, the buckets fit in the total, and the full test
    // set (10,000 images; the subset is of the training set) was evaluated at each of the 3 rows.
    let time = &summary.time;
    assert_eq!(time.eval_samples, 3 * 10_000);
    for (name, s) in [("data", time.data_load_s), ("steps", time.train_steps_s), ("batching", time.batching_s), ("eval", time.eval_s), ("logging", time.logging_s), ("checkpoints", time.checkpoint_s)] {
        assert!(s > 0.0, "{name}: {s} s");
    }
    assert!(time.batching_s < time.train_steps_s);
    let parts = time.data_load_s + time.train_steps_s + time.eval_s + time.logging_s + time.checkpoint_s + time.probes_s;
    assert!(parts <= time.total_s && parts > 0.9 * time.total_s, "{time:?}");
    assert!(std::fs::read_dir(tmp.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("events.out.tfevents.")));
    // Resuming a complete run trains nothing and keeps its results.
    let resumed = run(&small_spec(&[]), tmp.path(), true);
    assert_eq!((resumed.steps, resumed.final_test_acc), (summary.steps, summary.final_test_acc));
    assert_eq!(read_rows(&tmp.path().join("metrics.csv")).unwrap().len(), 3);
    let again: RunSpec = RunSpec::from_file(&tmp.path().join("spec.toml"), &[]).unwrap();
    assert_eq!(again, small_spec(&[]), "spec.toml reproduces the run's spec");
    assert!(train(&small_spec(&[]), tmp.path(), Backend { device: &cpu(), description: "" }, false, &mut [])
        .unwrap_err()
        .to_string()
        .contains("already holds a run"));
}

#[test]
fn stopping_mid_epoch_and_resuming_replays_the_same_run() {
    let whole = tailgrad_testkit::TempDir::new();
    let parts = tailgrad_testkit::TempDir::new();
    let spec = small_spec(&["train.momentum=0.9", "train.eval_every_steps=10"]);
    run(&spec, whole.path(), false);
    // Stop after 27 steps (mid-epoch 1), then resume with the limit lifted.
    run(&small_spec(&["train.momentum=0.9", "train.eval_every_steps=10", "train.max_steps=27"]), parts.path(), false);
    run(&spec, parts.path(), true);
    let strip = |p: &Path| -> Vec<_> {
        read_rows(&p.join("metrics.csv"))
            .unwrap()
            .into_iter()
            .map(|r| (r.step, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.lr))
            .collect()
    };
    let (a, b) = (strip(whole.path()), strip(parts.path()));
    assert_eq!(a.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 10, 20, 30, 40]);
    // The stopped run logged a row at step 27, which the uninterrupted one does not have.
    let b: Vec<_> = b.into_iter().filter(|r| r.0 != 27).collect();
    assert_eq!(a[..3], b[..3]);
    // Rows after the stop: the train-loss window restarts at step 27, so compare test metrics.
    for (x, y) in a[3..].iter().zip(&b[3..]) {
        assert_eq!((x.0, x.3, x.4), (y.0, y.3, y.4));
    }
}

#[test]
fn sgd_step_matches_the_formula() {
    // One linear layer, loss = sum(x W) with x = [1, 2]: dL/dW = x^T 1 = [[1, 1], [2, 2]].
    let device = cpu().autodiff();
    let spec: MlpSpec = toml::from_str("input = 2\nclasses = 2\nactivation = \"linear\"\ninit = { law = \"gaussian\" }").unwrap();
    let mut model = Mlp::init(&spec, 0, &device).unwrap();
    let w0 = model.to_host()[0].values.clone();
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device);
    let mut sgd = sgd::Sgd::new(0.5, 0.1, 1);
    for k in 0..2 {
        let grads = model.forward(x.clone()).sum().backward();
        sgd.step(&mut model, &grads, 0.01);
        let w = model.to_host()[0].values.clone();
        let g = [1.0f32, 1.0, 2.0, 2.0];
        // Step 1: v = g + 0.1 w0, w1 = w0 - 0.01 v. Step 2: v' = 0.5 v + g + 0.1 w1.
        let v1: Vec<f32> = (0..4).map(|i| g[i] + 0.1 * w0[i]).collect();
        let w1: Vec<f32> = (0..4).map(|i| w0[i] - 0.01 * v1[i]).collect();
        let expected = if k == 0 {
            w1
        } else {
            (0..4).map(|i| w1[i] - 0.01 * (0.5 * v1[i] + g[i] + 0.1 * w1[i])).collect()
        };
        for i in 0..4 {
            assert!((w[i] - expected[i]).abs() < 1e-6, "step {k}, entry {i}: {} vs {}", w[i], expected[i]);
        }
    }
}

#[test]
fn schedules_and_config_errors() {
    let s = Schedule::Step { every_epochs: 2, gamma: 0.1 };
    assert_eq!(s.lr(1.0, 39, 10, 100), 0.1);
    assert_eq!(s.lr(1.0, 40, 10, 100), 0.1f64.powi(2));
    let c = Schedule::Cosine { min_lr: 0.0 };
    assert!((c.lr(2.0, 50, 10, 100) - 1.0).abs() < 1e-12);
    assert_eq!(c.lr(2.0, 0, 10, 100), 2.0);
    let err = |extra: &str| RunSpec::from_toml(&small_spec(&[]).to_toml(), &[extra.to_string()], "cfg.toml").unwrap_err().to_string();
    assert_eq!(err("train.batch_size=0"), "config: `train.batch_size` must be > 0");
    assert_eq!(err("train.momentum=1"), "config: `train.momentum` must be in [0, 1)");
    assert!(err("train.lrr=0.1").starts_with("cfg.toml: unknown field `lrr`"), "{}", err("train.lrr=0.1"));
    assert_eq!(
        err("model.init=stable:alpha=0"),
        "--set model.init=stable:alpha=0: init: `alpha` = 0 is out of range: expected in (0, 2]"
    );
    assert!(err("data.name=imagenet").contains("unknown variant `imagenet`"), "{}", err("data.name=imagenet"));
    assert_eq!(err("nonsense"), "--set nonsense: expected key=value");
    let spec = RunSpec::from_toml(&small_spec(&[]).to_toml(), &["model.init=student-t:nu=3,sigma=2".into()], "x").unwrap();
    assert_eq!(spec.model.init.to_string(), "student-t:nu=3,sigma=2,fan=geometric");
}

/// wgpu (Mesa's lavapipe in CI; any adapter elsewhere) against the CPU backend: the same MLP from
/// the same initial weights, five SGD steps on the same real batches, and the test-set loss and
/// accuracy before and after. Fails, never skips, when wgpu has no adapter.
#[test]
fn wgpu_agrees_with_the_cpu_backend() {
    let gpu = select(BackendChoice::Wgpu).expect("a wgpu adapter (CI installs mesa-vulkan-drivers)");
    eprintln!("wgpu test on {}", gpu.description);
    let spec = small_spec(&["train.max_steps=5", "train.eval_batch=2000", "log.tensorboard=false"]);
    let (on_cpu, on_gpu) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    run(&spec, on_cpu.path(), false);
    train(&spec, on_gpu.path(), Backend { device: &gpu.device, description: &gpu.description }, false, &mut []).unwrap();
    let (a, b) = (read_rows(&on_cpu.path().join("metrics.csv")).unwrap(), read_rows(&on_gpu.path().join("metrics.csv")).unwrap());
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    // Tolerance: f32 sums over 10k test images in a different order; observed differences ~1e-6.
    for (x, y) in a.iter().zip(&b) {
        assert!((x.test_loss - y.test_loss).abs() < 1e-4, "test loss cpu {} vs wgpu {}", x.test_loss, y.test_loss);
        assert!((x.test_acc - y.test_acc).abs() <= 2e-4, "test acc cpu {} vs wgpu {}", x.test_acc, y.test_acc);
    }
    let (lx, ly) = (a[1].train_loss.unwrap(), b[1].train_loss.unwrap());
    assert!((lx - ly).abs() < 1e-4, "mean train loss over 5 steps: cpu {lx} vs wgpu {ly}");
    // A split held in several device buffers (as full MNIST is on a GPU) gives the same batches.
    let data = spec.data.load(spec.seed).unwrap();
    let upload = |device: &Device, rows| tailgrad_data::DeviceSplit::upload_in_blocks(&data.train, data.dataset, spec.data.normalize, device, rows);
    let (whole, blocks) = (upload(&cpu(), usize::MAX), upload(&gpu.device, 64));
    assert_eq!(blocks.x.blocks().count(), 8, "500 images in blocks of 64");
    let (order_cpu, order_gpu) = (tailgrad_data::EpochOrder::new(500, 1, 0, &cpu()), tailgrad_data::EpochOrder::new(500, 1, 0, &gpu.device));
    for b in [0, 7, 19] {
        let (x_cpu, x_gpu) = (whole.batch(&order_cpu, b, 25).0, blocks.batch(&order_gpu, b, 25).0);
        assert_eq!(objective::read_f32s(x_cpu), objective::read_f32s(x_gpu), "batch {b}");
    }
}

