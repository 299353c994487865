//! The time-dependent energy model Ũ_θ(x, t) of neural thermodynamic integration on the
//! device. Its architecture is [`crate::scene::ModelConfig`]; the spec and the f64 CPU
//! reference are [`crate::reference::model_energy`] and [`crate::reference::model_grad`],
//! which the kernels mirror pass by pass.
//!
//! On the device, for a batch of configurations each with its own t: the energy Ũ, the
//! score ∇_x Ũ and the TI integrand ∂_t Ũ ([`model_energy`], `shaders/model_energy.wgsl`);
//! the denoising loss and its second-order parameter gradient ([`model_grad`],
//! `shaders/model_grad.wgsl`); AdamW ([`adam`], `shaders/adam.wgsl`); versioned
//! checkpoints ([`checkpoint`]). The training loop is [`crate::train`].

pub mod adam;
pub mod checkpoint;
pub mod model_energy;
pub mod model_grad;

pub use model_energy::{
    combine_time_derivative, energy_and_score, energy_score_and_time_derivative,
    energy_score_and_time_parts, ModelArgs, ModelKernels, ModelParams, TimeParts,
};
