//! The batched denoising samplers (`shaders/denoise.wgsl`, `ti::sampler`) against their f64
//! specification `reference::denoise::run_trajectory`: same Philox streams, same moves, same
//! Metropolis decisions, record by record. Skipped without an adapter.

mod common;

use nti_gpu::model::ModelKernels;
use nti_gpu::reference::denoise::{ais_work, run_trajectory, CorrectorSettings, PointRecord};
use nti_gpu::reference::energy_model::{ModelConfig, System};
use nti_gpu::ti::sampler::{run_denoise, DenoiseKernels, DenoiseOutcome, DenoiseRequest, PathKind};

const N: usize = 6;
const C: usize = 3;
const GRID: [f64; 6] = [0.0, 0.05, 0.15, 0.35, 0.7, 1.0];

fn setup() -> (ModelConfig, System, Vec<f64>) {
    let cfg = ModelConfig {
        k_radial: 8,
        vector_channels: 3,
        time_frequencies: 2,
        hidden: 16,
        r_c: 2.0,
    };
    // A dilute box (ρ ≈ 0.2) at weak coupling, so the trajectories stay well conditioned
    // over the few steps compared.
    let sys = System {
        box_length: 3.1,
        beta: 1.0,
        epsilon: 0.3,
        sigma: 1.0,
        cutoff: None,
    };
    let params: Vec<f64> = cfg
        .init_params(11)
        .iter()
        .map(|&p| (0.5 * p) as f32 as f64)
        .collect();
    (cfg, sys, params)
}

fn corrector(steps: u32) -> CorrectorSettings {
    CorrectorSettings {
        steps,
        target_accept: 0.6,
        adapt_rate: 0.2,
        h_init: 2e-3,
        h_max: 0.02,
    }
}

fn compare(gpu: &DenoiseOutcome, reference: &[Vec<PointRecord>], what: &str) {
    for (c, rec) in reference.iter().enumerate() {
        for (j, r) in rec.iter().enumerate() {
            let k = GRID.len() - 1 - j;
            let tol = 2e-3 * r.integrand.abs().max(1.0);
            assert!(
                (gpu.integrand[c][k] - r.integrand).abs() < tol,
                "{what}: trajectory {c}, t = {}: integrand {} vs reference {}",
                GRID[k],
                gpu.integrand[c][k],
                r.integrand
            );
            for (g, e, name) in [
                (gpu.u_start[c][k], r.u_start, "u_start"),
                (gpu.u_end[c][k], r.u_end, "u_end"),
            ] {
                assert!(
                    (g - e).abs() < 2e-3 * e.abs().max(1.0),
                    "{what}: trajectory {c}, t = {}: {name} {g} vs {e}",
                    GRID[k]
                );
            }
            assert_eq!(
                gpu.accepted[c][k], r.accepted,
                "{what}: trajectory {c}, t = {}: accepted proposals",
                GRID[k]
            );
        }
    }
}

#[test]
fn sampler_paths_match_the_reference_record_by_record() {
    let Some(gpu) = common::gpu() else { return };
    let (cfg, sys, params) = setup();
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let kernels = DenoiseKernels::new(&gpu).unwrap();
    let model = ModelKernels::new(&gpu).unwrap();
    let key = [0x1234, 0x5678];
    let descending: Vec<f64> = GRID.iter().rev().map(|&t| t as f32 as f64).collect();
    let x0 = common::random_positions(N * C, sys.box_length, 0.0, 3);
    let x0 = common::as_f32(&x0);
    let cases = [
        ("reverse SDE", true, 0, None),
        ("reverse SDE + MALA", true, 2, None),
        ("annealed MALA", false, 3, None),
        ("forward noise", false, 0, Some(x0.clone())),
    ];
    for (what, predictor, steps, x0) in cases {
        let path = match &x0 {
            Some(x) => PathKind::ForwardNoise { x0: x.clone() },
            None => PathKind::Sampler {
                predictor,
                correctors: corrector(steps),
            },
        };
        let out = run_denoise(
            &gpu,
            &kernels,
            &model,
            &DenoiseRequest {
                cfg: &cfg,
                sys: &sys,
                theta: &theta,
                n: N,
                trajectories: C,
                grid: &GRID,
                path,
                key,
            },
            &mut |_, _| {},
        )
        .unwrap();
        let reference: Vec<Vec<PointRecord>> = (0..C)
            .map(|c| {
                run_trajectory(
                    &cfg,
                    &sys,
                    &params,
                    &descending,
                    predictor,
                    &corrector(steps),
                    key,
                    c as u32,
                    N,
                    x0.as_ref().map(|x| &x[c * N..(c + 1) * N]),
                )
            })
            .collect();
        compare(&out, &reference, what);
        let work = out.ais_work();
        for (c, rec) in reference.iter().enumerate() {
            let w = ais_work(rec);
            assert!(
                (work[c] - w).abs() < 1e-2 * w.abs().max(1.0),
                "{what}: AIS work of trajectory {c}: {} vs {w}",
                work[c]
            );
        }
        if steps > 0 {
            let acc = out.acceptance();
            assert!(acc.iter().all(|a| (0.0..=1.0).contains(a)), "{acc:?}");
            // t = 1 (last grid point): Ũ ≡ 0, every proposal is accepted.
            assert_eq!(acc[GRID.len() - 1], 1.0);
            // The Metropolis test decided something: some proposal was rejected.
            eprintln!("{what}: acceptance per t {acc:?}");
            assert!(
                acc.iter().any(|&a| a < 1.0),
                "{what}: nothing rejected: {acc:?}"
            );
        }
    }
}
