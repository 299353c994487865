//! Benchmarks as a program (`nti-gpu bench`, `cargo bench`): warm-up, device
//! synchronisation before every clock read, repeats, median / min / max, in the field's
//! units (particle-steps per second), next to the CPU reference engine
//! ([`crate::reference::cpu_md`]) measured in the same run, single-threaded and on all
//! threads, as a ratio.
//!
//! Workloads (versioned by [`SUITE_VERSION`]):
//! - `paper-N200-B{1,64,256}`: the paper's box (L = 6, eps = 0.8 kT, every minimum-image
//!   pair, no cutoff), N = 200, B independent replicas in the same dispatches.
//! - `lj-rho0.8-N{4000,32000}`: LJ fluid rho = 0.8, T = 2, r_c = 2.5, cell list + Verlet
//!   list (skin 0.3), one replica (the LAMMPS comparison point).
//! - `hoomd-lj-liquid-N64000` (standard suite): HOOMD-blue's lj-liquid, rho = 0.382,
//!   r_c = 3.0, T = 1.2, dt = 0.005.
//! - `lambda-windows-N40-B48`: 48 λ windows of the paper's N = 40 box on the WCA soft-core
//!   leg, one batched run (the λ-TI baseline's workload); its CPU figure is the f64 force
//!   routine alone (no integration), so the ratio flatters the CPU.
//! - `train-step-N{40,200}-B32`: one training step (denoising loss, second-order parameter
//!   gradient, AdamW) with the default model on a batch of 32, against the f64 reference
//!   gradient on one thread.
//!
//! Version 2 added the Widom, λ-window and training workloads.

use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::init::initial_state;
use crate::md::system::Alchemy;
use crate::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use crate::reference::alchemy::{alchemical_forces, AlchemicalPath};
use crate::reference::cpu_md::{CpuMd, CpuPairSearch};
use crate::reference::integrate::Baoab;
use crate::reference::lj::LjParams;
use crate::reference::rng::key_of;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// Version of the workload definitions; bump when a workload changes.
pub const SUITE_VERSION: u32 = 2;

/// One MD workload.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// Stable name.
    pub name: String,
    /// Particles per replica.
    pub n: u32,
    /// Replicas.
    pub replicas: u32,
    /// Number density.
    pub density: f64,
    /// kT.
    pub temperature: f64,
    /// LJ epsilon.
    pub epsilon: f64,
    /// Cutoff (None: all minimum-image pairs).
    pub cutoff: Option<f64>,
    /// Verlet skin for cell lists.
    pub skin: Option<f64>,
    /// Time step.
    pub dt: f64,
    /// λ windows: every replica runs this alchemical path at its own λ (evenly spread on
    /// [0, 1]); `None` for plain LJ.
    pub alchemy: Option<AlchemicalPath>,
}

impl Workload {
    fn paper(replicas: u32) -> Self {
        Workload {
            name: format!("paper-N200-B{replicas}"),
            n: 200,
            replicas,
            density: 200.0 / 216.0,
            temperature: 1.0,
            epsilon: 0.8,
            cutoff: None,
            skin: None,
            dt: 0.005,
            alchemy: None,
        }
    }
    fn fluid(n: u32) -> Self {
        Workload {
            name: format!("lj-rho0.8-N{n}"),
            n,
            replicas: 1,
            density: 0.8,
            temperature: 2.0,
            epsilon: 1.0,
            cutoff: Some(2.5),
            skin: Some(0.3),
            dt: 0.005,
            alchemy: None,
        }
    }
    fn hoomd() -> Self {
        Workload {
            name: "hoomd-lj-liquid-N64000".into(),
            n: 64000,
            replicas: 1,
            density: 0.382,
            temperature: 1.2,
            epsilon: 1.0,
            cutoff: Some(3.0),
            skin: Some(0.4),
            dt: 0.005,
            alchemy: None,
        }
    }

    fn lambda_windows() -> Self {
        Workload {
            name: "lambda-windows-N40-B48".into(),
            n: 40,
            replicas: 48,
            density: 40.0 / 216.0,
            temperature: 1.0,
            epsilon: 0.8,
            cutoff: None,
            skin: None,
            dt: 0.005,
            alchemy: Some(AlchemicalPath::WcaSoftCore),
        }
    }

    fn box_length(&self) -> f64 {
        (self.n as f64 / self.density).cbrt()
    }

