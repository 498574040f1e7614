//! The `duality` figure: each Hessian direction's share of the generalization gap against its
//! eigenvalue, with the decomposition in the title.

use super::DualityReport;
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let r: DualityReport = last_result(log)?;
    let shares = r.directions.iter().map(|d| (d.eigenvalue, d.share.abs())).collect();
    Ok(Figure::Panels(vec![Panel {
        title: format!(
            "gap {:.3}, matched {:.3} = {} directions {:.3} + rest {:.3}; 2nd order {:.3}",
            r.true_gap,
            r.matched_gap,
            r.directions.len(),
            r.directions_gap,
            r.remainder_gap,
            r.hessian_estimate
        ),
        x_desc: "Hessian eigenvalue lambda_n".into(),
        y_desc: "|share of the gap|".into(),
        log_x: true,
        log_y: true,
        series: vec![series("direction n", shares, Style::Points)],
    }]))
}
