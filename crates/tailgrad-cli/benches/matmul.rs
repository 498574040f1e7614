//! The float32 matmul rate of a tailgrad device, the "peak" that BENCHMARKS.md sets training
//! FLOP/s against:
//!
//!     cargo bench --workspace --bench matmul -- [cpu|wgpu|auto] [MxKxN ...]
//!
//! Default shapes: 1024x784x784 (one layer of the FC10 net at batch 1024) and 2048x2048x2048.
//! Prints one line of JSON per shape. Each shape is run 5 times to warm up, then 5 rounds of 20
//! products are timed, each reading one element back at the end (so an asynchronous GPU has
//! finished); the best round counts, as a peak rate should.

use burn::tensor::{Distribution, Tensor};
use std::time::Instant;
use tailgrad_backend::{BackendChoice, select};

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench` to harness-less targets: skip flags.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (choice, shapes) = match args.first().map(|a| a.parse::<BackendChoice>()) {
        Some(Ok(choice)) => (choice, &args[1..]),
        _ => (BackendChoice::Cpu, &args[..]),
    };
    let shapes: Vec<String> =
        if shapes.is_empty() { vec!["1024x784x784".into(), "2048x2048x2048".into()] } else { shapes.to_vec() };
    let selected = select(choice)?;
    let device = &selected.device;
    for shape in shapes {
        let dims: Vec<usize> = shape.split('x').map(str::parse).collect::<Result<_, _>>()?;
        let [m, k, n] = dims[..] else { anyhow::bail!("shape `{shape}`: expected MxKxN") };
        let a = Tensor::<2>::random([m, k], Distribution::Normal(0.0, 1.0), device);
        let b = Tensor::<2>::random([k, n], Distribution::Normal(0.0, 1.0), device);
        let run = |reps: usize| {
            let mut sum = Tensor::<2>::zeros([1, 1], device);
            for _ in 0..reps {
                sum = sum + a.clone().matmul(b.clone()).slice([0..1, 0..1]);
            }
            sum.into_scalar::<f32>()
        };
        run(5);
        let reps = 20;
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                run(reps);
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let gflops = 2.0 * (m * k * n * reps) as f64 / best / 1e9;
        println!(r#"{{"device": "{}", "shape": "{shape}", "gflops": {gflops:.1}}}"#, selected.description);
    }
    Ok(())
}
