//! Neural thermodynamic integration over the diffusion time t (docs/method.md §5–6): the
//! batched denoising samplers on the device ([`denoise`]), the estimators with their error
//! bars and the annealed-importance-sampling and population-annealing estimates
//! ([`estimators`]), the per-sampler records and their summaries ([`record`]), where along t
//! each estimate builds up ([`along_t`]), and the step
//! from βF_ex(N) to the chemical potential, the grand-canonical p(N) and the isotherm
//! ([`grand`]). The time grids and quadrature rules are [`crate::quadrature`]. All but the
//! sampler is plain f64 on the CPU.

pub mod along_t;
pub mod denoise;
pub mod estimators;
pub mod grand;
pub mod record;
