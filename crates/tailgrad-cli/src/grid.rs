//! A study file and its grid: the product of its axes x seeds, each grid point a typed run spec in
//! its own directory. The axes are the init law's `alpha` x `sigma_w` (the stable law of every
//! layer, `STUDY_DIR/a<alpha>_s<sigma_w>/seed<k>`) and any run key under `[study.axes]`
//! (`"train.lr" = [0.01, 0.001]`, `"model.width" = [128, 512]`,
//! `"model.init" = ["stable:alpha=1,sigma=0.5", "student-t:nu=3,sigma=1"]`, `"data.name" = [...]`),
//! each adding `_<key>=<value>` to the directory's name. The report draws one panel per value of
//! `study.panels` (default `sigma_w`) and one series per combination of the other axes, and pairs
//! each series at equal seeds with its `study.baseline` (default alpha = 2, the Gaussian).

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tailgrad_init::InitSpec;
use tailgrad_report::{Cell, RunRef};
use tailgrad_train::{RawRunSpec, RunSpec};
use tailgrad_train::spec::apply_override;

/// The default study, built in so that `tailgrad compare` works from any directory.
pub const DEFAULT_STUDY: &str = include_str!("../../../experiments/gauss_vs_levy_mnist.toml");
pub const DEFAULT_STUDY_PATH: &str = "experiments/gauss_vs_levy_mnist.toml";

/// `[study]`: the grid and how to read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    pub name: String,
    pub seeds: Vec<u64>,
    /// Stable index of the weights; 2 is the Gaussian. With `sigma_w`, sets `model.init` of every
    /// grid point; both empty (or absent) leave the init law to the run config or an axis.
    #[serde(default)]
    pub alpha: Vec<f64>,
    #[serde(default)]
    pub sigma_w: Vec<f64>,
    /// The axis whose values are the report's panels (default `sigma_w`, else the first axis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panels: Option<String>,
    /// Test-accuracy thresholds for the epochs-to-threshold columns.
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<f64>,
    /// What the literature leads one to expect (printed with the report).
    #[serde(default)]
    pub expectation: String,
    /// The expected wall time, printed when the study starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub budget: String,
    /// Any other run key swept, with its values: `"train.lr" = [0.01, 0.001]`.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub axes: toml::Table,
    /// The series every other series is paired with at equal seeds: one axis and its value,
    /// `{ "train.lr" = 0.01 }` (default: alpha = 2, the Gaussian, when the grid has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<toml::Table>,
}

fn default_thresholds() -> Vec<f64> {
    vec![0.90, 0.93, 0.95]
}

/// A study file: `[study]` and the base run config `[run]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    pub study: StudySpec,
    /// The base run config; each grid point sets `seed`, `name` and `model.init`'s alpha and sigma_w.
    pub run: toml::Table,
}

/// One axis of a study's grid: a key and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// `alpha`, `sigma_w`, or a run key (`train.lr`).
    pub key: String,
    pub values: Vec<toml::Value>,
}

impl Axis {
    /// How a value reads in a label: `alpha = 2 (Gaussian)`, `sigma_w = 0.5`, `train.lr = 0.001`.
    fn label(&self, v: &toml::Value) -> String {
        match (self.key.as_str(), v.as_float()) {
            ("alpha", Some(a)) => series_label(a),
            _ => format!("{} = {}", self.key, plain(v)),
        }
    }

    /// How a value reads in a directory name: `a1.5`, `s0.5`, `train.lr=0.001`.
    fn dir_part(&self, v: &toml::Value) -> String {
        match self.key.as_str() {
            "alpha" => format!("a{}", plain(v)),
            "sigma_w" => format!("s{}", plain(v)),
            key => format!("{key}={}", plain(v).replace(' ', "")),
        }
    }
}

/// A value as a person writes it: numbers as numbers, strings without quotes.
fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => f.to_string(),
        other => other.to_string(),
    }
}

/// One grid point: its position, its value on every axis, where it sits in the report, and its run.
#[derive(Clone, Debug)]
pub struct Point {
    /// Position in the grid order (sigma_w-major, then alpha, then the other axes in key order,
    /// then seed): `--task K`.
    pub index: usize,
    pub seed: u64,
    pub spec: RunSpec,
    pub dir: PathBuf,
    /// The report's cell (series and panel indices), labels, and the series this one is paired
    /// with (None for a baseline series, or when the study has no baseline).
    pub cell: Cell,
    pub series: String,
    pub panel: String,
    pub reference: Option<String>,
}

