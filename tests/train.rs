//! Training of the energy model (`nti_gpu::train`): it learns (loss clearly below the
//! θ = 0 baseline), resuming from a checkpoint equals the uninterrupted run bit for bit,
//! and checkpoints of another architecture or scene are refused with a clear error.
//! Small model (K = 8, K_v = 4, M = 2, H = 16), N = 20 in L = 6 (paper potential,
//! ε = 0.8, kT = 1), a short reference sampling shared by the tests.

mod common;

use nti_gpu::dataset::SampleSet;
use nti_gpu::gpu::Gpu;
use nti_gpu::model::checkpoint::Checkpoint;
use nti_gpu::model::grad::{loss_and_gradient, GradKernels};
use nti_gpu::model::ModelKernels;
use nti_gpu::scene::Scene;
use nti_gpu::train::{batch, model_system, train, CHECKPOINT_FILE, LOSS_LOG_FILE};
use std::path::PathBuf;
use std::sync::OnceLock;

fn scene(steps: u64, lr: f64, log_every: u32, checkpoint_every: u32, hidden: usize) -> Scene {
    let text = format!(
        r#"Scene(
    name: "train", seed: 11,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [20],
             potential: MinimumImage),
    sampler: (replicas: 8, dt: 0.005, equilibration_steps: 1000, production_steps: 2000,
              record_every: 10, sample_every: 100),
    model: (k_radial: 8, vector_channels: 4, time_frequencies: 2, hidden: {hidden}, r_c: 2.0),
    training: (steps: {steps}, batch: 8, optimizer: (lr: {lr}), log_every: {log_every},
               checkpoint_every: {checkpoint_every}),
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

/// Reference samples of the test scene (the sampling sections are the same in every test,
/// so one set serves all), made once per test binary.
fn samples() -> Option<&'static SampleSet> {
    static SET: OnceLock<Option<SampleSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let g = common::gpu()?;
        let s = scene(1, 1e-3, 1, 1, 16);
        let kernels = std::sync::Arc::new(nti_gpu::md::MdKernels::new(&g).unwrap());
        let dir = tmp("samples");
        let (_, set) = nti_gpu::pipeline::sample_one(
            &g,
            &kernels,
            &s,
            20,
            &dir,
            &mut nti_gpu::pipeline::NoProgress,
        )
        .unwrap();
        Some(set)
    })
    .as_ref()
}

/// Mean loss of `params` on held-out batches (noise streams no training step uses), one
/// value per batch of 64 configurations (stratified t over [0, 1)).
fn held_out_losses(g: &Gpu, s: &Scene, set: &SampleSet, params: &[f64]) -> Vec<f64> {
    let cfg = s.model.unwrap();
    let sys = model_system(s);
    let mk = ModelKernels::new(g).unwrap();
    let gk = GradKernels::new(g).unwrap();
    (0..8u64)
        .map(|k| {
            let (xt, z, t) = batch(set, sys.box_length, s.seed, 1_000_000 + k, 64);
            loss_and_gradient(g, &mk, &gk, &cfg, &sys, params, &xt, &z, &t, 20)
                .unwrap()
                .0
        })
        .collect()
}

