//! Widom test-particle insertion on the device (`shaders/widom.wgsl`) and its estimator.
//!
//! βμ_ex(N → N+1) = −ln ⟨exp(−βΔU)⟩, averaged over stored configurations of the N-particle
//! fluid and uniform insertion points. Energies are computed on the device (many
//! insertions per configuration, all configurations of a chunk in one dispatch); the
//! average is taken on the host in f64 with log-sum-exp care. The error bar comes from
//! block averaging the per-configuration mean Boltzmann factor over replicas and time; the
//! diagnostics say when the average is carried by a handful of insertions, as happens at
//! liquid densities where Widom insertion fails.

use crate::error::Result;
use crate::gpu::kernel::StructLayout;
use crate::gpu::kernel::{bind, dispatch, Access::*, BindingSpec, KernelFamily};
use crate::gpu::Gpu;
use crate::reference::widom::MIN_R2;
use crate::scene::LjParams;
use crate::stats::{block_average, tau_int_replicas, Estimate};
use crate::struct_layout;
use bytemuck::{Pod, Zeroable};
use serde::Serialize;

/// Host mirrors of this module's WGSL structs, for the layout reflection test.
pub const STRUCT_LAYOUTS: &[StructLayout] = &[struct_layout!(
    "widom",
    "WidomParams",
    WidomParams {
        n,
        n_configs,
        insertions,
        first_config,
        box_length,
        inv_box,
        eps4,
        sigma2,
        rc2,
        shift,
        beta,
        min_r2,
        seed_lo,
        seed_hi,
        _pad0,
        _pad1,
    }
)];

/// Bindings of `shaders/widom.wgsl`.
pub const WIDOM_BINDINGS: &[BindingSpec] = &[
    bind(0, "params", Uniform),
    bind(1, "configs", ReadOnly),
    bind(2, "du", ReadWrite),
];

/// Host mirror of WGSL `WidomParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct WidomParams {
    /// Particles per configuration.
    pub n: u32,
    /// Configurations in this chunk.
    pub n_configs: u32,
    /// Insertions per configuration.
    pub insertions: u32,
    /// Global index of the chunk's first configuration (Philox counter).
    pub first_config: u32,
    /// Box side.
    pub box_length: f32,
    /// 1 / box side.
    pub inv_box: f32,
    /// 4 epsilon.
    pub eps4: f32,
    /// sigma^2.
    pub sigma2: f32,
    /// Cutoff squared (f32::MAX without cutoff).
    pub rc2: f32,
    /// Energy shift.
    pub shift: f32,
    /// 1 / kT.
    pub beta: f32,
    /// Smallest squared pair distance used.
    pub min_r2: f32,
    /// Philox key, low word.
    pub seed_lo: u32,
    /// Philox key, high word.
    pub seed_hi: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// `shaders/widom.wgsl`.
pub struct WidomKernel(pub KernelFamily);

impl WidomKernel {
    /// Compiles the kernel.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        Ok(Self(KernelFamily::new(
            gpu,
            "widom",
            WIDOM_BINDINGS,
            &["widom_insert"],
        )?))
    }
}

/// Where the configurations are: a device buffer of `frames * replicas * n` vec4
/// (frame-major, as the sampler keeps them).
pub struct Configurations<'a> {
    /// The buffer.
    pub buffer: &'a wgpu::Buffer,
    /// Particles per configuration.
    pub n: u32,
    /// Replicas.
    pub replicas: u32,
    /// Frames per replica.
    pub frames: u32,
}

