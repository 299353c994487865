//! Neural TI against exact answers: the device samplers plus the estimators must
//! reproduce
//! - βF_ex = 0 when ε = 0 (Ũ(·, 0) = Ũ(·, 1) = 0, any θ: the path in between is the
//!   network's alone, so this checks the samplers and the quadrature, not the prior);
//! - βF_ex(N = 2) of the paper's box, an integral computed independently by quadrature
//!   (`reference::two_body`).
//!
//! The MALA-corrected TI, the annealed-importance-sampling estimate, the importance-weighted
//! TI and, with resampling (population annealing, errors jackknifed over populations), the
//! same two must be within three standard errors (plus the quadrature's halving error), and
//! the error bars must be small enough for that to mean something. Skipped without an
//! adapter.

mod common;

use nti_gpu::baselines::two_body::{lj_two_body_beta_f_ex, LjPair};
use nti_gpu::model::ModelKernels;
use nti_gpu::quadrature::{halving, weights, Rule, TimeGrid};
use nti_gpu::scene::CorrectorSettings;
use nti_gpu::scene::{ModelConfig, ModelSystem};
use nti_gpu::ti::denoise::{run_denoise, DenoiseKernels, DenoiseRequest, PathKind};
use nti_gpu::ti::estimators::{ais_estimate, mean_band, population_estimates, ti_estimate};

struct Case<'a> {
    sys: ModelSystem,
    cfg: ModelConfig,
    theta: Vec<f32>,
    n: usize,
    trajectories: usize,
    steps: usize,
    correctors: u32,
    exact: f64,
    what: &'a str,
    max_err: f64,
}

/// Runs the corrected reverse SDE and annealed MALA, checks TI and AIS against `exact`.
fn check(case: &Case) {
    let Some(gpu) = common::gpu() else { return };
    let kernels = DenoiseKernels::new(&gpu).unwrap();
    let model = ModelKernels::new(&gpu, &case.cfg).unwrap();
    let grid = TimeGrid::Power { exponent: 2.0 }
        .points(case.steps)
        .unwrap();
    let w = weights(Rule::Trapezoid, &grid).unwrap();
    let l = case.sys.box_length;
    let base = CorrectorSettings {
        steps: case.correctors,
        target_accept: 0.57,
        adapt_rate: 0.1,
        h_init: 1e-3,
        h_max: 1e-3 * l * l,
        populations: 1,
        resample: 0.0,
        spans: Vec::new(),
    };
    let runs = [
        (true, "corrected TI", 1, 0.0),
        (false, "annealed MALA", 1, 0.0),
        // Threshold 1: resample whenever a population's weights differ at all.
        (false, "population annealing", 8, 1.0),
        (true, "corrected TI, resampled", 8, 1.0),
    ];
    for (predictor, label, populations, resample) in runs {
        let correctors = CorrectorSettings {
            populations,
            resample,
            ..base.clone()
        };
        let out = run_denoise(
            &gpu,
            &kernels,
            &model,
            &DenoiseRequest {
                cfg: &case.cfg,
                sys: &case.sys,
                theta: &case.theta,
                n: case.n,
                trajectories: case.trajectories,
                grid: &grid,
                path: PathKind::Sampler {
                    predictor,
                    correctors,
                },
                key: [7, populations],
            },
            &mut |_, _| {},
        )
        .unwrap();
        // Every sampler path carries importance weights (with the predictor: sequential Monte
        // Carlo with the reverse SDE as proposal).
        let pe = population_estimates(
            &out.integrand,
            &out.log_weight,
            &out.log_norm,
            &w,
            resample > 0.0,
        )
        .unwrap();
        // Resampled trajectories are not independent: their plain TI's error comes from the
        // populations.
        let ti = if resample > 0.0 {
            pe.plain_ti
        } else {
            ti_estimate(&out.integrand, &w, 1).unwrap()
        };
        let (mean, _) = mean_band(&out.integrand).unwrap();
        let quad = halving(Rule::Trapezoid, &grid, &mean)
            .unwrap()
            .error_estimate;
        // The path is not trivial: the integrand swings by more than the answer's error bar.
        let swing = mean.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        eprintln!("{}: {label}: largest |<dU/dt>| {swing:.3}", case.what);
        assert!(
            swing > 10.0 * case.max_err,
            "{}: trivial integrand {swing}",
            case.what
        );
        check_estimate(case, label, "TI", ti.mean, ti.err, quad, case.max_err);
        if resample > 0.0 {
            let families = out.families();
            eprintln!("{}: {label}: {families} families survive", case.what);
            assert!(
                families < case.trajectories,
                "{}: never resampled",
                case.what
            );
        }
        for (name, e) in [
            ("importance-weighted TI", pe.weighted_ti),
            ("normaliser (AIS / population annealing)", pe.normaliser),
        ] {
            if predictor {
                // The predictor's weights (ln L/F of each move) are valid but, on these
                // coarse 64-point grids, far noisier: only consistency is asserted.
                eprintln!("{}: {label}: {name}: ESS {:.1}", case.what, pe.ess);
                check_estimate(case, label, name, e.mean, e.err, quad, f64::INFINITY);
                continue;
            }
            check_estimate(case, label, name, e.mean, e.err, quad, case.max_err);
        }
        if !predictor && resample == 0.0 {
            let ais = ais_estimate(&out.ais_work(), 1).unwrap();
            eprintln!(
                "{}: AIS ESS {:.1} of {}",
                case.what, ais.ess, case.trajectories
            );
            check_estimate(case, label, "AIS", ais.beta_f, ais.err, 0.0, case.max_err);
        }
    }
}

