//! A study file and its grid: init laws (alpha x sigma_w) x seeds, each grid point a typed run
//! spec in its own directory `STUDY_DIR/a<alpha>_s<sigma_w>/seed<k>`.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tailgrad_init::InitSpec;
use tailgrad_report::{Cell, RunRef};
use tailgrad_train::RunSpec;
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
    /// Stable index of the weights; 2 is the Gaussian.
    pub alpha: Vec<f64>,
    pub sigma_w: Vec<f64>,
    /// Test-accuracy thresholds for the epochs-to-threshold columns.
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<f64>,
    /// What the literature leads one to expect (printed with the report).
    #[serde(default)]
    pub expectation: String,
    /// The expected wall time, printed when the study starts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub budget: String,
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

/// One grid point: indices into the grid, its values, and its run.
#[derive(Clone, Debug)]
pub struct Point {
    /// Position in the grid order (sigma_w-major, then alpha, then seed): `--task K`.
    pub index: usize,
    pub alpha_index: usize,
    pub sigma_index: usize,
    pub alpha: f64,
    pub sigma_w: f64,
    pub seed: u64,
    pub spec: RunSpec,
    pub dir: PathBuf,
}

pub fn series_label(alpha: f64) -> String {
    if alpha == 2.0 { "alpha = 2 (Gaussian)".to_string() } else { format!("alpha = {alpha}") }
}

pub fn panel_label(sigma_w: f64) -> String {
    format!("sigma_w = {sigma_w}")
}

impl Point {
    /// Where the run sits in the study's report.
    pub fn run_ref(&self) -> RunRef {
        RunRef {
            dir: self.dir.clone(),
            cell: Cell { series: self.alpha_index, panel: self.sigma_index },
            panel: panel_label(self.sigma_w),
            series: series_label(self.alpha),
            seed: self.seed,
        }
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
        if s.seeds.is_empty() || s.alpha.is_empty() || s.sigma_w.is_empty() {
            bail!("{origin}: `study.seeds`, `study.alpha` and `study.sigma_w` must each list at least one value");
        }
        for (key, values) in [("seeds", s.seeds.iter().map(|&x| x as f64).collect::<Vec<_>>()), ("alpha", s.alpha.clone()), ("sigma_w", s.sigma_w.clone())] {
            if let Some((i, v)) = values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)) {
                bail!("{origin}: `study.{key}` lists {v} twice (entries {} and {}): each grid point must be trained once", values.iter().position(|x| x == v).unwrap_or(0) + 1, i + 1);
            }
        }
        if let Some(t) = s.thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
            bail!("{origin}: `study.thresholds` holds {t}; thresholds are accuracies in [0, 1]");
        }
        Ok(())
    }

    /// The base run config, resolved (defaults filled in): what every grid point trains with
    /// before the grid sets its seed and init law.
    pub fn base_spec(&self, origin: &str) -> anyhow::Result<RunSpec> {
        let mut run = self.run.clone();
        run.entry("name").or_insert_with(|| toml::Value::String(self.study.name.clone()));
        let base = RunSpec::from_table(run, &[], origin)?;
        if base.model.layer_init.is_some() {
            bail!("{origin}: `run.model.layer_init` cannot be combined with a study's grid, which sets `model.init` of every layer");
        }
        Ok(base)
    }

    /// Every grid point, sigma_w-major, then alpha, then seed.
    pub fn expand(&self, study_dir: &Path, origin: &str) -> anyhow::Result<Vec<Point>> {
        let base = self.base_spec(origin)?;
        let mut points = Vec::new();
        for (sigma_index, &sigma_w) in self.study.sigma_w.iter().enumerate() {
            for (alpha_index, &alpha) in self.study.alpha.iter().enumerate() {
                let init = InitSpec::stable(alpha, sigma_w)
                    .map(|i| InitSpec { fan: base.model.init.fan, ..i })
                    .with_context(|| format!("{origin}: grid point alpha = {alpha}, sigma_w = {sigma_w}"))?;
                let cell = format!("a{alpha}_s{sigma_w}");
                for &seed in &self.study.seeds {
                    let mut spec = base.clone();
                    spec.name = format!("{cell}-seed{seed}");
                    spec.seed = seed;
                    spec.model.init = init;
                    spec.validate()?;
                    let index = points.len();
                    points.push(Point { index, alpha_index, sigma_index, alpha, sigma_w, seed, spec, dir: study_dir.join(&cell).join(format!("seed{seed}")) });
                }
            }
        }
        Ok(points)
    }

    /// The Gaussian's series label, when the grid has alpha = 2 (the reference of paired differences).
    pub fn reference_series(&self) -> Option<String> {
        self.study.alpha.contains(&2.0).then(|| series_label(2.0))
    }
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
        assert_eq!((p.index, p.alpha_index, p.sigma_index, p.seed), (3, 1, 0, 4));
        assert_eq!(p.spec.seed, 4);
        assert_eq!(p.spec.model.init, InitSpec::stable(2.0, 0.5).unwrap());
        assert_eq!(p.dir, Path::new("/s/a2_s0.5/seed4"));
        assert_eq!(study.reference_series().as_deref(), Some("alpha = 2 (Gaussian)"));
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
    }
}
