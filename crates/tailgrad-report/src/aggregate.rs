//! Grouping runs that differ only by seed, and statistics over the seeds.

use anyhow::Context;
use std::path::PathBuf;
use tailgrad_train::metrics::{MetricRow, read_rows};
use tailgrad_train::{Status, Summary, read_summary};

/// One finished (or diverged) run and where it belongs in a report.
#[derive(Clone, Debug)]
pub struct RunRef {
    pub dir: PathBuf,
    /// The figure panel, e.g. `sigma_w = 1`.
    pub panel: String,
    /// The curve within the panel, e.g. `alpha = 1.5`.
    pub series: String,
    pub seed: u64,
}

/// Mean and (sample) standard deviation over seeds; `n` seeds contributed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        Some(Stat { mean, std: var.sqrt(), n })
    }
}

/// A curve over seeds: `(epoch, stat)` at every step that all contributing seeds logged.
pub type Curve = Vec<(f64, Stat)>;

/// The runs of one (panel, series) cell.
#[derive(Clone, Debug)]
pub struct Group {
    pub panel: String,
    pub series: String,
    pub runs: Vec<(RunRef, Vec<MetricRow>, Summary)>,
}

impl Group {
    /// `f(row)` averaged over seeds at each logged step (rows where `f` is `None` are skipped).
    pub fn curve(&self, f: impl Fn(&MetricRow) -> Option<f64>) -> Curve {
        let mut steps: Vec<u64> = self.runs.iter().flat_map(|(_, rows, _)| rows.iter().map(|r| r.step)).collect();
        steps.sort_unstable();
        steps.dedup();
        steps
            .into_iter()
            .filter_map(|step| {
                let mut epoch = 0.0;
                let values: Vec<f64> = self
                    .runs
                    .iter()
                    .filter_map(|(_, rows, _)| rows.iter().find(|r| r.step == step))
                    .filter_map(|r| {
                        epoch = r.epoch;
                        f(r)
                    })
                    .collect();
                Stat::of(&values).map(|s| (epoch, s))
            })
            .collect()
    }

    /// Per seed: the first logged epoch with test accuracy >= `threshold` (None: never).
    pub fn epochs_to(&self, threshold: f64) -> Vec<Option<f64>> {
        self.runs
            .iter()
            .map(|(_, rows, _)| rows.iter().find(|r| r.test_acc >= threshold).map(|r| r.epoch))
            .collect()
    }

    pub fn diverged(&self) -> usize {
        self.runs.iter().filter(|(_, _, s)| s.status == Status::Diverged).count()
    }
}

/// Read every run's metrics and summary and group them by (panel, series), keeping the order
/// in which the cells first appear.
pub fn group_runs(runs: &[RunRef]) -> anyhow::Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for run in runs {
        let rows = read_rows(&run.dir.join("metrics.csv")).with_context(|| format!("reading {}/metrics.csv", run.dir.display()))?;
        let summary = read_summary(&run.dir)?;
        match groups.iter_mut().find(|g| g.panel == run.panel && g.series == run.series) {
            Some(g) => g.runs.push((run.clone(), rows, summary)),
            None => groups.push(Group { panel: run.panel.clone(), series: run.series.clone(), runs: vec![(run.clone(), rows, summary)] }),
        }
    }
    Ok(groups)
}
