//! Standard alchemical thermodynamic integration over λ windows, all windows simulated as
//! replicas of one batched Langevin run per leg, with MBAR over the same windows.
//!
//! βF_ex(N) = −∫₀¹ ⟨∂βU_λ/∂λ⟩_λ dλ, λ = 0 the full LJ fluid, λ = 1 the ideal gas. Paths
//! (pair terms in [`crate::reference::alchemical_energies`]):
//! - `TwoLeg` (default, robust): LJ → WCA by switching off the attraction (leg 1, uniform
//!   nodes), then WCA → ideal gas with a purely repulsive soft core (leg 2, nodes dense
//!   near λ = 0 through λ = u², where the dense-fluid integrand is steep);
//! - `SoftCore`: the paper's single soft-core path with the attraction on, which collapses
//!   at liquid densities: the diagnostics (integrand jumps between neighbouring windows,
//!   excess of overlapping pairs over an ideal gas) flag it instead of trusting the number.
//!
//! Quadrature: Gauss–Legendre on the leg's nodes (default) or the trapezoid rule on an
//! even grid including both ends, whose discretisation error is estimated from the same
//! rule on every other window.

use crate::baselines::mbar::{mbar, DEFAULT_OVERLAP_THRESHOLD};
use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::gpu::Gpu;
use crate::md::alchemical_energies::AlchemicalEnergies;
use crate::md::init::initial_state;
use crate::md::sampler::{md_config, reference_footprint, run_reference_with};
use crate::md::system::Alchemy;
use crate::md::MdKernels;
use crate::quadrature::{gauss_kronrod15, gauss_legendre};
use crate::reference::alchemical_energies::AlchemicalPath;
use crate::reference::lj_forces::{minimum_image, norm2};
use crate::scene::LjParams;
use crate::scene::{LambdaPath, LambdaTiSettings, Quadrature, Scene};
use crate::stats::{block_average, tau_int_replicas, Estimate};
use serde::Serialize;
use std::sync::Arc;

/// Weights of the 7-point Gauss rule embedded in the 15-point Kronrod grid of a leg (with
/// the λ = u² Jacobian when `dense_near_zero`), for the discretisation error.
pub fn embedded_gauss_weights(dense_near_zero: bool) -> Vec<f64> {
    let (u, _, wg) = gauss_kronrod15();
    u.iter()
        .zip(&wg)
        .map(|(u, g)| if dense_near_zero { g * 2.0 * u } else { *g })
        .collect()
}

/// λ nodes and quadrature weights of a leg. `dense_near_zero` maps λ = u² so that nodes
/// crowd near λ = 0 (weights include dλ/du = 2u).
pub fn leg_grid(
    windows: usize,
    quadrature: Quadrature,
    dense_near_zero: bool,
) -> (Vec<f64>, Vec<f64>) {
    let (u, w): (Vec<f64>, Vec<f64>) = match quadrature {
        Quadrature::GaussLegendre => gauss_legendre(windows),
        Quadrature::GaussKronrod => {
            let (x, wk, _) = gauss_kronrod15();
            (x, wk)
        }
        Quadrature::Trapezoid => {
            let h = 1.0 / (windows - 1) as f64;
            let u = (0..windows).map(|k| k as f64 * h).collect();
            let w = (0..windows)
                .map(|k| {
                    if k == 0 || k == windows - 1 {
                        0.5 * h
                    } else {
                        h
                    }
                })
                .collect();
            (u, w)
        }
    };
    if dense_near_zero {
        let l = u.iter().map(|x| x * x).collect();
        let wl = u.iter().zip(&w).map(|(x, wi)| wi * 2.0 * x).collect();
        (l, wl)
    } else {
        (u, w)
    }
}

/// One λ window.
#[derive(Clone, Debug, Serialize)]
pub struct WindowResult {
    /// λ.
    pub lambda: f64,
    /// ⟨∂βU/∂λ⟩ with its error.
    pub dudl: Estimate,
    /// Smallest pair distance in the window's final configurations.
    pub min_pair_distance: f64,
    /// Pairs closer than σ/2 in the final configurations, over the ideal-gas expectation.
    pub close_pair_ratio: f64,
}

