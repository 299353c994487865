//! Neural thermodynamic integration over the diffusion time t (design note §5–6): the
//! batched denoising samplers on the device ([`sampler`]), the time grids they march on
//! ([`grid`]), the quadrature rules, error bars and the annealed-importance-sampling
//! estimate ([`estimators`]), and the step from βF_ex(N) to the chemical potential, the
//! grand-canonical p(N) and the isotherm ([`grand`]). All but the sampler is plain f64 on
//! the CPU.

pub mod estimators;
pub mod grand;
pub mod grid;
pub mod sampler;
pub mod settings;
pub mod stage;
