//! Reports from run directories (read with `tailgrad-rundir`; no tensor library): a study's
//! learning curves (every seed thin, the median bold), the study table (outcome counts, median and
//! quartiles of the final accuracy, every seed's value, median epochs to each threshold, the
//! training-speed measure of Qu, Wardak & Gong, arXiv:2203.12967), paired differences from the
//! Gaussian at equal seeds with bootstrap intervals, the initial diagnostics of the runs that did
//! not learn, and heat maps and x-y figures for the instruments.

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
