//! Batched Langevin denoising samplers on the device (`shaders/denoise.wgsl`, docs/method.md
//! §5): C independent trajectories march the time grid from t = 1 (uniform positions, exact
//! samples of p_1) to t = 0 with the learned energy Ũ_θ, recording at every grid point the TI
//! integrand ∂_t Ũ, the energies that make up the annealed-importance-sampling work, and the
//! corrector acceptance. The f64 specification is [`crate::reference::denoise`].
//!
//! Three kinds of path ([`PathKind`]):
//! - the paper's reverse SDE (Euler–Maruyama predictor), optionally with MALA correctors
//!   at every t;
//! - annealed Langevin: MALA moves only (no predictor), so every move leaves
//!   exp(−Ũ(·, t)) invariant and the AIS (Jarzynski) estimate is unbiased;
//! - forward-noised reference data wrap(x₀ + s(t) z) (exact samples of the true marginals):
//!   the diagnostic.
//!
//! One submission per grid point; the host writes t and the step's constants, reads
//! nothing back until the end except to pace the queue (every [`PACE`] grid points) and to
//! report progress.

use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::model::model_energy::{
    combine_time_derivative, scratch_footprint, ModelKernels, ModelParams, ModelScratch, TimeParts,
};
use crate::reference::denoise::predictor_coefficients;
use crate::reference::model_energy::schedule;
use crate::scene::integration::{MAX_CORRECTORS, MAX_POPULATION};
use crate::scene::CorrectorSettings;
use crate::scene::{ModelConfig, ModelSystem};
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};
use std::time::Instant;

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "denoise",
    "DenoiseParams",
    DenoiseParams {
        n,
        n_configs,
        step,
        populations,
        key_lo,
        key_hi,
        _pad1,
        _pad2,
        box_length,
        inv_box,
        drift,
        noise,
        target_accept,
        adapt_rate,
        h_max,
        s_t,
        h_init,
        resample_threshold,
        back_var,
        _pad5,
    }
)];

/// Bindings of `shaders/denoise.wgsl`.
pub const DENOISE_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "pos", ReadWrite),
    bind(2, "prop", ReadWrite),
    bind(3, "score", ReadWrite),
    bind(4, "score_p", ReadWrite),
    bind(5, "time_terms", ReadWrite),
    bind(6, "time_p", ReadWrite),
    bind(7, "step_size", ReadWrite),
    bind(8, "records", ReadWrite),
    bind(9, "x0", ReadOnly),
];

/// Every (shader, bindings) pair of this module, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("denoise", DENOISE_BINDINGS)];

/// Entry points of `shaders/denoise.wgsl`.
pub const ENTRIES: [&str; 11] = [
    "denoise_init",
    "denoise_move",
    "denoise_propose",
    "denoise_noise",
    "denoise_accept",
    "denoise_record_start",
    "denoise_record_end",
    "denoise_adapt",
    "denoise_reweight",
    "denoise_stash",
    "denoise_gather",
];

/// Grid points between two waits on the queue (bounds the work in flight).
pub const PACE: usize = 8;

/// Invocations per workgroup.
const WORKGROUP: u32 = 64;

/// Bytes of one (grid point, trajectory) record: parts, energies, weight (3 × vec4<f32>).
const RECORD_BYTES: u64 = 48;

