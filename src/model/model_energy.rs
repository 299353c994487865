//! Typed wrapper of `shaders/model_energy.wgsl`: the energy, score and time derivative of
//! Ũ_θ(x, t) for a batch of C configurations of N particles, in five dispatches (one
//! submission):
//!
//! | entry | reference pass | writes |
//! |---|---|---|
//! | `model_pack` | (layout only) | `wpack`: the MLP's weights as vec4 blocks for the matrix products |
//! | `model_null` | MLP at f_∅(t) and its t-slope | `null_out` per configuration |
//! | `model_descriptors` | A + [`assemble_features`](crate::reference::model_energy::assemble_features) | `features` (f_i), `moments` (v_ik) |
//! | `model_mlp` | B: [`mlp_forward`](crate::reference::model_energy::mlp_forward), [`mlp_input_gradient`](crate::reference::model_energy::mlp_input_gradient), [`moment_adjoint`](crate::reference::model_energy::moment_adjoint) | `input_grad` (g_i), `moment_adjoint`, `particle_energy` (y_i − y_∅) |
//! | `model_score` | C: [`network_gradient`](crate::reference::model_energy::network_gradient), [`soft_gradient`](crate::reference::model_energy::soft_gradient) + composition | `score` (∇_{x_i} Ũ, u_i), `particle_energy` (u_i) |
//! | `model_score_time` (instead of `model_score`) | the same + the pieces of [`time_derivative`](crate::reference::model_energy::time_derivative) | as `model_score`, and `time_terms` |
//!
//! Σ_i u_i = Ũ(x_c, t_c); the host sums the per-particle shares in f64.
//!
//! ∂_t Ũ: `model_score_time` writes per particle
//! `time_terms[p] = (e_i, (g_i − g_∅)·τ'(t), ½ Σ_j e_soft(r_ij), ½ Σ_j ∂_a e_soft(r_ij))`
//! (g_∅·τ' once per workgroup, in forward mode through the null network); the host sums
//! them per configuration in f64 into E_θ, ∂_t E_θ, E_soft, ∂_a E_soft and combines them
//! exactly as the reference does ([`combine_time_derivative`]).
//!
//! Two bind group layouts over the one shader: every entry but `model_score_time` uses
//! [`MODEL_ENERGY_BINDINGS`] (bindings 0–11, [`ModelKernels::bind`]); `model_score_time`
//! alone also uses binding 12 and runs with [`MODEL_TIME_BINDINGS`] (0–12, a superset;
//! [`ModelKernels::bind_time`]). [`ModelKernels::record_time`] switches between the two
//! groups inside one compute pass.
//!
//! `model_mlp` computes PPL particles per invocation (the shader's compile-time parameter,
//! [`ModelKernels::particles_per_invocation`]): 12 on CPU adapters, where every weight
//! loaded then serves twelve particles held in registers (on llvmpipe 8 was slower, 16 no
//! faster), 1 elsewhere; `NTI_MODEL_PPL` overrides the choice (the parity tests run the
//! adapter's choice, 1 and 3).
//!
//! The kernels keep per-invocation arrays of compile-time size: K ≤
//! [`MAX_K`](crate::scene::model::MAX_K), K_v ≤ [`MAX_KV`](crate::scene::model::MAX_KV),
//! D ≤ [`MAX_D`](crate::scene::model::MAX_D), H ≤ [`MAX_H`](crate::scene::model::MAX_H)
//! ([`check_sizes`] says so clearly).

use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::reference::model_energy::schedule;
use crate::scene::model::{S_MAX_OVER_L, S_MIN_OVER_L};
use crate::scene::{ModelConfig, ModelSystem};
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "model_energy",
    "ModelParams",
    ModelParams {
        k_radial,
        kv,
        freqs,
        hidden,
        dim,
        n,
        n_configs,
        time_offset,
        w1,
        b1,
        w2,
        b2,
        w3,
        b3,
        h4,
        d4,
        r_c,
        box_length,
        inv_box,
        eps4_beta,
        sigma2,
        inv_sigma,
        s_min,
        ln_ratio,
        soft_rc2,
        delta,
        gamma,
        o_w1p,
        o_w2t,
        o_w2p,
        o_bias,
        n_pack,
    }
)];

/// Invocations per workgroup (one particle each).
pub const WORKGROUP: u32 = 64;

