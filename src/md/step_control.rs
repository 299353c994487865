//! Typed wrapper of `shaders/step_control.wgsl`: the per-step control block and the indirect dispatch arguments of the list kernels (integer bookkeeping, checked by the cell-list parity tests).

use crate::error::Result;
use crate::gpu::kernel::{bind, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;

/// Bindings of `shaders/step_control.wgsl`.
pub const STEP_CONTROL_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "control", ReadWrite),
    bind(2, "dispatch_args", ReadWrite),
    bind(3, "cell_count", ReadWrite),
];

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
