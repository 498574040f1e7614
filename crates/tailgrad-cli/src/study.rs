//! `compare` and `report`: a study is a grid of init laws (alpha x sigma_w) x seeds, trained
//! with one base run config; each grid point is a run directory under `runs/<study>/`, and the
//! report goes to `runs/<study>/report/`.

use crate::CompareArgs;
use crate::commands::run;
use crate::workers;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tailgrad_report::{RunRef, group_runs, learning_curves, summary_table, write_tables};
use tailgrad_train::spec::apply_override;
use tailgrad_train::{RunSpec, read_summary};

/// The default study, built in so that `tailgrad compare` works from any directory.
const DEFAULT_STUDY: &str = include_str!("../../../experiments/gauss_vs_levy_mnist.toml");
const DEFAULT_STUDY_PATH: &str = "experiments/gauss_vs_levy_mnist.toml";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudySpec {
    name: String,
    seeds: Vec<u64>,
    /// Stable index of the weights; 2 is the Gaussian.
    alpha: Vec<f64>,
    sigma_w: Vec<f64>,
    /// Test-accuracy thresholds for the epochs-to-threshold table.
    #[serde(default = "default_thresholds")]
    thresholds: Vec<f64>,
    /// What the literature leads one to expect (printed with the report).
    #[serde(default)]
    expectation: String,
    /// The expected wall time, printed when the study starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    budget: String,
}

