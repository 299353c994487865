//! A whole scene's demands on the device, checked against an adapter's limits before any
//! stage runs: `nti-gpu check` against WebGPU's default limits (or a named adapter's), every
//! running command against its adapter's. Each stage's allocators check their own
//! footprint too; this check only moves the refusal to before the first stage, so that no
//! work is done that a later stage cannot finish.

use crate::baselines::lambda_ti::leg_footprint;
use crate::error::{Error, Result};
use crate::gpu::footprint::Footprint;
use crate::md::sampler::reference_footprint;
use crate::model::model_grad::GradWorkspace;
use crate::scene::Scene;
use crate::ti::denoise;
use crate::train::batch_split;

/// One stage's footprint with the scene field that sizes it.
struct StageNeeds {
    /// The stage and particle count, e.g. "sampling N = 200".
    stage: String,
    /// Scene field to change, its value, and which buffer labels it governs (empty: all).
    fields: Vec<(&'static str, String, &'static [&'static str])>,
    footprint: Footprint,
}

fn stage_needs(scene: &Scene) -> Result<Vec<StageNeeds>> {
    let s = &scene.system;
    let m = &scene.sampler;
    let mut needs = Vec::new();
    for n in scene.sampled_counts() {
        needs.push(StageNeeds {
            stage: format!("sampling N = {n}"),
            fields: vec![
                (
                    "sampler.sample_every",
                    m.sample_every.to_string(),
                    &["samples"],
                ),
                (
                    "sampler.record_every",
                    m.record_every.to_string(),
                    &["observable series"],
                ),
                ("sampler.replicas", m.replicas.to_string(), &[]),
            ],
            footprint: reference_footprint(scene, n),
        });
        let lambda_ti = scene.baselines.as_ref().and_then(|b| b.lambda_ti.as_ref());
        if let Some(settings) = lambda_ti.filter(|_| s.particles.contains(&n)) {
            needs.push(StageNeeds {
                stage: format!("lambda-window TI N = {n}"),
                fields: vec![(
                    "baselines.lambda_ti.replicas_per_window",
                    settings.replicas_per_window.to_string(),
                    &[],
                )],
                footprint: leg_footprint(scene, n, settings),
            });
        }
    }
    let cfg = scene.model();
    let sys = scene.model_system();
    let training = scene.training();
    needs.push(StageNeeds {
        stage: "training".into(),
        fields: vec![("training.batch", training.batch.to_string(), &[])],
        footprint: GradWorkspace::footprint(
            &cfg,
            &sys,
            &batch_split(&s.particles, training.batch),
        )?,
    });
    let integration = scene.integration();
    for n in integration.evaluated_counts(&s.particles) {
        needs.push(StageNeeds {
            stage: format!("integration N = {n}"),
            fields: vec![
                (
                    "integration.steps",
                    integration.steps.to_string(),
                    &["sampler records"],
                ),
                (
                    "integration.trajectories",
                    integration.trajectories.to_string(),
                    &[],
                ),
            ],
            footprint: denoise::footprint(
                &cfg,
                n as usize,
                integration.trajectories as usize,
                integration.steps as usize + 1,
            ),
        });
    }
    Ok(needs)
}

/// Refuses `scene` (read from `path`) if any stage would ask more of a device than
/// `limits` allow; `against` names the limits in the message ("WebGPU's default limits",
/// "the adapter llvmpipe's limits") and `hint` says how else to proceed, if anything.
pub fn check_device_limits(
    scene: &Scene,
    path: &str,
    limits: &wgpu::Limits,
    against: &str,
    hint: &str,
) -> Result<()> {
    for needs in stage_needs(scene)? {
        if let Some(excess) = needs.footprint.excess(limits) {
            let (field, value) = needs
                .fields
                .iter()
                .find(|(_, _, labels)| labels.is_empty() || labels.contains(&excess.label))
                .map(|(f, v, _)| (*f, v.clone()))
                .unwrap_or(("", String::new()));
            return Err(Error::SceneValue {
                path: path.into(),
                field: field.into(),
                value,
                message: format!("{}: {excess} ({against}); lower it{hint}", needs.stage),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENE: &str = r#"Scene(
        name: "limits",
        seed: 1,
        system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [40],
                 potential: MinimumImage),
        sampler: (replicas: 64, dt: 0.005, equilibration_steps: 100, production_steps: 1000,
                  record_every: 10, sample_every: 100),
        training: (steps: 10, batch: 32),
        integration: (trajectories: 32, steps: 100),
    )"#;

    fn check(text: &str) -> Result<()> {
        let scene = Scene::from_str(text, "t.ron").unwrap();
        scene.validate("t.ron").unwrap();
        check_device_limits(
            &scene,
            "t.ron",
            &wgpu::Limits::default(),
            "WebGPU's default limits",
            "",
        )
    }

    fn field_of(text: &str) -> String {
        match check(text) {
            Err(Error::SceneValue { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_small_scene_fits_the_default_limits() {
        check(SCENE).unwrap();
    }

    #[test]
    fn each_oversized_stage_names_the_field_that_sizes_it() {
        // 30 000 replicas of 200 particles: 93 750 workgroups for the per-particle MD kernels.
        let md = SCENE
            .replace("replicas: 64", "replicas: 30000")
            .replace("sample_every: 100", "sample_every: 1000")
            .replace("[40]", "[200]");
        assert_eq!(field_of(&md), "sampler.replicas");
        // 64 replicas × 1000 frames × 2000 particles × 16 bytes = 2 GiB of samples.
        let samples = SCENE
            .replace("production_steps: 1000", "production_steps: 100000")
            .replace("[40]", "[2000]")
            .replace("box_length: 6.0", "box_length: 14.0");
        assert_eq!(field_of(&samples), "sampler.sample_every");
        // 60 000 trajectories of 2000 particles: gigabytes of model features.
        let integration = SCENE
            .replace("trajectories: 32", "trajectories: 60000, populations: 60")
            .replace("[40]", "[2000]")
            .replace("box_length: 6.0", "box_length: 14.0")
            .replace("replicas: 64", "replicas: 2");
        assert_eq!(field_of(&integration), "integration.trajectories");
        let training = SCENE
            .replace("batch: 32", "batch: 4096")
            .replace("[40]", "[2000]")
            .replace("box_length: 6.0", "box_length: 14.0")
            .replace("replicas: 64", "replicas: 2")
            .replace("trajectories: 32", "trajectories: 2");
        assert_eq!(field_of(&training), "training.batch");
    }
}