/// Host mirror of WGSL `DenoiseParams` (keep the field order identical).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct DenoiseParams {
    /// Particles per trajectory.
    pub n: u32,
    /// Trajectories C.
    pub n_configs: u32,
    /// Grid index j (0 at t = 1).
    pub step: u32,
    /// Populations P.
    pub populations: u32,
    /// Philox key, low word.
    pub key_lo: u32,
    /// Philox key, high word.
    pub key_hi: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
    /// Box side L.
    pub box_length: f32,
    /// 1 / L.
    pub inv_box: f32,
    /// Predictor drift g²Δt.
    pub drift: f32,
    /// Predictor noise g√Δt.
    pub noise: f32,
    /// Target acceptance of the MALA step-size adaptation.
    pub target_accept: f32,
    /// Adaptation rate κ.
    pub adapt_rate: f32,
    /// Largest MALA step size.
    pub h_max: f32,
    /// s(t_j) (forward noise).
    pub s_t: f32,
    /// Initial MALA step size.
    pub h_init: f32,
    /// Resample a population when ESS < this · C/P (0: never).
    pub resample_threshold: f32,
    /// s(t_j)² − s(t_{j+1})²: the backward (forward-noising) kernel's variance of the
    /// predictor move from this grid point.
    pub back_var: f32,
    /// Padding.
    pub _pad5: f32,
}

/// `shaders/denoise.wgsl`: the sampler moves, the Metropolis test and the records.
pub struct DenoiseKernels(pub KernelFamily);

impl DenoiseKernels {
    /// Compiles the family.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "denoise",
            DENOISE_BINDINGS,
            &ENTRIES,
        )?))
    }
}

/// What moves the trajectories between grid points.
#[derive(Clone, Debug)]
pub enum PathKind {
    /// Reverse SDE from uniform positions (`predictor`), with `correctors.steps` MALA steps
    /// at every t (0: the paper's uncorrected sampler). With `predictor = false` and
    /// correctors, annealed Langevin: the AIS work is then valid.
    Sampler {
        /// Apply the reverse-SDE predictor between grid points.
        predictor: bool,
        /// MALA correctors at each t.
        correctors: CorrectorSettings,
    },
    /// Forward-noised reference configurations: `x0` holds C·N positions
    /// (configuration-major), each path is wrap(x0 + s(t) z) with z fixed per path.
    ForwardNoise {
        /// Reference configurations.
        x0: Vec<[f64; 3]>,
    },
}

/// One batched run of C trajectories.
pub struct DenoiseRequest<'a> {
    /// Model architecture.
    pub cfg: &'a ModelConfig,
    /// Physical system.
    pub sys: &'a ModelSystem,
    /// Parameters θ (f32, the layout of `cfg`).
    pub theta: &'a [f32],
    /// Particles per trajectory.
    pub n: usize,
    /// Trajectories C.
    pub trajectories: usize,
    /// Time grid, ascending, from exactly 0 to exactly 1.
    pub grid: &'a [f64],
    /// Moves.
    pub path: PathKind,
    /// Philox key of the run's streams.
    pub key: [u32; 2],
}

/// Per-trajectory, per-grid-point results of a run (grid index k ascending in t).
#[derive(Clone, Debug)]
pub struct DenoiseOutcome {
    /// The time grid, ascending.
    pub grid: Vec<f64>,
    /// `integrand[c][k]` = ∂_t Ũ(x_c, t_k) after the correctors.
    pub integrand: Vec<Vec<f64>>,
    /// `u_start[c][k]` = Ũ(x_c, t_k) on arrival at t_k.
    pub u_start: Vec<Vec<f64>>,
    /// `u_end[c][k]` = Ũ(x_c, t_k) after the correctors.
    pub u_end: Vec<Vec<f64>>,
    /// `accepted[c][k]`: accepted corrector proposals at t_k.
    pub accepted: Vec<Vec<u32>>,
    /// `log_weight[c][k]`: ln w of trajectory c at t_k after any resampling there (0 on
    /// forward-noise paths). Without predictor and resampling, −log_weight is the AIS work
    /// from t = 1 to t_k; with the predictor it includes each move's ln L/F.
    pub log_weight: Vec<Vec<f64>>,
    /// `log_norm[p][k]`: population p's ln-normaliser increment at t_k (0 unless it
    /// resampled there).
    pub log_norm: Vec<Vec<f64>>,
    /// `ancestor[c][k]`: the trajectory whose state c took at t_k (c unless resampled).
    pub ancestor: Vec<Vec<u32>>,
    /// Populations P (trajectory c belongs to population c / (C/P)).
    pub populations: usize,
    /// `proposals[k]`: corrector proposals per trajectory at t_k.
    pub proposals: Vec<u32>,
    /// Positions at t = 0, C·N (configuration-major).
    pub final_positions: Vec<[f64; 3]>,
    /// Model evaluations per trajectory (Σ over grid points of 1 + correctors).
    pub evaluations: u64,
    /// Wall time of the run.
    pub wall_time_s: f64,
}

