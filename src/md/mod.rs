//! Lennard-Jones molecular dynamics on the device: one typed wrapper per kernel family
//! ([`lj_forces`], [`cell_list`], [`step_control`], [`integrate`], [`observables`],
//! [`widom`], [`alchemical_energies`]), batched systems ([`system`]), the reference sampler
//! ([`sampler`]) and the analytic tail corrections of a truncated potential ([`tail`]).

pub mod alchemical_energies;
pub mod cell_list;
pub mod init;
pub mod integrate;
pub mod lj_forces;
pub mod observables;
pub mod params;
pub mod sampler;
pub mod step_control;
pub mod system;
pub mod tail;
pub mod widom;

pub use cell_list::{CellArgs, CellList};
pub use integrate::{IntegrateArgs, Integrator};
pub use lj_forces::{LjArgs, LjForces};
pub use observables::{ObservableArgs, Observables};
pub use step_control::{StepControl, StepControlArgs};
pub use system::{MdConfig, MdSystem, PairSearch};

use crate::error::Result;
use crate::gpu::kernel::BindingSpec;
use crate::gpu::Gpu;

/// Every (shader, bindings) pair, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[
    ("lj_forces", lj_forces::LJ_FORCES_BINDINGS),
    ("cell_list", cell_list::CELL_LIST_BINDINGS),
    ("step_control", step_control::STEP_CONTROL_BINDINGS),
    ("integrate", integrate::INTEGRATE_BINDINGS),
    ("observables", observables::OBSERVABLES_BINDINGS),
    ("widom", widom::WIDOM_BINDINGS),
    (
        "alchemical_energies",
        alchemical_energies::ALCHEMICAL_ENERGIES_BINDINGS,
    ),
];

/// All MD kernel families, compiled once and shared by every system on the device.
pub struct MdKernels {
    /// Forces.
    pub lj: LjForces,
    /// Cell and neighbour lists.
    pub cells: CellList,
    /// Per-step control.
    pub step_control: StepControl,
    /// Integrator.
    pub integrate: Integrator,
    /// Observables.
    pub observables: Observables,
}

impl MdKernels {
    /// Compiles every MD pipeline (the all-pairs forces at the adapter's particles per
    /// invocation, [`LjForces::new`]).
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Self::with_particles_per_invocation(gpu, LjForces::adapter_particles_per_invocation(gpu))
    }

    /// [`MdKernels::new`] with `ppl` (1..=8) particles per invocation of the all-pairs forces.
    pub fn with_particles_per_invocation(gpu: &Gpu, ppl: u32) -> Result<Self> {
        Ok(MdKernels {
            lj: LjForces::with_particles_per_invocation(gpu, ppl)?,
            cells: CellList::new(gpu)?,
            step_control: StepControl::new(gpu)?,
            integrate: Integrator::new(gpu)?,
            observables: Observables::new(gpu)?,
        })
    }
}
