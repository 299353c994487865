//! Neural-TI sampler workloads: C trajectories of the batched denoising sampler
//! ([`crate::ti::denoise::run_denoise`]) over a short time grid, in trajectory-steps per
//! second, where a step is one model evaluation (Ũ, ∇Ũ, ∂_t Ũ) of one trajectory: a grid
//! point costs 1 + M steps (M MALA correctors). The CPU reference is the f64 specification
//! [`crate::reference::denoise::run_batch`], whole trajectories on the same grid, on
//! one thread and on all threads (trajectories in parallel).
//!
//! The model is untrained: the default [`ModelConfig`] with [`ModelConfig::init_params`]
//! scaled by [`PARAM_SCALE`], which keeps every energy along the path finite (the
//! throughput does not depend on the values of θ).

use super::{on_threads, BenchOptions, Spread, WorkloadResult};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::ModelKernels;
use crate::quadrature::TimeGrid;
use crate::reference::denoise::{run_batch, PointRecord};
use crate::scene::CorrectorSettings;
use crate::scene::{ModelConfig, ModelSystem};
use crate::ti::denoise::{run_denoise, DenoiseKernels, DenoiseOutcome, DenoiseRequest, PathKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Factor applied to the initial parameters of the benchmark's untrained model.
pub const PARAM_SCALE: f64 = 0.5;

/// Seed of the benchmark model's parameters.
pub const PARAM_SEED: u64 = 7;

/// Philox key of the benchmark trajectories.
pub const KEY: [u32; 2] = [0xBE4C, 0x5A3B];

/// One sampler workload in the paper's box (L = 6, ε = 0.8, β = 1, no cutoff), default
/// model.
#[derive(Clone, Debug, Serialize)]
pub struct SamplerWorkload {
    /// Stable name.
    pub name: String,
    /// Particles per trajectory.
    pub n: u32,
    /// Trajectories C, in the same dispatches.
    pub trajectories: u32,
    /// Time-grid intervals K (K + 1 grid points, the default power-2 grid dense near t = 0).
    pub intervals: u32,
    /// MALA correctors per grid point M (0: the paper's reverse SDE alone).
    pub correctors: u32,
}

impl SamplerWorkload {
    /// `sampler-rsde-N{n}-C64`: reverse SDE (predictor only), 64 trajectories, 8 intervals.
    pub fn reverse_sde(n: u32) -> Self {
        SamplerWorkload {
            name: format!("sampler-rsde-N{n}-C64"),
            n,
            trajectories: 64,
            intervals: 8,
            correctors: 0,
        }
    }

    /// `sampler-mala1-N{n}-C64`: reverse SDE with one MALA corrector per grid point.
    pub fn mala(n: u32) -> Self {
        SamplerWorkload {
            name: format!("sampler-mala1-N{n}-C64"),
            correctors: 1,
            ..Self::reverse_sde(n)
        }
    }

    /// The physical system: the paper's box.
    pub fn system(&self) -> ModelSystem {
        ModelSystem {
            box_length: 6.0,
            beta: 1.0,
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
        }
    }

    /// The model: [`ModelConfig::default`].
    pub fn model(&self) -> ModelConfig {
        ModelConfig::default()
    }

    /// θ: [`ModelConfig::init_params`]`(`[`PARAM_SEED`]`)` × [`PARAM_SCALE`], rounded to
    /// f32 (what the device sees).
    pub fn params(&self) -> Vec<f64> {
        self.model()
            .init_params(PARAM_SEED)
            .iter()
            .map(|&p| (PARAM_SCALE * p) as f32 as f64)
            .collect()
    }

    /// The ascending time grid (K + 1 points from 0 to 1).
    pub fn grid(&self) -> Result<Vec<f64>> {
        TimeGrid::default().points(self.intervals as usize)
    }

    /// The corrector settings: the integration stage's defaults for this box (step size,
    /// target acceptance, adaptation), with [`Self::correctors`] steps.
    pub fn corrector_settings(&self) -> CorrectorSettings {
        CorrectorSettings {
            steps: self.correctors,
            ..crate::scene::IntegrationSettings::default().correctors(0, 6.0, 1.0, true, false)
        }
    }

    /// Model evaluations of one trajectory over the grid: (K + 1)(1 + M).
    pub fn steps_per_trajectory(&self) -> u64 {
        (self.intervals as u64 + 1) * (1 + self.correctors as u64)
    }

    /// Trajectory-steps of one GPU run: C (K + 1)(1 + M).
    pub fn steps_per_run(&self) -> u64 {
        self.trajectories as u64 * self.steps_per_trajectory()
    }

    /// The device request of this workload (θ as f32 in `theta`, the grid in `grid`).
    pub fn request<'a>(
        &self,
        cfg: &'a ModelConfig,
        sys: &'a ModelSystem,
        theta: &'a [f32],
        grid: &'a [f64],
    ) -> DenoiseRequest<'a> {
        DenoiseRequest {
            cfg,
            sys,
            theta,
            n: self.n as usize,
            trajectories: self.trajectories as usize,
            grid,
            path: PathKind::Sampler {
                predictor: true,
                correctors: self.corrector_settings(),
            },
            key: KEY,
        }
    }
}

/// Trajectory-steps a GPU run did by its own account: evaluations per trajectory × the
/// trajectories it returned.
pub fn outcome_steps(outcome: &DenoiseOutcome) -> u64 {
    outcome.evaluations * outcome.integrand.len() as u64
}

