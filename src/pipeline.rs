//! Stages of a run, each writing its outputs into the output directory and its keys into
//! `results.json`: reference sampling (`nti-gpu sample`) and the classical baselines
//! (`nti-gpu baselines`: Widom insertion, which reuses the samples of an earlier sampling
//! run of the same scene (matched by [`Scene::hash`]) instead of sampling again, and
//! λ-window TI with MBAR).

use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::md::sampler::{run_reference, ReferenceSummary, SampleFiles};
use crate::md::widom::{insertion_energies, widom_estimate, Configurations, WidomKernel};
use crate::md::MdKernels;
use crate::output::{merge_results, write_atomic};
use crate::reference::lj::LjParams;
use crate::reference::tail::LjTail;
use crate::scene::{Potential, Scene};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Progress reporting of a stage: `start(label, total)`, `set(done)`, `finish()`.
pub trait Progress {
    /// A new bar.
    fn start(&mut self, label: &str, total: u64);
    /// Steps done so far.
    fn set(&mut self, done: u64);
    /// The bar is complete.
    fn finish(&mut self);
}

/// Progress that reports nothing (library use, tests).
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: &str, _: u64) {}
    fn set(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// File names of the sampling outputs for N.
pub fn sample_files(n: u32) -> SampleFiles {
    SampleFiles {
        samples: format!("samples_N{n}.ntis"),
        xyz: format!("samples_N{n}.xyz"),
        gr: format!("gr_N{n}.csv"),
    }
}

/// Samples the reference fluid at one N and writes its files (`.ntis`, extended XYZ of
/// replica 0, g(r) CSV). Returns the summary and the configurations.
pub fn sample_one(
    gpu: &Gpu,
    kernels: &Arc<MdKernels>,
    scene: &Scene,
    n: u32,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(ReferenceSummary, SampleSet)> {
    let steps = scene.sampler.equilibration_steps + scene.sampler.production_steps;
    progress.start(&format!("sample N={n}"), steps);
    let outcome = run_reference(gpu, kernels.clone(), scene, n, |d| progress.set(d))?;
    progress.finish();
    let mut summary = outcome.summary();
    let set = outcome.sample_set(gpu, scene)?;
    let files = sample_files(n);
    set.write(&out_dir.join(&files.samples))?;
    write_atomic(&out_dir.join(&files.xyz), set.to_extxyz(0).as_bytes())?;
    let mut gr = String::from("# g(r) of the reference samples; r at bin centres\nr,g\n");
    for (r, g) in outcome.gr() {
        gr.push_str(&format!("{r:.6},{g:.6}\n"));
    }
    write_atomic(&out_dir.join(&files.gr), gr.as_bytes())?;
    summary.files = files;
    Ok((summary, set))
}

/// Runs the reference sampler for every N of the scene, writes samples (`.ntis` and
/// extended XYZ of replica 0), g(r) tables and the `reference` section of `results.json`
/// into `out_dir`. Returns the JSON that was merged.
pub fn sample_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<serde_json::Value> {
    let stage_start = Instant::now();
    let kernels = Arc::new(MdKernels::new(gpu)?);
    let mut reference = serde_json::Map::new();
    for &n in &scene.system.particles {
        let (summary, _) = sample_one(gpu, &kernels, scene, n, out_dir, progress)?;
        reference.insert(
            n.to_string(),
            serde_json::to_value(&summary).unwrap_or_default(),
        );
        // Write after every N so a stopped run keeps what it finished.
        merge_results(out_dir, header(gpu, scene, "reference", &reference, None))?;
    }
    let update = header(
        gpu,
        scene,
        "reference",
        &reference,
        Some(("sample", stage_start.elapsed().as_secs_f64())),
    );
    merge_results(out_dir, update.clone())?;
    Ok(update)
}

/// The samples of an earlier sampling run of this scene at N, if `out_dir` holds them.
pub fn existing_samples(scene: &Scene, n: u32, out_dir: &Path) -> Option<SampleSet> {
    let set = SampleSet::read(&out_dir.join(sample_files(n).samples)).ok()?;
    (set.scene_hash == scene.hash() && set.n == n).then_some(set)
}

/// Runs the baselines the scene's `baselines` section names, for every N: Widom insertion
/// into the reference samples (reused from `out_dir` when they match the scene, sampled
/// otherwise). Writes `free_energy.<N>.widom` into `results.json`.
pub fn baselines_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<serde_json::Value> {
    let stage_start = Instant::now();
    let baselines = scene.baselines.clone().unwrap_or_default();
    if baselines.widom.is_none() && baselines.lambda_ti.is_none() && !baselines.eos {
        return Err(Error::SceneValue {
            path: scene.name.clone(),
            field: "baselines".into(),
            value: "none".into(),
            message: "the scene names no baseline; add e.g. \
                      `baselines: (widom: (insertions: 1000), lambda_ti: (), eos: true)`"
                .into(),
        });
    }
    let kernels = Arc::new(MdKernels::new(gpu)?);
    let widom_kernel = WidomKernel::new(gpu)?;
    let mut free_energy = serde_json::Map::new();
    let mut reference = serde_json::Map::new();
    let s = &scene.system;
    for &n in &s.particles {
        let mut methods = serde_json::Map::new();
        if let Some(widom) = &baselines.widom {
            let set = match existing_samples(scene, n, out_dir) {
                Some(set) => set,
                None => {
                    let (summary, set) = sample_one(gpu, &kernels, scene, n, out_dir, progress)?;
                    reference.insert(
                        n.to_string(),
                        serde_json::to_value(&summary).unwrap_or_default(),
                    );
                    set
                }
            };
            methods.insert(
                "widom".into(),
                widom_entry(gpu, &widom_kernel, scene, n, &set, widom.insertions)?,
            );
        }
        if let Some(settings) = &baselines.lambda_ti {
            let t0 = Instant::now();
            let legs = match settings.path {
                crate::scene::LambdaPath::TwoLeg => 2,
                crate::scene::LambdaPath::SoftCore => 1,
            };
            progress.start(
                &format!("lambda-TI N={n}"),
                legs * (settings.equilibration_steps + settings.production_steps),
            );
            let r = crate::baselines::lambda_ti::lambda_ti(
                gpu,
                &kernels,
                scene,
                n,
                settings,
                &mut |d| progress.set(d),
            )?;
            progress.finish();
            let wall = t0.elapsed().as_secs_f64();
            let mut ti = serde_json::to_value(&r).unwrap_or_default();
            // A collapsed path gives no number, only the diagnosis.
            if r.collapse {
                ti["mean"] = serde_json::Value::Null;
                ti["err"] = serde_json::Value::Null;
                ti["betaf_ex_unreliable"] = serde_json::json!(r.betaf_ex);
            } else {
                ti["mean"] = serde_json::json!(r.betaf_ex.mean);
                ti["err"] = serde_json::json!(r.betaf_ex.err);
            }
            ti["quantity"] = serde_json::json!(format!("betaF_ex(N = {n})"));
            ti["cost"] = serde_json::json!({
                "energy_evaluations": r.energy_evaluations,
                "wall_time_s": wall,
            });
            methods.insert("lambda_ti".into(), ti);
            if settings.mbar {
                let warnings: Vec<String> = r
                    .legs
                    .iter()
                    .filter_map(|l| l.mbar_warning.clone())
                    .collect();
                // Poor overlap (or a failed solve): a warning instead of a number.
                let (mean, err) = match (r.mbar_betaf_span, warnings.is_empty()) {
                    (Some(m), true) => (serde_json::json!(m.mean), serde_json::json!(m.err)),
                    _ => (serde_json::Value::Null, serde_json::Value::Null),
                };
                let min_overlap = r
                    .legs
                    .iter()
                    .filter_map(|l| l.mbar_min_overlap)
                    .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.min(b))));
                methods.insert(
                    "mbar".into(),
                    serde_json::json!({
                        "mean": mean,
                        "err": err,
                        "quantity": "betaF difference between the outermost windows of the legs (compare lambda_ti.ti_betaf_span)",
                        "ti_same_span": r.ti_betaf_span,
                        "min_overlap": min_overlap,
                        "warning": if warnings.is_empty() { serde_json::Value::Null } else { serde_json::json!(warnings.join("; ")) },
                        "cost": {
                            // Pair terms of every kept frame of every window in every state.
                            "energy_evaluations": r.legs.len() as u64
                                * (settings.windows as u64).pow(2)
                                * settings.replicas_per_window as u64
                                * (settings.production_steps / settings.sample_every as u64)
                                * (n as u64 * (n as u64 - 1) / 2),
                            "wall_time_s": wall,
                        },
                    }),
                );
            }
        }
        if baselines.eos {
            methods.insert("eos".into(), eos_entry(scene, n));
        }
        free_energy.insert(n.to_string(), serde_json::Value::Object(methods));
        let mut update = header(gpu, scene, "free_energy", &free_energy, None);
        if !reference.is_empty() {
            update["reference"] = serde_json::Value::Object(reference.clone());
        }
        merge_free_energy(out_dir, update)?;
    }
    let mut update = header(
        gpu,
        scene,
        "free_energy",
        &free_energy,
        Some(("baselines", stage_start.elapsed().as_secs_f64())),
    );
    if !reference.is_empty() {
        update["reference"] = serde_json::Value::Object(reference);
    }
    merge_free_energy(out_dir, update.clone())?;
    Ok(update)
}

