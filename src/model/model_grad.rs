//! Typed wrapper of `shaders/model_grad.wgsl`: the denoising score-matching loss and its
//! parameter gradient ∇_θ L for a batch of C configurations of N particles, each with its
//! own t and noise z, averaged over the configurations. Runs after the three passes of
//! [`ModelKernels`] on the same buffers and mirrors
//! [`dsm_loss_grad`](crate::reference::model_energy::dsm_loss_grad):
//!
//! | entry | reference | writes |
//! |---|---|---|
//! | `grad_residual` | `loss_and_residual`, u = 2(∇_x E − z)/(3N) | `resid` (u_p, \|r_p\|²) |
//! | `grad_tangent` | D: [`moment_tangent`](crate::reference::model_energy::moment_tangent), [`feature_tangent`](crate::reference::model_energy::feature_tangent) | δf_i in `work` |
//! | `grad_mlp` | E: [`mlp_tangent_param_gradient`](crate::reference::model_energy::mlp_tangent_param_gradient) (per particle) | seven H-vectors per particle in `work` |
//! | `grad_params` | E: the sum over particles, per block of [`BLOCK`] particles | partial sums in `sums` |
//! | `grad_reduce` | E: the sum over blocks | `sums[0..P]` = mean ∇_θ L, `sums[P]` = mean L |
//!
//! No float atomics: every output (each parameter and the loss) is owned by one invocation
//! per particle block (`grad_params` sums 4 × 4 tiles of W1 and W2 per invocation), then by
//! one invocation over the blocks. The WGSL header documents the buffer layouts.
//!
//! [`GradWorkspace`] keeps one batch shape resident on the device: one or several particle
//! counts, combined into the gradient of their joint mean loss.

use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::model::adam::Adam;
use crate::model::model_energy::{
    check_sizes, input_grad_bytes, packed_vec4, scratch_footprint, ModelArgs, ModelKernels,
    ModelParams,
};
use crate::scene::{ModelConfig, ModelSystem};
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};

/// Host mirrors of this module's WGSL structs, for the layout reflection test (the nested
/// `ModelParams` is checked with model_energy's).
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "model_grad",
    "GradParams",
    GradParams {
        model,
        n_params,
        n_blocks,
        cn,
        df_offset,
        inv_3n,
        inv_c,
        block_offset,
        total_blocks,
    }
)];

/// Particles per block of the first reduction stage (`BLOCK` in the WGSL).
pub const BLOCK: u32 = 64;
/// Invocations per workgroup of every entry.
pub const WORKGROUP: u32 = 64;
/// Per-particle H-vectors that `grad_mlp` stores (the slots of the WGSL header).
pub const SLOTS: u64 = 7;
/// Bindings of `shaders/model_grad.wgsl`.
pub const MODEL_GRAD_BINDINGS: &[BindingSpec] = &[
    bind(0, "gp", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "times", ReadOnly),
    bind(3, "theta", ReadOnly),
    bind(4, "features", ReadOnly),
    bind(5, "moments", ReadOnly),
    bind(6, "score", ReadOnly),
    bind(7, "noise", ReadOnly),
    bind(8, "resid", ReadWrite),
    bind(9, "work", ReadWrite),
    bind(10, "sums", ReadWrite),
    bind(11, "wpack", ReadOnly),
];

/// Every (shader, bindings) pair of this module, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("model_grad", MODEL_GRAD_BINDINGS)];

/// Entry points, in dispatch order.
pub const ENTRIES: [&str; 6] = [
    "grad_residual",
    "grad_tangent",
    "grad_mlp",
    "grad_weights",
    "grad_params",
    "grad_reduce",
];

