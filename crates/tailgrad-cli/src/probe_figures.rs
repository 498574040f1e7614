//! Figures of a run's probe results (`RUN_DIR/probes/*.json` -> `RUN_DIR/report/<probe>.png|svg`).

use anyhow::Context;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tailgrad_report::{HeatPanel, Panel, Series, Style, heat_maps, xy_figure};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().map_or(vec![], |a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
}

fn points(name: &str, pts: Vec<(f64, f64)>, style: Style) -> Series {
    Series { name: name.to_string(), points: pts, style }
}

/// Draw every probe of `run_dir` that has a figure; returns the PNG paths.
pub fn draw(run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = run_dir.join("report");
    let mut written = Vec::new();
    let Ok(entries) = std::fs::read_dir(run_dir.join("probes")) else { return Ok(written) };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path)?;
        let records: Vec<Value> = serde_json::from_str(&text).with_context(|| format!("{}: not a probe log", path.display()))?;
        let Some(last) = records.last() else { continue };
        let rec = &last["record"];
        let step = last["step"].as_u64().unwrap_or(0);
        let panels = match name.as_str() {
            "variance-flatness" => variance_flatness(rec),
            "hessian" => hessian(rec),
            "slices" if rec["betas"].as_array().is_some_and(|b| b.is_empty()) => {
                let pts = floats(&rec["alphas"]).into_iter().zip(floats(&rec["loss"])).collect();
                vec![Panel {
                    title: "loss along a filter-normalized direction".into(),
                    x_desc: "alpha".into(),
                    y_desc: "training loss".into(),
                    series: vec![points("L(w + alpha d)", pts, Style::Line)],
                    ..Default::default()
                }]
            }
            "slices" => {
                // A 2-D slice: a heat map of the loss over (alpha, beta).
                let (alphas, betas, loss) = (floats(&rec["alphas"]), floats(&rec["betas"]), floats(&rec["loss"]));
                let values = (0..betas.len()).map(|j| (0..alphas.len()).map(|i| loss.get(i * betas.len() + j).copied()).collect()).collect();
                let panel = HeatPanel { title: "training loss on the plane of two directions".into(), values, label: |_| String::new(), lines: vec![] };
                let rows: Vec<String> = betas.iter().map(|b| format!("{b:.2}")).collect();
                let cols: Vec<String> = alphas.iter().map(|a| format!("{a:.2}")).collect();
                std::fs::create_dir_all(&out)?;
                heat_maps(&[panel], ("beta", &rows), ("alpha", &cols), &format!("{name} at step {step}"), &out, &name)?;
                written.push(out.join(format!("{name}.png")));
                continue;
            }
            "gradient-noise" => gradient_noise(&records),
            "duality" => duality(rec),
            _ => continue,
        };
        std::fs::create_dir_all(&out)?;
        xy_figure(&panels, &format!("{name} at step {step}"), &out, &name)?;
        written.push(out.join(format!("{name}.png")));
    }
    Ok(written)
}

fn variance_flatness(rec: &Value) -> Vec<Panel> {
    let var = floats(&rec["variances"]);
    let flat = rec["flatness"].as_array().cloned().unwrap_or_default();
    let width: Vec<f64> = flat.iter().map(|f| f["width"].as_f64().unwrap_or(f64::NAN)).collect();
    let capped: Vec<bool> = flat.iter().map(|f| f["capped"].as_bool().unwrap_or(false)).collect();
    let pick = |keep: bool| -> Vec<(f64, f64)> {
        width.iter().zip(&var).zip(&capped).skip(1).filter(|(_, c)| **c == keep).map(|((w, v), _)| (*w, *v)).collect()
    };
    let pts: Vec<(f64, f64)> = width.iter().copied().zip(var.iter().copied()).skip(1).collect();
    let mut series = vec![points("components (first left out)", pick(false), Style::Points)];
    if capped.iter().any(|&c| c) {
        series.push(points("capped (width = capped_width)", pick(true), Style::Points));
    }
    if let (Some(slope), Some(icpt)) = (rec["psi_fit"]["slope"].as_f64(), rec["psi_fit"]["intercept"].as_f64()) {
        let (lo, hi) = pts.iter().filter(|p| p.0 > 0.0 && p.0.is_finite()).fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let line = [lo, hi].iter().map(|&f| (f, (icpt + slope * f.ln()).exp())).collect();
        series.push(points(&format!("fit: psi = {:.2} ± {:.2}", -slope, rec["psi_ci95"].as_f64().unwrap_or(f64::NAN)), line, Style::Line));
    }
    let components = floats(&rec["components"]);
    let ranks = components.iter().zip(&var).map(|(i, v)| (i + 1.0, *v)).collect();
    vec![
        Panel { title: "variance vs flatness (Feng & Tu 2021)".into(), x_desc: "flatness F_i".into(), y_desc: "variance sigma_i^2".into(), log_x: true, log_y: true, series },
        Panel {
            title: format!("PCA spectrum (gamma = {:.2})", rec["gamma"].as_f64().unwrap_or(f64::NAN)),
            x_desc: "rank i".into(),
            y_desc: "variance sigma_i^2".into(),
            log_x: true,
            log_y: true,
            series: vec![points("sigma_i^2", ranks, Style::Points)],
        },
    ]
}

