//! GPU (f32) denoising loss and parameter gradient (`shaders/model_grad.wgsl`, after the
//! passes of `shaders/model_energy.wgsl`) against the mean over the configurations of the
//! f64 CPU reference `reference::model_grad::dsm_loss_grad`, evaluated on f32-rounded
//! positions, noise, times and parameters. Skipped without an adapter.

mod common;

use nti_gpu::gpu::Gpu;
use nti_gpu::model::adam::Adam;
use nti_gpu::model::model_grad::{
    device_bytes, loss_and_gradient, BatchRef, GradKernels, GradWorkspace,
};
use nti_gpu::model::ModelKernels;
use nti_gpu::reference::adam::adam_update;
use nti_gpu::reference::model_energy::noised_positions;
use nti_gpu::reference::model_grad::dsm_loss_grad;
use nti_gpu::scene::AdamSettings;
use nti_gpu::scene::{ModelConfig, ModelSystem};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const L: f64 = 6.0;
const N: usize = 40;
const TIMES: [f64; 3] = [0.1, 0.5, 0.85];

fn system() -> ModelSystem {
    system_in(L)
}

fn system_in(box_length: f64) -> ModelSystem {
    ModelSystem {
        box_length,
        beta: 1.0 / 1.25,
        epsilon: 1.0,
        sigma: 1.0,
        cutoff: None,
    }
}

fn config(vector_channels: usize, hidden: usize) -> ModelConfig {
    ModelConfig {
        k_radial: 16,
        vector_channels,
        time_frequencies: 3,
        hidden,
        r_c: 2.0,
    }
}

/// Glorot parameters scaled ×2 with non-zero biases, rounded to f32.
fn parameters(cfg: &ModelConfig, seed: u64) -> Vec<f64> {
    cfg.init_params(seed)
        .iter()
        .enumerate()
        .map(|(k, &p)| ((2.0 * p + 0.05 * (k as f64 * 0.7).sin()) as f32) as f64)
        .collect()
}

fn gaussian(n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| StandardNormal.sample(&mut rng)))
        .collect()
}

/// A batch of `times.len()` configurations of `n` particles: (x_t, z, t), all f32-rounded.
type Batch = (Vec<[f64; 3]>, Vec<[f64; 3]>, Vec<f64>);

fn batch(times: &[f64], n: usize, seed: u64) -> Batch {
    batch_in(times, n, L, seed)
}

fn batch_in(times: &[f64], n: usize, l: f64, seed: u64) -> Batch {
    let (mut x_t, mut z) = (Vec::new(), Vec::new());
    for (c, &t) in times.iter().enumerate() {
        let x0 = common::random_positions(n, l, 0.8, seed + c as u64);
        let zc = common::as_f32(&gaussian(n, 1000 + seed + c as u64));
        x_t.extend(common::as_f32(&noised_positions(l, &x0, &zc, t)));
        z.extend(zc);
    }
    let t32 = times.iter().map(|&t| (t as f32) as f64).collect();
    (x_t, z, t32)
}

/// Returns (loss relative error, gradient norm-relative error, worst component / RMS).
/// Checked at every particles-per-invocation layout of the MLP passes: the adapter's, one
/// particle (what GPUs run) and three (blocks that do not divide the batch).
fn check(cfg: &ModelConfig, seed: u64) -> Option<(f64, f64, f64)> {
    check_in(cfg, seed, N, L)
}

/// [`check`] for `n` particles in a box of edge `l`.
fn check_in(cfg: &ModelConfig, seed: u64, n: usize, l: f64) -> Option<(f64, f64, f64)> {
    let gpu = common::gpu()?;
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for ppl in [ModelKernels::adapter_particles_per_invocation(&gpu), 1, 3] {
        let model = ModelKernels::with_particles_per_invocation(&gpu, cfg, ppl).unwrap();
        println!("{ppl} particles per invocation");
        let (a, b, c) = check_with(&gpu, &model, cfg, seed, n, l);
        worst = (worst.0.max(a), worst.1.max(b), worst.2.max(c));
    }
    Some(worst)
}

