//! AdamW on the device (`shaders/adam.wgsl`): parameters, gradients and both moment
//! vectors stay in device buffers; the host only dispatches. The learning rate follows the
//! paper's schedule lr0 · decay^(step / decay_steps), floored at lr_min, computed on the
//! device from its own step counter so that many steps can be recorded in one submission.

use crate::error::Result;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

/// Bindings of `shaders/adam.wgsl`.
pub const ADAM_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "theta", ReadWrite),
    bind(2, "grad", ReadOnly),
    bind(3, "m", ReadWrite),
    bind(4, "v", ReadWrite),
    bind(5, "state", ReadWrite),
];

/// Every (shader, bindings) pair of this module, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("adam", ADAM_BINDINGS)];

/// AdamW hyperparameters and the learning-rate schedule (defaults: the paper's code).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamSettings {
    /// Initial learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Factor applied every `decay_steps` (continuously).
    #[serde(default = "default_decay")]
    pub lr_decay: f64,
    /// Steps per decay factor.
    #[serde(default = "default_decay_steps")]
    pub lr_decay_steps: f64,
    /// Floor of the learning rate.
    #[serde(default = "default_lr_min")]
    pub lr_min: f64,
    /// First-moment decay.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Second-moment decay.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Denominator regulariser.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
}

fn default_lr() -> f64 {
    1e-3
}
fn default_decay() -> f64 {
    0.1
}
fn default_decay_steps() -> f64 {
    50_000.0
}
fn default_lr_min() -> f64 {
    1e-5
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl Default for AdamSettings {
    fn default() -> Self {
        AdamSettings {
            lr: default_lr(),
            lr_decay: default_decay(),
            lr_decay_steps: default_decay_steps(),
            lr_min: default_lr_min(),
            beta1: default_beta1(),
            beta2: default_beta2(),
            eps: default_eps(),
            weight_decay: 0.0,
        }
    }
}

impl AdamSettings {
    /// Learning rate at update `step` (0-based).
    pub fn learning_rate(&self, step: u64) -> f64 {
        (self.lr * self.lr_decay.powf(step as f64 / self.lr_decay_steps)).max(self.lr_min)
    }

    /// Checks every value; the error names the field (relative to the `training` section).
    pub fn validate(&self) -> std::result::Result<(), (String, String, String)> {
        let check = |name: &str, v: f64, ok: bool, range: &str| {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err((name.to_string(), v.to_string(), range.to_string()))
            }
        };
        check("lr", self.lr, self.lr > 0.0, "must be > 0")?;
        check(
            "lr_decay",
            self.lr_decay,
            self.lr_decay > 0.0 && self.lr_decay <= 1.0,
            "must be in (0, 1]",
        )?;
        check(
            "lr_decay_steps",
            self.lr_decay_steps,
            self.lr_decay_steps > 0.0,
            "must be > 0",
        )?;
        check(
            "lr_min",
            self.lr_min,
            self.lr_min >= 0.0 && self.lr_min <= self.lr,
            "must be in [0, lr]",
        )?;
        check(
            "beta1",
            self.beta1,
            (0.0..1.0).contains(&self.beta1),
            "must be in [0, 1)",
        )?;
        check(
            "beta2",
            self.beta2,
            (0.0..1.0).contains(&self.beta2),
            "must be in [0, 1)",
        )?;
        check("eps", self.eps, self.eps > 0.0, "must be > 0")?;
        check(
            "weight_decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "must be >= 0",
        )
    }
}

/// One AdamW update in f64: the reference of `adam_update` (step is the number of updates
/// done before this one).
pub fn adamw_reference(
    s: &AdamSettings,
    step: u64,
    theta: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    let lr = s.learning_rate(step);
    let t = step as f64 + 1.0;
    for p in 0..theta.len() {
        m[p] = s.beta1 * m[p] + (1.0 - s.beta1) * grad[p];
        v[p] = s.beta2 * v[p] + (1.0 - s.beta2) * grad[p] * grad[p];
        let mhat = m[p] / (1.0 - s.beta1.powf(t));
        let vhat = v[p] / (1.0 - s.beta2.powf(t));
        theta[p] -= lr * (mhat / (vhat.sqrt() + s.eps) + s.weight_decay * theta[p]);
    }
}

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
}

impl Adam {
    /// Uploads parameters and moments (zeros for a fresh start) and the step counter.
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
        };
        let params = gpu.uniform_from("adam params", &u);
        let theta_buf = gpu.storage_from("theta", theta);
        let grad = gpu.storage_zeroed("grad", 4 * theta.len() as u64);
        let m_buf = gpu.storage_from("adam m", m.unwrap_or(&zeros));
        let v_buf = gpu.storage_from("adam v", v.unwrap_or(&zeros));
        let state = gpu.storage_from("adam state", &[step, 0u32, 0, 0]);
        let group = family.bind_group(gpu, &[&params, &theta_buf, &grad, &m_buf, &v_buf, &state]);
        Ok(Adam {
            family,
            group,
            count,
            theta: theta_buf,
            grad,
            m: m_buf,
            v: v_buf,
            state,
        })
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
            step: gpu.read::<u32>(&self.state, 0, 1)?[0],
        })
    }
}