    fn lj(&self) -> LjParams {
        LjParams {
            epsilon: self.epsilon,
            sigma: 1.0,
            cutoff: self.cutoff,
            shift: false,
            box_length: self.box_length(),
        }
    }

    fn md_config(&self) -> MdConfig {
        let lj = self.lj();
        MdConfig {
            n: self.n,
            replicas: self.replicas,
            lj,
            kt: self.temperature,
            mass: 1.0,
            dt: self.dt,
            friction: 1.0,
            seed: 42,
            search: match self.skin {
                Some(skin) => PairSearch::CellList { skin },
                None => PairSearch::AllPairs,
            },
            gr_bins: 100,
            gr_max: self.cutoff.unwrap_or(0.5 * lj.box_length),
            neighbor_capacity: None,
            alchemy: self.alchemy.map(|path| Alchemy {
                path,
                lambdas: (0..self.replicas)
                    .map(|b| b as f64 / (self.replicas.max(2) - 1) as f64)
                    .collect(),
            }),
        }
    }
}

/// The workloads of a suite: `quick` (under two minutes on a 2-core software adapter) or
/// `standard`.
pub fn suite(name: &str) -> Option<Vec<Workload>> {
    match name {
        "quick" => Some(vec![
            Workload::paper(1),
            Workload::paper(64),
            Workload::fluid(4000),
            Workload::lambda_windows(),
        ]),
        "standard" => Some(vec![
            Workload::paper(1),
            Workload::paper(64),
            Workload::paper(256),
            Workload::fluid(4000),
            Workload::fluid(32000),
            Workload::hoomd(),
            Workload::lambda_windows(),
        ]),
        _ => None,
    }
}

