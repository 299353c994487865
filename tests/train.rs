//! Training of the energy model (`nti_gpu::train`): it learns (loss clearly below the
//! θ = 0 baseline), resuming from a checkpoint equals the uninterrupted run bit for bit,
//! and checkpoints of another architecture or scene are refused with a clear error.
//! Small model (K = 8, K_v = 4, M = 2, H = 16), N = 20 in L = 6 (paper potential,
//! ε = 0.8, kT = 1), a short reference sampling shared by the tests.

mod common;

use nti_gpu::dataset::SampleSet;
use nti_gpu::gpu::Gpu;
use nti_gpu::model::checkpoint::Checkpoint;
use nti_gpu::model::model_grad::{loss_and_gradient, GradKernels};
use nti_gpu::model::ModelKernels;
use nti_gpu::reference::model_energy::{self as em, noised_positions};
use nti_gpu::scene::{ModelConfig, ModelSystem, Scene};
use nti_gpu::stages::sample::sample_files;
use nti_gpu::train::{batch, train, CHECKPOINT_FILE, LOSS_LOG_FILE};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

fn scene(steps: u64, lr: f64, log_every: u32, checkpoint_every: u32, hidden: usize) -> Scene {
    scene_with(
        &Setup::default(),
        steps,
        lr,
        log_every,
        checkpoint_every,
        hidden,
    )
}

/// The system and target of a test scene (defaults: N = 20 in L = 6, seed 11, the
/// default target).
#[derive(Clone, Debug)]
struct Setup {
    particles: Vec<u32>,
    box_length: f64,
    seed: u64,
    target: &'static str,
    batch: u32,
    vector_channels: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            particles: vec![20],
            box_length: 6.0,
            seed: 11,
            target: "",
            batch: 8,
            vector_channels: 4,
        }
    }
}

fn scene_with(
    setup: &Setup,
    steps: u64,
    lr: f64,
    log_every: u32,
    checkpoint_every: u32,
    hidden: usize,
) -> Scene {
    let Setup {
        particles,
        box_length,
        seed,
        target,
        batch,
        vector_channels,
    } = setup;
    let target = if target.is_empty() {
        String::new()
    } else {
        format!(", target: {target}")
    };
    let lr_min = lr.min(1e-5);
    let text = format!(
        r#"Scene(
    name: "train", seed: {seed},
    system: (box_length: {box_length:?}, temperature: 1.0, epsilon: 0.8, particles: {particles:?},
             potential: MinimumImage),
    sampler: (replicas: 8, dt: 0.005, equilibration_steps: 1000, production_steps: 2000,
              record_every: 10, sample_every: 100),
    model: (k_radial: 8, vector_channels: {vector_channels}, time_frequencies: 2, hidden: {hidden}, r_c: 2.0),
    training: (steps: {steps}, batch: {batch}, optimizer: (lr: {lr:?}, lr_min: {lr_min:?}), log_every: {log_every},
               checkpoint_every: {checkpoint_every}{target}),
)"#
    );
    let s = Scene::from_str(&text, "test").unwrap();
    s.validate("test").unwrap();
    s
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nti-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reference samples of N particles of `setup`'s system (its seed), made once per test
/// binary and shared.
fn sample_set(g: &Gpu, setup: &Setup, n: u32) -> &'static SampleSet {
    type Cache = Mutex<HashMap<(u32, String, u64, u64), &'static SampleSet>>;
    static SETS: OnceLock<Cache> = OnceLock::new();
    let key = (
        n,
        format!("{:?}", setup.particles),
        setup.box_length.to_bits(),
        setup.seed,
    );
    let mut sets = SETS.get_or_init(Default::default).lock().unwrap();
    sets.entry(key).or_insert_with(|| {
        let s = scene_with(setup, 1, 1e-3, 1, 1, 16);
        let kernels = std::sync::Arc::new(nti_gpu::md::MdKernels::new(g).unwrap());
        let dir = tmp(&format!(
            "samples-{n}-{}-{}-{}",
            setup.particles.len(),
            setup.box_length,
            setup.seed
        ));
        let (_, set) = nti_gpu::stages::sample::sample_one(
            g,
            &kernels,
            &s,
            n,
            &dir,
            &mut nti_gpu::stages::NoProgress,
        )
        .unwrap();
        Box::leak(Box::new(set))
    })
}

