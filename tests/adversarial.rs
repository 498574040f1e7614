//! The adversarial battery: what a user (or a cluster) can do to a run that must neither lose
//! data nor report a wrong result. First run without data or network, a local mirror, two
//! writers of one run, a killed study and its leftover workers, two studies on one directory,
//! TensorBoard after real kills, invalid probe and schedule settings, failed resumes, paths that
//! escape the runs directory, a model too large for memory, and the Slurm/PBS scripts run as the
//! scheduler would run them (throttle, split, requeue on the time-limit signal).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tailgrad_testkit::TempDir;

mod common;
use common::*;

/// Wait until `done` holds (polling), or fail after `secs` seconds naming `what`.
fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metric_rows(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.csv")).map_or(0, |t| t.lines().count().saturating_sub(1))
}

fn kill(child: &mut Child, signal: &str) {
    assert!(Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap().success());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The (epoch) column of a run's metrics: one row per evaluation, in order, none repeated.
fn epochs(run: &Path) -> Vec<f64> {
    rows(&run.join("metrics.csv")).iter().map(|r| r[1].parse().unwrap()).collect()
}

/// Processes whose command line mentions `needle` (the workers of a study in a temp dir).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle)))
        .collect()
}

/// Every file under `dir` with its bytes (to show that a command changed nothing).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != ".lock") {
                files.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// A run long enough to be interrupted mid-epoch (2-3 s per epoch on 2 cores).
fn long_run(epochs: usize) -> String {
    SMALL_RUN
        .replace("epochs = 3", &format!("epochs = {epochs}"))
        .replace("train_per_class = 100", "train_per_class = 600")
        .replace("hidden = [64, 64]", "hidden = [1024, 1024]")
}

/// A small study whose runs last a few seconds each.
fn slow_study_args(name: &str) -> Vec<String> {
    let mut args = small_study_args(name);
    args.extend(["--set", "run.data.train_per_class=600", "--set", "run.model.width=512", "--set", "run.train.epochs=4"].map(String::from));
    args
}

#[test]
fn without_data_or_network_the_main_command_fails_once_within_seconds() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let t = Instant::now();
    let out = tailgrad()
        .args(["compare", "--runs-dir"])
        .arg(&runs)
        .env("TAILGRAD_DATA", tmp.path().join("no-data"))
        .env("TAILGRAD_DATA_MIRROR", "http://127.0.0.1:1/")
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(30), "took {:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("datasets/fetch-offline").count(), 1, "one message, with the offline option:\n{err}");
    assert_eq!(err.matches("To provision it").count(), 1, "one message, not one per worker:\n{err}");
    assert!(err.ends_with('\n'), "the message ends its line");
    assert!(!runs.join("gauss_vs_levy_mnist").exists(), "a study that cannot start leaves nothing behind");
    assert!(!tmp.path().join("no-data/mnist").exists(), "no half-fetched dataset folder");
}

#[test]
fn a_reachable_mirror_is_fetched_verified_and_trained_on() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let src = tailgrad_testkit::data_dir().join("mnist");
    let routes: Vec<tailgrad_testkit::Route> = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        .into_iter()
        .map(|name| {
            let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
            gz.write_all(&std::fs::read(src.join(name)).unwrap()).unwrap();
            let body = gz.finish().unwrap();
            let path: &'static str = Box::leak(format!("{name}.gz").into_boxed_str());
            (path, 200, body.len(), body)
        })
        .collect();
    let mirror = tailgrad_testkit::serve(routes, 4);
    let tmp = TempDir::new();
    let data = tmp.path().join("data");
    let cfg = write_config(tmp.path(), "fetched", SMALL_RUN);
    let out = ok(tailgrad()
        .args(["train", cfg.to_str().unwrap(), "--runs-dir"])
        .arg(tmp.path().join("runs"))
        .env("TAILGRAD_DATA", &data)
        .env("TAILGRAD_DATA_MIRROR", &mirror)
        .output()
        .unwrap());
    assert!(stderr(&out).contains("mnist"), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.path().join("runs/fetched/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "finished");
    ok(tailgrad().args(["data", "verify", "mnist"]).env("TAILGRAD_DATA", &data).output().unwrap());
    assert!(std::fs::read_dir(data.join("mnist")).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("tmp")), "no temporaries");
}

