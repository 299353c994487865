//! GPU (f32) energy Ũ, score ∇_x Ũ and time derivative ∂_t Ũ of the energy model
//! (`shaders/model_energy.wgsl`) against the f64 CPU reference
//! `reference::model_energy::{energy, score, time_derivative}`, evaluated on f32-rounded
//! positions, parameters and times. Skipped without an adapter.

mod common;

use nti_gpu::gpu::Gpu;
use nti_gpu::model::model_energy::{
    combine_time_derivative, energy_score_and_time_derivative, energy_score_and_time_parts,
    TimeParts,
};
use nti_gpu::model::{energy_and_score, ModelKernels};
use nti_gpu::reference::model_energy::{
    descriptors, energy, mlp_forward, mlp_input_gradient, network_energy, network_time_derivative,
    null_features, schedule, score, soft_energy, soft_energy_da, time_derivative,
    time_feature_derivatives,
};
use nti_gpu::scene::{ModelConfig, ModelSystem};

const L: f64 = 6.0;
const N: usize = 40;

/// Particles per configuration and box edge of a parity case.
#[derive(Clone, Copy)]
struct Geometry {
    n: usize,
    l: f64,
}

/// N = 40 in the L = 6σ box: one workgroup and one tile of the pair passes.
const SMALL: Geometry = Geometry { n: N, l: L };
/// N = 300 in an 8σ box (ρ ≈ 0.59): five workgroups, and two tiles of staged positions
/// (256 + 44) in every pair loop.
const TILES: Geometry = Geometry { n: 300, l: 8.0 };
const TIMES: [f64; 3] = [0.05, 0.4, 0.9];

fn system(epsilon: f64) -> ModelSystem {
    system_in(epsilon, L)
}

fn system_in(epsilon: f64, box_length: f64) -> ModelSystem {
    ModelSystem {
        box_length,
        beta: 1.0 / 1.25,
        epsilon,
        sigma: 1.0,
        cutoff: None,
    }
}

fn config(vector_channels: usize) -> ModelConfig {
    ModelConfig {
        k_radial: 16,
        vector_channels,
        time_frequencies: 3,
        hidden: 64,
        r_c: 2.0,
    }
}

/// Glorot parameters ([`common::fixture_params`]) scaled up (and biases made non-zero) so
/// the network matters, rounded to f32 as the device stores them.
fn parameters(cfg: &ModelConfig, seed: u64) -> Vec<f64> {
    common::fixture_params(cfg, seed)
        .iter()
        .enumerate()
        .map(|(k, &p)| {
            let bias = 0.05 * ((k as f64 * 0.7).sin());
            ((2.0 * p + bias) as f32) as f64
        })
        .collect()
}

/// C = 3 configurations of `g.n` particles (min distance 0.8σ), each with a close pair
/// at 0.47σ–0.52σ planted next to particle 0 (wrapped into the box).
fn positions(g: Geometry) -> Vec<[f64; 3]> {
    let Geometry { n, l } = g;
    let mut all = Vec::new();
    for c in 0..TIMES.len() {
        let mut pos = common::random_positions(n, l, 0.8, 100 + c as u64);
        let anchor = pos[0];
        // Particle 1 at 0.5σ from particle 0 (wrapped), replacing its random place; it may
        // come closer than 0.8σ to others, which the model handles anyway.
        let x = [
            anchor[0] + 0.3,
            anchor[1] - 0.3,
            anchor[2] + 0.2 + 0.05 * c as f64,
        ];
        pos[1] = x.map(|v| v - l * (v / l).floor());
        all.extend(common::as_f32(&pos));
    }
    all
}

struct Worst {
    energy: f64,
    score: f64,
}

/// Parity at the three times; `epsilon = 0` switches the soft-core prior off so that the
/// network part is checked on its own scale. Every particles-per-invocation layout of the
/// MLP pass is checked: the adapter's, one particle (what GPUs run) and three (blocks that
/// do not divide the batch).
fn check(cfg: &ModelConfig, seed: u64, epsilon: f64, g: Geometry) -> Option<Vec<Worst>> {
    let gpu = common::gpu()?;
    let mut out = Vec::new();
    for ppl in [ModelKernels::adapter_particles_per_invocation(&gpu), 1, 3] {
        let kernels = ModelKernels::with_particles_per_invocation(&gpu, cfg, ppl).unwrap();
        println!("{ppl} particles per invocation");
        out.extend(check_with(&gpu, &kernels, cfg, seed, epsilon, g));
    }
    Some(out)
}