/// At this density (ρ = 0.09) the denoising target is mostly unpredictable: the best
/// possible loss is only a few per cent below the θ = 0 baseline, and only for t in about
/// [0.2, 0.7) (s(t) = 0.04 … 0.46 σ, the scale of the pair structure); a single batch's
/// loss scatters by ±0.02-0.04. So the comparison is paired: trained and θ = 0 parameters
/// on the same 8 held-out batches of 64 configurations. Measured on llvmpipe after 300
/// steps: 0.9923 → 0.9797 (−1.3 %), by t bin up to −3.6 % in [0.5, 0.6).
#[test]
fn training_lowers_the_loss_below_the_zero_network_baseline() {
    let Some(g) = common::gpu() else { return };
    let set = samples().unwrap();
    let steps = 300;
    let s = scene(steps, 3e-3, 1, 1000, 16);
    let dir = tmp("learn");
    let out = train(&g, &s, set, &dir, false, |_, _, _| {}).unwrap();
    assert_eq!(out.steps, steps);
    assert_eq!(out.loss_log.len(), steps as usize);
    assert!(out.final_loss.is_finite());
    assert!(out
        .loss_log
        .iter()
        .all(|r| r.loss.is_finite() && r.lr > 0.0));
    let last20: f64 = out.loss_log[out.loss_log.len() - 20..]
        .iter()
        .map(|r| r.loss)
        .sum::<f64>()
        / 20.0;
    let ck = Checkpoint::read(&dir.join(CHECKPOINT_FILE)).unwrap();
    assert_eq!(ck.step, steps);
    let trained: Vec<f64> = ck.params.iter().map(|&x| x as f64).collect();
    let zero = held_out_losses(&g, &s, set, &vec![0.0; trained.len()]);
    let fit = held_out_losses(&g, &s, set, &trained);
    let diffs: Vec<f64> = zero.iter().zip(&fit).map(|(a, b)| a - b).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let d = mean(&diffs);
    let se = (diffs.iter().map(|x| (x - d).powi(2)).sum::<f64>()
        / (diffs.len() * (diffs.len() - 1)) as f64)
        .sqrt();
    eprintln!(
        "zero-network loss: first batch {:.4}, held out {:.4}; trained ({steps} steps): held          out {:.4} (gain {d:.4} ± {se:.4}), last 20 logged training batches {last20:.4},          final {:.4}; {:.1} steps/s",
        out.zero_network_loss,
        mean(&zero),
        mean(&fit),
        out.final_loss,
        steps as f64 / out.wall_time_s
    );
    // Measured gain 0.0126; ask for 40 % of it and 4 standard errors of the paired mean.
    assert!(d > 0.005 && d > 4.0 * se, "gain {d} ± {se}");
    assert!(mean(&fit) < 0.995 * mean(&zero));
    let csv = std::fs::read_to_string(dir.join(LOSS_LOG_FILE)).unwrap();
    assert_eq!(csv.lines().count(), steps as usize + 1);
}

/// 20 steps, then a second call resuming to 40, against one uninterrupted 40-step run:
/// the checkpoints are bit-identical, and so are the loss logs.
#[test]
fn resume_equals_the_uninterrupted_run() {
    let Some(g) = common::gpu() else { return };
    let set = samples().unwrap();
    let (a, b) = (tmp("resume-a"), tmp("resume-b"));
    train(
        &g,
        &scene(20, 3e-3, 5, 10, 16),
        set,
        &a,
        false,
        |_, _, _| {},
    )
    .unwrap();
    assert_eq!(Checkpoint::read(&a.join(CHECKPOINT_FILE)).unwrap().step, 20);
    let resumed = train(&g, &scene(40, 3e-3, 5, 10, 16), set, &a, true, |_, _, _| {}).unwrap();
    assert_eq!(resumed.steps_this_run, 20);
    let whole = train(
        &g,
        &scene(40, 3e-3, 5, 10, 16),
        set,
        &b,
        false,
        |_, _, _| {},
    )
    .unwrap();
    let (ca, cb) = (
        Checkpoint::read(&a.join(CHECKPOINT_FILE)).unwrap(),
        Checkpoint::read(&b.join(CHECKPOINT_FILE)).unwrap(),
    );
    assert_eq!(ca.step, 40);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&ca.params), bits(&cb.params));
    assert_eq!(bits(&ca.m), bits(&cb.m));
    assert_eq!(bits(&ca.v), bits(&cb.v));
    assert_eq!(ca, cb);
    assert_eq!(resumed.loss_log, whole.loss_log);
    assert_eq!(resumed.final_loss.to_bits(), whole.final_loss.to_bits());
    assert_eq!(
        std::fs::read(a.join(LOSS_LOG_FILE)).unwrap(),
        std::fs::read(b.join(LOSS_LOG_FILE)).unwrap()
    );
    // The parameters moved.
    let init: Vec<f32> = scene(40, 3e-3, 5, 10, 16)
        .model
        .unwrap()
        .init_params(11)
        .iter()
        .map(|&x| x as f32)
        .collect();
    assert_ne!(bits(&ca.params), bits(&init));
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
    // And the matching scene resumes.
    let out = train(&g, &scene(8, 3e-3, 2, 2, 16), set, &dir, true, |_, _, _| {}).unwrap();
    assert_eq!(out.steps_this_run, 4);
}