#[test]
fn a_run_has_one_writer_and_two_runs_of_one_name_make_one_consistent_run() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let cfg = write_config(tmp.path(), "long", &long_run(4));
    let mut first = tailgrad().args(["train", cfg.to_str().unwrap(), "--name", "owned", "--runs-dir"]).arg(&runs).spawn().unwrap();
    let run = runs.join("owned");
    wait_for("the first epoch", 120, || {
        assert!(first.try_wait().unwrap().is_none(), "the run ended before the second writer came");
        metric_rows(&run) >= 2
    });
    // A second writer (a resume, as the README's recovery would start) is refused, naming the owner.
    let second = tailgrad().args(["train", "--resume"]).arg(&run).output().unwrap();
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
    assert!(stderr(&second).contains(&format!("process {}", first.id())), "{}", stderr(&second));
    assert!(first.wait().unwrap().success());
    assert_eq!(epochs(&run), [0.0, 1.0, 2.0, 3.0, 4.0]);

    // Two fresh runs with one name, started together with different seeds: one trains, the other
    // is refused; the directory holds one run (spec, metrics and summary of the same seed).
    let small = write_config(tmp.path(), "small", SMALL_RUN);
    let start = |seed: u32| {
        tailgrad()
            .args(["train", small.to_str().unwrap(), "--name", "same", "--set", &format!("seed={seed}"), "--runs-dir"])
            .arg(&runs)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(1), start(2));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let winners: Vec<_> = [(1, &a), (2, &b)].into_iter().filter(|(_, o)| o.status.success()).collect();
    assert_eq!(winners.len(), 1, "one of the two trains:\n{}\n{}", stderr(&a), stderr(&b));
    let loser = if a.status.success() { &b } else { &a };
    assert!(matches!(loser.status.code(), Some(1) | Some(5)), "{}", stderr(loser));
    assert!(stderr(loser).contains("same"), "the refusal names the run: {}", stderr(loser));
    let dir = runs.join("same");
    let spec: toml::Value = toml::from_str(&std::fs::read_to_string(dir.join("spec.toml")).unwrap()).unwrap();
    assert_eq!(spec["seed"].as_integer(), Some(winners[0].0));
    // The metrics are the winner's: a run of that seed alone gives the same curve.
    ok(tailgrad().args(["train", small.to_str().unwrap(), "--name", "alone", "--set", &format!("seed={}", winners[0].0), "--runs-dir"]).arg(&runs).output().unwrap());
    let curve = |d: &Path| rows(&d.join("metrics.csv")).iter().map(|r| (r[1].to_string(), r[6].to_string())).collect::<Vec<_>>();
    assert_eq!(curve(&dir), curve(&runs.join("alone")));
    assert_eq!(epochs(&dir), [0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn killing_compare_stops_its_workers_and_two_compares_share_one_study() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let args = slow_study_args("shared");
    let study = runs.join("shared");
    let mut compare = tailgrad().arg("compare").args(&args).args(["--jobs", "2", "--runs-dir"]).arg(&runs).spawn().unwrap();
    wait_for("a worker's first epoch", 120, || metric_rows(&study.join("a1.5_s0.5/seed0")) >= 2);
    kill(&mut compare, "KILL"); // the parent only: its workers must notice and stop
    compare.wait().unwrap();
    let needle = study.to_str().unwrap().to_string();
    wait_for("the orphaned workers to stop", 30, || processes_mentioning(&needle).is_empty());

    // Two compares on the one study: both finish, and each run was trained by one of them.
    let start = || tailgrad().arg("compare").args(&args).args(["--jobs", "1", "--runs-dir"]).arg(&runs).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (start(), start());
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for cell in ["a1.5_s0.5", "a1.5_s1", "a2_s0.5", "a2_s1"] {
        assert_eq!(epochs(&study.join(cell).join("seed0")), [0.0, 1.0, 2.0, 3.0, 4.0], "{cell}: one row per epoch");
    }
    assert_eq!(rows(&study.join("report/table.csv")).len(), 4);

    // TensorBoard's HParams tab: the study declares the grid, each run its values and status.
    if let Some(hp) = hparams_view(&[study.clone(), study.join("a1.5_s0.5/seed0")]) {
        let experiment = &hp[study.to_str().unwrap()]["_hparams_/experiment"];
        for name in ["alpha", "sigma_w", "seed"] {
            assert!(experiment["hparams"].as_array().unwrap().iter().any(|h| h == name), "{hp}");
        }
        assert!(experiment["metrics"].as_array().unwrap().iter().any(|m| m == "test/accuracy"), "{hp}");
        let run = &hp[study.join("a1.5_s0.5/seed0").to_str().unwrap()];
        assert_eq!(run["_hparams_/session_start_info"]["alpha"], 1.5, "{hp}");
        assert_eq!(run["_hparams_/session_start_info"]["sigma_w"], 0.5, "{hp}");
        assert_eq!(run["_hparams_/session_end_info"], 1, "STATUS_SUCCESS: {hp}");
    }
}

/// The HParams plugin data of each directory's event files, read by TensorBoard's own reader.
fn hparams_view(dirs: &[PathBuf]) -> Option<serde_json::Value> {
    let python = std::env::var("TAILGRAD_TB_PYTHON").ok()?;
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
out = {}
for d in sys.argv[1:]:
    ea = EventAccumulator(d)
    ea.Reload()
    found = {}
    for tag, raw in ea.PluginTagToContent("hparams").items():
        data = plugin_data_pb2.HParamsPluginData.FromString(raw)
        kind = data.WhichOneof("data")
        if kind == "experiment":
            found[tag] = {"hparams": [h.name for h in data.experiment.hparam_infos],
                          "metrics": [m.name.tag for m in data.experiment.metric_infos]}
        elif kind == "session_start_info":
            found[tag] = {k: (v.number_value if v.HasField("number_value") else v.string_value)
                          for k, v in data.session_start_info.hparams.items()}
        elif kind == "session_end_info":
            found[tag] = data.session_end_info.status
    out[d] = found
print(json.dumps(out))
"#;
    let out = ok(Command::new(python).arg("-c").arg(script).args(dirs).output().unwrap());
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn kills_a_corrupt_checkpoint_and_a_cut_row_leave_one_clean_curve_in_tensorboard() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let cfg = write_config(tmp.path(), "killed", &long_run(6));
    let run = runs.join("killed");
    let mut child = tailgrad().args(["train", cfg.to_str().unwrap(), "--runs-dir"]).arg(&runs).spawn().unwrap();
    for kills in 1..=2 {
        wait_for("an epoch after the restart", 120, || {
            assert!(child.try_wait().unwrap().is_none(), "the run ended before kill {kills}");
            metric_rows(&run) >= 2 * kills
        });
        std::thread::sleep(Duration::from_millis(300 * kills as u64)); // mid-epoch
        kill(&mut child, "KILL");
        child.wait().unwrap();
        if kills == 1 {
            // The newest checkpoint is cut short and the last metrics row half-written.
            let newest = std::fs::read_dir(run.join("checkpoints")).unwrap().map(|e| e.unwrap().path()).max().unwrap();
            let bytes = std::fs::read(&newest).unwrap();
            std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
            let mut metrics = std::fs::OpenOptions::new().append(true).open(run.join("metrics.csv")).unwrap();
            std::io::Write::write_all(&mut metrics, b"999,9.5,0.1").unwrap();
        }
        child = tailgrad().args(["train", "--resume"]).arg(&run).stderr(Stdio::piped()).spawn().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(epochs(&run), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "one row per epoch");
    if let Some(tb) = tensorboard_view(&run) {
        for (tag, points) in tb["scalars"].as_object().unwrap() {
            let steps: Vec<u64> = points.as_array().unwrap().iter().map(|p| p[0].as_u64().unwrap()).collect();
            assert!(steps.windows(2).all(|w| w[0] < w[1]), "{tag}: steps repeat or go backwards: {steps:?}");
        }
        assert_eq!(tb["scalars"]["test/accuracy"].as_array().unwrap().len(), 7, "{}", tb["scalars"]["test/accuracy"]);
    }
}

#[test]
fn invalid_settings_are_clear_errors_and_failed_commands_change_nothing() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let cfg = write_config(tmp.path(), "done", &SMALL_RUN.replace("epochs = 3", "epochs = 1"));
    ok(tailgrad().args(["train", cfg.to_str().unwrap(), "--runs-dir"]).arg(&runs).output().unwrap());
    let run = runs.join("done");
    let before = snapshot(&run);
    let refused = |cmd: &mut Command, needle: &str| {
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{needle}: {err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "expected `{needle}` and no panic:\n{err}");
    };
    // Probe settings out of range, offline.
    for (probe, set, needle) in [
        ("hessian", "layer=99", "layer"),
        ("gradient-noise", "layer=99", "layer"),
        ("duality", "layer=99", "layer"),
        ("slices", "points=0", "points"),
    ] {
        refused(tailgrad().args(["probe"]).arg(&run).args(["--probe", probe, "--set", set]), needle);
    }
    // A failed resume (the data are elsewhere) and a resume that changes what is trained.
    refused(tailgrad().args(["train", "--resume"]).arg(&run).args(["--data-dir", "/nonexistent/data", "--no-download"]), "/nonexistent/data");
    refused(tailgrad().args(["train", "--resume"]).arg(&run).args(["--set", "train.lr=0.5"]), "train.lr");
    assert_eq!(snapshot(&run), before, "a failed command leaves the run as it was");
    // Resuming a finished run is a no-op that keeps its throughput and time breakdown.
    ok(tailgrad().args(["train", "--resume"]).arg(&run).output().unwrap());
    assert_eq!(snapshot(&run).get(&run.join("summary.json")), before.get(&run.join("summary.json")));

    // Configs refused before anything is written.
    for (change, needle) in [
        ("lr = 0.05\nschedule = { kind = \"cosine\", min_lr = -1.0 }", "min_lr"),
        ("lr = 0.05\nschedule = { kind = \"step\", every_epochs = 1, gamma = -1.0 }", "gamma"),
        ("lr = 0.05\nschedule = { kind = \"step\", every_epochs = 1, gamma = nan }", "gamma"),
        ("lr = 0.05\n[[probes]]\nname = \"hessian\"\nlayer = 99", "layer"),
        ("lr = 0.05\n[[probes]]\nname = \"slices\"\npoints = 0", "points"),
    ] {
        let cfg = write_config(tmp.path(), "bad", &SMALL_RUN.replace("lr = 0.05", change));
        refused(tailgrad().args(["train", cfg.to_str().unwrap(), "--runs-dir"]).arg(&runs), needle);
        assert!(!runs.join("bad").exists(), "{needle}: nothing written");
    }
    let huge = write_config(tmp.path(), "huge", &SMALL_RUN.replace("hidden = [64, 64]", "hidden = [1000000, 1000000]"));
    refused(tailgrad().args(["train", huge.to_str().unwrap(), "--runs-dir"]).arg(&runs), "GB");
    assert!(!runs.join("huge").exists());

    // Names that would escape the runs directory.
    refused(tailgrad().args(["train", cfg.to_str().unwrap(), "--name", "", "--runs-dir"]).arg(&runs), "name");
    refused(tailgrad().args(["train", cfg.to_str().unwrap(), "--name", "../out", "--runs-dir"]).arg(&runs), "name");
    let mut study = small_study_args("ignored");
    study.extend(["--set".into(), "study.name=\"../escaped\"".into()]);
    refused(tailgrad().arg("compare").args(&study).arg("--runs-dir").arg(&runs), "study.name");
    assert!(!tmp.path().join("escaped").exists() && !tmp.path().join("out").exists());
    // Issue 24, item 10: a 300-character name left an empty directory behind.
    let fresh = tmp.path().join("fresh-runs");
    refused(tailgrad().args(["train", cfg.to_str().unwrap(), "--name", &"x".repeat(300), "--runs-dir"]).arg(&fresh), "at most 255");
    assert!(!fresh.exists(), "nothing created for a refused name");

    // Issue 24, item 10: a summary regenerated by a resume that trains no step kept
    // train_samples_per_s = 0; with checkpoints/ deleted the run restarted from 0 silently.
    let summary = |run: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap() };
    let rate = summary(&run)["train_samples_per_s"].as_f64().unwrap();
    std::fs::remove_file(run.join("summary.json")).unwrap();
    ok(tailgrad().args(["train", "--resume"]).arg(&run).output().unwrap());
    let last_row_rate: f64 = rows(&run.join("metrics.csv")).last().unwrap()[9].parse().unwrap();
    assert_eq!(summary(&run)["train_samples_per_s"].as_f64(), Some(last_row_rate), "was {rate}");
    std::fs::remove_dir_all(run.join("checkpoints")).unwrap();
    std::fs::remove_file(run.join("summary.json")).unwrap();
    let out = ok(tailgrad().args(["train", "--resume"]).arg(&run).output().unwrap());
    assert!(stderr(&out).contains("holds no checkpoint, but") && stderr(&out).contains("reached step 20; the run starts again from step 0"), "{}", stderr(&out));
}