fn hessian(rec: &Value) -> Vec<Panel> {
    let (nodes, weights) = (floats(&rec["slq_nodes"]), floats(&rec["slq_weights"]));
    let (lo, hi) = nodes.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let pad = 0.05 * (hi - lo).max(1e-9);
    let grid: Vec<f64> = (0..400).map(|i| lo - pad + (hi - lo + 2.0 * pad) * i as f64 / 399.0).collect();
    let sigma = (hi - lo).max(1e-9) / 100.0;
    let density = tailgrad_probe::hessian::smoothed_density(&nodes, &weights, &grid, sigma);
    let pts = grid.into_iter().zip(density).filter(|p| p.1 > 1e-12).collect();
    vec![Panel {
        title: format!("Hessian spectral density (SLQ); trace = {:.3}", rec["trace"].as_f64().unwrap_or(f64::NAN)),
        x_desc: "eigenvalue".into(),
        y_desc: "density".into(),
        log_y: true,
        series: vec![points("SLQ, Gaussian-smoothed", pts, Style::Line)],
        ..Default::default()
    }]
}

fn gradient_noise(records: &[Value]) -> Vec<Panel> {
    let series = |key: &str| -> Vec<(f64, f64)> {
        records.iter().map(|r| (r["epoch"].as_f64().unwrap_or(f64::NAN), r["scalars"][key].as_f64().unwrap_or(f64::NAN))).collect()
    };
    let mut align = vec![points("all", series("alignment"), Style::Line)];
    if records.iter().any(|r| r["scalars"].get("clean_alignment").is_some()) {
        align.push(points("clean", series("clean_alignment"), Style::Line));
        align.push(points("mislabeled", series("mislabeled_alignment"), Style::Line));
    }
    vec![
        Panel { title: "gradient noise scale".into(), x_desc: "epoch".into(), y_desc: "B_simple".into(), log_y: true, series: vec![points("B_simple", series("b_simple"), Style::Line)], ..Default::default() },
        Panel { title: "minibatch-gradient alignment".into(), x_desc: "epoch".into(), y_desc: "mean pairwise cosine".into(), series: align, ..Default::default() },
    ]
}

fn duality(rec: &Value) -> Vec<Panel> {
    let dirs = rec["directions"].as_array().cloned().unwrap_or_default();
    let contrib: Vec<(f64, f64)> = dirs
        .iter()
        .map(|d| {
            let f = |k: &str| d[k].as_f64().unwrap_or(f64::NAN);
            (f("eigenvalue"), f("share").abs())
        })
        .collect();
    let f = |k: &str| rec[k].as_f64().unwrap_or(f64::NAN);
    vec![Panel {
        title: format!(
            "gap {:.3}, matched {:.3} = {} directions {:.3} + rest {:.3}; 2nd order {:.3}",
            f("true_gap"),
            f("matched_gap"),
            dirs.len(),
            f("directions_gap"),
            f("remainder_gap"),
            f("hessian_estimate")
        ),
        x_desc: "Hessian eigenvalue lambda_n".into(),
        y_desc: "|share of the gap|".into(),
        log_x: true,
        log_y: true,
        series: vec![points("direction n", contrib, Style::Points)],
    }]
}
