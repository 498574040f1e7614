//! Population training against the same runs trained alone.

use super::{options, run, small_spec};
use crate::checkpoint;
use crate::population::{Member, population_key, train_population};
use crate::{RunEnd, RunSpec, Status, StopFlag, TrainOptions};
use burn::tensor::Device;
use std::path::{Path, PathBuf};
use tailgrad_rundir::{diagnostics as diag_file, metrics, steps};

/// Three members that differ in init law, scale and seed (two share a seed, so a data order).
fn members(extra: &[&str]) -> Vec<RunSpec> {
    let laws = [("1.5", "1.0", "1"), ("2.0", "0.5", "2"), ("1.0", "2.5", "1")];
    laws.iter()
        .enumerate()
        .map(|(k, (alpha, sigma, seed))| {
            let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            args.push(format!("model.init={{ law = \"stable\", alpha = {alpha}, sigma_w = {sigma} }}"));
            args.push(format!("seed={seed}"));
            args.push(format!("name=\"m{k}\""));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            small_spec(&refs)
        })
        .collect()
}

fn train_together(specs: &[RunSpec], root: &Path, resume: bool, stop: StopFlag) -> Vec<RunEnd> {
    let members: Vec<Member> = specs.iter().map(|s| Member { spec: s.clone(), run_dir: root.join(s.name()), resume }).collect();
    train_population(&members, &Device::flex(), "cpu: flex", stop).unwrap().into_iter().map(|e| e.unwrap()).collect()
}

/// Everything a run writes but its timings: metrics rows, every step's loss and accuracy, the
/// diagnostics, and the final weights (and momentum) to the bit.
fn assert_same_run(alone: &Path, member: &Path) {
    let strip = |p: &Path| -> Vec<_> {
        metrics::read_rows(p).unwrap().into_iter().map(|r| (r.step, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.lr)).collect()
    };
    assert_eq!(strip(alone), strip(member), "{}", member.display());
    assert_eq!(steps::read_rows(alone).unwrap(), steps::read_rows(member).unwrap(), "{}", member.display());
    assert_eq!(diag_file::read_rows(alone).unwrap(), diag_file::read_rows(member).unwrap(), "{}", member.display());
    let weights = |p: &Path| checkpoint::latest_valid(p, |w| panic!("{w}")).expect("a checkpoint").0;
    let (a, b) = (weights(alone), weights(member));
    assert_eq!(a.iter().map(|t| &t.name).collect::<Vec<_>>(), b.iter().map(|t| &t.name).collect::<Vec<_>>());
    for (x, y) in a.iter().zip(&b) {
        assert!(x.values == y.values, "{}: {} differs from the run alone", member.display(), x.name);
    }
}

fn dirs(root: &Path, specs: &[RunSpec]) -> Vec<PathBuf> {
    specs.iter().map(|s| root.join(s.name())).collect()
}

#[test]
fn a_population_member_trains_exactly_as_it_would_alone() {
    // Momentum and biases, so that the stacked optimizer state and bias gradients are exercised.
    let specs = members(&["train.momentum=0.9", "train.eval_every_steps=10", "model.bias=true"]);
    let (alone, together) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    for (spec, dir) in specs.iter().zip(dirs(alone.path(), &specs)) {
        run(spec, &dir, false);
    }
    let ends = train_together(&specs, together.path(), false, StopFlag::never());
    for (end, (a, b)) in ends.iter().zip(dirs(alone.path(), &specs).iter().zip(dirs(together.path(), &specs))) {
        let RunEnd::Completed(s) = end else { panic!("stopped") };
        assert_eq!(s.status, Status::Finished);
        assert_eq!(s.steps, 40);
        assert!(s.backend.contains("population of 3"), "{}", s.backend);
        assert_same_run(a, &b);
    }
}

