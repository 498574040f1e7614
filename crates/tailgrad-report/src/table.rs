//! The study table: per cell, how many seeds learned, collapsed or diverged; the median and
//! quartiles of the final test accuracy over all seeds and over the runs that learned; every
//! seed's value; and the median epochs to each accuracy threshold (a seed that never got there
//! counts as infinitely slow, so the median says "never" when half the seeds never did).

use crate::aggregate::Group;
use crate::stats::{Spread, quantile};
use std::fmt::Write as _;
use std::path::Path;
use tailgrad_rundir::Status;

/// Epochs to one accuracy threshold over a cell's seeds.
#[derive(Clone, Debug)]
pub struct EpochsTo {
    pub threshold: f64,
    /// Per seed (seed order): the first evaluated epoch at or above the threshold.
    pub per_seed: Vec<Option<f64>>,
    /// The median with "never" as infinity (`f64::INFINITY` when half the seeds never got there).
    pub median: Option<f64>,
    pub reached: usize,
}

/// One row of the study table.
#[derive(Clone, Debug)]
pub struct TableRow {
    pub panel: String,
    pub series: String,
    /// `[learned, collapsed, diverged]`.
    pub outcomes: [usize; 3],
    /// Per seed: (seed, final test accuracy, how the run ended).
    pub finals: Vec<(u64, f64, Status)>,
    pub final_all: Option<Spread>,
    pub final_learned: Option<Spread>,
    pub best_all: Option<Spread>,
    pub epochs_to: Vec<EpochsTo>,
}

impl TableRow {
    pub fn seeds(&self) -> usize {
        self.finals.len()
    }
}

pub fn summary_table(groups: &[Group], thresholds: &[f64]) -> Vec<TableRow> {
    groups
        .iter()
        .map(|g| {
            let finals: Vec<(u64, f64, Status)> = g.runs.iter().map(|r| (r.seed(), r.final_acc(), r.status())).collect();
            let values = |keep: fn(Status) -> bool| finals.iter().filter(|f| keep(f.2) && f.1.is_finite()).map(|f| f.1).collect::<Vec<_>>();
            let bests: Vec<f64> = g.runs.iter().map(|r| r.summary.best_test_acc).collect();
            TableRow {
                panel: g.panel.clone(),
                series: g.series.clone(),
                outcomes: g.outcomes(),
                final_all: Spread::of(&values(|_| true)),
                final_learned: Spread::of(&values(|s| s == Status::Finished)),
                best_all: Spread::of(&bests),
                finals,
                epochs_to: thresholds
                    .iter()
                    .map(|&threshold| {
                        let per_seed: Vec<Option<f64>> = g.runs.iter().map(|r| r.epochs_to(threshold)).collect();
                        let as_inf: Vec<f64> = per_seed.iter().map(|e| e.unwrap_or(f64::INFINITY)).collect();
                        EpochsTo { threshold, reached: per_seed.iter().flatten().count(), median: quantile(&as_inf, 0.5), per_seed }
                    })
                    .collect(),
            }
        })
        .collect()
}

fn pct_spread(s: Option<Spread>) -> String {
    s.map_or("-".into(), |s| format!("{:.1} [{:.1}, {:.1}]", 100.0 * s.median, 100.0 * s.q25, 100.0 * s.q75))
}

fn pct_median(s: Option<Spread>) -> String {
    s.map_or("-".into(), |s| format!("{:.1}", 100.0 * s.median))
}

fn status_mark(s: Status) -> &'static str {
    match s {
        Status::Finished => "",
        Status::Collapsed => "c",
        Status::Diverged => "d",
    }
}

fn epochs(e: &EpochsTo, seeds: usize) -> String {
    match e.median {
        None => "-".into(),
        Some(m) if m.is_infinite() => format!("never ({}/{seeds})", e.reached),
        Some(m) => format!("{m:.2} ({}/{seeds})", e.reached),
    }
}

/// Write `table.md` and `table.csv` into `dir`; returns the Markdown.
pub fn write_tables(rows: &[TableRow], dir: &Path) -> anyhow::Result<String> {
    let thresholds: Vec<f64> = rows.first().map(|r| r.epochs_to.iter().map(|e| e.threshold).collect()).unwrap_or_default();
    let mut md = String::from(
        "| panel | series | seeds | learned / collapsed / diverged | final test acc (%), median [IQR] | median of learned runs | per seed (c: collapsed, d: diverged) | best test acc (%), median |",
    );
    for t in &thresholds {
        write!(md, " epochs to {:.0}%, median (reached) |", 100.0 * t)?;
    }
    md.push_str("\n|---|---|---|---|---|---|---|---|");
    md.push_str(&"---|".repeat(thresholds.len()));
    md.push('\n');
    let mut csv = csv::Writer::from_path(dir.join("table.csv"))?;
    let mut header: Vec<String> = ["panel", "series", "seeds", "learned", "collapsed", "diverged"].map(String::from).to_vec();
    for k in ["final", "final_learned", "best"] {
        header.extend([format!("{k}_median"), format!("{k}_q25"), format!("{k}_q75")]);
    }
    header.push("per_seed_final".into());
    for t in &thresholds {
        let t = format!("{:.0}", 100.0 * t);
        header.extend([format!("epochs_to_{t}_median"), format!("reached_{t}"), format!("epochs_to_{t}_per_seed")]);
    }
    csv.write_record(&header)?;
    let num = |x: Option<f64>| x.map_or(String::new(), |v| if v.is_infinite() { "inf".into() } else { v.to_string() });
    for r in rows {
        let [learned, collapsed, diverged] = r.outcomes;
        let per_seed: Vec<String> = r.finals.iter().map(|(_, acc, s)| format!("{:.1}{}", 100.0 * acc, status_mark(*s))).collect();
        write!(
            md,
            "| {} | {} | {} | {learned} / {collapsed} / {diverged} | {} | {} | {} | {} |",
            r.panel,
            r.series,
            r.seeds(),
            pct_spread(r.final_all),
            pct_median(r.final_learned),
            per_seed.join(" "),
            pct_median(r.best_all)
        )?;
        let mut rec = vec![r.panel.clone(), r.series.clone(), r.seeds().to_string(), learned.to_string(), collapsed.to_string(), diverged.to_string()];
        for s in [r.final_all, r.final_learned, r.best_all] {
            rec.extend([num(s.map(|s| s.median)), num(s.map(|s| s.q25)), num(s.map(|s| s.q75))]);
        }
        rec.push(r.finals.iter().map(|(seed, acc, s)| format!("{seed}:{acc}:{}", s.outcome())).collect::<Vec<_>>().join(";"));
        for e in &r.epochs_to {
            write!(md, " {} |", epochs(e, r.seeds()))?;
            let per_seed: Vec<String> = e.per_seed.iter().map(|x| x.map_or("never".into(), |v| v.to_string())).collect();
            rec.extend([num(e.median), e.reached.to_string(), per_seed.join(";")]);
        }
        md.push('\n');
        csv.write_record(&rec)?;
    }
    csv.flush()?;
    std::fs::write(dir.join("table.md"), &md)?;
    Ok(md)
}
