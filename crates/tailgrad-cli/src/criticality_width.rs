//! The `[width_sweep]` of `tailgrad criticality`: how signal propagation in random tanh nets moves
//! with the width N (Grosvenor & Jefferson, arXiv:2109.13247: corrections of order depth/width).
//! Per width: a linear Gaussian net's Lyapunov exponent against its exact finite-width law (the
//! calibration); for Gaussian tanh nets on the chaotic side the correlation length xi(N) and the
//! exponent lambda(N), each fitted as `value_inf + a / N` and compared with mean field; per alpha
//! the edge sigma_w*(N) where the measured exponent crosses 0, against the authors' random-matrix
//! edge (`r_0.99 = 1`) and the decoupled closure (`chi_alpha = 1`), both N -> infinity theories.
//! The formulas live in `tailgrad_probe::criticality::finite_width`.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tailgrad_init::{Fan, InitSpec};
use tailgrad_probe::criticality::finite_width::{correlation_length, correlation_traces, inverse_width_fit, linear_log_growth, zero_crossing};
use tailgrad_probe::criticality::{Activation, Ensemble, StableGrid, critical_sigma_w, ensemble, jacobian_spectrum, lyapunov, mean_field_tanh};
use tailgrad_probe::linalg::LineFit;
use tailgrad_report::{Panel, Series, Style, xy_figure};

/// The `[width_sweep]` table of a criticality config.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidthSweepSpec {
    /// The widths N (each >= 4).
    pub widths: Vec<usize>,
    /// Layers T over which the exponents and the correlation decay are measured.
    #[serde(default = "forty")]
    pub depth: usize,
    /// Layers before the exponent's layers, bringing the signal to its stationary length.
    #[serde(default = "twenty")]
    pub burn_in: usize,
    /// Weight draws per (width, cell) for an exponent.
    #[serde(default = "ten")]
    pub draws: usize,
    /// Weight draws per (width, sigma_w) for the correlation decay.
    #[serde(default = "twenty_draws")]
    pub correlation_draws: usize,
    /// The two inputs' correlation c^0.
    #[serde(default = "half")]
    pub correlation_c0: f64,
    /// Gaussian tanh nets' sigma_w for xi(N) and lambda(N): the chaotic side, sigma_w > 1.
    #[serde(default = "chaotic")]
    pub xi_sigma_w: Vec<f64>,
    /// The alphas whose edge sigma_w*(N) is located (empty: none).
    #[serde(default)]
    pub edge_alpha: Vec<f64>,
    /// The sigma_w grid, ascending, on which the edge's exponent is measured.
    #[serde(default)]
    pub edge_sigma_w: Vec<f64>,
}

fn forty() -> usize {
    40
}
fn twenty() -> usize {
    20
}
fn ten() -> usize {
    10
}
fn twenty_draws() -> usize {
    20
}
fn half() -> f64 {
    0.5
}
fn chaotic() -> Vec<f64> {
    vec![1.5, 2.0]
}

impl WidthSweepSpec {
    /// Every field's range, naming the field and the config.
    pub fn check(&self, origin: &str) -> anyhow::Result<()> {
        let at = |field: &str| format!("{origin}: width_sweep.{field}");
        if self.widths.is_empty() || self.widths.iter().any(|&n| n < 4) {
            bail!("{}: need at least one width, each >= 4; got {:?}", at("widths"), self.widths);
        }
        if self.depth < 3 || self.draws < 2 || self.correlation_draws < 2 {
            bail!("{origin}: width_sweep needs depth >= 3, draws >= 2 and correlation_draws >= 2 (a spread between draws)");
        }
        if !(self.correlation_c0 > 0.0 && self.correlation_c0 < 1.0) {
            bail!("{}: the inputs' correlation must lie in (0, 1); got {}", at("correlation_c0"), self.correlation_c0);
        }
        if let Some(s) = self.xi_sigma_w.iter().find(|&&s| !(s > 1.0)) {
            bail!("{}: the correlation length is measured on the chaotic side, sigma_w > 1 (where c* = 0); got {s}", at("xi_sigma_w"));
        }
        if let Some(a) = self.edge_alpha.iter().find(|&&a| !(a > 0.0 && a <= 2.0)) {
            bail!("{}: alpha must lie in (0, 2]; got {a}", at("edge_alpha"));
        }
        let ascending = self.edge_sigma_w.windows(2).all(|p| p[0] < p[1]) && self.edge_sigma_w.iter().all(|&s| s > 0.0);
        if !self.edge_alpha.is_empty() && (self.edge_sigma_w.len() < 2 || !ascending) {
            bail!("{}: need at least 2 positive values in ascending order to locate an edge; got {:?}", at("edge_sigma_w"), self.edge_sigma_w);
        }
        Ok(())
    }
}

