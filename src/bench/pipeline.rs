//! The whole-pipeline workload: `nti-gpu run` ([`crate::stages::run_scene`]) on the bundled
//! assets/scenes/quick.ron into a fresh temporary directory, once, reported as wall time
//! per stage and in total. There is no CPU implementation of the pipeline to compare with,
//! so the CPU figures and ratios are `null`.

use super::{BenchOptions, Spread, WorkloadResult};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::scene::Scene;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// The text of assets/scenes/quick.ron, built into the binary.
pub const QUICK_SCENE: &str = include_str!("../../assets/scenes/quick.ron");

/// One whole-pipeline workload.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineWorkload {
    /// Stable name.
    pub name: String,
    /// Scene file the text came from (for the record).
    pub scene_file: String,
    /// The scene's RON text.
    #[serde(skip)]
    pub scene_text: String,
}

impl PipelineWorkload {
    /// `pipeline-quick`: assets/scenes/quick.ron.
    pub fn quick() -> Self {
        PipelineWorkload {
            name: "pipeline-quick".into(),
            scene_file: "assets/scenes/quick.ron".into(),
            scene_text: QUICK_SCENE.into(),
        }
    }
}

/// Runs the scene once into a temporary directory (removed afterwards) and reports
/// pipeline runs per hour, with the seconds of every stage in `extra` (`<stage>_s`,
/// `total_s`).
pub fn bench_pipeline(
    gpu: &Gpu,
    w: &PipelineWorkload,
    _opts: &BenchOptions,
) -> Result<WorkloadResult> {
    let scene = Scene::from_str(&w.scene_text, &w.scene_file)?;
    scene.validate(&w.scene_file)?;
    let dir = std::env::temp_dir().join(format!("nti-bench-{}-{}", w.name, std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    gpu.wait()?;
    let t = Instant::now();
    let outcome =
        crate::stages::run_scene(gpu, &scene, &dir, false, &mut crate::stages::NoProgress);
    let total = t.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir).ok();
    let outcome = outcome?;
    let mut extra = BTreeMap::new();
    let mut parts = Vec::new();
    for (stage, what, seconds) in &outcome.stages {
        *extra.entry(format!("{stage}_s")).or_insert(0.0) += seconds;
        // The report stage's `what` names files in the temporary directory: left out.
        parts.push(if stage == "report" {
            format!("{stage} {seconds:.1} s")
        } else {
            format!("{stage} {seconds:.1} s ({what})")
        });
    }
    extra.insert("total_s".to_string(), total);
    let size = scene
        .system
        .particles
        .iter()
        .map(|&n| n as u64)
        .max()
        .unwrap_or(1);
    Ok(WorkloadResult {
        extra,
        notes: vec![
            format!(
                "one run of {} (no repeats): total {total:.1} s; {}",
                w.scene_file,
                parts.join(", ")
            ),
            "no CPU implementation of the pipeline: CPU figures and ratios are null".into(),
        ],
        ..WorkloadResult::timed(
            &w.name,
            "pipeline",
            "runs/h",
            size,
            "particles (largest N)",
            Spread::rate(3600.0, &Spread::of(vec![total])),
            None,
            serde_json::to_value(w).unwrap_or_default(),
        )
    })
}
