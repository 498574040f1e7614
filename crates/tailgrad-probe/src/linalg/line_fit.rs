//! Least-squares line fits with the slope's confidence interval (Student t).

/// Least-squares line `y = intercept + slope x`, with the standard errors of slope and intercept
/// and the half-width of the slope's 95% confidence interval (Student t with n - 2 degrees of
/// freedom): `se(slope)^2 = s^2 / Sxx`, `se(intercept)^2 = s^2 (1/n + mean(x)^2 / Sxx)`,
/// `s^2 = SSE / (n - 2)`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LineFit {
    pub slope: f64,
    pub intercept: f64,
    pub slope_stderr: f64,
    pub slope_ci95: f64,
    /// Absent from records written before it existed (read back as NaN).
    #[serde(default = "nan")]
    pub intercept_stderr: f64,
    pub r2: f64,
    pub n: usize,
}

pub fn fit_line(x: &[f64], y: &[f64]) -> LineFit {
    let n = x.len();
    assert!(n >= 3 && y.len() == n, "fit_line needs at least 3 points");
    let (mx, my) = (x.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = x.iter().zip(y).map(|(a, b)| (b - intercept - slope * a).powi(2)).sum();
    let dof = (n - 2) as f64;
    let slope_stderr = (sse / dof / sxx).sqrt();
    let intercept_stderr = (sse / dof * (1.0 / n as f64 + mx * mx / sxx)).sqrt();
    LineFit { slope, intercept, slope_stderr, slope_ci95: t975(dof) * slope_stderr, intercept_stderr, r2: 1.0 - sse / syy, n }
}

fn nan() -> f64 {
    f64::NAN
}

/// The 97.5% quantile of Student's t with `nu` degrees of freedom, by the Cornish-Fisher
/// expansion about the normal quantile (Abramowitz & Stegun 26.7.5; error < 1e-3 for nu >= 3).
pub fn t975(nu: f64) -> f64 {
    let z: f64 = 1.959_963_984_540_054;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5) - 1920.0 * z.powi(3) - 945.0 * z) / 92160.0;
    z + g1 / nu + g2 / nu.powi(2) + g3 / nu.powi(3) + g4 / nu.powi(4)
}
