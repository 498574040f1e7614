use super::*;
use crate::stats::quantile;
use std::path::Path;
use tailgrad_rundir::csvlog::Log;
use tailgrad_rundir::{Collapse, CollapseReason, LayerDiagnostics, MetricRow, Status, Summary};

fn write_run(dir: &Path, accs: &[f64], status: Status, output_max_w: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut log = Log::<MetricRow>::create(&dir.join("metrics.csv")).unwrap();
    let rows: Vec<MetricRow> = accs
        .iter()
        .enumerate()
        .map(|(e, &acc)| MetricRow {
            step: 10 * e as u64,
            epoch: e as f64,
            train_loss: (e > 0).then_some(2.0 / (e as f64 + 1.0)),
            train_acc: (e > 0).then_some(acc),
            val_loss: None,
            val_acc: None,
            test_loss: 1.0,
            test_acc: acc,
            lr: 0.1,
            samples_per_s: None,
            wall_s: e as f64,
        })
        .collect();
    log.append(&rows).unwrap();
    let layer = |l, w, sat| LayerDiagnostics { layer: l, max_abs_w_over_c: w, hill_alpha: 1.0, preact_rms: 5.0, preact_max_abs: 9.0, saturation: sat };
    let summary = Summary {
        name: "r".into(),
        status,
        diverged_at_step: None,
        diverged_loss: None,
        collapse: (status == Status::Collapsed).then(|| Collapse {
            reasons: vec![CollapseReason::LossSpike],
            spike_step: Some(3),
            spike_loss: Some(420.0),
            saturated_epochs: vec![],
            chance_threshold: 0.2,
        }),
        steps: 10 * (accs.len() as u64 - 1),
        epochs: (accs.len() - 1) as f64,
        final_test_loss: 1.0,
        final_test_acc: *accs.last().unwrap(),
        best_test_acc: accs.iter().copied().fold(0.0, f64::max),
        best_step: 0,
        wall_s: 1.0,
        train_samples_per_s: 1.0,
        backend: "cpu: flex".into(),
        parameters: 1,
        time: Default::default(),
        initial_diagnostics: vec![layer(0, 1e3, Some(0.5)), layer(1, output_max_w, None)],
        final_diagnostics: vec![],
    };
    summary.write(dir).unwrap();
}

/// Two cells of 5 seeds: alpha = 1 learns on 4 seeds and collapses on seed 2; the Gaussian learns
/// on all 5, more slowly.
fn study(tmp: &Path) -> Vec<Group> {
    let mut refs = Vec::new();
    let runs: [(&str, usize, u64, Vec<f64>, Status); 10] = [
        ("alpha = 1", 0, 0, vec![0.1, 0.92, 0.95], Status::Finished),
        ("alpha = 1", 0, 1, vec![0.1, 0.94, 0.97], Status::Finished),
        ("alpha = 1", 0, 2, vec![0.1, 0.11, 0.12], Status::Collapsed),
        ("alpha = 1", 0, 3, vec![0.1, 0.90, 0.96], Status::Finished),
        ("alpha = 1", 0, 4, vec![0.1, 0.93, 0.94], Status::Finished),
        ("alpha = 2", 1, 0, vec![0.1, 0.80, 0.91], Status::Finished),
        ("alpha = 2", 1, 1, vec![0.1, 0.85, 0.93], Status::Finished),
        ("alpha = 2", 1, 2, vec![0.1, 0.83, 0.92], Status::Finished),
        ("alpha = 2", 1, 3, vec![0.1, 0.84, 0.90], Status::Finished),
        ("alpha = 2", 1, 4, vec![0.1, 0.86, 0.95], Status::Finished),
    ];
    for (series, s_idx, seed, accs, status) in runs {
        let dir = tmp.join(format!("{s_idx}-{seed}"));
        write_run(&dir, &accs, status, if status == Status::Collapsed { 6.2e4 } else { 3.0e3 });
        refs.push(RunRef { dir, cell: Cell { series: s_idx, panel: 0 }, panel: "sigma_w = 0.5".into(), series: series.into(), seed });
    }
    group_runs(&refs).unwrap()
}

