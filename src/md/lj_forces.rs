//! Typed wrapper of `shaders/lj_forces.wgsl`: LJ forces, energies and virials (all pairs, or over the neighbour list); f64 reference [`crate::reference::lj_forces`].

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