impl DenoiseOutcome {
    /// The AIS work W_c = Σ_k (u_start at t_{k} − u_end at t_{k+1}) of every trajectory,
    /// summed along the march from t = 1 to t = 0.
    pub fn ais_work(&self) -> Vec<f64> {
        self.u_start
            .iter()
            .zip(&self.u_end)
            .map(|(start, end)| {
                (0..start.len().saturating_sub(1))
                    .map(|k| start[k] - end[k + 1])
                    .sum()
            })
            .collect()
    }

    /// Distinct t = 1 ancestors among the trajectories at t = 0 (C when nothing resampled).
    pub fn families(&self) -> usize {
        let c = self.ancestor.len();
        let points = self.grid.len();
        let mut eve: Vec<u32> = (0..c as u32).collect();
        // March order: k from the t = 1 end down to t = 0.
        for k in (0..points).rev() {
            eve = (0..c)
                .map(|ci| eve[self.ancestor[ci][k] as usize])
                .collect();
        }
        eve.sort_unstable();
        eve.dedup();
        eve.len()
    }

    /// Mean corrector acceptance rate at every grid point (NaN without correctors).
    pub fn acceptance(&self) -> Vec<f64> {
        let k_count = self.grid.len();
        let c = self.accepted.len().max(1) as f64;
        (0..k_count)
            .map(|k| {
                let total: u64 = self.accepted.iter().map(|a| a[k] as u64).sum();
                total as f64 / (c * self.proposals.get(k).copied().unwrap_or(0) as f64)
            })
            .collect()
    }
}

/// What a run of `trajectories` trajectories of `n` particles over `grid_points` grid
/// points asks of the device: the model's scratch and the per-grid-point records.
pub fn footprint(
    cfg: &ModelConfig,
    n: usize,
    trajectories: usize,
    grid_points: usize,
) -> Footprint {
    scratch_footprint(cfg, n, trajectories).binding(
        "sampler records",
        RECORD_BYTES * (grid_points * trajectories) as u64,
    )
}

/// Checks the request's sizes against the device and the kernels.
fn check(gpu: &Gpu, req: &DenoiseRequest) -> Result<()> {
    let bad = |m: String| Err(Error::Model(m));
    if req.n == 0 || req.trajectories == 0 {
        return bad("the sampler needs at least one particle and one trajectory".into());
    }
    let g = req.grid;
    if g.len() < 2 || g[0] != 0.0 || g[g.len() - 1] != 1.0 || g.windows(2).any(|w| w[1] <= w[0]) {
        return bad("the time grid must ascend strictly from exactly 0 to exactly 1".into());
    }
    if req.theta.len() != req.cfg.param_count() {
        return bad(format!(
            "{} parameters, the model has {}",
            req.theta.len(),
            req.cfg.param_count()
        ));
    }
    if let Some(e) = footprint(req.cfg, req.n, req.trajectories, g.len()).excess(&gpu.limits) {
        return bad(format!(
            "{e}: use fewer trajectories, particles or grid points per run"
        ));
    }
    match &req.path {
        PathKind::Sampler { correctors, .. } => {
            let c = correctors;
            if c.steps > MAX_CORRECTORS {
                return bad(format!(
                    "{} corrector steps exceed {}",
                    c.steps, MAX_CORRECTORS
                ));
            }
            let pops = c.populations.max(1) as usize;
            if req.trajectories % pops != 0 || req.trajectories / pops > MAX_POPULATION {
                return bad(format!(
                    "{} trajectories do not split into {pops} populations of at most \
                     {MAX_POPULATION}",
                    req.trajectories
                ));
            }
            if c.resample > 1.0 {
                return bad(format!(
                    "resampling threshold {} must be in [0, 1]",
                    c.resample
                ));
            }
            if c.steps > 0
                && !(c.h_init > 0.0
                    && c.h_max >= c.h_init
                    && c.target_accept > 0.0
                    && c.target_accept < 1.0)
            {
                return bad(format!(
                    "bad corrector settings {c:?}: need 0 < h_init <= h_max, 0 < target_accept < 1"
                ));
            }
        }
        PathKind::ForwardNoise { x0 } => {
            if x0.len() != req.n * req.trajectories {
                return bad(format!(
                    "{} reference positions for {} paths of {} particles",
                    x0.len(),
                    req.trajectories,
                    req.n
                ));
            }
        }
    }
    Ok(())
}

