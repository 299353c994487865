//! Typed wrapper of `shaders/lj_forces.wgsl`: LJ forces, energies and virials (all pairs, or over the neighbour list); f64 reference [`crate::reference::lj_forces`].

use crate::error::{Error, Result};
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

/// Particles per invocation of the all-pairs `lj_forces` on CPU adapters (where a position
/// read from workgroup memory is loaded lane by lane, so it pays to use it several times).
pub const CPU_PARTICLES_PER_INVOCATION: u32 = 8;

/// The most particles per invocation `lj_forces` is compiled for.
pub const MAX_PARTICLES_PER_INVOCATION: u32 = 8;

/// `shaders/lj_forces.wgsl`: LJ forces, energy and virial.
pub struct LjForces {
    /// The compiled kernels.
    pub family: KernelFamily,
    /// Particles per invocation of `lj_forces`.
    pub ppl: u32,
}
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
    /// Compiles the family with the adapter's particles per invocation
    /// ([`CPU_PARTICLES_PER_INVOCATION`] on CPU adapters, 1 elsewhere; `NTI_MD_PPL` in 1..=8
    /// overrides).
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Self::with_particles_per_invocation(gpu, Self::adapter_particles_per_invocation(gpu))
    }

    /// The particles per invocation that [`Self::new`] compiles for `gpu`.
    pub fn adapter_particles_per_invocation(gpu: &Gpu) -> u32 {
        gpu.items_per_invocation(
            CPU_PARTICLES_PER_INVOCATION,
            "NTI_MD_PPL",
            MAX_PARTICLES_PER_INVOCATION,
        )
    }

    /// Compiles the family with `ppl` (1..=8) particles per invocation of `lj_forces`.
    pub fn with_particles_per_invocation(gpu: &Gpu, ppl: u32) -> Result<Self> {
        if !(1..=MAX_PARTICLES_PER_INVOCATION).contains(&ppl) {
            return Err(Error::Device(format!(
                "{ppl} particles per invocation of lj_forces: use 1..={MAX_PARTICLES_PER_INVOCATION}"
            )));
        }
        let family = KernelFamily::with_parameters(
            gpu,
            "lj_forces",
            LJ_FORCES_BINDINGS,
            &["lj_forces", "lj_forces_neighbors"],
            &[("PPL", ppl)],
        )?;
        Ok(Self { family, ppl })
    }

    /// Workgroups of the all-pairs `lj_forces` for `n` particles in each of `replicas`.
    pub fn all_pairs_groups(&self, n: u32, replicas: u32) -> (u32, u32, u32) {
        (n.div_ceil(64 * self.ppl), replicas, 1)
    }
    /// Bind group for `args`.
    pub fn bind(&self, gpu: &Gpu, a: &LjArgs) -> wgpu::BindGroup {
        self.family.bind_group(
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
