//! nti-gpu: free energies of Lennard-Jones fluids by neural thermodynamic integration,
//! computed on any GPU through wgpu (Vulkan, Metal, DX12; software Vulkan without a GPU).
//!
//! The library is usable without the CLI: [`scene::Scene`] describes a run,
//! [`gpu::Gpu`] owns the device, [`md::sampler::run_reference`] samples the reference fluid,
//! [`stages`] runs whole stages and writes their outputs.

pub mod baselines;
pub mod bench;
pub mod cli;
pub mod dataset;
pub mod error;
pub mod export;
pub mod gpu;
pub mod md;
pub mod model;
pub mod output;
pub mod quadrature;
pub mod reference;
pub mod report;
pub mod results;
pub mod scene;
pub mod stages;
pub mod stats;
pub mod sweep;
pub mod ti;
pub mod train;

pub use error::{Error, Result};
