//! CPU reference implementations (f64) of every GPU kernel, used by parity tests and as
//! the CPU baseline in benchmarks. Names match the kernels: `shaders/lj_forces.wgsl` ↔
//! [`lj::lj_forces`], `shaders/cell_list.wgsl` ↔ [`cells`], `shaders/integrate.wgsl` ↔
//! [`integrate::Baoab`], `shaders/observables.wgsl` ↔ [`observables`],
//! `shaders/common/rng.wgsl` ↔ [`rng`].

pub mod alchemy;
pub mod cells;
pub mod cpu_md;
pub mod denoise;
pub mod energy_model;
pub mod integrate;
pub mod lj;
pub mod observables;
pub mod rng;
pub mod tail;
pub mod two_body;
pub mod widom;
