//! Trainer tests on real MNIST (a balanced subset), on the CPU backend and on wgpu.

use super::*;
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use tailgrad_backend::{BackendChoice, select};
use tailgrad_model::loss::read_f32s;
use tailgrad_model::{Mlp, MlpSpec};
use tailgrad_rundir::{diagnostics as diag_file, metrics, steps};

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

fn options(resume: bool) -> TrainOptions<'static> {
    static CPU: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
    TrainOptions { resume, description: "cpu: flex".into(), ..TrainOptions::on(CPU.get_or_init(cpu)) }
}

fn run(spec: &RunSpec, dir: &Path, resume: bool) -> Summary {
    match train(spec, dir, options(resume)).unwrap() {
        RunEnd::Completed(s) => s,
        RunEnd::Stopped { step } => panic!("stopped at {step}"),
    }
}

#[test]
fn loss_falls_on_real_mnist_and_every_log_is_written() {
    let tmp = tailgrad_testkit::TempDir::new();
    let summary = run(&small_spec(&[]), tmp.path(), false);
    assert_eq!(summary.status, Status::Finished);
    assert_eq!(summary.steps, 40, "500 images / 25 per batch x 2 epochs");
    let rows = metrics::read_rows(tmp.path()).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].train_loss.is_none());
    assert!(rows[2].test_loss < 0.6 * rows[0].test_loss, "test loss {} -> {}", rows[0].test_loss, rows[2].test_loss);
    assert!(rows[2].test_acc > 0.6, "test accuracy {} after 2 epochs on 500 images", rows[2].test_acc);
    assert!(rows[2].train_loss.unwrap() < rows[1].train_loss.unwrap());
    assert!(tmp.path().join("checkpoints/best.safetensors").is_file());
    // Every step's loss; the metrics row's train loss is their batch-weighted mean.
    let step_rows = steps::read_rows(tmp.path()).unwrap();
    assert_eq!(step_rows.iter().map(|r| r.step).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>());
    let epoch2: f64 = step_rows[20..].iter().map(|r| r.loss).sum::<f64>() / 20.0;
    assert!((epoch2 - rows[2].train_loss.unwrap()).abs() < 1e-6, "{epoch2} vs {:?}", rows[2].train_loss);
    // Diagnostics at step 0 and after each epoch, for each of the 3 layers; in the summary too.
    let diag = diag_file::read_rows(tmp.path()).unwrap();
    assert_eq!(diag.iter().map(|r| (r.step, r.layer)).collect::<Vec<_>>(), [(0, 0), (0, 1), (0, 2), (20, 0), (20, 1), (20, 2), (40, 0), (40, 1), (40, 2)]);
    assert_eq!(summary.initial_diagnostics.len(), 3);
    assert_eq!(summary.final_diagnostics, diag[6..].iter().map(|r| r.layer_diagnostics()).collect::<Vec<_>>());
    assert!(summary.initial_diagnostics[2].saturation.is_none() && summary.initial_diagnostics[0].saturation.is_some());
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
    // Resuming a run that is over changes nothing, its summary included.
    let before = std::fs::read(tmp.path().join("summary.json")).unwrap();
    let resumed = run(&small_spec(&[]), tmp.path(), true);
    assert_eq!(resumed, Summary::read(tmp.path()).unwrap());
    assert_eq!((resumed.steps, resumed.final_test_acc, resumed.time.eval_samples), (summary.steps, summary.final_test_acc, summary.time.eval_samples));
    assert_eq!(std::fs::read(tmp.path().join("summary.json")).unwrap(), before);
    assert_eq!(metrics::read_rows(tmp.path()).unwrap().len(), 3);
    let again: RunSpec = RunSpec::from_file(&tmp.path().join("spec.toml"), &[]).unwrap();
    assert_eq!(again, small_spec(&[]), "spec.toml reproduces the run's spec");
    let e = train(&small_spec(&[]), tmp.path(), options(false)).unwrap_err().to_string();
    assert!(e.contains("already holds a run"), "{e}");
}

/// A probe that asks the run to stop when it reaches a step.
struct StopAt {
    spec: ProbeSpec,
    step: u64,
    flag: StopFlag,
}

