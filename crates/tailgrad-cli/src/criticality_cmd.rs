//! `tailgrad criticality CONFIG`: the (alpha, sigma_w) map of signal propagation in random tanh
//! networks: propagated-circle CV and Lyapunov exponents over an ensemble of weight draws, the
//! representations' dimensions, and theory: the Gaussian mean field; the authors' heavy-tailed
//! random-matrix edge, where the layer Jacobian's effective spectral radius `r_0.99` crosses 1
//! (`tailgrad_probe::criticality::jacobian_spectrum`; solid white line on the maps); and the
//! decoupled closure `chi_alpha = 1` of the heavy-tailed length map (dashed red line). Computed
//! first ([`compute`]), then written ([`write`]). An optional `[width_sweep]` table adds how the
//! exponent, the correlation length and the edge move with the width ([`crate::criticality_width`]);
//! an empty `alpha` list skips the map.

use crate::CriticalityArgs;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use tailgrad_backend::{BackendChoice, select};
use tailgrad_init::{Fan, InitSpec};
use crate::criticality_width::{WidthSweep, WidthSweepSpec};
use tailgrad_probe::criticality::finite_width::zero_crossing;
use tailgrad_probe::criticality::{
    Activation, Ensemble, MeanField, Representation, SpectrumSummary, StableGrid, critical_sigma_w, ensemble, jacobian_spectrum, lyapunov,
    mean_field_stable_tanh, mean_field_tanh, propagated_circle_cv, representation,
};
use tailgrad_report::{HeatLine, HeatPanel, heat_maps};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CriticalitySpec {
    name: String,
    /// The map's rows (empty: no map, e.g. a width sweep alone).
    #[serde(default)]
    alpha: Vec<f64>,
    #[serde(default)]
    sigma_w: Vec<f64>,
    #[serde(default = "n_784")]
    width: usize,
    #[serde(default = "layers_41")]
    depth: usize,
    #[serde(default = "angles_500")]
    angles: usize,
    #[serde(default = "layers_50")]
    lyapunov_depth: usize,
    #[serde(default = "layers_10")]
    burn_in: usize,
    #[serde(default)]
    seed: u64,
    /// Independent weight draws per cell for the CV and the Lyapunov exponent.
    #[serde(default = "five")]
    draws: usize,
    #[serde(default)]
    backend: BackendChoice,
    /// MNIST test images for the representation statistics (0 = skip them).
    #[serde(default)]
    images: usize,
    #[serde(default = "four")]
    representation_layer: usize,
    /// Inputs over which the Jacobian D_2 is averaged, in the cells with sigma_w = jacobian_sigma_w.
    #[serde(default = "two")]
    jacobian_inputs: usize,
    #[serde(default = "one")]
    jacobian_sigma_w: f64,
    /// Monte Carlo draws of (h, S) for the authors' Jacobian-spectrum theory (they use 10,000).
    #[serde(default = "ten_thousand")]
    theory_samples: usize,
    /// How the exponent, the correlation length and the edge move with the width.
    #[serde(default)]
    width_sweep: Option<WidthSweepSpec>,
}

fn n_784() -> usize {
    784
}
fn layers_41() -> usize {
    41
}
fn angles_500() -> usize {
    500
}
fn layers_50() -> usize {
    50
}
fn layers_10() -> usize {
    10
}

fn ten_thousand() -> usize {
    10_000
}

fn five() -> usize {
    5
}
fn four() -> usize {
    4
}
fn two() -> usize {
    2
}
fn one() -> f64 {
    1.0
}

#[derive(Serialize)]
struct Cell {
    alpha: f64,
    sigma_w: f64,
    cv: Ensemble,
    lyapunov: Ensemble,
    /// The heavy-tailed mean field's decoupled exponent `ln(chi_alpha) / alpha` (the Gaussian's
    /// `(1/2) ln chi` at alpha = 2).
    lyapunov_mean_field: f64,
    q_star: f64,
    /// The authors' theory of the layer Jacobian's eigenvalue moduli at this cell.
    spectrum: SpectrumSummary,
    representation: Option<Representation>,
}

