//! Typed wrapper of `shaders/integrate.wgsl`: the BAOAB Langevin integrator; f64 reference [`crate::reference::integrate::Baoab`].

use crate::error::Result;
use crate::gpu::kernel::{bind, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;

/// Bindings of `shaders/integrate.wgsl`.
pub const INTEGRATE_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadWrite),
    bind(2, "vel", ReadWrite),
    bind(3, "force", ReadOnly),
    bind(4, "control", ReadWrite),
    bind(5, "pos_ref", ReadOnly),
];

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
