//! The adapter's peak arithmetic throughput (`shaders/peak.wgsl`) and the energy model's
//! passes measured against it.
//!
//! - `peak-fma`: a register-resident chain of fused multiply-adds (2 × 12 × 4096 FLOP per
//!   invocation, 65 536 invocations): the adapter's measured f32 peak, the denominator of
//!   every "fraction of peak" below. No CPU reference (it is the hardware's figure).
//! - `peak-gemm-D64-H64`: z = W x for 6400 vectors in the layout and register blocking of
//!   the model's layers (2·64·64 FLOP per vector), against a plain f32 loop on the CPU.
//! - `model-passes-N{40,200}-C32`: every pass of one training step with the default model
//!   on a batch of 32 configurations (`shaders/model_energy.wgsl`, `shaders/model_grad.wgsl`),
//!   each dispatched alone and waited for; the matrix-product passes (`model_mlp`,
//!   `grad_mlp`, `grad_weights`) with FLOP counts from the model's shapes ([`mlp_flops`]),
//!   their FLOP/s and fraction of the `peak-fma` figure measured in the same workload. The
//!   throughput is configurations per second of the sum of the passes.

use super::{on_threads, KernelFigure, Spread, WorkloadResult};
use crate::error::Result;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::model::adam::Adam;
use crate::model::model_grad::{GradKernels, GradWorkspace};
use crate::model::ModelKernels;
use crate::scene::{AdamSettings, ModelConfig, ModelSystem};
use serde::Serialize;
use std::time::Instant;

/// Bindings of `shaders/peak.wgsl`.
pub const PEAK_BINDINGS: &[BindingSpec] = &[
    bind(0, "x", ReadOnly),
    bind(1, "w4", ReadOnly),
    bind(2, "z", ReadWrite),
];

/// Every (shader, bindings) pair of this module, for the layout reflection test.
pub const ALL_LAYOUTS: &[(&str, &[BindingSpec])] = &[("peak", PEAK_BINDINGS)];

/// Invocations of `peak_fma`.
const FMA_INVOCATIONS: u32 = 64 * 1024;
/// FLOP per invocation of `peak_fma`.
const FMA_FLOPS_PER_INVOCATION: f64 = 2.0 * 12.0 * 4096.0;
/// Vectors of `peak_gemm`.
const GEMM_VECTORS: u32 = 6400;

/// A peak or model-pass workload.
#[derive(Clone, Debug, Serialize)]
pub struct ModelWorkload {
    /// Stable name.
    pub name: String,
    /// "peak-fma", "peak-gemm" or "model-passes".
    pub what: String,
    /// Particles per configuration (model passes).
    pub n: u32,
    /// Configurations (model passes).
    pub configs: u32,
}

impl ModelWorkload {
    /// The register FMA loop.
    pub fn peak_fma() -> Self {
        Self {
            name: "peak-fma".into(),
            what: "peak-fma".into(),
            n: 0,
            configs: 0,
        }
    }

    /// The model-shaped matrix product.
    pub fn peak_gemm() -> Self {
        Self {
            name: "peak-gemm-D64-H64".into(),
            what: "peak-gemm".into(),
            n: 0,
            configs: 0,
        }
    }

    /// Every pass of a training step at N particles, 32 configurations.
    pub fn passes(n: u32) -> Self {
        Self {
            name: format!("model-passes-N{n}-C32"),
            what: "model-passes".into(),
            n,
            configs: 32,
        }
    }
}

/// FLOP per particle of the matrix-product passes of the default-shaped model `cfg`, as the
/// kernels compute them (hidden width padded to a multiple of four, Hp; D features, Dp
/// padded): `model_mlp` 2 (D Hp + Hp² + Hp² + Hp Dp), `grad_mlp` 4 (D Hp + 2 Hp²),
/// `grad_weights` 4 Hp (D + Hp). Activations and other passes are not counted.
pub fn mlp_flops(cfg: &ModelConfig, entry: &str) -> f64 {
    let hp = 4.0 * cfg.hidden.div_ceil(4) as f64;
    let d = cfg.feature_dim() as f64;
    let dp = 4.0 * cfg.feature_dim().div_ceil(4) as f64;
    match entry {
        "model_mlp" => 2.0 * (d * hp + 2.0 * hp * hp + hp * dp),
        "grad_mlp" => 4.0 * (d * hp + 2.0 * hp * hp),
        "grad_weights" => 4.0 * hp * (d + hp),
        _ => 0.0,
    }
}