pub fn series_label(alpha: f64) -> String {
    if alpha == 2.0 { "alpha = 2 (Gaussian)".to_string() } else { format!("alpha = {alpha}") }
}

impl Point {
    /// Where the run sits in the study's report.
    pub fn run_ref(&self) -> RunRef {
        RunRef { dir: self.dir.clone(), cell: self.cell, panel: self.panel.clone(), series: self.series.clone(), seed: self.seed }
    }
}

impl StudyFile {
    /// Read a study file (the built-in default when `path` is None and the repository's copy
    /// is not here) with `--set` overrides (`study.*` and `run.*` keys); returns it and its origin.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> anyhow::Result<(StudyFile, String)> {
        let (text, origin) = match path {
            Some(path) => (std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?, path.display().to_string()),
            None if Path::new(DEFAULT_STUDY_PATH).is_file() => (std::fs::read_to_string(DEFAULT_STUDY_PATH)?, DEFAULT_STUDY_PATH.to_string()),
            None => (DEFAULT_STUDY.to_string(), format!("{DEFAULT_STUDY_PATH} (built in)")),
        };
        let mut tree: toml::Table = toml::from_str(&text).with_context(|| format!("{origin}: not valid TOML"))?;
        for o in overrides {
            let o = if o.starts_with("study.") || o.starts_with("run.") { o.clone() } else { format!("run.{o}") };
            apply_override(&mut tree, &o)?;
        }
        let study: StudyFile = tree.try_into().map_err(|e: toml::de::Error| anyhow::anyhow!("{origin}: {e}"))?;
        study.check(&origin)?;
        Ok((study, origin))
    }

    fn check(&self, origin: &str) -> anyhow::Result<()> {
        let s = &self.study;
        if let Err(problem) = tailgrad_rundir::io::check_folder_name(&s.name) {
            bail!("{origin}: `study.name` {problem}");
        }
        if s.seeds.is_empty() {
            bail!("{origin}: `study.seeds` must list at least one seed");
        }
        if s.alpha.is_empty() != s.sigma_w.is_empty() {
            bail!("{origin}: `study.alpha` and `study.sigma_w` go together (the stable law of every layer): give both, or neither");
        }
        for (key, v) in &s.axes {
            if matches!(key.as_str(), "seed" | "name" | "alpha" | "sigma_w") {
                bail!("{origin}: `study.axes.\"{key}\"`: {key} is set by the study itself (`study.seeds`, `study.name`, `study.alpha`, `study.sigma_w`)");
            }
            if !s.alpha.is_empty() && key.starts_with("model.init") {
                bail!("{origin}: `study.axes.\"{key}\"` and `study.alpha`/`study.sigma_w` both set the init law; keep one");
            }
            match v.as_array() {
                Some(values) if !values.is_empty() => {}
                _ => bail!("{origin}: `study.axes.\"{key}\"` must be a non-empty list of values"),
            }
        }
        for axis in self.axes().iter().chain([&Axis { key: "seeds".into(), values: s.seeds.iter().map(|&x| toml::Value::Integer(x as i64)).collect() }]) {
            let values = &axis.values;
            if let Some((i, v)) = values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)) {
                let name = if matches!(axis.key.as_str(), "alpha" | "sigma_w" | "seeds") { format!("`study.{}`", axis.key) } else { format!("`study.axes.\"{}\"`", axis.key) };
                bail!("{origin}: {name} lists {} twice (entries {} and {}): each grid point must be trained once", plain(v), values.iter().position(|x| x == v).unwrap_or(0) + 1, i + 1);
            }
        }
        if let Some(t) = s.thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
            bail!("{origin}: `study.thresholds` holds {t}; thresholds are accuracies in [0, 1]");
        }
        let keys: Vec<String> = self.axes().into_iter().map(|a| a.key).collect();
        if let Some(p) = &s.panels
            && !keys.contains(p)
        {
            bail!("{origin}: `study.panels` = {p:?} is not an axis of the study ({})", keys.join(", "));
        }
        if let Some(b) = &s.baseline {
            let mut entries = b.iter();
            let (Some((key, value)), None) = (entries.next(), entries.next()) else {
                bail!("{origin}: `study.baseline` names one axis and its value, e.g. {{ \"train.lr\" = 0.01 }}");
            };
            let Some(axis) = self.axes().into_iter().find(|a| &a.key == key) else {
                bail!("{origin}: `study.baseline` names {key:?}, which is not an axis of the study ({})", keys.join(", "));
            };
            if !axis.values.iter().any(|v| same(v, value)) {
                bail!("{origin}: `study.baseline`: {key} = {} is not among the axis's values", plain(value));
            }
            if Some(key) == self.panel_axis().as_ref() {
                bail!("{origin}: `study.baseline` names the panels axis {key:?}; pairs are formed within a panel, so the baseline must be a series axis");
            }
        }
        Ok(())
    }

    /// The grid's axes in loop order: sigma_w, alpha (when given), then `[study.axes]` by key.
    pub fn axes(&self) -> Vec<Axis> {
        let s = &self.study;
        let floats = |v: &[f64]| v.iter().map(|&x| toml::Value::Float(x)).collect();
        let mut axes = Vec::new();
        if !s.alpha.is_empty() {
            axes.push(Axis { key: "sigma_w".into(), values: floats(&s.sigma_w) });
            axes.push(Axis { key: "alpha".into(), values: floats(&s.alpha) });
        }
        let mut keys: Vec<&String> = s.axes.keys().collect();
        keys.sort();
        axes.extend(keys.into_iter().map(|k| Axis { key: k.clone(), values: s.axes[k].as_array().cloned().unwrap_or_default() }));
        axes
    }

    /// The axis whose values are the report's panels: `study.panels`, else sigma_w, else the
    /// first axis with more than one value (None: one panel).
    fn panel_axis(&self) -> Option<String> {
        let axes = self.axes();
        self.study.panels.clone().or_else(|| {
            axes.iter().find(|a| a.key == "sigma_w").or_else(|| axes.iter().find(|a| a.values.len() > 1)).map(|a| a.key.clone())
        })
    }

    /// The baseline axis and value: `study.baseline`, else alpha = 2 when the grid has it.
    fn baseline(&self) -> Option<(String, toml::Value)> {
        match &self.study.baseline {
            Some(b) => b.iter().next().map(|(k, v)| (k.clone(), v.clone())),
            None => self.study.alpha.contains(&2.0).then(|| ("alpha".to_string(), toml::Value::Float(2.0))),
        }
    }

    /// The base run config, resolved (defaults filled in): what every grid point trains with
    /// before the grid sets its seed and axes.
    pub fn base_spec(&self, origin: &str) -> anyhow::Result<RunSpec> {
        let mut run = self.run.clone();
        run.entry("name").or_insert_with(|| toml::Value::String(self.study.name.clone()));
        let base = RunSpec::from_table(run, &[], origin)?;
        if base.model().layer_init().is_some() && !self.study.alpha.is_empty() {
            bail!("{origin}: `run.model.layer_init` cannot be combined with a study's alpha x sigma_w grid, which sets `model.init` of every layer");
        }
        Ok(base)
    }

    /// Every grid point, in grid order (see [`Point::index`]).
    pub fn expand(&self, study_dir: &Path, origin: &str) -> anyhow::Result<Vec<Point>> {
        let base = self.base_spec(origin)?;
        let axes = self.axes();
        let panel_axis = self.panel_axis();
        let baseline = self.baseline();
        let combos = axes.iter().fold(vec![Vec::<toml::Value>::new()], |acc, axis| {
            acc.into_iter().flat_map(|c| axis.values.iter().map(move |v| [c.clone(), vec![v.clone()]].concat())).collect()
        });
        // A series is the combination of the non-panel axes; alpha alone labels as before.
        let series_of = |values: &[toml::Value]| -> String {
            let labels: Vec<String> = axes
                .iter()
                .zip(values)
                .filter(|(a, _)| Some(&a.key) != panel_axis.as_ref() && (a.values.len() > 1 || a.key == "alpha"))
                .map(|(a, v)| a.label(v))
                .collect();
            if labels.is_empty() { "all".to_string() } else { labels.join(", ") }
        };
        let (mut series_names, mut panel_names) = (Vec::<String>::new(), Vec::<String>::new());
        let index_of = |names: &mut Vec<String>, name: &str| names.iter().position(|n| n == name).unwrap_or_else(|| {
            names.push(name.to_string());
            names.len() - 1
        });
        let mut points = Vec::new();
        for values in combos {
            let mut run = self.run.clone();
            for (axis, v) in axes.iter().zip(&values).filter(|(a, _)| a.key != "alpha" && a.key != "sigma_w") {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                apply_override(&mut run, &format!("{}={text}", axis.key)).with_context(|| format!("{origin}: `study.axes.\"{}\"`", axis.key))?;
            }
            run.insert("name".into(), toml::Value::String(self.study.name.clone()));
            let cell_spec = if axes.iter().any(|a| a.key != "alpha" && a.key != "sigma_w") { RunSpec::from_table(run, &[], origin)? } else { base.clone() };
            let mut cell_raw = RawRunSpec::from(cell_spec);
            let value = |key: &str| axes.iter().position(|a| a.key == key).and_then(|i| values[i].as_float());
            if let (Some(alpha), Some(sigma_w)) = (value("alpha"), value("sigma_w")) {
                cell_raw.model.init = InitSpec::stable(alpha, sigma_w)
                    .map(|i| i.with_fan(base.model().init().fan()))
                    .with_context(|| format!("{origin}: grid point alpha = {alpha}, sigma_w = {sigma_w}"))?;
            }
            // Named alpha first (`a1.5_s0.5`, as the grid's directories always were), then in loop order.
            let mut parts: Vec<(bool, String)> = axes.iter().zip(&values).map(|(a, v)| (a.key != "alpha", a.dir_part(v))).collect();
            parts.sort_by_key(|p| p.0);
            let parts: Vec<String> = parts.into_iter().map(|p| p.1).collect();
            let cell_dir = if parts.is_empty() { "all".to_string() } else { parts.join("_") };
            if let Err(problem) = tailgrad_rundir::io::check_folder_name(&cell_dir) {
                bail!("{origin}: the grid point {cell_dir:?} cannot be a folder name: it {problem}");
            }
            let series = series_of(&values);
            let panel = panel_axis.as_ref().and_then(|k| axes.iter().position(|a| &a.key == k)).map_or("all".to_string(), |i| {
                if axes[i].key == "sigma_w" { format!("sigma_w = {}", plain(&values[i])) } else { axes[i].label(&values[i]) }
            });
            let reference = baseline.as_ref().and_then(|(key, base_value)| {
                let i = axes.iter().position(|a| &a.key == key)?;
                if same(&values[i], base_value) {
                    return None;
                }
                let mut moved = values.clone();
                moved[i] = axes[i].values.iter().find(|v| same(v, base_value))?.clone();
                Some(series_of(&moved))
            });
            let cell = Cell { series: index_of(&mut series_names, &series), panel: index_of(&mut panel_names, &panel) };
            for &seed in &self.study.seeds {
                let mut raw = cell_raw.clone();
                raw.name = format!("{cell_dir}-seed{seed}");
                raw.seed = seed;
                let spec = RunSpec::try_from(raw)?;
                let index = points.len();
                let dir = study_dir.join(&cell_dir).join(format!("seed{seed}"));
                points.push(Point { index, seed, spec, dir, cell, series: series.clone(), panel: panel.clone(), reference: reference.clone() });
            }
        }
        Ok(points)
    }

    /// Whether the report can draw the alpha x sigma_w phase diagram: both have two values or
    /// more, no other axis varies, and sigma_w is the panels axis.
    pub fn has_phase_diagram(&self) -> bool {
        let s = &self.study;
        s.alpha.len() >= 2 && s.sigma_w.len() >= 2 && self.axes().iter().all(|a| a.key == "alpha" || a.key == "sigma_w" || a.values.len() == 1) && self.panel_axis().as_deref() == Some("sigma_w")
    }
}

