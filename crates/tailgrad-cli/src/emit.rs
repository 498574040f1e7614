//! Cluster job-array scripts for a study: one array task per grid point (`tailgrad compare
//! STUDY --task K`), with absolute paths so that a cluster runs them unchanged from a shared
//! filesystem, a throttle on how many tasks run at once, grids larger than the cluster's
//! largest array split into several scripts, and requeue before the time limit: the scheduler
//! warns the task (Slurm: `--signal=B:USR1@120`; PBS: SIGTERM at the wall time), the script
//! passes the signal on, tailgrad checkpoints and exits with status 4, and the script requeues
//! the task, which resumes from the checkpoint when it runs again.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheduler {
    Slurm,
    Pbs,
}

impl Scheduler {
    pub fn submit_command(self) -> &'static str {
        match self {
            Scheduler::Slurm => "sbatch",
            Scheduler::Pbs => "qsub",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Scheduler::Slurm => "slurm",
            Scheduler::Pbs => "pbs",
        }
    }
}

/// What the scripts ask of the scheduler.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// At most this many tasks of an array at once.
    pub parallelism: Option<usize>,
    /// The cluster's largest array.
    pub max_array_size: usize,
    /// Wall time per task, `HH:MM:SS`.
    pub time_limit: Option<String>,
    /// Runs per task (1: one grid point per task; more: a population per task).
    pub population: usize,
}

/// A script written, and how many array tasks it holds.
pub struct Script {
    pub path: PathBuf,
    pub tasks: usize,
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// Write the scripts of a study of `points` grid points into `study_dir`: `sweep.<ext>`, or
/// `sweep-part<k>.<ext>` when the grid is larger than `max_array_size`.
pub fn write(scheduler: Scheduler, name: &str, study_dir: &Path, runs_dir: &Path, points: usize, options: &Options) -> anyhow::Result<Vec<Script>> {
    if options.max_array_size == 0 {
        bail!("--max-array-size must be > 0");
    }
    if options.parallelism == Some(0) {
        bail!("--array-parallelism must be > 0");
    }
    if let Some(t) = &options.time_limit
        && !t.split(':').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
    {
        bail!("--time-limit `{t}`: expected HH:MM:SS");
    }
    let abs = |p: &Path| std::path::absolute(p).with_context(|| format!("resolving {}", p.display()));
    let (study_dir, runs_dir, cwd) = (abs(study_dir)?, abs(runs_dir)?, std::env::current_dir()?);
    let exe = std::env::current_exe().context("finding the tailgrad executable")?;
    let parts = points.div_ceil(options.max_array_size);
    let mut scripts = Vec::new();
    for part in 0..parts {
        let offset = part * options.max_array_size;
        let tasks = options.max_array_size.min(points - offset);
        let file = if parts == 1 { format!("sweep.{}", scheduler.extension()) } else { format!("sweep-part{}.{}", part + 1, scheduler.extension()) };
        let path = study_dir.join(file);
        let job = if parts == 1 { format!("tailgrad-{name}") } else { format!("tailgrad-{name}-part{}", part + 1) };
        let header = match scheduler {
            Scheduler::Slurm => slurm_header(&job, tasks, options, &study_dir),
            Scheduler::Pbs => pbs_header(&job, tasks, options, &study_dir),
        };
        let text = format!(
            "#!/bin/bash\n\
             # {scheduler:?} job array for the tailgrad study `{name}`: tasks {offset}..{last} of {points}.\n\
             # Submit: {submit} {script}\n\
             # {each} (resumable; finished runs are reused); when all are done:\n\
             #   tailgrad report {study}\n\
             {header}\
             set -u\n\
             cd {cwd}\n\
             task=$(( {offset} + {index_var} ))\n\
             # The scheduler's warning reaches tailgrad, which checkpoints and exits with status 4.\n\
             {exe} compare {study}/study.toml --runs-dir {runs} --task \"$task\"{packing} &\n\
             pid=$!\n\
             trap 'kill -{signal} \"$pid\" 2>/dev/null' {signal}\n\
             while :; do\n\
             \x20 wait \"$pid\"; status=$?\n\
             \x20 kill -0 \"$pid\" 2>/dev/null || break  # wait was interrupted by the trap; tailgrad still runs\n\
             done\n\
             if [ \"$status\" -eq 4 ]; then\n\
             \x20 {requeue}\n\
             fi\n\
             exit \"$status\"\n",
            last = offset + tasks - 1,
            each = if options.population > 1 {
                format!("Each task trains up to {} runs as one population", options.population)
            } else {
                "Each task trains one run directory".to_string()
            },
            packing = if options.population > 1 { format!(" --population {}", options.population) } else { String::new() },
            submit = scheduler.submit_command(),
            script = quote(&path),
            study = quote(&study_dir),
            cwd = quote(&cwd),
            exe = quote(&exe),
            runs = quote(&runs_dir),
            index_var = match scheduler {
                Scheduler::Slurm => "SLURM_ARRAY_TASK_ID",
                Scheduler::Pbs => "PBS_ARRAY_INDEX",
            },
            signal = match scheduler {
                Scheduler::Slurm => "USR1",
                Scheduler::Pbs => "TERM",
            },
            requeue = match scheduler {
                Scheduler::Slurm => "echo \"task $task checkpointed before the time limit; requeueing\"\n  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" && exit 0",
                Scheduler::Pbs => "echo \"task $task checkpointed before the wall time; rerunning\"\n  qrerun \"$PBS_JOBID\" && exit 0\n  echo \"qrerun was refused: submit this script again; finished runs are reused, this one resumes\"",
            },
        );
        tailgrad_rundir::io::write_atomically(&path, text.as_bytes())?;
        scripts.push(Script { path, tasks });
    }
    Ok(scripts)
}

fn slurm_header(job: &str, tasks: usize, o: &Options, study_dir: &Path) -> String {
    let throttle = o.parallelism.map_or(String::new(), |p| format!("%{p}"));
    let time = o.time_limit.as_ref().map_or(String::new(), |t| format!("#SBATCH --time={t}\n"));
    format!(
        "#SBATCH --job-name={job}\n\
         #SBATCH --array=0-{last}{throttle}\n\
         #SBATCH --cpus-per-task=2\n\
         {time}\
         #SBATCH --signal=B:USR1@120\n\
         #SBATCH --requeue\n\
         #SBATCH --open-mode=append\n\
         #SBATCH --output={dir}/slurm-%A_%a.out\n",
        last = tasks - 1,
        dir = study_dir.display()
    )
}

fn pbs_header(job: &str, tasks: usize, o: &Options, study_dir: &Path) -> String {
    let throttle = o.parallelism.map_or(String::new(), |p| format!("#PBS -W max_run_subjobs={p}\n"));
    let time = o.time_limit.as_ref().map_or(String::new(), |t| format!("#PBS -l walltime={t}\n"));
    // PBS wants a range of at least two indices; a one-task part is submitted as 0-1 and task 1 of
    // it is a grid point of the next part or past the grid: `--task` refuses the latter.
    format!(
        "#PBS -N {job}\n\
         #PBS -J 0-{last}\n\
         {throttle}\
         #PBS -l ncpus=2\n\
         {time}\
         #PBS -r y\n\
         #PBS -j oe\n\
         #PBS -o {dir}/\n",
        last = tasks.max(2) - 1,
        dir = study_dir.display()
    )
}