/// Trajectory-steps of one CPU reference trajectory: one model evaluation per grid point
/// plus one per corrector proposal.
pub fn reference_steps(records: &[PointRecord], correctors: &CorrectorSettings) -> u64 {
    records.len() as u64 * (1 + correctors.steps as u64)
}

/// One device run, timed from a drained queue to the readback of its records. The outcome is
/// `None` when the sampler finished every step but reported non-finite energies
/// ([`Error::Simulation`], the only error it returns after the run).
fn timed_run(
    gpu: &Gpu,
    (dk, mk): &(DenoiseKernels, ModelKernels),
    req: &DenoiseRequest,
) -> Result<(f64, Option<DenoiseOutcome>)> {
    gpu.wait()?;
    let t = Instant::now();
    let out = run_denoise(gpu, dk, mk, req, &mut |_, _| {});
    let s = t.elapsed().as_secs_f64();
    match out {
        Ok(o) => Ok((s, Some(o))),
        Err(Error::Simulation(_)) => Ok((s, None)),
        Err(e) => Err(e),
    }
}

/// Measures the workload on the GPU (a warm-up run on a 2-interval grid, then 3 runs of
/// the workload, each including buffer setup and the readback of the records) and the f64
/// reference on one and on all threads (at least one trajectory per thread, more while
/// within `opts.target_seconds / 3`).
pub fn bench_sampler(
    gpu: &Gpu,
    kernels: &(DenoiseKernels, ModelKernels),
    w: &SamplerWorkload,
    opts: &BenchOptions,
) -> Result<WorkloadResult> {
    let cfg = w.model();
    let sys = w.system();
    let params = w.params();
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let grid = w.grid()?;
    let warm_grid = [0.0, 0.5, 1.0];
    timed_run(gpu, kernels, &w.request(&cfg, &sys, &theta, &warm_grid))?;
    let mut secs = Vec::new();
    let mut accepted = 0u64;
    let mut proposals = 0u64;
    let mut overflowed = 0u32;
    for _ in 0..3 {
        let (s, out) = timed_run(gpu, kernels, &w.request(&cfg, &sys, &theta, &grid))?;
        secs.push(s);
        let Some(out) = out else {
            overflowed += 1;
            continue;
        };
        let counted = outcome_steps(&out);
        if counted != w.steps_per_run() {
            return Err(Error::Bench(format!(
                "{}: the sampler did {counted} trajectory-steps, the workload claims {}",
                w.name,
                w.steps_per_run()
            )));
        }
        accepted += out
            .accepted
            .iter()
            .flatten()
            .map(|&a| a as u64)
            .sum::<u64>();
        proposals +=
            out.proposals.iter().map(|&m| m as u64).sum::<u64>() * out.integrand.len() as u64;
    }
    let secs = Spread::of(secs);
    let steps = w.steps_per_run() as f64;

    // CPU: whole trajectories on the descending grid, split over the threads.
    let times: Vec<f64> = grid.iter().rev().copied().collect();
    let corr = w.corrector_settings();
    let n = w.n as usize;
    let budget = opts.target_seconds / 3.0;
    let cpu = |threads: usize| {
        let (done, s) = on_threads(threads, |k, threads| {
            let t = Instant::now();
            let mut done = 0;
            let mut c = k as u32;
            loop {
                let rec = run_batch(&cfg, &sys, &params, &times, true, &corr, KEY, &[c], n, None)
                    .pop()
                    .expect("one trajectory");
                done += reference_steps(&rec, &corr);
                c += threads as u32;
                if t.elapsed().as_secs_f64() >= budget {
                    break;
                }
            }
            done
        });
        done as f64 / s
    };
    let threads = super::cpu_threads();
    let cpu1 = cpu(1);
    let cpun = if threads > 1 { cpu(threads) } else { cpu1 };

    let mut extra = BTreeMap::new();
    extra.insert("gpu_seconds_per_run".to_string(), secs.median);
    extra.insert("trajectory_steps_per_run".to_string(), steps);
    extra.insert("grid_points".to_string(), grid.len() as f64);
    extra.insert("parameters".to_string(), cfg.param_count() as f64);
    extra.insert("nonfinite_runs".to_string(), overflowed as f64);
    if proposals > 0 {
        extra.insert(
            "corrector_acceptance".to_string(),
            accepted as f64 / proposals as f64,
        );
    }
    let mut notes = vec![format!(
        "a step is one model evaluation of one trajectory; GPU runs of {} grid points \
         include buffer setup and readback, submitted by the sampler itself (no \
         timestamps); untrained model (init_params x {PARAM_SCALE})",
        grid.len()
    )];
    if overflowed > 0 {
        notes.push(format!(
            "{overflowed} of 3 timed runs ended with non-finite energies (an untrained model \
             and a {}-point path cannot separate the overlaps of uniform positions at this \
             density; the sampler reports it after every step was done): timed all the same",
            grid.len()
        ));
    }
    Ok(WorkloadResult {
        extra,
        notes,
        ..WorkloadResult::timed(
            &w.name,
            "sampler",
            "trajectory-steps/s",
            w.trajectories as u64,
            "trajectories",
            Spread::rate(steps, &secs),
            Some((cpu1, cpun, threads)),
            serde_json::to_value(w).unwrap_or_default(),
        )
    })
}
