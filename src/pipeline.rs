//! Stages of a run, each writing its outputs into the output directory and its keys into
//! `results.json`. Today: the reference sampling stage (`nti-gpu sample`).

use crate::error::Result;
use crate::gpu::Gpu;
use crate::md::sampler::{run_reference, SampleFiles};
use crate::md::MdKernels;
use crate::output::{merge_results, write_atomic};
use crate::scene::Scene;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Progress reporting of a stage: `start(label, total)`, `advance(done)`, `finish()`.
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
    let steps = scene.sampler.equilibration_steps + scene.sampler.production_steps;
    for &n in &scene.system.particles {
        progress.start(&format!("sample N={n}"), steps);
        let outcome = run_reference(gpu, kernels.clone(), scene, n, |d| progress.set(d))?;
        progress.finish();
        let mut summary = outcome.summary();
        let set = outcome.sample_set(gpu, scene)?;
        let files = SampleFiles {
            samples: format!("samples_N{n}.ntis"),
            xyz: format!("samples_N{n}.xyz"),
            gr: format!("gr_N{n}.csv"),
        };
        set.write(&out_dir.join(&files.samples))?;
        write_atomic(&out_dir.join(&files.xyz), set.to_extxyz(0).as_bytes())?;
        let mut gr = String::from("# g(r) of the reference samples; r at bin centres\nr,g\n");
        for (r, g) in outcome.gr() {
            gr.push_str(&format!("{r:.6},{g:.6}\n"));
        }
        write_atomic(&out_dir.join(&files.gr), gr.as_bytes())?;
        summary.files = files;
        reference.insert(
            n.to_string(),
            serde_json::to_value(&summary).unwrap_or_default(),
        );
        // Write after every N so a stopped run keeps what it finished.
        merge_results(out_dir, header(gpu, scene, &reference, None))?;
    }
    let update = header(
        gpu,
        scene,
        &reference,
        Some(stage_start.elapsed().as_secs_f64()),
    );
    merge_results(out_dir, update.clone())?;
    Ok(update)
}

fn header(
    gpu: &Gpu,
    scene: &Scene,
    reference: &serde_json::Map<String, serde_json::Value>,
    wall: Option<f64>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "nti_gpu_version": env!("CARGO_PKG_VERSION"),
        "adapter": gpu.adapter,
        "scene": scene,
        "scene_hash": format!("{:016x}", scene.hash()),
        "reference": reference,
    });
    if let Some(w) = wall {
        v["wall_time_s"] = serde_json::json!({ "sample": w });
    }
    v
}
