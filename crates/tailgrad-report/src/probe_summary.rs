//! A study's instrument results by cell: the last measurement of every probe scalar of every run
//! (`probes/<name>.json`), per cell the median and inter-quartile range over seeds with every
//! seed's value, and per series the paired difference from a reference series at equal seeds
//! (mean with a 95% bootstrap interval, median, how many seeds it is above the reference).

use crate::aggregate::Group;
use crate::stats::{MeanInterval, Spread, bootstrap_mean};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One probe scalar in one cell.
#[derive(Clone, Debug)]
pub struct ProbeRow {
    pub panel: String,
    pub series: String,
    /// `<probe>/<scalar>`, e.g. `few-shot/layer3/m5/measured_error`.
    pub key: String,
    /// (seed, value) of the runs that measured it.
    pub per_seed: Vec<(u64, f64)>,
    pub spread: Option<Spread>,
    /// The difference from the reference series at equal seeds, when this is not the reference.
    pub paired: Option<Paired>,
}

#[derive(Clone, Debug)]
pub struct Paired {
    pub reference: String,
    pub per_seed: Vec<(u64, f64)>,
    pub interval: Option<MeanInterval>,
    pub median: f64,
    /// Seeds where the series is above the reference.
    pub above: usize,
}

/// The last successful measurement's scalars of every probe of the run in `dir`, keyed
/// `<probe>/<scalar>` (nothing for a run without probes).
pub fn last_probe_scalars(dir: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir.join("probes")) else { return Ok(out) };
    for path in entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let probe = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path)?;
        let records: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not a probe log: {e}", path.display()))?;
        if let Some(scalars) = records.iter().rev().find(|r| r.get("error").is_none()).and_then(|r| r["scalars"].as_object()) {
            for (k, v) in scalars {
                if let Some(v) = v.as_f64() {
                    out.insert(format!("{probe}/{k}"), v);
                }
            }
        }
    }
    Ok(out)
}

/// Every probe scalar of every cell, cells in grid order, keys in name order; paired against
/// the cell of series `reference` in the same panel.
pub fn probe_summaries(groups: &[Group], reference: Option<&str>) -> anyhow::Result<Vec<ProbeRow>> {
    let mut values: Vec<Vec<(u64, BTreeMap<String, f64>)>> = Vec::new();
    for g in groups {
        values.push(g.runs.iter().map(|r| Ok((r.seed(), last_probe_scalars(&r.reference.dir)?))).collect::<anyhow::Result<_>>()?);
    }
    let mut rows = Vec::new();
    for (g, runs) in groups.iter().zip(&values) {
        let keys: std::collections::BTreeSet<&String> = runs.iter().flat_map(|(_, m)| m.keys()).collect();
        let base = reference.filter(|r| *r != g.series).and_then(|r| groups.iter().position(|b| b.series == r && b.panel == g.panel));
        for key in keys {
            let per_seed: Vec<(u64, f64)> = runs.iter().filter_map(|(s, m)| m.get(key).map(|v| (*s, *v))).collect();
            let paired = base.map(|b| {
                let diffs: Vec<(u64, f64)> =
                    per_seed.iter().filter_map(|(s, v)| values[b].iter().find(|(t, _)| t == s).and_then(|(_, m)| m.get(key)).map(|z| (*s, v - z))).collect();
                let d: Vec<f64> = diffs.iter().map(|p| p.1).collect();
                Paired {
                    reference: groups[b].series.clone(),
                    interval: bootstrap_mean(&d, 0.95, 10_000, 0x5eed),
                    median: crate::stats::quantile(&d, 0.5).unwrap_or(f64::NAN),
                    above: d.iter().filter(|&&x| x > 0.0).count(),
                    per_seed: diffs,
                }
            });
            let v: Vec<f64> = per_seed.iter().map(|p| p.1).collect();
            rows.push(ProbeRow { panel: g.panel.clone(), series: g.series.clone(), key: key.clone(), spread: Spread::of(&v), per_seed, paired });
        }
    }
    Ok(rows)
}

fn num(x: f64) -> String {
    format!("{x:.4}")
}

/// Write `probes.md` and `probes.csv` into `dir`; returns the Markdown.
pub fn write_probe_summaries(rows: &[ProbeRow], dir: &Path) -> anyhow::Result<String> {
    let mut md = String::from(
        "| panel | series | scalar | seeds | median [IQR] | per seed | Δ from reference: mean [95% CI] | median Δ | above | Δ per seed |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut csv = csv::Writer::from_path(dir.join("probes.csv"))?;
    csv.write_record(["panel", "series", "scalar", "seeds", "median", "q25", "q75", "per_seed", "reference", "diff_mean", "diff_ci_lo", "diff_ci_hi", "diff_median", "above"])?;
    for r in rows {
        let spread = r.spread.map_or("-".into(), |s| format!("{} [{}, {}]", num(s.median), num(s.q25), num(s.q75)));
        let seeds: Vec<String> = r.per_seed.iter().map(|p| num(p.1)).collect();
        let (diff, median, above, per) = match &r.paired {
            Some(p) => (
                p.interval.map_or("-".into(), |i| format!("{} [{}, {}]", num(i.mean), num(i.lo), num(i.hi))),
                num(p.median),
                format!("{}/{}", p.above, p.per_seed.len()),
                p.per_seed.iter().map(|d| num(d.1)).collect::<Vec<_>>().join(" "),
            ),
            None => ("(reference)".into(), "-".into(), "-".into(), "-".into()),
        };
        writeln!(md, "| {} | {} | {} | {} | {spread} | {} | {diff} | {median} | {above} | {per} |", r.panel, r.series, r.key, r.per_seed.len(), seeds.join(" "))?;
        let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
        csv.write_record([
            r.panel.clone(),
            r.series.clone(),
            r.key.clone(),
            r.per_seed.len().to_string(),
            opt(r.spread.map(|s| s.median)),
            opt(r.spread.map(|s| s.q25)),
            opt(r.spread.map(|s| s.q75)),
            r.per_seed.iter().map(|(s, v)| format!("{s}:{v}")).collect::<Vec<_>>().join(";"),
            r.paired.as_ref().map_or(String::new(), |p| p.reference.clone()),
            opt(r.paired.as_ref().and_then(|p| p.interval.map(|i| i.mean))),
            opt(r.paired.as_ref().and_then(|p| p.interval.map(|i| i.lo))),
            opt(r.paired.as_ref().and_then(|p| p.interval.map(|i| i.hi))),
            opt(r.paired.as_ref().map(|p| p.median)),
            r.paired.as_ref().map_or(String::new(), |p| p.above.to_string()),
        ])?;
    }
    csv.flush()?;
    std::fs::write(dir.join("probes.md"), &md)?;
    Ok(md)
}
