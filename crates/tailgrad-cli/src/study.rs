//! `compare` and `report`: a study is a grid of init laws (alpha x sigma_w) x seeds, trained
//! with one base run config; each grid point is a run directory under `runs/<study>/`, and the
//! report goes to `runs/<study>/report/`.

use crate::CompareArgs;
use crate::grid::{Point, StudyFile};
use crate::train_cmd::{self, busy, exit_code};
use crate::spec_diff::training_differences;
use crate::study_config::{self, Use};
use crate::{data_cmd, emit, populations, workers};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use tailgrad_report::{Group, HeatPanel, group_runs, learning_curves, paired_differences, summary_table, write_collapsed, write_paired, write_tables};
use tailgrad_rundir::tensorboard::{EventWriter, HParam};
use tailgrad_rundir::Summary;
use tailgrad_train::{Member, RunEnd, StopFlag};

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (study, origin) = StudyFile::load(args.study.as_deref(), &args.common.overrides("run."))?;
    let study_dir = args.common.runs_dir.join(&study.study.name);
    let points = study.expand(&study_dir, &origin)?;
    // The study directory is made only once the study can start (a failed check leaves nothing);
    // then it records the study's config, or checks this command's against the recorded one.
    let claim = |how| study_config::claim(&study_dir, &study, &origin, how);
    let all: Vec<&Point> = points.iter().collect();
    if args.population == Some(0) {
        bail!("--population 0: give the number of runs per population (1: every run alone)");
    }
    if let Some(scheduler) = args.emit {
        claim(Use::Whole)?;
        let population = args.population.unwrap_or(1);
        let options = emit::Options {
            parallelism: args.array_parallelism,
            max_array_size: args.max_array_size,
            time_limit: args.time_limit.clone(),
            population,
        };
        let tasks = populations::tasks(&all, population).len();
        for script in emit::write(scheduler, &study.study.name, &study_dir, &args.common.runs_dir, tasks, &options)? {
            eprintln!("wrote {} ({} array tasks); submit it with `{} {}`", script.path.display(), script.tasks, scheduler.submit_command(), script.path.display());
        }
        eprintln!("when the tasks are done: tailgrad report {}", study_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    // Every dataset the grid trains on (a `data.name` axis has several).
    let mut datasets: Vec<&tailgrad_data::DataSpec> = Vec::new();
    for p in &points {
        if !datasets.iter().any(|d| d.name() == p.spec.data().name() && d.dir() == p.spec.data().dir()) {
            datasets.push(p.spec.data());
        }
    }
    for data in datasets {
        data_cmd::ensure(data, args.common.no_download)?;
    }
    if let Some(k) = args.task {
        // Array task K: grid point K, or with --population P the K-th population of P runs.
        let population = args.population.unwrap_or(1);
        let tasks = populations::tasks(&all, population);
        let what = if population > 1 { format!("tasks of up to {population} runs") } else { "grid points".to_string() };
        let task = tasks.get(k).with_context(|| format!("--task {k}: the study has {} {what} (0..{})", tasks.len(), tasks.len()))?;
        claim(Use::Task)?;
        return train_task(task);
    }
    check_consistent(&points, &origin)?;
    // The backend the runs will use, chosen once here (listing wgpu adapters is not free).
    let selected = tailgrad_backend::select(points[0].spec.backend()).ok();
    let on_cpu = selected.as_ref().is_some_and(|s| s.backend == tailgrad_backend::BackendChoice::Cpu);
    let population = args.population.unwrap_or_else(|| populations::default_size(on_cpu));
    let existed = study_dir.exists();
    if let Err(e) = preflight(&points, &study_dir, selected.as_ref().map(|s| &s.device), population).and_then(|_| claim(Use::Whole)) {
        if !existed {
            // Only if still empty: a concurrent compare may own it by now.
            let _ = std::fs::remove_dir(&study_dir);
        }
        return Err(e);
    }
    let t = points[0].spec.train();
    let grid: Vec<String> = study.axes().iter().map(|a| format!("{} {}", a.values.len(), a.key)).chain([format!("{} seeds", study.study.seeds.len())]).collect();
    eprintln!(
        "study {}: {} runs ({}), {} epochs each on {} -> {}",
        study.study.name,
        points.len(),
        grid.join(" x "),
        t.epochs(),
        points[0].spec.data().name(),
        study_dir.display()
    );
    if !study.study.budget.is_empty() {
        eprintln!("budget: {}", study.study.budget);
    }
    declare_hparams(&study, &study_dir)?;
    let started = Instant::now();
    let mut todo = Vec::new();
    for p in &points {
        match Summary::read(&p.dir) {
            Ok(s) => eprintln!("[{}/{}] {}: done before ({}), reused", p.index + 1, points.len(), p.spec.name(), s.status.outcome()),
            Err(_) => todo.push(p),
        }
    }
    let trained = todo.len();
    let tasks = populations::tasks(&todo, population);
    let jobs = args.jobs.unwrap_or_else(|| workers::default_jobs(on_cpu)).min(tasks.len()).max(1);
    // SIGINT and SIGTERM (also when started in the background, where a shell ignores SIGINT)
    // stop the study as they stop `train`: every run checkpointed, exit status 4.
    let stop = StopFlag::on_signals()?;
    let stopped = || {
        eprintln!(
            "study {} stopped on request; every run is checkpointed. Continue with the same command:\n  {}",
            study.study.name,
            command_line()
        );
        Ok(ExitCode::from(tailgrad_train::EXIT_STOPPED))
    };
    if jobs > 1 {
        if workers::run_all(&tasks, jobs, &stop)? == workers::Ended::Stopped {
            return stopped();
        }
    } else {
        let mut done = 0;
        for task in &tasks {
            for (p, end) in task.iter().zip(train_together(task, stop.clone())?) {
                done += 1;
                match end {
                    Ok(RunEnd::Completed(s)) => eprintln!("[{done}/{}] {}: {}", todo.len(), p.spec.name(), workers::outcome(&s)),
                    Ok(RunEnd::Stopped { .. }) => return stopped(),
                    Err(e) if busy(&e) => eprintln!("[{done}/{}] {}: skipped, {e:#}", todo.len(), p.spec.name()),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    eprintln!("study {}: trained {trained} runs in {:.1} min", study.study.name, started.elapsed().as_secs_f64() / 60.0);
    report(&study_dir)?;
    Ok(ExitCode::SUCCESS)
}

/// This process's command line, quoted for a POSIX shell where needed (to print how to continue).
fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| if i == 0 { "tailgrad".to_string() } else { a })
        .map(|a| if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c)) { a } else { format!("'{}'", a.replace('\'', "'\\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The runs of a task trained (or resumed) in this process: alone, or as one population.
fn train_together(task: &[&Point], stop: StopFlag) -> anyhow::Result<Vec<anyhow::Result<RunEnd>>> {
    Ok(match task {
        [p] => vec![train_cmd::run(&p.spec, &p.dir, p.dir.join("spec.toml").exists(), stop)],
        _ => {
            let members: Vec<Member> = task.iter().map(|p| Member { spec: p.spec.clone(), run_dir: p.dir.clone(), resume: p.dir.join("spec.toml").exists() }).collect();
            train_cmd::run_population(&members, stop)?
        }
    })
}

/// An array task: its runs trained, resumed, or reused when done. Exit status: 4 when stopped
/// (the script requeues the task), 3 when a run alone diverged, else 0; an error fails the task.
fn train_task(task: &[&Point]) -> anyhow::Result<ExitCode> {
    let todo: Vec<&Point> = task
        .iter()
        .copied()
        .filter(|p| match Summary::read(&p.dir) {
            Ok(s) => {
                eprintln!("{}: done before ({}), reused", p.spec.name(), s.status.outcome());
                false
            }
            Err(_) => true,
        })
        .collect();
    if todo.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let ends = train_together(&todo, StopFlag::on_signals()?)?;
    let mut status = ExitCode::SUCCESS;
    for (p, end) in todo.iter().zip(ends) {
        let end = end.with_context(|| format!("training {}", p.spec.name()))?;
        if let RunEnd::Completed(s) = &end {
            eprintln!("{}: {}", p.spec.name(), workers::outcome(s));
        }
        if matches!(end, RunEnd::Stopped { .. }) || todo.len() == 1 {
            status = exit_code(&end);
        }
    }
    Ok(status)
}

/// Runs trained earlier must have been trained with the config the study gives now (where they
/// run and read may differ): a study's runs are never mixed, neither in training nor in a report.
fn check_consistent(points: &[Point], origin: &str) -> anyhow::Result<()> {
    for p in points {
        let spec_file = p.dir.join("spec.toml");
        if spec_file.exists() {
            let trained = tailgrad_train::RunSpec::from_file(&spec_file, &[])?;
            let differences = training_differences(&trained, &p.spec, "");
            if !differences.is_empty() {
                bail!(
                    "{} was trained with a different config than {origin} gives:\n  {}\nA study's runs share one config: \
                     delete that run, or give the study a new `study.name`",
                    p.dir.display(),
                    differences.join("\n  ")
                );
            }
        }
    }
    Ok(())
}

/// Before the first run starts: the runs directory is writable, a task (up to `population` runs
/// in one process) fits in memory on `device`, and there is room for the runs' checkpoints (a
/// study that fails an hour in for a full disk has wasted the hour).
fn preflight(points: &[Point], study_dir: &Path, device: Option<&burn::tensor::Device>, population: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(study_dir).with_context(|| format!("creating {}", study_dir.display()))?;
    let probe = study_dir.join(format!(".write-test.{}", std::process::id()));
    std::fs::write(&probe, b"ok").with_context(|| format!("{} is not writable", study_dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    // Each cell's layer widths (its data's input and class counts around its hidden layers): the
    // grid's axes may change the width, the depth or the dataset.
    let mut shapes: Vec<(String, usize, usize)> = Vec::new();
    let mut cells: Vec<(&Point, Vec<usize>)> = Vec::new();
    for p in points {
        let spec = &p.spec;
        let shape = match shapes.iter().find(|s| s.0 == spec.data().name().to_string()) {
            Some(s) => s.clone(),
            None => {
                let data = spec.data().load(spec.seed()).with_context(|| format!("loading the data of {}", spec.name()))?;
                shapes.push((spec.data().name().to_string(), data.train.features(), data.train.classes));
                shapes.last().expect("just pushed").clone()
            }
        };
        let widths: Vec<usize> = [shape.1].into_iter().chain(spec.model().hidden().iter().copied()).chain([shape.2]).collect();
        cells.push((p, widths));
    }
    let params = |widths: &[usize]| -> u64 { widths.windows(2).map(|w| (w[0] * w[1]) as u64).sum() };
    // A model too large for memory fails here once, not in every worker: the grid's largest.
    if let Some(device) = device
        && let Some((p, widths)) = cells.iter().max_by_key(|(p, w)| params(w) * p.spec.train().batch_size().max(p.spec.train().eval_batch()) as u64)
    {
        let members = population.min(points.len());
        tailgrad_train::run::check_memory(widths, p.spec.train().batch_size().max(p.spec.train().eval_batch()), members, device)?;
    }
    let per_run = |p: &Point, widths: &[usize]| {
        let copies = 1 + (p.spec.train().momentum() > 0.0) as u64;
        4 * params(widths) * (copies * p.spec.train().keep_checkpoints() as u64 + 1) + (1 << 20)
    };
    let need: u64 = cells.iter().filter(|(p, _)| !p.dir.join("summary.json").exists()).map(|(p, w)| per_run(p, w)).sum();
    let per_run = cells.iter().map(|(p, w)| per_run(p, w)).max().unwrap_or(0);
    if let Some(free) = free_bytes(study_dir)
        && need > free
    {
        bail!(
            "{} has {} free, but the study's checkpoints need about {} (up to {} per run); free space, \
             lower `train.keep_checkpoints`, or use another --runs-dir",
            study_dir.display(),
            size(free),
            size(need),
            size(per_run)
        );
    }
    Ok(())
}

/// A byte count for a message: MB below a gigabyte (so that 17 MB is not "0.0 GB"), else GB.
fn size(bytes: u64) -> String {
    if bytes < 1_000_000_000 { format!("{:.0} MB", bytes as f64 / 1e6) } else { format!("{:.1} GB", bytes as f64 / 1e9) }
}

/// Free bytes on the filesystem holding `dir`, from `df` (None where it cannot tell).
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df").arg("-Pk").arg(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let kb: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kb * 1024)
}

/// Declare the study's grid to TensorBoard's HParams dashboard: an event file in the study
/// directory (the log root) listing the hyperparameters with their values and the metrics.
fn declare_hparams(study: &StudyFile, study_dir: &Path) -> anyhow::Result<()> {
    if !study.run.get("log").and_then(|l| l.get("tensorboard")).and_then(|t| t.as_bool()).unwrap_or(true) {
        return Ok(());
    }
    // One declaration, the current grid's: earlier ones (of a smaller grid) are replaced.
    for entry in std::fs::read_dir(study_dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("events.out.tfevents.") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let s = &study.study;
    // Named as each run records them (`lr`, `width`, ...; see the run's HParams), else by key.
    fn name(key: &str) -> &str {
        match key {
            "train.lr" => "lr",
            "train.batch_size" => "batch_size",
            "model.width" => "width",
            "model.depth" => "depth",
            other => other,
        }
    }
    let value = |v: &toml::Value| match v {
        toml::Value::Float(x) => HParam::Number(*x),
        toml::Value::Integer(i) => HParam::Number(*i as f64),
        toml::Value::Boolean(b) => HParam::Bool(*b),
        toml::Value::String(t) => HParam::Text(t.clone()),
        other => HParam::Text(other.to_string()),
    };
    let mut hparams: Vec<(String, Vec<HParam>)> = study.axes().iter().map(|a| (name(&a.key).to_string(), a.values.iter().map(value).collect())).collect();
    hparams.push(("seed".to_string(), s.seeds.iter().map(|&x| HParam::Number(x as f64)).collect()));
    let mut w = EventWriter::create(study_dir, None)?;
    w.hparams_experiment(
        &s.name,
        &s.expectation,
        &hparams,
        &[("test/accuracy", "test accuracy"), ("test/loss", "test loss"), ("train/loss", "training loss")],
    )?;
    w.flush()?;
    Ok(())
}

/// Rebuild `<study_dir>/report/` from the study's runs.
///
/// Reports are written one at a time, each from the runs finished when it takes the study's
/// report lock: of two `compare`s that end together, the one that writes last has seen every run
/// the other trained.
pub fn report(study_dir: &Path) -> anyhow::Result<()> {
    let path = study_dir.join("study.toml");
    let (study, origin) = StudyFile::load(Some(&path), &[]).with_context(|| format!("{} is not a study directory", study_dir.display()))?;
    let points = study.expand(study_dir, &origin)?;
    check_consistent(&points, &origin)?;
    let lock_path = study_dir.join(".report.lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("locking {}", lock_path.display()))?;
    let finished: Vec<&Point> = points.iter().filter(|p| p.dir.join("summary.json").exists()).collect();
    let done: Vec<_> = finished.iter().map(|p| p.run_ref()).collect();
    if done.is_empty() {
        bail!("{}: no finished runs to report", study_dir.display());
    }
    let groups = group_runs(&done)?;
    let out = study_dir.join("report");
    std::fs::create_dir_all(&out)?;
    let first = &points[0].spec;
    let title = format!(
        "{}: {} MLP {:?}, lr {}, batch {} ({} seeds; thin: each seed, bold: median)",
        study.study.name,
        first.data().name(),
        first.model().hidden(),
        first.train().lr(),
        first.train().batch_size(),
        study.study.seeds.len()
    );
    learning_curves(&groups, &title, &out, "learning_curves")?;
    let mut written: Vec<String> = vec!["learning_curves.png|svg".into(), "table.md|csv".into()];
    let rows = summary_table(&groups, &study.study.thresholds);
    if study.has_phase_diagram() {
        phase_diagram(&study, &rows, &groups, first.train().epochs(), &out)?;
        written.push("phase_diagram.png|svg".into());
    }
    println!("{}", write_tables(&rows, &out)?);
    let partitions = by_reference(&groups, &finished);
    let paired: Vec<_> = partitions.iter().filter_map(|(r, part)| Some(paired_differences(part, r.as_deref()?))).flatten().collect();
    let baseline = study.study.baseline.as_ref().map_or("the Gaussian".to_string(), |b| b.iter().map(|(k, v)| format!("{k} = {v}")).collect());
    if !paired.is_empty() {
        println!("Paired differences from {baseline} at equal seeds:\n\n{}", write_paired(&paired, &out)?);
        written.push("paired.md|csv".into());
    }
    if let Some(files) = crate::study_probes::report(&partitions, &study.study.name, &out)? {
        println!("Instrument results by cell (median [IQR] over seeds, paired differences from {baseline}) in {}", out.join("probes.md").display());
        written.extend(files);
    }
    if let Some(md) = write_collapsed(&groups, &out)? {
        println!("Runs that did not learn, with their initial diagnostics:\n\n{md}");
        written.push("collapsed.md".into());
    }
    if !study.study.expectation.is_empty() {
        println!("Expected from the literature: {}", study.study.expectation);
    }
    eprintln!("report: {} runs of {} -> {}/{{{}}}", done.len(), points.len(), out.display(), written.join(", "));
    Ok(())
}

/// The study's groups split by the series they pair with: each baseline series with every series
/// paired with it (one part per baseline value of the other axes), and a part with no reference for
/// the rest (a study without a baseline).
fn by_reference(groups: &[Group], points: &[&Point]) -> Vec<(Option<String>, Vec<Group>)> {
    let reference_of = |series: &str| points.iter().find(|p| p.series == series).and_then(|p| p.reference.clone());
    let is_baseline = |series: &str| points.iter().any(|p| p.reference.as_deref() == Some(series));
    let mut parts: Vec<(Option<String>, Vec<Group>)> = Vec::new();
    for g in groups {
        let key = reference_of(&g.series).or_else(|| is_baseline(&g.series).then(|| g.series.clone()));
        match parts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, part)) => part.push(g.clone()),
            None => parts.push((key, vec![g.clone()])),
        }
    }
    parts
}

/// Heat maps over (alpha, sigma_w), keyed by grid index: the median final test accuracy over
/// seeds, and the median epochs to the threshold nearest 93% (Qu et al.'s speed measure; a seed
/// that never gets there counts as the epoch budget + 1, so that it differs from one that gets
/// there in the last epoch).
fn phase_diagram(study: &StudyFile, rows: &[tailgrad_report::TableRow], groups: &[tailgrad_report::Group], epochs: usize, out: &Path) -> anyhow::Result<()> {
    let s = &study.study;
    let threshold_index = (0..s.thresholds.len()).min_by(|&a, &b| (s.thresholds[a] - 0.93).abs().total_cmp(&(s.thresholds[b] - 0.93).abs()));
    let never = (epochs + 1) as f64;
    let mut acc = vec![vec![None; s.sigma_w.len()]; s.alpha.len()];
    let mut speed = acc.clone();
    for (g, r) in groups.iter().zip(rows) {
        acc[g.cell.series][g.cell.panel] = r.final_all.map(|f| f.median);
        speed[g.cell.series][g.cell.panel] = threshold_index.and_then(|t| r.epochs_to[t].median).map(|m| m.min(never));
    }
    let threshold = threshold_index.map_or(0.93, |t| s.thresholds[t]);
    let panels = [
        HeatPanel { title: "final test accuracy (%), median over seeds".into(), values: acc, label: |v| format!("{:.1}", 100.0 * v), lines: vec![] },
        HeatPanel {
            title: format!("epochs to {:.0}%, median ({} = never)", 100.0 * threshold, epochs + 1),
            values: speed,
            label: |v| format!("{v:.1}"),
            lines: vec![],
        },
    ];
    let rows_l: Vec<String> = s.alpha.iter().map(|a| a.to_string()).collect();
    let cols: Vec<String> = s.sigma_w.iter().map(|x| x.to_string()).collect();
    tailgrad_report::heat_maps(&panels, ("alpha", &rows_l), ("sigma_w", &cols), &format!("{}: phase diagram", s.name), out, "phase_diagram")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_in_messages_keep_their_digits() {
        // Issue 24, item 8: 17 MB free read "0.0 GB free".
        assert_eq!(super::size(17_000_000), "17 MB");
        assert_eq!(super::size(2_345_000_000), "2.3 GB");
    }
}
