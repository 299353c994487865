//! Shared helpers of the integration tests.
#![allow(dead_code)]

use nti_gpu::gpu::{Gpu, GpuOptions};

/// A device on the default adapter. Without an adapter the test is skipped with a message,
/// unless NTI_REQUIRE_ADAPTER=1 (as in CI), where it fails.
pub fn gpu() -> Option<Gpu> {
    match Gpu::new(&GpuOptions {
        adapter: std::env::var("NTI_TEST_ADAPTER").ok(),
        backend: std::env::var("NTI_TEST_BACKEND").ok(),
        ..Default::default()
    }) {
        Ok(g) => Some(g),
        Err(e) => {
            if std::env::var("NTI_REQUIRE_ADAPTER").is_ok_and(|v| v == "1") {
                panic!("NTI_REQUIRE_ADAPTER=1 but no adapter: {e}");
            }
            eprintln!("skipped: no GPU adapter ({e})");
            None
        }
    }
}

/// Deterministic random positions in a box with no pair closer than `min_dist`
/// (random sequential addition).
pub fn random_positions(n: usize, box_length: f64, min_dist: f64, seed: u64) -> Vec<[f64; 3]> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out: Vec<[f64; 3]> = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n {
        tries += 1;
        assert!(tries < 1_000_000, "could not place {n} particles");
        let x = [
            rng.random::<f64>() * box_length,
            rng.random::<f64>() * box_length,
            rng.random::<f64>() * box_length,
        ];
        let ok = out.iter().all(|y| {
            let d = nti_gpu::reference::lj_forces::minimum_image(
                [x[0] - y[0], x[1] - y[1], x[2] - y[2]],
                box_length,
            );
            nti_gpu::reference::lj_forces::norm2(d) >= min_dist * min_dist
        });
        if ok {
            out.push(x);
        }
    }
    out
}

/// Glorot-uniform parameters in the layout of `cfg` (weights uniform in
/// ±sqrt(6/(fan_in + fan_out)), biases zero) drawn from rand's `StdRng`: a fixed fixture of
/// the kernel tests, the draws their f32 tolerances were set with, independent of the
/// generator of `ModelConfig::init_params`.
pub fn fixture_params(cfg: &nti_gpu::scene::ModelConfig, seed: u64) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let (d, h) = (cfg.feature_dim(), cfg.hidden);
    let lay = cfg.layout();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut params = vec![0.0; lay.len];
    let mut fill = |block: &mut [f64], fan_in: usize, fan_out: usize| {
        let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
        for w in block {
            *w = rng.random_range(-a..a);
        }
    };
    fill(&mut params[lay.w1..lay.b1], d, h);
    fill(&mut params[lay.w2..lay.b2], h, h);
    fill(&mut params[lay.w3..lay.b3], h, 1);
    params
}

/// Positions rounded to f32, as the device stores them, back in f64.
pub fn as_f32(pos: &[[f64; 3]]) -> Vec<[f64; 3]> {
    pos.iter().map(|p| p.map(|v| v as f32 as f64)).collect()
}

/// Relative difference with an absolute floor.
pub fn rel(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / b.abs().max(floor)
}

/// The `nti-gpu` binary of this build.
pub fn nti() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_nti-gpu"))
}

/// Runs `nti-gpu` with `args`, asserts it succeeded (showing its stderr otherwise) and
/// returns its stdout.
pub fn nti_ok(args: &[&str]) -> String {
    let out = nti().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "nti-gpu {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tiny scene (6 particles in a 4σ box, a small model) named `name`, with the sections
/// `extra` (training, integration, baselines) added: a second of work per stage.
pub fn tiny_scene(name: &str, extra: &str) -> String {
    format!(
        r#"Scene(
    name: "{name}", seed: 3,
    system: (box_length: 4.0, temperature: 1.0, epsilon: 0.8, particles: [6],
             potential: MinimumImage),
    sampler: (replicas: 4, dt: 0.005, equilibration_steps: 200, production_steps: 400,
              record_every: 10, sample_every: 100),
    model: (k_radial: 6, vector_channels: 2, time_frequencies: 1, hidden: 16),
    {extra}
)"#
    )
}

/// [`tiny_scene`] with every stage: a short training and one MALA-corrected sampler at N.
pub fn staged() -> String {
    tiny_scene(
        "staged",
        "training: (steps: 30, batch: 8, log_every: 10, checkpoint_every: 10),
    integration: (trajectories: 16, steps: 8, correctors: 1, estimators: [Corrected],
                  chemical_potential: false),",
    )
}