/// Host mirror of WGSL `GradParams` (keep the field order identical): the batch's
/// [`ModelParams`] and the gradient passes' own constants.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct GradParams {
    /// Sizes, parameter offsets, box and schedule of the batch (as the energy passes see
    /// them).
    pub model: ModelParams,
    /// Number of parameters P.
    pub n_params: u32,
    /// Particle blocks of the first reduction stage, ceil(C·N / [`BLOCK`]).
    pub n_blocks: u32,
    /// C·N.
    pub cn: u32,
    /// Start of the δf rows in `work`: 7·C·N·H.
    pub df_offset: u32,
    /// 1 / (3N).
    pub inv_3n: f32,
    /// Weight of each configuration's loss: 1 / C alone; in a joint batch N / Σ_m C_m N_m,
    /// so the sums are the mean over every coordinate.
    pub inv_c: f32,
    /// First block of this batch's partial sums in `sums` (0 alone; in a joint batch the
    /// blocks of the earlier particle counts come first).
    pub block_offset: u32,
    /// Blocks that `grad_reduce` sums: `n_blocks` alone, all parts' blocks in a joint batch.
    pub total_blocks: u32,
}

impl GradParams {
    /// Parameters of a batch of `n_configs` configurations of `n` particles.
    pub fn new(cfg: &ModelConfig, sys: &ModelSystem, n: u32, n_configs: u32) -> Result<Self> {
        check_sizes(cfg)?;
        let lay = cfg.layout();
        let cn = n as u64 * n_configs as u64;
        let df_offset = SLOTS * cn * 4 * cfg.hidden.div_ceil(4) as u64;
        let work_len = df_offset + cn * cfg.feature_dim() as u64;
        if work_len > u32::MAX as u64 {
            return Err(Error::Model(format!(
                "{n_configs} configurations of {n} particles need {work_len} scratch floats \
                 (more than u32 indices reach); split the batch"
            )));
        }
        Ok(Self {
            model: ModelParams::new(cfg, sys, n, n_configs)?,
            n_params: lay.len as u32,
            n_blocks: (cn as u32).div_ceil(BLOCK),
            cn: cn as u32,
            df_offset: df_offset as u32,
            inv_3n: (1.0 / (3.0 * n as f64)) as f32,
            inv_c: (1.0 / n_configs as f64) as f32,
            block_offset: 0,
            total_blocks: (cn as u32).div_ceil(BLOCK),
        })
    }

    /// This batch as one part of a joint batch: its configurations weigh `weight` in
    /// total (inv_c = weight / C), its partial sums start at block `block_offset`, and
    /// `total_blocks` blocks are reduced.
    pub fn part_of(mut self, weight: f64, block_offset: u32, total_blocks: u32) -> Self {
        self.inv_c = (weight / self.model.n_configs as f64) as f32;
        self.block_offset = block_offset;
        self.total_blocks = total_blocks;
        self
    }

    /// Work items of `grad_params` per particle block: one per output other than W1 and W2
    /// (b1, b2, w3, b3, the loss).
    pub fn param_items(&self) -> u32 {
        self.model.hidden + (self.n_params + 1 - self.model.b2)
    }

    /// Workgroups of `grad_weights` per particle block: row blocks of eight of W1 and W2.
    pub fn weight_row_blocks(&self) -> u32 {
        2 * (4 * self.model.h4).div_ceil(16)
    }

    /// Bytes of the `work` scratch buffer: (7H + D) f32 per particle.
    pub fn work_bytes(&self) -> u64 {
        4 * (self.df_offset as u64 + self.cn as u64 * self.model.dim as u64)
    }

    /// Bytes of the `sums` buffer: (1 + total_blocks)(P + 1) f32.
    pub fn sums_bytes(&self) -> u64 {
        4 * (1 + self.total_blocks as u64) * (self.n_params as u64 + 1)
    }
}

/// Buffers of the gradient passes (sizes for C configurations × N particles).
pub struct GradArgs<'a> {
    /// [`GradParams`] uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions x_t, C·N vec4 (the same buffer as [`ModelArgs::pos`]).
    pub pos: &'a wgpu::Buffer,
    /// t per configuration, C f32.
    pub times: &'a wgpu::Buffer,
    /// Flat parameters θ.
    pub theta: &'a wgpu::Buffer,
    /// f_i from `model_descriptors`, C·N·D f32.
    pub features: &'a wgpu::Buffer,
    /// v_ik from `model_descriptors`, C·N·K_v vec4.
    pub moments: &'a wgpu::Buffer,
    /// (∇_{x_i} Ũ, u_i) from `model_score`, C·N vec4.
    pub score: &'a wgpu::Buffer,
    /// Noise z, C·N vec4 (xyz).
    pub noise: &'a wgpu::Buffer,
    /// (u_p, |r_p|²), C·N vec4.
    pub resid: &'a wgpu::Buffer,
    /// Scratch, [`GradParams::work_bytes`].
    pub work: &'a wgpu::Buffer,
    /// Result and partial sums, [`GradParams::sums_bytes`]: `sums[0..P]` = mean ∇_θ L,
    /// `sums[P]` = mean L.
    pub sums: &'a wgpu::Buffer,
    /// The packed MLP weights written by `model_pack` ([`ModelArgs::wpack`]).
    pub wpack: &'a wgpu::Buffer,
}