fn check_with(
    gpu: &Gpu,
    kernels: &ModelKernels,
    cfg: &ModelConfig,
    seed: u64,
    epsilon: f64,
    g: Geometry,
) -> Vec<Worst> {
    let n = g.n;
    let sys = system_in(epsilon, g.l);
    let params = parameters(cfg, seed);
    let pos = positions(g);
    let times: Vec<f64> = TIMES.iter().map(|&t| (t as f32) as f64).collect();
    let (u_gpu, g_gpu) =
        energy_and_score(gpu, kernels, cfg, &sys, &params, &pos, &times, n).unwrap();
    assert_eq!(u_gpu.len(), TIMES.len());
    assert_eq!(g_gpu.len(), TIMES.len() * n);
    let mut out = Vec::new();
    for (c, &t) in times.iter().enumerate() {
        let p = &pos[c * n..(c + 1) * n];
        let u_ref = energy(cfg, &sys, &params, p, t);
        let g_ref = score(cfg, &sys, &params, p, t);
        let e_energy = common::rel(u_gpu[c], u_ref, 1e-3);
        let norm = g_ref.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
        let diff = g_ref
            .iter()
            .zip(&g_gpu[c * n..(c + 1) * n])
            .flat_map(|(a, b)| (0..3).map(move |k| a[k] - b[k]))
            .map(|x| x * x)
            .sum::<f64>()
            .sqrt();
        let e_score = diff / norm.max(1e-3);
        // Also per component against the RMS (catches a single wrong particle).
        let rms = norm / ((3 * n) as f64).sqrt();
        let e_comp = g_ref
            .iter()
            .zip(&g_gpu[c * n..(c + 1) * n])
            .flat_map(|(a, b)| (0..3).map(move |k| (a[k] - b[k]).abs()))
            .fold(0.0f64, f64::max)
            / rms.max(1e-3);
        println!(
            "N = {n}, K_v = {}, eps = {epsilon}, t = {t:.2}: U gpu {:.6e} ref {u_ref:.6e} rel {e_energy:.2e}; \
             |score| {norm:.3e} norm-rel {e_score:.2e}, worst component / rms {e_comp:.2e}",
            cfg.vector_channels, u_gpu[c]
        );
        assert!(e_energy < 1e-4, "t = {t}: energy {} vs {u_ref}", u_gpu[c]);
        assert!(
            e_score < 1e-4,
            "t = {t}: score norm-relative error {e_score:.2e}"
        );
        assert!(
            e_comp < 1e-3,
            "t = {t}: score component error {e_comp:.2e} of rms"
        );
        out.push(Worst {
            energy: e_energy,
            score: e_score,
        });
    }
    out
}

#[test]
fn energy_and_score_match_the_reference() {
    let Some(worst) = check(&config(8), 3, 1.0, SMALL) else {
        return;
    };
    assert_eq!(worst.len(), 9);
}

/// More particles than one workgroup and one tile of staged positions hold: every pair
/// loop crosses a tile boundary, and the last workgroup has dead invocations.
#[test]
fn energy_and_score_match_the_reference_over_several_tiles() {
    let Some(worst) = check(&config(8), 6, 1.0, TILES) else {
        return;
    };
    assert_eq!(worst.len(), 9);
}

#[test]
fn network_part_alone_matches_the_reference() {
    let Some(worst) = check(&config(8), 5, 0.0, SMALL) else {
        return;
    };
    assert_eq!(worst.len(), 9);
}

#[test]
fn radial_only_model_matches_the_reference() {
    let Some(worst) = check(&config(0), 4, 1.0, SMALL) else {
        return;
    };
    assert!(worst
        .iter()
        .all(|w| w.energy.is_finite() && w.score.is_finite()));
}

#[test]
fn sizes_beyond_the_kernel_maxima_are_rejected() {
    let cfg = ModelConfig {
        hidden: 200,
        ..config(8)
    };
    let err = nti_gpu::model::model_energy::check_sizes(&cfg).unwrap_err();
    assert!(err.to_string().contains("hidden"), "{err}");
    assert!(nti_gpu::model::model_energy::check_sizes(&config(8)).is_ok());
}

