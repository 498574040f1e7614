//! `tailgrad data` and `tailgrad devices`, and the first-run fetch of a missing dataset.

use crate::DataCommand;
use std::process::ExitCode;
use tailgrad_backend::{BackendChoice, adapters, select};
use tailgrad_data::fetch::{self, Download};
use tailgrad_data::{DataSpec, Dataset, data_dir};

/// Make sure a run's dataset is present, downloading it (verified) unless forbidden.
pub fn ensure(data: &DataSpec, no_download: bool) -> anyhow::Result<()> {
    Ok(data.ensure(&Download::from_env(no_download))?)
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
            let download = Download { allowed: true, base_url: base_url.or(Download::from_env(false).base_url) };
            for d in parse_datasets(&datasets)? {
                let names: Vec<&str> = d.files().iter().map(|f| f.name).collect();
                fetch::ensure(&dir, d, &names, &download, true)?;
                eprintln!("{d}: {} files verified in {}", names.len(), dir.join(d.dir_name()).display());
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
