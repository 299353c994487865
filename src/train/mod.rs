//! Denoising score-matching training of the energy model Ũ_θ on the device (design note
//! §4): batches of reference configurations, forward-noised at stratified times, the
//! second-order parameter gradient of [`loss_and_gradient`] and device-resident AdamW
//! ([`Adam`]), with a loss log (`train_loss.csv`) and versioned checkpoints (`model.ckpt`).
//!
//! First version: one particle count, the scene's first (`system.particles[0]`).
//!
//! Every random number of step k is a pure function of (seed, k) (counter-based Philox),
//! so a run resumed from a checkpoint at step k continues bit for bit like the
//! uninterrupted run:
//! - configuration j of step k: Philox counter (k, j, 3, 0), first word → sample index,
//!   second word → u_j, time t_j = (j + u_j)/batch (stratified over the batch);
//! - noise of particle i of configuration j: Gaussian from counter (k, j, 4, i).
//!
//! The key is [`train_key`]`(scene.seed)`, distinct from the sampler's streams.

use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::checkpoint::Checkpoint;
use crate::model::grad::{loss_and_gradient, GradKernels, GradWorkspace};
use crate::model::optimizer::Adam;
use crate::model::ModelKernels;
use crate::output::write_atomic;
use crate::reference::energy_model::{noised_positions, ModelConfig, System};
use crate::reference::rng::{gaussian3, key_of, philox4x32_10, uniform_open01};
use crate::scene::{Potential, Scene, TrainingSettings};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// File name of the checkpoint in the output directory.
pub const CHECKPOINT_FILE: &str = "model.ckpt";
/// File name of the loss log in the output directory.
pub const LOSS_LOG_FILE: &str = "train_loss.csv";

/// One row of the loss log.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossRecord {
    /// Optimizer updates done after this row's update (1-based).
    pub step: u64,
    /// Mean denoising loss of the batch, evaluated before the update.
    pub loss: f64,
    /// Learning rate of the update.
    pub lr: f64,
}

/// What a training run did.
#[derive(Clone, Debug, Serialize)]
pub struct TrainOutcome {
    /// Optimizer updates done in total (including those before a resume).
    pub steps: u64,
    /// Loss of the last batch (NaN if this call did no step and the log is empty).
    pub final_loss: f64,
    /// The loss log (every `log_every` steps).
    pub loss_log: Vec<LossRecord>,
    /// Loss of θ = 0 on the first batch: the baseline (≈ 1 per coordinate away from t ≈ 0).
    pub zero_network_loss: f64,
    /// Wall time of this call.
    pub wall_time_s: f64,
    /// Updates done by this call.
    pub steps_this_run: u64,
}

/// Philox key of the training streams.
pub fn train_key(seed: u64) -> [u32; 2] {
    key_of(seed ^ 0x7472_6169_6e69_6e67) // "training"
}

/// The model's view of the scene's system.
pub fn model_system(scene: &Scene) -> System {
    let s = &scene.system;
    System {
        box_length: s.box_length,
        beta: 1.0 / s.temperature,
        epsilon: s.epsilon,
        sigma: s.sigma,
        cutoff: match s.potential {
            Potential::MinimumImage => None,
            Potential::Truncated { cutoff, .. } => Some(cutoff),
        },
    }
}

/// The scene's training settings, or the defaults when the section is absent.
pub fn training_settings(scene: &Scene) -> TrainingSettings {
    scene
        .training
        .clone()
        .unwrap_or_else(|| ron::from_str("()").expect("every training setting has a default"))
}

/// Batch of step `k`: noised positions x_t (batch·N), noise z and times.
pub fn batch(
    samples: &SampleSet,
    box_length: f64,
    seed: u64,
    k: u64,
    size: u32,
) -> (Vec<[f64; 3]>, Vec<[f64; 3]>, Vec<f64>) {
    let key = train_key(seed);
    let n = samples.n as usize;
    let total = samples.configurations() as u64;
    let (mut xt, mut zs, mut times) = (
        Vec::with_capacity(size as usize * n),
        Vec::with_capacity(size as usize * n),
        Vec::with_capacity(size as usize),
    );
    for j in 0..size {
        let bits = philox4x32_10([k as u32, j, 3, 0], key);
        let index = ((bits[0] as u64 * total) >> 32) as u32;
        let t = (j as f64 + uniform_open01(bits[1])) / size as f64;
        let (frame, replica) = (index / samples.replicas, index % samples.replicas);
        let x0: Vec<[f64; 3]> = samples
            .configuration(frame, replica)
            .iter()
            .map(|p| p.map(|v| v as f64))
            .collect();
        let z: Vec<[f64; 3]> = (0..n as u32)
            .map(|i| gaussian3(philox4x32_10([k as u32, j, 4, i], key)))
            .collect();
        xt.extend(noised_positions(box_length, &x0, &z, t));
        zs.extend(z);
        times.push(t);
    }
    (xt, zs, times)
}