fn check_with(
    gpu: &Gpu,
    model: &ModelKernels,
    cfg: &ModelConfig,
    seed: u64,
    n: usize,
    l: f64,
) -> (f64, f64, f64) {
    let grad = GradKernels::new(gpu, model).unwrap();
    let sys = system_in(l);
    let params = parameters(cfg, seed);
    let (x_t, z, times) = batch_in(&TIMES, n, l, 10 * seed);
    let (loss, g) =
        loss_and_gradient(gpu, model, &grad, cfg, &sys, &params, &x_t, &z, &times, n).unwrap();
    let c = times.len() as f64;
    let mut loss_ref = 0.0;
    let mut g_ref = vec![0.0; cfg.param_count()];
    for (k, &t) in times.iter().enumerate() {
        let range = k * n..(k + 1) * n;
        let (l, gk) = dsm_loss_grad(cfg, &sys, &params, &x_t[range.clone()], &z[range], t);
        loss_ref += l / c;
        for (a, b) in g_ref.iter_mut().zip(gk) {
            *a += b / c;
        }
    }
    assert_eq!(g.len(), g_ref.len());
    let e_loss = common::rel(loss, loss_ref, 1e-12);
    let norm = g_ref.iter().map(|x| x * x).sum::<f64>().sqrt();
    let diff = g
        .iter()
        .zip(&g_ref)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let e_grad = diff / norm;
    let rms = norm / (g_ref.len() as f64).sqrt();
    let (mut e_comp, mut worst_k) = (0.0f64, 0);
    for (k, (a, b)) in g.iter().zip(&g_ref).enumerate() {
        let e = (a - b).abs() / rms;
        if e > e_comp || e.is_nan() {
            (e_comp, worst_k) = (e, k);
        }
    }
    println!(
        "K_v = {}, H = {}: loss gpu {loss:.7e} ref {loss_ref:.7e} rel {e_loss:.2e}; \
         |grad| {norm:.3e} norm-rel {e_grad:.2e}; worst component / rms {e_comp:.2e} \
         (param {worst_k}: {} vs {})",
        cfg.vector_channels, cfg.hidden, g[worst_k], g_ref[worst_k]
    );
    // Every parameter block on its own scale, so that a small block cannot hide a bug.
    let lay = cfg.layout();
    let blocks = [
        ("W1", lay.w1..lay.b1),
        ("b1", lay.b1..lay.w2),
        ("W2", lay.w2..lay.b2),
        ("b2", lay.b2..lay.w3),
        ("w3", lay.w3..lay.b3),
    ];
    for (name, range) in blocks {
        let (num, den) = g[range.clone()]
            .iter()
            .zip(&g_ref[range])
            .fold((0.0, 0.0), |(num, den), (a, b)| {
                (num + (a - b) * (a - b), den + b * b)
            });
        let e = (num / den).sqrt();
        println!("  {name}: |block| {:.3e}, norm-rel {e:.2e}", den.sqrt());
        assert!(e < 1e-4, "{name}: norm-relative error {e:.2e}");
    }
    assert_eq!(g[lay.b3], 0.0);
    assert!(e_loss < 1e-4, "loss {loss} vs {loss_ref}: rel {e_loss:.2e}");
    assert!(e_grad < 1e-4, "gradient norm-relative error {e_grad:.2e}");
    assert!(
        e_comp < 1e-3,
        "gradient component error {e_comp:.2e} of rms"
    );
    (e_loss, e_grad, e_comp)
}

#[test]
fn loss_and_gradient_match_the_reference() {
    check(&config(8, 64), 3);
}

/// N = 300 in an 8σ box (ρ ≈ 0.59): five workgroups of the pair passes, and two tiles of
/// staged positions (256 + 44) in every pair loop.
#[test]
fn loss_and_gradient_match_the_reference_over_several_tiles() {
    check_in(&config(8, 64), 8, 300, 8.0);
}

