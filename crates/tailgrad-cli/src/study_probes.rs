//! A study's instrument results (`report/probes.md|csv`) and their figures: for `few-shot`, the
//! prototype rule's measured error and the SNR against the layer; for `robustness`, the accuracy
//! against the FGSM size and the noise std. Each panel is a panel of the study (e.g. a sigma_w),
//! each line a series (e.g. an alpha) at one m, through the median over seeds.

use std::path::Path;
use tailgrad_report::{Group, Panel, ProbeRow, Series, Style, probe_summaries, write_probe_summaries, xy_figure};

/// Write the table and figures of study `name` from its groups, given as parts that pair with
/// one reference series (see `study::by_reference`); returns the files written (None when no run
/// has probes).
pub fn report(parts: &[(Option<String>, Vec<Group>)], name: &str, out: &Path) -> anyhow::Result<Option<Vec<&'static str>>> {
    let mut rows = Vec::new();
    for (reference, groups) in parts {
        rows.extend(probe_summaries(groups, reference.as_deref())?);
    }
    if rows.is_empty() {
        return Ok(None);
    }
    write_probe_summaries(&rows, out)?;
    let mut written = vec!["probes.md|csv"];
    // few-shot/layer<l>/m<m>/<what>: x = l, one line per (series, m).
    let few_shot = |what: &'static str| {
        move |key: &str| -> Option<(f64, String)> {
            let rest = key.strip_prefix("few-shot/layer")?;
            let (layer, rest) = rest.split_once("/m")?;
            let (m, name) = rest.split_once('/')?;
            (name == what).then(|| Some((layer.parse().ok()?, format!("m = {m}"))))?
        }
    };
    let robustness = |prefix: &'static str| move |key: &str| Some((key.strip_prefix(prefix)?.strip_suffix("/accuracy")?.parse().ok()?, String::new()));
    type Parse = Box<dyn Fn(&str) -> Option<(f64, String)>>;
    let figures: [(&str, &'static str, &str, &str, Parse); 4] = [
        ("few_shot_error", "few_shot_error.png|svg", "layer (0 = pixels)", "prototype-rule error on novel classes", Box::new(few_shot("measured_error"))),
        ("few_shot_snr", "few_shot_snr.png|svg", "layer (0 = pixels)", "SNR (Sorscher et al.)", Box::new(few_shot("snr"))),
        ("robustness_fgsm", "robustness_fgsm.png|svg", "FGSM eps (input units)", "test accuracy under FGSM", Box::new(robustness("robustness/fgsm_"))),
        ("robustness_noise", "robustness_noise.png|svg", "noise std (input units)", "test accuracy under Gaussian noise", Box::new(robustness("robustness/noise_"))),
    ];
    for (stem, files, x_desc, y_desc, parse) in &figures {
        let panels = panels(&rows, parse.as_ref(), x_desc, y_desc);
        if panels.iter().any(|p| !p.series.is_empty()) {
            xy_figure(&panels, &format!("{name}: {y_desc}, median over seeds"), out, stem)?;
            written.push(*files);
        }
    }
    Ok(Some(written))
}

/// One panel per study panel; in it one line per (series, label) through `(x, median)` of the
/// rows whose key `parse` maps to `(x, label)`.
fn panels(rows: &[ProbeRow], parse: &dyn Fn(&str) -> Option<(f64, String)>, x_desc: &str, y_desc: &str) -> Vec<Panel> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.panel.as_str()) {
            names.push(&r.panel);
        }
    }
    names
        .into_iter()
        .map(|panel| {
            let mut series: Vec<Series> = Vec::new();
            for r in rows.iter().filter(|r| r.panel == panel) {
                let (Some((x, label)), Some(s)) = (parse(&r.key), r.spread) else { continue };
                let name = if label.is_empty() { r.series.clone() } else { format!("{}, {label}", r.series) };
                match series.iter_mut().find(|s| s.name == name) {
                    Some(line) => line.points.push((x, s.median)),
                    None => series.push(Series { name, points: vec![(x, s.median)], style: Style::Line }),
                }
            }
            series.iter_mut().for_each(|s| s.points.sort_by(|a, b| a.0.total_cmp(&b.0)));
            Panel { title: panel.to_string(), x_desc: x_desc.into(), y_desc: y_desc.into(), series, ..Panel::default() }
        })
        .collect()
}
