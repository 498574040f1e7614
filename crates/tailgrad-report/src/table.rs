//! The summary table: per cell, final and best test accuracy and epochs-to-threshold, as
//! mean +- std over seeds.

use crate::aggregate::{Group, Stat};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct TableRow {
    pub panel: String,
    pub series: String,
    pub seeds: usize,
    pub diverged: usize,
    pub final_acc: Option<Stat>,
    pub best_acc: Option<Stat>,
    /// Per threshold: stat over the seeds that reached it, and how many did.
    pub epochs_to: Vec<(f64, Option<Stat>, usize)>,
}

pub fn summary_table(groups: &[Group], thresholds: &[f64]) -> Vec<TableRow> {
    groups
        .iter()
        .map(|g| {
            let finals: Vec<f64> = g.runs.iter().map(|(_, _, s)| s.final_test_acc).filter(|v| v.is_finite()).collect();
            let bests: Vec<f64> = g.runs.iter().map(|(_, _, s)| s.best_test_acc).collect();
            TableRow {
                panel: g.panel.clone(),
                series: g.series.clone(),
                seeds: g.runs.len(),
                diverged: g.diverged(),
                final_acc: Stat::of(&finals),
                best_acc: Stat::of(&bests),
                epochs_to: thresholds
                    .iter()
                    .map(|&t| {
                        let reached: Vec<f64> = g.epochs_to(t).into_iter().flatten().collect();
                        (t, Stat::of(&reached), reached.len())
                    })
                    .collect(),
            }
        })
        .collect()
}

fn pct(s: Option<Stat>) -> String {
    s.map_or("-".into(), |s| format!("{:.2} ± {:.2}", 100.0 * s.mean, 100.0 * s.std))
}

fn epochs(s: Option<Stat>, reached: usize, seeds: usize) -> String {
    match s {
        None => "never".into(),
        Some(s) if reached == seeds => format!("{:.2} ± {:.2}", s.mean, s.std),
        Some(s) => format!("{:.2} ± {:.2} ({reached}/{seeds})", s.mean, s.std),
    }
}

/// Write `table.md` and `table.csv` into `dir`.
pub fn write_tables(rows: &[TableRow], dir: &Path) -> anyhow::Result<String> {
    let mut md = String::from("| panel | series | seeds | final test acc (%) | best test acc (%) |");
    let thresholds: Vec<f64> = rows.first().map(|r| r.epochs_to.iter().map(|e| e.0).collect()).unwrap_or_default();
    for t in &thresholds {
        write!(md, " epochs to {:.0}% |", 100.0 * t)?;
    }
    md.push_str(" diverged |\n|---|---|---|---|---|");
    md.push_str(&"---|".repeat(thresholds.len()));
    md.push_str("---|\n");
    let mut csv = csv::Writer::from_path(dir.join("table.csv"))?;
    let mut header = vec!["panel".to_string(), "series".into(), "seeds".into(), "diverged".into()];
    for k in ["final_acc", "best_acc"] {
        header.extend([format!("{k}_mean"), format!("{k}_std")]);
    }
    for t in &thresholds {
        let t = format!("{:.0}", 100.0 * t);
        header.extend([format!("epochs_to_{t}_mean"), format!("epochs_to_{t}_std"), format!("reached_{t}")]);
    }
    csv.write_record(&header)?;
    let num = |s: Option<Stat>, f: fn(Stat) -> f64| s.map_or(String::new(), |s| f(s).to_string());
    for r in rows {
        write!(md, "| {} | {} | {} | {} | {} |", r.panel, r.series, r.seeds, pct(r.final_acc), pct(r.best_acc))?;
        let mut rec = vec![r.panel.clone(), r.series.clone(), r.seeds.to_string(), r.diverged.to_string()];
        for s in [r.final_acc, r.best_acc] {
            rec.extend([num(s, |s| s.mean), num(s, |s| s.std)]);
        }
        for &(_, s, reached) in &r.epochs_to {
            write!(md, " {} |", epochs(s, reached, r.seeds))?;
            rec.extend([num(s, |s| s.mean), num(s, |s| s.std), reached.to_string()]);
        }
        writeln!(md, " {} |", r.diverged)?;
        csv.write_record(&rec)?;
    }
    csv.flush()?;
    std::fs::write(dir.join("table.md"), &md)?;
    Ok(md)
}
