//! `tailgrad criticality CONFIG`: the (alpha, sigma_w) map of signal propagation in random tanh
//! networks: propagated-circle CV and Lyapunov exponents, with the Gaussian mean-field theory.

use crate::CriticalityArgs;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::process::ExitCode;
use tailgrad_backend::{BackendChoice, select};
use tailgrad_init::{Fan, InitSpec};
use tailgrad_probe::criticality::{Representation, lyapunov, mean_field_tanh, propagated_circle_cv, representation};
use tailgrad_report::{HeatPanel, heat_maps};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CriticalitySpec {
    name: String,
    alpha: Vec<f64>,
    sigma_w: Vec<f64>,
    width: usize,
    depth: usize,
    angles: usize,
    lyapunov_depth: usize,
    burn_in: usize,
    seed: u64,
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
    cv: Vec<f64>,
    lyapunov: f64,
    representation: Option<Representation>,
}

pub fn criticality(args: CriticalityArgs) -> anyhow::Result<ExitCode> {
    let origin = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {origin}"))?;
    let mut tree: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
    for o in &args.set {
        tailgrad_train::spec::apply_override(&mut tree, o)?;
    }
    let spec: CriticalitySpec = tree.try_into().map_err(|e: toml::de::Error| anyhow::anyhow!("{origin}: {e}"))?;
    if spec.angles < 3 || spec.width < 2 || spec.depth == 0 || spec.lyapunov_depth == 0 {
        bail!("{origin}: need angles >= 3, width >= 2, depth >= 1 and lyapunov_depth >= 1");
    }
    let out = args.runs_dir.join(&spec.name);
    std::fs::create_dir_all(&out)?;
    let device = select(spec.backend)?.device;
    let images = if spec.images == 0 {
        None
    } else {
        if spec.width != 784 {
            bail!("{origin}: the representation statistics feed MNIST images: they need width = 784");
        }
        let mut data = tailgrad_data::DataSpec::new(tailgrad_data::Dataset::Mnist);
        data.dir = args.data_dir.clone();
        let split = data.load(spec.seed)?;
        let x = split.test.normalized(split.dataset, data.normalize);
        Some(x[..spec.images.min(split.test.len()) * 784].to_vec())
    };
    let mut cells = Vec::new();
    for &alpha in &spec.alpha {
        for &sigma in &spec.sigma_w {
            let mut init = InitSpec::stable(alpha, sigma).with_context(|| format!("{origin}: alpha = {alpha}, sigma_w = {sigma}"))?;
            init.fan = Fan::In;
            let cv = propagated_circle_cv(&init, spec.width, spec.depth, spec.angles, spec.seed, &device);
            let lyap = lyapunov(&init, spec.width, spec.lyapunov_depth, spec.burn_in, 1, spec.seed)[0];
            let rep = images.as_ref().map(|x| {
                let jac = if sigma == spec.jacobian_sigma_w { spec.jacobian_inputs } else { 0 };
                representation(&init, spec.width, spec.representation_layer, x, jac, spec.seed)
            });
            eprintln!(
                "alpha {alpha:<5} sigma_w {sigma:<5} CV(layer {}) = {:.3}  Lyapunov = {lyap:+.3}{}",
                spec.depth,
                cv[spec.depth - 1],
                rep.as_ref().map_or(String::new(), |r| format!("  ED = {:.1}  D_2(PCs) = {:.2}", r.ed, r.d2_pcs))
            );
            cells.push(Cell { alpha, sigma_w: sigma, cv, lyapunov: lyap, representation: rep });
        }
    }
    let grid = |f: &dyn Fn(&Cell) -> f64| -> Vec<Vec<Option<f64>>> {
        spec.alpha.iter().enumerate().map(|(i, _)| (0..spec.sigma_w.len()).map(|j| Some(f(&cells[i * spec.sigma_w.len() + j]))).collect()).collect()
    };
    let mut panels = vec![
        HeatPanel { title: format!("propagated-circle CV at layer {}", spec.depth), values: grid(&|c| c.cv[spec.depth - 1]), label: |v| format!("{v:.2}") },
        HeatPanel { title: "largest Lyapunov exponent per layer".into(), values: grid(&|c| c.lyapunov), label: |v| format!("{v:+.2}") },
    ];
    if images.is_some() {
        let l = spec.representation_layer;
        let rep = |c: &Cell| c.representation.clone().expect("computed for every cell");
        panels.push(HeatPanel { title: format!("ED of layer {l} (MNIST inputs)"), values: grid(&|c| rep(c).ed), label: |v| format!("{v:.1}") });
        panels.push(HeatPanel { title: format!("D_2 of layer {l}'s top PCs"), values: grid(&|c| rep(c).d2_pcs), label: |v| format!("{v:.2}") });
    }
    let rows: Vec<String> = spec.alpha.iter().map(|a| a.to_string()).collect();
    let cols: Vec<String> = spec.sigma_w.iter().map(|s| s.to_string()).collect();
    let title = format!("{}: random tanh nets, width {}", spec.name, spec.width);
    heat_maps(&panels, ("alpha", &rows), ("sigma_w", &cols), &title, &out, "criticality")?;

    // The Gaussian column against mean-field theory.
    let mut md = String::from("| sigma_w | q* | chi | xi | Lyapunov, mean field | Lyapunov, measured (alpha = 2) |\n|---|---|---|---|---|---|\n");
    for c in cells.iter().filter(|c| c.alpha == 2.0) {
        let mf = mean_field_tanh(c.sigma_w);
        writeln!(md, "| {} | {:.4} | {:.4} | {:.2} | {:+.3} | {:+.3} |", c.sigma_w, mf.q_star, mf.chi, mf.xi, mf.lyapunov, c.lyapunov)?;
    }
    if images.is_some() {
        writeln!(md, "\n| alpha | D_2 of layer-{} Jacobian eigenvectors (sigma_w = {}) | ED | D_2 of top PCs |\n|---|---|---|---|", spec.representation_layer, spec.jacobian_sigma_w)?;
        for c in cells.iter().filter(|c| c.sigma_w == spec.jacobian_sigma_w) {
            if let Some(r) = &c.representation {
                writeln!(md, "| {} | {:.3} | {:.1} | {:.3} |", c.alpha, r.d2_jacobian.unwrap_or(f64::NAN), r.ed, r.d2_pcs)?;
            }
        }
    }
    std::fs::write(out.join("mean_field.md"), &md)?;
    std::fs::write(out.join("criticality.json"), serde_json::to_string_pretty(&serde_json::json!({ "spec": spec, "cells": cells }))?)?;
    let mut csv = String::from("alpha,sigma_w,cv_last,lyapunov\n");
    for c in &cells {
        writeln!(csv, "{},{},{},{}", c.alpha, c.sigma_w, c.cv[spec.depth - 1], c.lyapunov)?;
    }
    std::fs::write(out.join("criticality.csv"), csv)?;
    println!("{md}");
    eprintln!("wrote {}/{{criticality.png|svg, criticality.csv, criticality.json, mean_field.md}}", out.display());
    Ok(ExitCode::SUCCESS)
}