/// Median seconds of `repeats` runs of `f` (device synchronised by `f`), after one warm-up.
fn median_seconds(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<Spread> {
    f()?;
    let mut secs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        f()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    Ok(Spread::of(secs))
}

/// The peak kernels, compiled at the model kernels' particles per invocation.
struct Peak {
    family: KernelFamily,
    ppl: u32,
}

impl Peak {
    fn new(gpu: &Gpu) -> Result<Self> {
        let ppl = ModelKernels::new(gpu, &ModelConfig::default())?.particles_per_invocation();
        Ok(Self {
            family: KernelFamily::with_parameters(
                gpu,
                "peak",
                PEAK_BINDINGS,
                &["peak_fma", "peak_gemm"],
                &[("PPL", ppl)],
            )?,
            ppl,
        })
    }

    /// Seconds of one `peak_fma` dispatch (median of 5).
    fn fma_seconds(&self, gpu: &Gpu) -> Result<Spread> {
        let x = gpu.storage_from("peak x", &[0.0f32; 4]);
        let w = gpu.storage_from("peak w4", &[[0.0f32; 4]; 1]);
        let z = gpu.storage_zeroed("peak z", 4 * FMA_INVOCATIONS as u64);
        let group = self.family.bind_group(gpu, &[&x, &w, &z]);
        median_seconds(5, || {
            self.submit(gpu, "peak_fma", &group, FMA_INVOCATIONS / 64)
        })
    }

    fn submit(&self, gpu: &Gpu, entry: &str, group: &wgpu::BindGroup, groups: u32) -> Result<()> {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            dispatch(&mut pass, &self.family, entry, group, (groups, 1, 1));
        }
        gpu.queue.submit([encoder.finish()]);
        gpu.wait()
    }
}

/// FLOP/s of `peak_fma` on this adapter (median of 5 dispatches).
pub fn measured_peak(gpu: &Gpu) -> Result<f64> {
    let peak = Peak::new(gpu)?;
    let s = peak.fma_seconds(gpu)?;
    Ok(FMA_INVOCATIONS as f64 * FMA_FLOPS_PER_INVOCATION / s.median)
}

/// Runs one workload of this module.
pub fn bench_model(gpu: &Gpu, w: &ModelWorkload) -> Result<WorkloadResult> {
    match w.what.as_str() {
        "peak-fma" => bench_peak_fma(gpu, w),
        "peak-gemm" => bench_peak_gemm(gpu, w),
        _ => bench_passes(gpu, w),
    }
}

fn bench_peak_fma(gpu: &Gpu, w: &ModelWorkload) -> Result<WorkloadResult> {
    let peak = Peak::new(gpu)?;
    let s = peak.fma_seconds(gpu)?;
    let flops = FMA_INVOCATIONS as f64 * FMA_FLOPS_PER_INVOCATION;
    let mut r = WorkloadResult::timed(
        &w.name,
        "peak",
        "FLOP/s",
        flops as u64,
        "FLOP per dispatch",
        Spread::of(vec![flops / s.max, flops / s.median, flops / s.min]),
        None,
        serde_json::to_value(w).unwrap_or_default(),
    );
    r.notes.push(
        "register-resident f32 fma chains: the adapter's measured peak (no CPU figure)".into(),
    );
    Ok(r)
}

