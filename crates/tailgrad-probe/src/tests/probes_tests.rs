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