/// The magnitudes that cancel in ∂_t Ũ (f64 reference): the sum of the absolute values of
/// every term of `time_derivative`, with ∂_t E_θ = Σ_i (g_i − g_∅)·τ' itself replaced by
/// Σ_i (|g_i·τ'| + |g_∅·τ'|). An error small against this is f32 rounding of the parts.
fn cancelling_scale(
    cfg: &ModelConfig,
    sys: &ModelSystem,
    params: &[f64],
    pos: &[[f64; 3]],
    t: f64,
) -> f64 {
    let off = cfg.time_feature_offset();
    let dtau = time_feature_derivatives(cfg.time_frequencies, t);
    let slope = |f: &[f64]| {
        let g = mlp_input_gradient(cfg, params, &mlp_forward(cfg, params, f));
        g[off..].iter().zip(&dtau).map(|(a, b)| a * b).sum::<f64>()
    };
    let null_slope = slope(&null_features(cfg, t)).abs();
    let de_net_abs: f64 = descriptors(cfg, sys, pos, t)
        .iter()
        .map(|f| slope(f).abs() + null_slope)
        .sum();
    let (s, ds) = schedule(sys.box_length, t);
    let s_min = sys.s_min();
    let e_net = network_energy(cfg, sys, params, pos, t).abs();
    let e_soft = soft_energy(sys, pos, t).abs();
    let de_soft = soft_energy_da(sys, pos, t).abs();
    let e_abs = t * (1.0 - t) * e_net + (1.0 - t) * s_min * e_soft;
    ((1.0 - 2.0 * t).abs() * e_net
        + t * (1.0 - t) * de_net_abs
        + s_min * e_soft
        + (1.0 - t) * s_min * de_soft)
        / s
        + e_abs * ds / (s * s)
}

/// ∂_t Ũ parity at the three times (one batch), and each of its parts against its own
/// reference. Returns the worst relative error of ∂_t Ũ (against max(|ref|, 1e-2 · the
/// cancelling scale)).
fn check_time(cfg: &ModelConfig, seed: u64, epsilon: f64, g: Geometry) -> Option<f64> {
    let gpu = common::gpu()?;
    let kernels = ModelKernels::new(&gpu, cfg).unwrap();
    let n = g.n;
    let sys = system_in(epsilon, g.l);
    let params = parameters(cfg, seed);
    let pos = positions(g);
    let times: Vec<f64> = TIMES.iter().map(|&t| (t as f32) as f64).collect();
    let (u_gpu, g_gpu, parts) =
        energy_score_and_time_parts(&gpu, &kernels, cfg, &sys, &params, &pos, &times, n).unwrap();
    let (u3, g3, dudt) =
        energy_score_and_time_derivative(&gpu, &kernels, cfg, &sys, &params, &pos, &times, n)
            .unwrap();
    // The time path leaves energy and score exactly as the plain path does.
    let (u_plain, g_plain) =
        energy_and_score(&gpu, &kernels, cfg, &sys, &params, &pos, &times, n).unwrap();
    assert_eq!(u_gpu, u_plain);
    assert_eq!(g_gpu, g_plain);
    assert_eq!((&u3, &g3), (&u_plain, &g_plain));
    let mut worst: f64 = 0.0;
    for (c, &t) in times.iter().enumerate() {
        let p = &pos[c * n..(c + 1) * n];
        assert_eq!(dudt[c], combine_time_derivative(&sys, t, &parts[c]));
        let d_ref = time_derivative(cfg, &sys, &params, p, t);
        let scale = cancelling_scale(cfg, &sys, &params, p, t);
        let err = (dudt[c] - d_ref).abs();
        let e_rel = err / d_ref.abs().max(1e-2 * scale);
        println!(
            "N = {n}, K_v = {}, eps = {epsilon}, t = {t:.2}: dU/dt gpu {:.8e} ref {d_ref:.8e} rel {:.2e}, \
             rel-to-floor {e_rel:.2e}, err / cancelling scale {:.2e} (scale {scale:.3e})",
            cfg.vector_channels,
            dudt[c],
            err / d_ref.abs(),
            err / scale,
        );
        // The parts, each on its own scale.
        let reference = TimeParts {
            e_net: network_energy(cfg, &sys, &params, p, t),
            de_net: network_time_derivative(cfg, &sys, &params, p, t),
            e_soft: soft_energy(&sys, p, t),
            de_soft_da: soft_energy_da(&sys, p, t),
        };
        let got = parts[c];
        let rows = [
            ("E_theta", got.e_net, reference.e_net),
            ("dE_theta/dt", got.de_net, reference.de_net),
            ("E_soft", got.e_soft, reference.e_soft),
            ("dE_soft/da", got.de_soft_da, reference.de_soft_da),
        ];
        for (name, a, b) in rows {
            let e = common::rel(a, b, 1e-3);
            println!("    {name}: gpu {a:.8e} ref {b:.8e} rel {e:.2e}");
            assert!(e < 1e-4, "t = {t}: {name} {a} vs {b}");
        }
        assert!(
            e_rel < 1e-4,
            "t = {t}: dU/dt {} vs {d_ref} (relative {e_rel:.2e})",
            dudt[c]
        );
        assert!(
            err <= 1e-6 * scale,
            "t = {t}: error {err:.3e} vs scale {scale:.3e}"
        );
        worst = worst.max(e_rel);
    }
    Some(worst)
}