#[test]
fn small_radial_only_model_matches_the_reference() {
    check(&config(0, 16), 4);
}

/// H = 18 and D = 16 + 3 + 7 = 26 are not multiples of 4: the tails of the four-row tiles
/// of `grad_mlp` and the 4 × 4 tiles of `grad_params`.
#[test]
fn widths_that_are_not_multiples_of_four_match_the_reference() {
    check(&config(2, 18), 6);
}

#[test]
fn empty_batch_and_bad_sizes() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = config(0, 16);
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let grad = GradKernels::new(&gpu, &model).unwrap();
    let sys = system();
    let params = parameters(&cfg, 1);
    let (loss, g) =
        loss_and_gradient(&gpu, &model, &grad, &cfg, &sys, &params, &[], &[], &[], 0).unwrap();
    assert_eq!((loss, g.len()), (0.0, cfg.param_count()));
    let (x_t, z, times) = batch(&[0.5], 10, 1);
    let err = loss_and_gradient(
        &gpu,
        &model,
        &grad,
        &cfg,
        &sys,
        &params,
        &x_t,
        &z[..9],
        &times,
        10,
    );
    assert!(err.is_err());
    let err = loss_and_gradient(
        &gpu,
        &model,
        &grad,
        &cfg,
        &sys,
        &params[1..],
        &x_t,
        &z,
        &times,
        10,
    );
    assert!(err.is_err());
}

/// Two workspace steps (θ bound to `adam.theta`, gradient copied into `adam.grad`, AdamW in
/// the same submission) against `loss_and_gradient` on the read-back θ followed by the f64
/// `adamw_reference` update.
#[test]
fn workspace_step_equals_loss_and_gradient_plus_adam_update() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = config(8, 64);
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let grad = GradKernels::new(&gpu, &model).unwrap();
    let sys = system();
    let settings = AdamSettings {
        lr: 3e-3,
        weight_decay: 0.01,
        ..Default::default()
    };
    let theta0: Vec<f32> = parameters(&cfg, 5).iter().map(|&p| p as f32).collect();
    let adam = Adam::new(&gpu, &settings, &theta0, None, None, 0).unwrap();
    let ws = GradWorkspace::new(
        &gpu,
        &model,
        &grad,
        &cfg,
        &sys,
        &[(N, TIMES.len())],
        &adam.theta,
    )
    .unwrap();
    let p = cfg.param_count();
    let (mut theta, mut m, mut v) = (
        theta0.iter().map(|&x| x as f64).collect::<Vec<f64>>(),
        vec![0.0; p],
        vec![0.0; p],
    );
    for step in 0..2u64 {
        let (x_t, z, times) = batch(&TIMES, N, 50 + 10 * step);
        // Reference: the old loop's path on the current (device) θ.
        let theta_dev: Vec<f64> = gpu
            .read::<f32>(&adam.theta, 0, p as u64)
            .unwrap()
            .iter()
            .map(|&x| x as f64)
            .collect();
        let (loss, g) = loss_and_gradient(
            &gpu, &model, &grad, &cfg, &sys, &theta_dev, &x_t, &z, &times, N,
        )
        .unwrap();
        // Workspace step.
        ws.step(&gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])
            .unwrap();
        let (ws_loss, ws_g) = ws.read_loss_and_gradient(&gpu).unwrap();
        assert_eq!(ws.read_loss(&gpu).unwrap().to_bits(), ws_loss.to_bits());
        // Same kernels on the same inputs: identical loss and gradient.
        assert_eq!(ws_loss.to_bits(), loss.to_bits(), "step {step}: loss");
        assert_eq!(ws_g, g, "step {step}: gradient");
        let copied: Vec<f32> = gpu.read(&adam.grad, 0, p as u64).unwrap();
        assert!(copied.iter().zip(&g).all(|(&a, &b)| a as f64 == b));
        adam_update(&settings, step, &mut theta, &g, &mut m, &mut v);
        let snap = adam.read_state(&gpu).unwrap();
        assert_eq!(snap.step, step as u32 + 1);
        let scale = theta.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for (k, (&a, &b)) in snap.theta.iter().zip(&theta).enumerate() {
            let e = (a as f64 - b).abs();
            assert!(
                e <= 1e-6 * scale + 4.0 * f32::EPSILON as f64 * b.abs(),
                "step {step}, param {k}: {a} vs {b}"
            );
        }
        // The reference follows the device (f32) state, as the training loop does.
        theta = snap.theta.iter().map(|&x| x as f64).collect();
        m = snap.m.iter().map(|&x| x as f64).collect();
        v = snap.v.iter().map(|&x| x as f64).collect();
    }
    // Batch-shape mismatches are refused.
    let (x_t, z, times) = batch(&TIMES[..2], N, 1);
    assert!(ws.upload(&gpu, &[(&x_t, &z, &times)]).is_err());
    assert!(GradWorkspace::new(&gpu, &model, &grad, &cfg, &sys, &[(0, 3)], &adam.theta).is_err());
}

