//! `nti-gpu run scene.ron`: every stage the scene asks for, in order, each resumable from
//! what an earlier run left in the output directory:
//!
//! 1. reference sampling for every N of `system.particles` (skipped where `samples_N<N>.ntis`
//!    of this scene exists);
//! 2. training, when the scene has a `training` section (resumed from `model.ckpt`; nothing
//!    to do when it is complete);
//! 3. the classical baselines the scene names (skipped when results.json records a run of
//!    the same baselines on the same samples);
//! 4. neural TI, when the scene has an `integration` section (sampler records reused from
//!    `ti_N<N>_<estimator>.json` when they match);
//! 5. the report: `report.md` and the PNG plots, rebuilt from results.json and the records.
//!
//! Every stage writes its outputs atomically and merges its keys into results.json as soon
//! as it finishes, so an interrupted run loses at most the stage it was in (and less: the
//! sampler records and training checkpoints are written as they complete).

use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::MdKernels;
use crate::output::merge_results;
use crate::pipeline::{baselines_stage, existing_samples, sample_one, train_stage, Progress};
use crate::scene::{fnv1a64, Scene};
use crate::ti::stage::{integration_stage, IntegrationOutcome};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What `run` did, stage by stage.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// (stage, what happened: "ran", "reused", "skipped") in order.
    pub stages: Vec<(String, String, f64)>,
    /// The integration stage's results, when it ran.
    pub integration: Option<IntegrationOutcome>,
}

fn results(out_dir: &Path) -> serde_json::Value {
    std::fs::read_to_string(out_dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::json!({}))
}

/// Fingerprint of the baselines stage's inputs (scene hash and the baselines section).
fn baselines_fingerprint(scene: &Scene) -> String {
    let text = format!(
        "{:016x}|{}",
        scene.hash(),
        ron::to_string(&scene.baselines).unwrap_or_default()
    );
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

/// Runs every stage of `scene` into `out_dir` (see the module doc).
pub fn run_scene(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<RunOutcome> {
    std::fs::create_dir_all(out_dir).map_err(|e| crate::Error::io(out_dir, e))?;
    let mut outcome = RunOutcome::default();
    let header = |stage: &str, seconds: f64| {
        serde_json::json!({
            "nti_gpu_version": env!("CARGO_PKG_VERSION"),
            "adapter": gpu.adapter,
            "scene": scene,
            "scene_hash": format!("{:016x}", scene.hash()),
            "wall_time_s": { stage: seconds },
        })
    };

    // 1. Reference samples.
    let start = Instant::now();
    let mut sampled = Vec::new();
    let mut kernels: Option<Arc<MdKernels>> = None;
    for &n in &scene.system.particles {
        if existing_samples(scene, n, out_dir).is_some() {
            continue;
        }
        let k = match &kernels {
            Some(k) => k.clone(),
            None => kernels.insert(Arc::new(MdKernels::new(gpu)?)).clone(),
        };
        let (summary, _) = sample_one(gpu, &k, scene, n, out_dir, progress)?;
        let mut update = header("sample", start.elapsed().as_secs_f64());
        update["reference"] = serde_json::json!({ n.to_string(): summary });
        merge_results(out_dir, update)?;
        sampled.push(n);
    }
    outcome.stages.push((
        "sample".into(),
        if sampled.is_empty() {
            "reused".into()
        } else {
            format!("ran for N = {sampled:?}")
        },
        start.elapsed().as_secs_f64(),
    ));

    // 2. Training.
    if scene.training.is_some() {
        let start = Instant::now();
        let path = out_dir.join(crate::train::CHECKPOINT_FILE);
        let resume = path.exists();
        // A finished model of this scene is reused as it is (its results are on disk).
        let finished = resume
            && crate::model::checkpoint::Checkpoint::read(&path).is_ok_and(|ck| {
                ck.scene_hash == scene.hash()
                    && ck.step >= crate::train::training_settings(scene).steps
                    && ck
                        .check_architecture(&scene.model.unwrap_or_default(), &path)
                        .is_ok()
            });
        if finished {
            outcome.stages.push(("train".into(), "reused".into(), 0.0));
        } else {
            train_stage(gpu, scene, out_dir, resume, progress)?;
            let what = if resume { "resumed" } else { "ran" };
            outcome
                .stages
                .push(("train".into(), what.into(), start.elapsed().as_secs_f64()));
        }
    }

    // 3. Baselines.
    if scene.baselines.is_some() {
        let start = Instant::now();
        let fp = baselines_fingerprint(scene);
        if results(out_dir)["stages"]["baselines"].as_str() == Some(fp.as_str()) {
            outcome
                .stages
                .push(("baselines".into(), "reused".into(), 0.0));
        } else {
            baselines_stage(gpu, scene, out_dir, progress)?;
            merge_results(
                out_dir,
                serde_json::json!({ "stages": { "baselines": fp } }),
            )?;
            outcome.stages.push((
                "baselines".into(),
                "ran".into(),
                start.elapsed().as_secs_f64(),
            ));
        }
    }

    // 4. Neural TI.
    if scene.integration.is_some() {
        let start = Instant::now();
        let result = integration_stage(gpu, scene, out_dir, progress)?;
        outcome.stages.push((
            "integrate".into(),
            "ran".into(),
            start.elapsed().as_secs_f64(),
        ));
        outcome.integration = Some(result);
    }

    // 5. Report and plots, from what is on disk.
    let start = Instant::now();
    let files = crate::report::summary::write_report(scene, out_dir)?;
    outcome.stages.push((
        "report".into(),
        format!("{} and {} plots", files.report.display(), files.plots.len()),
        start.elapsed().as_secs_f64(),
    ));
    Ok(outcome)
}
