//! The `sgd-drift` figure: loss, `tr H` and `lambda_max` along each continuation.

use super::drift::Continuation;
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let runs: Vec<Continuation> = last_result(log)?;
    let panel = |title: &str, log_y: bool, value: fn(&super::drift::DriftPoint) -> f64| Panel {
        title: title.into(),
        x_desc: "steps after the start".into(),
        y_desc: title.into(),
        log_y,
        series: runs
            .iter()
            .map(|c| {
                let name = if c.full_batch { format!("GD, lr {}", c.lr) } else { format!("SGD, lr {}, B {}", c.lr, c.batch_size) };
                series(&name, c.points.iter().map(|p| (p.step as f64, value(p))).filter(|p| p.1.is_finite()).collect(), Style::Line)
            })
            .collect(),
        ..Default::default()
    };
    Ok(Figure::Panels(vec![panel("training loss", true, |p| p.loss), panel("tr H (Hutchinson)", false, |p| p.trace), panel("lambda_max (Lanczos)", false, |p| p.lambda_max)]))
}