#[test]
fn the_table_reports_outcomes_medians_and_every_seed() {
    let tmp = tailgrad_testkit::TempDir::new();
    let groups = study(tmp.path());
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].outcomes(), [4, 1, 0]);
    let rows = summary_table(&groups, &[0.93, 0.96]);
    let a1 = &rows[0];
    // Final accuracies 0.95 0.97 0.12 0.96 0.94: median 0.95, quartiles 0.94 and 0.96; the
    // learned runs alone: 0.95, 0.96, 0.94, 0.97 -> median 0.955. A mean would read 0.788.
    let f = a1.final_all.unwrap();
    assert_eq!((f.median, f.q25, f.q75), (0.95, 0.94, 0.96));
    assert!((a1.final_learned.unwrap().median - 0.955).abs() < 1e-12);
    // Epochs to 93%: seeds reach it at 2, 1, never, 2, 1 -> median 2; to 96%: never, 2, never, 2,
    // never -> median never (3 of 5 never got there).
    assert_eq!((a1.epochs_to[0].median, a1.epochs_to[0].reached), (Some(2.0), 4));
    assert_eq!((a1.epochs_to[1].median, a1.epochs_to[1].reached), (Some(f64::INFINITY), 2));
    let md = write_tables(&rows, tmp.path()).unwrap();
    assert!(md.contains("| sigma_w = 0.5 | alpha = 1 | 5 | 4 / 1 / 0 | 95.0 [94.0, 96.0] | 95.5 | 95.0 97.0 12.0c 96.0 94.0 |"), "{md}");
    assert!(md.contains("| 2.00 (4/5) | never (2/5) |"), "{md}");
    let csv = std::fs::read_to_string(tmp.path().join("table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.contains("2:0.12:collapsed"), "{csv}");
}

#[test]
fn paired_differences_are_taken_at_equal_seeds_with_an_interval() {
    let tmp = tailgrad_testkit::TempDir::new();
    let groups = study(tmp.path());
    let rows = paired_differences(&groups, "alpha = 2");
    assert_eq!(rows.len(), 3, "epochs 0, 1, 2 of alpha = 1 against the Gaussian");
    let last = &rows[2];
    // Seed by seed: 0.95-0.91, 0.97-0.93, 0.12-0.92, 0.96-0.90, 0.94-0.95.
    let expected = [0.04, 0.04, -0.80, 0.06, -0.01];
    for ((seed, d), e) in last.per_seed.iter().zip(expected) {
        assert!((d - e).abs() < 1e-12, "seed {seed}: {d} vs {e}");
    }
    assert_eq!(last.wins, 3);
    assert!((last.median - 0.04).abs() < 1e-12);
    let i = last.interval.unwrap();
    assert!((i.mean + 0.134).abs() < 1e-12);
    // The bootstrap interval spans the collapsed seed's pull: from about -0.49 to +0.05.
    assert!(i.lo < -0.3 && i.hi > 0.0 && i.hi < 0.06, "{i:?}");
    assert!(rows[0].per_seed.iter().all(|p| p.1 == 0.0), "the untrained nets tie");
    let md = write_paired(&rows, tmp.path()).unwrap();
    assert!(md.contains("| sigma_w = 0.5 | alpha = 1 − alpha = 2 | 2.00 | 5 | -13.4 |"), "{md}");
    assert!(md.contains("| +4.0 | 3/5 | +4.0 +4.0 -80.0 +6.0 -1.0 |"), "{md}");
}

#[test]
fn collapsed_runs_are_shown_with_their_initial_diagnostics_and_figures_are_drawn() {
    let tmp = tailgrad_testkit::TempDir::new();
    let groups = study(tmp.path());
    let md = write_collapsed(&groups, tmp.path()).unwrap().unwrap();
    assert!(md.contains("| sigma_w = 0.5 | alpha = 1 | 2 | collapsed | 12.0 | 3: 4.200e2 | 6.20e4 |"), "{md}");
    assert!(md.contains("| median of 4 learned | learned | - | - | 3.00e3 |"), "{md}");
    assert!(md.contains("| sigma_w = 0.5 | alpha = 1 | 1 / 5 | 20.0 | [3.6, 62.4] |"), "the cell's rate with its Wilson interval: {md}");
    learning_curves(&groups, "test", tmp.path(), "curves").unwrap();
    let png = std::fs::read(tmp.path().join("curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = std::fs::read_to_string(tmp.path().join("curves.svg")).unwrap();
    assert!(svg.contains("alpha = 1 (median of 5), 1 collapsed, 0 diverged") && svg.contains("test accuracy"), "legend");
}

#[test]
fn a_diverged_run_counts_at_later_steps_with_its_last_evaluation() {
    // Seed 1 of alpha = 1 diverged after its first evaluation: its log ends at step 0.
    let tmp = tailgrad_testkit::TempDir::new();
    let mut refs = Vec::new();
    let runs: [(&str, usize, u64, Vec<f64>, Status); 4] = [
        ("alpha = 1", 0, 0, vec![0.1, 0.92, 0.95], Status::Finished),
        ("alpha = 1", 0, 1, vec![0.09], Status::Diverged),
        ("alpha = 2", 1, 0, vec![0.1, 0.80, 0.91], Status::Finished),
        ("alpha = 2", 1, 1, vec![0.1, 0.85, 0.93], Status::Finished),
    ];
    for (series, s_idx, seed, accs, status) in runs {
        let dir = tmp.path().join(format!("{s_idx}-{seed}"));
        write_run(&dir, &accs, status, 3.0e3);
        refs.push(RunRef { dir, cell: Cell { series: s_idx, panel: 0 }, panel: "p".into(), series: series.into(), seed });
    }
    let groups = group_runs(&refs).unwrap();
    let rows = paired_differences(&groups, "alpha = 2");
    assert_eq!(rows.len(), 3, "every epoch is reported, not only those the diverged run reached");
    let d: Vec<f64> = rows[2].per_seed.iter().map(|p| p.1).collect();
    assert!((d[0] - 0.04).abs() < 1e-12 && (d[1] - (0.09 - 0.93)).abs() < 1e-12, "{d:?}");
    // The median curve at epoch 2 is over both runs (0.95 and 0.09), not the survivor alone.
    let at_2 = &groups[0].steps(|r| Some(r.test_acc))[2];
    assert_eq!(at_2.2.len(), 2);
    assert!((quantile(&at_2.2, 0.5).unwrap() - 0.52).abs() < 1e-12);
}

#[test]
fn a_dashed_line_is_cut_into_dashes_that_run_on_across_corners() {
    use crate::heatmap::dashes;
    assert_eq!(dashes(&[(0, 0), (32, 0)], 10.0, 6.0), vec![vec![(0, 0), (10, 0)], vec![(16, 0), (26, 0)]]);
    // A corner inside a dash keeps the dash one piece through the corner.
    assert_eq!(dashes(&[(0, 0), (5, 0), (5, 10)], 10.0, 6.0), vec![vec![(0, 0), (5, 0), (5, 5)]]);
}

#[test]
fn probe_results_are_summarized_by_cell_and_paired_with_the_reference_at_equal_seeds() {
    let tmp = tailgrad_testkit::TempDir::new();
    let groups = study(tmp.path());
    // Each run's probe log: an early measurement, a failed one, and the last one that counts
    // (value = 10 * seed + 1 for alpha = 1, 10 * seed for the Gaussian); seed 4 of alpha = 1 has none.
    for g in &groups {
        for r in &g.runs {
            let seed = r.seed() as f64;
            let v = if g.series == "alpha = 1" { 10.0 * seed + 1.0 } else { 10.0 * seed };
            if g.series == "alpha = 1" && r.seed() == 4 {
                continue;
            }
            let log = serde_json::json!([
                { "step": 0, "epoch": 0.0, "scalars": { "snr": -1.0 }, "record": null },
                { "step": 10, "epoch": 1.0, "scalars": { "snr": v }, "record": null },
                { "step": 20, "epoch": 2.0, "error": "out of memory" },
            ]);
            std::fs::create_dir_all(r.reference.dir.join("probes")).unwrap();
            std::fs::write(r.reference.dir.join("probes/few-shot.json"), log.to_string()).unwrap();
        }
    }
    let rows = probe_summaries(&groups, Some("alpha = 2")).unwrap();
    assert_eq!(rows.len(), 2);
    let heavy = rows.iter().find(|r| r.series == "alpha = 1").unwrap();
    assert_eq!(heavy.key, "few-shot/snr");
    assert_eq!(heavy.per_seed, vec![(0, 1.0), (1, 11.0), (2, 21.0), (3, 31.0)]);
    assert_eq!(heavy.spread.unwrap().median, 16.0);
    let paired = heavy.paired.as_ref().unwrap();
    assert_eq!(paired.per_seed, vec![(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)]);
    assert_eq!((paired.median, paired.above, paired.interval.unwrap().mean), (1.0, 4, 1.0));
    assert!(rows.iter().find(|r| r.series == "alpha = 2").unwrap().paired.is_none(), "the reference is not paired with itself");
    let md = write_probe_summaries(&rows, tmp.path()).unwrap();
    assert!(md.contains("| sigma_w = 0.5 | alpha = 1 | few-shot/snr | 4 | 16.0000 [8.5000, 23.5000] |"), "{md}");
    assert!(tmp.path().join("probes.csv").is_file());
    assert_eq!(std::fs::read_to_string(tmp.path().join("probes.md")).unwrap(), md, "probes.md holds the returned table");
}

#[test]
fn a_finished_run_whose_metrics_end_in_a_cut_row_is_refused_by_name() {
    // Issue 24, item 2: the report took the final accuracy from the row before the cut one.
    let tmp = tailgrad_testkit::TempDir::new();
    let dir = tmp.path().join("a1_s1/seed0");
    write_run(&dir, &[0.1, 0.93, 0.94], Status::Finished, 3.0e3);
    let refs = [RunRef { dir: dir.clone(), cell: Cell { series: 0, panel: 0 }, panel: "sigma_w = 1".into(), series: "alpha = 1".into(), seed: 0 }];
    assert_eq!(group_runs(&refs).unwrap()[0].runs[0].final_acc(), 0.94);
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    std::fs::write(dir.join("metrics.csv"), &text[..text.len() - 5]).unwrap();
    let err = group_runs(&refs).unwrap_err().to_string();
    assert!(err.contains("a1_s1/seed0/metrics.csv: the last row is cut short"), "{err}");
}
