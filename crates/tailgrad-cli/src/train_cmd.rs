//! `tailgrad train`: one run, fresh or resumed, with the exit status saying how it ended.

use crate::spec_diff::{RESUMABLE_KEYS, changed_keys};
use crate::{TrainArgs, data_cmd};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tailgrad_backend::select;
use tailgrad_rundir::{RunDirError, Status};
use tailgrad_train::{EXIT_STOPPED, Member, RawRunSpec, RunEnd, RunSpec, StopFlag, TrainOptions};

/// Exit status of a run stopped by the divergence guard.
pub const EXIT_DIVERGED: u8 = 3;
/// Exit status when another process owns the run directory.
pub const EXIT_BUSY: u8 = 5;

/// Set by `compare` for its worker processes: the worker stops (checkpointed) if that process,
/// its parent, goes away.
pub const PARENT_ENV: &str = "TAILGRAD_PARENT_PID";

pub fn train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let overrides = args.common.overrides("");
    if args.resume.len() > 1 {
        return resume_population(&args.resume, &overrides, args.common.no_download);
    }
    let (spec, run_dir, resume) = match (&args.config, args.resume.first()) {
        (_, Some(dir)) => (resumed_spec(dir, &overrides)?, dir.clone(), true),
        (Some(config), None) => {
            let mut spec = RunSpec::from_file(config, &overrides)?;
            if let Some(name) = &args.name {
                let mut raw = RawRunSpec::from(spec);
                raw.name = name.clone();
                spec = RunSpec::try_from(raw)?;
            }
            let dir = args.common.runs_dir.join(spec.name());
            (spec, dir, false)
        }
        (None, None) => bail!("give a config file (e.g. experiments/mnist_single_run.toml) or --resume RUN_DIR"),
    };
    data_cmd::ensure(spec.data(), args.common.no_download)?;
    let stop = stop_flag()?;
    let end = match run(&spec, &run_dir, resume, stop) {
        Ok(end) => end,
        Err(e) if busy(&e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_BUSY));
        }
        Err(e) => return Err(e),
    };
    if !spec.probes().is_empty() {
        for fig in tailgrad_probe::figure::draw(&run_dir)? {
            eprintln!("figure: {}", fig.display());
        }
    }
    Ok(exit_code(&end))
}

/// Stop on SIGINT/SIGTERM, and, in a `compare` worker, when the study process goes away.
fn stop_flag() -> anyhow::Result<StopFlag> {
    let stop = StopFlag::on_signals().context("installing signal handlers")?;
    if let Some(parent) = std::env::var(PARENT_ENV).ok().and_then(|p| p.parse().ok()) {
        stop.watch_parent(parent);
    }
    Ok(stop)
}

/// `train --resume DIR DIR ...`: continue the runs as one population (fresh ones, whose
/// directory holds only spec.toml, start from step 0). Exit status: 0 when every run is over,
/// 4 when they stopped on request, 1 when a run failed (each failure is printed).
fn resume_population(dirs: &[PathBuf], overrides: &[String], no_download: bool) -> anyhow::Result<ExitCode> {
    let specs = dirs.iter().map(|d| resumed_spec(d, overrides)).collect::<anyhow::Result<Vec<_>>>()?;
    data_cmd::ensure(specs[0].data(), no_download)?;
    let members: Vec<Member> = specs.into_iter().zip(dirs).map(|(spec, dir)| Member { spec, run_dir: dir.clone(), resume: true }).collect();
    let ends = run_population(&members, stop_flag()?)?;
    let mut status = ExitCode::SUCCESS;
    for (m, end) in members.iter().zip(ends) {
        match end {
            Ok(RunEnd::Stopped { .. }) => status = ExitCode::from(EXIT_STOPPED),
            Ok(RunEnd::Completed(_)) => {}
            Err(e) => {
                eprintln!("{}: error: {e:#}", m.spec.name());
                status = ExitCode::FAILURE;
            }
        }
    }
    Ok(status)
}

/// Train (or resume) `members` as one population on the backend the first names.
pub fn run_population(members: &[Member], stop: StopFlag) -> anyhow::Result<Vec<anyhow::Result<RunEnd>>> {
    let selected = select_announced(members[0].spec.backend())?;
    let names: Vec<&str> = members.iter().map(|m| m.spec.name()).collect();
    eprintln!("population of {}: {} ({})", members.len(), selected.description, names.join(", "));
    tailgrad_train::train_population(members, &selected.device, &selected.description, stop)
}

/// The exit status of a session: 0 for a run that trained to the end (finished or collapsed:
/// both are results), 3 diverged, 4 stopped on request (resumable).
pub fn exit_code(end: &RunEnd) -> ExitCode {
    match end {
        RunEnd::Completed(s) if s.status == Status::Diverged => ExitCode::from(EXIT_DIVERGED),
        RunEnd::Completed(_) => ExitCode::SUCCESS,
        RunEnd::Stopped { .. } => ExitCode::from(EXIT_STOPPED),
    }
}

/// The device `backend` names, with the fallback notice printed when `auto` found no GPU.
fn select_announced(backend: tailgrad_backend::BackendChoice) -> anyhow::Result<tailgrad_backend::Selected> {
    let selected = select(backend)?;
    if let Some(notice) = &selected.notice {
        eprintln!("{notice}");
    }
    Ok(selected)
}

/// Whether an error is another process owning the run directory.
pub fn busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| matches!(c.downcast_ref::<RunDirError>(), Some(RunDirError::Locked { .. })))
}

/// A run directory's spec with the command line's overrides, which may change only
/// [`RESUMABLE_KEYS`].
fn resumed_spec(dir: &Path, overrides: &[String]) -> anyhow::Result<RunSpec> {
    let file = dir.join("spec.toml");
    if !file.is_file() {
        bail!("{} is not a run directory (it has no spec.toml)", dir.display());
    }
    let stored = RunSpec::from_file(&file, &[])?;
    let spec = RunSpec::from_file(&file, overrides)?;
    let (a, b): (toml::Table, toml::Table) = (toml::from_str(&stored.to_toml())?, toml::from_str(&spec.to_toml())?);
    if let Some(key) = changed_keys(&a, &b, "").into_iter().find(|k| !RESUMABLE_KEYS.contains(&k.as_str())) {
        bail!(
            "--resume {}: `{key}` would differ from the run's spec.toml; a resumed run may only change {} \
             (train a new run to change anything else)",
            dir.display(),
            RESUMABLE_KEYS.join(", ")
        );
    }
    Ok(spec)
}


/// Train (or resume) `spec` in `run_dir` on the backend it names, printing the backend line first.
pub fn run(spec: &RunSpec, run_dir: &Path, resume: bool, stop: StopFlag) -> anyhow::Result<RunEnd> {
    let selected = select_announced(spec.backend())?;
    eprintln!("{}: {} -> {}", spec.name(), selected.description, run_dir.display());
    let probes = tailgrad_probe::build(spec.probes())?;
    let options = TrainOptions { device: &selected.device, description: selected.description.clone(), resume, probes, stop };
    tailgrad_train::train(spec, run_dir, options)
}
