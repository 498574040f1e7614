//! The `hessian` figure: the spectral density from stochastic Lanczos quadrature, Gaussian-smoothed.

use super::{Spectrum, smoothed_density};
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let spectrum: Spectrum = last_result(log)?;
    let nodes = &spectrum.slq_nodes;
    let (lo, hi) = nodes.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = 0.05 * (hi - lo).max(1e-9);
    let grid: Vec<f64> = (0..400).map(|i| lo - pad + (hi - lo + 2.0 * pad) * i as f64 / 399.0).collect();
    let sigma = (hi - lo).max(1e-9) / 100.0;
    let density = smoothed_density(nodes, &spectrum.slq_weights, &grid, sigma);
    let points = grid.into_iter().zip(density).filter(|p| p.1 > 1e-12).collect();
    Ok(Figure::Panels(vec![Panel {
        title: format!("Hessian spectral density (SLQ); trace = {:.3}", spectrum.trace),
        x_desc: "eigenvalue".into(),
        y_desc: "density".into(),
        log_y: true,
        series: vec![series("SLQ, Gaussian-smoothed", points, Style::Line)],
        ..Default::default()
    }]))
}
