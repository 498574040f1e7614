//! One study, one config. A study directory records the study's resolved config in `study.toml`
//! on first use, created atomically, so that of two commands starting together exactly one
//! records it. Every later `compare` (the whole study, `--task K`, an array task, `--emit`) is
//! checked against it and refused, naming the keys, when it would train with a different base
//! config; only where the runs execute and read (`backend`, `data.dir`, `log.console`) may
//! differ. A whole-study `compare` may grow the grid (more seeds or laws: each grid point is its
//! own run); `--task K` must see the recorded grid, since K indexes it, and never rewrites it.

use crate::grid::StudyFile;
use crate::spec_diff::training_differences;
use anyhow::{Context, bail};
use std::path::Path;
use tailgrad_rundir::io::{create_atomically, write_atomically};

/// Which command uses the study: all of it, or one array task of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Use {
    Whole,
    Task,
}

/// Record `study` as the config of `study_dir` (on first use), or check it against the recorded
/// one; `origin` names where `study` came from.
pub fn claim(study_dir: &Path, study: &StudyFile, origin: &str, how: Use) -> anyhow::Result<()> {
    let path = study_dir.join("study.toml");
    let text = toml::to_string(study)?;
    std::fs::create_dir_all(study_dir).with_context(|| format!("creating {}", study_dir.display()))?;
    if create_atomically(&path, text.as_bytes())? {
        return Ok(());
    }
    let (recorded, recorded_origin) = StudyFile::load(Some(&path), &[])?;
    let mut differences = training_differences(&recorded.base_spec(&recorded_origin)?, &study.base_spec(origin)?, "run.");
    let (was, now) = (&recorded.study, &study.study);
    let grid_changes: Vec<String> = [("alpha", &was.alpha, &now.alpha), ("sigma_w", &was.sigma_w, &now.sigma_w)]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(key, a, b)| format!("`study.{key}` = {b:?} (was {a:?})"))
        .chain((was.seeds != now.seeds).then(|| format!("`study.seeds` = {:?} (was {:?})", now.seeds, was.seeds)))
        .chain((was.axes != now.axes).then(|| format!("`study.axes` = {} (was {})", toml::Value::Table(now.axes.clone()), toml::Value::Table(was.axes.clone()))))
        .collect();
    if how == Use::Task {
        differences.extend(grid_changes);
    }
    if !differences.is_empty() {
        bail!(
            "{} records the config of study `{}`, and this command would train it with a different one:\n  {}\n\
             A study is one experiment: to train this config, give it its own study (--set study.name=NEW_NAME), \
             or delete {} to start over.",
            path.display(),
            now.name,
            differences.join("\n  "),
            study_dir.display()
        );
    }
    if how == Use::Whole && text != std::fs::read_to_string(&path).unwrap_or_default() {
        // Same training config, a grown grid or new report settings: the record follows.
        write_atomically(&path, text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailgrad_testkit::TempDir;

    fn study(overrides: &[&str]) -> StudyFile {
        let mut o: Vec<String> = ["study.name=\"s\"", "study.seeds=[0]", "study.alpha=[1.5, 2.0]", "study.sigma_w=[1.0]"].map(String::from).to_vec();
        o.extend(overrides.iter().map(|s| s.to_string()));
        StudyFile::load(None, &o).unwrap().0
    }

    #[test]
    fn a_study_keeps_the_config_it_was_first_given() {
        let tmp = TempDir::new();
        let dir = tmp.path().join("s");
        claim(&dir, &study(&[]), "a", Use::Whole).unwrap();
        // Where it runs may change; what it trains may not, from a task or a whole-study command.
        claim(&dir, &study(&["run.backend=\"cpu\"", "run.data.dir=\"/d\""]), "b", Use::Task).unwrap();
        for how in [Use::Task, Use::Whole] {
            let e = claim(&dir, &study(&["run.train.lr=0.05"]), "c", how).unwrap_err().to_string();
            assert!(e.contains("`run.train.lr` = 0.05 (was 0.01)"), "{e}");
            assert!(e.contains("--set study.name="), "{e}");
        }
        let recorded = std::fs::read_to_string(dir.join("study.toml")).unwrap();
        // A task must see the recorded grid; the whole study may grow it (and then records it).
        let grown = study(&["study.seeds=[0, 1]"]);
        let e = claim(&dir, &grown, "d", Use::Task).unwrap_err().to_string();
        assert!(e.contains("`study.seeds` = [0, 1] (was [0])"), "{e}");
        assert_eq!(std::fs::read_to_string(dir.join("study.toml")).unwrap(), recorded, "a refused command changes nothing");
        claim(&dir, &grown, "d", Use::Whole).unwrap();
        let (now, _) = StudyFile::load(Some(&dir.join("study.toml")), &[]).unwrap();
        assert_eq!(now.study.seeds, [0, 1]);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporaries left");
    }
}
