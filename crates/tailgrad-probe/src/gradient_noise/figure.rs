//! The `gradient-noise` figure: B_simple and the minibatch-gradient alignment over training
//! (clean and mislabeled groups too, under label noise).

use super::NoiseReport;
use crate::figure::{Figure, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let mut history = Vec::new();
    for m in log.iter().filter(|m| m.record.is_some()) {
        history.push((m.epoch, m.result::<NoiseReport>()?));
    }
    let over_time = |value: &dyn Fn(&NoiseReport) -> Option<f64>| -> Vec<(f64, f64)> {
        history.iter().filter_map(|(epoch, r)| Some((*epoch, value(r)?))).collect()
    };
    let mut alignment = vec![series("all", over_time(&|r| Some(r.all.alignment)), Style::Line)];
    if history.iter().any(|(_, r)| r.clean.is_some()) {
        alignment.push(series("clean", over_time(&|r| r.clean.as_ref().map(|g| g.alignment)), Style::Line));
        alignment.push(series("mislabeled", over_time(&|r| r.mislabeled.as_ref().map(|g| g.alignment)), Style::Line));
    }
    let b_simple = series("B_simple", over_time(&|r| Some(r.b_simple)), Style::Line);
    Ok(Figure::Panels(vec![
        Panel { title: "gradient noise scale".into(), x_desc: "epoch".into(), y_desc: "B_simple".into(), log_y: true, series: vec![b_simple], ..Default::default() },
        Panel { title: "minibatch-gradient alignment".into(), x_desc: "epoch".into(), y_desc: "mean pairwise cosine".into(), series: alignment, ..Default::default() },
    ]))
}