/// Reference samples of the default test scene.
fn samples() -> Option<&'static [SampleSet]> {
    let g = common::gpu()?;
    Some(std::slice::from_ref(sample_set(&g, &Setup::default(), 20)))
}

/// Relative error of the model score at time t against the exact score of the data,
/// Σ|∇_x Ũ(x_t, t) − β∇U(x_t)|² / Σ|β∇U(x_t)|² over `configs` held-out configurations
/// noised at t (f64 reference of the model; at t ≤ 0.05, s(t) ≤ 0.01σ and the exact score
/// of p_t is −β∇U(x_t) to within that blur).
fn score_error(s: &Scene, held_out: &SampleSet, params: &[f64], t: f64, configs: u32) -> f64 {
    model_score_error(
        &s.model.unwrap(),
        &s.model_system(),
        held_out,
        params,
        t,
        configs,
    )
}

/// [`score_error`] of the model `cfg` of system `sys`.
fn model_score_error(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    held_out: &SampleSet,
    params: &[f64],
    t: f64,
    configs: u32,
) -> f64 {
    let mut rng = StdRng::seed_from_u64(99);
    let (mut err, mut norm) = (0.0, 0.0);
    let stride = (held_out.configurations() as u32 / configs).max(1);
    for c in 0..configs {
        let index = (c * stride) % held_out.configurations() as u32;
        let x0: Vec<[f64; 3]> = held_out
            .configuration(index / held_out.replicas, index % held_out.replicas)
            .iter()
            .map(|p| p.map(|v| v as f64))
            .collect();
        let z: Vec<[f64; 3]> = (0..x0.len())
            .map(|_| std::array::from_fn(|_| StandardNormal.sample(&mut rng)))
            .collect();
        let x_t = noised_positions(sys.box_length, &x0, &z, t);
        let model = em::score(cfg, sys, params, &x_t, t);
        let exact = em::soft_gradient(sys, &x_t, 0.0);
        for (m, e) in model.iter().zip(&exact) {
            for a in 0..3 {
                err += (m[a] - e[a]).powi(2);
                norm += e[a].powi(2);
            }
        }
    }
    err / norm
}

/// Mean loss of `params` on held-out batches (noise streams no training step uses), one
/// value per batch of 64 configurations (stratified t over [0, 1)).
fn held_out_losses(g: &Gpu, s: &Scene, set: &SampleSet, params: &[f64]) -> Vec<f64> {
    let cfg = s.model.unwrap();
    let sys = s.model_system();
    let mk = ModelKernels::new(g, &cfg).unwrap();
    let gk = GradKernels::new(g, &mk).unwrap();
    (0..8u64)
        .map(|k| {
            let (xt, z, t) = batch(set, sys.box_length, s.seed, 1_000_000 + k, 64);
            loss_and_gradient(g, &mk, &gk, &cfg, &sys, params, &xt, &z, &t, set.n as usize)
                .unwrap()
                .0
        })
        .collect()
}

/// The dense test system: N = 40 in L = 4.5 (ρ = 0.44), where the pair structure gives the
/// denoising loss something to learn.
fn dense() -> Setup {
    Setup {
        particles: vec![40],
        box_length: 4.5,
        ..Setup::default()
    }
}

