//! Parallel local workers: each task (a run, or a population of runs) is its own
//! `tailgrad train --resume RUN_DIR...` process (the parent writes each run's resolved
//! `spec.toml` first; a run directory with a spec and no checkpoint starts from step 0), so tasks
//! are isolated, resumable and killable one by one.
//!
//! Workers watch their parent: when the study process dies, each checkpoints and stops instead of
//! running on. A run directory owned by another live process (a second `tailgrad compare` on the
//! same study, or a worker left over from an earlier one) is not started twice: it is left to its
//! owner, waited for, and taken over if its owner stops without finishing it.

use crate::grid::Point;
use crate::train_cmd::{EXIT_BUSY, PARENT_ENV};
use anyhow::{Context, bail};
use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tailgrad_rundir::{RunLock, Status, Summary};
use tailgrad_train::StopFlag;

pub fn outcome(s: &Summary) -> String {
    match s.status {
        Status::Finished => format!("finished, test accuracy {:.2}% in {:.0} s", 100.0 * s.final_test_acc, s.wall_s),
        Status::Collapsed => format!("COLLAPSED (test accuracy {:.2}%)", 100.0 * s.final_test_acc),
        Status::Diverged => format!("DIVERGED at step {}", s.diverged_at_step.unwrap_or(0)),
    }
}

/// One worker per CPU core when the runs will train on the CPU (burn's flex backend keeps about
/// one core busy per run at these sizes: measured 117% CPU for one run on 2 cores, and 1.6x the
/// throughput with two single-threaded runs), one when they go to a GPU.
pub fn default_jobs(on_cpu: bool) -> usize {
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

/// A worker for the runs of `task`: `tailgrad train --resume DIR...` (several directories train
/// as one population), its output in the first run's `train.log`.
fn spawn(task: &[&Point], threads: &str) -> anyhow::Result<Child> {
    for p in task {
        std::fs::create_dir_all(&p.dir)?;
        let spec_file = p.dir.join("spec.toml");
        if !spec_file.exists() {
            tailgrad_rundir::io::write_atomically(&spec_file, p.spec.to_toml().as_bytes())?;
        }
    }
    let log_path = log_of(task);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).with_context(|| format!("opening {}", log_path.display()))?;
    let exe = std::env::current_exe().context("finding the tailgrad executable")?;
    Command::new(exe)
        .args(["train", "--resume"])
        .args(task.iter().map(|p| &p.dir))
        .env("RAYON_NUM_THREADS", threads)
        .env(PARENT_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting a worker for {}", task[0].dir.display()))
}

/// Where a task's worker writes its output.
fn log_of(task: &[&Point]) -> std::path::PathBuf {
    task[0].dir.join("train.log")
}

/// How a set of workers ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every run finished (or was finished by another process).
    Done,
    /// A stop was requested: every running worker checkpointed its runs and exited.
    Stopped,
}