/// A stand-in for the scheduler's requeue command: records its arguments.
fn stub_command(dir: &Path, name: &str) -> PathBuf {
    let log = dir.join(format!("{name}.calls"));
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    log
}

/// Run an array task of an emitted script as the scheduler would; send `signal` to the script
/// once its run has logged an epoch; return the exit status. Then run it again (the requeued
/// task), which must resume and finish the run.
fn run_task_with_requeue(script: &Path, env: &[(&str, &str)], signal: &str, run: &Path, bin: &Path) {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let task = || {
        let mut c = Command::new("bash");
        c.arg(script).env("PATH", &path).env("TAILGRAD_DATA", tailgrad_testkit::data_dir()).stderr(Stdio::piped()).stdout(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let mut first = task();
    wait_for("the task's first epoch", 120, || {
        assert!(first.try_wait().unwrap().is_none(), "the task ended before the signal");
        metric_rows(run) >= 2
    });
    kill(&mut first, signal);
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "the requeued task exits 0: {}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("checkpointed"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!run.join("summary.json").exists(), "stopped, not finished");
    let again = task().wait_with_output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(epochs(run), [0.0, 1.0, 2.0, 3.0, 4.0], "resumed: one row per epoch");
}

#[test]
fn slurm_and_pbs_scripts_throttle_split_and_requeue_on_the_time_limit_signal() {
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let args = slow_study_args("cluster");
    let emit = |scheduler: &str, extra: &[&str]| {
        ok(tailgrad().arg("compare").args(&args).args(["--emit", scheduler]).args(extra).arg("--runs-dir").arg(&runs).output().unwrap())
    };
    let study = runs.join("cluster");

    // Slurm: 4 grid points, arrays of at most 3, 2 at a time.
    emit("slurm", &["--array-parallelism", "2", "--max-array-size", "3", "--time-limit", "01:00:00"]);
    let part1 = std::fs::read_to_string(study.join("sweep-part1.slurm")).unwrap();
    let part2 = std::fs::read_to_string(study.join("sweep-part2.slurm")).unwrap();
    assert!(part1.contains("#SBATCH --array=0-2%2\n") && part1.contains("task=$(( 0 + SLURM_ARRAY_TASK_ID ))"), "{part1}");
    assert!(part2.contains("#SBATCH --array=0-0%2\n") && part2.contains("task=$(( 3 + SLURM_ARRAY_TASK_ID ))"), "{part2}");
    assert!(part1.contains("#SBATCH --signal=B:USR1@120\n") && part1.contains("#SBATCH --time=01:00:00\n"));
    assert!(!study.join("sweep.slurm").exists());
    // Part 2's only task is grid point 3 (alpha 2, sigma_w 1); Slurm's warning arrives mid-run.
    let scontrol = stub_command(&bin, "scontrol");
    run_task_with_requeue(
        &study.join("sweep-part2.slurm"),
        &[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_JOB_ID", "77")],
        "USR1",
        &study.join("a2_s1/seed0"),
        &bin,
    );
    assert_eq!(std::fs::read_to_string(&scontrol).unwrap(), "requeue 77_0\n");

    // PBS: one array (-J), at most 2 subjobs at once, SIGTERM at the wall time, qrerun.
    emit("pbs", &["--array-parallelism", "2"]);
    let pbs = std::fs::read_to_string(study.join("sweep.pbs")).unwrap();
    assert!(pbs.contains("#PBS -J 0-3\n") && pbs.contains("#PBS -W max_run_subjobs=2\n") && pbs.contains("#PBS -r y\n"), "{pbs}");
    let qrerun = stub_command(&bin, "qrerun");
    run_task_with_requeue(&study.join("sweep.pbs"), &[("PBS_ARRAY_INDEX", "1"), ("PBS_JOBID", "12[1].pbs")], "TERM", &study.join("a2_s0.5/seed0"), &bin);
    assert_eq!(std::fs::read_to_string(&qrerun).unwrap(), "12[1].pbs\n");
}

#[test]
fn a_study_has_one_config_whatever_command_trains_it() {
    // Issue 24, item 1: an array task with another lr, and two compares started together with
    // different lrs, each trained part of one study; `report` merged them.
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let args = small_study_args("one");
    let study = runs.join("one");
    ok(tailgrad().arg("compare").args(&args).args(["--task", "0", "--runs-dir"]).arg(&runs).output().unwrap());
    let recorded = std::fs::read(study.join("study.toml")).unwrap();
    let other = tailgrad().arg("compare").args(&args).args(["--task", "1", "--set", "run.train.lr=0.01", "--runs-dir"]).arg(&runs).output().unwrap();
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));
    assert!(stderr(&other).contains("`run.train.lr` = 0.01 (was 0.05)"), "{}", stderr(&other));
    assert!(!study.join("a2_s0.5").exists(), "the refused task trained nothing");
    assert_eq!(std::fs::read(study.join("study.toml")).unwrap(), recorded, "nor rewrote the study's record");

    // Two compares started at the same moment with different lrs: one trains, one is refused.
    let start = |lr: &str| {
        let mut a = small_study_args("race");
        a.extend(["--set".to_string(), format!("run.train.lr={lr}"), "--jobs".into(), "1".into(), "--runs-dir".into()]);
        tailgrad().arg("compare").args(&a).arg(&runs).stderr(Stdio::piped()).spawn().unwrap()
    };
    let (a, b) = (start("0.05"), start("0.02"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (winner, loser, lr) = match (a.status.success(), b.status.success()) {
        (true, false) => (&a, &b, 0.05),
        (false, true) => (&b, &a, 0.02),
        _ => panic!("exactly one of two compares with different configs may train the study:\n{}\n{}", stderr(&a), stderr(&b)),
    };
    assert!(stderr(loser).contains("records the config of study `race`") && stderr(loser).contains("`run.train.lr`"), "{}", stderr(loser));
    assert!(stderr(winner).contains("report: 4 runs of 4"), "{}", stderr(winner));
    for cell in ["a1.5_s0.5", "a1.5_s1", "a2_s0.5", "a2_s1"] {
        let spec: toml::Value = toml::from_str(&std::fs::read_to_string(runs.join("race").join(cell).join("seed0/spec.toml")).unwrap()).unwrap();
        assert_eq!(spec["train"]["lr"].as_float(), Some(lr), "{cell} was trained by the winner");
    }

    // A study whose runs were trained with another config than its record (as older versions
    // could leave it) is refused by `report`, naming the run and the key.
    let file = runs.join("race/study.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(&format!("lr = {lr}"), "lr = 0.3")).unwrap();
    let out = tailgrad().arg("report").arg(runs.join("race")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("a1.5_s0.5/seed0 was trained with a different config") && stderr(&out).contains(&format!("`train.lr` = 0.3 (was {lr})")), "{}", stderr(&out));
}

#[test]
fn compare_stops_on_sigterm_and_on_sigint_in_the_background_like_train() {
    // Issue 24, item 6: `compare` died on SIGTERM with status 143 and no message, and started in
    // the background from a script (SIGINT ignored) it ran to the end on SIGINT.
    let tmp = TempDir::new();
    let runs = tmp.path().join("runs");
    let args = slow_study_args("stoppable");
    let study = runs.join("stoppable");
    let first_run = study.join("a1.5_s0.5/seed0");
    let needle = study.to_str().unwrap().to_string();
    // As a script's `tailgrad compare ... &` starts it: SIGINT ignored (inherited through exec).
    let start = |jobs: &str, background: bool| {
        let mut line = vec![env!("CARGO_BIN_EXE_tailgrad").to_string(), "compare".into()];
        line.extend(args.iter().cloned());
        line.extend(["--jobs".into(), jobs.into(), "--runs-dir".into(), runs.display().to_string()]);
        let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
        let trap = if background { "trap '' INT; " } else { "" };
        Command::new("sh").arg("-c").arg(format!("{trap}exec {}", quoted.join(" "))).current_dir(repo()).env("TAILGRAD_DATA", repo().join("datasets")).stderr(Stdio::piped()).spawn().unwrap()
    };
    for (jobs, background, signal) in [("2", false, "TERM"), ("2", true, "INT"), ("1", true, "INT")] {
        let before = metric_rows(&first_run);
        let mut compare = start(jobs, background);
        wait_for("an evaluation", 120, || metric_rows(&first_run) > before);
        kill(&mut compare, signal);
        let t = Instant::now();
        let out = compare.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(t.elapsed() < Duration::from_secs(60), "{jobs} jobs, SIG{signal}: took {:?} to stop", t.elapsed());
        assert_eq!(out.status.code(), Some(4), "{jobs} jobs, SIG{signal}:\n{err}");
        assert!(err.contains("study stoppable stopped on request; every run is checkpointed. Continue with the same command:\n  tailgrad compare "), "{err}");
        wait_for("the workers to exit", 30, || processes_mentioning(&needle).is_empty());
        assert!(!first_run.join("summary.json").exists(), "stopped before the run finished: {err}");
    }
    // The same command continues; each run's curve has one row per epoch.
    let out = start("2", false).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for cell in ["a1.5_s0.5", "a1.5_s1", "a2_s0.5", "a2_s1"] {
        assert_eq!(epochs(&study.join(cell).join("seed0")), [0.0, 1.0, 2.0, 3.0, 4.0], "{cell}");
    }
}

#[test]
fn a_fresh_clone_gets_the_cifar10_test_batch_or_one_clear_line() {
    // Issue 24, item 11: on a plain clone, `datasets/fetch-offline` reported the CIFAR-10 test
    // batch absent and the tests failed. Now it fetches it where the network allows, else copies
    // the folder beside the checkout, else fails with one line. MNIST and Fashion-MNIST are linked
    // in from the provisioned data so that only the CIFAR-10 step runs.
    let tmp = TempDir::new();
    let dest = tmp.path().join("data");
    for set in ["mnist", "fashion-mnist"] {
        std::fs::create_dir_all(dest.join(set)).unwrap();
        for e in std::fs::read_dir(tailgrad_testkit::data_dir().join(set)).unwrap() {
            let e = e.unwrap();
            std::os::unix::fs::symlink(e.path(), dest.join(set).join(e.file_name())).unwrap();
        }
    }
    let run = |shared: &Path, mirror: &str| {
        Command::new("bash")
            .arg(repo().join("datasets/fetch-offline"))
            .arg(&dest)
            .env("TAILGRAD_SHARED", shared)
            .env("TAILGRAD_DATA_MIRROR", mirror)
            .env("TAILGRAD_BIN", env!("CARGO_BIN_EXE_tailgrad"))
            .output()
            .unwrap()
    };
    let nowhere = tmp.path().join("no-shared-folder");
    // No network, no folder beside the checkout: one line, exit 1, nothing written.
    let out = run(&nowhere, "http://127.0.0.1:1/");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("the CIFAR-10 test batch is not in") && stderr(&out).contains("tailgrad data fetch cifar10"), "{}", stderr(&out));
    assert!(!dest.join("cifar10").exists());
    // A reachable mirror is used, and what it serves is checked: here not the official archive.
    let junk = b"not the CIFAR-10 archive".to_vec();
    // (The script's reachability check is one connection, the download another.)
    let mirror = tailgrad_testkit::serve(vec![("cifar-10-binary.tar.gz", 200, junk.len(), junk)], 3);
    let out = run(&nowhere, &mirror);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cifar-10-binary.tar.gz failed: MD5 is") && stderr(&out).contains("expected c32a1d4ab5d03f1284b67883e8d87530"), "{}", stderr(&out));
    assert!(std::fs::read_dir(dest.join("cifar10")).map_or(true, |mut d| d.next().is_none()), "nothing installed from a bad archive");
    // No network, but the folder beside the checkout: its copy, checked by SHA-256 (when the
    // provisioned batch is that copy; a machine with the official batch has no such folder).
    let provisioned = tailgrad_testkit::data_dir().join("cifar10/test_batch.bin");
    let lossy = "cf28711b3059b27ed8a78d6529b5ba5b5c94130096ca62a1a924268a9a9ec05b";
    if tailgrad_data::fetch::sha256_hex(&std::fs::read(&provisioned).unwrap()) == lossy {
        let shared = tmp.path().join("shared");
        std::fs::create_dir_all(shared.join("datasets/cifar10")).unwrap();
        std::os::unix::fs::symlink(&provisioned, shared.join("datasets/cifar10/test_batch.bin")).unwrap();
        let out = run(&shared, "http://127.0.0.1:1/");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("CIFAR-10 test batch: copied from"), "{}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(tailgrad_data::fetch::sha256_hex(&std::fs::read(dest.join("cifar10/test_batch.bin")).unwrap()), lossy);
    }
}