impl StopAt {
    /// Training options that stop the run after step `step + 1` (the request comes before it).
    fn options(step: u64) -> TrainOptions<'static> {
        let flag = StopFlag::never();
        let probe = StopAt { spec: toml::from_str("name = \"stop\"\nat_end = false").unwrap(), step, flag: flag.clone() };
        TrainOptions { probes: vec![Box::new(probe)], stop: flag, ..options(false) }
    }
}

impl Probe for StopAt {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }
    fn before_step(&mut self, ctx: &ProbeContext) -> anyhow::Result<()> {
        if ctx.step == self.step {
            self.flag.request();
        }
        Ok(())
    }
    fn measure(&mut self, _: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        unreachable!("never due")
    }
}

#[test]
fn a_stop_request_mid_epoch_checkpoints_and_the_resumed_run_replays_the_uninterrupted_one() {
    let whole = tailgrad_testkit::TempDir::new();
    let parts = tailgrad_testkit::TempDir::new();
    let spec = small_spec(&["train.momentum=0.9", "train.eval_every_steps=10"]);
    run(&spec, whole.path(), false);
    // A stop requested before step 28 (mid-epoch 1): the session ends after step 28.
    match train(&spec, parts.path(), StopAt::options(27)).unwrap() {
        RunEnd::Stopped { step } => assert_eq!(step, 28),
        RunEnd::Completed(_) => panic!("the stop request was ignored"),
    }
    assert!(parts.path().join("checkpoints/step-00000028.safetensors").is_file());
    assert!(!parts.path().join("summary.json").exists());
    run(&spec, parts.path(), true);
    // Everything but the timings is identical: the metrics rows (the train-loss window of the
    // row in progress is part of the checkpoint), every step's loss, the diagnostics.
    let strip = |p: &Path| -> Vec<_> {
        metrics::read_rows(p).unwrap().into_iter().map(|r| (r.step, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.lr)).collect()
    };
    assert_eq!(strip(whole.path()).iter().map(|r| r.0).collect::<Vec<_>>(), [0, 10, 20, 30, 40]);
    assert_eq!(strip(whole.path()), strip(parts.path()));
    assert_eq!(steps::read_rows(whole.path()).unwrap(), steps::read_rows(parts.path()).unwrap());
    assert_eq!(diag_file::read_rows(whole.path()).unwrap(), diag_file::read_rows(parts.path()).unwrap());
}

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_older_one() {
    let whole = tailgrad_testkit::TempDir::new();
    let spec = small_spec(&["train.epochs=3"]);
    run(&spec, whole.path(), false);
    let tmp = tailgrad_testkit::TempDir::new();
    run(&spec, tmp.path(), false);
    // What a crash after epoch 3's checkpoint, with that file damaged, leaves.
    std::fs::remove_file(tmp.path().join("summary.json")).unwrap();
    std::fs::write(tmp.path().join("checkpoints/step-00000060.safetensors"), b"garbage").unwrap();
    let resumed = run(&spec, tmp.path(), true);
    assert_eq!(resumed.steps, 60);
    let losses = |d: &Path| metrics::read_rows(d).unwrap().iter().map(|r| r.test_loss).collect::<Vec<_>>();
    assert_eq!(losses(whole.path()), losses(tmp.path()));
    // Every checkpoint damaged: the seeded run starts again from step 0 and replays the curve.
    std::fs::remove_file(tmp.path().join("summary.json")).unwrap();
    for e in std::fs::read_dir(tmp.path().join("checkpoints")).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    assert_eq!(run(&spec, tmp.path(), true).steps, 60);
    assert_eq!(losses(whole.path()), losses(tmp.path()));
}