/// Two axis values are the same point: equal, or equal as numbers (`2` and `2.0`).
fn same(a: &toml::Value, b: &toml::Value) -> bool {
    a == b || matches!((as_number(a), as_number(b)), (Some(x), Some(y)) if x == y)
}

fn as_number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_sets_typed_fields_and_refuses_duplicates_and_escapes() {
        let text = DEFAULT_STUDY;
        let tmp = std::env::temp_dir();
        let (study, origin) = {
            let path = tmp.join(format!("grid-test-{}.toml", std::process::id()));
            std::fs::write(&path, text).unwrap();
            let r = StudyFile::load(Some(&path), &["study.seeds=[3, 4]".into(), "study.alpha=[1.5, 2.0]".into(), "study.sigma_w=[0.5]".into()]).unwrap();
            std::fs::remove_file(&path).unwrap();
            r
        };
        let points = study.expand(Path::new("/s"), &origin).unwrap();
        assert_eq!(points.len(), 4);
        let p = &points[3];
        assert_eq!((p.index, p.cell.series, p.cell.panel, p.seed), (3, 1, 0, 4));
        assert_eq!(p.spec.seed(), 4);
        assert_eq!(p.spec.model().init(), InitSpec::stable(2.0, 0.5).unwrap());
        assert_eq!(p.dir, Path::new("/s/a2_s0.5/seed4"));
        assert_eq!((p.series.as_str(), p.panel.as_str(), p.reference.as_deref()), ("alpha = 2 (Gaussian)", "sigma_w = 0.5", None));
        assert_eq!(points[0].reference.as_deref(), Some("alpha = 2 (Gaussian)"));
        assert_eq!(points[0].series, "alpha = 1.5");
        let err = |o: &str| {
            let path = tmp.join(format!("grid-test-err-{}.toml", std::process::id()));
            std::fs::write(&path, text).unwrap();
            let e = StudyFile::load(Some(&path), &[o.into()]).unwrap_err().to_string();
            std::fs::remove_file(&path).unwrap();
            e
        };
        assert!(err("study.seeds=[0, 0]").contains("`study.seeds` lists 0 twice (entries 1 and 2)"), "{}", err("study.seeds=[0, 0]"));
        assert!(err("study.name=\"../x\"").contains("`study.name` `../x` must be a plain folder name"), "{}", err("study.name=\"../x\""));
        assert!(err("study.name=\"\"").contains("`study.name` must not be empty"));
        assert!(err("study.axes={\"train.lr\" = [0.1, 0.1]}").contains("`study.axes.\"train.lr\"` lists 0.1 twice"), "{}", err("study.axes={\"train.lr\" = [0.1, 0.1]}"));
        assert!(err("study.axes={\"model.init\" = [\"gaussian:sigma=1\"]}").contains("both set the init law"));
        assert!(err("study.baseline={\"train.lr\" = 0.1}").contains("not an axis of the study (sigma_w, alpha)"), "{}", err("study.baseline={\"train.lr\" = 0.1}"));
        assert!(err("study.panels=\"train.lr\"").contains("`study.panels` = \"train.lr\" is not an axis"));
        assert!(err("study.baseline={sigma_w = 1.0}").contains("names the panels axis"), "{}", err("study.baseline={sigma_w = 1.0}"));
    }

    #[test]
    fn any_run_key_is_an_axis_with_its_own_directories_series_and_baseline() {
        // Issue 23, item 5: a study over train.lr x model.width x seeds, no init grid.
        let overrides: Vec<String> = [
            "study.name=\"lr_width\"",
            "study.alpha=[]",
            "study.sigma_w=[]",
            "study.seeds=[0, 1]",
            "study.axes={\"train.lr\" = [0.01, 0.001], \"model.width\" = [128, 512]}",
            "study.panels=\"model.width\"",
            "study.baseline={\"train.lr\" = 0.01}",
        ]
        .map(String::from)
        .to_vec();
        let (study, origin) = StudyFile::load(None, &overrides).unwrap();
        let points = study.expand(Path::new("/s"), &origin).unwrap();
        assert_eq!(points.len(), 8);
        // Loop order: the axes by key (model.width, then train.lr), then seeds.
        let p = &points[3];
        assert_eq!(p.dir, Path::new("/s/model.width=128_train.lr=0.001/seed1"));
        assert_eq!((p.spec.train().lr(), p.spec.model().hidden().to_vec(), p.seed), (0.001, vec![128; p.spec.model().hidden().len()], 1));
        assert_eq!((p.series.as_str(), p.panel.as_str()), ("train.lr = 0.001", "model.width = 128"));
        assert_eq!(p.reference.as_deref(), Some("train.lr = 0.01"));
        assert_eq!(points[0].reference, None, "the baseline series");
        let q = &points[7];
        assert_eq!((q.cell.series, q.cell.panel), (1, 1));
        assert_eq!(q.spec.model().init(), study.base_spec(&origin).unwrap().model().init(), "the init law is the run config's");
        assert!(!study.has_phase_diagram());
        // An init-law axis, the law written as on the command line.
        let (laws, origin) = StudyFile::load(None, &["study.alpha=[]".into(), "study.sigma_w=[]".into(), "study.axes={\"model.init\" = [\"stable:alpha=1,sigma=0.5\", \"gaussian:sigma=1\"]}".into()]).unwrap();
        let points = laws.expand(Path::new("/s"), &origin).unwrap();
        assert_eq!(points[0].spec.model().init(), "stable:alpha=1,sigma=0.5".parse::<InitSpec>().unwrap());
        assert_eq!(points.last().unwrap().dir.parent().unwrap(), Path::new("/s/model.init=gaussian:sigma=1"));
    }
}
