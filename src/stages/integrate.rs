//! The integration stage of `nti-gpu run` (and `nti-gpu integrate`): for every particle
//! count and estimator of the scene's `integration` section, run the device samplers with
//! the trained model, keep their per-trajectory records on disk (`ti_N<N>_<estimator>.json`,
//! reused when a later run asks for the same thing), and turn them into βF_ex and βμ_ex with
//! error bars, the integrand table `integrand_N<N>.csv`, the g(r) of the generated samples
//! and, with three or more particle counts, the grand-canonical view.
//!
//! results.json gets `free_energy.<N>.<estimator>` for every estimator run (TI, and for
//! `annealed` also `ais` and `weighted_ti`), and `free_energy.<N>.neural_ti`: the headline
//! estimate ([`headline`]), with `betamu_ex` where N + 1 was evaluated too. Schema:
//! docs/results.md.

use super::{fingerprint, results_header, Progress};
use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::checkpoint::Checkpoint;
use crate::model::ModelKernels;
use crate::output::{fnv1a64, merge_results, prune_free_energy, write_atomic};
use crate::reference::lj_forces::{minimum_image, norm2};
use crate::reference::observables::{gr_histogram, gr_normalize};
use crate::reference::rng::key_of;
use crate::scene::{Estimator, IntegrationSettings, Scene};
use crate::ti::denoise::{run_denoise, DenoiseKernels, DenoiseRequest, PathKind};
use crate::ti::estimators::{mean_band, Estimate};
use crate::ti::record::{
    estimate_for, headline, integrand_file, raw_file, summarize, verdict, EstimatorSummary, RawRun,
    GR_BINS, RAW_VERSION,
};
use crate::train::CHECKPOINT_FILE;
use std::path::Path;
use std::time::Instant;

/// The `free_energy.<N>` keys this stage writes (any other stage's keys are left alone).
pub const INTEGRATION_KEYS: [&str; 7] = [
    "reverse_sde",
    "corrected",
    "annealed",
    "forward_noise",
    "ais",
    "weighted_ti",
    "neural_ti",
];

/// Everything the stage computed, for the report and plots.
#[derive(Clone, Debug, Default)]
pub struct IntegrationOutcome {
    /// (N, estimator summaries, raw runs) in evaluation order.
    pub per_n: Vec<(u32, Vec<(EstimatorSummary, RawRun)>)>,
    /// The JSON merged into results.json.
    pub json: serde_json::Value,
}

/// Loads the trained model of `out_dir`, checking it matches the scene.
pub fn load_model(scene: &Scene, out_dir: &Path) -> Result<Checkpoint> {
    let path = out_dir.join(CHECKPOINT_FILE);
    if !path.exists() {
        return Err(Error::Model(format!(
            "no trained model at {}: run `nti-gpu train` (or `nti-gpu run`) on this scene first",
            path.display()
        )));
    }
    let ck = Checkpoint::read(&path)?;
    ck.check_scene(scene, &path).map_err(|e| match e {
        Error::Format { path, message } => Error::Format {
            path,
            message: format!(
                "{message}; train this scene's model in its place with `nti-gpu train --force` \
                 (or `nti-gpu run --force`), or use a new --out"
            ),
        },
        e => e,
    })?;
    let wanted = scene.training().steps;
    if ck.step < wanted {
        return Err(Error::Model(format!(
            "the model in {} is trained for {} of training.steps = {wanted} steps: finish it \
             with `nti-gpu train --resume` (or `nti-gpu run`, which resumes)",
            path.display(),
            ck.step
        )));
    }
    Ok(ck)
}

fn record_fingerprint(
    settings: &IntegrationSettings,
    ck: &Checkpoint,
    scene: &Scene,
    n: u32,
    e: Estimator,
) -> String {
    let params: Vec<u8> = ck.params.iter().flat_map(|p| p.to_le_bytes()).collect();
    fingerprint(&[
        &RAW_VERSION.to_string(),
        &settings.record_key(e, n),
        &ron::to_string(&(scene.seed, &scene.system)).unwrap_or_default(),
        &format!("{:016x}", fnv1a64(&params)),
        &format!("{:016x}", scene.hash()),
        &n.to_string(),
        e.key(),
    ])
}

