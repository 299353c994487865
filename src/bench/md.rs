//! MD workloads: BAOAB steps with LJ forces (all pairs or cell + Verlet lists), plain or
//! λ windows, against nti-gpu's f64 CPU MD engine; plus the force kernel's achieved
//! FLOP/s and bytes/s ([`super::ops`]).

use super::ops::force_kernel_counts;
use super::timing::{timed_pass, PassTimer};
use super::{on_threads, process_cpu_seconds, BenchOptions, KernelFigure, Spread, WorkloadResult};
use crate::bench::cpu_md::{CpuMd, CpuPairSearch};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::init::initial_state;
use crate::md::system::Alchemy;
use crate::md::{MdConfig, MdKernels, MdSystem, PairSearch};
use crate::reference::alchemical_energies::{alchemical_forces, AlchemicalPath};
use crate::reference::integrate::Baoab;
use crate::reference::rng::key_of;
use crate::scene::LjParams;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

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
    /// The paper box, N = 200, B replicas.
    pub fn paper(replicas: u32) -> Self {
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
    /// LJ fluid at rho = 0.8, T = 2, r_c = 2.5, n particles.
    pub fn fluid(n: u32) -> Self {
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
    /// HOOMD-blue's lj-liquid benchmark.
    pub fn hoomd() -> Self {
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

    /// 48 λ windows of the paper's N = 40 box (WCA soft-core leg).
    pub fn lambda_windows() -> Self {
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

    /// Box side.
    pub fn box_length(&self) -> f64 {
        (self.n as f64 / self.density).cbrt()
    }

    /// LJ parameters.
    pub fn lj(&self) -> LjParams {
        LjParams {
            epsilon: self.epsilon,
            sigma: 1.0,
            cutoff: self.cutoff,
            shift: false,
            box_length: self.box_length(),
        }
    }

    /// The MD configuration of this workload (seed 42).
    pub fn md_config(&self) -> MdConfig {
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

/// Device memory of the MD state, bytes.
fn state_bytes(sys: &MdSystem) -> u64 {
    let b = &sys.buffers;
    [
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
    .sum()
}

/// Times the force kernel of `sys` alone (it reads the current neighbour list) and turns
/// the operation counts of [`super::ops`] into FLOP/s and bytes/s.
fn bench_force_kernel(
    gpu: &Gpu,
    sys: &MdSystem,
    timer: Option<&PassTimer>,
    target_seconds: f64,
) -> Result<KernelFigure> {
    let (kernel, counts, bytes) = force_kernel_counts(gpu, sys)?;
    let once = timed_pass(gpu, timer, |pass| {
        sys.record_kernel(pass, kernel);
    })?;
    let calls = ((target_seconds / 10.0 / once.wall.max(1e-6)) as u32).clamp(1, 5000);
    let mut wall = Vec::new();
    let mut dev = Vec::new();
    for _ in 0..3 {
        let t = timed_pass(gpu, timer, |pass| {
            for _ in 0..calls {
                sys.record_kernel(pass, kernel);
            }
        })?;
        wall.push(t.wall / calls as f64);
        if let Some(g) = t.gpu {
            dev.push(g / calls as f64);
        }
    }
    sys.check_status(gpu)?;
    let wall = Spread::of(wall);
    let dev = (!dev.is_empty()).then(|| Spread::of(dev));
    let (secs, source) = match dev {
        Some(d) => (d.median, "timestamp"),
        None => (wall.median, "wall"),
    };
    Ok(KernelFigure {
        kernel: kernel.into(),
        calls,
        pairs_visited: counts.visited as f64,
        pairs_interacting: counts.interacting as f64,
        flops_per_call: counts.flops(),
        bytes_per_call: bytes,
        wall_s_per_call: wall,
        gpu_s_per_call: dev,
        time_source: source.into(),
        flops_per_s: counts.flops() / secs,
        bytes_per_s: bytes / secs,
    })
}

/// CPU reference of an alchemical workload: the f64 all-pairs force routine alone (no
/// integration), on one replica at λ = 0.5, in particle-steps per second.
fn bench_cpu_alchemical(w: &Workload, path: AlchemicalPath, target_seconds: f64) -> f64 {
    let lj = w.lj();
    let (pos, _) = initial_state(w.n, 1, lj.box_length, w.temperature, 1.0, 7);
    let (calls, secs) = on_threads(1, |_, _| {
        let t = Instant::now();
        let mut calls = 0u64;
        while t.elapsed().as_secs_f64() < target_seconds / 3.0 {
            std::hint::black_box(alchemical_forces(&pos, &lj, path, 0.5));
            calls += 1;
        }
        calls
    });
    calls as f64 * w.n as f64 / secs
}

/// CPU reference MD (f64, BAOAB, same pair search) on one replica with `threads` threads,
/// in particle-steps per second (median of 3).
fn bench_cpu(w: &Workload, threads: usize, target_seconds: f64) -> f64 {
    if let Some(path) = w.alchemy {
        return bench_cpu_alchemical(w, path, target_seconds);
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
    let steps = ((target_seconds / 3.0 / per_step) as u64).clamp(3, 100_000);
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        md.run(steps);
        rates.push(w.n as f64 * steps as f64 / t.elapsed().as_secs_f64());
    }
    Spread::of(rates).median
}

/// Runs one MD workload on the GPU (5 repeats of ~target/5 s each, timestamps where
/// available), its force kernel alone, and the CPU reference on one and on all threads.
pub fn bench_md(
    gpu: &Gpu,
    kernels: &Arc<MdKernels>,
    w: &Workload,
    opts: &BenchOptions,
) -> Result<WorkloadResult> {
    let target = opts.target_seconds;
    let cfg = w.md_config();
    let (pos, vel) = initial_state(w.n, w.replicas, cfg.lj.box_length, w.temperature, 1.0, 7);
    let sys = MdSystem::new(gpu, kernels.clone(), cfg, &pos, &vel)?;
    let timer = PassTimer::new(gpu);
    let t0 = Instant::now();
    sys.run(gpu, 1)?;
    let first = t0.elapsed().as_secs_f64();
    // Warm up and size the repeat so it takes ~target / 5.
    let t0 = Instant::now();
    sys.run(gpu, 10)?;
    let per_step = t0.elapsed().as_secs_f64() / 10.0;
    let steps = ((target / 5.0 / per_step) as u32).clamp(5, 20000);
    let particles = w.n as f64 * w.replicas as f64;
    let rebuilds_before = sys.control(gpu)?.rebuilds;
    let (mut rates, mut dev_rates) = (Vec::new(), Vec::new());
    let cpu0 = process_cpu_seconds();
    let wall0 = Instant::now();
    for _ in 0..5 {
        let t = timed_pass(gpu, timer.as_ref(), |pass| sys.record_steps(pass, steps))?;
        rates.push(particles * steps as f64 / t.wall);
        if let Some(g) = t.gpu {
            dev_rates.push(particles * steps as f64 / g);
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let per_cpu = match (cpu0, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(particles * 5.0 * steps as f64 / (b - a)),
        _ => None,
    };
    let control = sys.check_status(gpu)?;
    let mut extra = BTreeMap::new();
    extra.insert("first_step_s".to_string(), first);
    extra.insert("steps_per_s".to_string(), 5.0 * steps as f64 / wall);
    extra.insert(
        "device_bytes_per_particle".to_string(),
        state_bytes(&sys) as f64 / particles,
    );
    if let Some(v) = per_cpu {
        extra.insert("gpu_per_cpu_second".to_string(), v);
    }
    if sys.uses_cells() {
        extra.insert(
            "rebuilds_per_100_steps".to_string(),
            100.0 * (control.rebuilds - rebuilds_before) as f64 / (5 * steps) as f64,
        );
    }
    let mut notes = Vec::new();
    let mut kernels_out = Vec::new();
    if w.alchemy.is_none() {
        kernels_out.push(bench_force_kernel(gpu, &sys, timer.as_ref(), target)?);
    } else {
        notes.push(
            "CPU figures: the f64 alchemical force routine alone (no integration), one thread \
             (also in the all-threads column); no FLOP model for the alchemical pair term"
                .to_string(),
        );
    }
    drop(sys);
    let threads = super::cpu_threads();
    let cpu1 = bench_cpu(w, 1, target);
    let cpun = if threads > 1 && w.alchemy.is_none() {
        bench_cpu(w, threads, target)
    } else {
        cpu1
    };
    Ok(WorkloadResult {
        name: w.name.clone(),
        kind: "md".into(),
        units: "particle-steps/s".into(),
        size: particles as u64,
        size_units: "particles".into(),
        gpu: Spread::of(rates),
        gpu_timestamp: (!dev_rates.is_empty()).then(|| Spread::of(dev_rates)),
        cpu_1thread: Some(cpu1),
        cpu_all_threads: Some(cpun),
        cpu_threads: if w.alchemy.is_none() { threads } else { 1 },
        ratio_vs_cpu_1thread: None,
        ratio_vs_cpu_all_threads: None,
        kernels: kernels_out,
        extra,
        notes,
        workload: serde_json::to_value(w).unwrap_or_default(),
    })
}
