//! The `le-dynamics` figure: the integrated impacts A(t), B(t) over the whole log.

use super::{ClassMeans, integrated_impacts};
use crate::figure::{Figure, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let records: Vec<ClassMeans> = log.iter().filter(|m| m.record.is_some()).map(|m| m.result()).collect::<anyhow::Result<_>>()?;
    let impacts = integrated_impacts(&records);
    let curve = |f: fn(&super::Impacts) -> f64| impacts.iter().map(|i| (i.step as f64, f(i))).filter(|p| p.1.is_finite()).collect();
    Ok(Figure::Panels(vec![Panel {
        title: "LE-ODE: integrated intra-class (A) and inter-class (B) impact".into(),
        x_desc: "step".into(),
        y_desc: "A(t), B(t)".into(),
        series: vec![series("A = int alpha (intra-class)", curve(|i| i.a), Style::Line), series("B = int beta (inter-class)", curve(|i| i.b), Style::Line)],
        ..Default::default()
    }]))
}