/// Bindings of the `model_score_time` entry: [`MODEL_ENERGY_BINDINGS`] plus `time_terms`.
/// This is the full layout of the shader file (the layout reflection test checks it, and with
/// it bindings 0–9 of [`MODEL_ENERGY_BINDINGS`], which are its prefix).
pub const MODEL_TIME_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadOnly),
    bind(2, "times", ReadOnly),
    bind(3, "theta", ReadOnly),
    bind(4, "features", ReadWrite),
    bind(5, "moments", ReadWrite),
    bind(6, "input_grad", ReadWrite),
    bind(7, "moment_adjoint", ReadWrite),
    bind(8, "particle_energy", ReadWrite),
    bind(9, "score", ReadWrite),
    bind(10, "wpack", ReadWrite),
    bind(11, "null_out", ReadWrite),
    bind(12, "time_terms", ReadWrite),
];

/// Bindings of `shaders/model_energy.wgsl` used by every entry but `model_score_time`: the
/// first twelve of [`MODEL_TIME_BINDINGS`].
pub const MODEL_ENERGY_BINDINGS: &[BindingSpec] = MODEL_TIME_BINDINGS.split_at(12).0;

/// Every (shader, bindings) pair of this module, for the layout reflection test (the full
/// layout of the file; [`MODEL_ENERGY_BINDINGS`] is its prefix without `time_terms`).
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("model_energy", MODEL_TIME_BINDINGS)];

/// Entry points, in dispatch order.
pub const ENTRIES: [&str; 5] = [
    "model_pack",
    "model_null",
    "model_descriptors",
    "model_mlp",
    "model_score",
];

/// Entry points that also yield the pieces of ∂_t Ũ, in dispatch order: all but the last
/// with the [`MODEL_ENERGY_BINDINGS`] group, the last with the [`MODEL_TIME_BINDINGS`] group.
pub const TIME_ENTRIES: [&str; 5] = [
    "model_pack",
    "model_null",
    "model_descriptors",
    "model_mlp",
    "model_score_time",
];

/// Particles per invocation of `model_mlp` on CPU adapters.
pub const CPU_PARTICLES_PER_INVOCATION: u32 = 12;

/// Host mirror of WGSL `ModelParams` (keep the field order identical).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ModelParams {
    /// K.
    pub k_radial: u32,
    /// K_v.
    pub kv: u32,
    /// M.
    pub freqs: u32,
    /// H.
    pub hidden: u32,
    /// D.
    pub dim: u32,
    /// Particles per configuration.
    pub n: u32,
    /// Configurations C.
    pub n_configs: u32,
    /// Offset of the time features in f_i.
    pub time_offset: u32,
    /// Offset of W1 in θ.
    pub w1: u32,
    /// Offset of b1.
    pub b1: u32,
    /// Offset of W2.
    pub w2: u32,
    /// Offset of b2.
    pub b2: u32,
    /// Offset of w3.
    pub w3: u32,
    /// Offset of b3.
    pub b3: u32,
    /// ⌈H/4⌉.
    pub h4: u32,
    /// ⌈D/4⌉.
    pub d4: u32,
    /// Descriptor cutoff r_c.
    pub r_c: f32,
    /// Box side L.
    pub box_length: f32,
    /// 1 / L.
    pub inv_box: f32,
    /// 4βε.
    pub eps4_beta: f32,
    /// σ².
    pub sigma2: f32,
    /// 1 / σ.
    pub inv_sigma: f32,
    /// s_min = 1e-3 L.
    pub s_min: f32,
    /// ln(s_max / s_min).
    pub ln_ratio: f32,
    /// Prior cutoff² (f32::MAX: every minimum-image pair).
    pub soft_rc2: f32,
    /// Radial spacing Δ.
    pub delta: f32,
    /// Radial width γ = 1/(2Δ²).
    pub gamma: f32,
    /// Offset of W1P in the packed weights (vec4 units; W1T starts at 0).
    pub o_w1p: u32,
    /// Offset of W2T.
    pub o_w2t: u32,
    /// Offset of W2P.
    pub o_w2p: u32,
    /// Offset of b1, b2, w3 (three blocks of ⌈H/4⌉).
    pub o_bias: u32,
    /// vec4 in the packed weights.
    pub n_pack: u32,
}

