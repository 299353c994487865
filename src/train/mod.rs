//! Denoising score-matching training of the energy model Ũ_θ on the device
//! (docs/method.md §4): batches of reference configurations, forward-noised at stratified times, the
//! second-order parameter gradient of
//! [`loss_and_gradient`](crate::model::model_grad::loss_and_gradient) and device-resident AdamW
//! ([`Adam`]), with a loss log (`train_loss.csv`) and versioned checkpoints (`model.ckpt`).
//!
//! Several particle counts train one model jointly: each step's batch is split over the
//! counts ([`batch_split`]: equal configurations per count), each count runs in its own
//! [`GradWorkspace`] part, and the gradient of the mean loss over every configuration,
//! particle and coordinate is combined on the device before AdamW.
//!
//! Every random number of step k is a pure function of (seed, k) (counter-based Philox),
//! so a run resumed from a checkpoint at step k continues bit for bit like the
//! uninterrupted run:
//! - configuration j of step k (j over the whole batch, the counts in the scene's order):
//!   Philox counter (k, j, 3, 0), first word → sample index, second word → u_j, time
//!   t_j = ((j − first_m + u_j)/C_m)^time_exponent (stratified over count m's C_m
//!   configurations, which start at j = first_m);
//! - noise of particle i of configuration j: Gaussian from counter (k, j, 4, i).
//!
//! The key is [`train_key`]`(scene.seed)`, distinct from the sampler's streams.
//!
//! # Regression target ([`ScoreTarget`])
//!
//! The loss regresses ∇_x E(x_t, t) (E = s(t) Ũ) on a target. Denoising score matching
//! uses the noise z; at t ≲ 0.1 that target is almost unpredictable (loss ≈ 1 for every
//! model) and carries no signal. The default blends in target score matching:
//! w(t) · s(t) β∇U(x_0) + (1 − w(t)) · z with the logistic weight
//! [`target_score_weight`]
//! (w = 1/2 at the switch time, → 1 below, → 0 above); every w is unbiased for the same
//! minimiser (see [`score_matching_target`]). β∇U(x_0) of every reference configuration is
//! computed once per training call on the host in f64 ([`TrainingSet::new`]). Times are
//! drawn as t = v^`time_exponent` (default 3: about half the configurations below
//! t = 0.1, where the target score gives the loss its signal). Measured effect:
//! benches/RESULTS.md, "Training: regression target and sampling of t".

use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::adam::Adam;
use crate::model::checkpoint::Checkpoint;
use crate::model::model_grad::{BatchRef, GradKernels, GradWorkspace};
use crate::model::ModelKernels;
use crate::output::write_atomic;
use crate::quadrature::SPAN_EDGES;
use crate::reference::model_energy::{noised_positions, soft_gradient};
use crate::reference::model_grad::score_matching_target;
use crate::reference::rng::{gaussian3, key_of, philox4x32_10, uniform_open01};
use crate::scene::{ModelConfig, ModelSystem, Scene, ScoreTarget, TrainingSettings};
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
    /// The loss at each of [`PROBE_TIMES`] after this row's update, on fixed probe batches
    /// (NaN where not measured), of the model the samplers use: the parameters' moving
    /// average where the training keeps one
    /// ([`AdamSettings::average`](crate::scene::AdamSettings::average)), else θ.
    pub by_t: [f64; PROBE_COUNT],
}

/// Number of probe times.
pub const PROBE_COUNT: usize = SPAN_EDGES.len() - 1;

/// The probe times: the midpoints of the spans of [`SPAN_EDGES`], so that the loss in a
/// span of t can be set beside that span's contribution to βF_ex in the report.
pub const PROBE_TIMES: [f64; PROBE_COUNT] = {
    let mut t = [0.0; PROBE_COUNT];
    let mut i = 0;
    while i < PROBE_COUNT {
        t[i] = 0.5 * (SPAN_EDGES[i] + SPAN_EDGES[i + 1]);
        i += 1;
    }
    t
};

/// Column name of the loss at probe time `t` in the loss log.
pub fn probe_column(t: f64) -> String {
    format!("loss_t{t:.2}")
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
    /// Loss of θ = 0 on the last step's batch (the batch `final_loss` is measured on) with
    /// the training's target: the baseline (≈ 1 per coordinate away from t ≈ 0 for plain
    /// denoising; lower at small t with the blend).
    pub zero_network_loss: f64,
    /// Wall time of this call.
    pub wall_time_s: f64,
    /// Updates done by this call.
    pub steps_this_run: u64,
}

