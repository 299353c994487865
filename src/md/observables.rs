//! Typed wrapper of `shaders/observables.wgsl`: per-replica reductions of energy, virial and kinetic energy, and g(r) histograms; f64 reference [`crate::reference::observables`].

use crate::error::Result;
use crate::gpu::kernel::{bind, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;

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