/// Per alpha: the sigma_w where the measured exponent crosses 0 (interpolated between grid
/// columns), where the authors' theory puts the edge (effective spectral radius `r_0.99` = 1),
/// and where the decoupled closure says `chi_alpha = 1` (None: no crossing).
#[derive(Serialize)]
struct Edge {
    alpha: f64,
    measured_sigma_w: Option<f64>,
    theory_sigma_w: Option<f64>,
    mean_field_sigma_w: Option<f64>,
}

#[derive(Serialize)]
struct Criticality {
    spec: CriticalitySpec,
    cells: Vec<Cell>,
    gaussian_mean_field: Vec<(MeanField, f64, f64)>,
    edges: Vec<Edge>,
}

fn load(args: &CriticalityArgs) -> anyhow::Result<(CriticalitySpec, String)> {
    let origin = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {origin}"))?;
    let mut tree: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
    for o in &args.set {
        tailgrad_train::spec::apply_override(&mut tree, o)?;
    }
    let spec: CriticalitySpec = tree.try_into().map_err(|e: toml::de::Error| anyhow::anyhow!("{origin}: {e}"))?;
    if spec.angles < 3 || spec.width < 2 || spec.depth == 0 || spec.lyapunov_depth == 0 || spec.draws == 0 || spec.theory_samples < 100 {
        bail!("{origin}: need angles >= 3, width >= 2, depth >= 1, lyapunov_depth >= 1, draws >= 1 and theory_samples >= 100");
    }
    if let Err(problem) = tailgrad_rundir::io::check_folder_name(&spec.name) {
        bail!("{origin}: `name` {problem}");
    }
    if spec.alpha.is_empty() != spec.sigma_w.is_empty() {
        bail!("{origin}: `alpha` and `sigma_w` span the map: give both, or neither (no map)");
    }
    if spec.alpha.is_empty() && spec.width_sweep.is_none() {
        bail!("{origin}: nothing to compute: give `alpha` and `sigma_w` (the map) or a [width_sweep] table");
    }
    if let Some(sweep) = &spec.width_sweep {
        sweep.check(&origin)?;
    }
    if spec.images > 0 && spec.width != 784 {
        bail!("{origin}: the representation statistics feed MNIST images: they need width = 784");
    }
    Ok((spec, origin))
}