/// A measured value with its standard error (over draws: std / sqrt(draws); a fit: its own).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub stderr: f64,
}

impl Estimate {
    fn of(e: &Ensemble) -> Self {
        Self { value: e.mean[0], stderr: e.std[0] / (e.draws as f64).sqrt() }
    }
}

/// The calibration: a linear Gaussian net (sigma = 1) of width N, measured exponent vs exact.
#[derive(Serialize)]
pub struct LinearRow {
    pub width: usize,
    pub measured: Estimate,
    /// `(1/2)[ln(2/N) + digamma(N/2)]`, per layer.
    pub exact: f64,
}

/// A Gaussian tanh net at one chaotic sigma_w over the widths.
#[derive(Serialize)]
pub struct ChaoticRow {
    pub sigma_w: f64,
    pub widths: Vec<usize>,
    /// None where the correlation decayed into the noise within 3 layers.
    pub xi: Vec<Option<Estimate>>,
    pub lyapunov: Vec<Estimate>,
    /// `xi(N) = xi_inf + a / N` (intercept xi_inf), over the widths with a length.
    pub xi_fit: Option<LineFit>,
    pub lyapunov_fit: Option<LineFit>,
    pub xi_mean_field: Option<f64>,
    pub lyapunov_mean_field: f64,
}

/// One alpha's edge over the widths.
#[derive(Serialize)]
pub struct EdgeRow {
    pub alpha: f64,
    /// Per width, the measured exponent on the sigma_w grid.
    pub lyapunov: Vec<Vec<Estimate>>,
    /// Per width, where it crosses 0 (None: not on the grid).
    pub measured: Vec<Option<f64>>,
    /// `sigma_w*(N) = sigma_inf + a / N`, over the widths with a crossing.
    pub fit: Option<LineFit>,
    /// The authors' random-matrix edge, `r_0.99 = 1`.
    pub theory: Option<f64>,
    /// The decoupled closure, `chi_alpha = 1`.
    pub closure: Option<f64>,
}

#[derive(Serialize)]
pub struct WidthSweep {
    pub spec: WidthSweepSpec,
    pub linear: Vec<LinearRow>,
    pub chaotic: Vec<ChaoticRow>,
    pub edges: Vec<EdgeRow>,
}

fn gaussian(sigma: f64) -> InitSpec {
    InitSpec::stable(2.0, sigma).expect("a positive sigma_w, checked").with_fan(Fan::In)
}

/// A fit over the widths where `values` has an entry, if there are at least 3.
fn fit_where_present(widths: &[usize], values: &[Option<f64>]) -> Option<LineFit> {
    let (n, v): (Vec<usize>, Vec<f64>) = widths.iter().zip(values).filter_map(|(&n, v)| Some((n, (*v)?))).unzip();
    (n.len() >= 3).then(|| inverse_width_fit(&n, &v))
}