#[test]
fn a_run_directory_has_one_owner_and_a_fresh_run_needs_an_empty_one() {
    let tmp = tailgrad_testkit::TempDir::new();
    let dir = tmp.path().join("r");
    let held = tailgrad_rundir::RunLock::acquire(&dir).unwrap();
    let e = train(&small_spec(&[]), &dir, options(false)).unwrap_err().to_string();
    assert!(e.contains(&format!("is owned by process {}", std::process::id())), "{e}");
    assert!(!dir.join("spec.toml").exists(), "a refused run writes nothing");
    drop(held);
    std::fs::write(dir.join("old-checkpoint.safetensors"), b"x").unwrap();
    let e = train(&small_spec(&[]), &dir, options(false)).unwrap_err().to_string();
    assert!(e.contains("exists and is not empty (it holds old-checkpoint.safetensors)"), "{e}");
    // Missing data: the error names the folder, and nothing is written.
    let other = tmp.path().join("no-data");
    let e = train(&small_spec(&["data.dir=\"/nonexistent\""]), &other, options(false)).unwrap_err().to_string();
    assert!(e.contains("/nonexistent"), "{e}");
    assert!(!other.exists(), "a run that cannot start leaves no directory");
}

#[test]
fn a_spec_changed_in_code_meets_the_rules_of_a_config() {
    // RunSpec's fields are private (a struct literal does not compile: the compile_fail example
    // on RunSpec); a study or a script changes the raw form, and the same checks run again.
    let spec = small_spec(&[]);
    let changed = |change: &dyn Fn(&mut RawRunSpec)| {
        let mut raw = RawRunSpec::from(spec.clone());
        change(&mut raw);
        RunSpec::try_from(raw).map(|_| ()).map_err(|e| e.to_string())
    };
    assert_eq!(changed(&|r| r.train.lr = -1.0), Err("config: `train.lr` must be finite and > 0".into()));
    assert_eq!(changed(&|r| r.train.collapse.saturation = 0.0), Err("config: `train.collapse.saturation` must be in (0, 1]".into()));
    assert_eq!(changed(&|r| r.data.label_noise = 1.5), Err("data config: `data.label_noise` = 1.5 must be in [0, 1)".into()));
    assert_eq!(changed(&|r| r.model.hidden = Some(vec![8, 0])), Err("model: every hidden width must be > 0".into()));
    assert_eq!(changed(&|r| r.name = "a/b".into()), Err("config: `name` `a/b` must be a plain folder name, without `/` or `\\`".into()));
    assert_eq!(changed(&|r| r.log.check_every_steps = 0), Err("config: `log.check_every_steps` must be > 0".into()));
    // The raw form round-trips: nothing is lost or defaulted on the way.
    assert_eq!(changed(&|_| ()), Ok(()));
    assert_eq!(RunSpec::try_from(RawRunSpec::from(spec.clone())).unwrap(), spec);
}

#[test]
fn the_network_takes_its_sizes_from_the_data_and_refuses_sizes_that_do_not_fit() {
    let spec = small_spec(&[]);
    let split = spec.data().load(spec.seed()).unwrap();
    assert_eq!(crate::model_for(&spec, &split).unwrap().widths(), [784, 32, 32, 10], "0 = from the data");
    let sized = |extra: &str| {
        let spec = small_spec(&[extra]);
        crate::model_for(&spec, &split).map(|m| m.widths()).map_err(|e| e.to_string())
    };
    assert_eq!(sized("model.classes=12"), Ok(vec![784, 32, 32, 12]), "more outputs than classes are allowed");
    assert_eq!(sized("model.input=700"), Err("config: `model.input` = 700 but mnist images have 784 values".into()));
    assert_eq!(sized("model.classes=5"), Err("config: `model.classes` = 5 but mnist has 10 classes".into()));
}