fn bench_peak_gemm(gpu: &Gpu, w: &ModelWorkload) -> Result<WorkloadResult> {
    let peak = Peak::new(gpu)?;
    let (d, h) = (64usize, 64usize);
    let count = GEMM_VECTORS as usize;
    let x: Vec<f32> = (0..count * d).map(|i| (i % 97) as f32 * 0.01).collect();
    let wm: Vec<f32> = (0..h * d).map(|i| (i % 13) as f32 * 0.01).collect();
    // w4[d * 16 + qb][k] = W[4 qb + k][d].
    let w4: Vec<[f32; 4]> = (0..d)
        .flat_map(|dd| (0..h / 4).map(move |qb| (dd, qb)))
        .map(|(dd, qb)| std::array::from_fn(|k| wm[(4 * qb + k) * d + dd]))
        .collect();
    let xb = gpu.storage_from("gemm x", &x);
    let wb = gpu.storage_from("gemm w4", &w4);
    let zb = gpu.storage_zeroed("gemm z", 4 * (count * h) as u64);
    let group = peak.family.bind_group(gpu, &[&xb, &wb, &zb]);
    let groups = (GEMM_VECTORS).div_ceil(64 * peak.ppl);
    let s = median_seconds(5, || peak.submit(gpu, "peak_gemm", &group, groups))?;
    let flops = 2.0 * (count * d * h) as f64;
    // The CPU reference: the same product in f32, vectors split over the threads.
    let cpu = |threads: usize| -> f64 {
        let (done, secs) = on_threads(threads, |k, threads| {
            let mut out = vec![0.0f32; h];
            let mut done = 0;
            for p in (k..count).step_by(threads) {
                for (q, o) in out.iter_mut().enumerate() {
                    *o = (0..d).map(|dd| wm[q * d + dd] * x[p * d + dd]).sum();
                }
                std::hint::black_box(&out);
                done += 1;
            }
            done
        });
        done as f64 * 2.0 * (d * h) as f64 / secs
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut r = WorkloadResult::timed(
        &w.name,
        "peak",
        "FLOP/s",
        flops as u64,
        "FLOP per dispatch",
        Spread::of(vec![flops / s.max, flops / s.median, flops / s.min]),
        Some((cpu(1), cpu(threads), threads)),
        serde_json::to_value(w).unwrap_or_default(),
    );
    let fma = peak.fma_seconds(gpu)?;
    let peak_flops = FMA_INVOCATIONS as f64 * FMA_FLOPS_PER_INVOCATION / fma.median;
    r.extra.insert("peak_fma_flops_per_s".into(), peak_flops);
    r.extra
        .insert("fraction_of_peak".into(), flops / s.median / peak_flops);
    r.extra
        .insert("particles_per_invocation".into(), peak.ppl as f64);
    r.notes.push(format!(
        "z = W x, D = H = 64, {} vectors, {} per invocation in registers; CPU: plain f32 loops",
        GEMM_VECTORS, peak.ppl
    ));
    Ok(r)
}

fn bench_passes(gpu: &Gpu, w: &ModelWorkload) -> Result<WorkloadResult> {
    let cfg = ModelConfig::default();
    let sys = ModelSystem {
        box_length: 6.0,
        beta: 1.0,
        epsilon: 0.8,
        sigma: 1.0,
        cutoff: None,
    };
    let (n, c) = (w.n as usize, w.configs as usize);
    let model = ModelKernels::new(gpu, &cfg)?;
    let grad = GradKernels::new(gpu, &model)?;
    let theta: Vec<f32> = cfg.init_params(1).iter().map(|&p| p as f32).collect();
    let adam = Adam::new(gpu, &AdamSettings::default(), &theta, None, None, 0)?;
    let ws = GradWorkspace::new(gpu, &model, &grad, &cfg, &sys, &[(n, c)], &adam.theta)?;
    let (pos, _) = crate::md::init::initial_state(n as u32, c as u32, 6.0, 1.0, 1.0, 5);
    let noise: Vec<[f64; 3]> = pos
        .iter()
        .map(|p| [p[1] - 3.0, p[2] - 3.0, p[0] - 3.0])
        .collect();
    let times: Vec<f64> = (0..c).map(|k| (k as f64 + 0.5) / c as f64).collect();
    ws.upload(gpu, &[(&pos, &noise, &times)])?;
    let wall = || {
        let t0 = Instant::now();
        move || t0.elapsed().as_secs_f64()
    };
    ws.time_passes(gpu, &model, &grad, &wall())?;
    let mut runs: Vec<Vec<(&'static str, f64)>> = Vec::new();
    for _ in 0..3 {
        runs.push(ws.time_passes(gpu, &model, &grad, &wall())?);
    }
    let peak_flops = measured_peak(gpu)?;
    let particles = (n * c) as f64;
    let mut kernels = Vec::new();
    let mut totals = vec![0.0; runs.len()];
    let mut extra = std::collections::BTreeMap::new();
    for (k, &(entry, _)) in runs[0].iter().enumerate() {
        let secs: Vec<f64> = runs.iter().map(|r| r[k].1).collect();
        for (t, s) in totals.iter_mut().zip(&secs) {
            *t += s;
        }
        let spread = Spread::of(secs);
        let flops = mlp_flops(&cfg, entry) * particles;
        if flops > 0.0 {
            extra.insert(
                format!("fraction_of_peak.{entry}"),
                flops / spread.median / peak_flops,
            );
        }
        kernels.push(KernelFigure {
            kernel: entry.into(),
            calls: 1,
            pairs_visited: 0.0,
            pairs_interacting: 0.0,
            flops_per_call: flops,
            bytes_per_call: 0.0,
            wall_s_per_call: spread,
            gpu_s_per_call: None,
            time_source: "wall".into(),
            flops_per_s: flops / spread.median,
            bytes_per_s: 0.0,
        });
    }
    extra.insert("peak_fma_flops_per_s".into(), peak_flops);
    let per_s: Vec<f64> = totals.iter().map(|t| c as f64 / t).collect();
    let mut r = WorkloadResult::timed(
        &w.name,
        "model",
        "configurations/s",
        c as u64,
        "configurations",
        Spread::of(per_s),
        None,
        serde_json::to_value(w).unwrap_or_default(),
    );
    r.kernels = kernels;
    r.extra = extra;
    r.notes.push(
        "every pass dispatched alone and waited for (submission overhead included); FLOP \
         counts only for the matrix-product passes (bench::model::mlp_flops); the CPU \
         reference of a whole step is train-step-N*-B32"
            .into(),
    );
    Ok(r)
}