/// Time per training step at C = 32, N = 40 and 200, default model: the previous loop (read θ,
/// `loss_and_gradient`, upload the gradient, AdamW) against a workspace step (upload,
/// submit, wait): `cargo test --release --test model_grad -- --ignored --nocapture`.
#[test]
#[ignore = "timing"]
fn train_step_timing() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = ModelConfig::default();
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let grad = GradKernels::new(&gpu, &model).unwrap();
    let sys = system();
    let p = cfg.param_count();
    let theta0: Vec<f32> = cfg.init_params(1).iter().map(|&x| x as f32).collect();
    for (c, n) in [(32, 40), (32, 200)] {
        let times: Vec<f64> = (0..c).map(|k| (k as f64 + 0.5) / c as f64).collect();
        let (x_t, z, times) = batch(&times, n, 7);
        let adam = Adam::new(&gpu, &AdamSettings::default(), &theta0, None, None, 0).unwrap();
        let old_step = || {
            let theta: Vec<f64> = gpu
                .read::<f32>(&adam.theta, 0, p as u64)
                .unwrap()
                .iter()
                .map(|&x| x as f64)
                .collect();
            let (_, g) =
                loss_and_gradient(&gpu, &model, &grad, &cfg, &sys, &theta, &x_t, &z, &times, n)
                    .unwrap();
            let g32: Vec<f32> = g.iter().map(|&x| x as f32).collect();
            gpu.queue
                .write_buffer(&adam.grad, 0, bytemuck::cast_slice(&g32));
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                adam.record_step(&mut pass);
            }
            gpu.queue.submit([encoder.finish()]);
            gpu.wait().unwrap();
        };
        let ws =
            GradWorkspace::new(&gpu, &model, &grad, &cfg, &sys, &[(n, c)], &adam.theta).unwrap();
        let new_step = || {
            ws.step(&gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])
                .unwrap();
            gpu.wait().unwrap();
        };
        let time = |f: &dyn Fn()| {
            f();
            let reps = 5;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        };
        let (old, new) = (time(&old_step), time(&new_step));
        println!(
        "train step C = {c}, N = {n}, P = {p} on {}: previous loop {:.1} ms, workspace {:.1} ms, \
         gradient buffers {:.1} MiB",
        gpu.adapter.name,
        old * 1e3,
        new * 1e3,
        device_bytes(&cfg, &sys, n, c).unwrap() as f64 / (1 << 20) as f64
    );
    }
}

