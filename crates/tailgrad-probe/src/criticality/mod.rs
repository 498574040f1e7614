//! Criticality of random deep networks (no training): how signals propagate through
//! `h^l = W^l tanh(h^(l-1))` with a fresh weight matrix per layer, Gaussian or alpha-stable
//! (Qu, Wardak & Gong 2022, arXiv:2203.12967; mean-field theory of Poole et al. 2016 and
//! Schoenholz et al. 2017, as used by Grosvenor & Jefferson, arXiv:2109.13247).
//!
//! * [`mean_field`]: the Gaussian length and correlation maps (q*, chi, c*, the correlation
//!   length) and the heavy-tailed length map with its decoupled slope chi_alpha.
//! * [`jacobian_spectrum`]: the authors' heavy-tailed random-matrix theory of the layer
//!   Jacobian's eigenvalue moduli, its effective spectral radius and the edge where it crosses 1.
//! * [`propagation`]: measured Lyapunov exponents and the propagated-circle CV, one weight draw
//!   or an ensemble of draws with its spread.
//! * [`finite_width`]: how the exponent, the correlation length and the edge move with the width
//!   N (Grosvenor & Jefferson's T/N corrections), calibrated on linear nets' exact law.
//! * [`mod@representation`]: ED and D_q of hidden representations and of layer-Jacobian eigenvectors.

pub mod crossing;
pub mod finite_width;
pub mod jacobian_spectrum;
pub mod mean_field;
pub mod propagation;
pub mod representation;

pub use jacobian_spectrum::{JacobianSpectrum, SpectrumSummary};
pub use mean_field::{MeanField, Phase, StableGrid, StableMeanField, critical_sigma_w, mean_field_stable_tanh, mean_field_tanh};
pub use propagation::{Activation, Ensemble, ensemble, lyapunov, propagated_circle_cv};
pub use representation::{Representation, effective_dimension, participation_dimension, representation};
