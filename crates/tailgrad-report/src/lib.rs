//! Reports from run directories: learning curves with mean +- std bands over seeds (PNG and
//! SVG, via plotters) and summary tables (Markdown and CSV) with epochs-to-threshold, the
//! training-speed measure of Qu, Wardak & Gong (arXiv:2203.12967: the first epoch at which test
//! accuracy exceeds 93%).

mod aggregate;
mod figure;
mod heatmap;
mod plot;
mod table;

pub use aggregate::{Curve, Group, RunRef, Stat, group_runs};
pub use figure::{Panel, Series, Style, xy_figure};
pub use heatmap::{HeatPanel, heat_maps};
pub use plot::learning_curves;
pub use table::{TableRow, summary_table, write_tables};

#[cfg(test)]
mod tests;
