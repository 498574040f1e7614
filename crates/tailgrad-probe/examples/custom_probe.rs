//! Write an instrument of your own and schedule it next to a built-in one.
//!
//!     cargo run --release -p tailgrad-probe --example custom_probe
//!
//! The probe below measures each layer's largest singular value (by power iteration on `W^T W`),
//! the quantity whose growth separates ordered from chaotic signal propagation. Its results land
//! where every probe's do: `runs/custom_probe/probes/spectral-norm.{json,csv}` and TensorBoard's
//! `probe/spectral-norm/layer<l>`.

use burn::tensor::{Device, Tensor, TensorData};
use tailgrad_model::loss::read_f32s;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec, RunEnd, RunSpec, TrainOptions, train};

/// `||W||_2` of every layer.
struct SpectralNorm {
    spec: ProbeSpec,
    iterations: usize,
}

impl Probe for SpectralNorm {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let mut scalars = Vec::new();
        for (l, layer) in ctx.model.layers.iter().enumerate() {
            let w = layer.weight.val(); // [fan_in, fan_out]
            let [_, fan_out] = w.dims();
            // Power iteration on W^T W from a unit v: |W^T W v| -> ||W||_2^2 as v converges.
            let mut v = vec![1.0f32 / (fan_out as f32).sqrt(); fan_out];
            let mut sigma_sq = 0.0;
            for _ in 0..self.iterations {
                let vt = Tensor::<2>::from_data(TensorData::new(v, [fan_out, 1]), &w.device());
                let next = read_f32s(w.clone().transpose().matmul(w.clone().matmul(vt)));
                sigma_sq = next.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
                v = next.iter().map(|x| x / sigma_sq).collect();
            }
            scalars.push((format!("layer{l}"), sigma_sq.sqrt() as f64));
        }
        let record = serde_json::json!({ "spectral_norms": scalars.iter().map(|(_, s)| s).collect::<Vec<_>>() });
        Ok(ProbeOutput { scalars, record })
    }
}

fn main() -> anyhow::Result<()> {
    let config = r#"
        name = "custom_probe"
        [data]
        name = "mnist"
        train_per_class = 200
        [model]
        hidden = [128, 128]
        init = { law = "stable", alpha = 1.0, sigma_w = 1.0 }
        [train]
        epochs = 3
        batch_size = 50
        lr = 0.05
        [[probes]]
        name = "gradient-noise"   # a built-in instrument, scheduled as in a config file
        every_epochs = 1
    "#;
    let spec = RunSpec::from_toml(config, &[], "example")?;
    let mut probes = tailgrad_probe::build(spec.probes())?;
    // Ours: every epoch's end (and after the last step, `at_end` being on by default).
    let schedule: ProbeSpec = toml::from_str("name = \"spectral-norm\"\nevery_epochs = 1")?;
    probes.push(Box::new(SpectralNorm { spec: schedule, iterations: 30 }));

    let device = Device::flex();
    let options = TrainOptions { probes, ..TrainOptions::on(&device) };
    if let RunEnd::Completed(summary) = train(&spec, std::path::Path::new("runs/custom_probe"), options)? {
        println!("test accuracy {:.2}%; see runs/custom_probe/probes/spectral-norm.csv", 100.0 * summary.final_test_acc);
    }
    Ok(())
}