/// Checks that `cfg` is valid and fits the kernels' compile-time maxima
/// ([`ModelConfig::check_kernel_limits`]).
pub fn check_sizes(cfg: &ModelConfig) -> Result<()> {
    cfg.check_kernel_limits()
        .map_err(|e| Error::Model(e.to_string()))
}

impl ModelParams {
    /// Parameters of a batch of `n_configs` configurations of `n` particles.
    pub fn new(cfg: &ModelConfig, sys: &ModelSystem, n: u32, n_configs: u32) -> Result<Self> {
        check_sizes(cfg)?;
        let lay = cfg.layout();
        let (h4, d4) = (
            cfg.hidden.div_ceil(4) as u32,
            cfg.feature_dim().div_ceil(4) as u32,
        );
        let dim = cfg.feature_dim() as u32;
        let o_w1p = dim * h4;
        let o_w2t = o_w1p + 4 * h4 * d4;
        let o_w2p = o_w2t + 4 * h4 * h4;
        let o_bias = o_w2p + 4 * h4 * h4;
        Ok(Self {
            k_radial: cfg.k_radial as u32,
            kv: cfg.vector_channels as u32,
            freqs: cfg.time_frequencies as u32,
            hidden: cfg.hidden as u32,
            dim: cfg.feature_dim() as u32,
            n,
            n_configs,
            time_offset: cfg.time_feature_offset() as u32,
            w1: lay.w1 as u32,
            b1: lay.b1 as u32,
            w2: lay.w2 as u32,
            b2: lay.b2 as u32,
            w3: lay.w3 as u32,
            b3: lay.b3 as u32,
            h4,
            d4,
            r_c: cfg.r_c as f32,
            box_length: sys.box_length as f32,
            inv_box: (1.0 / sys.box_length) as f32,
            eps4_beta: (4.0 * sys.beta * sys.epsilon) as f32,
            sigma2: (sys.sigma * sys.sigma) as f32,
            inv_sigma: (1.0 / sys.sigma) as f32,
            s_min: sys.s_min() as f32,
            ln_ratio: (S_MAX_OVER_L / S_MIN_OVER_L).ln() as f32,
            soft_rc2: sys.cutoff.map_or(f32::MAX, |rc| (rc * rc) as f32),
            delta: cfg.radial_spacing() as f32,
            gamma: cfg.radial_gamma() as f32,
            o_w1p,
            o_w2t,
            o_w2p,
            o_bias,
            n_pack: o_bias + 3 * h4,
        })
    }
}

/// Buffers of one batch (sizes for C configurations × N particles, D features, K_v).
pub struct ModelArgs<'a> {
    /// [`ModelParams`] uniform.
    pub params: &'a wgpu::Buffer,
    /// Positions, C·N vec4 (configuration-major).
    pub pos: &'a wgpu::Buffer,
    /// t per configuration, C f32.
    pub times: &'a wgpu::Buffer,
    /// Flat parameters θ (f32, `ModelConfig::layout`).
    pub theta: &'a wgpu::Buffer,
    /// f_i, C·N·D f32.
    pub features: &'a wgpu::Buffer,
    /// v_ik, C·N·K_v vec4.
    pub moments: &'a wgpu::Buffer,
    /// g_i = ∂MLP/∂f at f_i, C·N·D f32.
    pub input_grad: &'a wgpu::Buffer,
    /// ∂y/∂v_ik, C·N·K_v vec4.
    pub moment_adjoint: &'a wgpu::Buffer,
    /// Per-particle energy, C·N f32 (y_i − y_∅ after `model_mlp`, u_i after `model_score`).
    pub particle_energy: &'a wgpu::Buffer,
    /// (∇_{x_i} Ũ, u_i), C·N vec4.
    pub score: &'a wgpu::Buffer,
    /// Packed MLP weights, [`ModelParams::n_pack`] vec4.
    pub wpack: &'a wgpu::Buffer,
    /// Null network value and t-slope per configuration, C vec4.
    pub null_out: &'a wgpu::Buffer,
}

impl<'a> ModelArgs<'a> {
    /// The buffers in binding order (bindings 0..=11).
    fn buffers(&self) -> [&'a wgpu::Buffer; 12] {
        [
            self.params,
            self.pos,
            self.times,
            self.theta,
            self.features,
            self.moments,
            self.input_grad,
            self.moment_adjoint,
            self.particle_energy,
            self.score,
            self.wpack,
            self.null_out,
        ]
    }
}