/// One leg.
#[derive(Clone, Debug, Serialize)]
pub struct LegResult {
    /// Path of the leg.
    pub path: AlchemicalPath,
    /// Windows in λ order.
    pub windows: Vec<WindowResult>,
    /// ∫⟨∂βU/∂λ⟩dλ over the leg.
    pub integral: Estimate,
    /// Trapezoid: |T(h) − T(2h)| / 3; Gauss–Kronrod: |K15 − G7|; Gauss–Legendre: none.
    pub discretisation_error: Option<f64>,
    /// MBAR Δf between the leg's first and last window (βF(λ_last) − βF(λ_first)), if run.
    pub mbar_delta_f: Option<Estimate>,
    /// Smallest overlap between neighbouring windows (MBAR).
    pub mbar_min_overlap: Option<f64>,
    /// MBAR overlap warning, if any.
    pub mbar_warning: Option<String>,
    /// MBAR overlap matrix `O[i][j]` between the leg's windows.
    pub mbar_overlap: Option<Vec<Vec<f64>>>,
    /// MBAR reduced free energy of every window relative to the first, βf_k − βf_0.
    pub mbar_f_k: Option<Vec<f64>>,
    /// Standard error of each `mbar_f_k`.
    pub mbar_f_k_err: Option<Vec<f64>>,
    /// The interop files of the leg (`crate::export::write_leg_files`), once written.
    pub files: Option<crate::export::LegFiles>,
    /// Per-sample data behind the numbers, for those files (not in results.json).
    #[serde(skip)]
    pub series: LegSeries,
}

/// Per-sample data of one leg: what MBAR and TI were computed from.
#[derive(Clone, Debug, Default)]
pub struct LegSeries {
    /// λ of each window (state).
    pub lambdas: Vec<f64>,
    /// Replicas per window.
    pub replicas_per_window: usize,
    /// MD time of each kept frame (production steps from the start of the run × dt).
    pub frame_times: Vec<f64>,
    /// Reduced energies βU_k(x_n): one row per state k, one column per sample n, samples
    /// pooled window by window (window, then frame, then replica). Empty without MBAR.
    pub u_kn: Vec<Vec<f64>>,
    /// Samples per state (`u_kn`'s N_k).
    pub n_k: Vec<usize>,
    /// MD time of each observable record.
    pub record_times: Vec<f64>,
    /// β∂U/∂λ of every record: one row per replica (window w, replica r at row
    /// w · replicas_per_window + r), one column per record.
    pub dudl: Vec<Vec<f64>>,
}

/// Whole λ-TI result (`results.json` entries `free_energy.<N>.lambda_ti` and `.mbar`;
/// `betaf_ex` is the entry's `mean`/`err`, `energy_evaluations` its `cost`).
#[derive(Clone, Debug, Serialize)]
pub struct LambdaTiResult {
    /// βF_ex = −Σ legs ∫⟨∂βU/∂λ⟩dλ.
    #[serde(skip)]
    pub betaf_ex: Estimate,
    /// The legs.
    pub legs: Vec<LegResult>,
    /// True when the diagnostics found a collapsed window.
    pub collapse: bool,
    /// What the diagnostics found (empty if nothing).
    pub diagnosis: String,
    /// MBAR βF_ex over the same windows (sum over legs of −Δf; endpoints λ = 0 and 1 are
    /// reached only by trapezoid grids, so with Gauss nodes this is the difference between
    /// the outermost windows and is reported for cross-checking the TI of the same span).
    #[serde(rename = "mbar_betaF_span")]
    pub mbar_betaf_span: Option<Estimate>,
    /// TI over the same span as `mbar_betaf_span` (trapezoid between outermost windows).
    #[serde(rename = "ti_betaF_span")]
    pub ti_betaf_span: Option<Estimate>,
    /// Energy evaluations (pair terms) spent in MD, approximately.
    #[serde(skip)]
    pub energy_evaluations: u64,
}