#[test]
fn sgd_step_matches_the_formula() {
    // One linear layer, loss = sum(x W) with x = [1, 2]: dL/dW = x^T 1 = [[1, 1], [2, 2]].
    let device = cpu().autodiff();
    let spec: MlpSpec = toml::from_str("input = 2\nclasses = 2\nactivation = \"linear\"\ninit = { law = \"gaussian\" }").unwrap();
    let mut model = Mlp::init(&spec, 0, &device).unwrap();
    let w0 = model.to_host()[0].values.clone();
    // A network alone trains as a population of one.
    let mut net = tailgrad_model::StackedMlp::stack(&[&model]);
    let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 1, 2]), &device);
    let (sgd, mut velocity) = (sgd::Sgd::new(0.5, 0.1), sgd::Velocity::new(1));
    for k in 0..2 {
        let grads = net.forward(x.clone()).sum().backward();
        sgd.step(&mut net, &mut velocity, &grads, 0.01);
        net.write_member(0, &mut model);
        let w = model.to_host()[0].values.clone();
        let g = [1.0f32, 1.0, 2.0, 2.0];
        // Step 1: v = g + 0.1 w0, w1 = w0 - 0.01 v. Step 2: v' = 0.5 v + g + 0.1 w1.
        let v1: Vec<f32> = (0..4).map(|i| g[i] + 0.1 * w0[i]).collect();
        let w1: Vec<f32> = (0..4).map(|i| w0[i] - 0.01 * v1[i]).collect();
        let expected = if k == 0 { w1 } else { (0..4).map(|i| w1[i] - 0.01 * (0.5 * v1[i] + g[i] + 0.1 * w1[i])).collect() };
        for i in 0..4 {
            assert!((w[i] - expected[i]).abs() < 1e-6, "step {k}, entry {i}: {} vs {}", w[i], expected[i]);
        }
    }
}

#[test]
fn the_learning_rate_at_a_step_follows_one_convention() {
    // 10 steps per epoch, 100 planned. Step schedule every 2 epochs: the 20th step (position 19)
    // still uses lr, the 21st (position 20, the first of epoch 2) lr * gamma.
    let t = |schedule: &str| small_spec(&[&format!("train.schedule={schedule}"), "train.lr=2.0"]).train().clone();
    let step = t("{ kind = \"step\", every_epochs = 2, gamma = 0.5 }");
    assert_eq!([step.lr_at(0, 10, 100), step.lr_at(19, 10, 100), step.lr_at(20, 10, 100), step.lr_at(40, 10, 100)], [2.0, 2.0, 1.0, 0.5]);
    let cosine = t("{ kind = \"cosine\", min_lr = 0.2 }");
    assert_eq!(cosine.lr_at(0, 10, 100), 2.0);
    assert!((cosine.lr_at(50, 10, 100) - 1.1).abs() < 1e-12);
    assert!((cosine.lr_at(100, 10, 100) - 0.2).abs() < 1e-12);
    assert_eq!(t("{ kind = \"constant\" }").lr_at(77, 10, 100), 2.0);
}

#[test]
fn evaluations_are_spread_evenly_over_an_epoch() {
    let spec = small_spec(&["train.evals_per_epoch=2"]).train().clone();
    let due: Vec<u64> = (1..=469).filter(|&b| spec.evaluates_after(b, 469)).collect();
    assert_eq!(due, [235, 469], "halfway (rounded) and at the end");
    let three = small_spec(&["train.evals_per_epoch=3"]).train().clone();
    assert_eq!((1..=20).filter(|&b| three.evaluates_after(b, 20)).collect::<Vec<_>>(), [7, 13, 20]);
    let one = small_spec(&[]).train().clone();
    assert_eq!((1..=20).filter(|&b| one.evaluates_after(b, 20)).collect::<Vec<_>>(), [20]);
    // A run: 20 steps per epoch, 2 epochs, 2 evaluations per epoch: rows at 0, 10, 20, 30, 40.
    let tmp = tailgrad_testkit::TempDir::new();
    run(&small_spec(&["train.evals_per_epoch=2"]), tmp.path(), false);
    assert_eq!(metrics::read_rows(tmp.path()).unwrap().iter().map(|r| r.step).collect::<Vec<_>>(), [0, 10, 20, 30, 40]);
}

