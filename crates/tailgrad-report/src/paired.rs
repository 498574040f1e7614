//! Paired differences from a reference series (the Gaussian, alpha = 2) at equal seeds: the
//! runs of one seed share their data order, so `acc(alpha, seed) - acc(Gaussian, seed)` removes
//! the variation that the data order alone causes. Per panel, series and evaluated epoch: the
//! mean difference with a 95% bootstrap interval, the median, how many seeds the series won, and
//! every seed's difference.

use crate::aggregate::Group;
use crate::stats::{MeanInterval, bootstrap_mean, quantile};
use std::fmt::Write as _;
use std::path::Path;

/// The paired difference of one series from the reference at one evaluated step.
#[derive(Clone, Debug)]
pub struct PairedRow {
    pub panel: String,
    pub series: String,
    pub reference: String,
    pub step: u64,
    pub epoch: f64,
    /// (seed, test accuracy of the series minus that of the reference).
    pub per_seed: Vec<(u64, f64)>,
    pub interval: Option<MeanInterval>,
    pub median: f64,
    /// Seeds where the series did better.
    pub wins: usize,
}

/// Resamples of the bootstrap, and its seed (fixed, so a report is reproducible).
const RESAMPLES: usize = 10_000;
const BOOTSTRAP_SEED: u64 = 0x5eed;

/// The differences of every series from `reference` (a series name) in the same panel, at each
/// step that the two runs of a seed both evaluated; a diverged run counts at later steps with its
/// last evaluation ([`crate::Run::row_at`]).
pub fn paired_differences(groups: &[Group], reference: &str) -> Vec<PairedRow> {
    let mut out = Vec::new();
    for g in groups.iter().filter(|g| g.series != reference) {
        let Some(base) = groups.iter().find(|b| b.series == reference && b.panel == g.panel) else { continue };
        let pairs: Vec<(&crate::Run, &crate::Run)> =
            g.runs.iter().filter_map(|r| base.runs.iter().find(|b| b.seed() == r.seed()).map(|b| (r, b))).collect();
        // The steps come from the pair with the longest log (a diverged run's log ends early).
        let Some((first, _)) = pairs.iter().max_by_key(|(r, b)| r.rows.len().min(b.rows.len())) else { continue };
        for row in &first.rows {
            let per_seed: Vec<(u64, f64)> = pairs
                .iter()
                .filter_map(|(r, b)| {
                    let a = r.row_at(row.step)?;
                    let z = b.row_at(row.step)?;
                    Some((r.seed(), a.test_acc - z.test_acc))
                })
                .collect();
            if per_seed.len() < pairs.len() {
                continue; // a step that not every pair evaluated (runs with different schedules)
            }
            let d: Vec<f64> = per_seed.iter().map(|p| p.1).collect();
            out.push(PairedRow {
                panel: g.panel.clone(),
                series: g.series.clone(),
                reference: reference.into(),
                step: row.step,
                epoch: row.epoch,
                interval: bootstrap_mean(&d, 0.95, RESAMPLES, BOOTSTRAP_SEED),
                median: quantile(&d, 0.5).unwrap_or(f64::NAN),
                wins: d.iter().filter(|&&x| x > 0.0).count(),
                per_seed,
            });
        }
    }
    out
}

fn pp(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

/// Write `paired.md` and `paired.csv` into `dir`; returns the Markdown.
pub fn write_paired(rows: &[PairedRow], dir: &Path) -> anyhow::Result<String> {
    let mut md = String::from(
        "| panel | series − reference | epoch | seeds | mean Δ test acc (pp) | 95% bootstrap CI | median Δ | wins | Δ per seed |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = csv::Writer::from_path(dir.join("paired.csv"))?;
    csv.write_record(["panel", "series", "reference", "step", "epoch", "seeds", "mean", "ci_lo", "ci_hi", "median", "wins", "per_seed"])?;
    for r in rows {
        let ci = r.interval.map_or("-".into(), |i| format!("[{}, {}]", pp(i.lo), pp(i.hi)));
        let mean = r.interval.map_or(r.per_seed.first().map_or(f64::NAN, |p| p.1), |i| i.mean);
        let per_seed: Vec<String> = r.per_seed.iter().map(|(_, d)| pp(*d)).collect();
        writeln!(
            md,
            "| {} | {} − {} | {:.2} | {} | {} | {ci} | {} | {}/{} | {} |",
            r.panel,
            r.series,
            r.reference,
            r.epoch,
            r.per_seed.len(),
            pp(mean),
            pp(r.median),
            r.wins,
            r.per_seed.len(),
            per_seed.join(" ")
        )?;
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        csv.write_record([
            r.panel.clone(),
            r.series.clone(),
            r.reference.clone(),
            r.step.to_string(),
            r.epoch.to_string(),
            r.per_seed.len().to_string(),
            mean.to_string(),
            opt(r.interval.map(|i| i.lo)),
            opt(r.interval.map(|i| i.hi)),
            r.median.to_string(),
            r.wins.to_string(),
            r.per_seed.iter().map(|(s, d)| format!("{s}:{d}")).collect::<Vec<_>>().join(";"),
        ])?;
    }
    csv.flush()?;
    std::fs::write(dir.join("paired.md"), &md)?;
    Ok(md)
}
