//! A study's runs, read from their directories and grouped by grid cell.

use anyhow::{Context, bail};
use std::path::PathBuf;
use tailgrad_rundir::{MetricRow, Status, Summary, csvlog, metrics};

/// A cell of a study's grid: the series (e.g. the alpha index) and the panel (e.g. the sigma_w
/// index) it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub series: usize,
    pub panel: usize,
}

/// One run and where it belongs in a report.
#[derive(Clone, Debug)]
pub struct RunRef {
    pub dir: PathBuf,
    pub cell: Cell,
    /// The figure panel, e.g. `sigma_w = 1`.
    pub panel: String,
    /// The curve within the panel, e.g. `alpha = 1.5`.
    pub series: String,
    pub seed: u64,
}

/// A run's logged rows and summary.
#[derive(Clone, Debug)]
pub struct Run {
    pub reference: RunRef,
    pub rows: Vec<MetricRow>,
    pub summary: Summary,
}

impl Run {
    pub fn seed(&self) -> u64 {
        self.reference.seed
    }

    pub fn status(&self) -> Status {
        self.summary.status
    }

    /// The test accuracy of the last evaluation (for a diverged run: the last before divergence).
    pub fn final_acc(&self) -> f64 {
        self.rows.last().map_or(f64::NAN, |r| r.test_acc)
    }

    /// The row that stands for this run at `step`: the one logged there, or, for a diverged run
    /// that stopped before `step`, its last one. A divergence then counts as a bad outcome at
    /// every later step (with the accuracy the table lists as final), not as a missing seed,
    /// which would leave only the runs that survived in a median or a paired difference.
    pub fn row_at(&self, step: u64) -> Option<&MetricRow> {
        let last = self.rows.last()?;
        match self.rows.iter().find(|r| r.step == step) {
            Some(row) => Some(row),
            None if self.status() == Status::Diverged && step > last.step => Some(last),
            None => None,
        }
    }

    /// The first logged epoch with test accuracy >= `threshold` (None: never).
    pub fn epochs_to(&self, threshold: f64) -> Option<f64> {
        self.rows.iter().find(|r| r.test_acc >= threshold).map(|r| r.epoch)
    }
}

/// The runs of one cell, in seed order.
#[derive(Clone, Debug)]
pub struct Group {
    pub cell: Cell,
    pub panel: String,
    pub series: String,
    pub runs: Vec<Run>,
}

impl Group {
    /// How many runs ended in each way: `[finished (learned), collapsed, diverged]`.
    pub fn outcomes(&self) -> [usize; 3] {
        Status::ALL.map(|s| self.runs.iter().filter(|r| r.status() == s).count())
    }

    /// `f(row)` of every run at each logged step, as `(step, epoch, values of the runs that
    /// logged that step)`; a diverged run stands at later steps with its last row
    /// ([`Run::row_at`]).
    pub fn steps(&self, f: impl Fn(&MetricRow) -> Option<f64>) -> Vec<(u64, f64, Vec<f64>)> {
        let mut steps: Vec<(u64, f64)> = self.runs.iter().flat_map(|r| r.rows.iter().map(|row| (row.step, row.epoch))).collect();
        steps.sort_by(|a, b| a.0.cmp(&b.0));
        steps.dedup_by_key(|s| s.0);
        steps
            .into_iter()
            .map(|(step, epoch)| {
                let values = self.runs.iter().filter_map(|r| r.row_at(step).and_then(&f)).collect();
                (step, epoch, values)
            })
            .collect()
    }
}

/// Read every run's metrics and summary and group them by cell, cells in grid order, runs in
/// seed order.
pub fn group_runs(runs: &[RunRef]) -> anyhow::Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for reference in runs {
        let path = reference.dir.join(metrics::FILE);
        let read = csvlog::read::<MetricRow>(&path).with_context(|| format!("reading the metrics of {}", reference.dir.display()))?;
        if read.dropped_partial_line {
            bail!(
                "{}: the last row is cut short, so the run's final evaluation is missing from it (summary.json has it); \
                 restore the file or train the run again before reporting",
                path.display()
            );
        }
        let rows = read.rows;
        let summary = Summary::read(&reference.dir)?;
        let run = Run { reference: reference.clone(), rows, summary };
        match groups.iter_mut().find(|g| g.cell == reference.cell) {
            Some(g) => g.runs.push(run),
            None => groups.push(Group { cell: reference.cell, panel: reference.panel.clone(), series: reference.series.clone(), runs: vec![run] }),
        }
    }
    groups.sort_by_key(|g| (g.cell.panel, g.cell.series));
    groups.iter_mut().for_each(|g| g.runs.sort_by_key(Run::seed));
    Ok(groups)
}