/// Median, min and max of repeated measurements.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(|a, b| a.total_cmp(b));
        Spread {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// Result of one workload.
#[derive(Clone, Debug, Serialize)]
pub struct MdBenchResult {
    /// The workload.
    pub workload: Workload,
    /// GPU particle-steps per second (B * N * steps / wall time).
    pub gpu_particle_steps_per_s: Spread,
    /// GPU particle-steps per CPU-second of this process (meaningful for software
    /// adapters, whose "device" is the CPU; Linux only).
    pub gpu_particle_steps_per_cpu_s: Option<f64>,
    /// MD time steps per second of the whole batch (HOOMD's unit).
    pub gpu_steps_per_s: f64,
    /// Seconds of the first step (pipeline compilation on software adapters).
    pub first_step_s: f64,
    /// Device memory of the MD state per particle, bytes.
    pub device_bytes_per_particle: f64,
    /// Neighbour-list rebuilds per 100 steps (cell-list workloads).
    pub rebuilds_per_100_steps: Option<f64>,
    /// CPU reference, one thread: particle-steps per second (one replica).
    pub cpu_1thread_particle_steps_per_s: f64,
    /// CPU reference on all threads.
    pub cpu_all_threads_particle_steps_per_s: f64,
    /// Threads used for the all-threads figure.
    pub cpu_threads: usize,
    /// GPU median / CPU one thread.
    pub ratio_vs_cpu_1thread: f64,
    /// GPU median / CPU all threads.
    pub ratio_vs_cpu_all_threads: f64,
}

fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Time budget per workload and side (GPU, CPU), seconds.
const TARGET_SECONDS: f64 = 3.0;

/// GPU-side measurements of one workload.
struct GpuMeasurement {
    rates: Spread,
    per_cpu_second: Option<f64>,
    steps_per_second: f64,
    first_step: f64,
    bytes_per_particle: f64,
    rebuilds_per_100: Option<f64>,
}

fn bench_gpu(gpu: &Gpu, kernels: &Arc<MdKernels>, w: &Workload) -> Result<GpuMeasurement> {
    let cfg = w.md_config();
    let (pos, vel) = initial_state(w.n, w.replicas, cfg.lj.box_length, w.temperature, 1.0, 7);
    let sys = MdSystem::new(gpu, kernels.clone(), cfg, &pos, &vel)?;
    let t0 = Instant::now();
    sys.run(gpu, 1)?;
    let first = t0.elapsed().as_secs_f64();
    // Warm up and size the repeat so it takes ~TARGET_SECONDS / 5.
    let t0 = Instant::now();
    sys.run(gpu, 10)?;
    let per_step = t0.elapsed().as_secs_f64() / 10.0;
    let steps = ((TARGET_SECONDS / 5.0 / per_step) as u32).clamp(5, 20000);
    let particles = w.n as f64 * w.replicas as f64;
    let rebuilds_before = sys.control(gpu)?.rebuilds;
    let mut rates = Vec::new();
    let cpu0 = process_cpu_seconds();
    let wall0 = Instant::now();
    for _ in 0..5 {
        gpu.wait()?;
        let t = Instant::now();
        sys.run(gpu, steps)?; // run() waits for completion (reads the control block)
        rates.push(particles * steps as f64 / t.elapsed().as_secs_f64());
    }
    let wall = wall0.elapsed().as_secs_f64();
    let per_cpu = match (cpu0, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(particles * 5.0 * steps as f64 / (b - a)),
        _ => None,
    };
    let control = sys.control(gpu)?;
    let rebuilds = sys
        .uses_cells()
        .then(|| 100.0 * (control.rebuilds - rebuilds_before) as f64 / (5 * steps) as f64);
    let b = &sys.buffers;
    let bytes: u64 = [
        &b.pos,
        &b.vel,
        &b.force,
        &b.aux,
        &b.control,
        &b.pos_ref,
        &b.cell_count,
        &b.cell_start,
        &b.particle_cell,
        &b.cell_particles,
        &b.neighbors,
        &b.neighbor_count,
        &b.obs,
    ]
    .iter()
    .map(|x| x.size())
    .sum();
    Ok(GpuMeasurement {
        rates: Spread::of(rates),
        per_cpu_second: per_cpu,
        steps_per_second: 5.0 * steps as f64 / wall,
        first_step: first,
        bytes_per_particle: bytes as f64 / particles,
        rebuilds_per_100: rebuilds,
    })
}

/// CPU reference of an alchemical workload: the f64 all-pairs force routine alone (no
/// integration), on one replica at λ = 0.5, in particle-steps per second.
fn bench_cpu_alchemical(w: &Workload, path: AlchemicalPath) -> f64 {
    let lj = w.lj();
    let (pos, _) = initial_state(w.n, 1, lj.box_length, w.temperature, 1.0, 7);
    let t = Instant::now();
    let mut calls = 0u64;
    while t.elapsed().as_secs_f64() < TARGET_SECONDS / 3.0 {
        std::hint::black_box(alchemical_forces(&pos, &lj, path, 0.5));
        calls += 1;
    }
    calls as f64 * w.n as f64 / t.elapsed().as_secs_f64()
}

fn bench_cpu(w: &Workload, threads: usize) -> f64 {
    if let Some(path) = w.alchemy {
        return bench_cpu_alchemical(w, path);
    }
    let lj = w.lj();
    let (pos, vel) = initial_state(w.n, 1, lj.box_length, w.temperature, 1.0, 7);
    let integrator = Baoab {
        dt: w.dt,
        friction: 1.0,
        kt: w.temperature,
        mass: 1.0,
        box_length: lj.box_length,
        key: key_of(42),
    };
    let search = match w.skin {
        Some(skin) => CpuPairSearch::CellList { skin },
        None => CpuPairSearch::AllPairs,
    };
    let mut md = CpuMd::new(pos, vel, lj, integrator, search, threads);
    let t0 = Instant::now();
    md.run(5);
    let per_step = t0.elapsed().as_secs_f64() / 5.0;
    let steps = ((TARGET_SECONDS / 3.0 / per_step) as u64).clamp(3, 100_000);
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        md.run(steps);
        rates.push(w.n as f64 * steps as f64 / t.elapsed().as_secs_f64());
    }
    Spread::of(rates).median
}

/// Runs one workload on the GPU and the CPU reference.
pub fn bench_workload(gpu: &Gpu, kernels: &Arc<MdKernels>, w: &Workload) -> Result<MdBenchResult> {
    let g = bench_gpu(gpu, kernels, w)?;
    let spread = g.rates;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu1 = bench_cpu(w, 1);
    let cpun = if threads > 1 {
        bench_cpu(w, threads)
    } else {
        cpu1
    };
    Ok(MdBenchResult {
        workload: w.clone(),
        gpu_particle_steps_per_s: spread,
        gpu_particle_steps_per_cpu_s: g.per_cpu_second,
        gpu_steps_per_s: g.steps_per_second,
        first_step_s: g.first_step,
        device_bytes_per_particle: g.bytes_per_particle,
        rebuilds_per_100_steps: g.rebuilds_per_100,
        cpu_1thread_particle_steps_per_s: cpu1,
        cpu_all_threads_particle_steps_per_s: cpun,
        cpu_threads: threads,
        ratio_vs_cpu_1thread: spread.median / cpu1,
        ratio_vs_cpu_all_threads: spread.median / cpun,
    })
}

