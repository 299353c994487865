//! The sampling stage (`nti-gpu sample`, step 1 of `nti-gpu run`): the reference fluid at
//! every N of the scene, its files (`samples_N<N>.ntis`, extended XYZ of the kept
//! configurations, g(r) table, thermo log) and the `reference` section of results.json.

use super::{results_header, results_header_timed, LazyMdKernels, Progress};
use crate::dataset::SampleSet;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::sampler::{run_reference, ReferenceSummary, SampleFiles};
use crate::md::MdKernels;
use crate::output::{merge_results, write_atomic};
use crate::scene::Scene;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// File names of the sampling outputs for N.
pub fn sample_files(n: u32) -> SampleFiles {
    SampleFiles {
        samples: format!("samples_N{n}.ntis"),
        xyz: format!("samples_N{n}.xyz"),
        gr: format!("gr_N{n}.csv"),
        thermo: format!("thermo_N{n}.csv"),
    }
}

/// Most particle lines the extended XYZ holds (about 40 MB): every kept configuration of
/// a typical run; beyond, whole configurations replica by replica up to this many.
pub const XYZ_MAX_POSITIONS: usize = 1_000_000;

/// The samples of an earlier sampling run of this scene at N, if `out_dir` holds them
/// (`None` without a file or for another scene's). A file that fails its checks (checksum,
/// size, positions) is an error naming it, never silently sampled over.
pub fn existing_samples(scene: &Scene, n: u32, out_dir: &Path) -> Result<Option<SampleSet>> {
    let path = out_dir.join(sample_files(n).samples);
    if !path.exists() {
        return Ok(None);
    }
    let set = SampleSet::read(&path)?;
    Ok((set.scene_hash == scene.hash() && set.n == n).then_some(set))
}

/// Samples the reference fluid at one N and writes its files (`.ntis`, extended XYZ of the
/// kept configurations, g(r) CSV, thermo log CSV). Returns the summary and the
/// configurations.
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
    let mut steps_now = steps;
    let outcome = run_reference(gpu, kernels.clone(), scene, n, |d, total| {
        if total != steps_now {
            steps_now = total;
            progress.set_total(total);
        }
        progress.set(d)
    })?;
    progress.finish();
    let mut summary = outcome.summary();
    let set = outcome.sample_set(gpu, scene)?;
    let files = sample_files(n);
    set.write(&out_dir.join(&files.samples))?;
    write_atomic(&out_dir.join(&files.xyz), set.to_extxyz_all().0.as_bytes())?;
    let thermo = outcome.thermo_csv(scene.sampler.equilibration_steps);
    write_atomic(&out_dir.join(&files.thermo), thermo.as_bytes())?;
    let mut gr = String::from("r,g\n");
    for (r, g) in outcome.gr() {
        gr.push_str(&format!("{r:.6},{g:.6}\n"));
    }
    write_atomic(&out_dir.join(&files.gr), gr.as_bytes())?;
    summary.files = files;
    Ok((summary, set))
}

/// What the sampling stage did.
#[derive(Debug)]
pub struct SampleOutcome {
    /// The particle counts sampled now (the others were reused).
    pub sampled: Vec<u32>,
    /// The JSON merged into results.json.
    pub json: serde_json::Value,
}

/// Runs the reference sampler for every N of the scene ([`Scene::sampled_counts`]: the
/// system's particle counts and those Widom insertion adds; with `reuse`, only where no
/// samples of this scene are in `out_dir`), writes the samples, g(r) tables and the
/// `reference` section of `results.json` into `out_dir` (after every N, so a stopped run
/// keeps what it finished).
pub fn sample_stage(
    gpu: &Gpu,
    scene: &Scene,
    out_dir: &Path,
    reuse: bool,
    progress: &mut dyn Progress,
) -> Result<SampleOutcome> {
    super::forget_other_scene(scene, out_dir)?;
    let stage_start = Instant::now();
    let mut kernels = LazyMdKernels::default();
    let mut reference = serde_json::Map::new();
    let mut sampled = Vec::new();
    for n in scene.sampled_counts() {
        if reuse && existing_samples(scene, n, out_dir)?.is_some() {
            continue;
        }
        let (summary, _) = sample_one(gpu, &kernels.get(gpu)?, scene, n, out_dir, progress)?;
        reference.insert(
            n.to_string(),
            serde_json::to_value(&summary).unwrap_or_default(),
        );
        let mut update = results_header(gpu, scene);
        update["reference"] = serde_json::Value::Object(reference.clone());
        merge_results(out_dir, update)?;
        sampled.push(n);
    }
    let mut json = results_header_timed(gpu, scene, "sample", stage_start.elapsed().as_secs_f64());
    json["reference"] = serde_json::Value::Object(reference);
    if !sampled.is_empty() {
        merge_results(out_dir, json.clone())?;
    }
    Ok(SampleOutcome { sampled, json })
}