fn pair_distance_stats(pos: &[[f32; 4]], n: usize, l: f64, sigma: f64) -> (f64, f64) {
    let mut min_r2 = f64::INFINITY;
    let mut close = 0u64;
    let limit = 0.25 * sigma * sigma;
    for i in 0..n {
        for j in i + 1..n {
            let d = [0, 1, 2].map(|k| pos[i][k] as f64 - pos[j][k] as f64);
            let r2 = norm2(minimum_image(d, l));
            min_r2 = min_r2.min(r2);
            if r2 < limit {
                close += 1;
            }
        }
    }
    let ideal = (n * (n - 1) / 2) as f64
        * (4.0 / 3.0 * std::f64::consts::PI * (0.5 * sigma).powi(3))
        / l.powi(3);
    (min_r2.sqrt(), close as f64 / ideal)
}

/// The scene of one leg's batched run: every window's replicas, the leg's MD lengths.
fn leg_scene(scene: &Scene, settings: &LambdaTiSettings, windows: usize) -> Scene {
    let mut leg = scene.clone();
    leg.sampler.replicas = (windows * settings.replicas_per_window as usize) as u32;
    leg.sampler.equilibration_steps = settings.equilibration_steps;
    leg.sampler.production_steps = settings.production_steps;
    leg.sampler.sample_every = settings.sample_every;
    leg.sampler.record_every = leg.sampler.record_every.min(settings.sample_every);
    // The windows run the lengths given here, whatever sizes the reference sampling.
    leg.sampler.tau_spacing = None;
    leg
}

/// What each leg's batched run at `n` particles asks of the device.
pub fn leg_footprint(scene: &Scene, n: u32, settings: &LambdaTiSettings) -> Footprint {
    let windows = leg_grid(settings.windows as usize, settings.quadrature, false)
        .0
        .len();
    reference_footprint(&leg_scene(scene, settings, windows), n)
}

