//! `train`, `data` and `devices`.

use crate::{DataCommand, TrainArgs};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::ExitCode;
use tailgrad_backend::{BackendChoice, adapters, select};
use tailgrad_data::{Dataset, data_dir, fetch};
use tailgrad_train::{Backend, RunSpec, Status, Summary};

/// Exit status of a run stopped by the divergence guard.
pub const DIVERGED: u8 = 3;

/// Run one spec in `run_dir` on the backend it names; print the backend line first.
pub fn run(spec: &RunSpec, run_dir: &Path, resume: bool) -> anyhow::Result<Summary> {
    let selected = select(spec.backend)?;
    if let Some(notice) = &selected.notice {
        eprintln!("{notice}");
    }
    eprintln!("{}: {} -> {}", spec.name, selected.description, run_dir.display());
    let mut probes = tailgrad_probe::build(&spec.probes)?;
    let backend = Backend { device: &selected.device, description: &selected.description };
    tailgrad_train::train(spec, run_dir, backend, resume, &mut probes)
}

pub fn train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let overrides = args.common.overrides("");
    let (spec, run_dir, resume) = match (&args.config, &args.resume) {
        (_, Some(dir)) => {
            let spec = RunSpec::from_file(&dir.join("spec.toml"), &overrides)
                .with_context(|| format!("{} is not a run directory", dir.display()))?;
            (spec, dir.clone(), true)
        }
        (Some(config), None) => {
            let mut spec = RunSpec::from_file(config, &overrides)?;
            if let Some(name) = &args.name {
                spec.name = name.clone();
                spec.validate()?;
            }
            let dir = args.common.runs_dir.join(&spec.name);
            (spec, dir, false)
        }
        (None, None) => bail!("give a config file (e.g. experiments/gauss_vs_levy_mnist_run.toml) or --resume RUN_DIR"),
    };
    let summary = run(&spec, &run_dir, resume)?;
    if !spec.probes.is_empty() {
        for fig in crate::probe_figures::draw(&run_dir)? {
            eprintln!("figure: {}", fig.display());
        }
    }
    Ok(match summary.status {
        Status::Finished => ExitCode::SUCCESS,
        Status::Diverged => {
            eprintln!(
                "error: {} diverged at step {} (loss {}); see {}/summary.json",
                spec.name,
                summary.diverged_at_step.unwrap_or(0),
                summary.diverged_loss.unwrap_or(f64::NAN),
                run_dir.display()
            );
            ExitCode::from(DIVERGED)
        }
    })
}

fn parse_datasets(names: &[String]) -> anyhow::Result<Vec<Dataset>> {
    if names.is_empty() {
        return Ok(Dataset::ALL.to_vec());
    }
    Ok(names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?)
}

pub fn data(command: DataCommand) -> anyhow::Result<ExitCode> {
    match command {
        DataCommand::Fetch { datasets, data_dir: dir, base_url } => {
            let dir = data_dir(dir.as_deref());
            for d in parse_datasets(&datasets)? {
                let paths = fetch::fetch(&dir, d, base_url.as_deref(), true).map_err(|e| match e {
                    // No connection: say what to put where, as a machine without internet needs.
                    tailgrad_data::DataError::Download { .. } => {
                        let names: Vec<&str> = d.files().iter().map(|f| f.name).collect();
                        anyhow::anyhow!("{e}\n{}", fetch::missing(&dir, d, &names))
                    }
                    other => other.into(),
                })?;
                eprintln!("{d}: {} files verified in {}", paths.len(), dir.join(d.dir_name()).display());
            }
            Ok(ExitCode::SUCCESS)
        }
        DataCommand::Verify { datasets, data_dir: dir } => {
            let dir = data_dir(dir.as_deref());
            let mut all_ok = true;
            for d in parse_datasets(&datasets)? {
                for status in fetch::verify(&dir, d) {
                    match status.result {
                        Ok(path) => println!("ok       {d:<14} {}", path.display()),
                        Err(e) => {
                            all_ok = false;
                            println!("problem  {d:<14} {}: {e}", status.name);
                        }
                    }
                }
            }
            Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

pub fn devices() -> anyhow::Result<ExitCode> {
    let all = adapters();
    if all.is_empty() {
        println!("wgpu adapters: none");
    }
    for a in &all {
        println!("wgpu adapter: {a}{}", if a.is_hardware() { "" } else { "  [software]" });
    }
    let auto = select(BackendChoice::Auto)?;
    println!("--backend auto uses: {}", auto.description);
    Ok(ExitCode::SUCCESS)
}