/// `shaders/model_grad.wgsl`: residual, descriptor tangent, tangent-MLP reverse pass and the
/// two-stage reduction of ∇_θ L.
pub struct GradKernels {
    /// The family.
    pub family: KernelFamily,
    ppl: u32,
}

impl GradKernels {
    /// Compiles the family with the compile-time parameters of `model` (particles per
    /// invocation, K, K_v).
    pub fn new(gpu: &Gpu, model: &ModelKernels) -> Result<Self> {
        Ok(Self {
            family: KernelFamily::with_parameters(
                gpu,
                "model_grad",
                MODEL_GRAD_BINDINGS,
                &ENTRIES,
                &model.parameters(),
            )?,
            ppl: model.particles_per_invocation(),
        })
    }

    /// Bind group for `a`.
    pub fn bind(&self, gpu: &Gpu, a: &GradArgs) -> wgpu::BindGroup {
        self.family.bind_group(
            gpu,
            &[
                a.params, a.pos, a.times, a.theta, a.features, a.moments, a.score, a.noise,
                a.resid, a.work, a.sums, a.wpack,
            ],
        )
    }

    /// Workgroups of entry `entry` for the batch of `gp`.
    pub fn groups(&self, entry: &str, gp: &GradParams) -> (u32, u32, u32) {
        match entry {
            "grad_mlp" => (gp.cn.div_ceil(WORKGROUP * self.ppl), 1, 1),
            "grad_weights" => (gp.weight_row_blocks(), gp.n_blocks, 1),
            "grad_params" => (gp.param_items().div_ceil(WORKGROUP), gp.n_blocks, 1),
            "grad_reduce" => ((gp.n_params + 1).div_ceil(WORKGROUP), 1, 1),
            _ => (gp.model.n.div_ceil(WORKGROUP), gp.model.n_configs, 1),
        }
    }

    /// Records every pass for the batch described by `gp` into `pass` (after
    /// [`ModelKernels::record`] on the same batch).
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        gp: &GradParams,
    ) {
        self.record_partial(pass, group, gp);
        self.record_reduce(pass, group, gp);
    }

    /// Records the passes up to the per-block partial sums (all but `grad_reduce`).
    pub fn record_partial(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        gp: &GradParams,
    ) {
        for entry in &ENTRIES[..5] {
            dispatch(pass, &self.family, entry, group, self.groups(entry, gp));
        }
    }

    /// Records `grad_reduce`: `sums[0..=P]` = the sum of `gp.total_blocks` partial sums.
    pub fn record_reduce(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        gp: &GradParams,
    ) {
        let entry = ENTRIES[5];
        dispatch(pass, &self.family, entry, group, self.groups(entry, gp));
    }
}

/// Device bytes that [`loss_and_gradient`] allocates for C configurations of N particles
/// (model buffers of [`ModelKernels`] plus this module's).
pub fn device_bytes(cfg: &ModelConfig, sys: &ModelSystem, n: usize, c: usize) -> Result<u64> {
    let gp = GradParams::new(cfg, sys, n as u32, c as u32)?;
    let (cn, d, kv) = (
        (c * n) as u64,
        cfg.feature_dim() as u64,
        cfg.vector_channels as u64,
    );
    let model = 16 * cn // pos
        + 4 * c as u64 // times
        + 4 * cfg.param_count() as u64 // theta
        + 4 * cn * d // features
        + input_grad_bytes(cn, d)
        + 2 * 16 * cn * kv // moments, moment_adjoint
        + 4 * cn // particle_energy
        + 16 * cn; // score
    let grad = 16 * cn + 16 * cn + gp.work_bytes() + gp.sums_bytes();
    Ok(model + grad)
}

