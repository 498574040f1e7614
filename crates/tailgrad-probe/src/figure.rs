//! A run's probe figures (`RUN_DIR/probes/<name>.json` -> `RUN_DIR/report/<name>.png|svg`): each
//! instrument with a figure draws it from its typed results ([`crate::Instrument::figure`]).
//! A study's probe figures are drawn by the CLI from the points each run contributes, read from
//! the same typed results ([`study_points`]).

use crate::INSTRUMENTS;
use crate::probe_log::{self, Measurement};
use anyhow::Context;
use std::path::{Path, PathBuf};
use tailgrad_report::{HeatPanel, Panel, Series, Style, heat_maps, xy_figure};

/// What an instrument draws: x-y panels, or one heat map over a grid of (column, row) values.
pub enum Figure {
    Panels(Vec<Panel>),
    Heat { panel: HeatPanel, rows: (&'static str, Vec<String>), cols: (&'static str, Vec<String>) },
}

/// Draw every probe of `run_dir` whose instrument has a figure, from its last successful
/// measurement (or its whole history, for instruments that plot one); returns the PNG paths.
/// A log that cannot be read as its instrument's results is an error naming the file.
pub fn draw(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = run_dir.join("report");
    let mut written = Vec::new();
    for instrument in INSTRUMENTS {
        let path = probe_log::log_path(run_dir, instrument.name);
        let Some(figure) = instrument.figure else { continue };
        if !path.is_file() {
            continue;
        }
        let log = probe_log::read_file(&path)?;
        let Ok(last) = probe_log::last_measured(&log) else { continue };
        let title = format!("{} at step {}", instrument.name, last.step);
        let drawn = figure(&log).with_context(|| format!("{}: cannot draw its figure", path.display()))?;
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        match drawn {
            Figure::Panels(panels) => xy_figure(&panels, &title, &out, instrument.name)?,
            Figure::Heat { panel, rows, cols } => heat_maps(&[panel], (rows.0, &rows.1), (cols.0, &cols.1), &title, &out, instrument.name)?,
        }
        written.push(out.join(format!("{}.png", instrument.name)));
    }
    Ok(written)
}

/// A study figure of an instrument: its file stem (`report/<stem>.png|svg`) and axes.
#[derive(Debug, PartialEq)]
pub struct StudyFigure {
    pub stem: &'static str,
    pub x_desc: &'static str,
    pub y_desc: &'static str,
}

/// One run's point on a study figure: `(x, y)` on the line `line` of the run's series (e.g.
/// `m = 5`; empty: the series' own line). A study draws the median over seeds of each line's
/// points, one panel per study panel.
#[derive(Debug, PartialEq)]
pub struct StudyPoint {
    pub figure: &'static StudyFigure,
    pub line: String,
    pub x: f64,
    pub y: f64,
}

/// The study-figure points of every probe of `run_dir` whose instrument contributes some, from
/// its last successful measurement (none for a probe that measured nothing). A log that cannot
/// be read as its instrument's results is an error naming the file.
pub fn study_points(run_dir: &Path) -> anyhow::Result<Vec<StudyPoint>> {
    let mut out = Vec::new();
    for instrument in INSTRUMENTS {
        let Some(points) = instrument.study_points else { continue };
        let path = probe_log::log_path(run_dir, instrument.name);
        if !path.is_file() {
            continue;
        }
        let log = probe_log::read_file(&path)?;
        if probe_log::last_measured(&log).is_err() {
            continue;
        }
        out.extend(points(&log).with_context(|| format!("{}: cannot read its results", path.display()))?);
    }
    Ok(out)
}

/// The last successful measurement's result, as type `T`.
pub(crate) fn last_result<T: serde::de::DeserializeOwned>(log: &[Measurement]) -> anyhow::Result<T> {
    probe_log::last_measured(log)?.result()
}

/// A named series of points.
pub(crate) fn series(name: &str, points: Vec<(f64, f64)>, style: Style) -> Series {
    Series { name: name.to_string(), points, style }
}