#[test]
fn a_diverging_member_ends_alone_and_the_others_train_on() {
    // An output layer a million times too large: the first loss is far beyond `max_loss`.
    let mut specs = members(&["train.eval_every_steps=10"]);
    specs[1] = small_spec(&["train.eval_every_steps=10", "seed=2", "name=\"m1\"", "model.init={ law = \"stable\", alpha = 2.0, sigma_w = 1e6 }"]);
    let (alone, together) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    let ends = train_together(&specs, together.path(), false, StopFlag::never());
    let statuses: Vec<Status> = ends.iter().map(|e| match e { RunEnd::Completed(s) => s.status, RunEnd::Stopped { .. } => panic!("stopped") }).collect();
    assert_eq!(statuses, [Status::Finished, Status::Diverged, Status::Finished]);
    let RunEnd::Completed(diverged) = &ends[1] else { unreachable!() };
    assert_eq!(diverged.diverged_at_step, Some(1));
    for k in [0, 2] {
        let dir = alone.path().join(specs[k].name());
        run(&specs[k], &dir, false);
        assert_same_run(&dir, &together.path().join(specs[k].name()));
    }
}

#[test]
fn a_stopped_population_resumes_to_the_uninterrupted_result() {
    let specs = members(&["train.momentum=0.9", "train.eval_every_steps=10"]);
    let (whole, parts) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    train_together(&specs, whole.path(), false, StopFlag::never());
    // A stop requested before the first step: every member checkpoints after step 1 and stops.
    let flag = StopFlag::never();
    flag.request();
    for end in train_together(&specs, parts.path(), false, flag) {
        assert!(matches!(end, RunEnd::Stopped { step: 1 }), "{end:?}");
    }
    // Members at three positions: m0 resumed alone to the end, m1 alone to step 28 (mid-epoch 1),
    // m2 still at step 1. The population reports m0 as done, then trains m2 from step 1 and m1
    // from step 28, each group as its own population.
    crate::train(&specs[0], &parts.path().join(specs[0].name()), options(true)).unwrap();
    let options_28 = TrainOptions { resume: true, ..super::StopAt::options(27) };
    assert!(matches!(crate::train(&specs[1], &parts.path().join(specs[1].name()), options_28).unwrap(), RunEnd::Stopped { step: 28 }));
    let ends = train_together(&specs, parts.path(), true, StopFlag::never());
    assert!(ends.iter().all(|e| matches!(e, RunEnd::Completed(s) if s.status == Status::Finished && s.steps == 40)), "{ends:?}");
    for (a, b) in dirs(whole.path(), &specs).iter().zip(dirs(parts.path(), &specs)) {
        assert_same_run(a, &b);
    }
}

#[test]
fn only_runs_that_differ_in_seed_and_init_law_share_a_population() {
    let specs = members(&[]);
    let key = population_key(&specs[0]);
    assert!(key.is_some());
    assert!(specs.iter().all(|s| population_key(s) == key));
    assert_ne!(population_key(&small_spec(&["train.lr=0.1"])), key, "a different learning rate");
    assert_ne!(population_key(&small_spec(&["model.hidden=[32, 16]"])), key, "a different architecture");
    // With a validation split the data depend on the seed: equal seeds only.
    let (a, b) = (small_spec(&["data.validation=50", "seed=1"]), small_spec(&["data.validation=50", "seed=2"]));
    assert_ne!(population_key(&a), population_key(&b));
    let mixed = [specs[0].clone(), small_spec(&["train.lr=0.1", "name=\"other\""])];
    let tmp = tailgrad_testkit::TempDir::new();
    let members: Vec<Member> = mixed.iter().map(|s| Member { spec: s.clone(), run_dir: tmp.path().join(s.name()), resume: false }).collect();
    let e = train_population(&members, &Device::flex(), "cpu: flex", StopFlag::never()).unwrap_err().to_string();
    assert!(e.contains("m0 and other differ"), "{e}");
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "a refused population writes nothing");
}

