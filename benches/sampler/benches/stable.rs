//! Criterion benchmarks of the samplers: raw stable draws, and the weights of Qu et al.'s
//! 10-layer, 784-wide network (the target: well under a second).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tailgrad_init::{InitSpec, Stable, rng};

fn stable_draws(c: &mut Criterion) {
    let mut group = c.benchmark_group("stable_draws");
    let n = 1_000_000;
    group.throughput(Throughput::Elements(n as u64));
    for alpha in [0.8, 1.5, 2.0] {
        let law = Stable::symmetric(alpha, 1.0).unwrap();
        let mut out = vec![0.0f32; n];
        group.bench_function(format!("alpha={alpha}"), |b| b.iter(|| law.fill_f32(&mut rng(0), &mut out)));
    }
    group.finish();
}

fn fc10_weights(c: &mut Criterion) {
    let spec: InitSpec = "stable:alpha=1.5,sigma=1".parse().unwrap();
    c.bench_function("fc10_784x784x10_layers", |b| {
        b.iter(|| {
            let mut r = rng(0);
            (0..10).map(|_| spec.sample(784, 784, &mut r).len()).sum::<usize>()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = stable_draws, fc10_weights
}
criterion_main!(benches);