#[test]
fn time_derivative_matches_the_reference() {
    let Some(worst) = check_time(&config(8), 3, 1.0, SMALL) else {
        return;
    };
    println!("worst {worst:.2e}");
}

#[test]
fn time_derivative_matches_the_reference_over_several_tiles() {
    let Some(worst) = check_time(&config(8), 6, 1.0, TILES) else {
        return;
    };
    println!("worst {worst:.2e}");
}

#[test]
fn time_derivative_of_the_network_part_alone_matches_the_reference() {
    let Some(worst) = check_time(&config(8), 5, 0.0, SMALL) else {
        return;
    };
    println!("worst {worst:.2e}");
}

#[test]
fn time_derivative_of_the_radial_only_model_matches_the_reference() {
    let Some(worst) = check_time(&config(0), 4, 1.0, SMALL) else {
        return;
    };
    println!("worst {worst:.2e}");
}

/// The device's own Ũ(t) against its own ∂_t Ũ: a fourth-order central difference with
/// h = 1e-2 over five copies of one configuration in one batch (catches a sign or factor
/// error; the tolerance 1e-3 covers the stencil error, O(h⁴), and f32 noise).
#[test]
fn time_derivative_matches_finite_differences_of_the_gpu_energy() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = config(8);
    let kernels = ModelKernels::new(&gpu, &cfg).unwrap();
    let params = parameters(&cfg, 7);
    let pos = positions(SMALL);
    let one = &pos[..N];
    for epsilon in [1.0, 0.0] {
        let sys = system(epsilon);
        for t0 in [0.3f64, 0.6] {
            let h = 1.0 / 128.0; // exact in f32, so t0 ± k h are too (t0 rounded first)
            let t0 = (t0 as f32) as f64;
            let times: Vec<f64> = [-2.0, -1.0, 0.0, 1.0, 2.0]
                .iter()
                .map(|k| (t0 + k * h) as f32 as f64)
                .collect();
            let batch: Vec<[f64; 3]> = (0..times.len()).flat_map(|_| one.iter().copied()).collect();
            let (u, _, dudt) = energy_score_and_time_derivative(
                &gpu, &kernels, &cfg, &sys, &params, &batch, &times, N,
            )
            .unwrap();
            let fd = (u[0] - 8.0 * u[1] + 8.0 * u[3] - u[4]) / (12.0 * h);
            let floor = u.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let e = (fd - dudt[2]).abs() / dudt[2].abs().max(floor);
            println!(
                "eps = {epsilon}, t = {t0}: dU/dt gpu {:.6e}, FD of gpu U {fd:.6e}, rel {e:.2e}",
                dudt[2]
            );
            assert!(e < 1e-3, "t = {t0}: dU/dt {} vs FD {fd}", dudt[2]);
        }
    }
}

/// One `energy_and_score` and one `energy_score_and_time_derivative` call for C = 32,
/// N = 200 after warm-up:
/// `cargo test --release --test model_energy -- --ignored --nocapture`.
#[test]
#[ignore = "timing"]
fn energy_and_score_timing() {
    let Some(gpu) = common::gpu() else {
        return;
    };
    let cfg = ModelConfig::default();
    let kernels = ModelKernels::new(&gpu, &cfg).unwrap();
    let sys = system(1.0);
    let params = parameters(&cfg, 1);
    let (c, n) = (32, 200);
    let mut pos = Vec::new();
    for k in 0..c {
        pos.extend(common::random_positions(n, L, 0.8, k as u64));
    }
    let times: Vec<f64> = (0..c).map(|k| (k as f64 + 0.5) / c as f64).collect();
    // Warm-up, then interleaved repetitions; the minimum of each (the machine is shared).
    energy_and_score(&gpu, &kernels, &cfg, &sys, &params, &pos, &times, n).unwrap();
    energy_score_and_time_derivative(&gpu, &kernels, &cfg, &sys, &params, &pos, &times, n).unwrap();
    let (mut plain, mut with_time) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        let start = std::time::Instant::now();
        energy_and_score(&gpu, &kernels, &cfg, &sys, &params, &pos, &times, n).unwrap();
        plain = plain.min(start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        energy_score_and_time_derivative(&gpu, &kernels, &cfg, &sys, &params, &pos, &times, n)
            .unwrap();
        with_time = with_time.min(start.elapsed().as_secs_f64());
    }
    println!(
        "C = {c}, N = {n} on {}: energy_and_score {:.1} ms, energy_score_and_time_derivative \
         {:.1} ms (min of 5)",
        gpu.adapter.name,
        plain * 1e3,
        with_time * 1e3
    );
}