/// The intermediate buffers of the model passes for C configurations of N particles (D
/// features, K_v vector channels): everything of [`ModelArgs`] but the inputs and the score.
pub struct ModelScratch {
    /// f_i, C·N·D f32.
    pub features: wgpu::Buffer,
    /// v_ik, C·N·K_v vec4.
    pub moments: wgpu::Buffer,
    /// g_i, C·N·D f32.
    pub input_grad: wgpu::Buffer,
    /// ∂y/∂v_ik, C·N·K_v vec4.
    pub moment_adjoint: wgpu::Buffer,
    /// Per-particle energy, C·N f32.
    pub particle_energy: wgpu::Buffer,
    /// Packed MLP weights.
    pub wpack: wgpu::Buffer,
    /// Null network per configuration, C vec4.
    pub null_out: wgpu::Buffer,
}

/// Bytes of the `input_grad` buffer for `cn` particles of feature dimension `d`: rows of
/// ⌈d/4⌉ vec4 (zero beyond d), so that the score pass loads a neighbour's radial adjoints
/// four at a time.
pub fn input_grad_bytes(cn: u64, d: u64) -> u64 {
    16 * cn * d.div_ceil(4)
}

/// What the model's passes over `c` configurations of `n` particles ask of the device:
/// the per-particle scratch (features, moments and their adjoints) and the per-
/// configuration dispatches.
pub fn scratch_footprint(cfg: &ModelConfig, n: usize, c: usize) -> Footprint {
    let (cn, d, kv) = (
        (c * n) as u64,
        cfg.feature_dim() as u64,
        cfg.vector_channels as u64,
    );
    Footprint::default()
        .binding("model features", 4 * cn * d)
        .binding("model input_grad", input_grad_bytes(cn, d))
        .binding("model moments", 16 * cn * kv)
        .binding("model positions", 16 * cn)
        .workgroups("per-configuration model passes", c as u64)
}

impl ModelScratch {
    /// Zeroed scratch for `c` configurations of `n` particles of model `cfg`.
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, n: usize, c: usize) -> Self {
        let (cn, d, kv) = (
            (c * n) as u64,
            cfg.feature_dim() as u64,
            cfg.vector_channels as u64,
        );
        Self {
            features: gpu.storage_zeroed("model features", 4 * cn * d),
            moments: gpu.storage_zeroed("model moments", 16 * cn * kv),
            input_grad: gpu.storage_zeroed("model input_grad", input_grad_bytes(cn, d)),
            moment_adjoint: gpu.storage_zeroed("model moment_adjoint", 16 * cn * kv),
            particle_energy: gpu.storage_zeroed("model particle_energy", 4 * cn),
            wpack: gpu.storage_zeroed("model wpack", 16 * packed_vec4(cfg)),
            null_out: gpu.storage_zeroed("model null_out", 16 * c.max(1) as u64),
        }
    }

    /// The passes' arguments with these scratch buffers.
    pub fn args<'a>(
        &'a self,
        params: &'a wgpu::Buffer,
        pos: &'a wgpu::Buffer,
        times: &'a wgpu::Buffer,
        theta: &'a wgpu::Buffer,
        score: &'a wgpu::Buffer,
    ) -> ModelArgs<'a> {
        ModelArgs {
            params,
            pos,
            times,
            theta,
            features: &self.features,
            moments: &self.moments,
            input_grad: &self.input_grad,
            moment_adjoint: &self.moment_adjoint,
            particle_energy: &self.particle_energy,
            score,
            wpack: &self.wpack,
            null_out: &self.null_out,
        }
    }
}

/// vec4 of the packed MLP weights of `cfg` ([`ModelParams::n_pack`]).
pub fn packed_vec4(cfg: &ModelConfig) -> u64 {
    let (h4, d4) = (
        cfg.hidden.div_ceil(4) as u64,
        cfg.feature_dim().div_ceil(4) as u64,
    );
    cfg.feature_dim() as u64 * h4 + 4 * h4 * d4 + 8 * h4 * h4 + 3 * h4
}

