#[test]
fn probe_configs_are_checked_when_built_and_against_the_network() {
    let spec = |text: &str| -> tailgrad_train::ProbeSpec { toml::from_str(text).unwrap() };
    let err = crate::build(&[spec("name = \"hesian\"")]).err().unwrap().to_string();
    assert!(err.contains("unknown probe `hesian`") && err.contains("variance-flatness"), "{err}");
    let err = format!("{:#}", crate::build(&[spec("name = \"hessian\"\ntop_kk = 3")]).err().unwrap());
    assert!(err.contains("probe `hessian` has bad settings") && err.contains("top_kk"), "{err}");
    assert!(crate::build(&[spec("name = \"duality\"\nlayer = 1\nevery_epochs = 2")]).is_ok());
    let err = crate::build(&[spec("name = \"slices\"\npoints = 0")]).err().unwrap().to_string();
    assert_eq!(err, "config: probe `slices`: `points` = 0 must be >= 2");
    // A layer that the network does not have is refused before training starts.
    let widths = [784, 64, 64, 10];
    for name in ["hessian", "gradient-noise", "duality", "variance-flatness"] {
        let probes = crate::build(&[spec(&format!("name = \"{name}\"\nlayer = 99"))]).unwrap();
        let err = probes[0].check(&widths).unwrap_err().to_string();
        assert!(err.contains("`layer` = 99, but the network has 3 layers (0..2)"), "{name}: {err}");
    }
    let probes = crate::build(&[spec("name = \"local-elasticity\"\nclasses = [3, 12]")]).unwrap();
    assert!(probes[0].check(&widths).unwrap_err().to_string().contains("class 12 does not exist"));
}

#[test]
fn every_instrument_is_listed_once_and_builds_with_its_defaults() {
    let names = crate::names();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for name in names {
        let spec: tailgrad_train::ProbeSpec = toml::from_str(&format!("name = \"{name}\"")).unwrap();
        let probes = crate::build(&[spec]).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(probes[0].spec().name, name);
        assert!(!crate::instrument(name).unwrap().about.is_empty());
    }
}

/// A log written by the trainer's `ProbeLog` reads back as the instruments' result structs: NaN
/// (written as JSON null) comes back as NaN, a failed measurement after the last good one is
/// skipped, and a record that is not the instrument's struct is an error naming the file.
#[test]
fn run_figures_read_typed_results_from_the_trainers_log() {
    use crate::hessian::Spectrum;
    use crate::probe_log::{self, Measurement};
    use tailgrad_train::ProbeOutput;
    use tailgrad_train::probe::ProbeLog;
    let tmp = tailgrad_testkit::TempDir::new();
    let run = tmp.path();
    let spectrum = Spectrum {
        top: vec![3.0, 1.0],
        trace: 4.5,
        trace_stderr: f64::NAN,
        slq_nodes: vec![0.0, 1.0, 3.0],
        slq_weights: vec![0.5, 0.3, 0.2],
        dim: 10,
    };
    let mut log = ProbeLog::open(run, "hessian", None).unwrap();
    let out = ProbeOutput { scalars: vec![("trace".into(), 4.5)], record: serde_json::to_value(&spectrum).unwrap() };
    log.append(7, 1.0, &out, None).unwrap();
    log.append_error(9, 1.5, "out of memory").unwrap();
    let entries = probe_log::read(run, "hessian").unwrap();
    assert_eq!(entries.len(), 2);
    let last = probe_log::last_measured(&entries).unwrap();
    assert_eq!(last.step, 7);
    let back: Spectrum = last.result().unwrap();
    assert!(back.trace_stderr.is_nan() && back.trace == 4.5 && back.slq_nodes == spectrum.slq_nodes, "{back:?}");
    let err = entries[1].result::<Spectrum>().unwrap_err().to_string();
    assert!(err.contains("step 9 failed: out of memory"), "{err}");

    // A 2-D slice draws as a heat map; both figures land in RUN_DIR/report.
    let slice = crate::slices::Slice { alphas: vec![-1.0, 0.0, 1.0], betas: vec![-1.0, 1.0], loss: vec![2.0, 2.1, 1.0, f64::NAN, 2.2, 2.3] };
    let mut log = ProbeLog::open(run, "slices", None).unwrap();
    log.append(7, 1.0, &ProbeOutput { scalars: vec![], record: serde_json::to_value(&slice).unwrap() }, None).unwrap();
    let drawn = crate::figure::draw(run).unwrap();
    let names: Vec<String> = drawn.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["hessian.png", "slices.png"]);
    assert!(drawn.iter().all(|p| p.is_file()));

    // A record that lost a field (as after a rename) is an error naming the file and the field.
    let mut log = ProbeLog::open(run, "hessian", None).unwrap();
    let mut renamed = serde_json::to_value(&spectrum).unwrap();
    let nodes = renamed.as_object_mut().unwrap().remove("slq_nodes").unwrap();
    renamed["nodes"] = nodes;
    log.append(11, 2.0, &ProbeOutput { scalars: vec![], record: renamed }, None).unwrap();
    let err = format!("{:#}", crate::figure::draw(run).unwrap_err());
    assert!(err.contains("probes/hessian.json: cannot draw its figure") && err.contains("missing field `slq_nodes`"), "{err}");
    let _: Vec<Measurement> = probe_log::read(run, "hessian").unwrap();
}