#[test]
fn config_errors_name_the_key() {
    let err = |extra: &str| RunSpec::from_toml(&small_spec(&[]).to_toml(), &[extra.to_string()], "cfg.toml").unwrap_err().to_string();
    assert_eq!(err("train.batch_size=0"), "config: `train.batch_size` must be > 0");
    assert_eq!(err("train.momentum=1"), "config: `train.momentum` must be in [0, 1)");
    assert!(err("train.lrr=0.1").starts_with("cfg.toml: unknown field `lrr`"), "{}", err("train.lrr=0.1"));
    assert_eq!(err("model.init=stable:alpha=0"), "--set model.init=stable:alpha=0: init: `alpha` = 0 is out of range: expected in (0, 2]");
    assert!(err("data.name=imagenet").contains("unknown variant `imagenet`"), "{}", err("data.name=imagenet"));
    assert_eq!(err("nonsense"), "--set nonsense: expected key=value");
    // Schedules that would train with a negative or undefined learning rate.
    assert_eq!(err("train.schedule={ kind = \"cosine\", min_lr = -1 }"), "config: `train.schedule.min_lr` = -1 must be in [0, train.lr = 0.05]");
    assert_eq!(err("train.schedule={ kind = \"step\", every_epochs = 1, gamma = -1 }"), "config: `train.schedule.gamma` must be finite and > 0");
    assert_eq!(err("train.schedule={ kind = \"step\", every_epochs = 1, gamma = nan }"), "config: `train.schedule.gamma` must be finite and > 0");
    assert_eq!(err("name=\"\""), "config: `name` must not be empty");
    assert_eq!(err("name=\"../x\""), "config: `name` `../x` must be a plain folder name, without `/` or `\\`");
    // The data settings are checked with the rest, before any file is read or run started.
    assert_eq!(err("data.label_noise=1.5"), "data config: `data.label_noise` = 1.5 must be in [0, 1)");
    assert!(err("data.merge=[[5, 8]]").starts_with("data config: `data.merge` = [[5, 8]] must be at least 2"), "{}", err("data.merge=[[5, 8]]"));
    let spec = RunSpec::from_toml(&small_spec(&[]).to_toml(), &["model.init=student-t:nu=3,sigma=2".into()], "x").unwrap();
    assert_eq!(spec.model().init().to_string(), "student-t:nu=3,sigma=2,fan=geometric");
}