/// `shaders/model_energy.wgsl`: packing, null network, descriptors, MLP and score of the
/// energy model (`energy`, layout [`MODEL_ENERGY_BINDINGS`], entries [`ENTRIES`]) and the
/// score pass with the pieces of ∂_t Ũ (`time`, layout [`MODEL_TIME_BINDINGS`], entry
/// `model_score_time`).
pub struct ModelKernels {
    /// Every entry but `model_score_time`.
    pub energy: KernelFamily,
    /// `model_score_time`.
    pub time: KernelFamily,
    ppl: u32,
    /// (K, K_v) the pair passes are compiled for.
    radial: (usize, usize),
}

impl ModelKernels {
    /// Compiles both families for model `cfg` (its K and K_v are compile-time constants of
    /// the pair passes) with `model_mlp` at the adapter's particles per invocation
    /// ([`CPU_PARTICLES_PER_INVOCATION`] on CPU adapters, 1 elsewhere; `NTI_MODEL_PPL`
    /// overrides).
    pub fn new(gpu: &Gpu, cfg: &ModelConfig) -> Result<Self> {
        Self::with_particles_per_invocation(gpu, cfg, Self::adapter_particles_per_invocation(gpu))
    }

    /// The particles per invocation of `model_mlp` that [`Self::new`] compiles for `gpu`.
    pub fn adapter_particles_per_invocation(gpu: &Gpu) -> u32 {
        gpu.items_per_invocation(CPU_PARTICLES_PER_INVOCATION, "NTI_MODEL_PPL", 16)
    }

    /// Compiles both families for `cfg` with `ppl` particles per invocation of `model_mlp`
    /// (1..=16).
    pub fn with_particles_per_invocation(gpu: &Gpu, cfg: &ModelConfig, ppl: u32) -> Result<Self> {
        check_sizes(cfg)?;
        if !(1..=16).contains(&ppl) {
            return Err(Error::Model(format!(
                "{ppl} particles per invocation: use 1..=16"
            )));
        }
        let radial = (cfg.k_radial, cfg.vector_channels);
        let params = [
            ("PPL", ppl),
            ("KR", radial.0 as u32),
            ("KVEC", radial.1 as u32),
        ];
        Ok(Self {
            energy: KernelFamily::with_parameters(
                gpu,
                "model_energy",
                MODEL_ENERGY_BINDINGS,
                &ENTRIES,
                &params,
            )?,
            time: KernelFamily::with_parameters(
                gpu,
                "model_energy",
                MODEL_TIME_BINDINGS,
                &[TIME_ENTRIES[4]],
                &params,
            )?,
            ppl,
            radial,
        })
    }

    /// The compile-time parameters of the families, for other kernels built to match
    /// (`model_grad`).
    pub fn parameters(&self) -> [(&'static str, u32); 3] {
        [
            ("PPL", self.ppl),
            ("KR", self.radial.0 as u32),
            ("KVEC", self.radial.1 as u32),
        ]
    }

    /// Refuses a model other than the one the kernels were compiled for (K or K_v differ).
    pub fn check_model(&self, cfg: &ModelConfig) -> Result<()> {
        if (cfg.k_radial, cfg.vector_channels) != self.radial {
            return Err(Error::Model(format!(
                "the model kernels were compiled for K = {}, K_v = {}; this model has K = {}, \
                 K_v = {}: compile ModelKernels for it",
                self.radial.0, self.radial.1, cfg.k_radial, cfg.vector_channels
            )));
        }
        Ok(())
    }

    /// Particles per invocation of `model_mlp`.
    pub fn particles_per_invocation(&self) -> u32 {
        self.ppl
    }

    /// Workgroups of entry `entry` for the batch of `p` (its uniform's host copy).
    pub fn groups(&self, entry: &str, p: &ModelParams) -> (u32, u32, u32) {
        match entry {
            "model_pack" => (p.n_pack.div_ceil(WORKGROUP), 1, 1),
            "model_null" => (p.n_configs.div_ceil(WORKGROUP), 1, 1),
            "model_mlp" => ((p.n * p.n_configs).div_ceil(WORKGROUP * self.ppl), 1, 1),
            _ => (p.n.div_ceil(WORKGROUP), p.n_configs, 1),
        }
    }

    /// Bind group of the time family for `a` and `time_terms` (C·N vec4 f32), for
    /// [`ModelKernels::record_time`].
    pub fn bind_time(
        &self,
        gpu: &Gpu,
        a: &ModelArgs,
        time_terms: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let mut buffers = a.buffers().to_vec();
        buffers.push(time_terms);
        self.time.bind_group(gpu, &buffers)
    }

    /// Records the passes of [`TIME_ENTRIES`] for the batch of `p` (all but the last with
    /// `group` from [`ModelKernels::bind`], then `model_score_time` with `time_group` from
    /// [`ModelKernels::bind_time`] over the same buffers). Afterwards the buffers hold what
    /// [`ModelKernels::record`] leaves, and `time_terms` the pieces of ∂_t Ũ.
    pub fn record_time(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        time_group: &wgpu::BindGroup,
        p: &ModelParams,
    ) {
        for entry in &TIME_ENTRIES[..4] {
            dispatch(pass, &self.energy, entry, group, self.groups(entry, p));
        }
        let last = TIME_ENTRIES[4];
        dispatch(pass, &self.time, last, time_group, self.groups(last, p));
    }

    /// Bind group for `a`.
    pub fn bind(&self, gpu: &Gpu, a: &ModelArgs) -> wgpu::BindGroup {
        self.energy.bind_group(gpu, &a.buffers())
    }

    /// Records the passes of [`ENTRIES`] for the batch of `p` into `pass`.
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        p: &ModelParams,
    ) {
        for entry in ENTRIES {
            dispatch(pass, &self.energy, entry, group, self.groups(entry, p));
        }
    }
}

