//! A study's instrument results (`report/probes.md|csv`) and their figures. The figures come from
//! the typed results of each run's probes ([`tailgrad_probe::figure::study_points`]: for
//! `few-shot`, the prototype rule's measured error and the SNR against the layer; for
//! `robustness`, the accuracy against the FGSM size and the noise std). Each panel is a panel of
//! the study (e.g. a sigma_w), each line a series (e.g. an alpha), or a series at one m, through
//! the median over seeds.

use std::path::Path;
use tailgrad_probe::figure::{StudyFigure, StudyPoint, study_points};
use tailgrad_report::stats::quantile;
use tailgrad_report::{Group, Panel, Series, Style, probe_summaries, write_probe_summaries, xy_figure};

/// Write the table and figures of study `name` from its groups, given as parts that pair with
/// one reference series (see `study::by_reference`); returns the files written (None when no run
/// has probes).
pub fn report(parts: &[(Option<String>, Vec<Group>)], name: &str, out: &Path) -> anyhow::Result<Option<Vec<String>>> {
    let mut rows = Vec::new();
    for (reference, groups) in parts {
        rows.extend(probe_summaries(groups, reference.as_deref())?);
    }
    if rows.is_empty() {
        return Ok(None);
    }
    write_probe_summaries(&rows, out)?;
    let mut written = vec!["probes.md|csv".to_string()];
    // A baseline cell can stand in several parts: each cell once.
    let mut cells: Vec<Cell> = Vec::new();
    for g in parts.iter().flat_map(|(_, groups)| groups) {
        if !cells.iter().any(|c| c.panel == g.panel && c.series == g.series) {
            cells.push(Cell { panel: &g.panel, series: &g.series, runs: g.runs.iter().map(|r| r.reference.dir.as_path()).collect() });
        }
    }
    for (figure, panels) in figures(&cells)? {
        xy_figure(&panels, &format!("{name}: {}, median over seeds", figure.y_desc), out, figure.stem)?;
        written.push(format!("{}.png|svg", figure.stem));
    }
    Ok(Some(written))
}

/// One cell of a study: its panel, its series and its runs' directories.
struct Cell<'a> {
    panel: &'a str,
    series: &'a str,
    runs: Vec<&'a Path>,
}