/// Diagnostics against closed forms. A layer `h = x W` with Gaussian weights of standard deviation
/// `s = sigma_w / sqrt(784)` gives, for a fixed input x, `h_j ~ N(0, s^2 |x|^2)`: the expected
/// saturated fraction is `mean_x erfc(atanh(0.99) / (sqrt(2) s |x|))` and the expected mean
/// square `s^2 mean_x |x|^2`. On 1000 real MNIST inputs and 2000 units the estimates are within
/// ~1% of those; a wrong threshold (0.99 instead of atanh(0.99)) or a wrong fan convention misses
/// by far more than the 3% allowed.
#[test]
fn diagnostics_match_closed_forms_for_a_gaussian_layer() {
    let device = cpu();
    let spec = small_spec(&[]);
    let data = spec.data().load(0).unwrap();
    let x_host = data.train.normalized(data.dataset, spec.data().normalize());
    let n = 500; // the subset holds 500 images
    let x = Tensor::<2>::from_data(TensorData::new(x_host[..n * 784].to_vec(), [n, 784]), &device);
    let norms2: Vec<f64> = x_host[..n * 784].chunks(784).map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum()).collect();
    for sigma_w in [0.3, 1.0, 3.0] {
        let mlp: MlpSpec = toml::from_str(&format!(
            "input = 784\nclasses = 10\nhidden = [2000]\ninit = {{ law = \"gaussian\", sigma_w = {sigma_w}, fan = \"in\" }}"
        ))
        .unwrap();
        let model = Mlp::init(&mlp, 3, &device).unwrap();
        let d = diagnostics::measure(&model, &mlp, x.clone());
        let s = sigma_w / 28.0;
        let expected_sat = norms2.iter().map(|q| libm::erfc(diagnostics::TANH_SATURATION_PREACT / (2f64.sqrt() * s * q.sqrt()))).sum::<f64>() / n as f64;
        let expected_rms = (s * s * norms2.iter().sum::<f64>() / n as f64).sqrt();
        let sat = d[0].saturation.unwrap();
        assert!((sat - expected_sat).abs() < 0.03 * expected_sat.max(0.01), "sigma_w {sigma_w}: saturation {sat} vs {expected_sat}");
        assert!((d[0].preact_rms / expected_rms - 1.0).abs() < 0.03, "sigma_w {sigma_w}: rms {} vs {expected_rms}", d[0].preact_rms);
        assert!(d[0].hill_alpha > 5.0, "a Gaussian layer has no power-law tail: {}", d[0].hill_alpha);
        assert!(d[1].saturation.is_none(), "the output layer has logits, not saturation");
    }
    // The largest Cauchy weight in units of its scale: for n values of |Cauchy(c)|, M / c has
    // P(M/c <= t) ~ exp(-2n / (pi t)), median 2n / (pi ln 2). Over 99 seeds of a 784 x 100 layer
    // the median of max|W|/c falls within a factor 1.5 of it (a wrong scale c, off by 2, cannot).
    let narrow: MlpSpec = toml::from_str("input = 784\nclasses = 10\nhidden = [100]\ninit = { law = \"cauchy\" }").unwrap();
    let mut maxima: Vec<f64> =
        (0..99).map(|seed| diagnostics::measure(&Mlp::init(&narrow, seed, &device).unwrap(), &narrow, x.clone())[0].max_abs_w_over_c).collect();
    maxima.sort_by(f64::total_cmp);
    let expected = 2.0 * 784.0 * 100.0 / (std::f64::consts::PI * std::f64::consts::LN_2);
    assert!(maxima[49] > expected / 1.5 && maxima[49] < expected * 1.5, "median max|W|/c {} vs {expected}", maxima[49]);
    let cauchy: MlpSpec = toml::from_str("input = 784\nclasses = 10\nhidden = [2000]\ninit = { law = \"cauchy\" }").unwrap();
    let d = diagnostics::measure(&Mlp::init(&cauchy, 0, &device).unwrap(), &cauchy, x);
    assert!((d[0].hill_alpha - 1.0).abs() < 0.1, "Cauchy layer: Hill {}", d[0].hill_alpha);
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
    train(&spec, on_gpu.path(), TrainOptions { description: gpu.description.clone(), ..TrainOptions::on(&gpu.device) }).unwrap();
    let (a, b) = (metrics::read_rows(on_cpu.path()).unwrap(), metrics::read_rows(on_gpu.path()).unwrap());
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    // Tolerance: f32 sums over 10k test images in a different order; observed differences ~1e-6.
    for (x, y) in a.iter().zip(&b) {
        assert!((x.test_loss - y.test_loss).abs() < 1e-4, "test loss cpu {} vs wgpu {}", x.test_loss, y.test_loss);
        assert!((x.test_acc - y.test_acc).abs() <= 2e-4, "test acc cpu {} vs wgpu {}", x.test_acc, y.test_acc);
    }
    let (lx, ly) = (a[1].train_loss.unwrap(), b[1].train_loss.unwrap());
    assert!((lx - ly).abs() < 1e-4, "mean train loss over 5 steps: cpu {lx} vs wgpu {ly}");
    // The diagnostics agree too (the fixed batch, the weight statistics, the activity).
    let (da, db) = (diag_file::read_rows(on_cpu.path()).unwrap(), diag_file::read_rows(on_gpu.path()).unwrap());
    assert_eq!(da.len(), db.len());
    for (x, y) in da.iter().zip(&db) {
        assert!((x.preact_rms - y.preact_rms).abs() < 1e-4 * x.preact_rms.max(1.0), "{x:?} vs {y:?}");
        assert_eq!((x.max_abs_w_over_c, x.hill_alpha), (y.max_abs_w_over_c, y.hill_alpha));
    }
    // A split held in several device buffers (as full MNIST is on a GPU) gives the same batches.
    let data = spec.data().load(spec.seed()).unwrap();
    let upload = |device: &Device, rows| tailgrad_data::DeviceSplit::upload_in_blocks(&data.train, data.dataset, spec.data().normalize(), device, rows);
    let (whole, blocks) = (upload(&cpu(), usize::MAX), upload(&gpu.device, 64));
    assert_eq!(blocks.x.blocks().count(), 8, "500 images in blocks of 64");
    let (order_cpu, order_gpu) = (tailgrad_data::EpochOrder::new(500, 1, 0, &cpu()), tailgrad_data::EpochOrder::new(500, 1, 0, &gpu.device));
    for b in [0, 7, 19] {
        let (x_cpu, x_gpu) = (whole.batch(&order_cpu, b, 25).0, blocks.batch(&order_gpu, b, 25).0);
        assert_eq!(read_f32s(x_cpu), read_f32s(x_gpu), "batch {b}");
    }
}

mod population;