pub fn compute(spec: &WidthSweepSpec, seed: u64, theory_samples: usize, origin: &str) -> anyhow::Result<WidthSweep> {
    let (t, burn, draws) = (spec.depth, spec.burn_in, spec.draws);
    let linear = spec
        .widths
        .iter()
        .map(|&n| {
            let measured = Estimate::of(&ensemble(draws, seed, |s| lyapunov(&gaussian(1.0), Activation::Linear, n, t, 0, 1, s)));
            let exact = linear_log_growth(n, 1, 1.0).0 / 2.0;
            eprintln!("width {n:<5} linear, sigma 1: lambda = {:+.4} ± {:.4} (exact {exact:+.4})", measured.value, measured.stderr);
            LinearRow { width: n, measured, exact }
        })
        .collect();
    let mut chaotic = Vec::new();
    for &sigma in &spec.xi_sigma_w {
        let mf = mean_field_tanh(sigma);
        let (mut xi, mut lyap) = (Vec::new(), Vec::new());
        for &n in &spec.widths {
            let traces = correlation_traces(&gaussian(sigma), n, t, mf.q_star, spec.correlation_c0, spec.correlation_draws, seed);
            let length = correlation_length(&traces, 4.0).map(|(value, stderr, _)| Estimate { value, stderr });
            let l = Estimate::of(&ensemble(draws, seed, |s| lyapunov(&gaussian(sigma), Activation::Tanh, n, t, burn, 1, s)));
            eprintln!(
                "width {n:<5} tanh, sigma_w {sigma}: xi = {} (mean field {:.2}), lambda = {:+.4} ± {:.4} (mean field {:+.4})",
                length.map_or("no decay above the noise".into(), |x| format!("{:.2} ± {:.2}", x.value, x.stderr)),
                mf.xi.unwrap_or(f64::INFINITY),
                l.value,
                l.stderr,
                mf.lyapunov
            );
            xi.push(length);
            lyap.push(l);
        }
        let xi_fit = fit_where_present(&spec.widths, &xi.iter().map(|x| x.map(|e| e.value)).collect::<Vec<_>>());
        let lyapunov_fit = fit_where_present(&spec.widths, &lyap.iter().map(|e| Some(e.value)).collect::<Vec<_>>());
        chaotic.push(ChaoticRow { sigma_w: sigma, widths: spec.widths.clone(), xi, lyapunov: lyap, xi_fit, lyapunov_fit, xi_mean_field: mf.xi, lyapunov_mean_field: mf.lyapunov });
    }
    let mut edges = Vec::new();
    for &alpha in &spec.edge_alpha {
        let grid = StableGrid::new(alpha, 600);
        let mut rows = Vec::new();
        for &n in &spec.widths {
            let mut row = Vec::new();
            for &sigma in &spec.edge_sigma_w {
                let init = InitSpec::stable(alpha, sigma).with_context(|| format!("{origin}: width_sweep alpha = {alpha}, sigma_w = {sigma}"))?.with_fan(Fan::In);
                row.push(Estimate::of(&ensemble(draws, seed, |s| lyapunov(&init, Activation::Tanh, n, t, burn, 1, s))));
            }
            rows.push(row);
        }
        let measured: Vec<Option<f64>> = rows.iter().map(|r| zero_crossing(&spec.edge_sigma_w, &r.iter().map(|e| e.value).collect::<Vec<_>>())).collect();
        let theory = jacobian_spectrum::edge(&grid, 0.05, 5.0, theory_samples, seed);
        let closure = critical_sigma_w(&grid, 0.05, 5.0);
        let show = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.3}"));
        eprintln!("alpha {alpha}: edge by width {:?}: {} (theory r_0.99 = 1: {}; closure chi_alpha = 1: {})", spec.widths, measured.iter().map(|m| show(*m)).collect::<Vec<_>>().join(", "), show(theory), show(closure));
        let fit = fit_where_present(&spec.widths, &measured);
        edges.push(EdgeRow { alpha, lyapunov: rows, measured, fit, theory, closure });
    }
    Ok(WidthSweep { spec: spec.clone(), linear, chaotic, edges })
}

fn at_infinity(fit: &Option<LineFit>) -> String {
    fit.as_ref().map_or("(fewer than 3 widths)".into(), |f| format!("{:.3} ± {:.3} (a = {:+.2})", f.intercept, f.intercept_stderr, f.slope))
}

