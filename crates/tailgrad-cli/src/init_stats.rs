//! `tailgrad init-stats CONFIG`: the per-layer diagnostics of a config's initial network, seed by
//! seed, in seconds and without training: which seeds hold the extreme weights that decide
//! whether a heavy-tailed net learns or collapses.

use crate::{InitStatsArgs, data_cmd};
use anyhow::{Context, bail};
use burn::tensor::Device;
use std::fmt::Write as _;
use std::process::ExitCode;
use tailgrad_model::Mlp;
use tailgrad_train::RunSpec;
use tailgrad_train::spec::apply_override;

/// `0-9`, `0,3,7` or a mix (`0-4,9`).
fn parse_seeds(text: &str) -> anyhow::Result<Vec<u64>> {
    let mut seeds = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("--seeds `{text}`: expected a list like 0-9 or 0,3,7");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.trim().parse().with_context(bad)?, b.trim().parse().with_context(bad)?);
                if a > b {
                    bail!("{}", bad());
                }
                seeds.extend(a..=b);
            }
            None => seeds.push(part.parse().with_context(bad)?),
        }
    }
    Ok(seeds)
}

/// A run config, or the `[run]` table of a study file, with the overrides applied (for a study,
/// `run.model.init=...` as `compare` takes it, or `model.init=...`).
fn load_spec(args: &InitStatsArgs) -> anyhow::Result<RunSpec> {
    let origin = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {origin}"))?;
    let mut tree: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
    let study = tree.contains_key("study");
    if let Some(toml::Value::Table(run)) = tree.remove("run").filter(|_| study) {
        tree = run;
    }
    if !tree.contains_key("name") {
        let stem = args.config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
        tree.insert("name".into(), toml::Value::String(stem.into()));
    }
    for o in args.common.overrides("") {
        // A study's keys as `compare` takes them (`run.model.init=...`) or relative to its run.
        let o = if study { o.strip_prefix("run.").unwrap_or(&o) } else { &o };
        apply_override(&mut tree, o)?;
    }
    Ok(RunSpec::from_table(tree, &[], &origin)?)
}

pub fn init_stats(args: InitStatsArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&args)?;
    let seeds = match &args.seeds {
        Some(s) => parse_seeds(s)?,
        None => vec![spec.seed()],
    };
    data_cmd::ensure(spec.data(), args.common.no_download)?;
    let device = Device::flex();
    let data = tailgrad_train::prepare(&spec, &device)?;
    let samples = if spec.log().diagnostics_samples == 0 { 1000 } else { spec.log().diagnostics_samples };
    let widths = data.model_spec.widths();
    for &seed in &seeds {
        // The trainer's own diagnostic batch for this seed.
        let idx: Vec<i64> =
            tailgrad_data::balanced_sample(&data.split.train.labels, data.split.train.classes, samples, seed).into_iter().map(|i| i as i64).collect();
        let x = data.train_set.rows(&idx).0;
        let model = Mlp::init(&data.model_spec, seed, &device)?;
        let layers = tailgrad_train::diagnostics::measure(&model, &data.model_spec, x);
        if args.json {
            println!("{}", serde_json::json!({ "seed": seed, "init": data.model_spec.init().to_string(), "widths": widths, "samples": idx.len(), "layers": layers }));
            continue;
        }
        let mut out = format!(
            "seed {seed}: {} init {} ({} training samples)\n  layer  fan_in x fan_out  scale c    max|W|/c   Hill alpha  preact RMS    max|h|  saturated\n",
            widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-"),
            data.model_spec.init(),
            idx.len()
        );
        for (d, w) in layers.iter().zip(widths.windows(2)) {
            let c = data.model_spec.init_of(d.layer).scale(w[0], w[1]);
            writeln!(
                out,
                "  {:>5}  {:>16}  {:>9.3e}  {:>9.3e}  {:>10.3}  {:>10.3e}  {:>8.3e}  {}",
                d.layer,
                format!("{} x {}", w[0], w[1]),
                c,
                d.max_abs_w_over_c,
                d.hill_alpha,
                d.preact_rms,
                d.preact_max_abs,
                d.saturation.map_or("(logits)".into(), |s| format!("{:.4}", s))
            )?;
        }
        print!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn seed_lists_parse() {
        assert_eq!(super::parse_seeds("0-3,7, 9").unwrap(), [0, 1, 2, 3, 7, 9]);
        assert!(super::parse_seeds("5-2").is_err());
        assert!(super::parse_seeds("a").unwrap_err().to_string().contains("expected a list like 0-9"));
    }
}
