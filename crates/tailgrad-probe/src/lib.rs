//! Instruments that explain learning: SGD gradient noise and its alignment with the Hessian
//! (`noise_curvature`), SGD's drift to flat minima (`sgd_regularization`: exact laws on a toy, GD
//! vs SGD continuations on a net), the Feng-Tu variance-flatness relation, the Hessian spectrum,
//! loss-landscape slices, activity-weight duality, local elasticity and its dynamics
//! (`le_dynamics`), few-shot geometry, robustness, weight statistics, and the criticality of random
//! networks (mean field, Lyapunov exponents, propagated-circle CV, D_q, ED, the authors'
//! random-matrix edge, finite-width corrections).
//!
//! One folder per instrument: `<instrument>/mod.rs` is the math, pure functions
//! (model, data) -> result struct tested against cases with known answers; `probe.rs` is the
//! adapter that the trainer schedules (its settings and their checks); `figure.rs` draws its run
//! figure from the typed results in its log, and says what one run adds to a study's figures
//! ([`figure::StudyPoint`]). [`INSTRUMENTS`] lists them once: [`build`] turns a run config's
//! `[[probes]]` entries into [`tailgrad_train::Probe`]s, [`offline`] runs one on a checkpoint,
//! [`figure::draw`] draws a run's figures, [`figure::study_points`] reads a run's study points.
//!
//! **Adding an instrument** is one folder and two lines here: write `src/my_probe/mod.rs` (the
//! formula, with its test in `src/tests/`), `probe.rs` with a
//! `pub const INSTRUMENT: Instrument` whose `build` makes your [`tailgrad_train::Probe`], and
//! optionally `figure.rs`; then add `pub mod my_probe;` and `my_probe::INSTRUMENT` below. The CLI
//! (`tailgrad probe --probe my-probe`, `[[probes]] name = "my-probe"`, `tailgrad report RUN_DIR`)
//! picks it up from the table. `examples/custom_probe.rs` shows a probe written outside the crate.
//!
//! burn has no second-order autodiff and no per-sample gradients: Hessian-vector products of a
//! network come from Pearlmutter's R-operator written out for the MLP
//! ([`objective::NetLoss`]); per-sample gradients of dense layers are outer products of layer
//! inputs and output gradients ([`gradient_noise::LayerTaps`]).

pub mod criticality;
pub mod duality;
pub mod few_shot;
pub mod figure;
pub mod gradient_noise;
pub mod hessian;
pub mod linalg;
pub mod le_dynamics;
pub mod local_elasticity;
pub mod noise_curvature;
pub mod objective;
pub mod params;
pub mod probe_log;
pub mod registry;
pub mod robustness;
pub mod sgd_regularization;
pub mod slices;
pub mod variance_flatness;
pub mod weight_stats;

pub use registry::{Instrument, build, instrument, names, offline};

/// Every instrument, in the order the CLI lists them.
pub const INSTRUMENTS: &[Instrument] = &[
    gradient_noise::INSTRUMENT,
    hessian::INSTRUMENT,
    slices::INSTRUMENT,
    variance_flatness::INSTRUMENT,
    duality::INSTRUMENT,
    weight_stats::INSTRUMENT,
    local_elasticity::INSTRUMENT,
    few_shot::INSTRUMENT,
    robustness::INSTRUMENT,
    noise_curvature::INSTRUMENT,
    sgd_regularization::INSTRUMENT,
    le_dynamics::INSTRUMENT,
];

#[cfg(test)]
mod tests;