/// beta * Delta U of `insertions` insertions into every configuration, configuration-major
/// (`du[c * insertions + k]`, c = frame * replicas + replica).
pub fn insertion_energies(
    gpu: &Gpu,
    kernel: &WidomKernel,
    configs: &Configurations,
    lj: &LjParams,
    beta: f64,
    insertions: u32,
    seed: u64,
) -> Result<Vec<f32>> {
    let n = configs.n as u64;
    let total = configs.frames as u64 * configs.replicas as u64;
    let limit = gpu.limits.max_storage_buffer_binding_size.min(64 << 20);
    // Configurations per chunk: bounded by the binding limit for the inputs and outputs
    // and by the dispatch limit.
    let per_config = (16 * n).max(4 * insertions as u64);
    let chunk = (limit / per_config)
        .min(gpu.limits.max_compute_workgroups_per_dimension as u64)
        .max(1);
    let chunk_configs = gpu.storage_zeroed("widom configs", chunk * 16 * n);
    let chunk_du = gpu.storage_zeroed("widom du", chunk * 4 * insertions as u64);
    let params_buf = gpu.uniform_from("widom params", &WidomParams::default());
    let group = kernel
        .0
        .bind_group(gpu, &[&params_buf, &chunk_configs, &chunk_du]);
    let mut out = Vec::with_capacity((total * insertions as u64) as usize);
    let mut first = 0u64;
    while first < total {
        let count = chunk.min(total - first);
        let params = WidomParams {
            n: configs.n,
            n_configs: count as u32,
            insertions,
            first_config: first as u32,
            box_length: lj.box_length as f32,
            inv_box: (1.0 / lj.box_length) as f32,
            eps4: (4.0 * lj.epsilon) as f32,
            sigma2: (lj.sigma * lj.sigma) as f32,
            rc2: lj.cutoff.map_or(f32::MAX, |rc| (rc * rc) as f32),
            shift: lj.shift_energy() as f32,
            beta: beta as f32,
            min_r2: MIN_R2 as f32,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            _pad0: 0,
            _pad1: 0,
        };
        gpu.queue
            .write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(
            configs.buffer,
            first * 16 * n,
            &chunk_configs,
            0,
            count * 16 * n,
        );
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            dispatch(
                &mut pass,
                &kernel.0,
                "widom_insert",
                &group,
                (insertions.div_ceil(64), count as u32, 1),
            );
        }
        gpu.queue.submit([encoder.finish()]);
        out.extend(gpu.read::<f32>(&chunk_du, 0, count * insertions as u64)?);
        first += count;
    }
    Ok(out)
}

/// Widom estimate with its diagnostics (`results.json` entry `free_energy.<N>.widom`, where
/// `betamu_ex` is the entry's `mean`/`err` and `energy_evaluations` its `cost`).
#[derive(Clone, Debug, Serialize)]
pub struct WidomEstimate {
    /// βμ_ex(N → N+1) of the simulated potential plus the tail correction (if any).
    #[serde(skip)]
    pub betamu_ex: Estimate,
    /// βμ_ex of the simulated (truncated) potential alone.
    pub betamu_ex_simulated: Estimate,
    /// β μ_tail added (0 for the minimum-image potential).
    pub betamu_tail: f64,
    /// Insertions in total.
    pub insertions: u64,
    /// Configurations used.
    pub configurations: u64,
    /// Kish effective number of insertions, (Σw)² / Σw².
    pub effective_insertions: f64,
    /// Largest weight of a single insertion as a fraction of the total.
    pub max_insertion_weight: f64,
    /// Largest weight of a single configuration as a fraction of the total.
    pub max_configuration_weight: f64,
    /// Whether the diagnostics trust the number.
    pub converged: bool,
    /// Why not, in words (empty when converged).
    pub diagnosis: String,
    /// Running estimate: (insertions used, βμ_ex) after each tenth of the configurations
    /// (of the simulated potential, without `betamu_tail`).
    pub running: Vec<(u64, f64)>,
    /// Standard error of each running estimate: the standard error of the mean weight of
    /// the configurations used, scaled by the ratio of the block-average error of all
    /// configurations to their plain standard error (so that the last equals `err`),
    /// relative to that mean (not in results.json;
    /// written to `widom_N<N>_running.csv`).
    #[serde(skip)]
    pub running_err: Vec<f64>,
    /// Pair-energy evaluations spent (insertions × N).
    #[serde(skip)]
    pub energy_evaluations: u64,
}

/// Thresholds of the convergence diagnosis.
pub const MIN_EFFECTIVE_INSERTIONS: f64 = 100.0;
/// A single insertion may carry at most this fraction of the total weight.
pub const MAX_INSERTION_WEIGHT: f64 = 0.02;
/// A single configuration may carry at most this fraction (with >= 20 configurations).
pub const MAX_CONFIGURATION_WEIGHT: f64 = 0.1;
/// Largest statistical error accepted, in kT.
pub const MAX_ERROR: f64 = 0.1;

fn log_mean_exp(du: &[f32], shift: f64) -> f64 {
    let s: f64 = du.iter().map(|&u| (-(u as f64) + shift).exp()).sum();
    s.ln() - shift - (du.len() as f64).ln()
}