fn write_loss_log(path: &Path, log: &[LossRecord]) -> Result<()> {
    let mut text = String::from("step,loss,lr\n");
    for r in log {
        // Shortest round-trip form: a resumed run reads back exactly what it wrote.
        text.push_str(&format!("{},{:e},{:e}\n", r.step, r.loss, r.lr));
    }
    write_atomic(path, text.as_bytes())
}

fn read_loss_log(path: &Path, up_to: u64) -> Vec<LossRecord> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut it = line.split(',');
            let step = it.next()?.trim().parse().ok()?;
            let loss = it.next()?.trim().parse().ok()?;
            let lr = it.next()?.trim().parse().ok()?;
            Some(LossRecord { step, loss, lr })
        })
        .filter(|r| r.step <= up_to)
        .collect()
}

/// Trains the scene's model on `samples` (configurations of the scene's first particle
/// count) for `training.steps` updates in total, writing `train_loss.csv` and `model.ckpt`
/// into `out_dir`. With `resume`, continues from `out_dir/model.ckpt` (same architecture
/// and scene hash required). `progress(step, total, last_loss)` is called every
/// `log_every` steps. A non-finite loss or optimizer state stops training with an error
/// and leaves the last good checkpoint in place.
///
/// Each step runs on device-resident buffers ([`GradWorkspace`]): θ is never read back and
/// the gradient never leaves the device. Divergence is therefore detected only where the
/// host looks: the loss is read at every log and checkpoint step (and the last), and the
/// parameters and moments are checked for non-finite values before every checkpoint is
/// written (so a bad state never replaces a good checkpoint). A non-finite gradient between
/// those steps is reported at the next log or checkpoint step ("diverged by step k"), not
/// at the step it occurred. The updates themselves are bit-identical to evaluating
/// [`loss_and_gradient`] on the read-back θ and uploading its gradient.
pub fn train(
    gpu: &Gpu,
    scene: &Scene,
    samples: &SampleSet,
    out_dir: &Path,
    resume: bool,
    mut progress: impl FnMut(u64, u64, f64),
) -> Result<TrainOutcome> {
    let start_time = Instant::now();
    let cfg: ModelConfig = scene.model.unwrap_or_default();
    cfg.validate()
        .map_err(|e| Error::Model(format!("scene model section: {e}")))?;
    let settings = training_settings(scene);
    if settings.batch == 0 || settings.log_every == 0 || settings.checkpoint_every == 0 {
        return Err(Error::Model(
            "training.batch, log_every and checkpoint_every must be >= 1".into(),
        ));
    }
    if settings.steps > u32::MAX as u64 {
        return Err(Error::Model(format!(
            "training.steps = {} exceeds the step counter's {}",
            settings.steps,
            u32::MAX
        )));
    }
    let n = match scene.system.particles.first() {
        Some(&n) => n,
        None => return Err(Error::Model("the scene has no particle count".into())),
    };
    if samples.n != n || samples.configurations() == 0 {
        return Err(Error::Model(format!(
            "training uses the scene's first particle count N = {n} (this version trains one \
             N); the sample set holds {} configurations of N = {}",
            samples.configurations(),
            samples.n
        )));
    }
    if samples.scene_hash != scene.hash() {
        return Err(Error::Model(format!(
            "the samples were made for scene hash {:016x}, this scene's is {:016x}",
            samples.scene_hash,
            scene.hash()
        )));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let sys = model_system(scene);
    let ckpt_path = out_dir.join(CHECKPOINT_FILE);
    let log_path = out_dir.join(LOSS_LOG_FILE);
    let p = cfg.param_count();

    let (theta0, m0, v0, start, mut loss_log) = if resume {
        let ck = Checkpoint::read(&ckpt_path)?;
        ck.check_architecture(&cfg, &ckpt_path)?;
        if ck.scene_hash != scene.hash() {
            return Err(Error::Format {
                path: ckpt_path.clone(),
                message: format!(
                    "checkpoint is for scene hash {:016x}, this scene's is {:016x} (seed, \
                     system or sampler changed): the training data differ; start a new \
                     training (without --resume)",
                    ck.scene_hash,
                    scene.hash()
                ),
            });
        }
        if ck.optimizer != settings.optimizer {
            return Err(Error::Format {
                path: ckpt_path.clone(),
                message: format!(
                    "checkpoint was trained with optimizer {:?}, the scene asks for {:?}; \
                     restore the scene's training.optimizer or start a new training",
                    ck.optimizer, settings.optimizer
                ),
            });
        }
        if ck.step > settings.steps {
            return Err(Error::Format {
                path: ckpt_path.clone(),
                message: format!(
                    "checkpoint is at step {}, beyond training.steps = {}",
                    ck.step, settings.steps
                ),
            });
        }
        let log = read_loss_log(&log_path, ck.step);
        (ck.params, Some(ck.m), Some(ck.v), ck.step, log)
    } else {
        let theta: Vec<f32> = cfg
            .init_params(scene.seed)
            .iter()
            .map(|&x| x as f32)
            .collect();
        (theta, None, None, 0, Vec::new())
    };

    let model_kernels = ModelKernels::new(gpu)?;
    let grad_kernels = GradKernels::new(gpu)?;
    let adam = Adam::new(
        gpu,
        &settings.optimizer,
        &theta0,
        m0.as_deref(),
        v0.as_deref(),
        start as u32,
    )?;

    // Baseline: θ = 0 on the first batch (E_θ = 0 leaves only the soft-core prior).
    let zero_network_loss = {
        let (xt, z, times) = batch(samples, sys.box_length, scene.seed, 0, settings.batch);
        loss_and_gradient(
            gpu,
            &model_kernels,
            &grad_kernels,
            &cfg,
            &sys,
            &vec![0.0; p],
            &xt,
            &z,
            &times,
            n as usize,
        )?
        .0
    };

    let diverged = |step: u64, what: String, last_saved: u64| -> Error {
        Error::Model(format!(
            "training diverged by step {step}: {what}; the last good checkpoint (step \
             {last_saved}) is kept in {}",
            ckpt_path.display()
        ))
    };
    // Writes the checkpoint unless the state went non-finite (then nothing is written).
    let checkpoint = |step: u64, last_saved: u64| -> Result<()> {
        let snap = adam.read_state(gpu)?;
        let bad = |v: &[f32]| v.iter().filter(|x| !x.is_finite()).count();
        let (bt, bm, bv) = (bad(&snap.theta), bad(&snap.m), bad(&snap.v));
        if bt + bm + bv > 0 {
            return Err(diverged(
                step,
                format!("{bt} non-finite parameters, {bm} and {bv} non-finite moments"),
                last_saved,
            ));
        }
        Checkpoint {
            scene_hash: scene.hash(),
            architecture: cfg,
            step,
            seed: scene.seed,
            optimizer: settings.optimizer,
            params: snap.theta,
            m: snap.m,
            v: snap.v,
        }
        .write(&ckpt_path)
    };

    // Device-resident step: θ is the optimizer's buffer, the batch is uploaded, the
    // gradient copied into `adam.grad` and the update recorded in one submission; the loss
    // is read back only at log and checkpoint steps.
    let workspace = GradWorkspace::new(
        gpu,
        &model_kernels,
        &grad_kernels,
        &cfg,
        &sys,
        n as usize,
        settings.batch as usize,
        &adam.theta,
    )?;
    let mut final_loss = loss_log.last().map_or(f64::NAN, |r| r.loss);
    let mut last_saved = start;
    let mut previous: Option<wgpu::SubmissionIndex> = None;
    for k in start..settings.steps {
        let (xt, z, times) = batch(samples, sys.box_length, scene.seed, k, settings.batch);
        let index = workspace.step(gpu, &model_kernels, &grad_kernels, &adam, &xt, &z, &times)?;
        // At most two steps in flight: the host makes batch k + 1 while the device runs k.
        if let Some(prev) = previous.replace(index) {
            gpu.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(prev),
                    timeout: None,
                })
                .map_err(|e| Error::Device(format!("poll: {e}")))?;
        }
        let done = k + 1;
        let log_now = done % settings.log_every as u64 == 0 || done == settings.steps;
        let save_now = done % settings.checkpoint_every as u64 == 0 || done == settings.steps;
        if log_now || save_now {
            let loss = workspace.read_loss(gpu)?;
            final_loss = loss;
            if !loss.is_finite() {
                write_loss_log(&log_path, &loss_log)?;
                return Err(diverged(done, format!("loss {loss}"), last_saved));
            }
            if log_now {
                loss_log.push(LossRecord {
                    step: done,
                    loss,
                    lr: settings.optimizer.learning_rate(k),
                });
                write_loss_log(&log_path, &loss_log)?;
                progress(done, settings.steps, loss);
            }
            if save_now {
                if let Err(e) = checkpoint(done, last_saved) {
                    write_loss_log(&log_path, &loss_log)?;
                    return Err(e);
                }
                last_saved = done;
            }
        }
    }
    if start == settings.steps {
        // Nothing to do; make sure the files exist.
        write_loss_log(&log_path, &loss_log)?;
    }
    Ok(TrainOutcome {
        steps: settings.steps,
        final_loss,
        loss_log,
        zero_network_loss,
        wall_time_s: start_time.elapsed().as_secs_f64(),
        steps_this_run: settings.steps - start,
    })
}
