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

/// The text of an error without the file name it already carries (for messages that name
/// the file themselves).
fn message_of(e: Error) -> String {
    match e {
        Error::Format { message, .. } => message,
        e => e.to_string(),
    }
}

/// Refuses, before any work, an output directory whose model another scene trained (other
/// samples, architecture or training settings, more steps than the scene asks for, or a
/// damaged file), so that nothing of this run is written next to it. The message names the
/// ways on: `--force` (train this scene's model in its place) or a new `--out`.
pub fn check_existing_model(scene: &Scene, out_dir: &Path) -> Result<()> {
    let path = out_dir.join(CHECKPOINT_FILE);
    if scene.training.is_none() || !path.exists() {
        return Ok(());
    }
    let refuse = |why: String| Error::Format {
        path: path.clone(),
        message: format!(
            "{why}: the model in this output directory is not this scene's; rerun with \
             --force to train this scene's model in its place, or use a new --out"
        ),
    };
    let ck = Checkpoint::read(&path).map_err(|e| refuse(message_of(e)))?;
    ck.check_scene(scene, &path)
        .map_err(|e| refuse(message_of(e)))?;
    let steps = scene.training().steps;
    if ck.step > steps {
        return Err(refuse(format!(
            "the model is trained for {} steps, more than training.steps = {steps}",
            ck.step
        )));
    }
    Ok(())
}

/// What `nti-gpu train` may do with the output directory, before any work: without
/// `resume` or `force`, a checkpoint already there is refused (a new training would replace
/// it), naming the ways on: `--resume` to continue it, `--force` to train from step 0 in
/// its place, or a new `--out`. With `resume`, the checkpoint must be this scene's (see
/// [`check_existing_model`]). With `force`, anything goes: the stage trains anew and its
/// checkpoints replace the old one as they are written.
pub fn check_train_start(scene: &Scene, out_dir: &Path, resume: bool, force: bool) -> Result<()> {
    let path = out_dir.join(CHECKPOINT_FILE);
    if force || !path.exists() {
        return Ok(());
    }
    check_existing_model(scene, out_dir)?;
    if resume {
        return Ok(());
    }
    let step = Checkpoint::read(&path).map_or(0, |ck| ck.step);
    let steps = scene.training().steps;
    let (state, resume) = if step == steps {
        (
            format!("a finished model of this scene ({step} steps)"),
            "--resume to keep it (nothing is left to train)",
        )
    } else {
        (
            format!("this scene's model at step {step} of training.steps = {steps}"),
            "--resume to continue it",
        )
    };
    Err(Error::Format {
        path,
        message: format!(
            "holds {state}; a new training would replace it: use {resume}, --force to train \
             a new one from step 0 in its place, or a new --out"
        ),
    })
}

/// Step 2 of `nti-gpu run`: nothing when `model.ckpt` holds a finished model of this scene
/// (its settings, exactly `training.steps` steps: "reused"), else trains, resuming from a
/// checkpoint when there is one ("resumed", "ran"). A checkpoint of other settings, beyond
/// the scene's steps or damaged is refused, or with `force` trained over from step 0
/// ("ran anew").
pub fn train_if_needed(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<&'static str> {
    let path = out_dir.join(CHECKPOINT_FILE);
    let exists = path.exists();
    let usable = Checkpoint::read(&path)
        .ok()
        .filter(|ck| ck.check_scene(scene, &path).is_ok() && ck.step <= scene.training().steps);
    if usable
        .as_ref()
        .is_some_and(|ck| ck.step == scene.training().steps)
    {
        return Ok("reused");
    }
    // Without `force` an unusable checkpoint goes to the resume, which refuses it.
    let resume = if force { usable.is_some() } else { exists };
    train_stage(gpu, scene, out_dir, resume, progress)?;
    Ok(match (resume, exists) {
        (true, _) => "resumed",
        (false, true) => "ran anew (--force)",
        (false, false) => "ran",
    })
}
