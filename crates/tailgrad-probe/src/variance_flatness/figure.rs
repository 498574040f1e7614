//! The `variance-flatness` figure: variance against flatness per principal component with the
//! fitted power law (psi), and the PCA spectrum against rank (gamma).

use super::VarianceFlatness;
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let vf: VarianceFlatness = last_result(log)?;
    // The first component is left out of the fit, as Feng & Tu do.
    let pick = |capped: bool| -> Vec<(f64, f64)> {
        vf.flatness.iter().zip(&vf.variances).skip(1).filter(|(f, _)| f.capped == capped).map(|(f, v)| (f.width, *v)).collect()
    };
    let mut lines = vec![series("components (first left out)", pick(false), Style::Points)];
    if vf.flatness.iter().any(|f| f.capped) {
        lines.push(series("capped (width = capped_width)", pick(true), Style::Points));
    }
    if let Some(fit) = &vf.psi_fit {
        let widths = vf.flatness.iter().skip(1).map(|f| f.width).filter(|w| *w > 0.0 && w.is_finite());
        let (lo, hi) = widths.fold((f64::MAX, f64::MIN), |(a, b), w| (a.min(w), b.max(w)));
        let line = [lo, hi].iter().map(|&f| (f, (fit.intercept + fit.slope * f.ln()).exp())).collect();
        lines.push(series(&format!("fit: psi = {:.2} ± {:.2}", -fit.slope, vf.psi_ci95), line, Style::Line));
    }
    let ranks = vf.components.iter().zip(&vf.variances).map(|(i, v)| (*i as f64 + 1.0, *v)).collect();
    Ok(Figure::Panels(vec![
        Panel { title: "variance vs flatness (Feng & Tu 2021)".into(), x_desc: "flatness F_i".into(), y_desc: "variance sigma_i^2".into(), log_x: true, log_y: true, series: lines },
        Panel {
            title: format!("PCA spectrum (gamma = {:.2})", vf.gamma),
            x_desc: "rank i".into(),
            y_desc: "variance sigma_i^2".into(),
            log_x: true,
            log_y: true,
            series: vec![series("sigma_i^2", ranks, Style::Points)],
        },
    ]))
}