/// Buffers of `shaders/denoise.wgsl`, bound by name (binding order in [`DENOISE_BINDINGS`]).
pub struct DenoiseArgs<'a> {
    /// [`DenoiseParams`] uniform.
    pub params: &'a wgpu::Buffer,
    /// Current positions, C·N vec4.
    pub pos: &'a wgpu::Buffer,
    /// Proposed positions, C·N vec4.
    pub prop: &'a wgpu::Buffer,
    /// (∇_x Ũ, u_i) at the current positions, C·N vec4.
    pub score: &'a wgpu::Buffer,
    /// (∇_x Ũ, u_i) at the proposal, C·N vec4.
    pub score_p: &'a wgpu::Buffer,
    /// Pieces of ∂_t Ũ at the current positions, C·N vec4.
    pub time_terms: &'a wgpu::Buffer,
    /// Pieces of ∂_t Ũ at the proposal, C·N vec4.
    pub time_p: &'a wgpu::Buffer,
    /// MALA step size per population, P f32.
    pub step_size: &'a wgpu::Buffer,
    /// Per (grid point, trajectory) records, 3 vec4 each.
    pub records: &'a wgpu::Buffer,
    /// Reference configurations of forward-noise paths, C·N vec4 (a placeholder otherwise).
    pub x0: &'a wgpu::Buffer,
}

impl DenoiseKernels {
    /// Bind group for `a`.
    pub fn bind(&self, gpu: &Gpu, a: &DenoiseArgs) -> wgpu::BindGroup {
        self.0.bind_group(
            gpu,
            &[
                a.params,
                a.pos,
                a.prop,
                a.score,
                a.score_p,
                a.time_terms,
                a.time_p,
                a.step_size,
                a.records,
                a.x0,
            ],
        )
    }
}

/// The device buffers of one run.
struct RunBuffers {
    params: wgpu::Buffer,
    times: wgpu::Buffer,
    pos: wgpu::Buffer,
    prop: wgpu::Buffer,
    score: wgpu::Buffer,
    score_p: wgpu::Buffer,
    time_terms: wgpu::Buffer,
    time_p: wgpu::Buffer,
    step_size: wgpu::Buffer,
    records: wgpu::Buffer,
    x0: wgpu::Buffer,
}

