//! Time to load full MNIST (60k train + 10k test) from the data directory into tensors on the
//! CPU backend: read, SHA-256 verification, parse, normalize, upload. Prints the median of 5.
//! Run from the repository root: `cargo bench --workspace --bench load` (`--workspace` keeps the
//! feature set, and so the build, the same as the tests').

use burn::tensor::Device;
use std::time::Instant;
use tailgrad_data::{DataSpec, Dataset, DeviceSplit};

fn main() {
    let device = Device::flex();
    let spec = DataSpec::new(Dataset::Mnist).with_dir(Some(tailgrad_testkit::data_dir()));
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let split = spec.load(0).expect("MNIST in the data directory (datasets/fetch-offline)");
        let train = DeviceSplit::upload(&split.train, split.dataset, spec.normalize(), &device);
        let test = DeviceSplit::upload(&split.test, split.dataset, spec.normalize(), &device);
        assert_eq!((train.len, test.len), (60_000, 10_000));
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("load_full_mnist_to_device: median {:.3} s (min {:.3}, max {:.3}) over 5 runs", times[2], times[0], times[4]);
}
