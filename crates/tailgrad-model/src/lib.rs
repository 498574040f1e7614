//! The networks of tailgrad: a fully connected `Mlp` whose every layer is drawn from an
//! [`InitSpec`], with per-layer pre-activations and activations exposed for the probes.

mod fast_tanh;
pub mod loss;
mod mlp;
pub mod population;
mod spec;
pub mod tensors_io;

pub use mlp::{Mlp, Trace, replace_param};
pub use population::StackedMlp;
pub use spec::{Activation, MlpSpec, ModelError, RawMlpSpec};

#[cfg(test)]
mod tests;