/// Joint batch of two particle counts (N = 12 with 3 configurations, N = 40 with 2) in one
/// [`GradWorkspace`]: loss and gradient equal the f64 reference of the mean over every
/// configuration, particle and coordinate, i.e. the single-N means weighted by C_m N_m / Σ C N
/// (not the plain mean of the two), to 1e-4; and the single-N workspaces' own results,
/// combined with those weights on the host, agree with the joint one.
#[test]
fn joint_batch_of_two_particle_counts_matches_the_weighted_reference() {
    let Some(gpu) = common::gpu() else { return };
    let cfg = config(4, 32);
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let grad = GradKernels::new(&gpu, &model).unwrap();
    let sys = system();
    let params = parameters(&cfg, 5);
    let theta32: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let theta = gpu.storage_from("theta", &theta32);
    let parts = [(12usize, vec![0.07, 0.4, 0.8]), (40usize, vec![0.2, 0.6])];
    let batches: Vec<Batch> = parts
        .iter()
        .enumerate()
        .map(|(m, (n, times))| batch(times, *n, 100 + 10 * m as u64))
        .collect();
    let shape: Vec<(usize, usize)> = parts.iter().map(|(n, t)| (*n, t.len())).collect();
    let joint = GradWorkspace::new(&gpu, &model, &grad, &cfg, &sys, &shape, &theta).unwrap();
    let views: Vec<BatchRef> = batches
        .iter()
        .map(|(x, z, t)| (&x[..], &z[..], &t[..]))
        .collect();
    joint.upload(&gpu, &views).unwrap();
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    joint.record(&mut encoder, &model, &grad);
    gpu.queue.submit([encoder.finish()]);
    let (loss, g) = joint.read_loss_and_gradient(&gpu).unwrap();

    let total: f64 = shape.iter().map(|&(n, c)| (n * c) as f64).sum();
    let (mut loss_ref, mut g_ref) = (0.0, vec![0.0; cfg.param_count()]);
    let (mut loss_host, mut g_host) = (0.0, vec![0.0; cfg.param_count()]);
    let mut plain_mean = 0.0;
    for ((n, times), (x_t, z, t32)) in parts.iter().zip(&batches) {
        let w = (n * times.len()) as f64 / total;
        let c = times.len() as f64;
        for (k, &t) in t32.iter().enumerate() {
            let r = k * n..(k + 1) * n;
            let (l, gk) = dsm_loss_grad(&cfg, &sys, &params, &x_t[r.clone()], &z[r], t);
            loss_ref += w * l / c;
            plain_mean += l / c / parts.len() as f64;
            for (a, b) in g_ref.iter_mut().zip(gk) {
                *a += w * b / c;
            }
        }
        let (l, gm) =
            loss_and_gradient(&gpu, &model, &grad, &cfg, &sys, &params, x_t, z, t32, *n).unwrap();
        loss_host += w * l;
        for (a, b) in g_host.iter_mut().zip(gm) {
            *a += w * b;
        }
    }
    let norm_rel = |a: &[f64], b: &[f64]| {
        let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f64 = b.iter().map(|y| y * y).sum();
        (num / den).sqrt()
    };
    let (e_loss, e_grad) = (common::rel(loss, loss_ref, 1e-12), norm_rel(&g, &g_ref));
    let e_host = norm_rel(&g, &g_host);
    println!(
        "joint loss {loss:.7e}, reference {loss_ref:.7e} (rel {e_loss:.2e}; plain mean of the \
         two counts {plain_mean:.7e}); gradient norm-rel {e_grad:.2e}, vs host-combined \
         single-N workspaces {e_host:.2e}"
    );
    assert!(e_loss < 1e-4 && e_grad < 1e-4, "{e_loss:.2e} {e_grad:.2e}");
    assert!(e_host < 1e-5 && common::rel(loss, loss_host, 1e-12) < 1e-5);
    // The weighting matters: the plain mean of the two counts' losses is another number.
    assert!(common::rel(plain_mean, loss_ref, 1e-12) > 1e-3);
}

