//! CPU reference implementations (f64) of every GPU kernel family, used by the parity tests
//! and as the CPU baseline in benchmarks. One name per family across the shader, its
//! wrapper, this reference and its tests:
//!
//! | shader | device wrapper | reference | tests |
//! |---|---|---|---|
//! | `lj_forces.wgsl`, `common/{lj,pbc}.wgsl` | [`crate::md::lj_forces`] | [`lj_forces`] | `tests/md_kernels.rs` |
//! | `cell_list.wgsl` | [`crate::md::cell_list`] | [`cell_list`] | `tests/md_kernels.rs` |
//! | `integrate.wgsl` | [`crate::md::integrate`] | [`integrate`] | `tests/md_kernels.rs` |
//! | `observables.wgsl` | [`crate::md::observables`] | [`observables`] | `tests/md_kernels.rs` |
//! | `alchemical_energies.wgsl`, `common/alchemy.wgsl` | [`crate::md::alchemical_energies`] | [`alchemical_energies`] | `tests/md_kernels.rs` |
//! | `widom.wgsl` | [`crate::md::widom`] | [`widom`] | `tests/widom.rs` |
//! | `model_energy.wgsl` | [`crate::model::model_energy`] | [`model_energy`] | `tests/model_energy.rs` |
//! | `model_grad.wgsl` | [`crate::model::model_grad`] | [`model_grad`] | `tests/model_grad.rs` |
//! | `adam.wgsl` | [`crate::model::adam`] | [`adam`] | `tests/adam.rs` |
//! | `denoise.wgsl` | [`crate::ti::denoise`] | [`denoise`] | `tests/denoise.rs` |
//! | `common/rng.wgsl` | (every kernel) | [`rng`] | unit tests |

pub mod adam;
pub mod alchemical_energies;
pub mod cell_list;
pub mod denoise;
pub mod integrate;
pub mod lj_forces;
pub mod model_energy;
pub mod model_grad;
pub mod observables;
pub mod rng;
pub mod widom;