/// Learning, with numbers: 600 steps (batch 8, lr 3e-3, default target) at ρ = 0.44.
/// (i) The held-out denoising loss (plain z target, 8 batches of 64 configurations from an
/// independent sampler run, stratified t) falls below the θ = 0 baseline, paired batch by
/// batch; (ii) the relative score error Σ|∇Ũ − β∇U|²/Σ|β∇U|² at t = 0.02 on 32 held-out
/// configurations falls well below its value at initialisation. Both fail with a vanishing
/// learning rate (checked: `NTI_TRAIN_LR=1e-9` fails both assertions).
#[test]
fn training_learns_the_loss_and_the_small_t_score() {
    let Some(g) = common::gpu() else { return };
    let setup = dense();
    let set = sample_set(&g, &setup, 40);
    let held = sample_set(
        &g,
        &Setup {
            seed: 12,
            ..dense()
        },
        40,
    );
    let steps = 600;
    let lr = std::env::var("NTI_TRAIN_LR").map_or(3e-3, |v| v.parse().unwrap());
    let s = scene_with(&setup, steps, lr, 10, 1000, 16);
    let dir = tmp("learn");
    let out = train(&g, &s, std::slice::from_ref(set), &dir, false, |_, _, _| {}).unwrap();
    assert_eq!(out.steps, steps);
    assert_eq!(out.loss_log.len(), (steps / 10) as usize);
    assert!(out
        .loss_log
        .iter()
        .all(|r| r.loss.is_finite() && r.lr > 0.0));
    let ck = Checkpoint::read(&dir.join(CHECKPOINT_FILE)).unwrap();
    assert_eq!(ck.step, steps);
    let trained: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
    let init = s.model.unwrap().init_params(s.seed);
    let zero = held_out_losses(&g, &s, held, &vec![0.0; trained.len()]);
    let fit = held_out_losses(&g, &s, held, &trained);
    let diffs: Vec<f64> = zero.iter().zip(&fit).map(|(a, b)| a - b).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let d = mean(&diffs);
    let se = (diffs.iter().map(|x| (x - d).powi(2)).sum::<f64>()
        / (diffs.len() * (diffs.len() - 1)) as f64)
        .sqrt();
    let (e_init, e_fit) = (
        score_error(&s, held, &init, 0.02, 32),
        score_error(&s, held, &trained, 0.02, 32),
    );
    let log = |k: usize| out.loss_log[k].loss;
    eprintln!(
        "held-out DSM loss: zero network {:.4}, trained {:.4} (gain {d:.4} ± {se:.4}); \
         training loss (default target) first logs {:.4} {:.4}, last {:.4}; score error at \
         t = 0.02: init {e_init:.4}, trained {e_fit:.4} (ratio {:.3}); {:.1} steps/s",
        mean(&zero),
        mean(&fit),
        log(0),
        log(1),
        out.final_loss,
        e_fit / e_init,
        steps as f64 / out.wall_time_s
    );
    // Measured (llvmpipe): zero network 0.9932, trained 0.9370, gain 0.0562 ± 0.0009 (with
    // lr = 1e-9, the initial network: 0.0058); ask for about half the gain and 4 standard
    // errors.
    assert!(d > 0.03 && d > 4.0 * se, "gain {d} ± {se}");
    // Measured 0.0545 → 0.0284 (ratio 0.52; with lr = 1e-9: 1.000). The value at
    // initialisation depends on the draw of the initial parameters (0.0834 with another
    // draw of the same distribution, trained to 0.0253), the trained one much less.
    assert!(e_fit < 0.7 * e_init, "{e_fit} vs {e_init}");
    let csv = std::fs::read_to_string(dir.join(LOSS_LOG_FILE)).unwrap();
    assert_eq!(csv.lines().count(), (steps / 10) as usize + 1);
    // The loss at the probe times, measured at every log step.
    assert_eq!(
        csv.lines().next().unwrap(),
        "step,loss,lr,loss_t0.01,loss_t0.06,loss_t0.20,loss_t0.40,loss_t0.60,loss_t0.85"
    );
    for line in csv.lines().skip(1) {
        assert!(
            line.split(',')
                .all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)),
            "{line}"
        );
    }
}

/// 20 steps, then a second call resuming to 40, against one uninterrupted 40-step run:
/// the checkpoints are bit-identical, and so are the loss logs; with weight averaging too
/// (the average resumed with the rest), where θ and the batch losses are bit for bit those
/// of the run without it and the average differs from θ.
#[test]
fn resume_equals_the_uninterrupted_run() {
    let Some(g) = common::gpu() else { return };
    let plain = resume_case(&g, None);
    let averaged = resume_case(&g, Some(0.9));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert!(plain.0.average.is_none());
    assert_eq!(bits(&averaged.0.params), bits(&plain.0.params));
    let average = averaged.0.average.as_deref().unwrap();
    assert_eq!(averaged.0.model_params(), average);
    let apart = average
        .iter()
        .zip(&averaged.0.params)
        .filter(|(a, p)| a != p)
        .count();
    assert!(apart > average.len() / 2, "{apart} of {}", average.len());
    // The batch losses are θ's (the same); the probe losses the average's (not the same).
    let column = |log: &[nti_gpu::train::LossRecord], f: fn(&nti_gpu::train::LossRecord) -> f64| {
        log.iter().map(|r| f(r).to_bits()).collect::<Vec<_>>()
    };
    assert_eq!(
        column(&averaged.1, |r| r.loss),
        column(&plain.1, |r| r.loss)
    );
    assert_ne!(
        column(&averaged.1, |r| r.by_t[0]),
        column(&plain.1, |r| r.by_t[0])
    );
}

