//! Heavy-tailed weight initializers for tailgrad.
//!
//! The samplers are plain Rust on the host (no burn dependency): the same seed gives the same
//! weights on every backend, because the values are drawn here and only then handed to a device
//! (`tailgrad-model` does the hand-off).
//! Laws, scales and conventions follow Qu, Wardak & Gong, *Extended critical regimes of deep
//! neural networks* (arXiv:2203.12967): `W_ij ~ S_alpha(0, sigma_w (1/(2 N_eff))^(1/alpha), 0)`.
//!
//! ```
//! use tailgrad_init::{InitSpec, rng, tail::hill};
//! // A 512 x 512 Cauchy-like layer (alpha = 1.2), drawn from a seed: the same weights everywhere.
//! let init: InitSpec = "stable:alpha=1.2,sigma=1".parse().unwrap();
//! let w = init.sample(512, 512, &mut rng(7));
//! assert_eq!(w, init.sample(512, 512, &mut rng(7)));
//! // Hill's estimator on the 512 largest |w| recovers the tail index (standard error ~0.05).
//! let values: Vec<f64> = w.iter().map(|&x| x as f64).collect();
//! let alpha = hill(&values, 512).unwrap();
//! assert!((alpha - 1.2).abs() < 0.2, "{alpha}");
//! ```

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
