//! What one run adds to a study's few-shot figures: per layer and number of shots `m`, the
//! prototype rule's measured error on novel classes and Sorscher et al.'s SNR (x = the layer,
//! 0 = the pixels; one line per m).

use super::probe::LayerShots;
use crate::figure::{StudyFigure, StudyPoint, last_result};
use crate::probe_log::Measurement;

pub(super) static ERROR: StudyFigure =
    StudyFigure { stem: "few_shot_error", x_desc: "layer (0 = pixels)", y_desc: "prototype-rule error on novel classes" };
pub(super) static SNR: StudyFigure = StudyFigure { stem: "few_shot_snr", x_desc: "layer (0 = pixels)", y_desc: "SNR (Sorscher et al.)" };

pub(super) fn study_points(log: &[Measurement]) -> anyhow::Result<Vec<StudyPoint>> {
    let rows: Vec<LayerShots> = last_result(log)?;
    let point = |figure, r: &LayerShots, y| StudyPoint { figure, line: format!("m = {}", r.m), x: r.layer as f64, y };
    Ok(rows.iter().flat_map(|r| [point(&ERROR, r, r.measured_error), point(&SNR, r, r.snr)]).collect())
}