/// Reference configurations of one particle count with β∇U(x_0) of each particle (the
/// target score, f64 reference [`soft_gradient`] at a = 0 on the stored f32 positions,
/// kept as f32), which [`ScoreTarget::Blend`] needs.
pub struct TrainingSet<'a> {
    /// The configurations.
    pub samples: &'a SampleSet,
    /// β∇U of every stored particle (same layout as `samples.positions`); empty for
    /// [`ScoreTarget::Denoising`].
    pub grad_u: Vec<[f32; 3]>,
}

impl<'a> TrainingSet<'a> {
    /// Computes β∇U(x_0) of every configuration when `target` needs it (O(N²) per
    /// configuration, once).
    pub fn new(sys: &ModelSystem, samples: &'a SampleSet, target: ScoreTarget) -> Self {
        let grad_u = match target {
            ScoreTarget::Denoising => Vec::new(),
            ScoreTarget::Blend { .. } => samples
                .positions
                .chunks(samples.n.max(1) as usize)
                .flat_map(|x| {
                    let x0: Vec<[f64; 3]> = x.iter().map(|p| p.map(|v| v as f64)).collect();
                    soft_gradient(sys, &x0, 0.0)
                        .into_iter()
                        .map(|g| g.map(|v| v as f32))
                })
                .collect(),
        };
        Self { samples, grad_u }
    }
}

/// One batch: noised positions, noise, regression targets and times.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// x_t, configuration-major (C·N).
    pub x_t: Vec<[f64; 3]>,
    /// The noise z (C·N).
    pub noise: Vec<[f64; 3]>,
    /// The regression target of ∇_x E (C·N): z, or the blend of [`ScoreTarget::Blend`].
    pub target: Vec<[f64; 3]>,
    /// t per configuration (C).
    pub times: Vec<f64>,
}

impl Batch {
    fn with_capacity(configurations: usize, n: usize) -> Self {
        Batch {
            x_t: Vec::with_capacity(configurations * n),
            noise: Vec::with_capacity(configurations * n),
            target: Vec::with_capacity(configurations * n),
            times: Vec::with_capacity(configurations),
        }
    }
}

/// Philox key of the training streams.
pub fn train_key(seed: u64) -> [u32; 2] {
    key_of(seed ^ 0x7472_6169_6e69_6e67) // "training"
}

/// Batch of step `k`: noised positions x_t (batch·N), noise z and times (plain denoising,
/// one particle count; [`batch_part`] with `first = 0`, `count = size`).
pub fn batch(
    samples: &SampleSet,
    box_length: f64,
    seed: u64,
    k: u64,
    size: u32,
) -> (Vec<[f64; 3]>, Vec<[f64; 3]>, Vec<f64>) {
    let set = TrainingSet {
        samples,
        grad_u: Vec::new(),
    };
    let b = batch_part(
        &set,
        box_length,
        seed,
        k,
        0,
        size,
        ScoreTarget::Denoising,
        1.0,
    );
    (b.x_t, b.noise, b.times)
}

/// Configurations `first .. first + count` of step `k`'s batch, drawn from `set`:
/// configuration j uses Philox counter (k, j, 3, 0) (first word → sample index, second →
/// u_j, t_j = ((j − first + u_j)/count)^time_exponent, stratified over this part) and
/// noise counters (k, j, 4, i). The regression target follows `target` (β∇U from
/// `set.grad_u`).
#[allow(clippy::too_many_arguments)]
pub fn batch_part(
    set: &TrainingSet,
    box_length: f64,
    seed: u64,
    k: u64,
    first: u32,
    count: u32,
    target: ScoreTarget,
    time_exponent: f64,
) -> Batch {
    let samples = set.samples;
    let key = train_key(seed);
    let n = samples.n as usize;
    let total = samples.configurations() as u64;
    let mut b = Batch::with_capacity(count as usize, n);
    for j in first..first + count {
        let bits = philox4x32_10([k as u32, j, 3, 0], key);
        let index = ((bits[0] as u64 * total) >> 32) as usize;
        let v = ((j - first) as f64 + uniform_open01(bits[1])) / count as f64;
        let t = if time_exponent == 1.0 {
            v
        } else {
            v.powf(time_exponent)
        };
        let z: Vec<[f64; 3]> = (0..n as u32)
            .map(|i| gaussian3(philox4x32_10([k as u32, j, 4, i], key)))
            .collect();
        push_configuration(&mut b, set, box_length, index, z, t, target);
    }
    b
}

