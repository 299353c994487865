//! Neural thermodynamic integration proper (design note §5–6): the batched denoising
//! samplers on the device and what turns their records into free energies.

pub mod sampler;