/// Device-resident buffers and bind groups of the model and gradient passes of one batch,
/// created once and reused every training step. A batch may hold several particle counts
/// trained jointly: `shape` = [(N_m, C_m), …], one part per count (C_m configurations of
/// N_m particles), all writing their per-block partial sums into one shared `sums` buffer
/// (part m from block Σ_{m'<m} n_blocks_{m'} on), each configuration weighted
/// N_m / Σ_m' C_m' N_m', and one `grad_reduce` over all blocks. So `sums[0..P]` is ∇_θ of,
/// and `sums[P]` is, the mean loss over every configuration, particle and coordinate of
/// the batch: Σ_m w_m L_m with w_m = C_m N_m / Σ C N and L_m the mean of part m. With one
/// part the weight is 1 and this is the mean over its configurations.
///
/// θ is not owned: the workspace binds the caller's θ buffer (in training, the optimizer's
/// [`Adam::theta`](crate::model::adam::Adam::theta)), so the parameters are never read
/// back. Per step only x_t, the regression target and t are uploaded
/// (`queue.write_buffer`); the loss (`sums[P]`) and the gradient (`sums[0..P]`) stay on the
/// device until asked for.
pub struct GradWorkspace {
    parts: Vec<Part>,
    sums: wgpu::Buffer,
    n_params: usize,
}

/// One particle count's buffers and bind groups in a [`GradWorkspace`].
struct Part {
    n: usize,
    c: usize,
    gp: GradParams,
    pos: wgpu::Buffer,
    noise: wgpu::Buffer,
    times: wgpu::Buffer,
    model_group: wgpu::BindGroup,
    grad_group: wgpu::BindGroup,
    // Scratch buffers, kept alive with the bind groups.
    _scratch: Vec<wgpu::Buffer>,
}

/// Where a part writes its partial sums.
struct Share<'a> {
    sums: &'a wgpu::Buffer,
    weight: f64,
    block_offset: u32,
    total_blocks: u32,
}

/// One part's batch as [`GradWorkspace::upload`] takes it: (x_t, regression target,
/// times), C·N, C·N and C entries.
pub type BatchRef<'a> = (&'a [[f64; 3]], &'a [[f64; 3]], &'a [f64]);

/// A pass to time: entry, family, bind group, workgroups.
type Pass<'a> = (
    &'static str,
    &'a KernelFamily,
    &'a wgpu::BindGroup,
    (u32, u32, u32),
);

impl Part {
    #[allow(clippy::too_many_arguments)]
    fn new(
        gpu: &Gpu,
        model: &ModelKernels,
        grad: &GradKernels,
        cfg: &ModelConfig,
        sys: &ModelSystem,
        (n, c): (usize, usize),
        theta: &wgpu::Buffer,
        share: Share,
    ) -> Result<Self> {
        let gp = GradParams::new(cfg, sys, n as u32, c as u32)?.part_of(
            share.weight,
            share.block_offset,
            share.total_blocks,
        );
        let uniform = ModelParams::new(cfg, sys, n as u32, c as u32)?;
        let (cn, d, kv) = (
            (c * n) as u64,
            cfg.feature_dim() as u64,
            cfg.vector_channels as u64,
        );
        let params_buf = gpu.uniform_from("model params", &uniform);
        let grad_params_buf = gpu.uniform_from("grad params", &gp);
        let pos = gpu.storage_zeroed("model pos", 16 * cn);
        let noise = gpu.storage_zeroed("grad noise", 16 * cn);
        let times = gpu.storage_zeroed("model times", 4 * c as u64);
        let features = gpu.storage_zeroed("model features", 4 * cn * d);
        let moments = gpu.storage_zeroed("model moments", 16 * cn * kv);
        let input_grad = gpu.storage_zeroed("model input_grad", input_grad_bytes(cn, d));
        let moment_adjoint = gpu.storage_zeroed("model moment_adjoint", 16 * cn * kv);
        let particle_energy = gpu.storage_zeroed("model particle_energy", 4 * cn);
        let score = gpu.storage_zeroed("model score", 16 * cn);
        let wpack = gpu.storage_zeroed("model wpack", 16 * packed_vec4(cfg));
        let null_out = gpu.storage_zeroed("model null_out", 16 * c as u64);
        let resid = gpu.storage_zeroed("grad resid", 16 * cn);
        let work = gpu.storage_zeroed("grad work", gp.work_bytes());
        let sums = share.sums;
        let model_group = model.bind(
            gpu,
            &ModelArgs {
                params: &params_buf,
                pos: &pos,
                times: &times,
                theta,
                features: &features,
                moments: &moments,
                input_grad: &input_grad,
                moment_adjoint: &moment_adjoint,
                particle_energy: &particle_energy,
                score: &score,
                wpack: &wpack,
                null_out: &null_out,
            },
        );
        let grad_group = grad.bind(
            gpu,
            &GradArgs {
                params: &grad_params_buf,
                pos: &pos,
                times: &times,
                theta,
                features: &features,
                moments: &moments,
                score: &score,
                noise: &noise,
                resid: &resid,
                work: &work,
                sums,
                wpack: &wpack,
            },
        );
        Ok(Self {
            n,
            c,
            gp,
            pos,
            noise,
            times,
            model_group,
            grad_group,
            _scratch: vec![
                params_buf,
                grad_params_buf,
                features,
                moments,
                input_grad,
                moment_adjoint,
                particle_energy,
                score,
                wpack,
                null_out,
                resid,
                work,
            ],
        })
    }

