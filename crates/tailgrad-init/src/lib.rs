//! Heavy-tailed weight initializers for tailgrad.
//!
//! The samplers are plain Rust on the host (no burn dependency): the same seed gives the same
//! weights on every backend, because the values are drawn here and only then handed to a device
//! (`tailgrad-model` does the hand-off).
//! Laws, scales and conventions follow Qu, Wardak & Gong, *Extended critical regimes of deep
//! neural networks* (arXiv:2203.12967): `W_ij ~ S_alpha(0, sigma_w (1/(2 N_eff))^(1/alpha), 0)`.

mod spec;
mod stable;
pub mod tail;

pub use spec::{Fan, InitSpec, Law, RawInitSpec};
pub use stable::Stable;

use rand::SeedableRng;

/// The generator behind every initializer: xoshiro256++, a fixed algorithm, so a seed means the
/// same weights across platforms and releases.
pub type InitRng = rand::rngs::Xoshiro256PlusPlus;

/// A generator seeded from a run's seed.
pub fn rng(seed: u64) -> InitRng {
    InitRng::seed_from_u64(seed)
}

/// Why an initializer spec was rejected.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InitError {
    #[error("init: `{field}` = {value} is out of range: expected {expected}")]
    OutOfRange { field: &'static str, value: f64, expected: &'static str },
    #[error("init: unknown law `{law}` (known laws: {known})")]
    UnknownLaw { law: String, known: &'static str },
    #[error("init: law `{law}` needs `{field}`")]
    MissingField { law: &'static str, field: &'static str },
    #[error("init: law `{law}` takes no `{field}`")]
    UnexpectedField { law: String, field: &'static str },
    #[error("init: cannot parse `{text}`: {problem}")]
    Syntax { text: String, problem: String },
}

#[cfg(test)]
mod tests;
