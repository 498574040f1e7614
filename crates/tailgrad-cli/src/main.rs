//! `tailgrad`: train Gaussian and heavy-tailed networks on real data and compare how they learn.

mod allocator;
mod criticality_cmd;
mod criticality_width;
mod data_cmd;
mod emit;
mod export_cmd;
mod grid;
mod init_stats;
mod populations;
mod probe_cmd;
mod spec_diff;
mod study;
mod study_config;
mod study_probes;
mod train_cmd;
mod workers;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tailgrad_backend::BackendChoice;

#[derive(Parser)]
#[command(name = "tailgrad", version, about = "Train Gaussian vs heavy-tailed (alpha-stable) networks on real data and measure why they learn as they do.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one network (a config file, or resume a run directory).
    Train(TrainArgs),
    /// Train a study's grid of init laws x seeds on the same data and schedule, then report
    /// (alias: sweep; `--jobs N` local workers, `--emit slurm|pbs` for a cluster).
    #[command(alias = "sweep")]
    Compare(CompareArgs),
    /// Rebuild a study's report (figures and tables) from its run directories, or a run's probe
    /// figures (RUN_DIR/report/) from its probes/*.json.
    Report {
        /// A study directory (e.g. runs/gauss_vs_levy_mnist) or a run directory.
        study_dir: PathBuf,
    },
    /// Run an instrument (`--probe`, listed in `tailgrad probe --help`) on a run's checkpoint;
    /// results go to RUN_DIR/probes/<name>.json and .csv, its figure to RUN_DIR/report/.
    Probe(ProbeArgs),
    /// Signal propagation in random tanh nets over (alpha, sigma_w): propagated-circle CV,
    /// Lyapunov exponent, ED and D_2 heat maps, with mean-field theory (no training).
    Criticality(CriticalityArgs),
    /// Per-layer diagnostics of a config's initial network, without training: the largest
    /// |w| / c, Hill's tail index, pre-activation and logit scales, saturated units.
    InitStats(InitStatsArgs),
    /// Export a run's exact initial weights, training data selection and batch order (a
    /// safetensors file numpy and PyTorch read), to replay it in another framework.
    Export(ExportArgs),
    /// Fetch and verify datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// List the wgpu adapters and what `--backend auto` would use.
    Devices,
}

#[derive(Args, Clone)]
struct Common {
    /// `key.path=value` override of any config key (repeatable), e.g. `--set train.lr=0.1`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// auto (a hardware GPU through wgpu, else the CPU), wgpu (any adapter) or cpu.
    #[arg(long, value_name = "auto|wgpu|cpu")]
    backend: Option<BackendChoice>,
    /// Data directory (default: $TAILGRAD_DATA, else ./datasets).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where run directories go.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Console output: progress (default), quiet, or jsonl (a JSON object per logged point).
    #[arg(long, value_name = "MODE")]
    console: Option<String>,
    /// Never download a missing dataset (also: TAILGRAD_NO_DOWNLOAD=1); fail with how to
    /// provision it instead.
    #[arg(long)]
    no_download: bool,
}

