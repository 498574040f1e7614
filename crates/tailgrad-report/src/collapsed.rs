//! What the diagnostics of the runs that did not learn looked like at initialization, beside
//! the same numbers for the runs of the same cell that did: the evidence behind a collapse (for
//! a heavy-tailed net, typically one output-layer weight tens of thousands of times the law's
//! scale, huge initial logits, and saturated hidden units), and each cell's rate of such runs
//! with its Wilson interval.

use crate::aggregate::Group;
use crate::stats::{Z95, quantile, wilson_interval};
use std::fmt::Write as _;
use std::path::Path;
use tailgrad_rundir::{LayerDiagnostics, Status};

/// The initial diagnostics that matter for a collapse.
#[derive(Clone, Copy, Debug, Default)]
struct Initial {
    output_max_w: f64,
    max_w: f64,
    logit_rms: f64,
    saturation: f64,
}

fn initial(layers: &[LayerDiagnostics]) -> Option<Initial> {
    let output = layers.last()?;
    let hidden: Vec<f64> = layers.iter().filter_map(|d| d.saturation).collect();
    Some(Initial {
        output_max_w: output.max_abs_w_over_c,
        max_w: layers.iter().map(|d| d.max_abs_w_over_c).fold(0.0, f64::max),
        logit_rms: output.preact_rms,
        saturation: hidden.iter().sum::<f64>() / hidden.len().max(1) as f64,
    })
}

/// Write `collapsed.md` (None, and nothing written, when every run learned).
pub fn write_collapsed(groups: &[Group], dir: &Path) -> anyhow::Result<Option<String>> {
    let mut md = String::from(
        "| panel | series | seed | outcome | final test acc (%) | loss spike (step: loss) | output layer max\\|W\\|/c at init | largest max\\|W\\|/c | initial logit RMS | initial hidden saturation |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut any = false;
    for g in groups {
        let learned: Vec<Initial> = g.runs.iter().filter(|r| r.status() == Status::Finished).filter_map(|r| initial(&r.summary.initial_diagnostics)).collect();
        for r in g.runs.iter().filter(|r| r.status() != Status::Finished) {
            any = true;
            let spike = r.summary.collapse.as_ref().and_then(|c| Some(format!("{}: {:.3e}", c.spike_step?, c.spike_loss?))).unwrap_or("-".into());
            let i = initial(&r.summary.initial_diagnostics);
            let f = |v: Option<f64>, prec: usize| v.map_or("-".into(), |v| format!("{v:.prec$e}"));
            writeln!(
                md,
                "| {} | {} | {} | {} | {:.1} | {spike} | {} | {} | {} | {} |",
                g.panel,
                g.series,
                r.seed(),
                r.status().outcome(),
                100.0 * r.final_acc(),
                f(i.map(|i| i.output_max_w), 2),
                f(i.map(|i| i.max_w), 2),
                f(i.map(|i| i.logit_rms), 2),
                i.map_or("-".into(), |i| format!("{:.3}", i.saturation)),
            )?;
        }
        if g.runs.iter().any(|r| r.status() != Status::Finished) && !learned.is_empty() {
            let med = |f: fn(&Initial) -> f64| quantile(&learned.iter().map(f).collect::<Vec<_>>(), 0.5).unwrap_or(f64::NAN);
            writeln!(
                md,
                "| {} | {} | median of {} learned | learned | - | - | {:.2e} | {:.2e} | {:.2e} | {:.3} |",
                g.panel,
                g.series,
                learned.len(),
                med(|i| i.output_max_w),
                med(|i| i.max_w),
                med(|i| i.logit_rms),
                med(|i| i.saturation)
            )?;
        }
    }
    if !any {
        return Ok(None);
    }
    md.push_str("\nRates by cell (runs that did not learn, among the cell's seeds; 95% Wilson interval):\n\n| panel | series | did not learn / runs | rate (%) | 95% interval (%) |\n|---|---|---|---|---|\n");
    for g in groups {
        let failed = g.runs.iter().filter(|r| r.status() != Status::Finished).count();
        if let Some((p, lo, hi)) = wilson_interval(failed, g.runs.len(), Z95) {
            writeln!(md, "| {} | {} | {failed} / {} | {:.1} | [{:.1}, {:.1}] |", g.panel, g.series, g.runs.len(), 100.0 * p, 100.0 * lo, 100.0 * hi)?;
        }
    }
    std::fs::write(dir.join("collapsed.md"), &md)?;
    Ok(Some(md))
}
