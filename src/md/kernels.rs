//! Typed wrappers of the MD kernel families. Each builds its pipelines once and makes bind
//! groups from a named argument struct.

use crate::error::Result;
use crate::gpu::kernel::{bind, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;

/// Bindings of `shaders/lj_forces.wgsl`.
pub const LJ_FORCES_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "force", ReadWrite),
    bind(3, "aux", ReadWrite),
    bind(4, "control", ReadWrite),
    bind(5, "neighbors", ReadOnly),
    bind(6, "neighbor_count", ReadOnly),
    bind(7, "cell_particles", ReadOnly),
    bind(8, "lambdas", ReadOnly),
];

/// Bindings of `shaders/cell_list.wgsl`.
pub const CELL_LIST_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "control", ReadWrite),
    bind(3, "cell_count", ReadWrite),
    bind(4, "cell_start", ReadWrite),
    bind(5, "particle_cell", ReadWrite),
    bind(6, "cell_particles", ReadWrite),
    bind(7, "neighbors", ReadWrite),
    bind(8, "neighbor_count", ReadWrite),
    bind(9, "pos_ref", ReadWrite),
    bind(10, "sorted_pos", ReadWrite),
];

/// Bindings of `shaders/step_control.wgsl`.
pub const STEP_CONTROL_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "control", ReadWrite),
    bind(2, "dispatch_args", ReadWrite),
    bind(3, "cell_count", ReadWrite),
];

/// Bindings of `shaders/integrate.wgsl`.
pub const INTEGRATE_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadWrite),
    bind(2, "vel", ReadWrite),
    bind(3, "force", ReadOnly),
    bind(4, "control", ReadWrite),
    bind(5, "pos_ref", ReadOnly),
];

/// Bindings of `shaders/observables.wgsl`.
pub const OBSERVABLES_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "vel", ReadOnly),
    bind(3, "force", ReadOnly),
    bind(4, "aux", ReadOnly),
    bind(5, "obs", ReadWrite),
    bind(6, "gr_hist", ReadWrite),
    bind(7, "neighbors", ReadOnly),
    bind(8, "neighbor_count", ReadOnly),
    bind(9, "cell_particles", ReadOnly),
];

/// Every (shader, bindings) pair, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[
    ("lj_forces", LJ_FORCES_BINDINGS),
    ("cell_list", CELL_LIST_BINDINGS),
    ("step_control", STEP_CONTROL_BINDINGS),
    ("integrate", INTEGRATE_BINDINGS),
    ("observables", OBSERVABLES_BINDINGS),
    ("widom", super::widom::WIDOM_BINDINGS),
    (
        "alchemical_energies",
        super::alchemical_energies::ALCHEMICAL_ENERGIES_BINDINGS,
    ),
];

/// `shaders/lj_forces.wgsl`: LJ forces, energy and virial.
pub struct LjForces(pub KernelFamily);
/// Arguments of [`LjForces`].
pub struct LjArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions (vec4).
    pub pos: &'a wgpu::Buffer,
    /// Forces and per-particle energy (vec4).
    pub force: &'a wgpu::Buffer,
    /// Per-particle virial and pair count (vec2).
    pub aux: &'a wgpu::Buffer,
    /// Control block.
    pub control: &'a wgpu::Buffer,
    /// Neighbour list.
    pub neighbors: &'a wgpu::Buffer,
    /// Neighbour counts.
    pub neighbor_count: &'a wgpu::Buffer,
    /// Particle of each neighbour-list slot (cell order).
    pub cell_particles: &'a wgpu::Buffer,
    /// λ per replica (alchemical runs).
    pub lambdas: &'a wgpu::Buffer,
}

impl LjForces {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "lj_forces",
            LJ_FORCES_BINDINGS,
            &["lj_forces", "lj_forces_neighbors"],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &LjArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[
                a.params,
                a.pos,
                a.force,
                a.aux,
                a.control,
                a.neighbors,
                a.neighbor_count,
                a.cell_particles,
                a.lambdas,
            ],
        )
    }
}

