//! The baselines stage (`nti-gpu baselines`, step 3 of `nti-gpu run`): the classical
//! routes the scene's `baselines` section names: Widom insertion into the reference samples
//! (reused from the output directory when they match the scene, sampled otherwise) at every
//! N the scene trains on or integrates ([`Scene::widom_counts`]), λ-window TI with MBAR at
//! every trained N, and the equations of state at all of them. Writes
//! `free_energy.<N>.widom`, `.lambda_ti`, `.mbar` and `.eos` into results.json.

use super::{
    fingerprint, results_header, results_header_timed, samples_for, LazyMdKernels, Progress,
};
use crate::dataset::SampleSet;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::md::tail::LjTail;
use crate::md::widom::{insertion_energies, widom_estimate, Configurations, WidomKernel};
use crate::output::merge_results;
use crate::scene::{LjParams, Potential, Scene};
use std::path::Path;
use std::time::Instant;

/// Fingerprint of the baselines stage's inputs (scene hash, the baselines section, and the
/// particle counts beyond the system's that Widom insertion adds).
pub fn baselines_fingerprint(scene: &Scene) -> String {
    let hash = format!("{:016x}", scene.hash());
    let section = ron::to_string(&scene.baselines).unwrap_or_default();
    let sampled = scene.sampled_counts();
    // Without such counts the fingerprint is what it was before Widom could add any, so
    // that earlier output directories keep their baselines.
    if sampled == scene.system.particles {
        fingerprint(&[&hash, &section])
    } else {
        fingerprint(&[&hash, &section, &format!("{sampled:?}")])
    }
}

/// Step 3 of `nti-gpu run`: nothing when results.json records a run of the same baselines
/// on the same samples ("reused"), else [`baselines_stage`] ("ran").
pub fn baselines_if_needed(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<&'static str> {
    let fp = baselines_fingerprint(scene);
    let recorded = crate::output::read_results(&out_dir.join("results.json"))
        .ok()
        .and_then(|v| v["stages"]["baselines"].as_str().map(str::to_string));
    if recorded.as_deref() == Some(fp.as_str()) {
        return Ok("reused");
    }
    baselines_stage(gpu, scene, out_dir, progress)?;
    merge_results(
        out_dir,
        serde_json::json!({ "stages": { "baselines": fp } }),
    )?;
    Ok("ran")
}

/// Runs the baselines the scene's `baselines` section names (see the module doc) for every
/// N of [`Scene::sampled_counts`]; writes `free_energy.<N>.widom`, `.lambda_ti`, `.mbar`
/// and `.eos` into `results.json`.
pub fn baselines_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<serde_json::Value> {
    super::forget_other_scene(scene, out_dir)?;
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
    let mut kernels = LazyMdKernels::default();
    let widom_kernel = WidomKernel::new(gpu)?;
    let mut free_energy = serde_json::Map::new();
    let mut reference = serde_json::Map::new();
    let widom_counts = scene.widom_counts();
    for n in scene.sampled_counts() {
        let trained = scene.system.particles.contains(&n);
        let mut methods = serde_json::Map::new();
        if let Some(widom) = baselines
            .widom
            .as_ref()
            .filter(|_| widom_counts.contains(&n))
        {
            let (set, summary) = samples_for(gpu, &mut kernels, scene, n, out_dir, progress)?;
            if let Some(summary) = summary {
                reference.insert(
                    n.to_string(),
                    serde_json::to_value(&summary).unwrap_or_default(),
                );
            }
            methods.insert(
                "widom".into(),
                widom_entry(
                    gpu,
                    &widom_kernel,
                    scene,
                    n,
                    &set,
                    widom.insertions,
                    out_dir,
                )?,
            );
        }
        if let Some(settings) = baselines.lambda_ti.as_ref().filter(|_| trained) {
            let (ti, mbar) = lambda_ti_entries(
                gpu,
                &kernels.get(gpu)?,
                scene,
                n,
                settings,
                out_dir,
                progress,
            )?;
            methods.insert("lambda_ti".into(), ti);
            if let Some(mbar) = mbar {
                methods.insert("mbar".into(), mbar);
            }
        }
        if baselines.eos {
            methods.insert("eos".into(), eos_entry(scene, n));
        }
        free_energy.insert(n.to_string(), serde_json::Value::Object(methods));
        let mut update = results_header(gpu, scene);
        update["free_energy"] = serde_json::Value::Object(free_energy.clone());
        if !reference.is_empty() {
            update["reference"] = serde_json::Value::Object(reference.clone());
        }
        merge_free_energy(out_dir, update)?;
    }
    let mut update =
        results_header_timed(gpu, scene, "baselines", stage_start.elapsed().as_secs_f64());
    update["free_energy"] = serde_json::Value::Object(free_energy);
    if !reference.is_empty() {
        update["reference"] = serde_json::Value::Object(reference);
    }
    merge_free_energy(out_dir, update.clone())?;
    Ok(update)
}