/// Process CPU seconds (user + system, all threads: lavapipe's workers included).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |k: usize| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Per-pass cost of the entries of `shaders/model_energy.wgsl` (default model, C = 32
/// and 64, N = 40 and 200): each pass submitted alone and waited for, wall and process CPU
/// ms, median of `NTI_TIMING_REPS` (default 5) repetitions, one line per (C, N, pass):
/// `NTI_REQUIRE_ADAPTER=1 cargo test --release --test model_energy pass_timing -- --ignored --nocapture`.
#[test]
#[ignore = "timing"]
fn pass_timing() {
    use nti_gpu::gpu::kernel::dispatch;
    use nti_gpu::model::model_energy::{ModelParams, ModelScratch};
    let Some(gpu) = common::gpu() else {
        return;
    };
    let reps: usize = std::env::var("NTI_TIMING_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let cfg = ModelConfig::default();
    let kernels = ModelKernels::new(&gpu, &cfg).unwrap();
    let sys = system(1.0);
    let theta: Vec<f32> = parameters(&cfg, 1).iter().map(|&p| p as f32).collect();
    println!("adapter {}", gpu.adapter.name);
    for (c, n) in [(32usize, 40usize), (64, 40), (32, 200), (64, 200)] {
        let mut pos = Vec::new();
        for k in 0..c {
            pos.extend(
                common::random_positions(n, L, 0.8, k as u64)
                    .iter()
                    .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32, 0.0]),
            );
        }
        let times: Vec<f32> = (0..c).map(|k| (k as f32 + 0.5) / c as f32).collect();
        let uniform = ModelParams::new(&cfg, &sys, n as u32, c as u32).unwrap();
        let cn = (c * n) as u64;
        let params_buf = gpu.uniform_from("params", &uniform);
        let pos_buf = gpu.storage_from("pos", &pos);
        let times_buf = gpu.storage_from("times", &times);
        let theta_buf = gpu.storage_from("theta", &theta);
        let scratch = ModelScratch::new(&gpu, &cfg, n, c);
        let score_buf = gpu.storage_zeroed("score", 16 * cn);
        let time_terms = gpu.storage_zeroed("time_terms", 16 * cn);
        let args = scratch.args(&params_buf, &pos_buf, &times_buf, &theta_buf, &score_buf);
        let group = kernels.bind(&gpu, &args);
        let time_group = kernels.bind_time(&gpu, &args, &time_terms);
        let passes = [
            ("model_pack", &kernels.energy, &group),
            ("model_null", &kernels.energy, &group),
            ("model_descriptors", &kernels.energy, &group),
            ("model_mlp", &kernels.energy, &group),
            ("model_score", &kernels.energy, &group),
            ("model_score_time", &kernels.time, &time_group),
        ];
        let mut samples = vec![(Vec::new(), Vec::new()); passes.len()];
        for rep in 0..=reps {
            for (k, (entry, family, group)) in passes.iter().enumerate() {
                let (w0, c0) = (std::time::Instant::now(), process_cpu_seconds());
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    dispatch(
                        &mut pass,
                        family,
                        entry,
                        group,
                        kernels.groups(entry, &uniform),
                    );
                }
                gpu.queue.submit([encoder.finish()]);
                gpu.wait().unwrap();
                // Repetition 0 is the warm-up.
                if rep > 0 {
                    samples[k].0.push(w0.elapsed().as_secs_f64());
                    samples[k].1.push(process_cpu_seconds() - c0);
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        for ((entry, _, _), (w, cpu)) in passes.iter().zip(samples.iter_mut()) {
            println!(
                "TIMING C={c} N={n} {entry:<18} wall_ms {:>8.1} cpu_ms {:>8.0}",
                median(w) * 1e3,
                median(cpu) * 1e3
            );
        }
    }
}