    /// Queues the batch (x_t, z: C·N; times: C) with `queue.write_buffer`; it takes effect
    /// at the next submission.
    fn upload(&self, gpu: &Gpu, x_t: &[[f64; 3]], z: &[[f64; 3]], times: &[f64]) -> Result<()> {
        let (n, c) = (self.n, self.c);
        if x_t.len() != c * n || z.len() != c * n || times.len() != c {
            return Err(Error::Model(format!(
                "{} positions, {} noise vectors and {} times for a workspace of {c} \
                 configurations of {n} particles",
                x_t.len(),
                z.len(),
                times.len()
            )));
        }
        let vec4 = |v: &[[f64; 3]]| -> Vec<[f32; 4]> {
            v.iter()
                .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
                .collect()
        };
        let times32: Vec<f32> = times.iter().map(|&t| t as f32).collect();
        gpu.queue
            .write_buffer(&self.pos, 0, bytemuck::cast_slice(&vec4(x_t)));
        gpu.queue
            .write_buffer(&self.noise, 0, bytemuck::cast_slice(&vec4(z)));
        gpu.queue
            .write_buffer(&self.times, 0, bytemuck::cast_slice(&times32));
        Ok(())
    }
}

impl GradWorkspace {
    /// Allocates the parts for `shape` = [(N_m, C_m), …] (each ≥ 1) and binds `theta` (P
    /// f32, readable as storage) as the parameters.
    pub fn new(
        gpu: &Gpu,
        model: &ModelKernels,
        grad: &GradKernels,
        cfg: &ModelConfig,
        sys: &ModelSystem,
        shape: &[(usize, usize)],
        theta: &wgpu::Buffer,
    ) -> Result<Self> {
        if shape.is_empty() || shape.iter().any(|&(n, c)| n == 0 || c == 0) {
            return Err(Error::Model(format!(
                "a gradient workspace needs at least one configuration of at least one \
                 particle for every particle count, got (N, C) = {shape:?}"
            )));
        }
        model.check_model(cfg)?;
        let n_params = cfg.param_count();
        if theta.size() < 4 * n_params as u64 {
            return Err(Error::Model(format!(
                "θ buffer of {} bytes, the model has {n_params} parameters",
                theta.size()
            )));
        }
        let blocks: Vec<u32> = shape
            .iter()
            .map(|&(n, c)| ((n * c) as u32).div_ceil(BLOCK))
            .collect();
        let total_blocks: u32 = blocks.iter().sum();
        let coordinates: usize = shape.iter().map(|&(n, c)| n * c).sum();
        let sums_bytes = 4 * (1 + total_blocks as u64) * (n_params as u64 + 1);
        if let Some(e) = Self::footprint(cfg, sys, shape)?.excess(&gpu.limits) {
            return Err(Error::Model(format!("{e}; lower training.batch")));
        }
        let sums = gpu.storage_zeroed("grad sums", sums_bytes);
        let mut parts = Vec::with_capacity(shape.len());
        let mut offset = 0;
        for (&(n, c), &b) in shape.iter().zip(&blocks) {
            let share = Share {
                sums: &sums,
                weight: (n * c) as f64 / coordinates as f64,
                block_offset: offset,
                total_blocks,
            };
            parts.push(Part::new(gpu, model, grad, cfg, sys, (n, c), theta, share)?);
            offset += b;
        }
        Ok(Self {
            parts,
            sums,
            n_params,
        })
    }