/// βμ_ex from insertion energies `du` (configuration-major, c = frame * replicas +
/// replica), with errors and diagnostics. `betamu_tail` is added to the result.
pub fn widom_estimate(
    du: &[f32],
    n: u32,
    replicas: u32,
    frames: u32,
    insertions: u32,
    betamu_tail: f64,
) -> WidomEstimate {
    let ins = insertions as usize;
    let configs = (replicas * frames) as usize;
    // Shift so that the largest weight is exp(0) = 1.
    let shift = du.iter().map(|&u| u as f64).fold(f64::INFINITY, f64::min);
    let shift = if shift.is_finite() { shift } else { 0.0 };
    let w = |u: f32| (-(u as f64 - shift)).exp();
    let per_config: Vec<f64> = (0..configs)
        .map(|c| {
            du[c * ins..(c + 1) * ins]
                .iter()
                .map(|&u| w(u))
                .sum::<f64>()
                / ins as f64
        })
        .collect();
    let series: Vec<Vec<f64>> = (0..replicas as usize)
        .map(|b| {
            (0..frames as usize)
                .map(|f| per_config[f * replicas as usize + b])
                .collect()
        })
        .collect();
    let tau = tau_int_replicas(&series);
    let mean_w = block_average(&series, tau);
    let mu_sim = -(mean_w.mean.ln()) + shift;
    let err = if mean_w.mean > 0.0 {
        mean_w.err / mean_w.mean
    } else {
        f64::INFINITY
    };
    let sum: f64 = du.iter().map(|&u| w(u)).sum();
    let sum2: f64 = du.iter().map(|&u| w(u).powi(2)).sum();
    let max_w = du.iter().map(|&u| w(u)).fold(0.0, f64::max);
    let effective = if sum2 > 0.0 { sum * sum / sum2 } else { 0.0 };
    let max_insertion_weight = if sum > 0.0 { max_w / sum } else { 1.0 };
    let max_configuration_weight = if sum > 0.0 {
        per_config.iter().fold(0.0, |a: f64, &b| a.max(b)) * ins as f64 / sum
    } else {
        1.0
    };
    let mut problems = Vec::new();
    if effective < MIN_EFFECTIVE_INSERTIONS {
        problems.push(format!(
            "only {effective:.1} effective insertions (< {MIN_EFFECTIVE_INSERTIONS})"
        ));
    }
    if max_insertion_weight > MAX_INSERTION_WEIGHT {
        problems.push(format!(
            "one insertion carries {:.1}% of the weight",
            100.0 * max_insertion_weight
        ));
    }
    if configs >= 20 && max_configuration_weight > MAX_CONFIGURATION_WEIGHT {
        problems.push(format!(
            "one configuration carries {:.1}% of the weight",
            100.0 * max_configuration_weight
        ));
    }
    if err.is_nan() || err > MAX_ERROR {
        problems.push(format!("statistical error {err:.3} kT > {MAX_ERROR}"));
    }
    let tenths: Vec<usize> = (1..=10)
        .map(|tenth| (configs * tenth / 10).max(1))
        .collect();
    let running = tenths
        .iter()
        .map(|&c| ((c * ins) as u64, -log_mean_exp(&du[..c * ins], shift)))
        .collect();
    // (mean, naive standard error) of the per-configuration mean weights of the first c.
    let naive = |c: usize| {
        let e = crate::stats::mean_and_error(&per_config[..c]);
        (e.mean, e.err)
    };
    let scale = {
        let (_, all) = naive(configs);
        if all > 0.0 && mean_w.err.is_finite() {
            mean_w.err / all
        } else {
            1.0
        }
    };
    let running_err = tenths
        .iter()
        .map(|&c| {
            let (m, se) = naive(c);
            if m > 0.0 {
                se * scale / m
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let converged = problems.is_empty();
    WidomEstimate {
        betamu_ex: Estimate {
            mean: mu_sim + betamu_tail,
            err,
        },
        betamu_ex_simulated: Estimate { mean: mu_sim, err },
        betamu_tail,
        insertions: du.len() as u64,
        configurations: configs as u64,
        effective_insertions: effective,
        max_insertion_weight,
        max_configuration_weight,
        converged,
        diagnosis: if converged {
            String::new()
        } else {
            format!("Widom insertion has not converged: {}", problems.join("; "))
        },
        running,
        running_err,
        energy_evaluations: du.len() as u64 * n as u64,
    }
}