/// The `lambda_ti` entry of N (λ-window TI on the scene's path) and, when the settings ask
/// for it, the `mbar` entry over the same windows; each leg's interop files (reduced
/// energies, β∂U/∂λ, states: [`crate::export::write_leg_files`]) go into `out_dir`.
fn lambda_ti_entries(
    gpu: &Gpu,
    kernels: &std::sync::Arc<crate::md::MdKernels>,
    scene: &Scene,
    n: u32,
    settings: &crate::scene::LambdaTiSettings,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(serde_json::Value, Option<serde_json::Value>)> {
    let t0 = Instant::now();
    progress.start(
        &format!("lambda-TI N={n}"),
        settings.legs() * (settings.equilibration_steps + settings.production_steps),
    );
    let mut r =
        crate::baselines::lambda_ti::lambda_ti(gpu, kernels, scene, n, settings, &mut |d| {
            progress.set(d)
        })?;
    progress.finish();
    for leg in &mut r.legs {
        leg.files = Some(crate::export::write_leg_files(out_dir, n, leg)?);
    }
    let wall = t0.elapsed().as_secs_f64();
    let mut ti = serde_json::to_value(&r).unwrap_or_default();
    // A collapsed path gives no number, only the diagnosis.
    if r.collapse {
        ti["mean"] = serde_json::Value::Null;
        ti["err"] = serde_json::Value::Null;
        ti["betaF_ex_unreliable"] = serde_json::json!(r.betaf_ex);
    } else {
        ti["mean"] = serde_json::json!(r.betaf_ex.mean);
        ti["err"] = serde_json::json!(r.betaf_ex.err);
    }
    ti["quantity"] = serde_json::json!(format!("betaF_ex(N = {n})"));
    ti["cost"] = serde_json::json!({
        "energy_evaluations": r.energy_evaluations,
        "wall_time_s": wall,
    });
    if !settings.mbar {
        return Ok((ti, None));
    }
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
    let mbar = serde_json::json!({
        "mean": mean,
        "err": err,
        "quantity": "betaF difference between the outermost windows of the legs (compare lambda_ti.ti_betaF_span)",
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
    });
    Ok((ti, Some(mbar)))
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
        "kolafa_nezbeda": kn.labelled(t_star),
        "johnson": jzg.labelled(t_star),
        "note": match s.potential {
            Potential::MinimumImage => "the equations describe the infinite LJ fluid; this finite minimum-image box without cutoff leaves out every pair beyond its cube and has its own finite-size effects, a gap of one to tens of kT in betaF_ex that err (|KN - JZG|, the spread of the two fits) does not include: compare with long_range_outside_box, and inside the binodal the equations give the homogeneous (loop) branch",
            Potential::Truncated { .. } => "full LJ potential of the infinite fluid: compare with tail-corrected values (finite-size effects are not in err = |KN - JZG|)",
        },
        // First-order size of the gap: the pair energy beyond the box's cube (g = 1).
        "long_range_outside_box": match s.potential {
            Potential::MinimumImage => crate::baselines::two_body::lj_energy_outside_box_per_particle(
                s.box_length, n, s.epsilon, s.sigma,
            )
            .ok()
            .map(|e| serde_json::json!({
                "betaU": n as f64 * e / s.temperature,
                "quantity": "beta times the LJ pair energy of the N particles with everything beyond the minimum-image cube, pair correlation 1 there: the first-order part of betaF_ex(EOS) - betaF_ex(box)",
            })),
            Potential::Truncated { .. } => None,
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

/// Widom insertion into a sample set; the `free_energy.<N>.widom` entry. Its running
/// estimate with errors goes to `out_dir/widom_N<N>_running.csv`.
fn widom_entry(
    gpu: &Gpu,
    kernel: &WidomKernel,
    scene: &Scene,
    n: u32,
    set: &SampleSet,
    insertions: u32,
    out_dir: &Path,
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
        shift: false,
        ..scene.lj_params()
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
    crate::output::write_atomic(
        &out_dir.join(crate::export::widom_running_file(n)),
        crate::export::widom_running_csv(&est).as_bytes(),
    )?;
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

/// Merges, keeping other methods' entries under `free_energy.<N>` (an unreadable
/// results.json stops here, naming the file, rather than being replaced).
fn merge_free_energy(out_dir: &Path, mut update: serde_json::Value) -> Result<()> {
    let old = crate::output::read_results(&out_dir.join("results.json"))?;
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
    merge_results(out_dir, update)
}