/// Per-configuration sums of the pieces of ∂_t Ũ (f64 sums of the device's f32
/// per-particle terms), in the notation of
/// [`time_derivative`](crate::reference::model_energy::time_derivative).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimeParts {
    /// E_θ(x, t) = Σ_i [MLP(f_i) − MLP(f_∅(t))].
    pub e_net: f64,
    /// ∂_t E_θ = Σ_i (g_i − g_∅) · τ'(t).
    pub de_net: f64,
    /// E_soft(x; a = t).
    pub e_soft: f64,
    /// ∂_a E_soft(x; a) at a = t.
    pub de_soft_da: f64,
}

/// ∂_t Ũ(x, t) from its pieces, in f64, exactly as
/// [`time_derivative`](crate::reference::model_energy::time_derivative): with
/// E = t(1−t) E_θ + (1−t) s_min E_soft,
/// ∂_t E = (1−2t) E_θ + t(1−t) ∂_t E_θ − s_min E_soft + (1−t) s_min ∂_a E_soft and
/// ∂_t Ũ = ∂_t E / s − E s'/s².
pub fn combine_time_derivative(sys: &ModelSystem, t: f64, parts: &TimeParts) -> f64 {
    let (s, ds) = schedule(sys.box_length, t);
    let s_min = sys.s_min();
    let e = t * (1.0 - t) * parts.e_net + (1.0 - t) * s_min * parts.e_soft;
    let de = (1.0 - 2.0 * t) * parts.e_net + t * (1.0 - t) * parts.de_net - s_min * parts.e_soft
        + (1.0 - t) * s_min * parts.de_soft_da;
    de / s - e * ds / (s * s)
}

/// Ũ per configuration and ∇_x Ũ per particle (configuration-major) of `times.len()`
/// configurations of `n` particles (`positions` holds C·N points, configuration-major), with
/// parameters `params` in the layout of `cfg`. Uploads, runs all passes in one submission
/// and reads back; the per-particle energy shares are summed in f64.
#[allow(clippy::too_many_arguments)]
pub fn energy_and_score(
    gpu: &Gpu,
    kernels: &ModelKernels,
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    positions: &[[f64; 3]],
    times: &[f64],
    n: usize,
) -> Result<(Vec<f64>, Vec<[f64; 3]>)> {
    let (u, g, _) = run(gpu, kernels, cfg, sys, params, positions, times, n, false)?;
    Ok((u, g))
}

/// As [`energy_and_score`], plus ∂_t Ũ(x_c, t_c) per configuration (the TI integrand), from
/// the same submission: `(Ũ, ∇_x Ũ, ∂_t Ũ)`. The pieces are combined at t rounded to f32,
/// the t the device evaluated them at.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn energy_score_and_time_derivative(
    gpu: &Gpu,
    kernels: &ModelKernels,
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    positions: &[[f64; 3]],
    times: &[f64],
    n: usize,
) -> Result<(Vec<f64>, Vec<[f64; 3]>, Vec<f64>)> {
    let (u, g, parts) =
        energy_score_and_time_parts(gpu, kernels, cfg, sys, params, positions, times, n)?;
    let dudt = times
        .iter()
        .zip(&parts)
        .map(|(&t, p)| combine_time_derivative(sys, t as f32 as f64, p))
        .collect();
    Ok((u, g, dudt))
}

