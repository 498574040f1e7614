//! The `noise-curvature` figure: the per-sample gradient variance along each top Hessian
//! eigendirection against its eigenvalue (log-log), with the isotropic level tr(C)/P.

use super::NoiseCurvature;
use crate::figure::{Figure, last_result, series};
use crate::probe_log::Measurement;
use tailgrad_report::{Panel, Style};

pub(super) fn figure(log: &[Measurement]) -> anyhow::Result<Figure> {
    let r: NoiseCurvature = last_result(log)?;
    let points: Vec<(f64, f64)> = r.eigenvalues.iter().copied().zip(r.variances.iter().copied()).collect();
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let slope = r.alignment.as_ref().map_or("-".into(), |f| format!("{:.2} ± {:.2}", f.slope, f.slope_stderr));
    Ok(Figure::Panels(vec![Panel {
        title: format!("noise along Hessian eigendirections (B = {}); slope {slope}; top share {:.2}", r.batch_size, r.top_share),
        x_desc: "Hessian eigenvalue lambda_i".into(),
        y_desc: "per-sample gradient variance along v_i".into(),
        log_x: true,
        log_y: true,
        series: vec![
            series("top eigendirections", points, Style::Points),
            series("isotropic level tr(C)/P", vec![(lo, r.isotropic), (hi, r.isotropic)], Style::Line),
        ],
    }]))
}