impl Common {
    /// The flags as `--set` overrides (prefixed, e.g. `run.` for a study file), after the
    /// user's own.
    fn overrides(&self, prefix: &str) -> Vec<String> {
        let mut o = self.set.clone();
        if let Some(b) = &self.backend {
            o.push(format!("{prefix}backend=\"{b}\""));
        }
        if let Some(d) = &self.data_dir {
            // Absolute, so that the run's spec.toml resumes from any working directory.
            let d = std::path::absolute(d).unwrap_or_else(|_| d.clone());
            o.push(format!("{prefix}data.dir={}", toml_string(&d.display().to_string())));
        }
        if let Some(c) = &self.console {
            o.push(format!("{prefix}log.console={c}"));
        }
        o
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[derive(Args)]
struct TrainArgs {
    /// A run config (TOML). See README.md for every key.
    config: Option<PathBuf>,
    /// Continue the run in this directory from its newest checkpoint (only --backend,
    /// --data-dir and --console may differ from the run's spec.toml). Several directories of
    /// runs that differ only in seed and init law continue as one population (one batched
    /// computation; see `compare --population`).
    #[arg(long, value_name = "RUN_DIR", num_args = 1.., conflicts_with = "config")]
    resume: Vec<PathBuf>,
    /// The run's name (its directory under --runs-dir); default: the config file's name.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct CompareArgs {
    /// A study file (TOML) [default: experiments/gauss_vs_levy_mnist.toml, else the built-in copy].
    study: Option<PathBuf>,
    /// Train this many runs at once, each in its own `tailgrad train` process (its log in
    /// RUN_DIR/train.log); the CPU's threads are shared out among them. Default: one per CPU
    /// core on the CPU backend (burn's CPU backend keeps about one core busy per run), one on a GPU.
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Train up to P runs that share architecture, data and schedule (they differ in seed and
    /// init law) as one population: one process, one batched computation, each run with its own
    /// run directory, logs, checkpoints and outcome. 1: every run alone. Default: the whole
    /// grid on a GPU; 1 on the CPU backend, where populations measured no faster than one
    /// process per core (BENCHMARKS.md). With --emit: P runs per array task.
    #[arg(long, value_name = "P")]
    population: Option<usize>,
    /// Write a cluster job-array script instead of training: `slurm` (STUDY_DIR/sweep.slurm) or
    /// `pbs` (STUDY_DIR/sweep.pbs).
    #[arg(long, value_name = "slurm|pbs")]
    emit: Option<emit::Scheduler>,
    /// With --emit: at most this many array tasks run at once (Slurm `%P`, PBS `max_run_subjobs`).
    #[arg(long, value_name = "P")]
    array_parallelism: Option<usize>,
    /// With --emit: the cluster's largest array (Slurm MaxArraySize, PBS max_array_size); a
    /// larger grid is split into several scripts.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_array_size: usize,
    /// With --emit: the wall-time limit of each task (`HH:MM:SS`); two minutes before it the task
    /// checkpoints, stops and requeues itself.
    #[arg(long, value_name = "HH:MM:SS")]
    time_limit: Option<String>,
    /// Train only grid point K (0-based; what each array task runs); no report.
    #[arg(long, value_name = "K")]
    task: Option<usize>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ProbeArgs {
    /// A run directory (holding spec.toml and checkpoints/).
    run_dir: PathBuf,
    /// The instrument (one of tailgrad_probe::INSTRUMENTS).
    #[arg(long, value_parser = instrument_names())]
    probe: String,
    /// last (the newest epoch checkpoint), best, or a checkpoint file.
    #[arg(long, default_value = "last")]
    checkpoint: String,
    /// A probe setting `key=value` (repeatable), e.g. `--set top_k=10`; see README.md.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// auto, wgpu or cpu (default: the run's).
    #[arg(long, value_name = "auto|wgpu|cpu")]
    backend: Option<BackendChoice>,
    /// Never download a missing dataset.
    #[arg(long)]
    no_download: bool,
}

#[derive(Args)]
struct CriticalityArgs {
    /// A criticality config, e.g. experiments/criticality_random_mlp.toml.
    config: PathBuf,
    /// `key=value` override (repeatable), e.g. `--set width=200`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Results go to RUNS_DIR/<name>/.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs_dir: PathBuf,
    /// Data directory for the MNIST inputs of the representation statistics.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct InitStatsArgs {
    /// A run config, or a study file (its `[run]` table; `--set` keys as for `compare`).
    config: PathBuf,
    /// Seeds to draw the network with (e.g. `--seeds 0-9` or `--seeds 0,3,7`; default: the config's).
    #[arg(long, value_name = "LIST")]
    seeds: Option<String>,
    /// Print JSON (one object per seed) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ExportArgs {
    /// A run directory.
    run_dir: PathBuf,
    /// The output file (safetensors) [default: RUN_DIR/export.safetensors].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Epochs of batch order to export [default: the run's epochs].
    #[arg(long)]
    epochs: Option<u64>,
    /// Data directory (default: the run's).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download datasets from their official homes, verify checksums, install them.
    Fetch {
        /// mnist, fashion-mnist, cifar10 (default: all three).
        datasets: Vec<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// A mirror to use instead of the official locations (also: $TAILGRAD_DATA_MIRROR).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// Check which dataset files are present and intact.
    Verify {
        /// mnist, fashion-mnist, cifar10 (default: all three).
        datasets: Vec<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train_cmd::train(args),
        Command::Compare(args) => study::compare(args),
        Command::Report { study_dir } if study_dir.join("spec.toml").is_file() => tailgrad_probe::figure::draw(&study_dir).map(|figs| {
            figs.iter().for_each(|f| eprintln!("wrote {}", f.display()));
            ExitCode::SUCCESS
        }),
        Command::Report { study_dir } => study::report(&study_dir).map(|_| ExitCode::SUCCESS),
        Command::Probe(args) => probe_cmd::probe(args),
        Command::Criticality(args) => criticality_cmd::criticality(args),
        Command::InitStats(args) => init_stats::init_stats(args),
        Command::Export(args) => export_cmd::export(args),
        Command::Data { command } => data_cmd::data(command),
        Command::Devices => data_cmd::devices(),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_relative_data_dir_is_stored_absolute() {
        // Issue 24, item 7: `--data-dir ds` was written verbatim into spec.toml.
        let common = super::Common { set: vec![], backend: None, data_dir: Some("ds".into()), runs_dir: "runs".into(), console: None, no_download: false };
        let want = std::env::current_dir().unwrap().join("ds");
        assert_eq!(common.overrides("run."), [format!("run.data.dir={}", super::toml_string(&want.display().to_string()))]);
    }
}

/// The instruments' names, each with its one-line summary in `--help`.
fn instrument_names() -> clap::builder::PossibleValuesParser {
    tailgrad_probe::INSTRUMENTS.iter().map(|i| clap::builder::PossibleValue::new(i.name).help(i.about)).collect::<Vec<_>>().into()
}
