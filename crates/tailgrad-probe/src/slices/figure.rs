//! The `slices` figure: the loss along one direction, or a heat map over the plane of two.

use super::Slice;
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{HeatPanel, Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let slice: Slice = last_result(log)?;
    if slice.betas.is_empty() {
        let points = slice.alphas.iter().copied().zip(slice.loss.iter().copied()).collect();
        return Ok(Figure::Panels(vec![Panel {
            title: "loss along a filter-normalized direction".into(),
            x_desc: "alpha".into(),
            y_desc: "training loss".into(),
            series: vec![series("L(w + alpha d)", points, Style::Line)],
            ..Default::default()
        }]));
    }
    // loss[i * betas + j] is at (alphas[i], betas[j]); the map's rows are the betas.
    let nb = slice.betas.len();
    let values = (0..nb).map(|j| (0..slice.alphas.len()).map(|i| slice.loss.get(i * nb + j).copied()).collect()).collect();
    let panel = HeatPanel { title: "training loss on the plane of two directions".into(), values, label: |_| String::new(), lines: vec![] };
    let labels = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect();
    Ok(Figure::Heat { panel, rows: ("beta", labels(&slice.betas)), cols: ("alpha", labels(&slice.alphas)) })
}
