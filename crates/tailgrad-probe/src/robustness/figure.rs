//! What one run adds to a study's robustness figures: test accuracy against the FGSM step and
//! against the Gaussian noise std (one line per series).

use super::probe::Robustness;
use crate::figure::{StudyFigure, StudyPoint, last_result};
use crate::probe_log::Measurement;

pub(super) static FGSM: StudyFigure = StudyFigure { stem: "robustness_fgsm", x_desc: "FGSM eps (input units)", y_desc: "test accuracy under FGSM" };
pub(super) static NOISE: StudyFigure =
    StudyFigure { stem: "robustness_noise", x_desc: "noise std (input units)", y_desc: "test accuracy under Gaussian noise" };

pub(super) fn study_points(log: &[Measurement]) -> anyhow::Result<Vec<StudyPoint>> {
    let r: Robustness = last_result(log)?;
    let curve = |figure: &'static StudyFigure, points: Vec<(f64, f64)>| points.into_iter().map(move |(x, y)| StudyPoint { figure, line: String::new(), x, y });
    Ok(curve(&FGSM, r.fgsm.points).chain(curve(&NOISE, r.noise.points)).collect())
}
