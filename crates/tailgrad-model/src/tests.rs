use super::*;
use burn::tensor::{Device, Tensor, TensorData};

fn spec(text: &str) -> MlpSpec {
    toml::from_str(text).unwrap()
}

fn small() -> MlpSpec {
    spec("input = 6\nhidden = [5, 4]\nclasses = 3\nactivation = \"tanh\"\ninit = { law = \"stable\", alpha = 1.5, sigma_w = 1.0 }")
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn forward_is_the_composition_of_layers() {
    let device = Device::flex();
    let spec = small();
    let mlp = Mlp::init(&spec, 3, &device).unwrap();
    let x_host: Vec<f32> = (0..12).map(|i| (i as f32 - 6.0) / 4.0).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x_host.clone(), [2, 6]), &device);
    let logits = values(mlp.forward(x.clone()));
    // The same network by hand on the host: h = x W, tanh between layers.
    let host = mlp.to_host();
    let mut h = x_host;
    let widths = spec.widths();
    for (l, w) in host.iter().enumerate() {
        let (n_in, n_out) = (widths[l], widths[l + 1]);
        let mut next = vec![0.0f32; 2 * n_out];
        for b in 0..2 {
            for j in 0..n_out {
                let s: f32 = (0..n_in).map(|i| h[b * n_in + i] * w.values[i * n_out + j]).sum();
                next[b * n_out + j] = if l + 1 < host.len() { s.tanh() } else { s };
            }
        }
        h = next;
    }
    for (a, b) in logits.iter().zip(&h) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    let trace = mlp.forward_trace(x);
    assert_eq!(trace.pre.len(), 3);
    assert_eq!(trace.post.len(), 2);
    assert_eq!(values(trace.pre[2].clone()), logits);
    let pre0 = values(trace.pre[0].clone());
    let post0 = values(trace.post[0].clone());
    assert!(pre0.iter().zip(&post0).all(|(p, q)| (p.tanh() - q).abs() < 1e-6));
}

#[test]
fn weights_are_seeded_and_per_layer() {
    let device = Device::flex();
    let a = Mlp::init(&small(), 7, &device).unwrap().to_host();
    let b = Mlp::init(&small(), 7, &device).unwrap().to_host();
    let c = Mlp::init(&small(), 8, &device).unwrap().to_host();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["layers.0.weight", "layers.1.weight", "layers.2.weight"]);
    assert_eq!(a[0].shape, [6, 5]);
    // Host sampling and the device hand-off agree with the init crate directly.
    let mut rng = tailgrad_init::rng(7);
    assert_eq!(a[0].values, small().init().sample(6, 5, &mut rng));
}

#[test]
fn depth_width_bias_and_layer_init() {
    let s = spec("input = 4\ndepth = 3\nwidth = 8\nclasses = 2\nbias = true\nactivation = \"relu\"\ninit = { law = \"gaussian\" }\nlayer_init = [{ law = \"he\" }, { law = \"cauchy\" }, { law = \"gaussian\" }, { law = \"xavier\" }]");
    assert_eq!(s.widths(), [4, 8, 8, 8, 2]);
    let mlp = Mlp::init(&s, 1, &Device::flex()).unwrap();
    let names: Vec<String> = mlp.to_host().into_iter().map(|t| t.name).collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains(&"layers.3.bias".to_string()));
    let err = toml::from_str::<MlpSpec>("input = 4\ndepth = 3\nclasses = 2\ninit = { law = \"he\" }").unwrap_err();
    assert!(err.to_string().contains("either `hidden = [..]` or both `depth` and `width`"), "{err}");
    let err = toml::from_str::<MlpSpec>("input = 4\nhidden = [3]\nclasses = 2\ninit = { law = \"he\" }\nlayer_init = [{ law = \"he\" }]").unwrap_err();
    assert!(err.to_string().contains("`layer_init` has 1 entries but the network has 2 layers"), "{err}");
}

#[test]
fn a_spec_built_in_code_meets_the_rules_of_a_config() {
    // The fields are private (a literal does not compile: the compile_fail example on MlpSpec);
    // the raw form is checked as a config is, and a spec without sizes cannot build a network.
    let init = tailgrad_init::InitSpec::stable(2.0, 1.0).unwrap();
    let raw = |hidden: Vec<usize>, layer_init| RawMlpSpec { input: Some(4), hidden: Some(hidden), classes: Some(2), layer_init, ..RawMlpSpec::new(init) };
    let err = |r: RawMlpSpec| MlpSpec::try_from(r).unwrap_err().to_string();
    assert_eq!(err(raw(vec![3], Some(vec![init]))), "model: `layer_init` has 1 entries but the network has 2 layers");
    assert_eq!(err(raw(vec![3, 0], None)), "model: every hidden width must be > 0");
    let unsized_spec = MlpSpec::try_from(RawMlpSpec { input: None, ..raw(vec![3], None) }).unwrap();
    let e = Mlp::init(&unsized_spec, 0, &Device::flex()).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(e, "model: `input` (0) and `classes` (2) must be > 0");
    let ok = MlpSpec::try_from(raw(vec![3], Some(vec![init, init]))).unwrap();
    assert!(Mlp::init(&ok, 0, &Device::flex()).is_ok());
    assert!(Mlp::init(&unsized_spec.with_sizes(4, 2), 0, &Device::flex()).is_ok());
}

#[test]
fn save_and_load_round_trip() {
    let dir = tailgrad_testkit::TempDir::new();
    let path = dir.path().join("model.safetensors");
    let device = Device::flex();
    let s = small();
    let mlp = Mlp::init(&s, 11, &device).unwrap();
    mlp.save(&s, &path).unwrap();
    let (loaded, loaded_spec) = Mlp::load(&path, &device).unwrap();
    assert_eq!(loaded_spec, s);
    assert_eq!(loaded.to_host(), mlp.to_host());
    std::fs::write(&path, b"not a model").unwrap();
    let err = Mlp::load(&path, &device).unwrap_err().to_string();
    assert!(err.contains("model.safetensors") && err.contains("not a safetensors file"), "{err}");
}

/// The CPU fast path of tanh (value by a rational approximation, derivative attached as a
/// constant slope) gives the same loss gradients as burn's own `Tensor::tanh`.
#[test]
fn fast_tanh_gradients_match_burns_tanh() {
    let device = Device::flex().autodiff();
    let mlp = Mlp::init(&small(), 5, &device).unwrap();
    let x_host: Vec<f32> = (0..24).map(|i| ((i * 7) % 13) as f32 / 3.0 - 2.0).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x_host, [4, 6]), &device);
    let grads_of = |logits: Tensor<2>| {
        let grads = logits.powi_scalar(2).sum().backward();
        mlp.layers.iter().map(|l| values(l.weight.val().grad(&grads).unwrap())).collect::<Vec<_>>()
    };
    let ours = grads_of(mlp.forward(x.clone()));
    let last = mlp.layers.len() - 1;
    let burns = grads_of(mlp.layers.iter().enumerate().fold(x, |h, (l, layer)| {
        let out = layer.forward(h);
        if l == last { out } else { out.tanh() }
    }));
    for (a, b) in ours.iter().flatten().zip(burns.iter().flatten()) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
    }
    assert!(ours.iter().flatten().any(|g| g.abs() > 1e-2), "the gradients are not all zero");
}