/// CPU seconds (user + system) of this process so far, lavapipe's worker threads included
/// (Linux /proc; 0 elsewhere).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Where a training step's time goes, C = 32, N = 40 and 200, default model: each of the
/// eight passes submitted alone and waited for (median of 3), the whole step (wall and
/// process CPU seconds, median of 5), and the host's batch construction with the blended
/// target: `cargo test --release --test model_grad pass_timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing"]
fn pass_timing() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = ModelConfig::default();
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let grad = GradKernels::new(&gpu, &model).unwrap();
    let sys = system();
    let theta0: Vec<f32> = cfg.init_params(1).iter().map(|&x| x as f32).collect();
    println!("adapter {}, P = {}", gpu.adapter.name, cfg.param_count());
    for (c, n) in [(32usize, 40usize), (32, 200)] {
        let times: Vec<f64> = (0..c).map(|k| (k as f64 + 0.5) / c as f64).collect();
        let (x_t, z, times) = batch(&times, n, 7);
        let adam = Adam::new(&gpu, &AdamSettings::default(), &theta0, None, None, 0).unwrap();
        let ws =
            GradWorkspace::new(&gpu, &model, &grad, &cfg, &sys, &[(n, c)], &adam.theta).unwrap();
        ws.step(&gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])
            .unwrap();
        gpu.wait().unwrap();
        let t0 = std::time::Instant::now();
        let wall_clock = move || t0.elapsed().as_secs_f64();
        let reps = 3;
        let mut per_pass: Vec<(&str, Vec<f64>, Vec<f64>)> = Vec::new();
        for _ in 0..reps {
            let w = ws.time_passes(&gpu, &model, &grad, &wall_clock).unwrap();
            let c = ws
                .time_passes(&gpu, &model, &grad, &process_cpu_seconds)
                .unwrap();
            if per_pass.is_empty() {
                per_pass = w
                    .iter()
                    .map(|(e, _)| (*e, Vec::new(), Vec::new()))
                    .collect();
            }
            for (k, ((_, sw), (_, sc))) in w.iter().zip(&c).enumerate() {
                per_pass[k].1.push(*sw);
                per_pass[k].2.push(*sc);
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let (t0, c0) = (std::time::Instant::now(), process_cpu_seconds());
            ws.step(&gpu, &model, &grad, &adam, &[(&x_t, &z, &times)])
                .unwrap();
            gpu.wait().unwrap();
            wall.push(t0.elapsed().as_secs_f64());
            cpu.push(process_cpu_seconds() - c0);
        }
        println!(
            "C = {c}, N = {n}: step wall {:.1} ms, process CPU {:.2} s",
            median(&mut wall) * 1e3,
            median(&mut cpu)
        );
        // The host's share: β∇U of 64 reference configurations (once per training) and
        // one batch with the blended target (every step).
        let set = nti_gpu::dataset::SampleSet {
            scene_hash: 0,
            n: n as u32,
            replicas: 8,
            frames: 8,
            box_length: L,
            temperature: 1.0,
            epsilon: 1.0,
            sigma: 1.0,
            sample_every: 1,
            positions: (0..64u64)
                .flat_map(|k| common::random_positions(n, L, 0.8, 500 + k))
                .map(|p| p.map(|v| v as f32))
                .collect(),
        };
        let target = nti_gpu::scene::ScoreTarget::default();
        let t0 = std::time::Instant::now();
        let ts = nti_gpu::train::TrainingSet::new(&sys, &set, target);
        let t_forces = t0.elapsed().as_secs_f64() / 64.0;
        let t0 = std::time::Instant::now();
        for k in 0..5 {
            std::hint::black_box(nti_gpu::train::batch_part(
                &ts, L, 1, k, 0, c as u32, target, 3.0,
            ));
        }
        let t_batch = t0.elapsed().as_secs_f64() / 5.0;
        println!(
            "  host: batch construction {:.2} ms per step; β∇U {:.2} ms per reference \
             configuration (once)",
            t_batch * 1e3,
            t_forces * 1e3
        );
        let total: f64 = per_pass.iter_mut().map(|(_, _, c)| median(c)).sum();
        println!(
            "  pass               wall ms   CPU ms   CPU share (sum of passes {:.0} ms)",
            total * 1e3
        );
        for (name, w, c) in per_pass.iter_mut() {
            let (mw, mc) = (median(w), median(c));
            println!(
                "  {name:<18} {:>8.1} {:>8.0} {:>6.1} %",
                mw * 1e3,
                mc * 1e3,
                100.0 * mc / total
            );
        }
    }
}
