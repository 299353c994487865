//! One trained model for several state points: points whose scenes give the same training
//! data and settings (seed, system, sampler, model and training sections all equal; they
//! differ in what is evaluated, e.g. `integration.particles` or the baselines) share one
//! reference sampling and one training, done once in `models/<key>/` of the project by
//! `nti-gpu sweep train`. Each point then holds links to the samples and the checkpoint,
//! and the `sample` and `train` sections of results.json, so that its own `nti-gpu run`
//! finds them as its own and goes straight to the baselines and the integration, as the
//! paper's one model for every N does.

use super::WORKSPACE_DIR;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::output::{merge_results, read_results, write_atomic, DirLock};
use crate::scene::Scene;
use crate::stages::{results_header, sample, Progress};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The project directory holding one directory per shared model.
pub const MODELS_DIR: &str = "models";
/// The key of a point's value.json naming its shared model (row groups on it).
pub const MODEL_VALUE_KEY: &str = "trained_model";
/// Product of the shared training in every point of the group.
pub const TRAIN_DONE: &str = "train.done";

/// The key of the model a scene trains: a fingerprint of everything that determines the
/// trained model (the samples' seed, system and sampler, the architecture and the training
/// settings), or `None` when the scene trains none.
pub fn model_key(scene: &Scene) -> Option<String> {
    scene.training.as_ref()?;
    let parts = [
        format!("{:016x}", scene.hash()),
        ron::to_string(&scene.model()).unwrap_or_default(),
        ron::to_string(&scene.training()).unwrap_or_default(),
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(crate::stages::fingerprint(&parts))
}

/// The scene the shared model is trained with: a point's scene without what each point
/// evaluates (baselines, integration, known values).
pub fn model_scene(point: &Scene, key: &str) -> Scene {
    let mut s = point.clone();
    s.name = format!("model-{key}");
    s.output = None;
    s.baselines = None;
    s.integration = None;
    s.reference.clear();
    s
}

/// What [`train_shared`] did for one model.
#[derive(Clone, Debug)]
pub struct SharedModel {
    /// Its key (directory `models/<key>`).
    pub key: String,
    /// What the sampling and training did ("ran for N = …", "reused", "resumed", …).
    pub sampled: String,
    /// What the training did.
    pub trained: String,
    /// The points given the model.
    pub points: Vec<String>,
}

/// The files of the shared model a point links to: the samples' files of every N and the
/// training's checkpoint and loss log.
fn shared_files(scene: &Scene) -> Vec<String> {
    let mut files = Vec::new();
    for &n in &scene.system.particles {
        let f = sample::sample_files(n);
        files.extend([f.samples, f.xyz, f.gr, f.thermo]);
    }
    files.push(crate::train::CHECKPOINT_FILE.into());
    files.push(crate::train::LOSS_LOG_FILE.into());
    files
}

/// Places `from` at `to` as a hard link (a copy where the file system has none), replacing
/// what is there in one rename so that a reader sees the old file or the new one.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    let tmp = crate::output::temp_path(to);
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(from, &tmp).is_err() {
        std::fs::copy(from, &tmp).map_err(|e| Error::io(from, e))?;
    }
    std::fs::rename(&tmp, to).map_err(|e| Error::io(to, e))
}

/// The point directories of `names` in `project` (a name of its workspace, or a path).
fn point_dir(project: &Path, name: &str) -> PathBuf {
    let in_workspace = project.join(WORKSPACE_DIR).join(name);
    if in_workspace.is_dir() {
        in_workspace
    } else {
        PathBuf::from(name)
    }
}

/// A point given to [`train_shared`]: its name, directory, scene and model key.
#[derive(Clone, Debug)]
pub struct SharePoint {
    name: String,
    dir: PathBuf,
    scene: Scene,
    key: String,
}

/// The points `names` of the project (names in its workspace, or paths), each with a
/// scene that trains a model: checked before any device is opened.
pub fn read_points(project: &Path, names: &[String]) -> Result<Vec<SharePoint>> {
    if names.is_empty() {
        return Err(Error::argument(
            "POINT",
            "(none)",
            "name at least one point directory of the project's workspace",
        ));
    }
    let mut points = Vec::with_capacity(names.len());
    for name in names {
        let dir = point_dir(project, name);
        let path = dir.join(super::SCENE_FILE);
        if !path.is_file() {
            return Err(Error::argument(
                "POINT",
                name,
                format!(
                    "no {} in {}: give the names of {}/ in the project `nti-gpu sweep init` \
                     wrote",
                    super::SCENE_FILE,
                    dir.display(),
                    project.join(WORKSPACE_DIR).display()
                ),
            ));
        }
        let scene = Scene::load_validated(&path)?;
        let key = model_key(&scene).ok_or_else(|| {
            Error::argument(
                "POINT",
                name,
                "its scene has no training section: there is no model to share; run the point \
                 with `nti-gpu run`",
            )
        })?;
        points.push(SharePoint {
            name: name.clone(),
            dir,
            scene,
            key,
        });
    }
    Ok(points)
}