/// As [`energy_score_and_time_derivative`], but with the pieces of ∂_t Ũ per configuration
/// instead of their combination ([`combine_time_derivative`]).
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn energy_score_and_time_parts(
    gpu: &Gpu,
    kernels: &ModelKernels,
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    positions: &[[f64; 3]],
    times: &[f64],
    n: usize,
) -> Result<(Vec<f64>, Vec<[f64; 3]>, Vec<TimeParts>)> {
    let (u, g, parts) = run(gpu, kernels, cfg, sys, params, positions, times, n, true)?;
    Ok((
        u,
        g,
        parts.unwrap_or_else(|| vec![TimeParts::default(); times.len()]),
    ))
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn run(
    gpu: &Gpu,
    kernels: &ModelKernels,
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    positions: &[[f64; 3]],
    times: &[f64],
    n: usize,
    with_time: bool,
) -> Result<(Vec<f64>, Vec<[f64; 3]>, Option<Vec<TimeParts>>)> {
    let c = times.len();
    if n == 0 || c == 0 {
        return Ok((vec![0.0; c], Vec::new(), None));
    }
    if positions.len() != c * n {
        return Err(Error::Model(format!(
            "{} positions for {c} configurations of {n} particles",
            positions.len()
        )));
    }
    if params.len() != cfg.param_count() {
        return Err(Error::Model(format!(
            "{} parameters, the model has {}",
            params.len(),
            cfg.param_count()
        )));
    }
    kernels.check_model(cfg)?;
    let uniform = ModelParams::new(cfg, sys, n as u32, c as u32)?;
    let footprint = scratch_footprint(cfg, n, c).binding("model theta", 4 * params.len() as u64);
    if let Some(e) = footprint.excess(&gpu.limits) {
        return Err(Error::Model(format!("{e}; split the batch")));
    }
    let pos4: Vec<[f32; 4]> = positions
        .iter()
        .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
        .collect();
    let times32: Vec<f32> = times.iter().map(|&t| t as f32).collect();
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let params_buf = gpu.uniform_from("model params", &uniform);
    let pos_buf = gpu.storage_from("model pos", &pos4);
    let times_buf = gpu.storage_from("model times", &times32);
    let theta_buf = gpu.storage_from("model theta", &theta);
    let scratch = ModelScratch::new(gpu, cfg, n, c);
    let cn = (c * n) as u64;
    let score = gpu.storage_zeroed("model score", 16 * cn);
    let args = scratch.args(&params_buf, &pos_buf, &times_buf, &theta_buf, &score);
    let group = kernels.bind(gpu, &args);
    let time_terms = with_time.then(|| gpu.storage_zeroed("model time_terms", 16 * cn));
    let time_group = time_terms
        .as_ref()
        .map(|buf| kernels.bind_time(gpu, &args, buf));
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        match &time_group {
            Some(tg) => kernels.record_time(&mut pass, &group, tg, &uniform),
            None => kernels.record(&mut pass, &group, &uniform),
        }
    }
    gpu.queue.submit([encoder.finish()]);
    let out: Vec<[f32; 4]> = gpu.read(&score, 0, cn)?;
    let energies = out
        .chunks(n)
        .map(|conf| conf.iter().map(|s| s[3] as f64).sum())
        .collect();
    let grads = out
        .iter()
        .map(|s| [s[0] as f64, s[1] as f64, s[2] as f64])
        .collect();
    let parts = match &time_terms {
        None => None,
        Some(buf) => {
            let terms: Vec<[f32; 4]> = gpu.read(buf, 0, cn)?;
            Some(
                terms
                    .chunks(n)
                    .map(|conf| {
                        let sum = |k: usize| conf.iter().map(|x| x[k] as f64).sum::<f64>();
                        TimeParts {
                            e_net: sum(0),
                            de_net: sum(1),
                            e_soft: sum(2),
                            de_soft_da: sum(3),
                        }
                    })
                    .collect(),
            )
        }
    };
    Ok((energies, grads, parts))
}
