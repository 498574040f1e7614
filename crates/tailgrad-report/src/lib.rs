//! Reports from run directories (read with `tailgrad-rundir`; no tensor library): a study's
//! learning curves (every seed thin, the median bold), the study table (outcome counts, median and
//! quartiles of the final accuracy, every seed's value, median epochs to each threshold, the
//! training-speed measure of Qu, Wardak & Gong, arXiv:2203.12967), paired differences from the
//! Gaussian at equal seeds with bootstrap intervals, the initial diagnostics of the runs that did
//! not learn, and heat maps and x-y figures for the instruments.
//!
//! ```
//! use tailgrad_report::stats::{Spread, Z95, wilson_interval};
//! // Five seeds' final accuracies: the median and quartiles resist the one that collapsed.
//! let s = Spread::of(&[0.91, 0.93, 0.10, 0.92, 0.94]).unwrap();
//! assert_eq!((s.median, s.q25, s.q75), (0.92, 0.91, 0.93));
//! // 10 collapses in 40 seeds: 25%, 95% Wilson interval [14.2%, 40.2%].
//! let (rate, lo, hi) = wilson_interval(10, 40, Z95).unwrap();
//! assert_eq!(rate, 0.25);
//! assert!((lo - 0.1419).abs() < 1e-4 && (hi - 0.4019).abs() < 1e-4);
//! ```

mod aggregate;
mod collapsed;
mod figure;
mod heatmap;
mod paired;
mod plot;
mod probe_summary;
pub mod stats;
mod table;

pub use aggregate::{Cell, Group, Run, RunRef, group_runs};
pub use collapsed::write_collapsed;
pub use figure::{Panel, Series, Style, xy_figure};
pub use heatmap::{HeatLine, HeatPanel, heat_maps};
pub use paired::{PairedRow, paired_differences, write_paired};
pub use plot::learning_curves;
pub use probe_summary::{Paired, ProbeRow, last_probe_scalars, probe_summaries, write_probe_summaries};
pub use table::{EpochsTo, TableRow, summary_table, write_tables};

#[cfg(test)]
mod tests;
