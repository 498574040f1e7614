//! Instruments that explain learning: SGD gradient noise, the Feng-Tu variance-flatness relation,
//! the Hessian spectrum, loss-landscape slices, activity-weight duality, and the criticality of
//! random networks (mean field, Lyapunov exponents, propagated-circle CV, D_q, ED).
//!
//! Each instrument is a module of pure functions (model, data) -> result struct, tested against
//! cases with known answers. [`build`] turns a run config's `[[probes]]` entries into
//! [`tailgrad_train::Probe`]s that the trainer schedules; [`offline`] runs one on a checkpoint.
//!
//! burn has no second-order autodiff and no per-sample gradients: Hessian-vector products of a
//! network come from Pearlmutter's R-operator written out for the MLP
//! ([`objective::NetLoss`]); per-sample gradients of dense layers are outer products of layer
//! inputs and output gradients ([`noise::LayerTaps`]).

pub mod clustering;
pub mod criticality;
pub mod duality;
pub mod elasticity;
pub mod few_shot;
pub mod hessian;
pub mod linalg;
pub mod noise;
pub mod objective;
pub mod params;
pub mod probes;
pub mod robustness;
pub mod slices;
pub mod variance_flatness;
pub mod weight_stats;

pub use probes::{NAMES, build, offline};

#[cfg(test)]
mod tests;
