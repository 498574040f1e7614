//! `tanh` on burn's CPU backend, vectorized and multi-threaded.
//!
//! flex computes `Tensor::tanh` as a serial loop of scalar `tanhf` calls, and burn's autodiff
//! recomputes it in the backward pass. On the 10-layer tanh net of Qu et al. at batch 1024 that
//! was 38% of the CPU samples of a training step, with the second core idle (`perf`, see
//! BENCHMARKS.md). Here one parallel pass over the host copy of `x` computes
//!
//! * `y0 = tanh(x)` by Eigen's odd rational approximation `x P(x^2) / Q(x^2)` on `[-9, 9]`
//!   (the one ONNX Runtime's CPU kernels use; max error 4e-7, about 5 ulp near 1, tested),
//! * and, on an autodiff device, `a = 1 - y0^2` and `b = y0 - x a`,
//!
//! and the result is `y = x * a + b` with `a`, `b` constants: its value is `y0` and its derivative
//! `dy/dx = a = 1 - tanh(x)^2`, exactly tanh's, so the backward pass is one multiplication.
//! Every other backend keeps `Tensor::tanh`, a fused kernel on the GPU.

use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

/// `tanh(x)` elementwise; see the module documentation.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if device != Device::flex() {
        return x.tanh();
    }
    let shape = x.shape();
    let Ok(xs) = x.clone().inner().into_data().try_into_vec::<f32>() else {
        return x.tanh(); // not f32: burn's own kernel
    };
    let constant = |values: Vec<f32>| Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device.clone().inner());
    if !x.is_autodiff() {
        let mut y = vec![0.0; xs.len()];
        xs.par_chunks(CHUNK).zip(y.par_chunks_mut(CHUNK)).for_each(|(x, y)| values(x, y));
        return constant(y);
    }
    let (mut a, mut b) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
    xs.par_chunks(CHUNK)
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .for_each(|((x, a), b)| values_and_slopes(x, a, b));
    x * Tensor::from_inner(constant(a)) + Tensor::from_inner(constant(b))
}

/// Elements per parallel task: large enough to amortize scheduling, small enough to split a
/// 1024 x 784 activation across the cores.
const CHUNK: usize = 1 << 15;

/// Eigen's `generic_fast_tanh_float`: `tanh(x) = x P(x^2) / Q(x^2)`, `x` clamped to `[-9, 9]`.
#[inline(always)]
fn rational_tanh(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_671_5e-11,
        2.000_187_9e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525_2e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-9.0, 9.0); // NaN stays NaN
    let x2 = x * x;
    let p = ALPHA.iter().rev().fold(0.0, |acc, &c| acc * x2 + c) * x;
    let q = BETA.iter().rev().fold(0.0, |acc, &c| acc * x2 + c);
    (p / q).clamp(-1.0, 1.0)
}

/// `y = tanh(x)`, compiled for the best vector unit this CPU has.
fn values(x: &[f32], y: &mut [f32]) {
    let kernel = |x: &[f32], y: &mut [f32]| x.iter().zip(y).for_each(|(&x, y)| *y = rational_tanh(x));
    with_best_simd(x, y, kernel);
}

/// `a = 1 - tanh(x)^2` and `b = tanh(x) - x a`, written into `a` and `b`.
fn values_and_slopes(x: &[f32], a: &mut [f32], b: &mut [f32]) {
    let kernel = |x: &[f32], (a, b): (&mut [f32], &mut [f32])| {
        for ((&x, a), b) in x.iter().zip(a.iter_mut()).zip(b.iter_mut()) {
            let y = rational_tanh(x);
            *a = 1.0 - y * y;
            *b = y - x * *a;
        }
    };
    with_best_simd(x, (a, b), kernel);
}

/// Run `kernel` inside a function compiled for AVX-512 (with the `avx512` feature) or AVX2+FMA
/// when the CPU has them (the loop is auto-vectorized for that target), else for the baseline target.
#[inline(always)]
fn with_best_simd<O>(x: &[f32], out: O, kernel: impl Fn(&[f32], O)) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        #[target_feature(enable = "avx512f")]
        fn avx512<O>(x: &[f32], out: O, kernel: impl Fn(&[f32], O)) {
            kernel(x, out)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<O>(x: &[f32], out: O, kernel: impl Fn(&[f32], O)) {
            kernel(x, out)
        }
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe { avx512(x, out, kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { avx2(x, out, kernel) };
        }
    }
    kernel(x, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_tanh_is_within_5e7_of_tanh_and_keeps_nan() {
        let worst = (-200_000..=200_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (rational_tanh(x) as f64 - (x as f64).tanh()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "max |error| {worst}");
        assert_eq!(rational_tanh(50.0), 1.0);
        assert_eq!(rational_tanh(-50.0), -1.0);
        assert!(rational_tanh(f32::NAN).is_nan());
    }

    #[test]
    fn values_and_slopes_rebuild_tanh_and_its_derivative() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 50.0).collect();
        let (mut a, mut b) = (vec![0.0; 1000], vec![0.0; 1000]);
        values_and_slopes(&x, &mut a, &mut b);
        for ((&x, &a), &b) in x.iter().zip(&a).zip(&b) {
            let t = (x as f64).tanh();
            assert!(((x * a + b) as f64 - t).abs() < 6e-7, "value at {x}");
            assert!((a as f64 - (1.0 - t * t)).abs() < 1.5e-6, "slope at {x}");
        }
    }
}