fn default_thresholds() -> Vec<f64> {
    vec![0.90, 0.93, 0.95]
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudyFile {
    study: StudySpec,
    /// The base run config; `seed` and `model.init`'s alpha and sigma_w vary over the grid.
    run: toml::Table,
}

/// One grid point.
pub(crate) struct Point {
    pub(crate) spec: RunSpec,
    pub(crate) dir: PathBuf,
    reference: RunRef,
}

fn label(x: f64) -> String {
    format!("{x}")
}

fn series_label(alpha: f64) -> String {
    if alpha == 2.0 { "alpha = 2 (Gaussian)".to_string() } else { format!("alpha = {}", label(alpha)) }
}

fn panel_label(sigma: f64) -> String {
    format!("sigma_w = {}", label(sigma))
}

fn expand(study: &StudyFile, study_dir: &Path, origin: &str) -> anyhow::Result<Vec<Point>> {
    let s = &study.study;
    if s.seeds.is_empty() || s.alpha.is_empty() || s.sigma_w.is_empty() {
        bail!("{origin}: `study.seeds`, `study.alpha` and `study.sigma_w` must each list at least one value");
    }
    let mut points = Vec::new();
    for &sigma in &s.sigma_w {
        for &alpha in &s.alpha {
            for &seed in &s.seeds {
                let cell = format!("a{}_s{}", label(alpha), label(sigma));
                let overrides = [
                    format!("name=\"{cell}-seed{seed}\""),
                    format!("seed={seed}"),
                    "model.init.law=\"stable\"".to_string(),
                    format!("model.init.alpha={alpha}"),
                    format!("model.init.sigma_w={sigma}"),
                ];
                let spec = RunSpec::from_table(study.run.clone(), &overrides, origin)?;
                let dir = study_dir.join(&cell).join(format!("seed{seed}"));
                points.push(Point {
                    spec,
                    dir: dir.clone(),
                    reference: RunRef { dir, panel: panel_label(sigma), series: series_label(alpha), seed },
                });
            }
        }
    }
    Ok(points)
}

fn load_study(args: &CompareArgs) -> anyhow::Result<(StudyFile, String)> {
    let (text, origin) = match &args.study {
        Some(path) => (std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?, path.display().to_string()),
        None if Path::new(DEFAULT_STUDY_PATH).is_file() => (std::fs::read_to_string(DEFAULT_STUDY_PATH)?, DEFAULT_STUDY_PATH.to_string()),
        None => (DEFAULT_STUDY.to_string(), format!("{DEFAULT_STUDY_PATH} (built in)")),
    };
    let mut tree: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
    for o in args.common.overrides("run.") {
        let o = if o.starts_with("study.") || o.starts_with("run.") { o } else { format!("run.{o}") };
        apply_override(&mut tree, &o)?;
    }
    let study: StudyFile = tree.try_into().map_err(|e: toml::de::Error| anyhow::anyhow!("{origin}: {e}"))?;
    Ok((study, origin))
}

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (study, origin) = load_study(&args)?;
    let study_dir = args.common.runs_dir.join(&study.study.name);
    let points = expand(&study, &study_dir, &origin)?;
    std::fs::create_dir_all(&study_dir)?;
    let resolved = toml::to_string(&study)?;
    tailgrad_model::tensors_io::write_atomically(&study_dir.join("study.toml"), resolved.as_bytes())?;
    if let Some(kind) = &args.emit {
        if kind != "slurm" {
            bail!("--emit {kind}: the only format is `slurm`");
        }
        let script = slurm_script(&study.study.name, &study_dir, &args.common.runs_dir, points.len())?;
        eprintln!("wrote {} ({} array tasks); submit it with `sbatch {}`, then run `tailgrad report {}`", script.display(), points.len(), script.display(), study_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(k) = args.task {
        let p = points.get(k).with_context(|| format!("--task {k}: the study has {} grid points (0..{})", points.len(), points.len()))?;
        if read_summary(&p.dir).is_ok() {
            eprintln!("{}: done before, reused", p.spec.name);
        } else {
            let summary = run(&p.spec, &p.dir, p.dir.join("spec.toml").exists())?;
            eprintln!("{}: {}", p.spec.name, workers::outcome(&summary));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let t = &points[0].spec.train;
    eprintln!(
        "study {}: {} runs ({} alpha x {} sigma_w x {} seeds), {} epochs each on {} -> {}",
        study.study.name,
        points.len(),
        study.study.alpha.len(),
        study.study.sigma_w.len(),
        study.study.seeds.len(),
        t.epochs,
        points[0].spec.data.name,
        study_dir.display()
    );
    if !study.study.budget.is_empty() {
        eprintln!("budget: {}", study.study.budget);
    }
    let started = Instant::now();
    let mut todo = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let spec_file = p.dir.join("spec.toml");
        if spec_file.exists() {
            let existing = std::fs::read_to_string(&spec_file)?;
            if existing != p.spec.to_toml() {
                bail!(
                    "{} was trained with a different config than {origin} now gives; delete it, or give the study a new `study.name`",
                    p.dir.display()
                );
            }
            if let Ok(summary) = read_summary(&p.dir) {
                eprintln!("[{}/{}] {}: done before ({:?}), reused", i + 1, points.len(), p.spec.name, summary.status);
                continue;
            }
        }
        todo.push(p);
    }
    let trained = todo.len();
    let jobs = args.jobs.unwrap_or_else(|| workers::default_jobs(points[0].spec.backend)).min(todo.len()).max(1);
    if jobs > 1 {
        workers::run_all(&todo, jobs)?;
    } else {
        for (i, p) in todo.iter().enumerate() {
            let summary = run(&p.spec, &p.dir, p.dir.join("spec.toml").exists())?;
            let per_run = started.elapsed().as_secs_f64() / (i + 1) as f64;
            eprintln!(
                "[{}/{}] {}: {}; about {:.1} min left",
                i + 1,
                todo.len(),
                p.spec.name,
                workers::outcome(&summary),
                per_run * (todo.len() - i - 1) as f64 / 60.0
            );
        }
    }
    eprintln!("study {}: trained {trained} runs in {:.1} min", study.study.name, started.elapsed().as_secs_f64() / 60.0);
    report(&study_dir)?;
    Ok(ExitCode::SUCCESS)
}

/// Rebuild `<study_dir>/report/` from the study's runs.
pub fn report(study_dir: &Path) -> anyhow::Result<()> {
    let path = study_dir.join("study.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{} is not a study directory", study_dir.display()))?;
    let study: StudyFile = toml::from_str(&text).with_context(|| format!("{}: not a study file", path.display()))?;
    let points = expand(&study, study_dir, &path.display().to_string())?;
    let done: Vec<RunRef> = points.iter().filter(|p| p.dir.join("summary.json").exists()).map(|p| p.reference.clone()).collect();
    if done.is_empty() {
        bail!("{}: no finished runs to report", study_dir.display());
    }
    let groups = group_runs(&done)?;
    let out = study_dir.join("report");
    std::fs::create_dir_all(&out)?;
    let first = &points[0].spec;
    let title = format!(
        "{}: {} MLP {:?}, lr {}, batch {} (mean ± std over {} seeds)",
        study.study.name,
        first.data.name,
        first.model.hidden,
        first.train.lr,
        first.train.batch_size,
        study.study.seeds.len()
    );
    learning_curves(&groups, &title, &out, "learning_curves")?;
    if study.study.alpha.len() >= 2 && study.study.sigma_w.len() >= 2 {
        phase_diagram(&study.study, &groups, first.train.epochs, &out)?;
    }
    let md = write_tables(&summary_table(&groups, &study.study.thresholds), &out)?;
    println!("{md}");
    if !study.study.expectation.is_empty() {
        println!("Expected from the literature: {}", study.study.expectation);
    }
    eprintln!(
        "report: {} runs of {} -> {}/{{learning_curves.png|svg, table.md|csv, phase_diagram.png|svg for 2-D grids}}",
        done.len(),
        points.len(),
        out.display()
    );
    Ok(())
}

/// Heat maps over (alpha, sigma_w): mean final test accuracy and mean epochs to the threshold
/// nearest 93% (Qu et al.'s speed measure; a seed that never gets there counts as the epoch
/// budget + 1, so that it differs from one that gets there in the last epoch).
fn phase_diagram(s: &StudySpec, groups: &[tailgrad_report::Group], epochs: usize, out: &Path) -> anyhow::Result<()> {
    let threshold = s.thresholds.iter().copied().min_by(|a, b| (a - 0.93).abs().total_cmp(&(b - 0.93).abs())).unwrap_or(0.93);
    let cell = |alpha: f64, sigma: f64| groups.iter().find(|g| g.series == series_label(alpha) && g.panel == panel_label(sigma));
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let grid = |f: &dyn Fn(&tailgrad_report::Group) -> Option<f64>| -> Vec<Vec<Option<f64>>> {
        s.alpha.iter().map(|&a| s.sigma_w.iter().map(|&sg| cell(a, sg).and_then(f)).collect()).collect()
    };
    let acc = grid(&|g| mean(g.runs.iter().map(|(_, _, r)| r.final_test_acc).filter(|v| v.is_finite()).collect()));
    let never = (epochs + 1) as f64;
    let speed = grid(&|g| mean(g.epochs_to(threshold).into_iter().map(|e| e.unwrap_or(never)).collect()));
    let panels = [
        tailgrad_report::HeatPanel { title: "final test accuracy (%)".into(), values: acc, label: |v| format!("{:.1}", 100.0 * v) },
        tailgrad_report::HeatPanel {
            title: format!("epochs to {:.0}% ({} = never)", 100.0 * threshold, epochs + 1),
            values: speed,
            label: |v| format!("{v:.1}"),
        },
    ];
    let rows: Vec<String> = s.alpha.iter().map(|a| label(*a)).collect();
    let cols: Vec<String> = s.sigma_w.iter().map(|x| label(*x)).collect();
    tailgrad_report::heat_maps(&panels, ("alpha", &rows), ("sigma_w", &cols), &format!("{}: phase diagram (mean over seeds)", s.name), out, "phase_diagram")
}

/// A Slurm job-array script: array task K runs grid point K (`tailgrad compare STUDY --task K`)
/// with absolute paths, so a cluster runs it unchanged from a shared filesystem.
fn slurm_script(name: &str, study_dir: &Path, runs_dir: &Path, points: usize) -> anyhow::Result<PathBuf> {
    let abs = |p: &Path| std::path::absolute(p).with_context(|| format!("resolving {}", p.display()));
    let (study_dir, runs_dir, cwd) = (abs(study_dir)?, abs(runs_dir)?, std::env::current_dir()?);
    let exe = std::env::current_exe().context("finding the tailgrad executable")?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let text = format!(
        "#!/bin/bash\n\
         # Slurm job array for the tailgrad study `{name}`: one array task per grid point ({points} points).\n\
         # Submit: sbatch {script}\n\
         # Each task trains one run directory (resumable; finished runs are skipped); when all are done:\n\
         #   tailgrad report {study}\n\
         #SBATCH --job-name=tailgrad-{name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task=2\n\
         #SBATCH --output={study_raw}/slurm-%A_%a.out\n\
         set -euo pipefail\n\
         cd {cwd}\n\
         exec {exe} compare {study}/study.toml --runs-dir {runs} --task \"$SLURM_ARRAY_TASK_ID\"\n",
        last = points - 1,
        script = quote(&study_dir.join("sweep.slurm")),
        study = quote(&study_dir),
        study_raw = study_dir.display(),
        cwd = quote(&cwd),
        exe = quote(&exe),
        runs = quote(&runs_dir),
    );
    let path = study_dir.join("sweep.slurm");
    tailgrad_model::tensors_io::write_atomically(&path, text.as_bytes())?;
    Ok(path)
}