/// `shaders/cell_list.wgsl`: cell list and neighbour list.
pub struct CellList(pub KernelFamily);
/// Arguments of [`CellList`].
pub struct CellArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions.
    pub pos: &'a wgpu::Buffer,
    /// Control block.
    pub control: &'a wgpu::Buffer,
    /// Particles per cell.
    pub cell_count: &'a wgpu::Buffer,
    /// Exclusive prefix sum of cell_count (+ total).
    pub cell_start: &'a wgpu::Buffer,
    /// (cell, slot) of each particle.
    pub particle_cell: &'a wgpu::Buffer,
    /// Particle indices sorted by cell.
    pub cell_particles: &'a wgpu::Buffer,
    /// Neighbour list.
    pub neighbors: &'a wgpu::Buffer,
    /// Neighbour counts.
    pub neighbor_count: &'a wgpu::Buffer,
    /// Positions at the last rebuild.
    pub pos_ref: &'a wgpu::Buffer,
    /// Positions in cell order (written by cells_scatter).
    pub sorted_pos: &'a wgpu::Buffer,
}

impl CellList {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "cell_list",
            CELL_LIST_BINDINGS,
            &[
                "cells_count",
                "cells_scan",
                "cells_scatter",
                "cells_sort",
                "neighbors_build",
            ],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &CellArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[
                a.params,
                a.pos,
                a.control,
                a.cell_count,
                a.cell_start,
                a.particle_cell,
                a.cell_particles,
                a.neighbors,
                a.neighbor_count,
                a.pos_ref,
                a.sorted_pos,
            ],
        )
    }
}

/// `shaders/step_control.wgsl`: step counter and indirect arguments of the list kernels.
pub struct StepControl(pub KernelFamily);
/// Arguments of [`StepControl`].
pub struct StepControlArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Control block.
    pub control: &'a wgpu::Buffer,
    /// Indirect dispatch arguments of the list kernels.
    pub dispatch_args: &'a wgpu::Buffer,
    /// Particles per cell (zeroed before a rebuild).
    pub cell_count: &'a wgpu::Buffer,
}

impl StepControl {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "step_control",
            STEP_CONTROL_BINDINGS,
            &["step_control"],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &StepControlArgs) -> wgpu::BindGroup {
        self.0
            .bind_group(gpu, &[a.params, a.control, a.dispatch_args, a.cell_count])
    }
}

/// `shaders/integrate.wgsl`: BAOAB Langevin.
pub struct Integrator(pub KernelFamily);
/// Arguments of [`Integrator`].
pub struct IntegrateArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions.
    pub pos: &'a wgpu::Buffer,
    /// Velocities.
    pub vel: &'a wgpu::Buffer,
    /// Forces.
    pub force: &'a wgpu::Buffer,
    /// Control block.
    pub control: &'a wgpu::Buffer,
    /// Positions at the last neighbour-list rebuild.
    pub pos_ref: &'a wgpu::Buffer,
}

impl Integrator {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "integrate",
            INTEGRATE_BINDINGS,
            &["integrate_baoa", "integrate_b_baoa", "integrate_b"],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &IntegrateArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[a.params, a.pos, a.vel, a.force, a.control, a.pos_ref],
        )
    }
}

/// `shaders/observables.wgsl`: reductions and g(r).
pub struct Observables(pub KernelFamily);
/// Arguments of [`Observables`].
pub struct ObservableArgs<'a> {
    /// SimParams uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions.
    pub pos: &'a wgpu::Buffer,
    /// Velocities.
    pub vel: &'a wgpu::Buffer,
    /// Forces and energies.
    pub force: &'a wgpu::Buffer,
    /// Virial and pair counts.
    pub aux: &'a wgpu::Buffer,
    /// Per-replica sums (vec4 per replica).
    pub obs: &'a wgpu::Buffer,
    /// g(r) histogram (u32 per bin).
    pub gr_hist: &'a wgpu::Buffer,
    /// Neighbour list.
    pub neighbors: &'a wgpu::Buffer,
    /// Neighbour counts.
    pub neighbor_count: &'a wgpu::Buffer,
    /// Particle of each neighbour-list slot (cell order).
    pub cell_particles: &'a wgpu::Buffer,
}

impl Observables {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "observables",
            OBSERVABLES_BINDINGS,
            &["reduce_observables", "gr_all_pairs", "gr_neighbors"],
        )?))
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &ObservableArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[
                a.params,
                a.pos,
                a.vel,
                a.force,
                a.aux,
                a.obs,
                a.gr_hist,
                a.neighbors,
                a.neighbor_count,
                a.cell_particles,
            ],
        )
    }
}

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
    /// Compiles every MD pipeline.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(MdKernels {
            lj: LjForces::new(gpu)?,
            cells: CellList::new(gpu)?,
            step_control: StepControl::new(gpu)?,
            integrate: Integrator::new(gpu)?,
            observables: Observables::new(gpu)?,
        })
    }
}