/// Equations of state at the scene's state point: the `free_energy.<N>.eos` entry, with
/// `mean` the Kolafa–Nezbeda βF_ex = N βA_ex/N and both equations' values.
fn eos_entry(scene: &Scene, n: u32) -> serde_json::Value {
    use crate::baselines::eos::{johnson, kolafa_nezbeda};
    let s = &scene.system;
    let t_star = s.temperature / s.epsilon;
    let rho = n as f64 * s.sigma.powi(3) / s.box_length.powi(3);
    let t0 = Instant::now();
    let (kn, jzg) = (kolafa_nezbeda(t_star, rho), johnson(t_star, rho));
    serde_json::json!({
        "mean": n as f64 * kn.beta_a_ex_per_particle,
        "err": (n as f64 * (kn.beta_a_ex_per_particle - jzg.beta_a_ex_per_particle)).abs(),
        "quantity": format!("betaF_ex(N = {n}) of the full LJ fluid (Kolafa-Nezbeda); err = |KN - JZG|"),
        "temperature_reduced": t_star,
        "density_reduced": rho,
        "kolafa_nezbeda": kn,
        "johnson": jzg,
        "note": match s.potential {
            Potential::MinimumImage => "the equations describe the full LJ fluid in the thermodynamic limit; the minimum-image box without cutoff differs by a few percent, and inside the binodal they give the homogeneous (loop) branch",
            Potential::Truncated { .. } => "full LJ potential: compare with tail-corrected values",
        },
        "cost": { "energy_evaluations": 0, "wall_time_s": t0.elapsed().as_secs_f64() },
        // The same with the standard tails removed: what a simulation truncated at r_c
        // (unshifted) should find.
        "truncated": match s.potential {
            Potential::MinimumImage => serde_json::Value::Null,
            Potential::Truncated { cutoff, .. } => {
                let tail = LjTail::new(s.epsilon, s.sigma, cutoff);
                let rho_abs = n as f64 / s.box_length.powi(3);
                let beta = 1.0 / s.temperature;
                let (da, dmu, dz) = (
                    beta * tail.energy_per_particle(rho_abs),
                    beta * tail.chemical_potential(rho_abs),
                    beta * tail.pressure(rho_abs) / rho_abs,
                );
                serde_json::json!({
                    "cutoff": cutoff,
                    "kolafa_nezbeda": {
                        "betaA_ex_per_particle": kn.beta_a_ex_per_particle - da,
                        "betamu_ex": kn.beta_mu_ex - dmu,
                        "z_minus_1": kn.z_minus_1 - dz,
                    },
                    "johnson": {
                        "betaA_ex_per_particle": jzg.beta_a_ex_per_particle - da,
                        "betamu_ex": jzg.beta_mu_ex - dmu,
                        "z_minus_1": jzg.z_minus_1 - dz,
                    },
                })
            }
        },
    })
}