/// C reference configurations spread evenly over the sample set (frames × replicas): batch
/// 0 takes the first of every C-th, batch b the one at the fraction {b φ} (φ the golden
/// ratio's conjugate) of the way to the next, so that batches added later start from other
/// configurations whatever their number.
fn spread_configurations(set: &SampleSet, count: usize, batch: u32) -> Vec<[f64; 3]> {
    let total = set.configurations();
    let shift = ((f64::from(batch) * 0.618_033_988_749_894_9).fract() * total as f64) as usize;
    let mut out = Vec::with_capacity(count * set.n as usize);
    for c in 0..count {
        let index = ((c * total + shift) / count).min(total - 1) as u32;
        let (frame, replica) = (index / set.replicas, index % set.replicas);
        out.extend(
            set.configuration(frame, replica)
                .iter()
                .map(|p| p.map(|v| v as f64)),
        );
    }
    out
}

fn generated_gr(pos: &[[f64; 3]], n: usize, box_length: f64) -> (Vec<(f64, f64)>, f64) {
    let r_max = 0.5 * box_length;
    let mut hist = vec![0u64; GR_BINS as usize];
    let mut min_d = f64::INFINITY;
    let configs = pos.len() / n.max(1);
    for conf in pos.chunks(n) {
        for (h, c) in hist
            .iter_mut()
            .zip(gr_histogram(conf, box_length, r_max, GR_BINS))
        {
            *h += c;
        }
        for i in 0..conf.len() {
            for j in i + 1..conf.len() {
                let d = minimum_image(std::array::from_fn(|a| conf[i][a] - conf[j][a]), box_length);
                min_d = min_d.min(norm2(d).sqrt());
            }
        }
    }
    let gr = gr_normalize(&hist, r_max, n as u32, box_length.powi(3), configs as u64);
    (gr, min_d)
}

/// What every sampler run of the stage shares.
#[derive(Clone, Copy)]
struct Job<'a> {
    gpu: &'a Gpu,
    kernels: &'a (DenoiseKernels, ModelKernels),
    scene: &'a Scene,
    settings: &'a IntegrationSettings,
    ck: &'a Checkpoint,
    out_dir: &'a Path,
    grid: &'a [f64],
}

/// One batch of `trajectories` of (N, estimator): batch 0 with the stream of the run
/// without `target_error`, batch b > 0 with a stream of its own. `None` when the estimator
/// cannot run at this N (forward noise without reference samples).
fn run_batch(
    job: &Job,
    n: u32,
    estimator: Estimator,
    fp: &str,
    batch: u32,
    progress: &mut dyn Progress,
) -> Result<Option<RawRun>> {
    let Job {
        gpu,
        kernels,
        scene,
        settings,
        ck,
        out_dir,
        grid,
    } = *job;
    let sys = scene.model_system();
    let c = settings.trajectories as usize;
    let l = scene.system.box_length;
    let path = match estimator {
        Estimator::ForwardNoise => match super::sample::existing_samples(scene, n, out_dir)? {
            Some(set) => PathKind::ForwardNoise {
                x0: spread_configurations(&set, c, batch),
            },
            None => return Ok(None),
        },
        Estimator::ReverseSde => PathKind::Sampler {
            predictor: true,
            correctors: settings.correctors(n, l, scene.system.sigma, false, false),
        },
        Estimator::Corrected => PathKind::Sampler {
            predictor: true,
            correctors: settings.correctors(n, l, scene.system.sigma, true, true),
        },
        Estimator::Annealed => PathKind::Sampler {
            predictor: false,
            correctors: settings.correctors(n, l, scene.system.sigma, true, true),
        },
    };
    let cfg = scene.model();
    // Batch 0 is the run without `target_error`; each further batch its own stream.
    let mut stream = fnv1a64(format!("{n}|{}", estimator.key()).as_bytes());
    if batch > 0 {
        stream ^= fnv1a64(format!("batch {batch}").as_bytes());
    }
    let req = DenoiseRequest {
        cfg: &cfg,
        sys: &sys,
        theta: ck.model_params(),
        n: n as usize,
        trajectories: c,
        grid,
        path,
        key: key_of(settings.seed.unwrap_or(scene.seed) ^ stream),
    };
    // Paths with importance weights (every sampler; the reverse SDE's through ln L/F of
    // its moves), and their resampling threshold.
    let weighted = estimator != Estimator::ForwardNoise;
    let resample = match &req.path {
        PathKind::Sampler { correctors, .. } => correctors.resample,
        PathKind::ForwardNoise { .. } => 0.0,
    };
    let label = if batch > 0 {
        format!("{} N={n} batch {}", estimator.label(), batch + 1)
    } else {
        format!("{} N={n}", estimator.label())
    };
    progress.start(&label, grid.len() as u64);
    let out = run_denoise(gpu, &kernels.0, &kernels.1, &req, &mut |done, _| {
        progress.set(done as u64)
    })?;
    progress.finish();
    let (gr, min_pair_distance) = generated_gr(&out.final_positions, n as usize, l);
    let (work, families) = (out.ais_work(), out.families());
    let acceptance = if out.proposals.iter().any(|&m| m > 0) {
        out.acceptance()
    } else {
        Vec::new()
    };
    // The weights move into the record (forward noise has none worth keeping).
    let (log_weight, log_norm) = if weighted {
        (out.log_weight, out.log_norm)
    } else {
        (Vec::new(), Vec::new())
    };
    let raw = RawRun {
        version: RAW_VERSION,
        fingerprint: fp.to_string(),
        n,
        estimator,
        grid: grid.to_vec(),
        work,
        log_weight,
        log_norm,
        resample,
        families,
        acceptance,
        integrand: out.integrand,
        gr,
        min_pair_distance,
        evaluations: out.evaluations,
        wall_time_s: out.wall_time_s,
        checksum: String::new(),
    };
    Ok(Some(raw))
}