impl RunBuffers {
    fn new(gpu: &Gpu, req: &DenoiseRequest, uniform: &DenoiseParams, populations: usize) -> Self {
        let (n, c) = (req.n, req.trajectories);
        let cn = (c * n) as u64;
        let vec4 = |label: &str| gpu.storage_zeroed(label, 16 * cn);
        let x0 = match &req.path {
            PathKind::ForwardNoise { x0 } => {
                let x4: Vec<[f32; 4]> = x0
                    .iter()
                    .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
                    .collect();
                gpu.storage_from("denoise x0", &x4)
            }
            PathKind::Sampler { .. } => gpu.storage_zeroed("denoise x0 (unused)", 16),
        };
        Self {
            params: gpu.uniform_from("denoise params", uniform),
            times: gpu.storage_zeroed("denoise times", 4 * c as u64),
            pos: vec4("denoise pos"),
            prop: vec4("denoise prop"),
            score: vec4("denoise score"),
            score_p: vec4("denoise score_p"),
            time_terms: vec4("denoise time_terms"),
            time_p: vec4("denoise time_p"),
            step_size: gpu.storage_zeroed("denoise step_size", 4 * populations as u64),
            records: gpu.storage_zeroed(
                "denoise records",
                RECORD_BYTES * (req.grid.len() * c) as u64,
            ),
            x0,
        }
    }

    fn args(&self) -> DenoiseArgs<'_> {
        DenoiseArgs {
            params: &self.params,
            pos: &self.pos,
            prop: &self.prop,
            score: &self.score,
            score_p: &self.score_p,
            time_terms: &self.time_terms,
            time_p: &self.time_p,
            step_size: &self.step_size,
            records: &self.records,
            x0: &self.x0,
        }
    }
}

/// What a run does at every grid point, fixed for the whole run.
struct Plan {
    /// The model passes' batch (N, C and the packed-weight sizes).
    model: ModelParams,
    forward_noise: bool,
    predictor: bool,
    weighted: bool,
    resample: bool,
    /// Corrector steps at each grid point, in march order (t = 1 first).
    correctors: Vec<u32>,
    particle_groups: (u32, u32, u32),
    config_groups: (u32, u32, u32),
    population_groups: (u32, u32, u32),
}

/// The bind groups of a run: the sampler's and the model's at the current positions and at
/// the proposal (each with its time-derivative variant).
struct Groups {
    sampler: wgpu::BindGroup,
    current: (wgpu::BindGroup, wgpu::BindGroup),
    proposal: (wgpu::BindGroup, wgpu::BindGroup),
}

/// Records grid point `j` of the march (`last`: t = 0, no predictor move after it).
fn record_grid_point(
    pass: &mut wgpu::ComputePass<'_>,
    kernels: &DenoiseKernels,
    model: &ModelKernels,
    groups: &Groups,
    plan: &Plan,
    j: usize,
    last: bool,
) {
    let fam = &kernels.0;
    let group = &groups.sampler;
    if j == 0 && !plan.forward_noise {
        dispatch(pass, fam, "denoise_init", group, plan.particle_groups);
    }
    if plan.forward_noise {
        dispatch(pass, fam, "denoise_noise", group, plan.particle_groups);
    }
    model.record_time(pass, &groups.current.0, &groups.current.1, &plan.model);
    dispatch(pass, fam, "denoise_record_start", group, plan.config_groups);
    if plan.weighted && j > 0 {
        dispatch(pass, fam, "denoise_reweight", group, plan.population_groups);
        if plan.resample {
            dispatch(pass, fam, "denoise_stash", group, plan.particle_groups);
            dispatch(pass, fam, "denoise_gather", group, plan.particle_groups);
        }
    }
    for _ in 0..plan.correctors[j] {
        dispatch(pass, fam, "denoise_propose", group, plan.particle_groups);
        model.record_time(pass, &groups.proposal.0, &groups.proposal.1, &plan.model);
        dispatch(pass, fam, "denoise_accept", group, plan.config_groups);
    }
    if plan.correctors[j] > 0 {
        dispatch(pass, fam, "denoise_adapt", group, plan.population_groups);
    }
    dispatch(pass, fam, "denoise_record_end", group, plan.config_groups);
    if plan.predictor && !last {
        dispatch(pass, fam, "denoise_move", group, plan.particle_groups);
    }
}