/// A whole benchmark report.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Suite name.
    pub suite: String,
    /// Suite version.
    pub suite_version: u32,
    /// nti-gpu version.
    pub nti_gpu_version: String,
    /// Adapter.
    pub adapter: crate::gpu::AdapterSummary,
    /// OS.
    pub os: String,
    /// How the CPU reference was built.
    pub cpu_build: String,
    /// Results.
    pub md: Vec<MdBenchResult>,
    /// Widom insertion results.
    pub widom: Vec<WidomBenchResult>,
    /// Training-step results.
    pub train: Vec<TrainBenchResult>,
}

/// One Widom-insertion workload: `configs` configurations of N particles, `insertions`
/// test particles each.
#[derive(Clone, Debug, Serialize)]
pub struct WidomWorkload {
    /// Stable name.
    pub name: String,
    /// The underlying system (its replicas field is unused).
    pub system: Workload,
    /// Configurations.
    pub configs: u32,
    /// Insertions per configuration.
    pub insertions: u32,
}

/// Result of a Widom workload, in pair-energy evaluations per second (insertions × N / s).
#[derive(Clone, Debug, Serialize)]
pub struct WidomBenchResult {
    /// The workload.
    pub workload: WidomWorkload,
    /// GPU, including the copy of each chunk of configurations and the readback of the
    /// energies.
    pub gpu_pair_evaluations_per_s: Spread,
    /// CPU reference (f64, one thread).
    pub cpu_1thread_pair_evaluations_per_s: f64,
    /// GPU median / CPU.
    pub ratio_vs_cpu_1thread: f64,
}

/// Widom workloads of a suite.
pub fn widom_suite(name: &str) -> Vec<WidomWorkload> {
    let mut v = vec![WidomWorkload {
        name: "widom-paper-N200".into(),
        system: Workload::paper(1),
        configs: 64,
        insertions: 4096,
    }];
    if name == "standard" {
        v.push(WidomWorkload {
            name: "widom-lj-rho0.8-N4000".into(),
            system: Workload::fluid(4000),
            configs: 16,
            insertions: 4096,
        });
    }
    v
}

/// Measures one Widom workload on the GPU and the CPU reference.
pub fn bench_widom(gpu: &Gpu, w: &WidomWorkload) -> Result<WidomBenchResult> {
    use crate::md::widom::{insertion_energies, Configurations, WidomKernel};
    let kernel = WidomKernel::new(gpu)?;
    let lj = w.system.lj();
    let (pos, _) = initial_state(w.system.n, w.configs, lj.box_length, 1.0, 1.0, 3);
    let pos4: Vec<[f32; 4]> = pos
        .iter()
        .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0])
        .collect();
    let buffer = gpu.storage_from("widom bench configs", &pos4);
    let set = Configurations {
        buffer: &buffer,
        n: w.system.n,
        replicas: 1,
        frames: w.configs,
    };
    let beta = 1.0 / w.system.temperature;
    let evals = w.configs as f64 * w.insertions as f64 * w.system.n as f64;
    insertion_energies(gpu, &kernel, &set, &lj, beta, w.insertions, 1)?; // warm-up
    let mut rates = Vec::new();
    for rep in 0..5 {
        let t = Instant::now();
        insertion_energies(gpu, &kernel, &set, &lj, beta, w.insertions, rep)?;
        rates.push(evals / t.elapsed().as_secs_f64());
    }
    let gpu_rate = Spread::of(rates);
    // CPU: enough insertions into the first configuration for ~1 s.
    let n = w.system.n as usize;
    let key = crate::reference::rng::key_of(1);
    let mut done = 0u64;
    let t = Instant::now();
    let mut sink = 0.0;
    while t.elapsed().as_secs_f64() < 1.0 {
        for k in 0..256u32 {
            let x = crate::reference::widom::insertion_point(k, done as u32, key, lj.box_length);
            sink += crate::reference::widom::insertion_energy(&pos[..n], x, &lj, beta).min(1e3);
        }
        done += 256;
    }
    let cpu_rate = done as f64 * n as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    Ok(WidomBenchResult {
        workload: w.clone(),
        gpu_pair_evaluations_per_s: gpu_rate,
        cpu_1thread_pair_evaluations_per_s: cpu_rate,
        ratio_vs_cpu_1thread: gpu_rate.median / cpu_rate,
    })
}