    /// What a workspace for `shape` = [(N_m, C_m), …] asks of the device: every part's
    /// model scratch, gradient work and dispatches, and the shared partial sums.
    pub fn footprint(
        cfg: &ModelConfig,
        sys: &ModelSystem,
        shape: &[(usize, usize)],
    ) -> Result<Footprint> {
        let mut footprint = Footprint::default();
        let mut total_blocks = 0u64;
        for &(n, c) in shape {
            let gp = GradParams::new(cfg, sys, n as u32, c as u32)?;
            total_blocks += gp.n_blocks as u64;
            footprint = footprint
                .with(scratch_footprint(cfg, n, c))
                .binding("grad work", gp.work_bytes())
                .workgroups("gradient blocks", gp.n_blocks as u64);
        }
        let sums = 4 * (1 + total_blocks) * (cfg.param_count() as u64 + 1);
        Ok(footprint.binding("grad sums", sums))
    }

    /// (N_m, C_m) of every part, in order.
    pub fn shape(&self) -> Vec<(usize, usize)> {
        self.parts.iter().map(|p| (p.n, p.c)).collect()
    }

    /// The result buffer: `sums[0..P]` = ∇_θ of the batch's mean loss, `sums[P]` that loss.
    pub fn sums(&self) -> &wgpu::Buffer {
        &self.sums
    }

    /// Queues part m's batch (x_t, target: C_m·N_m; times: C_m) for every part; it takes
    /// effect at the next submission.
    pub fn upload(&self, gpu: &Gpu, batches: &[BatchRef]) -> Result<()> {
        if batches.len() != self.parts.len() {
            return Err(Error::Model(format!(
                "{} batches for a gradient workspace of {} particle counts",
                batches.len(),
                self.parts.len()
            )));
        }
        for (part, (x_t, target, times)) in self.parts.iter().zip(batches) {
            part.upload(gpu, x_t, target, times)?;
        }
        Ok(())
    }

