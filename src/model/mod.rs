//! The time-dependent energy model Ũ_θ(x, t) of neural thermodynamic integration on the
//! device. The spec and the f64 CPU reference are in [`crate::reference::energy_model`];
//! the kernels of `shaders/model_energy.wgsl` mirror its passes A–C and are parity-tested
//! against it (`tests/model_parity.rs`).
//!
//! So far: energy Ũ and score ∇_x Ũ for a batch of configurations, each with its own t
//! ([`kernels::energy_and_score`]). Not yet: ∂_t Ũ, the descriptor tangent (pass D) and
//! the parameter gradient of the denoising loss (pass E).

pub mod kernels;

pub use kernels::{energy_and_score, ModelArgs, ModelKernels, ModelParams};
