//! Thermodynamic integration over the diffusion time t: the time grids the samplers march
//! on ([`grid`]), the quadrature rules, error bars and the annealed-importance-sampling
//! estimate ([`estimators`]), and the step from βF_ex(N) to the chemical potential, the
//! grand-canonical p(N) and the isotherm ([`grand`]). All of it is plain f64 on the CPU.

pub mod estimators;
pub mod grand;
pub mod grid;