/// The study figures of the cells' runs: per figure, one panel per study panel (in grid order),
/// in it one line per (series, line) through the median over the cell's runs at each x.
fn figures(cells: &[Cell]) -> anyhow::Result<Vec<(&'static StudyFigure, Vec<Panel>)>> {
    // figure -> panel -> line -> x -> the runs' values, each level in order of appearance.
    type Lines = Vec<(String, Vec<(f64, Vec<f64>)>)>;
    let mut found: Vec<(&'static StudyFigure, Vec<(String, Lines)>)> = Vec::new();
    for c in cells {
        for run in &c.runs {
            for StudyPoint { figure, line, x, y } in study_points(run)? {
                let panel = entry(entry(&mut found, figure), c.panel.to_string());
                let name = if line.is_empty() { c.series.to_string() } else { format!("{}, {line}", c.series) };
                let xs = entry(panel, name);
                match xs.iter_mut().find(|(x0, _)| *x0 == x) {
                    Some((_, ys)) => ys.push(y),
                    None => xs.push((x, vec![y])),
                }
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(figure, panels)| {
            let panels = panels
                .into_iter()
                .map(|(title, lines)| {
                    let series = lines
                        .into_iter()
                        .map(|(name, xs)| {
                            let mut points: Vec<(f64, f64)> = xs.iter().filter_map(|(x, ys)| Some((*x, quantile(ys, 0.5)?))).collect();
                            points.sort_by(|a, b| a.0.total_cmp(&b.0));
                            Series { name, points, style: Style::Line }
                        })
                        .collect();
                    Panel { title, x_desc: figure.x_desc.into(), y_desc: figure.y_desc.into(), series, ..Panel::default() }
                })
                .collect();
            (figure, panels)
        })
        .collect())
}

/// The entry of `key` in an ordered list, made empty if new.
fn entry<K: PartialEq, T: Default>(list: &mut Vec<(K, T)>, key: K) -> &mut T {
    let at = match list.iter().position(|(k, _)| *k == key) {
        Some(at) => at,
        None => {
            list.push((key, T::default()));
            list.len() - 1
        }
    };
    &mut list[at].1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run directory whose `robustness` probe measured `fgsm` and `noise` curves.
    fn run(root: &Path, name: &str, fgsm: &[(f64, f64)], noise: &[(f64, f64)]) -> std::path::PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("probes")).unwrap();
        let record = serde_json::json!({ "samples": 100, "clean_accuracy": 0.9, "noise": { "points": noise }, "fgsm": { "points": fgsm } });
        let log = serde_json::json!([{ "step": 10, "epoch": 1.0, "scalars": {}, "record": record }]);
        std::fs::write(tailgrad_probe::probe_log::log_path(&dir, "robustness"), log.to_string()).unwrap();
        dir
    }

    #[test]
    fn study_figures_draw_the_median_over_seeds_of_each_cells_typed_results() {
        let tmp = tailgrad_testkit::TempDir::new();
        let a: Vec<_> = [0.8, 0.5, 0.7].iter().enumerate().map(|(k, &y)| run(tmp.path(), &format!("a{k}"), &[(0.2, y - 0.4), (0.1, y)], &[(1.0, y)])).collect();
        let b = [run(tmp.path(), "b0", &[(0.1, 0.3)], &[(1.0, 0.2)])];
        let cells = [
            Cell { panel: "sigma_w = 1", series: "alpha = 2", runs: a.iter().map(|d| d.as_path()).collect() },
            Cell { panel: "sigma_w = 1", series: "alpha = 1", runs: b.iter().map(|d| d.as_path()).collect() },
        ];
        let found = figures(&cells).unwrap();
        let stems: Vec<&str> = found.iter().map(|(f, _)| f.stem).collect();
        assert_eq!(stems, ["robustness_fgsm", "robustness_noise"]);
        let fgsm = &found[0].1;
        assert_eq!(fgsm.len(), 1);
        assert_eq!(fgsm[0].title, "sigma_w = 1");
        let lines: Vec<(&str, &[(f64, f64)])> = fgsm[0].series.iter().map(|s| (s.name.as_str(), s.points.as_slice())).collect();
        // Medians over the three seeds (0.8, 0.5, 0.7 -> 0.7; 0.4, 0.1, 0.3 -> 0.3), sorted by x.
        assert_eq!(lines[0].0, "alpha = 2");
        assert_eq!(lines[0].1.len(), 2);
        assert!((lines[0].1[0].0 - 0.1).abs() < 1e-12 && (lines[0].1[0].1 - 0.7).abs() < 1e-12, "{lines:?}");
        assert!((lines[0].1[1].0 - 0.2).abs() < 1e-12 && (lines[0].1[1].1 - 0.3).abs() < 1e-12, "{lines:?}");
        assert_eq!(lines[1], ("alpha = 1", &[(0.1, 0.3)][..]));
        assert_eq!(found[1].1[0].series[0].points, [(1.0, 0.7)]);
    }

    #[test]
    fn a_result_that_does_not_read_as_its_instrument_names_the_file() {
        let tmp = tailgrad_testkit::TempDir::new();
        let dir = tmp.path().join("r");
        std::fs::create_dir_all(dir.join("probes")).unwrap();
        let log = serde_json::json!([{ "step": 10, "epoch": 1.0, "record": { "renamed": [] } }]);
        std::fs::write(tailgrad_probe::probe_log::log_path(&dir, "robustness"), log.to_string()).unwrap();
        let cells = [Cell { panel: "", series: "s", runs: vec![dir.as_path()] }];
        let e = format!("{:#}", figures(&cells).unwrap_err());
        assert!(e.contains("robustness.json") && e.contains("Robustness"), "{e}");
    }
}
