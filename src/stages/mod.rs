//! The stages of a run, each writing its outputs into the output directory and its keys
//! into `results.json`, and [`run_scene`], which runs every stage a scene asks for in order:
//!
//! 1. [`sample`]: reference sampling for every N of `system.particles` and every other N
//!    Widom insertion runs at (skipped where `samples_N<N>.ntis` of this scene exists);
//! 2. [`train`]: training, when the scene has a `training` section (resumed from
//!    `model.ckpt`; nothing to do when it is complete);
//! 3. [`baselines`]: the classical baselines the scene names (skipped when results.json
//!    records a run of the same baselines on the same samples);
//! 4. [`integrate`]: neural TI, when the scene has an `integration` section (sampler records
//!    reused from `ti_N<N>_<estimator>.json` when they match);
//! 5. [`report`]: `report.md` and the plots, rebuilt from results.json and the records.
//!
//! Every stage writes its outputs atomically and merges its keys into results.json as soon
//! as it finishes, so an interrupted run loses at most the stage it was in (and less: the
//! sampler records and training checkpoints are written as they complete).
//!
//! What the stages share lives here: progress reporting ([`Progress`]), the keys every
//! stage writes ([`results_header`]), "the samples of this N, reused or sampled now"
//! ([`samples_for`]) and the fingerprint of a stage's inputs ([`fingerprint`]).

pub mod baselines;
pub mod integrate;
pub mod limits;
pub mod report;
pub mod sample;
pub mod train;

use crate::dataset::SampleSet;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::sampler::ReferenceSummary;
use crate::md::MdKernels;
use crate::output::fnv1a64;
use crate::scene::Scene;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Progress reporting of a stage: `start(label, total)`, `set(done)`, `finish()`.
pub trait Progress {
    /// A new bar.
    fn start(&mut self, label: &str, total: u64);
    /// Steps done so far.
    fn set(&mut self, done: u64);
    /// The stage's length became known to be `total` steps (it was an estimate).
    fn set_total(&mut self, _total: u64) {}
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

/// The keys every stage writes into results.json ([`crate::results::header`]): the schema
/// version, provenance (version, commit, adapter), units, the scene as run with its
/// defaults filled in, and its hash.
pub fn results_header(gpu: &Gpu, scene: &Scene) -> serde_json::Value {
    crate::results::header(&gpu.adapter, scene)
}

/// [`results_header`] with one stage's wall time (`wall_time_s.<stage>`).
pub fn results_header_timed(
    gpu: &Gpu,
    scene: &Scene,
    stage: &str,
    seconds: f64,
) -> serde_json::Value {
    let mut v = results_header(gpu, scene);
    v["wall_time_s"] = serde_json::json!({ stage: seconds });
    v
}

/// A 16-hex-digit fingerprint of a stage's inputs, each part written in canonical form
/// (RON or plain text) and joined.
pub fn fingerprint(parts: &[&str]) -> String {
    format!("{:016x}", fnv1a64(parts.join("|").as_bytes()))
}

/// MD kernels compiled on first use and shared by every N of a stage.
#[derive(Default)]
pub struct LazyMdKernels(Option<Arc<MdKernels>>);

impl LazyMdKernels {
    /// The kernels, compiled now if this is the first call.
    pub fn get(&mut self, gpu: &Gpu) -> Result<Arc<MdKernels>> {
        match &self.0 {
            Some(k) => Ok(k.clone()),
            None => Ok(self.0.insert(Arc::new(MdKernels::new(gpu)?)).clone()),
        }
    }
}

/// The reference samples of N: those of an earlier sampling run of this scene in
/// `out_dir`, or sampled now (their files written; the summary is returned for the
/// caller's results.json).
pub fn samples_for(
    gpu: &Gpu,
    kernels: &mut LazyMdKernels,
    scene: &Scene,
    n: u32,
    out_dir: &Path,
    progress: &mut dyn Progress,
) -> Result<(SampleSet, Option<ReferenceSummary>)> {
    if let Some(set) = sample::existing_samples(scene, n, out_dir)? {
        return Ok((set, None));
    }
    let (summary, set) = sample::sample_one(gpu, &kernels.get(gpu)?, scene, n, out_dir, progress)?;
    Ok((set, Some(summary)))
}

/// What `run` did, stage by stage.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// (stage, what happened: "ran", "reused", "skipped", wall seconds) in order.
    pub stages: Vec<(String, String, f64)>,
    /// The integration stage's results, when it ran.
    pub integration: Option<integrate::IntegrationOutcome>,
}