/// Configurations `first .. first + count` of the probe batch `probe`, all at time `t`:
/// configuration j uses Philox counters (probe, j, 5, 0) (sample index) and (probe, j, 6, i)
/// (noise), streams of their own, so the same configurations and noise are met at every
/// evaluation and the loss's change between evaluations is the model's alone.
#[allow(clippy::too_many_arguments)]
pub fn probe_part(
    set: &TrainingSet,
    box_length: f64,
    seed: u64,
    probe: u32,
    first: u32,
    count: u32,
    target: ScoreTarget,
    t: f64,
) -> Batch {
    let key = train_key(seed);
    let n = set.samples.n as usize;
    let total = set.samples.configurations() as u64;
    let mut b = Batch::with_capacity(count as usize, n);
    for j in first..first + count {
        let bits = philox4x32_10([probe, j, 5, 0], key);
        let index = ((bits[0] as u64 * total) >> 32) as usize;
        let z: Vec<[f64; 3]> = (0..n as u32)
            .map(|i| gaussian3(philox4x32_10([probe, j, 6, i], key)))
            .collect();
        push_configuration(&mut b, set, box_length, index, z, t, target);
    }
    b
}

/// Appends reference configuration `index` of `set`, noised by `z` to time `t`, with its
/// regression target.
fn push_configuration(
    b: &mut Batch,
    set: &TrainingSet,
    box_length: f64,
    index: usize,
    z: Vec<[f64; 3]>,
    t: f64,
    target: ScoreTarget,
) {
    let n = set.samples.n as usize;
    let x0: Vec<[f64; 3]> = set.samples.positions[index * n..(index + 1) * n]
        .iter()
        .map(|p| p.map(|v| v as f64))
        .collect();
    b.x_t.extend(noised_positions(box_length, &x0, &z, t));
    let w = target.weight(t);
    if w > 0.0 {
        let g: Vec<[f64; 3]> = set.grad_u[index * n..(index + 1) * n]
            .iter()
            .map(|p| p.map(|v| v as f64))
            .collect();
        b.target
            .extend(score_matching_target(box_length, &g, &z, t, w));
    } else {
        b.target.extend_from_slice(&z);
    }
    b.noise.extend(z);
    b.times.push(t);
}

/// How a step's `batch` configurations are split over the particle counts: equal numbers
/// per count, the remainder to the first ones (count m gets ⌊B/M⌋, plus one if m < B mod M).
/// Returns (N_m, C_m) in the scene's order; the loss is the mean over every configuration,
/// particle and coordinate, so count m weighs C_m N_m / Σ C N.
pub fn batch_split(particles: &[u32], batch: u32) -> Vec<(usize, usize)> {
    let m = particles.len().max(1) as u32;
    particles
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            (
                n as usize,
                (batch / m + u32::from((i as u32) < batch % m)) as usize,
            )
        })
        .collect()
}

/// (x_t, target, times) of each part, as [`GradWorkspace::upload`] takes them.
fn views(b: &[Batch]) -> Vec<BatchRef<'_>> {
    b.iter()
        .map(|b| (&b.x_t[..], &b.target[..], &b.times[..]))
        .collect()
}

fn write_loss_log(path: &Path, log: &[LossRecord]) -> Result<()> {
    let mut text = String::from("step,loss,lr");
    for t in PROBE_TIMES {
        text.push(',');
        text.push_str(&probe_column(t));
    }
    text.push('\n');
    for r in log {
        // Shortest round-trip form: a resumed run reads back exactly what it wrote.
        text.push_str(&format!("{},{:e},{:e}", r.step, r.loss, r.lr));
        for l in r.by_t {
            text.push_str(&format!(",{l:e}"));
        }
        text.push('\n');
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
            // Logs written before the probe columns existed: NaN.
            let mut by_t = [f64::NAN; PROBE_COUNT];
            for (slot, v) in by_t.iter_mut().zip(it) {
                *slot = v.trim().parse().unwrap_or(f64::NAN);
            }
            Some(LossRecord {
                step,
                loss,
                lr,
                by_t,
            })
        })
        .filter(|r| r.step <= up_to)
        .collect()
}

