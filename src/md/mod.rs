//! Lennard-Jones molecular dynamics on the device: kernels, batched systems and the
//! reference sampler.

pub mod alchemical_energies;
pub mod init;
pub mod kernels;
pub mod params;
pub mod sampler;
pub mod system;
pub mod widom;

pub use kernels::MdKernels;
pub use system::{MdConfig, MdSystem, PairSearch};
