//! Train a Gaussian and two heavy-tailed networks as one population from Rust: one batched
//! computation, three run directories, three outcomes.
//!
//!     cargo run --release -p tailgrad-train --example train_population
//!
//! MNIST is read from `$TAILGRAD_DATA` or `./datasets` (`tailgrad data fetch mnist` puts it there).
//! Each member's directory (`runs/population/a<alpha>/`) is what `tailgrad train` writes for the
//! run alone, and holds the same numbers: the members share only the shapes, never the weights,
//! the data order or the gradients.

use burn::tensor::Device;
use tailgrad_train::{Member, RunEnd, RunSpec, StopFlag, population_key, train_population};

fn main() -> anyhow::Result<()> {
    let config = r#"
        [data]
        name = "mnist"
        train_per_class = 500
        [model]
        hidden = [256, 256]
        init = { law = "stable", alpha = 2.0, sigma_w = 1.0 }
        [train]
        epochs = 2
        batch_size = 64
        lr = 0.05
        [log]
        console = "quiet"
    "#;
    let mut members = Vec::new();
    for (seed, alpha) in [(0, 2.0), (1, 1.5), (2, 1.0)] {
        // Runs may differ in seed and init law; anything else (lr, widths, data) must be shared.
        let overrides = [format!("seed={seed}"), format!("name=\"a{alpha}\""), format!("model.init=stable:alpha={alpha},sigma=1")];
        let spec = RunSpec::from_toml(config, &overrides, "example")?;
        let run_dir = std::path::Path::new("runs/population").join(spec.name());
        members.push(Member { spec, run_dir, resume: false });
    }
    assert!(members.iter().all(|m| population_key(&m.spec) == population_key(&members[0].spec)));
    let device = Device::flex(); // the CPU; `tailgrad_backend::select` picks a GPU when there is one
    for (member, end) in members.iter().zip(train_population(&members, &device, "cpu: flex", StopFlag::never())?) {
        match end? {
            RunEnd::Completed(s) => println!("{}: {:?}, test accuracy {:.2}%", member.spec.name(), s.status, 100.0 * s.final_test_acc),
            RunEnd::Stopped { step } => println!("{}: stopped at step {step}", member.spec.name()),
        }
    }
    Ok(())
}
