//! Prints this sampler's rate (samples/second) for alpha in {0.8, 1.5}: one line per alpha, as
//! `alpha=<a> samples_per_s=<rate>`. `benches/sampler_vs_scipy.sh` runs it beside scipy.

use std::time::Instant;
use tailgrad_init::{Stable, rng};

fn main() {
    let n = 5_000_000;
    let mut out = vec![0.0f32; n];
    for alpha in [0.8, 1.5] {
        let law = Stable::symmetric(alpha, 1.0).expect("valid alpha");
        law.fill_f32(&mut rng(1), &mut out[..100_000]);
        let start = Instant::now();
        law.fill_f32(&mut rng(0), &mut out);
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("alpha={alpha} samples_per_s={rate:.0}");
    }
}
