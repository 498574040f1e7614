//! Train a heavy-tailed network from Rust: a config, a device, `train`, and the summary.
//!
//!     cargo run --release -p tailgrad-train --example train_from_rust
//!
//! MNIST is read from `$TAILGRAD_DATA` or `./datasets` (`tailgrad data fetch mnist` puts it there).
//! The run directory (`runs/from_rust/`) is the same as `tailgrad train` writes: metrics.csv,
//! TensorBoard events, checkpoints, summary.json; run it again and it refuses to overwrite.

use burn::tensor::Device;
use tailgrad_train::{RunEnd, RunSpec, TrainOptions, train};

fn main() -> anyhow::Result<()> {
    let config = r#"
        name = "from_rust"
        [data]
        name = "mnist"
        train_per_class = 500
        [model]
        hidden = [256, 256]
        activation = "tanh"
        init = { law = "stable", alpha = 1.5, sigma_w = 1.0 }
        [train]
        epochs = 2
        batch_size = 64
        lr = 0.05
    "#;
    // Any key can be overridden as on the command line.
    let spec = RunSpec::from_toml(config, &["seed=7".to_string()], "example")?;
    let device = Device::flex(); // the CPU; `tailgrad_backend::select` picks a GPU when there is one
    match train(&spec, std::path::Path::new("runs/from_rust"), TrainOptions::on(&device))? {
        RunEnd::Completed(summary) => println!("{:?}: test accuracy {:.2}%", summary.status, 100.0 * summary.final_test_acc),
        RunEnd::Stopped { step } => println!("stopped at step {step}; resume with `tailgrad train --resume runs/from_rust`"),
    }
    Ok(())
}
