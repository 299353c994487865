//! Training-step workloads: the denoising loss, its second-order parameter gradient and
//! AdamW for one batch, in training configurations per second.

use super::{on_threads, BenchOptions, Spread, WorkloadResult};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::init::initial_state;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

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

impl TrainWorkload {
    /// `train-step-N{n}-B{batch}`.
    pub fn new(n: u32, batch: u32) -> Self {
        TrainWorkload {
            name: format!("train-step-N{n}-B{batch}"),
            n,
            batch,
        }
    }
}

/// Measures one training step on the GPU (device-resident workspace: batch upload, model
/// and gradient passes, AdamW, wait; 3 repeats after a warm-up step) and the f64 reference
/// gradient of the same batch on one and on all threads.
pub fn bench_train(gpu: &Gpu, w: &TrainWorkload, _opts: &BenchOptions) -> Result<WorkloadResult> {
    use crate::model::adam::Adam;
    use crate::model::model_grad::{GradKernels, GradWorkspace};
    use crate::model::ModelKernels;
    use crate::reference::model_energy::noised_positions;
    use crate::reference::model_grad::dsm_loss_grad;
    use crate::scene::AdamSettings;
    use crate::scene::{ModelConfig, ModelSystem};
    let cfg = ModelConfig::default();
    let sys = ModelSystem {
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
    let model = ModelKernels::new(gpu, &cfg)?;
    let grad = GradKernels::new(gpu, &model)?;
    let theta32: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let adam = Adam::new(gpu, &AdamSettings::default(), &theta32, None, None, 0)?;
    let ws = GradWorkspace::new(
        gpu,
        &model,
        &grad,
        &cfg,
        &sys,
        &[(n, w.batch as usize)],
        &adam.theta,
    )?;
    ws.step(gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])?;
    gpu.wait()?;
    let mut secs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        ws.step(gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])?;
        gpu.wait()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    let secs = Spread::of(secs);
    let batch = w.batch as f64;
    // The CPU reference: the batch's configurations split over the threads.
    let cpu = |threads: usize| {
        let (done, s) = on_threads(threads, |k, threads| {
            let mut done = 0;
            for j in (k..w.batch as usize).step_by(threads) {
                std::hint::black_box(dsm_loss_grad(
                    &cfg,
                    &sys,
                    &params,
                    &x_t[j * n..(j + 1) * n],
                    &z[j * n..(j + 1) * n],
                    times[j],
                ));
                done += 1;
            }
            done
        });
        done as f64 / s
    };
    let threads = super::cpu_threads();
    let cpu1 = cpu(1);
    let cpun = if threads > 1 { cpu(threads) } else { cpu1 };
    let mut extra = BTreeMap::new();
    extra.insert("gpu_seconds_per_step".to_string(), secs.median);
    extra.insert("cpu_1thread_seconds_per_step".to_string(), batch / cpu1);
    extra.insert("parameters".to_string(), cfg.param_count() as f64);
    Ok(WorkloadResult {
        extra,
        notes: vec![
            "GPU step submitted by the training workspace itself: no timestamp instrumentation"
                .into(),
        ],
        ..WorkloadResult::timed(
            &w.name,
            "train",
            "configurations/s",
            w.batch as u64,
            "configurations",
            Spread::rate(batch, &secs),
            Some((cpu1, cpun, threads)),
            serde_json::to_value(w).unwrap_or_default(),
        )
    })
}
