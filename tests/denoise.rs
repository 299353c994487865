//! The batched denoising samplers (`shaders/denoise.wgsl`, `ti::denoise`) against their f64
//! specification `reference::denoise::run_batch`: same Philox streams, same moves, same
//! shared step size, same Metropolis decisions, record by record. Skipped without an adapter.

mod common;

use nti_gpu::model::ModelKernels;
use nti_gpu::reference::denoise::{ais_work, run_batch, PointRecord};
use nti_gpu::scene::{CorrectorSettings, CorrectorSpan};
use nti_gpu::scene::{ModelConfig, ModelSystem};
use nti_gpu::ti::denoise::{run_denoise, DenoiseKernels, DenoiseOutcome, DenoiseRequest, PathKind};

const N: usize = 6;
const C: usize = 4;
const GRID: [f64; 6] = [0.0, 0.05, 0.15, 0.35, 0.7, 1.0];
/// A span of t holding two interior grid points (0.15, 0.35), its ends away from the grid.
const SPAN: (f64, f64) = (0.1, 0.5);

fn setup() -> (ModelConfig, ModelSystem, Vec<f64>) {
    let cfg = ModelConfig {
        k_radial: 8,
        vector_channels: 3,
        time_frequencies: 2,
        hidden: 16,
        r_c: 2.0,
    };
    // A dilute box (ρ ≈ 0.2) at weak coupling, so the trajectories stay well conditioned
    // over the few steps compared.
    let sys = ModelSystem {
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

fn corrector(steps: u32, populations: u32, resample: f64) -> CorrectorSettings {
    CorrectorSettings {
        steps,
        target_accept: 0.6,
        adapt_rate: 0.2,
        h_init: 2e-3,
        h_max: 0.02,
        populations,
        resample,
        spans: Vec::new(),
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
            assert_eq!(
                gpu.ancestor[c][k], r.ancestor,
                "{what}: trajectory {c}, t = {}: ancestor",
                GRID[k]
            );
            let size = C / gpu.populations;
            for (g, e, name) in [
                (gpu.log_weight[c][k], r.log_weight, "ln w"),
                (
                    gpu.log_norm[c / size][k],
                    r.log_norm,
                    "ln-normaliser increment",
                ),
            ] {
                assert!(
                    (g - e).abs() < 2e-3 * e.abs().max(1.0),
                    "{what}: trajectory {c}, t = {}: {name} {g} vs {e}",
                    GRID[k]
                );
            }
        }
    }
}

#[test]
fn sampler_paths_match_the_reference_record_by_record() {
    let Some(gpu) = common::gpu() else { return };
    let (cfg, sys, params) = setup();
    let theta: Vec<f32> = params.iter().map(|&p| p as f32).collect();
    let kernels = DenoiseKernels::new(&gpu).unwrap();
    let model = ModelKernels::new(&gpu, &cfg).unwrap();
    let key = [0x1234, 0x5678];
    let descending: Vec<f64> = GRID.iter().rev().map(|&t| t as f32 as f64).collect();
    let x0 = common::random_positions(N * C, sys.box_length, 0.0, 3);
    let x0 = common::as_f32(&x0);
    // (name, predictor, correctors, populations, resampling threshold, forward noise)
    let cases = [
        ("reverse SDE", true, 0, 1, 0.0, None),
        ("reverse SDE + MALA", true, 2, 1, 0.0, None),
        ("annealed MALA", false, 3, 2, 0.0, None),
        ("annealed MALA, resampled", false, 2, 2, 1.0, None),
        ("reverse SDE + MALA, resampled", true, 2, 2, 1.0, None),
        ("forward noise", false, 0, 1, 0.0, Some(x0.clone())),
        (
            "annealed MALA, 5 correctors in a span",
            false,
            1,
            2,
            1.0,
            None,
        ),
    ];
    for (what, predictor, steps, pops, resample, x0) in cases {
        let mut settings = corrector(steps, pops, resample);
        if what.ends_with("in a span") {
            settings.spans = vec![CorrectorSpan {
                from: SPAN.0,
                to: SPAN.1,
                correctors: 5,
                particles: None,
            }];
        }
        let path = match &x0 {
            Some(x) => PathKind::ForwardNoise { x0: x.clone() },
            None => PathKind::Sampler {
                predictor,
                correctors: settings.clone(),
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
        let batch: Vec<u32> = (0..C as u32).collect();
        let reference: Vec<Vec<PointRecord>> = run_batch(
            &cfg,
            &sys,
            &params,
            &descending,
            predictor,
            &settings,
            key,
            &batch,
            N,
            x0.as_deref(),
        );
        compare(&out, &reference, what);
        // Proposals and evaluations follow the span.
        let want: Vec<u32> = GRID
            .iter()
            .map(|&t| settings.steps_at(t as f32 as f64))
            .collect();
        assert_eq!(out.proposals, want, "{what}");
        let evaluations: u64 = want.iter().map(|&m| 1 + m as u64).sum();
        assert_eq!(out.evaluations, evaluations, "{what}");
        if !settings.spans.is_empty() {
            assert!(want.contains(&5) && want.contains(&1), "{want:?}");
        }
        if resample > 0.0 {
            // Resampling happened and moved some state to another slot.
            let moved = (0..C)
                .flat_map(|c| (0..GRID.len()).map(move |k| (c, k)))
                .filter(|&(c, k)| out.ancestor[c][k] as usize != c)
                .count();
            assert!(moved > 0, "{what}: no trajectory ever took another's state");
            continue;
        }
        if !predictor && x0.is_none() {
            // Without resampling, ln w at t = 0 is minus the AIS work.
            for c in 0..C {
                let w = out.ais_work()[c];
                assert!((out.log_weight[c][0] + w).abs() < 1e-3 * w.abs().max(1.0));
            }
        }
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
