//! The training stage (`nti-gpu train`, step 2 of `nti-gpu run`): the energy model trained
//! jointly on every particle count of the scene ([`crate::train::train`]), `model.ckpt`,
//! `train_loss.csv` and the `training` section of results.json.

use super::{results_header_timed, samples_for, LazyMdKernels, Progress};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::checkpoint::Checkpoint;
use crate::output::merge_results;
use crate::scene::Scene;
use crate::train::{batch_split, train, CHECKPOINT_FILE, LOSS_LOG_FILE};
use std::path::Path;
use std::time::Instant;

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
    super::forget_other_scene(scene, out_dir)?;
    let stage_start = Instant::now();
    let counts = scene.system.particles.clone();
    if counts.is_empty() {
        return Err(Error::Model("the scene has no particle count".into()));
    }
    let mut reference = serde_json::Map::new();
    let mut sets = Vec::with_capacity(counts.len());
    let mut kernels = LazyMdKernels::default();
    for &n in &counts {
        let (set, summary) = samples_for(gpu, &mut kernels, scene, n, out_dir, progress)?;
        if let Some(summary) = summary {
            reference.insert(
                n.to_string(),
                serde_json::to_value(&summary).unwrap_or_default(),
            );
        }
        sets.push(set);
    }
    let label = counts
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let settings = scene.training();
    progress.start(&format!("train N={label}"), settings.steps);
    let outcome = train(gpu, scene, &sets, out_dir, resume, |done, _, _| {
        progress.set(done)
    })?;
    progress.finish();
    let rate = if outcome.wall_time_s > 0.0 {
        outcome.steps_this_run as f64 / outcome.wall_time_s
    } else {
        0.0
    };
    let configs_per_n: Vec<usize> = batch_split(&counts, settings.batch)
        .iter()
        .map(|&(_, c)| c)
        .collect();
    let training = serde_json::json!({
        "n": counts,
        "configs_per_n": configs_per_n,
        "target": settings.target,
        "steps": outcome.steps,
        "steps_this_run": outcome.steps_this_run,
        "batch": settings.batch,
        "final_loss": outcome.final_loss,
        "zero_network_loss": outcome.zero_network_loss,
        "loss_log_file": LOSS_LOG_FILE,
        "checkpoint_file": CHECKPOINT_FILE,
        "wall_time_s": outcome.wall_time_s,
        "steps_per_second": rate,
    });
    let mut update = results_header_timed(gpu, scene, "train", stage_start.elapsed().as_secs_f64());
    update["training"] = training;
    if !reference.is_empty() {
        update["reference"] = serde_json::Value::Object(reference);
    }
    merge_results(out_dir, update.clone())?;
    Ok(update)
}

/// Refuses, before any work, an output directory whose model another scene trained (other
/// samples, architecture or training settings, or more steps than the scene asks for), so
/// that nothing of this run is written next to it.
pub fn check_existing_model(scene: &Scene, out_dir: &Path) -> Result<()> {
    let path = out_dir.join(CHECKPOINT_FILE);
    if scene.training.is_none() || !path.exists() {
        return Ok(());
    }
    let refuse = |why: String| Error::Format {
        path: path.clone(),
        message: format!(
            "{why}: this output directory holds another scene's model; use a new --out, or \
             delete {} to train this scene's model there",
            path.display()
        ),
    };
    let ck = Checkpoint::read(&path)?;
    ck.check_scene(scene, &path)
        .map_err(|e| refuse(e.to_string()))?;
    let steps = scene.training().steps;
    if ck.step > steps {
        return Err(refuse(format!(
            "the model is trained for {} steps, more than training.steps = {steps}",
            ck.step
        )));
    }
    Ok(())
}
/// Step 2 of `nti-gpu run`: nothing when `model.ckpt` holds a finished model of this scene
/// (its settings, exactly `training.steps` steps: "reused"), else trains, resuming from a
/// checkpoint when there is one ("resumed", "ran"; a checkpoint of other settings or beyond
/// the scene's steps is refused).
pub fn train_if_needed(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<&'static str> {
    let path = out_dir.join(CHECKPOINT_FILE);
    let resume = path.exists();
    let finished = resume
        && Checkpoint::read(&path).is_ok_and(|ck| {
            ck.check_scene(scene, &path).is_ok() && ck.step == scene.training().steps
        });
    if finished {
        return Ok("reused");
    }
    train_stage(gpu, scene, out_dir, resume, progress)?;
    Ok(if resume { "resumed" } else { "ran" })
}