pub fn criticality(args: CriticalityArgs) -> anyhow::Result<ExitCode> {
    let (spec, origin) = load(&args)?;
    let images = if spec.images == 0 || spec.alpha.is_empty() {
        None
    } else {
        let data = tailgrad_data::DataSpec::new(tailgrad_data::Dataset::Mnist).with_dir(args.data_dir.clone());
        crate::data_cmd::ensure(&data, false)?;
        let split = data.load(spec.seed)?;
        let x = split.test.normalized(split.dataset, data.normalize());
        Some(x[..spec.images.min(split.test.len()) * 784].to_vec())
    };
    let out = args.runs_dir.join(&spec.name);
    let sweep = spec.width_sweep.clone();
    if !spec.alpha.is_empty() {
        let result = compute(spec.clone(), images.as_deref(), &origin)?;
        let md = write(&result, &out, images.is_some())?;
        println!("{md}");
        eprintln!("wrote {}/{{criticality.png|svg, criticality.csv, criticality.json, mean_field.md}}", out.display());
    }
    if let Some(sweep) = sweep {
        let result: WidthSweep = crate::criticality_width::compute(&sweep, spec.seed, spec.theory_samples, &origin)?;
        let md = crate::criticality_width::write(&result, &spec.name, &out)?;
        println!("{md}");
        eprintln!("wrote {}/{{width.png|svg, width.csv, width.json, width.md}}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn compute(spec: CriticalitySpec, images: Option<&[f32]>, origin: &str) -> anyhow::Result<Criticality> {
    let device = select(spec.backend)?.device;
    let mut cells = Vec::new();
    let mut edges = Vec::new();
    for &alpha in &spec.alpha {
        let grid = StableGrid::new(alpha, 600);
        for &sigma in &spec.sigma_w {
            let init = InitSpec::stable(alpha, sigma).with_context(|| format!("{origin}: alpha = {alpha}, sigma_w = {sigma}"))?.with_fan(Fan::In);
            let cv = ensemble(spec.draws, spec.seed, |seed| propagated_circle_cv(&init, spec.width, spec.depth, spec.angles, seed, &device));
            let lyap = ensemble(spec.draws, spec.seed, |seed| lyapunov(&init, Activation::Tanh, spec.width, spec.lyapunov_depth, spec.burn_in, 1, seed));
            let theory = mean_field_stable_tanh(&grid, sigma);
            let spectrum = jacobian_spectrum::summary(alpha, sigma, theory.q_star, spec.theory_samples, spec.seed);
            let rep = images.map(|x| {
                let jac = if sigma == spec.jacobian_sigma_w { spec.jacobian_inputs } else { 0 };
                representation(&init, spec.width, spec.representation_layer, x, jac, spec.seed)
            });
            eprintln!(
                "alpha {alpha:<5} sigma_w {sigma:<5} CV(layer {}) = {:.3} +- {:.3}  Lyapunov = {:+.3} +- {:.3} (decoupled mean field {:+.3}; theory r_0.99 = {:.3}){}",
                spec.depth,
                cv.mean[spec.depth - 1],
                cv.std[spec.depth - 1],
                lyap.mean[0],
                lyap.std[0],
                theory.lyapunov,
                spectrum.effective_radius,
                rep.as_ref().map_or(String::new(), |r| format!("  ED = {:.1} (second moment {:.1})", r.ed, r.ed_second_moment))
            );
            cells.push(Cell { alpha, sigma_w: sigma, cv, lyapunov: lyap, lyapunov_mean_field: theory.lyapunov, q_star: theory.q_star, spectrum, representation: rep });
        }
        let row: Vec<f64> = cells.iter().filter(|c| c.alpha == alpha).map(|c| c.lyapunov.mean[0]).collect();
        let measured_sigma_w = zero_crossing(&spec.sigma_w, &row);
        edges.push(Edge {
            alpha,
            measured_sigma_w,
            theory_sigma_w: jacobian_spectrum::edge(&grid, 0.05, 5.0, spec.theory_samples, spec.seed),
            mean_field_sigma_w: critical_sigma_w(&grid, 0.05, 5.0),
        });
    }
    let gaussian_mean_field = cells.iter().filter(|c| c.alpha == 2.0).map(|c| (mean_field_tanh(c.sigma_w), c.lyapunov.mean[0], c.lyapunov.std[0])).collect();
    Ok(Criticality { spec, cells, gaussian_mean_field, edges })
}

/// The fractional column (cells span [j, j + 1]) of `sigma` on the grid's sigma_w axis, by linear
/// interpolation between cell centres (None outside the grid).
fn column_of(sigma: f64, columns: &[f64]) -> Option<f64> {
    columns.windows(2).enumerate().find(|(_, p)| p[0] <= sigma && sigma <= p[1]).map(|(j, p)| j as f64 + 0.5 + (sigma - p[0]) / (p[1] - p[0]))
}

fn write(r: &Criticality, out: &Path, with_images: bool) -> anyhow::Result<String> {
    let spec = &r.spec;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (na, ns) = (spec.alpha.len(), spec.sigma_w.len());
    let grid = |f: &dyn Fn(&Cell) -> f64| -> Vec<Vec<Option<f64>>> { (0..na).map(|i| (0..ns).map(|j| Some(f(&r.cells[i * ns + j]))).collect()).collect() };
    let line = |edge: fn(&Edge) -> Option<f64>, rgb, dashed| HeatLine {
        points: r.edges.iter().enumerate().filter_map(|(i, e)| Some((column_of(edge(e)?, &spec.sigma_w)?, i as f64 + 0.5))).collect(),
        rgb,
        dashed,
    };
    let lines = vec![line(|e| e.theory_sigma_w, (255, 255, 255), false), line(|e| e.mean_field_sigma_w, (230, 60, 60), true)];
    let last = spec.depth - 1;
    let mut panels = vec![
        HeatPanel { title: format!("propagated-circle CV at layer {} ({} draws)", spec.depth, spec.draws), values: grid(&|c| c.cv.mean[last]), label: |v| format!("{v:.2}"), lines: lines.clone() },
        HeatPanel { title: "largest Lyapunov exponent per layer".into(), values: grid(&|c| c.lyapunov.mean[0]), label: |v| format!("{v:+.2}"), lines },
    ];
    if with_images {
        let l = spec.representation_layer;
        let rep = |c: &Cell| c.representation.clone().expect("computed for every cell");
        panels.push(HeatPanel { title: format!("ED of layer {l} (second moment, as the authors)"), values: grid(&|c| rep(c).ed_second_moment), label: |v| format!("{v:.1}"), lines: vec![] });
        panels.push(HeatPanel { title: format!("D_2 of layer {l}'s top PCs (centred PCA, as the authors)"), values: grid(&|c| rep(c).d2_pcs), label: |v| format!("{v:.2}"), lines: vec![] });
    }
    let rows: Vec<String> = spec.alpha.iter().map(|a| a.to_string()).collect();
    let cols: Vec<String> = spec.sigma_w.iter().map(|s| s.to_string()).collect();
    let title = format!(
        "{}: random tanh nets, width {} (white: the authors' theory, r_0.99 = 1; dashed red: decoupled closure chi_alpha = 1)",
        spec.name, spec.width
    );
    heat_maps(&panels, ("alpha", &rows), ("sigma_w", &cols), &title, out, "criticality")?;

    let mut md = String::from(
        "| sigma_w | q* | chi_1 | c* | chi_c | xi (layers) | phase | Lyapunov, mean field | Lyapunov, measured (alpha = 2) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (mf, measured, std) in &r.gaussian_mean_field {
        let xi = mf.xi.map_or("∞ (critical)".into(), |x| format!("{x:.2}"));
        writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.2} | {:.4} | {xi} | {:?} | {:+.3} | {measured:+.3} ± {std:.3} |",
            mf.sigma_w, mf.q_star, mf.chi, mf.c_star, mf.chi_c, mf.phase, mf.lyapunov
        )?;
    }
    writeln!(
        md,
        "\n| alpha | sigma_w where the measured exponent crosses 0 | the authors' theory: r_0.99 = 1 | decoupled closure: chi_alpha = 1 |\n|---|---|---|---|"
    )?;
    let show = |x: Option<f64>| x.map_or("outside the grid".into(), |v| format!("{v:.2}"));
    for e in &r.edges {
        writeln!(md, "| {} | {} | {} | {} |", e.alpha, show(e.measured_sigma_w), show(e.theory_sigma_w), show(e.mean_field_sigma_w))?;
    }
    if with_images {
        writeln!(
            md,
            "\n| alpha | D_2 of layer-{} Jacobian eigenvectors (sigma_w = {}) | ED, second moment | ED, covariance | D_2 of top PCs, centred PCA (the authors') | D_2 of top PCs, second moment |\n|---|---|---|---|---|---|",
            spec.representation_layer, spec.jacobian_sigma_w
        )?;
        for c in r.cells.iter().filter(|c| c.sigma_w == spec.jacobian_sigma_w) {
            if let Some(rep) = &c.representation {
                writeln!(
                    md,
                    "| {} | {:.3} | {:.1} | {:.1} | {:.3} | {:.3} |",
                    c.alpha,
                    rep.d2_jacobian.unwrap_or(f64::NAN),
                    rep.ed_second_moment,
                    rep.ed,
                    rep.d2_pcs,
                    rep.d2_pcs_second_moment
                )?;
            }
        }
    }
    std::fs::write(out.join("mean_field.md"), &md)?;
    std::fs::write(out.join("criticality.json"), serde_json::to_string_pretty(r)?)?;
    let mut csv = String::from("alpha,sigma_w,cv_last,cv_last_std,lyapunov,lyapunov_std,lyapunov_mean_field,q_star,theory_r99,theory_log_measure\n");
    for c in &r.cells {
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}",
            c.alpha,
            c.sigma_w,
            c.cv.mean[last],
            c.cv.std[last],
            c.lyapunov.mean[0],
            c.lyapunov.std[0],
            c.lyapunov_mean_field,
            c.q_star,
            c.spectrum.effective_radius,
            c.spectrum.log_measure
        )?;
    }
    std::fs::write(out.join("criticality.csv"), csv)?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sigma_w_maps_to_fractional_columns() {
        let cols = [0.25, 0.5, 1.0, 2.0];
        assert_eq!(super::column_of(0.5, &cols), Some(1.5));
        assert_eq!(super::column_of(1.5, &cols), Some(3.0));
        assert_eq!(super::column_of(3.0, &cols), None);
    }
}
