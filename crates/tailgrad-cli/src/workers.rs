//! Parallel local workers: each run is its own `tailgrad train --resume RUN_DIR` process (the
//! parent writes the run's resolved `spec.toml` first; a run directory with a spec and no
//! checkpoint starts from step 0), so runs are isolated, resumable and killable one by one.

use crate::study::Point;
use anyhow::{Context, bail};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tailgrad_train::{Status, Summary, read_summary};

pub fn outcome(s: &Summary) -> String {
    match s.status {
        Status::Finished => format!("finished, test accuracy {:.2}% in {:.0} s", 100.0 * s.final_test_acc, s.wall_s),
        Status::Diverged => format!("DIVERGED at step {}", s.diverged_at_step.unwrap_or(0)),
    }
}

/// One worker per CPU core when the runs will train on the CPU (burn's flex backend keeps about
/// one core busy per run at these sizes: measured 117% CPU for one run on 2 cores, and 1.6x the
/// throughput with two single-threaded runs), one when they go to a GPU.
pub fn default_jobs(backend: tailgrad_backend::BackendChoice) -> usize {
    let on_cpu = tailgrad_backend::select(backend).is_ok_and(|s| s.backend == tailgrad_backend::BackendChoice::Cpu);
    if on_cpu { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { 1 }
}

/// Threads each worker's CPU backend may use: the machine's share, unless the user set
/// RAYON_NUM_THREADS.
fn threads_per_worker(jobs: usize) -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / jobs).max(1).to_string()
    })
}

fn spawn(p: &Point, threads: &str) -> anyhow::Result<Child> {
    std::fs::create_dir_all(&p.dir)?;
    let spec_file = p.dir.join("spec.toml");
    if !spec_file.exists() {
        tailgrad_model::tensors_io::write_atomically(&spec_file, p.spec.to_toml().as_bytes())?;
    }
    let log = std::fs::File::create(p.dir.join("train.log"))?;
    let exe = std::env::current_exe().context("finding the tailgrad executable")?;
    Command::new(exe)
        .args(["train", "--resume"])
        .arg(&p.dir)
        .env("RAYON_NUM_THREADS", threads)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting a worker for {}", p.dir.display()))
}

/// Train `points` with up to `jobs` worker processes at once; a failed run is reported and the
/// others carry on (diverged runs are results, not failures).
pub fn run_all(points: &[&Point], jobs: usize) -> anyhow::Result<()> {
    let threads = threads_per_worker(jobs);
    eprintln!("{} runs on {jobs} workers ({threads} CPU threads each)", points.len());
    let started = Instant::now();
    let mut queue = points.iter().enumerate();
    let mut running: Vec<(usize, &Point, Child)> = Vec::new();
    let mut failed = Vec::new();
    let mut done = 0;
    loop {
        while running.len() < jobs {
            let Some((i, p)) = queue.next() else { break };
            running.push((i, p, spawn(p, &threads)?));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut k = 0;
        while k < running.len() {
            let Some(status) = running[k].2.try_wait()? else {
                k += 1;
                continue;
            };
            let (i, p, _) = running.swap_remove(k);
            done += 1;
            let line = match read_summary(&p.dir) {
                Ok(s) => outcome(&s),
                Err(_) => {
                    failed.push(p.dir.display().to_string());
                    format!("FAILED ({status}); see {}", p.dir.join("train.log").display())
                }
            };
            let per_run = started.elapsed().as_secs_f64() / done as f64;
            eprintln!(
                "[{}/{}] {}: {line}; about {:.1} min left",
                i + 1,
                points.len(),
                p.spec.name,
                per_run * (points.len() - done) as f64 / 60.0
            );
        }
    }
    if !failed.is_empty() {
        bail!("{} runs failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}
