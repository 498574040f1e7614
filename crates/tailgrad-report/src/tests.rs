use super::*;
use std::path::Path;
use tailgrad_train::metrics::{MetricRow, MetricsLog};
use tailgrad_train::{Status, Summary};

fn write_run(dir: &Path, accs: &[f64], status: Status) {
    std::fs::create_dir_all(dir).unwrap();
    let (mut log, _) = MetricsLog::open(&dir.join("metrics.csv"), None).unwrap();
    for (e, &acc) in accs.iter().enumerate() {
        log.append(&MetricRow {
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
        .unwrap();
    }
    let summary = Summary {
        name: "r".into(),
        status,
        diverged_at_step: None,
        diverged_loss: None,
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
    };
    std::fs::write(dir.join("summary.json"), serde_json::to_string(&summary).unwrap()).unwrap();
}

#[test]
fn seeds_are_averaged_and_thresholds_found() {
    let tmp = tailgrad_testkit::TempDir::new();
    let mut refs = Vec::new();
    for (series, seed, accs) in [
        ("alpha = 1", 0, vec![0.1, 0.92, 0.95]),
        ("alpha = 1", 1, vec![0.1, 0.94, 0.97]),
        ("alpha = 2", 0, vec![0.1, 0.5, 0.91]),
        ("alpha = 2", 1, vec![0.1, 0.6, 0.80]),
    ] {
        let dir = tmp.path().join(format!("{series}-{seed}"));
        write_run(&dir, &accs, Status::Finished);
        refs.push(RunRef { dir, panel: "sigma_w = 1".into(), series: series.into(), seed });
    }
    let groups = group_runs(&refs).unwrap();
    assert_eq!(groups.len(), 2);
    let curve = groups[0].curve(|r| Some(r.test_acc));
    assert_eq!(curve.len(), 3);
    assert!((curve[1].1.mean - 0.93).abs() < 1e-12);
    assert!((curve[1].1.std - 0.02f64.hypot(0.0) / 2f64.sqrt()).abs() < 1e-12, "sample std of 0.92, 0.94");
    let rows = summary_table(&groups, &[0.9, 0.93]);
    // alpha = 1: both seeds pass 90% at epoch 1; 93% at epochs 2 and 1.
    assert_eq!(rows[0].epochs_to[0].1.unwrap().mean, 1.0);
    assert_eq!(rows[0].epochs_to[1].1.unwrap().mean, 1.5);
    // alpha = 2: one seed reaches 90% (epoch 2), none reaches 93%.
    assert_eq!((rows[1].epochs_to[0].1.unwrap().mean, rows[1].epochs_to[0].2), (2.0, 1));
    assert!(rows[1].epochs_to[1].1.is_none());
    let md = write_tables(&rows, tmp.path()).unwrap();
    assert!(md.contains("| sigma_w = 1 | alpha = 2 | 2 | 85.50 ± 7.78 |"), "{md}");
    assert!(md.contains("2.00 ± 0.00 (1/2) | never |"), "{md}");
    let csv = std::fs::read_to_string(tmp.path().join("table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    learning_curves(&groups, "test", tmp.path(), "curves").unwrap();
    let png = std::fs::read(tmp.path().join("curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = std::fs::read_to_string(tmp.path().join("curves.svg")).unwrap();
    assert!(svg.contains("alpha = 1") && svg.contains("test accuracy"));
}