/// Train `tasks` (a run, or runs to train as one population) with up to `jobs` worker processes
/// at once; a failed run is reported and the others carry on (collapsed and diverged runs are
/// results, not failures). When `stop` is requested (SIGINT, SIGTERM, SIGUSR1 to this process),
/// each worker is asked to stop (SIGUSR1: checkpoint at the next step and exit), and waited for.
pub fn run_all(tasks: &[Vec<&Point>], jobs: usize, stop: &StopFlag) -> anyhow::Result<Ended> {
    let threads = threads_per_worker(jobs);
    let total: usize = tasks.iter().map(Vec::len).sum();
    let populations = tasks.iter().filter(|t| t.len() > 1).count();
    let packing = if populations > 0 { format!(" ({populations} populations)") } else { String::new() };
    eprintln!("{total} runs{packing} on {jobs} workers ({threads} CPU threads each)");
    let started = Instant::now();
    let mut queue: VecDeque<Vec<&Point>> = tasks.iter().cloned().collect();
    let mut running: Vec<(Vec<&Point>, Child)> = Vec::new();
    let mut elsewhere: Vec<&Point> = Vec::new();
    let mut failed = Vec::new();
    let mut done = 0;
    // Wall time per finished run (with `jobs` at once, a run finishes every this many seconds).
    let report = |p: &Point, line: &str, done: usize| {
        let per_run = started.elapsed().as_secs_f64() / done.max(1) as f64;
        let left = total.saturating_sub(done);
        eprintln!("[{}/{}] {}: {line}; about {:.1} min left", done, total, p.spec.name(), per_run * left as f64 / 60.0);
    };
    loop {
        if stop.requested() {
            return stop_workers(running);
        }
        while running.len() < jobs {
            let Some(task) = queue.pop_front() else { break };
            let mut mine = Vec::new();
            for p in task {
                if let Ok(summary) = Summary::read(&p.dir) {
                    done += 1;
                    report(p, &format!("{} (by another process)", outcome(&summary)), done);
                } else if let Some(owner) = RunLock::holder(&p.dir)? {
                    eprintln!("{}: being trained by process {} on {}; waiting for it", p.spec.name(), owner.pid, owner.host);
                    elsewhere.push(p);
                } else {
                    mine.push(p);
                }
            }
            if !mine.is_empty() {
                let child = spawn(&mine, &threads)?;
                running.push((mine, child));
            }
        }
        if running.is_empty() && queue.is_empty() && elsewhere.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut k = 0;
        while k < running.len() {
            let Some(status) = running[k].1.try_wait()? else {
                k += 1;
                continue;
            };
            let (task, _) = running.swap_remove(k);
            let log = log_of(&task);
            for p in task {
                if let Ok(s) = Summary::read(&p.dir) {
                    done += 1;
                    report(p, &outcome(&s), done);
                } else if status.code() == Some(EXIT_BUSY as i32) || RunLock::holder(&p.dir)?.is_some() {
                    elsewhere.push(p); // another process took the run between our check and the worker's
                } else {
                    done += 1;
                    failed.push(p.dir.display().to_string());
                    report(p, &format!("FAILED ({status}); see {}", log.display()), done);
                }
            }
        }
        // Runs owned by other processes: done when their summary appears; ours again when their
        // owner let go without finishing them.
        let mut k = 0;
        while k < elsewhere.len() {
            let p = elsewhere[k];
            if let Ok(summary) = Summary::read(&p.dir) {
                elsewhere.swap_remove(k);
                done += 1;
                report(p, &format!("{} (by another process)", outcome(&summary)), done);
            } else if RunLock::holder(&p.dir)?.is_none() {
                elsewhere.swap_remove(k);
                queue.push_back(vec![p]);
            } else {
                k += 1;
            }
        }
    }
    if !failed.is_empty() {
        bail!("{} runs failed: {}", failed.len(), failed.join(", "));
    }
    Ok(Ended::Done)
}

/// Ask every running worker to checkpoint and stop (SIGUSR1, which a worker honours like SIGTERM
/// but, unlike a second SIGINT or SIGTERM from a terminal's Ctrl-C reaching the whole process
/// group, never as "stop at once"), and wait for them.
fn stop_workers(running: Vec<(Vec<&Point>, Child)>) -> anyhow::Result<Ended> {
    eprintln!("stopping: {} workers checkpoint their runs", running.len());
    for (_, child) in &running {
        // SAFETY: kill(2) on a child's pid; the child is not yet reaped, so the pid is still its.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGUSR1) };
    }
    for (task, mut child) in running {
        let status = child.wait()?;
        if status.code() != Some(tailgrad_train::EXIT_STOPPED as i32) && !task.iter().all(|p| Summary::read(&p.dir).is_ok()) {
            eprintln!("{}: its worker ended with {status}; see {}", task[0].spec.name(), log_of(&task).display());
        }
    }
    Ok(Ended::Stopped)
}