/// Trains the scene's model jointly on every particle count of `system.particles`
/// (`samples[m]`: the reference configurations of the m-th count; each step's batch split
/// by [`batch_split`] and the per-count losses combined on the device by
/// [`GradWorkspace`]) for `training.steps` updates in total, writing `train_loss.csv` and `model.ckpt`
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
/// at the step it occurred. For one particle count the updates are bit-identical to
/// evaluating [`loss_and_gradient`](crate::model::model_grad::loss_and_gradient) on the read-back
/// θ and uploading its gradient.
pub fn train(
    gpu: &Gpu,
    scene: &Scene,
    samples: &[SampleSet],
    out_dir: &Path,
    resume: bool,
    mut progress: impl FnMut(u64, u64, f64),
) -> Result<TrainOutcome> {
    let start_time = Instant::now();
    let cfg: ModelConfig = scene.model();
    let settings = scene.training();
    check_inputs(scene, &cfg, &settings, samples)?;
    let shape = batch_split(&scene.system.particles, settings.batch);
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let sys = scene.model_system();
    let files = TrainingFiles {
        checkpoint: out_dir.join(CHECKPOINT_FILE),
        loss_log: out_dir.join(LOSS_LOG_FILE),
    };
    let state = if resume {
        StartState::resumed(scene, &settings, &files)?
    } else {
        StartState::fresh(scene, &cfg)
    };
    let start = state.step;
    let mut loss_log = state.loss_log;

    let model_kernels = ModelKernels::new(gpu, &cfg)?;
    let grad_kernels = GradKernels::new(gpu, &model_kernels)?;
    let adam = Adam::new(
        gpu,
        &settings.optimizer,
        &state.theta,
        state.m.as_deref(),
        state.v.as_deref(),
        start as u32,
    )?;
    if let Some(average) = &state.average {
        adam.set_average(gpu, average);
    }
    let batches = Batches {
        sets: samples
            .iter()
            .map(|set| TrainingSet::new(&sys, set, settings.target))
            .collect(),
        shape: shape.clone(),
        box_length: sys.box_length,
        seed: scene.seed,
        target: settings.target,
        time_exponent: settings.time_exponent,
    };
    // Baseline: θ = 0 (E_θ = 0 leaves only the soft-core prior) on the last step's batch,
    // the one `final_loss` is measured on, so that the two compare batch for batch.
    let zero_network_loss = {
        let zero = gpu.storage_from("zero theta", &vec![0.0f32; cfg.param_count()]);
        let ws = GradWorkspace::new(
            gpu,
            &model_kernels,
            &grad_kernels,
            &cfg,
            &sys,
            &shape,
            &zero,
        )?;
        ws.upload(gpu, &views(&batches.at(settings.steps.saturating_sub(1))))?;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        ws.record(&mut encoder, &model_kernels, &grad_kernels);
        gpu.queue.submit([encoder.finish()]);
        ws.read_loss(gpu)?
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
        &shape,
        &adam.theta,
    )?;
    let mut final_loss = loss_log.last().map_or(f64::NAN, |r| r.loss);
    let mut last_saved = start;
    let mut previous: Option<wgpu::SubmissionIndex> = None;
    for k in start..settings.steps {
        let b = batches.at(k);
        let index = workspace.step(gpu, &model_kernels, &grad_kernels, &adam, &views(&b))?;
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
        if !(log_now || save_now) {
            continue;
        }
        let loss = workspace.read_loss(gpu)?;
        final_loss = loss;
        if !loss.is_finite() {
            write_loss_log(&files.loss_log, &loss_log)?;
            return Err(files.diverged(done, format!("loss {loss}"), last_saved));
        }
        if log_now {
            let average = settings.optimizer.average.map(|_| &adam);
            let by_t = probe_losses(
                gpu,
                &workspace,
                &model_kernels,
                &grad_kernels,
                &batches,
                average,
            )?;
            loss_log.push(LossRecord {
                step: done,
                loss,
                lr: settings.optimizer.learning_rate(k),
                by_t,
            });
            write_loss_log(&files.loss_log, &loss_log)?;
            progress(done, settings.steps, loss);
        }
        if save_now {
            let written = write_checkpoint(gpu, scene, &cfg, &adam, &files, done, last_saved);
            if let Err(e) = written {
                write_loss_log(&files.loss_log, &loss_log)?;
                return Err(e);
            }
            last_saved = done;
        }
    }
    if start == settings.steps {
        // Nothing to do; make sure the files exist.
        write_loss_log(&files.loss_log, &loss_log)?;
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

/// The loss of the samplers' model at each of [`PROBE_TIMES`], on the fixed probe batches
/// of [`Batches::probe`], evaluated in the training workspace (every buffer a step reads is
/// rewritten by the next step's upload and passes, so the training is unchanged). With
/// weight averaging (`average`: the optimizer holding it) the average is copied into θ's
/// buffer for the probes and θ restored after them.
fn probe_losses(
    gpu: &Gpu,
    workspace: &GradWorkspace,
    model: &ModelKernels,
    grad: &GradKernels,
    batches: &Batches,
    average: Option<&Adam>,
) -> Result<[f64; PROBE_COUNT]> {
    let saved = average.map(|adam| {
        let size = adam.theta.size();
        let saved = gpu.storage_zeroed("theta during probes", size);
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&adam.theta, 0, &saved, 0, size);
        encoder.copy_buffer_to_buffer(&adam.average, 0, &adam.theta, 0, size);
        gpu.queue.submit([encoder.finish()]);
        (adam, saved)
    });
    let mut out = [f64::NAN; PROBE_COUNT];
    for (i, slot) in out.iter_mut().enumerate() {
        workspace.upload(gpu, &views(&batches.probe(i as u32, PROBE_TIMES[i])))?;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        workspace.record(&mut encoder, model, grad);
        gpu.queue.submit([encoder.finish()]);
        *slot = workspace.read_loss(gpu)?;
    }
    if let Some((adam, saved)) = saved {
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&saved, 0, &adam.theta, 0, adam.theta.size());
        gpu.queue.submit([encoder.finish()]);
    }
    Ok(out)
}