/// wgpu (Mesa's lavapipe in CI): a population of three trained on the GPU path agrees with the
/// same runs trained alone on the CPU backend, to the tolerance of `wgpu_agrees_with_the_cpu_backend`.
#[test]
fn a_population_on_wgpu_agrees_with_the_runs_alone_on_the_cpu() {
    let gpu = tailgrad_backend::select(tailgrad_backend::BackendChoice::Wgpu).expect("a wgpu adapter (CI installs mesa-vulkan-drivers)");
    let specs = members(&["train.max_steps=5", "train.eval_batch=2000", "log.tensorboard=false"]);
    let (alone, together) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    let members: Vec<Member> = specs.iter().map(|s| Member { spec: s.clone(), run_dir: together.path().join(s.name()), resume: false }).collect();
    let ends = train_population(&members, &gpu.device, &gpu.description, StopFlag::never()).unwrap();
    for ((spec, end), (a, b)) in specs.iter().zip(ends).zip(dirs(alone.path(), &specs).iter().zip(dirs(together.path(), &specs))) {
        // The same outcome (the alpha = 1 member collapses within 5 steps on both), the same curve.
        let on_cpu = run(spec, a, false);
        assert!(matches!(end.unwrap(), RunEnd::Completed(s) if s.status == on_cpu.status && s.steps == 5), "{}", spec.name());
        let (x, y) = (metrics::read_rows(a).unwrap(), metrics::read_rows(&b).unwrap());
        assert_eq!(x.len(), 2);
        assert_eq!(y.len(), 2);
        for (x, y) in x.iter().zip(&y) {
            assert!((x.test_loss - y.test_loss).abs() < 1e-4, "{}: test loss cpu {} vs wgpu {}", spec.name(), x.test_loss, y.test_loss);
            assert!((x.test_acc - y.test_acc).abs() <= 2e-4, "{}: test acc cpu {} vs wgpu {}", spec.name(), x.test_acc, y.test_acc);
        }
        let (lx, ly) = (x[1].train_loss.unwrap(), y[1].train_loss.unwrap());
        assert!((lx - ly).abs() < 1e-4, "{}: mean train loss over 5 steps: cpu {lx} vs wgpu {ly}", spec.name());
    }
}

#[test]
fn a_member_that_stops_early_ends_alone_and_the_others_train_on() {
    // The threshold lies between the members' first-epoch training losses, so that one member
    // stops after epoch 1 and the others train their 2 epochs.
    let probe = members(&["train.eval_every_steps=10"]);
    let first = tailgrad_testkit::TempDir::new();
    let losses: Vec<f64> = probe
        .iter()
        .zip(dirs(first.path(), &probe))
        .map(|(spec, dir)| {
            run(spec, &dir, false);
            metrics::read_rows(&dir).unwrap().iter().find(|r| r.step == 20).unwrap().train_loss.unwrap()
        })
        .collect();
    let lowest = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    let next = losses.iter().cloned().filter(|&l| l > lowest).fold(f64::INFINITY, f64::min);
    let threshold = format!("train.stop_at_train_loss={}", (lowest + next) / 2.0);
    let specs = members(&["train.eval_every_steps=10", &threshold]);
    let (alone, together) = (tailgrad_testkit::TempDir::new(), tailgrad_testkit::TempDir::new());
    let ends = train_together(&specs, together.path(), false, StopFlag::never());
    let steps: Vec<u64> = ends.iter().map(|e| match e { RunEnd::Completed(s) => s.steps, RunEnd::Stopped { .. } => panic!("stopped") }).collect();
    assert_eq!(steps.iter().filter(|&&s| s == 20).count(), 1, "one member stops after epoch 1: {steps:?} (losses {losses:?})");
    assert_eq!(steps.iter().filter(|&&s| s == 40).count(), 2, "{steps:?}");
    for (spec, (a, b)) in specs.iter().zip(dirs(alone.path(), &specs).iter().zip(dirs(together.path(), &specs))) {
        run(spec, a, false);
        assert_same_run(a, &b);
    }
}