/// Forgets the per-N results of another scene: when results.json was written for another
/// scene hash (seed, system or sampler changed), its entries of particle counts this scene
/// neither samples nor evaluates are removed, with a note on stderr (the counts it shares
/// are redone by the stages, whose inputs changed, and overwritten). Every stage calls it
/// first, so that results.json stays one scene's record.
pub fn forget_other_scene(scene: &Scene, out_dir: &Path) -> Result<()> {
    let path = out_dir.join("results.json");
    if !path.exists() {
        return Ok(());
    }
    let results = crate::output::read_results(&path)?;
    let hash = format!("{:016x}", scene.hash());
    if results.get("scene_hash").and_then(|h| h.as_str()) == Some(hash.as_str()) {
        return Ok(());
    }
    let mut keep = scene.sampled_counts();
    if let Some(i) = &scene.integration {
        keep.extend(i.evaluated_counts(&scene.system.particles));
    }
    let removed = crate::output::retain_counts(out_dir, &keep)?;
    if !removed.is_empty() {
        eprintln!(
            "note: {} held results of another scene (seed, system or sampler changed) for N = \
             {removed:?}, which this scene does not have: removed",
            path.display()
        );
    }
    Ok(())
}

/// Runs every stage of `scene` into `out_dir` (see the module doc). A model of other settings
/// in `out_dir` is refused before any work, an altered sampler record when the integration
/// reaches it; with `force` both are redone instead (each file replaced when its new version
/// is complete).
pub fn run_scene(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    force: bool,
    progress: &mut dyn Progress,
) -> Result<RunOutcome> {
    std::fs::create_dir_all(out_dir).map_err(|e| crate::Error::io(out_dir, e))?;
    if !force {
        train::check_existing_model(scene, out_dir)?;
    }
    crate::output::read_results(&out_dir.join("results.json"))?;
    let mut outcome = RunOutcome::default();
    let mut record = |stage: &str, what: String, start: Instant| {
        outcome
            .stages
            .push((stage.into(), what, start.elapsed().as_secs_f64()))
    };

    let start = Instant::now();
    let sampled = sample::sample_stage(gpu, scene, out_dir, true, progress)?.sampled;
    let what = if sampled.is_empty() {
        "reused".into()
    } else {
        format!("ran for N = {sampled:?}")
    };
    record("sample", what, start);

    if scene.training.is_some() {
        let start = Instant::now();
        let what = train::train_if_needed(gpu, scene, out_dir, force, progress)?;
        record("train", what.into(), start);
    }

    if scene.baselines.is_some() {
        let start = Instant::now();
        let what = baselines::baselines_if_needed(gpu, scene, out_dir, progress)?;
        record("baselines", what.into(), start);
    }

    let mut integration = None;
    if scene.integration.is_some() {
        let start = Instant::now();
        integration = Some(integrate::integration_stage(
            gpu, scene, out_dir, force, progress,
        )?);
        record("integrate", "ran".into(), start);
    }

    let start = Instant::now();
    let files = report::report_stage(scene, out_dir)?;
    record(
        "report",
        format!("{} and {} plots", files.report.display(), files.plots.len()),
        start,
    );
    outcome.integration = integration;
    Ok(outcome)
}