/// Refuses settings and sample sets the training cannot run with.
fn check_inputs(
    scene: &Scene,
    cfg: &ModelConfig,
    settings: &TrainingSettings,
    samples: &[SampleSet],
) -> Result<()> {
    cfg.validate()
        .map_err(|e| Error::Model(format!("scene model section: {e}")))?;
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
    let counts = &scene.system.particles;
    if counts.is_empty() {
        return Err(Error::Model("the scene has no particle count".into()));
    }
    if samples.len() != counts.len() {
        return Err(Error::Model(format!(
            "the scene trains particle counts {counts:?}; {} sample sets were given (one per \
             count, in the scene's order)",
            samples.len()
        )));
    }
    for (&n, set) in counts.iter().zip(samples) {
        if set.n != n || set.configurations() == 0 {
            return Err(Error::Model(format!(
                "training N = {n} needs its reference samples; the sample set in its place \
                 holds {} configurations of N = {}",
                set.configurations(),
                set.n
            )));
        }
        if set.scene_hash != scene.hash() {
            return Err(Error::Model(format!(
                "the samples of N = {n} were made for scene hash {:016x}, this scene's is \
                 {:016x}",
                set.scene_hash,
                scene.hash()
            )));
        }
    }
    if (settings.batch as usize) < counts.len() {
        return Err(Error::Model(format!(
            "training.batch = {} is smaller than the number of particle counts {}",
            settings.batch,
            counts.len()
        )));
    }
    Ok(())
}

/// The files a training writes.
struct TrainingFiles {
    checkpoint: std::path::PathBuf,
    loss_log: std::path::PathBuf,
}

impl TrainingFiles {
    /// The error of a training that went non-finite by `step`.
    fn diverged(&self, step: u64, what: String, last_saved: u64) -> Error {
        Error::Model(format!(
            "training diverged by step {step}: {what}; the last good checkpoint (step \
             {last_saved}) is kept in {}",
            self.checkpoint.display()
        ))
    }
}

/// Where a training starts: θ, the AdamW moments (None: zero) and the parameters' moving
/// average (None: θ), the step and the loss log so far.
struct StartState {
    theta: Vec<f32>,
    m: Option<Vec<f32>>,
    v: Option<Vec<f32>>,
    average: Option<Vec<f32>>,
    step: u64,
    loss_log: Vec<LossRecord>,
}

