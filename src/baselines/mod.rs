//! Independent baselines that the neural-TI free energies are checked against: published
//! equations of state of the full Lennard-Jones fluid ([`eos`]) and the MBAR estimator
//! ([`mbar`]), both evaluated on the host in f64.

pub mod eos;
pub mod lambda_ti;
pub mod mbar;