/// Runs one leg: all windows × replicas in one batched run; returns windows and samples
/// (frame-major positions) for MBAR.
#[allow(clippy::too_many_arguments)]
fn run_leg(
    gpu: &Gpu,
    kernels: &Arc<MdKernels>,
    scene: &Scene,
    n: u32,
    path: AlchemicalPath,
    lambdas: &[f64],
    weights: &[f64],
    embedded: Option<&[f64]>,
    settings: &LambdaTiSettings,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(LegResult, u64)> {
    let reps = settings.replicas_per_window as usize;
    let k = lambdas.len();
    let leg_scene = leg_scene(scene, settings, k);
    let mut config = md_config(&leg_scene, n);
    config.alchemy = Some(Alchemy {
        path,
        lambdas: lambdas
            .iter()
            .flat_map(|&l| std::iter::repeat_n(l, reps))
            .collect(),
    });
    let s = &scene.system;
    let (pos, vel) = initial_state(
        n,
        config.replicas,
        s.box_length,
        s.temperature,
        s.mass,
        scene.seed,
    );
    let out = run_reference_with(
        gpu,
        kernels.clone(),
        &leg_scene,
        config.clone(),
        &pos,
        &vel,
        |d, _| on_progress(d),
    )?;
    let beta = 1.0 / s.temperature;
    let final_pos = out.system.read_positions(gpu)?;
    let windows = window_results(&out.records, &final_pos, lambdas, reps, n as usize, scene);
    let integral = Estimate {
        mean: windows
            .iter()
            .zip(weights)
            .map(|(w, q)| q * w.dudl.mean)
            .sum(),
        err: windows
            .iter()
            .zip(weights)
            .map(|(w, q)| (q * w.dudl.err).powi(2))
            .sum::<f64>()
            .sqrt(),
    };
    let discretisation_error = discretisation_error(&windows, integral.mean, settings, embedded);
    let mut leg_mbar = LegMbar::default();
    if settings.mbar && out.frames > 0 {
        let lj = LjParams {
            shift: false,
            ..config.lj
        };
        let frames = out.frames as usize;
        leg_mbar = mbar_over_windows(gpu, &out.samples, frames, n, lambdas, reps, path, &lj, beta)?;
    }
    let dt = leg_scene.sampler.dt;
    let equil = settings.equilibration_steps as f64;
    let record_every = out.record_every as f64;
    let records = out.records.first().map_or(0, Vec::len);
    let series = LegSeries {
        lambdas: lambdas.to_vec(),
        replicas_per_window: reps,
        frame_times: (0..out.frames)
            .map(|f| (equil + (f + 1) as f64 * out.sample_every as f64) * dt)
            .collect(),
        u_kn: std::mem::take(&mut leg_mbar.u_kn),
        n_k: std::mem::take(&mut leg_mbar.n_k),
        record_times: (0..records)
            .map(|i| (equil + (i + 1) as f64 * record_every) * dt)
            .collect(),
        dudl: out
            .records
            .iter()
            .map(|r| r.iter().map(|rec| beta * rec[3]).collect())
            .collect(),
    };
    let evaluations = out.steps * config.total() as u64 * n as u64;
    Ok((
        LegResult {
            path,
            windows,
            integral,
            discretisation_error,
            mbar_delta_f: leg_mbar.delta_f,
            mbar_min_overlap: leg_mbar.min_overlap,
            mbar_warning: leg_mbar.warning,
            mbar_overlap: leg_mbar.overlap,
            mbar_f_k: leg_mbar.f_k,
            mbar_f_k_err: leg_mbar.f_k_err,
            files: None,
            series,
        },
        evaluations,
    ))
}

/// ⟨∂βU/∂λ⟩ of every window (block-averaged over its replicas' records, which hold βU's
/// λ-derivative in slot 3) and the collapse diagnostics of its final configurations.
fn window_results(
    records: &[Vec<[f64; 5]>],
    final_pos: &[[f32; 4]],
    lambdas: &[f64],
    reps: usize,
    n: usize,
    scene: &Scene,
) -> Vec<WindowResult> {
    let s = &scene.system;
    let beta = 1.0 / s.temperature;
    lambdas
        .iter()
        .enumerate()
        .map(|(w, &l)| {
            let series: Vec<Vec<f64>> = (0..reps)
                .map(|r| {
                    records[w * reps + r]
                        .iter()
                        .map(|rec| beta * rec[3])
                        .collect()
                })
                .collect();
            let tau = tau_int_replicas(&series);
            let dudl = block_average(&series, tau);
            let (mut min_d, mut ratio) = (f64::INFINITY, 0.0);
            for r in 0..reps {
                let b = w * reps + r;
                let (d, q) =
                    pair_distance_stats(&final_pos[b * n..(b + 1) * n], n, s.box_length, s.sigma);
                min_d = min_d.min(d);
                ratio += q / reps as f64;
            }
            WindowResult {
                lambda: l,
                dudl,
                min_pair_distance: min_d,
                close_pair_ratio: ratio,
            }
        })
        .collect()
}

/// The quadrature's discretisation error: the trapezoid rule against itself on every other
/// window, or the Gauss–Kronrod rule against its embedded Gauss rule (`embedded` weights).
fn discretisation_error(
    windows: &[WindowResult],
    integral: f64,
    settings: &LambdaTiSettings,
    embedded: Option<&[f64]>,
) -> Option<f64> {
    let k = windows.len();
    (settings.quadrature == Quadrature::Trapezoid && k >= 5 && k % 2 == 1)
        .then(|| {
            let coarse: Vec<(f64, f64)> = windows
                .iter()
                .step_by(2)
                .map(|w| (w.lambda, w.dudl.mean))
                .collect();
            let t2: f64 = coarse
                .windows(2)
                .map(|p| 0.5 * (p[1].0 - p[0].0) * (p[0].1 + p[1].1))
                .sum();
            (integral - t2).abs() / 3.0
        })
        .or_else(|| {
            embedded.map(|g| {
                let gauss: f64 = windows.iter().zip(g).map(|(w, g)| g * w.dudl.mean).sum();
                (integral - gauss).abs()
            })
        })
}

/// MBAR over the windows of one leg.
#[derive(Default)]
struct LegMbar {
    delta_f: Option<Estimate>,
    min_overlap: Option<f64>,
    warning: Option<String>,
    overlap: Option<Vec<Vec<f64>>>,
    f_k: Option<Vec<f64>>,
    f_k_err: Option<Vec<f64>>,
    u_kn: Vec<Vec<f64>>,
    n_k: Vec<usize>,
}

/// MBAR over the windows of a leg: the reduced energies of every kept frame in every λ
/// state (on the device), pooled window by window, solved on the host.
#[allow(clippy::too_many_arguments)]
fn mbar_over_windows(
    gpu: &Gpu,
    samples: &wgpu::Buffer,
    frames: usize,
    n: u32,
    lambdas: &[f64],
    reps: usize,
    path: AlchemicalPath,
    lj: &LjParams,
    beta: f64,
) -> Result<LegMbar> {
    let k = lambdas.len();
    let replicas = k * reps;
    let kernel = AlchemicalEnergies::new(gpu)?;
    let by_config = kernel.energies(
        gpu,
        samples,
        (frames * replicas) as u32,
        n,
        lambdas,
        path,
        lj,
        beta,
    )?;
    // Pool the samples window by window (MBAR's ordering): config c = f * B + b.
    let u_kn: Vec<Vec<f64>> = by_config
        .iter()
        .map(|row| {
            (0..k)
                .flat_map(|w| {
                    (0..frames)
                        .flat_map(move |f| (0..reps).map(move |r| f * replicas + w * reps + r))
                })
                .map(|c| row[c])
                .collect()
        })
        .collect();
    let n_k = vec![frames * reps; k];
    let solved = mbar(&u_kn, &n_k);
    Ok(match solved {
        Ok(m) => LegMbar {
            delta_f: Some(Estimate {
                mean: m.free_energies[k - 1] - m.free_energies[0],
                err: m.difference_uncertainty(0, k - 1),
            }),
            min_overlap: m.min_neighbour_overlap().map(|(_, v)| v),
            warning: m.warn_overlap(DEFAULT_OVERLAP_THRESHOLD),
            overlap: Some(m.overlap.clone()),
            f_k: Some(
                m.free_energies
                    .iter()
                    .map(|f| f - m.free_energies[0])
                    .collect(),
            ),
            f_k_err: Some((0..k).map(|j| m.difference_uncertainty(0, j)).collect()),
            u_kn,
            n_k,
        },
        Err(e) => LegMbar {
            warning: Some(format!("MBAR failed: {e}")),
            u_kn,
            n_k,
            ..Default::default()
        },
    })
}

fn collapse_diagnosis(legs: &[LegResult]) -> (bool, String) {
    let mut problems = Vec::new();
    for leg in legs {
        let m: Vec<f64> = leg.windows.iter().map(|w| w.dudl.mean).collect();
        let jumps: Vec<f64> = m.windows(2).map(|p| (p[1] - p[0]).abs()).collect();
        if jumps.len() >= 3 {
            let mut sorted = jumps.clone();
            sorted.sort_by(|a, b| a.total_cmp(b));
            let median = sorted[sorted.len() / 2];
            for (i, &j) in jumps.iter().enumerate() {
                if j > 5.0 * median && j > 50.0 {
                    problems.push(format!(
                        "{:?}: <dU/dlambda> jumps by {j:.0} kT between lambda = {:.3} and {:.3} (median jump {median:.0})",
                        leg.path, leg.windows[i].lambda, leg.windows[i + 1].lambda
                    ));
                }
            }
        }
        for w in &leg.windows {
            if w.lambda < 0.98 && w.close_pair_ratio > 3.0 {
                problems.push(format!(
                    "{:?}: at lambda = {:.3} there are {:.1}x more pairs closer than sigma/2 than in an ideal gas (clusters of overlapping particles)",
                    leg.path, w.lambda, w.close_pair_ratio
                ));
            }
        }
    }
    (!problems.is_empty(), problems.join("; "))
}

/// Runs λ-window TI (and MBAR over the same windows) for the scene at N.
pub fn lambda_ti(
    gpu: &Gpu,
    kernels: &Arc<MdKernels>,
    scene: &Scene,
    n: u32,
    settings: &LambdaTiSettings,
    on_progress: &mut dyn FnMut(u64),
) -> Result<LambdaTiResult> {
    let k = settings.windows as usize;
    if k < 2 || (settings.quadrature == Quadrature::Trapezoid && k < 3) {
        return Err(Error::Simulation(
            "lambda_ti needs at least 3 windows per leg".into(),
        ));
    }
    let legs_spec: Vec<(AlchemicalPath, bool)> = match settings.path {
        LambdaPath::TwoLeg => vec![
            (AlchemicalPath::LjToWca, false),
            (AlchemicalPath::WcaSoftCore, true),
        ],
        LambdaPath::SoftCore => vec![(AlchemicalPath::SoftCore, false)],
    };
    let mut legs = Vec::new();
    let mut evaluations = 0;
    let steps_per_leg = settings.equilibration_steps + settings.production_steps;
    for (index, (path, dense)) in legs_spec.into_iter().enumerate() {
        let (lambdas, weights) = leg_grid(k, settings.quadrature, dense);
        let embedded = (settings.quadrature == Quadrature::GaussKronrod)
            .then(|| embedded_gauss_weights(dense));
        let offset = index as u64 * steps_per_leg;
        let (leg, ev) = run_leg(
            gpu,
            kernels,
            scene,
            n,
            path,
            &lambdas,
            &weights,
            embedded.as_deref(),
            settings,
            &mut |d| on_progress(offset + d),
        )?;
        evaluations += ev;
        legs.push(leg);
    }
    let mean = -legs.iter().map(|l| l.integral.mean).sum::<f64>();
    let err = legs
        .iter()
        .map(|l| l.integral.err.powi(2))
        .sum::<f64>()
        .sqrt();
    let (collapse, diagnosis) = collapse_diagnosis(&legs);
    // MBAR vs TI over the span between each leg's outermost windows.
    let mbar_betaf_span = legs
        .iter()
        .map(|l| l.mbar_delta_f)
        .collect::<Option<Vec<Estimate>>>()
        .map(|v| Estimate {
            mean: -v.iter().map(|e| e.mean).sum::<f64>(),
            err: v.iter().map(|e| e.err * e.err).sum::<f64>().sqrt(),
        });
    let ti_betaf_span = mbar_betaf_span.map(|_| {
        let mut mean = 0.0;
        let mut var = 0.0;
        for l in &legs {
            for p in l.windows.windows(2) {
                let h = p[1].lambda - p[0].lambda;
                mean -= 0.5 * h * (p[0].dudl.mean + p[1].dudl.mean);
                var += (0.5 * h).powi(2) * (p[0].dudl.err.powi(2) + p[1].dudl.err.powi(2));
            }
        }
        Estimate {
            mean,
            err: var.sqrt(),
        }
    });
    Ok(LambdaTiResult {
        betaf_ex: Estimate { mean, err },
        legs,
        collapse,
        diagnosis,
        mbar_betaf_span,
        ti_betaf_span,
        energy_evaluations: evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_run_their_own_lengths_when_the_reference_is_sized_by_tau_int() {
        let text = r#"Scene(name: "t", seed: 1,
            system: (box_length: 6.0, temperature: 1.0, particles: [40], potential: MinimumImage),
            sampler: (replicas: 2, dt: 0.005, equilibration_steps: 1000,
                      production_steps: 3000, sample_every: 100, tau_spacing: 2.0),
            baselines: (lambda_ti: (windows: 4, replicas_per_window: 2,
                        equilibration_steps: 300, production_steps: 600, sample_every: 50)))"#;
        let scene = Scene::from_str(text, "t.ron").unwrap();
        scene.validate("t.ron").unwrap();
        let settings = scene.baselines.as_ref().unwrap().lambda_ti.clone().unwrap();
        let leg = leg_scene(&scene, &settings, 4).sampler;
        assert_eq!(leg.tau_spacing, None);
        assert_eq!((leg.equilibration_steps, leg.production_steps), (300, 600));
        assert_eq!((leg.sample_every, leg.replicas), (50, 8));
    }

    #[test]
    fn leg_grids_integrate_smooth_functions() {
        // Integral of 3 lambda^2 on [0, 1] is 1, with either rule and either spacing.
        for q in [Quadrature::GaussLegendre, Quadrature::Trapezoid] {
            for dense in [false, true] {
                let (l, w) = leg_grid(41, q, dense);
                let s: f64 = l.iter().zip(&w).map(|(l, w)| w * 3.0 * l * l).sum();
                assert!((s - 1.0).abs() < 2e-3, "{q:?} {dense}: {s}");
                if dense {
                    assert!(l[1] < 0.01, "nodes crowd near 0");
                }
            }
        }
    }
}