/// Widom insertion into a sample set; the `free_energy.<N>.widom` entry.
fn widom_entry(
    gpu: &Gpu,
    kernel: &WidomKernel,
    scene: &Scene,
    n: u32,
    set: &SampleSet,
    insertions: u32,
) -> Result<serde_json::Value> {
    let s = &scene.system;
    let beta = 1.0 / s.temperature;
    let t0 = Instant::now();
    let pos4: Vec<[f32; 4]> = set
        .positions
        .iter()
        .map(|p| [p[0], p[1], p[2], 0.0])
        .collect();
    let buffer = gpu.storage_from("widom samples", &pos4);
    // Insert with the truncated potential unshifted: the shift changes no force, so the
    // ensemble is the same, and the analytic tail then completes the full potential.
    let lj = LjParams {
        epsilon: s.epsilon,
        sigma: s.sigma,
        cutoff: match s.potential {
            Potential::MinimumImage => None,
            Potential::Truncated { cutoff, .. } => Some(cutoff),
        },
        shift: false,
        box_length: s.box_length,
    };
    let configs = Configurations {
        buffer: &buffer,
        n,
        replicas: set.replicas,
        frames: set.frames,
    };
    let du = insertion_energies(gpu, kernel, &configs, &lj, beta, insertions, scene.seed)?;
    let rho = n as f64 / s.box_length.powi(3);
    let tail = lj.cutoff.map_or(0.0, |rc| {
        beta * LjTail::new(s.epsilon, s.sigma, rc).chemical_potential(rho)
    });
    let est = widom_estimate(&du, n, set.replicas, set.frames, insertions, tail);
    let mut entry = serde_json::to_value(&est).unwrap_or_default();
    entry["mean"] = serde_json::json!(est.betamu_ex.mean);
    entry["err"] = serde_json::json!(est.betamu_ex.err);
    entry["quantity"] = serde_json::json!(format!("betamu_ex(N = {n} -> {})", n + 1));
    entry["cost"] = serde_json::json!({
        "energy_evaluations": est.energy_evaluations,
        "wall_time_s": t0.elapsed().as_secs_f64(),
    });
    Ok(entry)
}

