//! AdamW on the device (`shaders/adam.wgsl`): parameters, gradients and both moment
//! vectors stay in device buffers; the host only dispatches. The learning rate follows the
//! paper's schedule lr0 · decay^(step / decay_steps), floored at lr_min, computed on the
//! device from its own step counter so that many steps can be recorded in one submission.
//! The same pass keeps an exponential moving average of the parameters (weight averaging,
//! [`AdamSettings::average`]): the model the samplers use when the scene asks for it.

use crate::error::Result;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::scene::AdamSettings;
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "adam",
    "AdamParams",
    AdamUniform {
        count,
        _pad,
        lr0,
        decay,
        decay_steps,
        lr_min,
        beta1,
        beta2,
        eps,
        weight_decay,
        average,
        _pad1,
    }
)];

/// Bindings of `shaders/adam.wgsl`.
pub const ADAM_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "theta", ReadWrite),
    bind(2, "grad", ReadOnly),
    bind(3, "m", ReadWrite),
    bind(4, "v", ReadWrite),
    bind(5, "state", ReadWrite),
    bind(6, "avg", ReadWrite),
];

/// Every (shader, bindings) pair of this module, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("adam", ADAM_BINDINGS)];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct AdamUniform {
    count: u32,
    _pad: [u32; 3],
    lr0: f32,
    decay: f32,
    decay_steps: f32,
    lr_min: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    average: f32,
    _pad1: [u32; 3],
}

/// Host copy of the optimizer state.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamSnapshot {
    /// Parameters.
    pub theta: Vec<f32>,
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
    /// The parameters' moving average (equal to `theta` without weight averaging).
    pub average: Vec<f32>,
    /// Updates done.
    pub step: u32,
}

/// Device-resident optimizer state for `count` parameters.
pub struct Adam {
    family: KernelFamily,
    group: wgpu::BindGroup,
    count: u32,
    /// The parameters (f32).
    pub theta: wgpu::Buffer,
    /// The gradient the next update uses (f32), written by the gradient kernels.
    pub grad: wgpu::Buffer,
    /// First moments.
    pub m: wgpu::Buffer,
    /// Second moments.
    pub v: wgpu::Buffer,
    /// Step counter (u32 in a 16-byte block).
    pub state: wgpu::Buffer,
    /// The parameters' moving average (f32).
    pub average: wgpu::Buffer,
}

impl Adam {
    /// Uploads parameters and moments (zeros for a fresh start) and the step counter; the
    /// moving average starts at `theta` ([`Adam::set_average`] restores a saved one).
    pub fn new(
        gpu: &Gpu,
        settings: &AdamSettings,
        theta: &[f32],
        m: Option<&[f32]>,
        v: Option<&[f32]>,
        step: u32,
    ) -> Result<Self> {
        let family =
            KernelFamily::new(gpu, "adam", ADAM_BINDINGS, &["adam_update", "adam_advance"])?;
        let count = theta.len() as u32;
        let zeros = vec![0f32; theta.len()];
        let u = AdamUniform {
            count,
            _pad: [0; 3],
            lr0: settings.lr as f32,
            decay: settings.lr_decay as f32,
            decay_steps: settings.lr_decay_steps as f32,
            lr_min: settings.lr_min as f32,
            beta1: settings.beta1 as f32,
            beta2: settings.beta2 as f32,
            eps: settings.eps as f32,
            weight_decay: settings.weight_decay as f32,
            average: settings.average.unwrap_or(0.0) as f32,
            _pad1: [0; 3],
        };
        let params = gpu.uniform_from("adam params", &u);
        let theta_buf = gpu.storage_from("theta", theta);
        let grad = gpu.storage_zeroed("grad", 4 * theta.len() as u64);
        let m_buf = gpu.storage_from("adam m", m.unwrap_or(&zeros));
        let v_buf = gpu.storage_from("adam v", v.unwrap_or(&zeros));
        let state = gpu.storage_from("adam state", &[step, 0u32, 0, 0]);
        let average = gpu.storage_from("adam average", theta);
        let group = family.bind_group(
            gpu,
            &[&params, &theta_buf, &grad, &m_buf, &v_buf, &state, &average],
        );
        Ok(Adam {
            family,
            group,
            count,
            theta: theta_buf,
            grad,
            m: m_buf,
            v: v_buf,
            state,
            average,
        })
    }

    /// Replaces the moving average (a resumed training's saved one).
    pub fn set_average(&self, gpu: &Gpu, average: &[f32]) {
        assert_eq!(
            average.len(),
            self.count as usize,
            "one average per parameter"
        );
        gpu.queue
            .write_buffer(&self.average, 0, bytemuck::cast_slice(average));
    }

    /// Records one update from `grad` and the step increment.
    pub fn record_step(&self, pass: &mut wgpu::ComputePass<'_>) {
        dispatch(
            pass,
            &self.family,
            "adam_update",
            &self.group,
            (self.count.div_ceil(64), 1, 1),
        );
        dispatch(pass, &self.family, "adam_advance", &self.group, (1, 1, 1));
    }

    /// Reads parameters, moments and the step back, e.g. for a checkpoint.
    pub fn read_state(&self, gpu: &Gpu) -> Result<AdamSnapshot> {
        let c = self.count as u64;
        Ok(AdamSnapshot {
            theta: gpu.read(&self.theta, 0, c)?,
            m: gpu.read(&self.m, 0, c)?,
            v: gpu.read(&self.v, 0, c)?,
            average: gpu.read(&self.average, 0, c)?,
            step: gpu.read::<u32>(&self.state, 0, 1)?[0],
        })
    }
}
