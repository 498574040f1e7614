//! Per-layer diagnostics of a network's weights and activity (`diagnostics.csv`, summary.json,
//! TensorBoard `diagnostics/...`, and `tailgrad init-stats`): what decides whether a heavy-tailed
//! net learns or collapses. For layer `l` with weights `W` (drawn from a law of scale `c`) and
//! pre-activations `h` on a fixed batch:
//!
//! * `max |W_ij| / c`: the most extreme weight in units of the law's scale (a Cauchy layer of
//!   n weights has a typical maximum near `2n / (pi ln 2)`, about 240,000 for 512 x 512);
//! * Hill's tail index of `|W_ij|` (`tailgrad_init::tail::hill_default`);
//! * RMS and max of `|h|` (the last layer's: the logit scale);
//! * the saturated fraction of the hidden units: `|tanh(h)| > 0.99`, i.e. `|h| > atanh(0.99)
//!   = 2.6467` (tanh'(h) < 0.02), or `h <= 0` for ReLU.

use burn::module::Module;
use burn::tensor::Tensor;
use tailgrad_model::loss::read_f32s;
use tailgrad_model::{Activation, Mlp, MlpSpec};
use tailgrad_rundir::LayerDiagnostics;

/// `atanh(0.99)`: a tanh unit with `|h|` beyond this is saturated.
pub const TANH_SATURATION_PREACT: f64 = 2.646_652_412_362_246;

/// The diagnostics of every layer of `model` (initialized from `spec`) on the inputs `x`.
pub fn measure(model: &Mlp, spec: &MlpSpec, x: Tensor<2>) -> Vec<LayerDiagnostics> {
    let eval = model.valid();
    let trace = eval.forward_trace(x);
    let last = eval.layers.len() - 1;
    // One host read for the activity statistics of all layers.
    let stats: Vec<Tensor<1>> = trace
        .pre
        .iter()
        .enumerate()
        .flat_map(|(l, h)| {
            let rms = h.clone().powf_scalar(2.0).mean().sqrt();
            let max = h.clone().abs().max();
            let saturated = match (l == last, model.activation) {
                (true, _) | (false, Activation::Linear) => Tensor::zeros([1], &h.device()),
                (false, Activation::Tanh) => h.clone().abs().greater_elem(TANH_SATURATION_PREACT).float().mean(),
                (false, Activation::Relu) => h.clone().lower_equal_elem(0.0).float().mean(),
            };
            [rms, max, saturated]
        })
        .collect();
    let stats = read_f32s(Tensor::cat(stats, 0));
    eval.layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let [fan_in, fan_out] = layer.weight.val().dims();
            let w: Vec<f64> = read_f32s(layer.weight.val()).iter().map(|&v| v as f64).collect();
            let c = spec.init_of(l).scale(fan_in, fan_out);
            LayerDiagnostics {
                layer: l,
                max_abs_w_over_c: w.iter().fold(0.0f64, |m, v| m.max(v.abs())) / c,
                hill_alpha: tailgrad_init::tail::hill_default(&w).unwrap_or(f64::NAN),
                preact_rms: stats[3 * l] as f64,
                preact_max_abs: stats[3 * l + 1] as f64,
                saturation: (l < last).then_some(stats[3 * l + 2] as f64),
            }
        })
        .collect()
}

/// TensorBoard scalars `diagnostics/layer<l>/<name>`.
pub fn scalars(layers: &[LayerDiagnostics]) -> Vec<(String, f64)> {
    layers
        .iter()
        .flat_map(|d| {
            let l = d.layer;
            let mut v = vec![
                (format!("diagnostics/layer{l}/max_abs_w_over_c"), d.max_abs_w_over_c),
                (format!("diagnostics/layer{l}/hill_alpha"), d.hill_alpha),
                (format!("diagnostics/layer{l}/preact_rms"), d.preact_rms),
                (format!("diagnostics/layer{l}/preact_max_abs"), d.preact_max_abs),
            ];
            if let Some(s) = d.saturation {
                v.push((format!("diagnostics/layer{l}/saturation"), s));
            }
            v
        })
        .collect()
}