/// Runs (or reloads) one (N, estimator), and whether it ran. `None` when the estimator
/// cannot run at this N (forward noise without reference samples). A record of these
/// trajectories ([`IntegrationSettings::record_key`]) is read back; with an error target
/// (`target_error`, `target_relative_error`) it is extended by further batches after the
/// recorded ones while its error is above the target. A record that was altered or
/// damaged is refused, or with `force` run again.
fn run_one(
    job: &Job,
    n: u32,
    estimator: Estimator,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<(Option<RawRun>, bool)> {
    let Job {
        scene,
        settings,
        ck,
        out_dir,
        ..
    } = *job;
    let file = out_dir.join(raw_file(n, estimator));
    let fp = record_fingerprint(settings, ck, scene, n, estimator);
    let mut recorded = None;
    if let Ok(text) = std::fs::read_to_string(&file) {
        // A record of other settings is redone; one of these settings that was altered or
        // damaged is refused rather than silently used or replaced (redone with `force`).
        if let Ok(raw) = serde_json::from_str::<RawRun>(&text) {
            if raw.version == RAW_VERSION && raw.fingerprint == fp {
                match raw.checked(&file) {
                    Ok(raw) => recorded = Some(raw),
                    Err(_) if force => {}
                    Err(Error::Format { path, message }) => {
                        return Err(Error::Format {
                            path,
                            message: format!(
                                "{message}, rerun with --force to run it again in its \
                                 place, or use a new --out"
                            ),
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut ran = false;
    let mut raw = match recorded {
        Some(raw) => raw,
        None => {
            let Some(raw) = run_batch(job, n, estimator, &fp, 0, progress)? else {
                return Ok((None, false));
            };
            write_record(&file, &raw)?;
            ran = true;
            raw
        }
    };
    // Sized by the error asked for: more batches while the error is above it (the count
    // from the error's 1/√C scaling, at most three rounds, never beyond max_trajectories).
    let max = settings.max_batches();
    if max > 1 {
        let mut batches = (raw.integrand.len() / settings.trajectories as usize) as u32;
        for _ in 0..3 {
            let estimate =
                summarize(&raw, settings, settings.seed.unwrap_or(scene.seed))?.beta_f_ex;
            let (err, target) = (estimate.err, settings.error_target(estimate.mean));
            let Some(target) = target.filter(|t| t.is_finite() && *t > 0.0) else {
                break;
            };
            if err.is_nan() || err <= target || batches >= max {
                break;
            }
            let want = (f64::from(batches) * (err / target).powi(2)).ceil() as u32;
            let want = want.clamp(batches + 1, max);
            for b in batches..want {
                let more = run_batch(job, n, estimator, &fp, b, progress)?
                    .ok_or_else(|| Error::Model("a further batch found no samples".into()))?;
                raw.append(more)?;
                ran = true;
                // Each batch is kept as soon as it is done (a stopped run resumes after it).
                write_record(&file, &raw)?;
            }
            batches = want;
        }
    }
    Ok((Some(raw), ran))
}

fn write_record(file: &Path, raw: &RawRun) -> Result<()> {
    let text = raw.to_json().map_err(|e| Error::Format {
        path: file.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(file, text.as_bytes())
}

fn write_integrand_table(
    out_dir: &Path,
    n: u32,
    runs: &[(EstimatorSummary, RawRun)],
) -> Result<()> {
    let Some((_, first)) = runs.first() else {
        return Ok(());
    };
    let bands: Vec<(Vec<f64>, Vec<f64>)> = runs
        .iter()
        .map(|(_, r)| mean_band(&r.integrand))
        .collect::<Result<_>>()?;
    // One plain header row (pandas, numpy.genfromtxt with names=True); the columns are
    // described in docs/results.md.
    let mut text = String::from("t");
    for (s, r) in runs {
        text.push_str(&format!(",{k}_mean,{k}_se", k = s.estimator.key()));
        if !r.acceptance.is_empty() {
            text.push_str(&format!(",{}_acceptance", s.estimator.key()));
        }
    }
    text.push('\n');
    for (k, t) in first.grid.iter().enumerate() {
        text.push_str(&format!("{t:.9e}"));
        for ((_, r), (m, se)) in runs.iter().zip(&bands) {
            text.push_str(&format!(",{:.9e},{:.9e}", m[k], se[k]));
            if let Some(a) = r.acceptance.get(k) {
                text.push_str(&format!(",{a:.4}"));
            }
        }
        text.push('\n');
    }
    write_atomic(&out_dir.join(integrand_file(n)), text.as_bytes())
}

fn estimate_json(e: &Estimate) -> serde_json::Value {
    serde_json::json!({"mean": e.mean, "err": e.err, "bootstrap_err": e.bootstrap_err, "n": e.n})
}

/// Runs the integration stage: every N of [`IntegrationSettings::evaluated_counts`] with
/// every estimator, reusing raw records on disk (an altered one is refused, or with `force`
/// run again). Merges `free_energy` into results.json.
pub fn integration_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<IntegrationOutcome> {
    super::forget_other_scene(scene, out_dir)?;
    let stage_start = Instant::now();
    let settings = scene.integration();
    settings.validate("scene")?;
    let ck = load_model(scene, out_dir)?;
    let grid = settings.grid.points(settings.steps as usize)?;
    let kernels = (
        DenoiseKernels::new(gpu)?,
        ModelKernels::new(gpu, &scene.model())?,
    );
    let counts = settings.evaluated_counts(&scene.system.particles);
    let mut per_n = Vec::new();
    let mut ran_any = false;
    for &n in &counts {
        let mut runs = Vec::new();
        for &e in &settings.estimators {
            let job = Job {
                gpu,
                kernels: &kernels,
                scene,
                settings: &settings,
                ck: &ck,
                out_dir,
                grid: &grid,
            };
            let (raw, ran) = run_one(&job, n, e, force, progress)?;
            ran_any |= ran;
            if let Some(raw) = raw {
                let summary = summarize(&raw, &settings, settings.seed.unwrap_or(scene.seed))?;
                runs.push((summary, raw));
            }
        }
        write_integrand_table(out_dir, n, &runs)?;
        per_n.push((n, runs));
    }

    let volume = scene.system.box_length.powi(3);
    let free_energy: serde_json::Map<String, serde_json::Value> = per_n
        .iter()
        .map(|(n, runs)| (n.to_string(), free_energy_entry(*n, runs, &per_n, volume)))
        .collect();
    let mut json = results_header(gpu, scene);
    json["integration"] = serde_json::json!({
        "settings": settings,
        "model_step": ck.step,
        "grid_points": grid.len(),
    });
    json["free_energy"] = serde_json::Value::Object(free_energy);
    // Only a stage that sampled something reports its time (a rerun that reuses every
    // record keeps the time of the run that made them).
    if ran_any {
        json["wall_time_s"] =
            serde_json::json!({ "integrate": stage_start.elapsed().as_secs_f64() });
    }
    let base: Vec<u32> = if settings.particles.is_empty() {
        scene.system.particles.clone()
    } else {
        settings.particles.clone()
    };
    // Null (not absent) when there is none now, so that an earlier run's view goes.
    json["grand_canonical"] =
        grand_canonical(&per_n, &base, scene, out_dir)?.unwrap_or(serde_json::Value::Null);
    merge_results(out_dir, json.clone())?;
    // Neural-TI entries of particle counts or estimators this scene no longer asks for go.
    let produced = |n: &str, method: &str| {
        json["free_energy"]
            .get(n)
            .is_some_and(|m| m.get(method).is_some())
    };
    prune_free_energy(out_dir, |n, method| {
        !INTEGRATION_KEYS.contains(&method) || produced(n, method)
    })?;
    Ok(IntegrationOutcome { per_n, json })
}

/// The `free_energy.<N>` entry of one N: every estimator's summary, the annealed run's AIS
/// and importance-weighted TI, and the headline (`neural_ti`) with βμ_ex(N → N+1) when N + 1
/// was evaluated (`per_n`) and the gap to the forward-noised data.
fn free_energy_entry(
    n: u32,
    runs: &[(EstimatorSummary, RawRun)],
    per_n: &[(u32, Vec<(EstimatorSummary, RawRun)>)],
    volume: f64,
) -> serde_json::Value {
    let mut entry = serde_json::Map::new();
    let summaries: Vec<EstimatorSummary> = runs.iter().map(|(s, _)| s.clone()).collect();
    for s in &summaries {
        entry.insert(
            s.estimator.key().into(),
            serde_json::to_value(s).unwrap_or_default(),
        );
        if let Some(a) = s
            .ais
            .as_ref()
            .filter(|_| s.estimator == Estimator::Annealed)
        {
            let mut ais = crate::ti::record::ais_json(a);
            ais["method"] = serde_json::json!(if s.populations.is_some_and(|p| p.resample > 0.0) {
                "population annealing"
            } else {
                "annealed importance sampling"
            });
            entry.insert("ais".into(), ais);
        }
        if let Some(wti) = s
            .weighted_ti
            .as_ref()
            .filter(|_| s.estimator == Estimator::Annealed)
        {
            entry.insert(
                "weighted_ti".into(),
                serde_json::json!({ "betaF_ex": estimate_json(wti) }),
            );
        }
    }
    if let Some(h) = headline(&summaries) {
        let v = verdict(&summaries, &h);
        let mut head = serde_json::json!({
            "estimator": h.key,
            "betaF_ex": estimate_json(&h.estimate),
            "quadrature_error": h.quadrature_error,
            "err_sys": v.err_sys,
            "rho": n as f64 / volume,
            "verdict": v,
        });
        // βμ_ex(N → N+1) from the same estimate at N + 1.
        let next = per_n.iter().find(|(m, _)| *m == n + 1).and_then(|(_, r)| {
            let s1: Vec<EstimatorSummary> = r.iter().map(|(s, _)| s.clone()).collect();
            estimate_for(&s1, h.key)
        });
        if let Some(h1) = next {
            let (a, b) = (&h.estimate, &h1.estimate);
            head["betamu_ex"] = serde_json::json!({
                "mean": b.mean - a.mean,
                "err": (a.err * a.err + b.err * b.err).sqrt(),
            });
        }
        if let Some(fw) = summaries
            .iter()
            .find(|s| s.estimator == Estimator::ForwardNoise)
        {
            head["forward_noise_gap"] = serde_json::json!(h.estimate.mean - fw.beta_f_ex.mean);
        }
        entry.insert("neural_ti".into(), head);
    }
    serde_json::Value::Object(entry)
}

/// File of the isotherm table.
pub const ISOTHERM_FILE: &str = "isotherm.csv";
/// File of p(N) at the βμ of the largest number fluctuations.
pub const PN_FILE: &str = "pn.csv";

/// The grand-canonical view (docs/method.md §6) when the headline βF_ex is known at three or
/// more of the scene's particle counts: a not-a-knot spline of βF_ex(N) through them (not
/// their N + 1) and the exact βF_ex(0) = βF_ex(1) = 0, the isotherm ⟨ρ⟩(βμ) in the paper's
/// convention (box units V = 1, h = 1e-4, m = 1, kT = 1) written to `isotherm.csv` and
/// `isotherm.png`, and βμ_ex(N) from the spline at every evaluated N. `None` with fewer
/// counts.
fn grand_canonical(
    per_n: &[(u32, Vec<(EstimatorSummary, RawRun)>)],
    base: &[u32],
    scene: &Scene,
    out_dir: &Path,
) -> Result<Option<serde_json::Value>> {
    use crate::ti::grand::{
        isotherm, particle_number_distribution, FreeEnergyCurve, FreeEnergyPoint, IdealGasUnits,
        SplineEnds,
    };
    let mut points = vec![
        FreeEnergyPoint {
            n: 0,
            beta_f_ex: 0.0,
            err: 0.0,
        },
        FreeEnergyPoint {
            n: 1,
            beta_f_ex: 0.0,
            err: 0.0,
        },
    ];
    let mut distinct = 0;
    for (n, runs) in per_n {
        let summaries: Vec<EstimatorSummary> = runs.iter().map(|(s, _)| s.clone()).collect();
        if let Some(h) = headline(&summaries).map(|h| h.estimate) {
            // Only the scene's particle counts are nodes: an N + 1 one particle from its N
            // would set the slope there by their noise alone (its βμ_ex is the finite
            // difference, reported beside the spline's).
            if *n >= 2 && h.mean.is_finite() && base.contains(n) {
                distinct += 1;
                points.push(FreeEnergyPoint {
                    n: *n as usize,
                    beta_f_ex: h.mean,
                    err: if h.err.is_finite() { h.err } else { 0.0 },
                });
            }
        }
    }
    if distinct < 3 {
        return Ok(None);
    }
    points.sort_by_key(|p| p.n);
    points.dedup_by_key(|p| p.n);
    let curve = FreeEnergyCurve::new(&points, SplineEnds::NotAKnot)?;
    let units = IdealGasUnits::default();
    let (_, n_max) = curve.n_range();
    // βμ from where the box is nearly empty to where it holds N_max on average: the ideal
    // gas's βμ at N = 1 and N_max, widened by the range of βμ_ex along the spline.
    let centre = -units.ln_v_over_lambda3();
    let mu_ex: Vec<f64> = (1..n_max)
        .filter_map(|n| curve.betamu_ex(n).ok().map(|e| e.mean))
        .filter(|m| m.is_finite())
        .collect();
    let (mu_min, mu_max) = mu_ex
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), &m| (a.min(m), b.max(m)));
    let (lo, hi) = (
        centre + mu_min - 4.0,
        centre + (n_max as f64).ln() + mu_max + 4.0,
    );
    let grid: Vec<f64> = (0..=200)
        .map(|k| lo + (hi - lo) * k as f64 / 200.0)
        .collect();
    let volume = scene.system.box_length.powi(3);
    let iso = isotherm(&curve, &units, &grid, volume)?;
    let mut text = String::from("betamu,mean_n,var_n,density,edge_probability\n");
    for p in &iso {
        text.push_str(&format!(
            "{:.6},{:.6},{:.6},{:.6},{:.3e}\n",
            p.beta_mu, p.mean_n, p.var_n, p.density, p.edge_probability
        ));
    }
    write_atomic(&out_dir.join(ISOTHERM_FILE), text.as_bytes())?;
    // p(N) where the number fluctuates most (the coexistence region, paper figure 4).
    let widest = iso
        .iter()
        .max_by(|a, b| a.var_n.total_cmp(&b.var_n))
        .map(|p| p.beta_mu)
        .unwrap_or(centre);
    let dist = particle_number_distribution(&curve, &units, widest)?;
    let mut pn = String::from("n,p\n");
    for (n, p) in dist.n.iter().zip(&dist.p) {
        pn.push_str(&format!("{n},{p:.6e}\n"));
    }
    write_atomic(&out_dir.join(PN_FILE), pn.as_bytes())?;
    crate::report::grand::write_grand_canonical_plots(out_dir, &iso, &dist);
    let mut spline_mu: Vec<serde_json::Value> = points
        .iter()
        .filter(|p| p.n >= 2 && p.n < n_max)
        .filter_map(|p| {
            curve
                .betamu_ex(p.n)
                .ok()
                .map(|e| serde_json::json!({"n": p.n, "mean": e.mean, "err": e.err}))
        })
        .collect();
    // The densest evaluated state, where Widom fails: βF_ex(N + 1) one particle past the
    // spline's end, marked as such.
    let end = curve.betamu_ex_at_last_node();
    spline_mu.push(serde_json::json!({
        "n": n_max, "mean": end.mean, "err": end.err, "extrapolated": true
    }));
    Ok(Some(serde_json::json!({
        "ideal_gas_units": units,
        "nodes": points,
        "spline": "not-a-knot cubic through the headline betaF_ex at the scene's particle counts (not their N + 1) and the exact N = 0, 1",
        "betamu_ex_spline": spline_mu,
        "isotherm_file": ISOTHERM_FILE,
        "isotherm_plot": "isotherm.png",
        "p_n": {
            "betamu": dist.beta_mu,
            "mean_n": dist.mean_n,
            "var_n": dist.var_n,
            "edge_probability": dist.edge_probability,
            "file": PN_FILE,
            "plot": "pn.png",
        },
    })))
}