/// The resume check of [`resume_equals_the_uninterrupted_run`] with the optimizer's
/// `average`: the final checkpoint and loss log.
fn resume_case(g: &Gpu, average: Option<f64>) -> (Checkpoint, Vec<nti_gpu::train::LossRecord>) {
    let set = samples().unwrap();
    let name = format!("{average:?}");
    let (a, b) = (
        tmp(&format!("resume-a{name}")),
        tmp(&format!("resume-b{name}")),
    );
    let scene = |steps| {
        let mut s = scene(steps, 3e-3, 5, 10, 16);
        s.training.as_mut().unwrap().optimizer.average = average;
        s
    };
    train(g, &scene(20), set, &a, false, |_, _, _| {}).unwrap();
    assert_eq!(Checkpoint::read(&a.join(CHECKPOINT_FILE)).unwrap().step, 20);
    let resumed = train(g, &scene(40), set, &a, true, |_, _, _| {}).unwrap();
    assert_eq!(resumed.steps_this_run, 20);
    let whole = train(g, &scene(40), set, &b, false, |_, _, _| {}).unwrap();
    let (ca, cb) = (
        Checkpoint::read(&a.join(CHECKPOINT_FILE)).unwrap(),
        Checkpoint::read(&b.join(CHECKPOINT_FILE)).unwrap(),
    );
    assert_eq!(ca.step, 40);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&ca.params), bits(&cb.params));
    assert_eq!(bits(&ca.m), bits(&cb.m));
    assert_eq!(bits(&ca.v), bits(&cb.v));
    assert_eq!(
        ca.average.as_deref().map(bits),
        cb.average.as_deref().map(bits)
    );
    assert_eq!(ca, cb);
    assert_eq!(resumed.loss_log, whole.loss_log);
    assert_eq!(resumed.final_loss.to_bits(), whole.final_loss.to_bits());
    assert_eq!(
        std::fs::read(a.join(LOSS_LOG_FILE)).unwrap(),
        std::fs::read(b.join(LOSS_LOG_FILE)).unwrap()
    );
    // The parameters moved.
    let init: Vec<f32> = scene(40)
        .model
        .unwrap()
        .init_params(11)
        .iter()
        .map(|&x| x as f32)
        .collect();
    assert_ne!(bits(&ca.params), bits(&init));
    (ca, whole.loss_log)
}

/// Joint training of two particle counts (N = 16 and 40 in L = 4.5, batch 8 split 4 + 4):
/// 10 steps then a resume to 20 equal one uninterrupted 20-step run bit for bit, the
/// parameters moved, and 150 steps lower the loss of both counts on unseen noise batches
/// below the θ = 0 baseline. (That the joint gradient is the weighted combination of the per-N gradients
/// is `tests/model_grad.rs`'s `joint_batch_of_two_particle_counts_matches_the_weighted_reference`.)
#[test]
fn joint_training_of_two_particle_counts() {
    let Some(g) = common::gpu() else { return };
    let setup = Setup {
        particles: vec![16, 40],
        box_length: 4.5,
        ..Setup::default()
    };
    let sets = [
        sample_set(&g, &setup, 16).clone(),
        sample_set(&g, &setup, 40).clone(),
    ];
    assert_eq!(
        nti_gpu::train::batch_split(&[16, 40], 8),
        vec![(16, 4), (40, 4)]
    );
    assert_eq!(
        nti_gpu::train::batch_split(&[16, 40, 60], 8),
        vec![(16, 3), (40, 3), (60, 2)]
    );
    let (a, b) = (tmp("joint-a"), tmp("joint-b"));
    train(
        &g,
        &scene_with(&setup, 10, 3e-3, 5, 10, 16),
        &sets,
        &a,
        false,
        |_, _, _| {},
    )
    .unwrap();
    let resumed = train(
        &g,
        &scene_with(&setup, 20, 3e-3, 5, 10, 16),
        &sets,
        &a,
        true,
        |_, _, _| {},
    )
    .unwrap();
    assert_eq!(resumed.steps_this_run, 10);
    let whole = train(
        &g,
        &scene_with(&setup, 20, 3e-3, 5, 10, 16),
        &sets,
        &b,
        false,
        |_, _, _| {},
    )
    .unwrap();
    let (ca, cb) = (
        Checkpoint::read(&a.join(CHECKPOINT_FILE)).unwrap(),
        Checkpoint::read(&b.join(CHECKPOINT_FILE)).unwrap(),
    );
    assert_eq!(ca, cb);
    assert_eq!(resumed.loss_log, whole.loss_log);
    let init: Vec<f32> = setup_init(&setup);
    assert_ne!(ca.params, init);
    // The wrong number of sample sets is a clear error.
    let e = train(
        &g,
        &scene_with(&setup, 20, 3e-3, 5, 10, 16),
        &sets[..1],
        &b,
        false,
        |_, _, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("[16, 40]") && e.contains("one per"), "{e}");

    let c = tmp("joint-c");
    let s = scene_with(&setup, 150, 3e-3, 10, 1000, 16);
    let out = train(&g, &s, &sets, &c, false, |_, _, _| {}).unwrap();
    let ck = Checkpoint::read(&c.join(CHECKPOINT_FILE)).unwrap();
    let trained: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
    for set in &sets {
        let zero = held_out_losses(&g, &s, set, &vec![0.0; trained.len()]);
        let fit = held_out_losses(&g, &s, set, &trained);
        let (z, f) = (
            zero.iter().sum::<f64>() / 8.0,
            fit.iter().sum::<f64>() / 8.0,
        );
        eprintln!(
            "joint N = {}: held-out loss zero network {z:.4}, trained {f:.4} ({:.1} steps/s)",
            set.n,
            150.0 / out.wall_time_s
        );
        assert!(f < z - 0.01, "N = {}: {f} vs {z}", set.n);
    }
}