/// Write `width.md`, `width.csv`, `width.json` and `width.png|svg` into `out`; returns the markdown.
pub fn write(r: &WidthSweep, name: &str, out: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let spec = &r.spec;
    let mut md = format!(
        "Finite width: depth {} ({} burn-in layers before an exponent), {} draws per exponent, {} per correlation decay (c^0 = {}).\n\n",
        spec.depth, spec.burn_in, spec.draws, spec.correlation_draws, spec.correlation_c0
    );
    md.push_str("| N | linear net: measured lambda | exact (1/2)[ln(2/N) + digamma(N/2)] |\n|---|---|---|\n");
    for row in &r.linear {
        writeln!(md, "| {} | {:+.4} ± {:.4} | {:+.4} |", row.width, row.measured.value, row.measured.stderr, row.exact)?;
    }
    for c in &r.chaotic {
        writeln!(md, "\nGaussian tanh, sigma_w = {} (mean field: xi = {:.2}, lambda = {:+.4})\n\n| N | xi (layers) | lambda |\n|---|---|---|", c.sigma_w, c.xi_mean_field.unwrap_or(f64::INFINITY), c.lyapunov_mean_field)?;
        for (i, n) in c.widths.iter().enumerate() {
            let xi = c.xi[i].map_or("no decay above the noise".into(), |x| format!("{:.2} ± {:.2}", x.value, x.stderr));
            writeln!(md, "| {n} | {xi} | {:+.4} ± {:.4} |", c.lyapunov[i].value, c.lyapunov[i].stderr)?;
        }
        writeln!(md, "| fit N -> ∞ | {} | {} |", at_infinity(&c.xi_fit), at_infinity(&c.lyapunov_fit))?;
    }
    if !r.edges.is_empty() {
        let header: String = spec.widths.iter().map(|n| format!(" N = {n} |")).collect();
        writeln!(md, "\nEdge: sigma_w where the measured exponent crosses 0\n\n| alpha |{header} fit N -> ∞ | the authors' theory, r_0.99 = 1 | decoupled closure, chi_alpha = 1 |\n|---|{}---|---|---|", "---|".repeat(spec.widths.len()))?;
        let show = |x: Option<f64>| x.map_or("not on the grid".into(), |v| format!("{v:.3}"));
        for e in &r.edges {
            let cells: String = e.measured.iter().map(|m| format!(" {} |", show(*m))).collect();
            writeln!(md, "| {} |{cells} {} | {} | {} |", e.alpha, at_infinity(&e.fit), show(e.theory), show(e.closure))?;
        }
    }
    std::fs::write(out.join("width.md"), &md)?;
    std::fs::write(out.join("width.json"), serde_json::to_string_pretty(r)?)?;
    let mut csv = String::from("quantity,alpha,sigma_w,width,value,stderr\n");
    for row in &r.linear {
        writeln!(csv, "lyapunov_linear,2,1,{},{},{}", row.width, row.measured.value, row.measured.stderr)?;
    }
    for c in &r.chaotic {
        for (i, n) in c.widths.iter().enumerate() {
            if let Some(x) = c.xi[i] {
                writeln!(csv, "xi,2,{},{n},{},{}", c.sigma_w, x.value, x.stderr)?;
            }
            writeln!(csv, "lyapunov,2,{},{n},{},{}", c.sigma_w, c.lyapunov[i].value, c.lyapunov[i].stderr)?;
        }
    }
    for e in &r.edges {
        for (i, n) in spec.widths.iter().enumerate() {
            for (j, s) in spec.edge_sigma_w.iter().enumerate() {
                writeln!(csv, "lyapunov,{},{s},{n},{},{}", e.alpha, e.lyapunov[i][j].value, e.lyapunov[i][j].stderr)?;
            }
        }
    }
    std::fs::write(out.join("width.csv"), csv)?;
    xy_figure(&panels(r), &format!("{name}: finite width (x = 1/N; N -> ∞ at the left edge)"), out, "width")?;
    Ok(md)
}

/// xi vs 1/N, lambda vs 1/N (with the linear calibration) and the edge vs 1/N; the N -> infinity
/// references (mean field, the authors' theory, the closure) drawn at 1/N = 0.
fn panels(r: &WidthSweep) -> Vec<Panel> {
    let inv = |n: usize| 1.0 / n as f64;
    let at_zero = |name: String, y: Option<f64>| Series { name, points: y.into_iter().map(|y| (0.0, y)).collect(), style: Style::Points };
    let mut xi = Panel { title: "correlation length xi (layers)".into(), x_desc: "1/N".into(), y_desc: "xi".into(), ..Panel::default() };
    let mut lambda = Panel { title: "Lyapunov exponent per layer".into(), x_desc: "1/N".into(), y_desc: "lambda".into(), ..Panel::default() };
    for c in &r.chaotic {
        let points = c.widths.iter().zip(&c.xi).filter_map(|(&n, x)| Some((inv(n), x.as_ref()?.value))).collect();
        xi.series.push(Series { name: format!("sigma_w = {}", c.sigma_w), points, style: Style::Line });
        xi.series.push(at_zero(format!("mean field, sigma_w = {}", c.sigma_w), c.xi_mean_field));
        let points = c.widths.iter().zip(&c.lyapunov).map(|(&n, e)| (inv(n), e.value)).collect();
        lambda.series.push(Series { name: format!("tanh, sigma_w = {}", c.sigma_w), points, style: Style::Line });
        lambda.series.push(at_zero(format!("mean field, sigma_w = {}", c.sigma_w), Some(c.lyapunov_mean_field)));
    }
    lambda.series.push(Series { name: "linear, measured".into(), points: r.linear.iter().map(|l| (inv(l.width), l.measured.value)).collect(), style: Style::Points });
    lambda.series.push(Series { name: "linear, exact".into(), points: r.linear.iter().map(|l| (inv(l.width), l.exact)).collect(), style: Style::Line });
    let mut panels = vec![xi, lambda];
    if !r.edges.is_empty() {
        let mut edge = Panel { title: "edge sigma_w*: measured exponent = 0".into(), x_desc: "1/N".into(), y_desc: "sigma_w*".into(), ..Panel::default() };
        for e in &r.edges {
            let points = r.spec.widths.iter().zip(&e.measured).filter_map(|(&n, m)| Some((inv(n), (*m)?))).collect();
            edge.series.push(Series { name: format!("alpha = {}", e.alpha), points, style: Style::Line });
            edge.series.push(at_zero(format!("r_0.99 = 1, alpha = {}", e.alpha), e.theory));
        }
        panels.push(edge);
    }
    panels
}