/// `mean ± err` of `name` must be within 3σ (plus `extra`) of the case's exact answer, with
/// an error bar below `max_err`.
fn check_estimate(
    case: &Case,
    label: &str,
    name: &str,
    mean: f64,
    err: f64,
    extra: f64,
    max_err: f64,
) {
    eprintln!(
        "{}: {label}: {name} {mean:.4} ± {err:.4} (+ {extra:.4}), exact {:.5}",
        case.what, case.exact
    );
    assert!(
        err < max_err,
        "{}: {label}: {name} error bar {err} too large to test",
        case.what
    );
    assert!(
        (mean - case.exact).abs() < 3.0 * err + extra,
        "{}: {label}: {name} {mean} ± {err} vs exact {}",
        case.what,
        case.exact
    );
}

fn small_model() -> ModelConfig {
    ModelConfig {
        k_radial: 8,
        vector_channels: 2,
        time_frequencies: 2,
        hidden: 16,
        r_c: 2.0,
    }
}

#[test]
fn zero_coupling_gives_zero_for_a_random_network() {
    let cfg = small_model();
    // A random network that makes a real path: E_θ of order a few kT per particle.
    let theta: Vec<f32> = common::fixture_params(&cfg, 3)
        .iter()
        .map(|&p| (0.5 * p) as f32)
        .collect();
    check(&Case {
        sys: ModelSystem {
            box_length: 3.5,
            beta: 1.0,
            epsilon: 0.0,
            sigma: 1.0,
            cutoff: None,
        },
        cfg,
        theta,
        n: 8,
        trajectories: 128,
        steps: 64,
        correctors: 4,
        exact: 0.0,
        what: "epsilon = 0",
        max_err: 0.05,
    });
}

#[test]
fn two_particles_in_the_paper_box_match_the_exact_integral() {
    let cfg = small_model();
    let exact = lj_two_body_beta_f_ex(6.0, &LjPair::paper())
        .unwrap()
        .beta_f_ex;
    check(&Case {
        sys: ModelSystem {
            box_length: 6.0,
            beta: 1.0,
            epsilon: 0.8,
            sigma: 1.0,
            cutoff: None,
        },
        // θ = 0: the prior path alone (soft-core LJ decaying to the ideal gas).
        theta: vec![0.0; cfg.param_count()],
        cfg,
        n: 2,
        trajectories: 512,
        steps: 64,
        correctors: 4,
        exact,
        what: "N = 2",
        max_err: 0.02,
    });
}