impl StartState {
    /// Step 0 from the seeded initial parameters.
    fn fresh(scene: &Scene, cfg: &ModelConfig) -> Self {
        Self {
            theta: cfg
                .init_params(scene.seed)
                .iter()
                .map(|&x| x as f32)
                .collect(),
            m: None,
            v: None,
            average: None,
            step: 0,
            loss_log: Vec::new(),
        }
    }

    /// The checkpoint's state, if it fits the scene and is not beyond `settings.steps`.
    fn resumed(scene: &Scene, settings: &TrainingSettings, files: &TrainingFiles) -> Result<Self> {
        let ck = Checkpoint::read(&files.checkpoint)?;
        ck.check_scene(scene, &files.checkpoint)?;
        if ck.step > settings.steps {
            return Err(Error::Format {
                path: files.checkpoint.clone(),
                message: format!(
                    "checkpoint is at step {}, beyond training.steps = {}",
                    ck.step, settings.steps
                ),
            });
        }
        Ok(Self {
            loss_log: read_loss_log(&files.loss_log, ck.step),
            theta: ck.params,
            m: Some(ck.m),
            v: Some(ck.v),
            average: ck.average,
            step: ck.step,
        })
    }
}

/// Writes the checkpoint of step `step` unless the optimizer state went non-finite (then
/// nothing is written and the error names the last good checkpoint).
fn write_checkpoint(
    gpu: &Gpu,
    scene: &Scene,
    cfg: &ModelConfig,
    adam: &Adam,
    files: &TrainingFiles,
    step: u64,
    last_saved: u64,
) -> Result<()> {
    let snap = adam.read_state(gpu)?;
    let bad = |v: &[f32]| v.iter().filter(|x| !x.is_finite()).count();
    let (bt, bm, bv) = (bad(&snap.theta), bad(&snap.m), bad(&snap.v));
    let ba = bad(&snap.average);
    if bt + bm + bv + ba > 0 {
        return Err(files.diverged(
            step,
            format!(
                "{bt} non-finite parameters, {bm} and {bv} non-finite moments, {ba} non-finite \
                 averaged parameters"
            ),
            last_saved,
        ));
    }
    let settings = scene.training();
    let average = settings.optimizer.average.map(|_| snap.average);
    Checkpoint {
        scene_hash: scene.hash(),
        architecture: *cfg,
        step,
        seed: scene.seed,
        optimizer: settings.optimizer,
        batch: settings.batch,
        target: settings.target,
        params: snap.theta,
        m: snap.m,
        v: snap.v,
        average,
    }
    .write(&files.checkpoint)
}

/// The batches of a training: every step's configurations drawn from the particle counts'
/// training sets ([`batch_part`] for each part of the [`batch_split`]).
struct Batches<'a> {
    sets: Vec<TrainingSet<'a>>,
    shape: Vec<(usize, usize)>,
    box_length: f64,
    seed: u64,
    target: ScoreTarget,
    time_exponent: f64,
}

impl Batches<'_> {
    /// One part per particle count, in the scene's order: `make(set, first, count)` with
    /// `first` the part's first configuration index in the whole batch.
    fn parts(&self, make: impl Fn(&TrainingSet, u32, u32) -> Batch) -> Vec<Batch> {
        let mut first = 0;
        self.sets
            .iter()
            .zip(&self.shape)
            .map(|(set, &(_, c))| {
                let b = make(set, first, c as u32);
                first += c as u32;
                b
            })
            .collect()
    }

    /// The parts of step `k`'s batch ([`batch_part`]).
    fn at(&self, k: u64) -> Vec<Batch> {
        self.parts(|set, first, count| {
            let (l, seed, target) = (self.box_length, self.seed, self.target);
            batch_part(set, l, seed, k, first, count, target, self.time_exponent)
        })
    }

    /// The parts of probe batch `probe`, every configuration at time `t` ([`probe_part`]).
    fn probe(&self, probe: u32, t: f64) -> Vec<Batch> {
        self.parts(|set, first, count| {
            let (l, seed, target) = (self.box_length, self.seed, self.target);
            probe_part(set, l, seed, probe, first, count, target, t)
        })
    }
}