/// One row of the Widom table.
pub fn widom_row(r: &WidomBenchResult) -> String {
    let s = r.gpu_pair_evaluations_per_s;
    format!(
        "{:<24} {:>9} {:>8.1} [{:.1}-{:.1}] M pair-evals/s   CPU 1 thr {:>7.1} M/s   x {:.2}",
        r.workload.name,
        r.workload.configs as u64 * r.workload.insertions as u64,
        s.median / 1e6,
        s.min / 1e6,
        s.max / 1e6,
        r.cpu_1thread_pair_evaluations_per_s / 1e6,
        r.ratio_vs_cpu_1thread
    )
}

/// Runs a suite; `on_result` sees each workload's result as it completes.
pub fn run_suite(
    gpu: &Gpu,
    suite_name: &str,
    mut on_result: impl FnMut(BenchRow),
) -> Result<BenchReport> {
    let workloads = suite(suite_name).ok_or_else(|| {
        crate::Error::Device(format!(
            "unknown suite `{suite_name}`; use quick or standard"
        ))
    })?;
    let kernels = Arc::new(MdKernels::new(gpu)?);
    let mut md = Vec::new();
    for w in &workloads {
        let r = bench_workload(gpu, &kernels, w)?;
        on_result(BenchRow::Md(&r));
        md.push(r);
    }
    let mut widom = Vec::new();
    for w in &widom_suite(suite_name) {
        let r = bench_widom(gpu, w)?;
        on_result(BenchRow::Widom(&r));
        widom.push(r);
    }
    let mut train = Vec::new();
    for w in &train_suite(suite_name) {
        let r = bench_train(gpu, w)?;
        on_result(BenchRow::Train(&r));
        train.push(r);
    }
    Ok(BenchReport {
        suite: suite_name.into(),
        suite_version: SUITE_VERSION,
        nti_gpu_version: env!("CARGO_PKG_VERSION").into(),
        adapter: gpu.adapter.clone(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        cpu_build: format!(
            "{} profile, target-cpu {}",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            if cfg!(target_feature = "avx2") {
                "with AVX2"
            } else {
                "x86-64 default (no AVX2)"
            }
        ),
        md,
        widom,
        train,
    })
}

/// One training-step workload: a batch of `batch` configurations of `n` particles in the
/// paper's box, default model size.
#[derive(Clone, Debug, Serialize)]
pub struct TrainWorkload {
    /// Stable name.
    pub name: String,
    /// Particles per configuration.
    pub n: u32,
    /// Configurations per batch.
    pub batch: u32,
}

/// Result of a training-step workload: denoising loss and its second-order parameter
/// gradient for one batch.
#[derive(Clone, Debug, Serialize)]
pub struct TrainBenchResult {
    /// The workload.
    pub workload: TrainWorkload,
    /// GPU seconds per training step (device-resident workspace: batch upload, model and
    /// gradient passes, AdamW update, wait; no readback).
    pub gpu_seconds_per_step: Spread,
    /// GPU training configurations per second.
    pub gpu_configurations_per_s: f64,
    /// CPU reference (f64, one thread) seconds per step.
    pub cpu_1thread_seconds_per_step: f64,
    /// CPU / GPU time ratio (> 1: the GPU is faster).
    pub speedup_vs_cpu_1thread: f64,
}

/// Training workloads of a suite.
pub fn train_suite(name: &str) -> Vec<TrainWorkload> {
    let mut v = vec![TrainWorkload {
        name: "train-step-N40-B32".into(),
        n: 40,
        batch: 32,
    }];
    if name == "standard" {
        v.push(TrainWorkload {
            name: "train-step-N200-B32".into(),
            n: 200,
            batch: 32,
        });
    }
    v
}

/// Measures one training step on the GPU and the f64 reference.
pub fn bench_train(gpu: &Gpu, w: &TrainWorkload) -> Result<TrainBenchResult> {
    use crate::model::grad::{GradKernels, GradWorkspace};
    use crate::model::optimizer::{Adam, AdamSettings};
    use crate::model::ModelKernels;
    use crate::reference::energy_model::{dsm_loss_grad, noised_positions, ModelConfig, System};
    let cfg = ModelConfig::default();
    let sys = System {
        box_length: 6.0,
        beta: 1.0,
        epsilon: 0.8,
        sigma: 1.0,
        cutoff: None,
    };
    let params = cfg.init_params(1);
    let (x0, z) = initial_state(w.n, w.batch, 6.0, 1.0, 1.0, 5);
    let times: Vec<f64> = (0..w.batch)
        .map(|j| (j as f64 + 0.5) / w.batch as f64)
        .collect();
    let n = w.n as usize;
    let x_t: Vec<[f64; 3]> = (0..w.batch as usize)
        .flat_map(|j| {
            noised_positions(
                6.0,
                &x0[j * n..(j + 1) * n],
                &z[j * n..(j + 1) * n],
                times[j],
            )
        })
        .collect();
    let model = ModelKernels::new(gpu)?;
    let grad = GradKernels::new(gpu)?;
    // The training loop's step: device-resident workspace bound to the optimizer's θ;
    // upload x_t, z, t + model/gradient passes + gradient copy + AdamW in one submission.
    let theta32: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let adam = Adam::new(gpu, &AdamSettings::default(), &theta32, None, None, 0)?;
    let ws = GradWorkspace::new(
        gpu,
        &model,
        &grad,
        &cfg,
        &sys,
        n,
        w.batch as usize,
        &adam.theta,
    )?;
    ws.step(gpu, &model, &grad, &adam, &x_t, &z, &times)?;
    gpu.wait()?;
    let mut secs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        ws.step(gpu, &model, &grad, &adam, &x_t, &z, &times)?;
        gpu.wait()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    let gpu_s = Spread::of(secs);
    let t = Instant::now();
    for j in 0..w.batch as usize {
        std::hint::black_box(dsm_loss_grad(
            &cfg,
            &sys,
            &params,
            &x_t[j * n..(j + 1) * n],
            &z[j * n..(j + 1) * n],
            times[j],
        ));
    }
    let cpu_s = t.elapsed().as_secs_f64();
    Ok(TrainBenchResult {
        workload: w.clone(),
        gpu_seconds_per_step: gpu_s,
        gpu_configurations_per_s: w.batch as f64 / gpu_s.median,
        cpu_1thread_seconds_per_step: cpu_s,
        speedup_vs_cpu_1thread: cpu_s / gpu_s.median,
    })
}

/// One row of the training table.
pub fn train_row(r: &TrainBenchResult) -> String {
    let s = r.gpu_seconds_per_step;
    format!(
        "{:<24} {:>9} {:>8.3} [{:.3}-{:.3}] s/step ({:.1} configs/s)   CPU 1 thr {:.3} s/step   x {:.2}",
        r.workload.name,
        r.workload.n * r.workload.batch,
        s.median,
        s.min,
        s.max,
        r.gpu_configurations_per_s,
        r.cpu_1thread_seconds_per_step,
        r.speedup_vs_cpu_1thread
    )
}

/// A result as it completes, for printing.
pub enum BenchRow<'a> {
    /// An MD workload.
    Md(&'a MdBenchResult),
    /// A Widom workload.
    Widom(&'a WidomBenchResult),
    /// A training-step workload.
    Train(&'a TrainBenchResult),
}

impl BenchRow<'_> {
    /// The row's text (the MD table header is [`table_header`]).
    pub fn text(&self) -> String {
        match self {
            BenchRow::Md(r) => table_row(r),
            BenchRow::Widom(r) => widom_row(r),
            BenchRow::Train(r) => train_row(r),
        }
    }
}

/// Header of the text table.
pub fn table_header() -> String {
    format!(
        "{:<24} {:>9} {:>22} {:>12} {:>11} {:>11} {:>8} {:>8} {:>8}",
        "workload",
        "particles",
        "GPU Mpart-steps/s",
        "per CPU-s",
        "CPU 1 thr",
        "CPU all",
        "x 1thr",
        "x all",
        "B/part"
    )
}

/// One row of the text table.
pub fn table_row(r: &MdBenchResult) -> String {
    let s = r.gpu_particle_steps_per_s;
    format!(
        "{:<24} {:>9} {:>8.3} [{:.3}-{:.3}] {:>12} {:>11.3} {:>11.3} {:>8.2} {:>8.2} {:>8.0}",
        r.workload.name,
        r.workload.n * r.workload.replicas,
        s.median / 1e6,
        s.min / 1e6,
        s.max / 1e6,
        r.gpu_particle_steps_per_cpu_s
            .map_or("-".into(), |v| format!("{:.3}", v / 1e6)),
        r.cpu_1thread_particle_steps_per_s / 1e6,
        r.cpu_all_threads_particle_steps_per_s / 1e6,
        r.ratio_vs_cpu_1thread,
        r.ratio_vs_cpu_all_threads,
        r.device_bytes_per_particle
    )
}