/// Merges, keeping other methods' entries under `free_energy.<N>`.
fn merge_free_energy(out_dir: &Path, mut update: serde_json::Value) -> Result<()> {
    let path = out_dir.join("results.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(old) = serde_json::from_str::<serde_json::Value>(&text) {
            if let (Some(old_fe), Some(new_fe)) = (
                old.get("free_energy").and_then(|v| v.as_object()),
                update
                    .get_mut("free_energy")
                    .and_then(|v| v.as_object_mut()),
            ) {
                for (n, methods) in new_fe.iter_mut() {
                    if let (Some(old_methods), Some(new_methods)) = (
                        old_fe.get(n).and_then(|v| v.as_object()),
                        methods.as_object_mut(),
                    ) {
                        for (k, v) in old_methods {
                            new_methods.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
            }
        }
    }
    merge_results(out_dir, update)
}

fn header(
    gpu: &Gpu,
    scene: &Scene,
    section: &str,
    entries: &serde_json::Map<String, serde_json::Value>,
    wall: Option<(&str, f64)>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "nti_gpu_version": env!("CARGO_PKG_VERSION"),
        "adapter": gpu.adapter,
        "scene": scene,
        "scene_hash": format!("{:016x}", scene.hash()),
    });
    v[section] = serde_json::Value::Object(entries.clone());
    if let Some((stage, w)) = wall {
        v["wall_time_s"] = serde_json::json!({ stage: w });
    }
    v
}