    /// Records every part's model and gradient passes and the one reduction (one compute
    /// pass).
    pub fn record(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        model: &ModelKernels,
        grad: &GradKernels,
    ) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for part in &self.parts {
            model.record(&mut pass, &part.model_group, &part.gp.model);
            grad.record_partial(&mut pass, &part.grad_group, &part.gp);
        }
        let last = &self.parts[self.parts.len() - 1];
        grad.record_reduce(&mut pass, &last.grad_group, &last.gp);
    }

    /// One training step in one submission: uploads every part's batch, records the model
    /// and gradient passes, copies the mean gradient `sums[0..P]` into `adam.grad` and
    /// records the AdamW update. Nothing is read back; [`read_loss`](Self::read_loss) gives
    /// the batch's loss (evaluated before the update) until the next step. The workspace
    /// must have been created with `adam.theta` as θ.
    pub fn step(
        &self,
        gpu: &Gpu,
        model: &ModelKernels,
        grad: &GradKernels,
        adam: &Adam,
        batches: &[BatchRef],
    ) -> Result<wgpu::SubmissionIndex> {
        self.upload(gpu, batches)?;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        self.record(&mut encoder, model, grad);
        encoder.copy_buffer_to_buffer(&self.sums, 0, &adam.grad, 0, 4 * self.n_params as u64);
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            adam.record_step(&mut pass);
        }
        Ok(gpu.queue.submit([encoder.finish()]))
    }

    /// Mean loss of the last batch run (one float read back; waits for the queue).
    pub fn read_loss(&self, gpu: &Gpu) -> Result<f64> {
        Ok(gpu.read::<f32>(&self.sums, self.n_params as u64, 1)?[0] as f64)
    }

    /// Mean loss and gradient of the last batch run (P + 1 floats read back).
    pub fn read_loss_and_gradient(&self, gpu: &Gpu) -> Result<(f64, Vec<f64>)> {
        let out: Vec<f32> = gpu.read(&self.sums, 0, self.n_params as u64 + 1)?;
        Ok((
            out[self.n_params] as f64,
            out[..self.n_params].iter().map(|&g| g as f64).collect(),
        ))
    }

    /// Seconds of `clock` (wall, or the process's CPU time) spent in each pass on the
    /// uploaded batch (the three of `model_energy`, then the five of `model_grad`, summed
    /// over the parts), each dispatch submitted alone and waited for (so each figure
    /// includes one submission's overhead per part): for profiling.
    pub fn time_passes(
        &self,
        gpu: &Gpu,
        model: &ModelKernels,
        grad: &GradKernels,
        clock: &dyn Fn() -> f64,
    ) -> Result<Vec<(&'static str, f64)>> {
        use crate::model::model_energy::ENTRIES as MODEL_ENTRIES;
        let mut out: Vec<(&'static str, f64)> = MODEL_ENTRIES
            .iter()
            .chain(ENTRIES.iter())
            .map(|&e| (e, 0.0))
            .collect();
        let last = self.parts.len() - 1;
        for (index, part) in self.parts.iter().enumerate() {
            let gp = &part.gp;
            let passes: Vec<Pass> = MODEL_ENTRIES
                .iter()
                .map(|&e| {
                    (
                        e,
                        &model.energy,
                        &part.model_group,
                        model.groups(e, &gp.model),
                    )
                })
                .chain(
                    ENTRIES
                        .iter()
                        .map(|&e| (e, &grad.family, &part.grad_group, grad.groups(e, gp))),
                )
                .filter(|(e, ..)| *e != ENTRIES[5] || index == last)
                .collect();
            for (entry, family, group, groups) in passes {
                let start = clock();
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    dispatch(&mut pass, family, entry, group, groups);
                }
                gpu.queue.submit([encoder.finish()]);
                gpu.wait()?;
                let seconds = clock() - start;
                if let Some(slot) = out.iter_mut().find(|(e, _)| *e == entry) {
                    slot.1 += seconds;
                }
            }
        }
        Ok(out)
    }
}

/// Mean over the configurations of the denoising loss L_c and of ∇_θ L_c, for
/// `times.len()` configurations of `n` particles: `x_t` (C·N, configuration-major) are the
/// noised positions and `z` (C·N) the noise they were made with. Builds a temporary
/// [`GradWorkspace`], uploads, runs the three passes of `model` and the five of `grad` in
/// one submission and reads back P + 1 floats.
/// Equals the average of [`dsm_loss_grad`](crate::reference::model_energy::dsm_loss_grad)
/// over the configurations (up to f32 rounding).
#[allow(clippy::too_many_arguments)]
pub fn loss_and_gradient(
    gpu: &Gpu,
    model: &ModelKernels,
    grad: &GradKernels,
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    x_t: &[[f64; 3]],
    z: &[[f64; 3]],
    times: &[f64],
    n: usize,
) -> Result<(f64, Vec<f64>)> {
    let c = times.len();
    let n_params = cfg.param_count();
    if n == 0 || c == 0 {
        return Ok((0.0, vec![0.0; n_params]));
    }
    if x_t.len() != c * n || z.len() != c * n {
        return Err(Error::Model(format!(
            "{} positions and {} noise vectors for {c} configurations of {n} particles",
            x_t.len(),
            z.len()
        )));
    }
    if params.len() != n_params {
        return Err(Error::Model(format!(
            "{} parameters, the model has {n_params}",
            params.len()
        )));
    }
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let theta_buf = gpu.storage_from("model theta", &theta);
    let ws = GradWorkspace::new(gpu, model, grad, cfg, sys, &[(n, c)], &theta_buf)?;
    ws.upload(gpu, &[(x_t, z, times)])?;
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    ws.record(&mut encoder, model, grad);
    gpu.queue.submit([encoder.finish()]);
    ws.read_loss_and_gradient(gpu)
}