/// `nti-gpu sweep train PROJECT POINT...`: samples and trains once per distinct model of
/// the given points ([`read_points`]), in `PROJECT/models/<key>` (resumed there when a job
/// was stopped), then gives every point the model's files and results sections and writes
/// its `train.done`. A model directory another live process holds is an error naming it
/// (its points are given the model when that job finishes, or by the next submission).
pub fn train_shared(
    gpu: &Gpu,
    project: &Path,
    points: Vec<SharePoint>,
    progress: &mut dyn Progress,
) -> Result<Vec<SharedModel>> {
    let mut groups: BTreeMap<String, Vec<(String, PathBuf, Scene)>> = BTreeMap::new();
    let mut done = Vec::new();
    for SharePoint {
        name,
        dir,
        scene,
        key,
    } in points
    {
        // A point that trained its own model of this scene (run before it shared one)
        // keeps it.
        let own =
            crate::model::checkpoint::Checkpoint::read(&dir.join(crate::train::CHECKPOINT_FILE))
                .ok()
                .filter(|ck| {
                    ck.check_scene(&scene, &dir).is_ok() && ck.step == scene.training().steps
                });
        if own.is_some() && !dir.join(TRAIN_DONE).exists() {
            write_atomic(&dir.join(TRAIN_DONE), b"its own model\n")?;
            done.push(SharedModel {
                key,
                sampled: "its own".into(),
                trained: "its own".into(),
                points: vec![name],
            });
            continue;
        }
        groups.entry(key).or_default().push((name, dir, scene));
    }
    let command: Vec<String> = std::env::args().collect();
    let command = command.join(" ");
    for (key, members) in groups {
        let mdir = project.join(MODELS_DIR).join(&key);
        let mscene = model_scene(&members[0].2, &key);
        let (sampled, trained, model_results) = {
            let _lock = DirLock::acquire(&mdir, &command)?;
            let text = super::scene_ron(
                &mscene,
                &format!(
                    "The model shared by the sweep's points {}",
                    members
                        .iter()
                        .map(|m| m.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )?;
            write_atomic(&mdir.join(super::SCENE_FILE), text.as_bytes())?;
            // The model scene has no baselines or integration: `run` samples, trains (each
            // reused or resumed as in any output directory) and writes their report.
            let outcome = crate::stages::run_scene(gpu, &mscene, &mdir, false, progress)?;
            let what = |stage: &str| {
                outcome
                    .stages
                    .iter()
                    .find(|s| s.0 == stage)
                    .map_or_else(String::new, |s| s.1.clone())
            };
            (
                what("sample"),
                what("train"),
                read_results(&mdir.join("results.json"))?,
            )
        };
        let files = shared_files(&mscene);
        for (_, dir, scene) in &members {
            let _lock = DirLock::acquire(dir, &command)?;
            for f in &files {
                let from = mdir.join(f);
                if from.is_file() {
                    link_or_copy(&from, &dir.join(f))?;
                }
            }
            let mut update = results_header(gpu, scene);
            for section in ["reference", "training"] {
                if let Some(v) = model_results.get(section) {
                    update[section] = v.clone();
                }
            }
            let wall = &model_results["wall_time_s"];
            update["wall_time_s"] = json!({ "sample": wall["sample"], "train": wall["train"] });
            update["shared_model"] = json!({
                "key": key,
                "directory": format!("{MODELS_DIR}/{key}"),
            });
            merge_results(dir, update)?;
            write_atomic(
                &dir.join(TRAIN_DONE),
                format!("{MODELS_DIR}/{key}\n").as_bytes(),
            )?;
        }
        done.push(SharedModel {
            key,
            sampled,
            trained,
            points: members.into_iter().map(|m| m.0).collect(),
        });
    }
    Ok(done)
}

/// Whether a key of a point's value.json is an axis (every key but [`MODEL_VALUE_KEY`]).
pub fn is_axis_key(key: &str) -> bool {
    key != MODEL_VALUE_KEY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(extra: &str) -> Scene {
        Scene::from_str(
            &format!(
                r#"Scene(name: "s", seed: 1,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [10],
             potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 20, production_steps: 100,
              record_every: 10, sample_every: 50),
    {extra})"#
            ),
            "s.ron",
        )
        .unwrap()
    }

    #[test]
    fn the_model_key_follows_the_training_inputs_only() {
        assert_eq!(model_key(&scene("")), None);
        let a = model_key(&scene("training: (steps: 10),")).unwrap();
        let evaluated = model_key(&scene(
            "training: (steps: 10), integration: (particles: [12], trajectories: 8),",
        ))
        .unwrap();
        assert_eq!(a, evaluated);
        for other in [
            "training: (steps: 11),",
            "training: (steps: 10), model: (hidden: 32),",
        ] {
            assert_ne!(model_key(&scene(other)).unwrap(), a, "{other}");
        }
        let mut seeded = scene("training: (steps: 10),");
        seeded.seed = 2;
        assert_ne!(model_key(&seeded).unwrap(), a);
        let m = model_scene(
            &scene("training: (steps: 10), integration: (particles: [12]),"),
            &a,
        );
        assert!(m.integration.is_none() && m.baselines.is_none());
        assert_eq!(model_key(&m).unwrap(), a);
    }
}
