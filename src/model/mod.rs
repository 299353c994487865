//! The time-dependent energy model Ũ_θ(x, t) of neural thermodynamic integration on the
//! device. The spec and the f64 CPU reference are in [`crate::reference::energy_model`];
//! the kernels of `shaders/model_energy.wgsl` mirror its passes A–C and are parity-tested
//! against it (`tests/model_parity.rs`).
//!
//! On the device, for a batch of configurations each with its own t: the energy Ũ, the
//! score ∇_x Ũ and the TI integrand ∂_t Ũ ([`kernels::energy_score_and_time_derivative`]);
//! the denoising loss and its second-order parameter gradient (passes D and E,
//! [`grad::loss_and_gradient`], `shaders/model_grad.wgsl`); AdamW ([`optimizer::Adam`]);
//! versioned checkpoints ([`checkpoint::Checkpoint`]). The training loop is
//! [`crate::train`]; it still re-uploads its buffers every step.

pub mod checkpoint;
pub mod grad;
pub mod kernels;
pub mod optimizer;

pub use kernels::{
    combine_time_derivative, energy_and_score, energy_score_and_time_derivative,
    energy_score_and_time_parts, ModelArgs, ModelKernels, ModelParams, TimeParts,
};