/// The per-grid-point constants of the uniform at grid index `j` (t = `times[j]`,
/// descending).
fn set_grid_point(uniform: &mut DenoiseParams, l: f64, times: &[f64], j: usize, predictor: bool) {
    let t = times[j];
    uniform.step = j as u32;
    uniform.s_t = schedule(l, t).0 as f32;
    let next = times.get(j + 1).filter(|_| predictor);
    let (drift, noise) = next.map_or((0.0, 0.0), |&t1| predictor_coefficients(l, t, t1));
    uniform.drift = drift as f32;
    uniform.noise = noise as f32;
    uniform.back_var = next.map_or(0.0, |&t1| {
        (schedule(l, t).0.powi(2) - schedule(l, t1).0.powi(2)) as f32
    });
}

/// Runs C trajectories of the request on the device. `progress(done, total)` is called
/// with grid points completed.
pub fn run_denoise(
    gpu: &Gpu,
    kernels: &DenoiseKernels,
    model: &ModelKernels,
    req: &DenoiseRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DenoiseOutcome> {
    check(gpu, req)?;
    model.check_model(req.cfg)?;
    let start = Instant::now();
    let (n, c) = (req.n, req.trajectories);
    let points = req.grid.len();
    let l = req.sys.box_length;
    // Descending march: t_j = grid[K − j].
    let times: Vec<f64> = req.grid.iter().rev().copied().collect();
    let (predictor, corr) = match &req.path {
        PathKind::ForwardNoise { .. } => (false, None),
        PathKind::Sampler {
            predictor,
            correctors,
        } => (*predictor, Some(correctors).filter(|c| c.steps > 0)),
    };
    let populations = corr.map_or(1, |cs| cs.populations.max(1)) as usize;
    let resample = corr.map_or(0.0, |cs| cs.resample);
    let mut uniform = DenoiseParams {
        n: n as u32,
        n_configs: c as u32,
        key_lo: req.key[0],
        key_hi: req.key[1],
        box_length: l as f32,
        inv_box: (1.0 / l) as f32,
        populations: populations as u32,
        resample_threshold: resample as f32,
        ..Default::default()
    };
    if let Some(cs) = corr {
        uniform.target_accept = cs.target_accept as f32;
        uniform.adapt_rate = cs.adapt_rate as f32;
        uniform.h_max = cs.h_max as f32;
        uniform.h_init = cs.h_init as f32;
    }
    let forward_noise = matches!(req.path, PathKind::ForwardNoise { .. });
    let model_params = ModelParams::new(req.cfg, req.sys, n as u32, c as u32)?;
    let plan = Plan {
        model: model_params,
        forward_noise,
        predictor,
        weighted: !forward_noise,
        resample: resample > 0.0,
        correctors: times
            .iter()
            .map(|&t| corr.map_or(0, |cs| cs.steps_at(t)))
            .collect(),
        particle_groups: ((n as u32).div_ceil(WORKGROUP), c as u32, 1),
        config_groups: (1, c as u32, 1),
        population_groups: (1, populations as u32, 1),
    };

    let bufs = RunBuffers::new(gpu, req, &uniform, populations);
    let model_uniform = gpu.uniform_from("denoise model params", &model_params);
    let theta = gpu.storage_from("denoise theta", req.theta);
    let scratch = ModelScratch::new(gpu, req.cfg, n, c);
    let model_group = |p: &wgpu::Buffer, s: &wgpu::Buffer, tt: &wgpu::Buffer| {
        let args = scratch.args(&model_uniform, p, &bufs.times, &theta, s);
        (model.bind(gpu, &args), model.bind_time(gpu, &args, tt))
    };
    let groups = Groups {
        sampler: kernels.bind(gpu, &bufs.args()),
        current: model_group(&bufs.pos, &bufs.score, &bufs.time_terms),
        proposal: model_group(&bufs.prop, &bufs.score_p, &bufs.time_p),
    };

    let mut in_flight = std::collections::VecDeque::new();
    for (j, &t) in times.iter().enumerate() {
        set_grid_point(&mut uniform, l, &times, j, predictor);
        gpu.queue
            .write_buffer(&bufs.params, 0, bytemuck::bytes_of(&uniform));
        gpu.queue
            .write_buffer(&bufs.times, 0, bytemuck::cast_slice(&vec![t as f32; c]));
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            let last = j + 1 == points;
            record_grid_point(&mut pass, kernels, model, &groups, &plan, j, last);
        }
        in_flight.push_back(gpu.queue.submit([encoder.finish()]));
        if in_flight.len() > PACE {
            let index = in_flight.pop_front().expect("non-empty");
            gpu.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(index),
                    timeout: None,
                })
                .map_err(|e| Error::Device(format!("poll: {e}")))?;
            progress(j + 1 - PACE, points);
        }
    }
    let recs: Vec<[f32; 12]> = gpu.read_all(&bufs.records)?;
    let final4: Vec<[f32; 4]> = gpu.read(&bufs.pos, 0, (c * n) as u64)?;
    progress(points, points);
    let mut out = unpack_records(req, &times, &recs, populations)?;
    // Ascending in t, like every per-point array of the outcome.
    out.proposals = plan.correctors.iter().rev().copied().collect();
    out.final_positions = final4
        .iter()
        .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
        .collect();
    out.evaluations = plan.correctors.iter().map(|&m| 1 + m as u64).sum();
    out.wall_time_s = start.elapsed().as_secs_f64();
    Ok(out)
}