fn setup_init(setup: &Setup) -> Vec<f32> {
    scene_with(setup, 1, 1e-3, 1, 1, 16)
        .model
        .unwrap()
        .init_params(setup.seed)
        .iter()
        .map(|&x| x as f32)
        .collect()
}

/// Resuming from a checkpoint of another architecture, of another scene, or without a
/// checkpoint is a clear error, and the refused checkpoint is left as it was.
#[test]
fn foreign_checkpoints_are_refused() {
    let Some(g) = common::gpu() else { return };
    let set = samples().unwrap();
    let dir = tmp("foreign");
    let path = dir.join(CHECKPOINT_FILE);
    let e = train(&g, &scene(4, 3e-3, 2, 2, 16), set, &dir, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("model.ckpt"), "{e}");
    train(
        &g,
        &scene(4, 3e-3, 2, 2, 16),
        set,
        &dir,
        false,
        |_, _, _| {},
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();

    // Another architecture (H = 8 instead of 16).
    let e = train(&g, &scene(8, 3e-3, 2, 2, 8), set, &dir, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("checkpoint is for model") && e.contains("hidden: 16"),
        "{e}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Another scene: the same file with a different scene hash.
    let mut ck = Checkpoint::read(&path).unwrap();
    ck.scene_hash ^= 1;
    ck.write(&path).unwrap();
    let e = train(&g, &scene(8, 3e-3, 2, 2, 16), set, &dir, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("scene hash"), "{e}");
    assert!(e.contains(&format!("{:016x}", ck.scene_hash)), "{e}");

    // Another optimizer.
    ck.scene_hash ^= 1;
    ck.write(&path).unwrap();
    let e = train(&g, &scene(8, 1e-3, 2, 2, 16), set, &dir, true, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("optimizer"), "{e}");
    // Another regression target or batch.
    let other = Setup {
        target: "Denoising",
        ..Setup::default()
    };
    let e = train(
        &g,
        &scene_with(&other, 8, 3e-3, 2, 2, 16),
        set,
        &dir,
        true,
        |_, _, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("target") && e.contains("Denoising"), "{e}");
    // And the matching scene resumes.
    let out = train(&g, &scene(8, 3e-3, 2, 2, 16), set, &dir, true, |_, _, _| {}).unwrap();
    assert_eq!(out.steps_this_run, 4);
}

/// Effect of the regression target on the small-t score (report, not a test):
/// `cargo test --release --test train target_effect -- --ignored --nocapture`.
/// Trains the same scene with plain denoising and with the blend at several switch times,
/// the same steps and batches, and prints the held-out relative score error at small t.
#[test]
#[ignore = "report: cargo test --release --test train target_effect -- --ignored --nocapture"]
fn target_effect() {
    let Some(g) = common::gpu() else { return };
    let steps: u64 = std::env::var("NTI_STEPS").map_or(300, |v| v.parse().unwrap());
    let dense = std::env::var("NTI_DENSE").is_ok_and(|v| v == "1");
    let base = if dense {
        Setup {
            particles: vec![40],
            box_length: 4.5,
            ..Setup::default()
        }
    } else {
        Setup::default()
    };
    let n = base.particles[0];
    let set = sample_set(&g, &base, n);
    let held = sample_set(
        &g,
        &Setup {
            seed: 12,
            ..base.clone()
        },
        n,
    );
    let times = [0.01, 0.02, 0.05, 0.1, 0.2];
    let init = scene_with(&base, steps, 3e-3, 10, 100_000, 16)
        .model
        .unwrap()
        .init_params(11);
    let row = |name: &str, params: &[f64], s: &Scene| {
        let errs: Vec<String> = times
            .iter()
            .map(|&t| format!("{:.4}", score_error(s, held, params, t, 32)))
            .collect();
        eprintln!("| {name} | {} |", errs.join(" | "));
    };
    eprintln!(
        "N = {n}, L = {}, {steps} steps, batch 8; relative score error at t = {times:?}",
        base.box_length
    );
    row(
        "init",
        &init,
        &scene_with(&base, steps, 3e-3, 10, 100_000, 16),
    );
    for target in [
        "Denoising, time_exponent: 1.0",
        "Denoising, time_exponent: 2.0",
        "Blend(switch: 0.3), time_exponent: 1.0",
        "Blend(switch: 0.3), time_exponent: 2.0",
        "Blend(switch: 0.3), time_exponent: 3.0",
        "Blend(switch: 0.45), time_exponent: 2.0",
        "Blend(switch: 0.3), time_exponent: 4.0",
    ] {
        let setup = Setup {
            target,
            ..base.clone()
        };
        let s = scene_with(&setup, steps, 3e-3, 10, 100_000, 16);
        let dir = tmp("target-effect");
        let out = train(&g, &s, std::slice::from_ref(set), &dir, false, |_, _, _| {}).unwrap();
        let ck = Checkpoint::read(&dir.join(CHECKPOINT_FILE)).unwrap();
        let params: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
        let dsm = held_out_losses(&g, &s, held, &params);
        eprintln!(
            "{target}: held-out DSM loss {:.4}, {:.1} steps/s",
            dsm.iter().sum::<f64>() / dsm.len() as f64,
            steps as f64 / out.wall_time_s
        );
        row(target, &params, &s);
    }
}

/// Whether the vector moments pay at high density (report, not a test): N = 85 in L = 4.5
/// (ρ = 0.93), the same steps with K_v = 4 and K_v = 0 (H = 32), held-out denoising loss by
/// t bin on an independent sampler run:
/// `cargo test --release --test train vector_moments_at_high_density -- --ignored --nocapture`.
#[test]
#[ignore = "report: cargo test --release --test train vector_moments_at_high_density -- --ignored --nocapture"]
fn vector_moments_at_high_density() {
    let Some(g) = common::gpu() else { return };
    let steps: u64 = std::env::var("NTI_STEPS").map_or(600, |v| v.parse().unwrap());
    let base = Setup {
        particles: vec![85],
        box_length: 4.5,
        ..Setup::default()
    };
    let set = sample_set(&g, &base, 85);
    let held = sample_set(
        &g,
        &Setup {
            seed: 12,
            ..base.clone()
        },
        85,
    );
    let bins = [0.0, 0.1, 0.3, 0.5, 0.7, 1.0];
    eprintln!("N = 85, L = 4.5 (rho = 0.93), {steps} steps, batch 8, H = 32; held-out DSM loss by t bin {bins:?}");
    for kv in [4usize, 0] {
        let setup = Setup {
            vector_channels: kv,
            ..base.clone()
        };
        let s = scene_with(&setup, steps, 3e-3, 10, 100_000, 32);
        let dir = tmp("vector-moments");
        let out = train(&g, &s, std::slice::from_ref(set), &dir, false, |_, _, _| {}).unwrap();
        let ck = Checkpoint::read(&dir.join(CHECKPOINT_FILE)).unwrap();
        let params: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
        let cfg = s.model.unwrap();
        let sys = s.model_system();
        let mk = ModelKernels::new(&g, &cfg).unwrap();
        let gk = GradKernels::new(&g, &mk).unwrap();
        let mut per_bin = vec![(0.0, 0usize); bins.len() - 1];
        let mut zero_bin = vec![(0.0, 0usize); bins.len() - 1];
        let n = 85usize;
        for k in 0..8u64 {
            let (xt, z, t) = batch(held, sys.box_length, s.seed, 1_000_000 + k, 64);
            for (c, &tc) in t.iter().enumerate() {
                let bin = bins
                    .iter()
                    .rposition(|&b| tc >= b)
                    .unwrap()
                    .min(bins.len() - 2);
                let r = c * n..(c + 1) * n;
                for (params, acc) in [
                    (&params[..], &mut per_bin),
                    (&vec![0.0; params.len()][..], &mut zero_bin),
                ] {
                    let l = loss_and_gradient(
                        &g,
                        &mk,
                        &gk,
                        &cfg,
                        &sys,
                        params,
                        &xt[r.clone()],
                        &z[r.clone()],
                        &[tc],
                        n,
                    )
                    .unwrap()
                    .0;
                    acc[bin].0 += l;
                    acc[bin].1 += 1;
                }
            }
        }
        let fmt = |v: &[(f64, usize)]| {
            v.iter()
                .map(|(s, c)| format!("{:.4}", s / *c as f64))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        eprintln!(
            "| K_v = {kv} ({} parameters, {:.1} steps/s) | {} |",
            cfg.param_count(),
            steps as f64 / out.wall_time_s,
            fmt(&per_bin)
        );
        if kv == 0 {
            eprintln!("| θ = 0 | {} |", fmt(&zero_bin));
        }
    }
}

/// The score error of a trained model against the exact score, by t (report, not a test):
/// a run directory's checkpoint on configurations of an independent sampler run of the same
/// system (another seed), at every particle count of the scene that both runs sampled.
/// Below t ≈ 0.05 (s(t) ≤ 0.01σ) −β∇U(x_t) is the exact score of p_t to within the blur;
/// above, the relative error includes that blur, and the training loss at fixed t (the run's
/// loss log) is the measure.
/// `NTI_SCENE=scene.ron NTI_RUN=out/run NTI_HELD_OUT=out/other cargo test --release --test
/// train score_error_of_a_trained_model -- --ignored --nocapture`
#[test]
#[ignore = "report: NTI_SCENE=… NTI_RUN=… NTI_HELD_OUT=… cargo test --release --test train score_error_of_a_trained_model -- --ignored --nocapture"]
fn score_error_of_a_trained_model() {
    let var =
        |name: &str| PathBuf::from(std::env::var(name).unwrap_or_else(|_| panic!("set {name}")));
    let scene = Scene::load(&var("NTI_SCENE")).unwrap();
    let run = var("NTI_RUN");
    let held_dir = var("NTI_HELD_OUT");
    let ck = Checkpoint::read(&run.join(CHECKPOINT_FILE)).unwrap();
    let cfg = ck.architecture;
    let sys = scene.model_system();
    let params: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
    let zero = vec![0.0; params.len()];
    let configs: u32 = std::env::var("NTI_CONFIGS").map_or(32, |v| v.parse().unwrap());
    let times = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];
    eprintln!(
        "checkpoint {} (step {}), held-out configurations of {}; relative score error \
         Σ|∇Ũ − β∇U|²/Σ|β∇U|² over {configs} configurations at t = {times:?} \
         (s(t)/σ = {:?})",
        run.display(),
        ck.step,
        held_dir.display(),
        times.map(|t| (em::schedule(sys.box_length, t).0 / sys.sigma * 1e4).round() / 1e4),
    );
    for &n in &scene.system.particles {
        let path = held_dir.join(sample_files(n).samples);
        if !path.exists() {
            eprintln!("N = {n}: no held-out samples ({})", path.display());
            continue;
        }
        let held = SampleSet::read(&path).unwrap();
        for (name, p) in [("trained", &params), ("θ = 0", &zero)] {
            let errs: Vec<String> = times
                .iter()
                .map(|&t| format!("{:.4}", model_score_error(&cfg, &sys, &held, p, t, configs)))
                .collect();
            eprintln!("| {n} | {name} | {} |", errs.join(" | "));
        }
    }
}
