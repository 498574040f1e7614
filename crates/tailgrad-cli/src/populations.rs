//! How a study's runs are packed into tasks: runs that can share a population (same
//! architecture, data and schedule; see `tailgrad_train::population_key`) in grid order, up to
//! `--population` runs per task; each other run is a task of its own.

use crate::grid::Point;

/// Runs per population when `--population` is not given: the whole grid on a GPU, where one
/// batched computation replaces many small ones; 1 on the CPU backend, where one process per
/// core measured as fast and reports each run as it ends (BENCHMARKS.md, "Population training").
pub fn default_size(on_cpu: bool) -> usize {
    if on_cpu { 1 } else { usize::MAX }
}

/// `points` as tasks of up to `size` runs each (grid order within and across tasks).
pub fn tasks<'a>(points: &[&'a Point], size: usize) -> Vec<Vec<&'a Point>> {
    let size = size.max(1);
    let mut groups: Vec<(Option<String>, Vec<&'a Point>)> = Vec::new();
    for &p in points {
        let key = if size > 1 { tailgrad_train::population_key(&p.spec) } else { None };
        match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
            Some((_, members)) => members.push(p),
            None => groups.push((key, vec![p])),
        }
    }
    groups.into_iter().flat_map(|(_, members)| members.chunks(size).map(<[_]>::to_vec).collect::<Vec<_>>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::StudyFile;

    #[test]
    fn runs_are_packed_by_what_they_share_in_grid_order() {
        let text = format!(
            "[study]\nname = \"s\"\nseeds = [0, 1, 2]\nalpha = [1.0, 2.0]\nsigma_w = [1.0]\n\
             [run]\n[run.data]\nname = \"mnist\"\ndir = \"{}\"\n[run.model]\nhidden = [8]\n\
             init = {{ law = \"stable\", alpha = 2.0, sigma_w = 1.0 }}\n[run.train]\nepochs = 1\nbatch_size = 10\nlr = 0.1\n",
            tailgrad_testkit::data_dir().display()
        );
        let tmp = tailgrad_testkit::TempDir::new();
        let file = tmp.path().join("s.toml");
        std::fs::write(&file, text).unwrap();
        let (study, origin) = StudyFile::load(Some(&file), &[]).unwrap();
        let points = study.expand(tmp.path(), &origin).unwrap();
        let refs: Vec<&Point> = points.iter().collect();
        let sizes = |size| tasks(&refs, size).iter().map(|t| t.iter().map(|p| p.index).collect::<Vec<_>>()).collect::<Vec<_>>();
        assert_eq!(sizes(1), [[0], [1], [2], [3], [4], [5]]);
        assert_eq!(sizes(4), [vec![0, 1, 2, 3], vec![4, 5]]);
        assert_eq!(sizes(usize::MAX), [[0, 1, 2, 3, 4, 5]]);
    }
}