/// The per-trajectory, per-grid-point arrays of a run from its device records (`recs[j][c]`
/// in march order; the outcome is `[c][k]` with k = K − j); fails on a non-finite integrand
/// or energy. Positions, proposals, evaluations and time are left for the caller.
fn unpack_records(
    req: &DenoiseRequest,
    times: &[f64],
    recs: &[[f32; 12]],
    populations: usize,
) -> Result<DenoiseOutcome> {
    let c = req.trajectories;
    let points = times.len();
    let mut integrand = vec![vec![0.0; points]; c];
    let mut u_start = vec![vec![0.0; points]; c];
    let mut u_end = vec![vec![0.0; points]; c];
    let mut accepted = vec![vec![0u32; points]; c];
    let mut log_weight = vec![vec![0.0; points]; c];
    let mut log_norm = vec![vec![0.0; points]; populations];
    let mut ancestor = vec![vec![0u32; points]; c];
    let size = c / populations;
    for (j, &t) in times.iter().enumerate() {
        let k = points - 1 - j;
        for ci in 0..c {
            let r = &recs[j * c + ci];
            let parts = TimeParts {
                e_net: r[0] as f64,
                de_net: r[1] as f64,
                e_soft: r[2] as f64,
                de_soft_da: r[3] as f64,
            };
            integrand[ci][k] = combine_time_derivative(req.sys, t as f32 as f64, &parts);
            u_start[ci][k] = r[4] as f64;
            u_end[ci][k] = r[5] as f64;
            accepted[ci][k] = r[6] as u32;
            log_weight[ci][k] = r[8] as f64;
            if ci % size == 0 {
                log_norm[ci / size][k] = r[9] as f64;
            }
            ancestor[ci][k] = r[10] as u32;
        }
    }
    let bad = integrand
        .iter()
        .flatten()
        .chain(u_end.iter().flatten())
        .filter(|v| !v.is_finite())
        .count();
    if bad > 0 {
        return Err(Error::Simulation(format!(
            "the denoising sampler produced {bad} non-finite integrand or energy values (the \
             model's energy overflowed along some trajectories: an untrained or diverged \
             model, or a corrector step size too large)"
        )));
    }
    Ok(DenoiseOutcome {
        grid: req.grid.to_vec(),
        integrand,
        u_start,
        u_end,
        accepted,
        log_weight,
        log_norm,
        ancestor,
        populations,
        proposals: Vec::new(),
        final_positions: Vec::new(),
        evaluations: 0,
        wall_time_s: 0.0,
    })
}