/// Trains the energy model jointly on every particle count of the scene: reuses the
/// reference samples of an earlier `sample` run of this scene from `out_dir` or samples
/// them, runs [`crate::train::train`] (`resume`: continue from `model.ckpt`), and merges
/// the `training` section into `results.json`.
pub fn train_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    resume: bool,
    progress: &mut dyn Progress,
) -> Result<serde_json::Value> {
    let stage_start = Instant::now();
    let counts = scene.system.particles.clone();
    if counts.is_empty() {
        return Err(Error::Model("the scene has no particle count".into()));
    }
    let mut reference = serde_json::Map::new();
    let mut sets = Vec::with_capacity(counts.len());
    let mut kernels: Option<Arc<MdKernels>> = None;
    for &n in &counts {
        let set = match existing_samples(scene, n, out_dir) {
            Some(set) => set,
            None => {
                let k = match &kernels {
                    Some(k) => k.clone(),
                    None => kernels.insert(Arc::new(MdKernels::new(gpu)?)).clone(),
                };
                let (summary, set) = sample_one(gpu, &k, scene, n, out_dir, progress)?;
                reference.insert(
                    n.to_string(),
                    serde_json::to_value(&summary).unwrap_or_default(),
                );
                set
            }
        };
        sets.push(set);
    }
    let label = counts
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let n = serde_json::json!(counts);
    let settings = crate::train::training_settings(scene);
    progress.start(&format!("train N={label}"), settings.steps);
    let outcome = crate::train::train(gpu, scene, &sets, out_dir, resume, |done, _, _| {
        progress.set(done)
    })?;
    progress.finish();
    let mut training = serde_json::Map::new();
    let rate = if outcome.wall_time_s > 0.0 {
        outcome.steps_this_run as f64 / outcome.wall_time_s
    } else {
        0.0
    };
    for (k, v) in [
        ("n", n),
        (
            "configs_per_n",
            serde_json::json!(crate::train::batch_split(&counts, settings.batch)
                .iter()
                .map(|&(_, c)| c)
                .collect::<Vec<_>>()),
        ),
        ("target", serde_json::json!(settings.target)),
        ("steps", serde_json::json!(outcome.steps)),
        ("steps_this_run", serde_json::json!(outcome.steps_this_run)),
        ("batch", serde_json::json!(settings.batch)),
        ("final_loss", serde_json::json!(outcome.final_loss)),
        (
            "zero_network_loss",
            serde_json::json!(outcome.zero_network_loss),
        ),
        (
            "loss_log_file",
            serde_json::json!(crate::train::LOSS_LOG_FILE),
        ),
        (
            "checkpoint_file",
            serde_json::json!(crate::train::CHECKPOINT_FILE),
        ),
        ("wall_time_s", serde_json::json!(outcome.wall_time_s)),
        ("steps_per_second", serde_json::json!(rate)),
    ] {
        training.insert(k.into(), v);
    }
    let mut update = serde_json::json!({
        "nti_gpu_version": env!("CARGO_PKG_VERSION"),
        "adapter": gpu.adapter,
        "scene": scene,
        "scene_hash": format!("{:016x}", scene.hash()),
        "training": training,
        "wall_time_s": { "train": stage_start.elapsed().as_secs_f64() },
    });
    if !reference.is_empty() {
        update["reference"] = serde_json::Value::Object(reference);
    }
    merge_results(out_dir, update.clone())?;
    Ok(update)
}
