//! Many state points: a sweep file (a base scene and axes over its fields) becomes a `row`
//! project — `workflow.toml` and one workspace directory per state point with its
//! `scene.ron` and `value.json` — that row submits to a cluster's scheduler or runs
//! locally; [`collect`] merges the finished points into one table and figures.
//!
//! ```ron
//! Sweep(
//!     scene: "../scenes/quick.ron",          // the base scene, relative to this file
//!     combine: Product,                      // every combination (Zip: the i-th values)
//!     axes: [
//!         (field: "system.temperature", values: [1.0, 1.25]),
//!         (field: "system.particles", values: [[40], [80]]),
//!     ],
//!     actions: Run,                          // one `run` per point (Stages: sample,
//!                                            // train, baselines, integrate)
//!     walltime: "01:00:00",                  // per point and action
//!     gpus: 1,                               // per point (0: CPU nodes)
//!     models: Shared,                        // one training for points that differ
//!                                            // only in what they evaluate (PerPoint)
//! )
//! ```
//!
//! An axis value is set into the base scene's fields as serde sees them (the scene as it is
//! written into results.json), so any field can be swept whose value is a number, a
//! string, a boolean or a list of them; the point's scene is then validated like any
//! scene, and a bad value is reported with the axis and the field it set. The base scene's
//! known values (`reference`) describe one state: points of a sweep over `system.*` fields
//! leave them out.

pub mod collect;
pub mod estimate;
pub mod share;

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::scene::{bad, Scene};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// File name of a point's axis values (row's `value_file`).
pub const VALUE_FILE: &str = "value.json";
/// File name of a point's scene.
pub const SCENE_FILE: &str = "scene.ron";
/// The row project's workflow file.
pub const WORKFLOW_FILE: &str = "workflow.toml";
/// The row project's workspace directory (one directory per point).
pub const WORKSPACE_DIR: &str = "workspace";

/// How the axes combine into state points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Combine {
    /// Every combination of the axes' values (the first axis varies slowest).
    #[default]
    Product,
    /// The i-th value of every axis together (all axes have the same length).
    Zip,
}

/// The row actions written for each point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actions {
    /// One action `run`: the whole scene, resumable (`nti-gpu run`).
    #[default]
    Run,
    /// One action per stage: `sample`, `train`, `baselines`, `integrate` (each after the
    /// one before it), for stages of different resources or walltimes.
    Stages,
}

/// Where the points' models are trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Models {
    /// Points whose scenes give the same training data and settings (they differ only in
    /// what is evaluated: `integration.*`, `baselines.*`) share one sampling and training,
    /// done once by a row action `train` over the group ([`share`]); the others train
    /// their own.
    #[default]
    Shared,
    /// Every point samples and trains its own model.
    PerPoint,
}

/// One axis: a scene field by its dotted path and the values it takes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// Dotted path of the field in the scene, e.g. `system.temperature`, `seed`,
    /// `integration.trajectories`.
    pub field: String,
    /// The values (numbers, strings, booleans or lists of them).
    pub values: Vec<ron::Value>,
}

/// A sweep file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// The base scene file, relative to the sweep file.
    pub scene: PathBuf,
    /// How the axes combine.
    #[serde(default)]
    pub combine: Combine,
    /// The axes.
    pub axes: Vec<Axis>,
    /// The row actions.
    #[serde(default)]
    pub actions: Actions,
    /// Walltime of one action on one point, `HH:MM:SS` (default 01:00:00).
    #[serde(default)]
    pub walltime: Option<String>,
    /// GPUs per point (default 1; 0 where the nodes have none and the software adapter
    /// runs on their CPUs).
    #[serde(default)]
    pub gpus: Option<u32>,
    /// Whether points that can share a trained model do (default `Shared`).
    #[serde(default)]
    pub models: Models,
}

/// One state point: its directory name, axis values and scene.
#[derive(Clone, Debug)]
pub struct Point {
    /// Name of its directory in the workspace.
    pub directory: String,
    /// `{field: value}` of every axis.
    pub values: serde_json::Map<String, Value>,
    /// The base scene with the values set, validated.
    pub scene: Scene,
    /// The key of the shared model it is given (`models/<key>` of the project), when the
    /// sweep shares models and another point trains the same one.
    pub model: Option<String>,
}

/// What [`init`] did to each point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InitOutcome {
    /// Points created.
    pub added: Vec<String>,
    /// Points already there with the same scene.
    pub unchanged: Vec<String>,
    /// Points not started yet whose scene was rewritten (the base scene changed).
    pub updated: Vec<String>,
    /// Points already started (a results.json) whose scene differs from the sweep's now:
    /// left as they are.
    pub kept: Vec<String>,
    /// Workspace directories that are not points of this sweep (left alone).
    pub foreign: Vec<String>,
    /// Shared models: (key, the points given it).
    pub shared: Vec<(String, Vec<String>)>,
    /// With a bench report: the longest point's expected seconds and its name, and the
    /// walltime written (the sweep file's own `walltime` wins).
    pub estimate: Option<(f64, String, String)>,
}

impl Sweep {
    /// Parses a sweep file's text; `path` is used in messages (syntax errors with
    /// line:column).
    pub fn from_str(text: &str, path: &str) -> Result<Sweep> {
        crate::scene::parse_ron(text, path)
    }

    /// Reads a sweep file and its base scene and builds every state point, each validated:
    /// the first bad one is an error naming the axis, the field and the value.
    pub fn load_points(path: &Path) -> Result<(Sweep, Vec<Point>)> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let shown = path.display().to_string();
        let sweep = Sweep::from_str(&text, &shown)?;
        let base_path = path.parent().unwrap_or(Path::new(".")).join(&sweep.scene);
        if !base_path.is_file() {
            return Err(bad(
                &shown,
                "scene",
                sweep.scene.display(),
                format!(
                    "no scene file at {} (the path is relative to the sweep file)",
                    base_path.display()
                ),
            ));
        }
        if let Some(w) = &sweep.walltime {
            let parts: Vec<&str> = w.split(':').collect();
            let ok = parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && parts[1].len() == 2
                && parts[2].len() == 2;
            if !ok {
                return Err(bad(
                    &shown,
                    "walltime",
                    format!("{w:?}"),
                    "must be HH:MM:SS, e.g. \"01:30:00\"",
                ));
            }
        }
        let base = Scene::load_validated(&base_path)?;
        let points = sweep.points(&base, &shown)?;
        Ok((sweep, points))
    }

    /// Every state point of the sweep over `base`.
    pub fn points(&self, base: &Scene, path: &str) -> Result<Vec<Point>> {
        if self.axes.is_empty() {
            return Err(bad(
                path,
                "axes",
                "[]",
                "give at least one axis: (field: \"system.temperature\", values: [1.0, 1.25])",
            ));
        }
        let mut axes = Vec::new();
        for (i, a) in self.axes.iter().enumerate() {
            if a.values.is_empty() {
                return Err(bad(
                    path,
                    &format!("axes[{i}].values"),
                    "[]",
                    "give at least one value",
                ));
            }
            if self.axes[..i].iter().any(|b| b.field == a.field) {
                return Err(bad(
                    path,
                    &format!("axes[{i}].field"),
                    &a.field,
                    "this field already has an axis: merge the two",
                ));
            }
            let values = a
                .values
                .iter()
                .map(|v| {
                    v.clone().into_rust::<Value>().map_err(|e| {
                        bad(
                            path,
                            &format!("axes[{i}].values"),
                            format!("{v:?}"),
                            format!("not a number, string, boolean or list of them ({e})"),
                        )
                    })
                })
                .collect::<Result<Vec<Value>>>()?;
            axes.push((a.field.as_str(), values));
        }
        let combos: Vec<Vec<usize>> = match self.combine {
            Combine::Product => {
                let mut combos = vec![vec![]];
                for (_, values) in &axes {
                    combos = combos
                        .into_iter()
                        .flat_map(|c| {
                            (0..values.len()).map(move |j| {
                                let mut c = c.clone();
                                c.push(j);
                                c
                            })
                        })
                        .collect();
                }
                combos
            }
            Combine::Zip => {
                let len = axes[0].1.len();
                if let Some((i, _)) = axes.iter().enumerate().find(|(_, a)| a.1.len() != len) {
                    return Err(bad(
                        path,
                        &format!("axes[{i}].values"),
                        axes[i].1.len(),
                        format!("combine: Zip needs every axis to have {len} values, as axes[0]"),
                    ));
                }
                (0..len).map(|j| vec![j; axes.len()]).collect()
            }
        };
        let base_json = serde_json::to_value(base).map_err(|e| Error::Format {
            path: PathBuf::from(path),
            message: format!("the base scene does not serialize: {e}"),
        })?;
        // Axes of one value name no directory (unless every axis has one).
        let varying: Vec<&str> = axes
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(f, _)| *f)
            .collect();
        let mut points: Vec<Point> = Vec::new();
        for combo in combos {
            let mut scene_json = base_json.clone();
            let mut values = serde_json::Map::new();
            for (i, (&j, (field, vals))) in combo.iter().zip(&axes).enumerate() {
                set_field(&mut scene_json, field, vals[j].clone())
                    .map_err(|m| bad(path, &format!("axes[{i}].field"), field, m))?;
                values.insert((*field).to_string(), vals[j].clone());
            }
            let named: serde_json::Map<String, Value> = values
                .iter()
                .filter(|(f, _)| varying.is_empty() || varying.contains(&f.as_str()))
                .map(|(f, v)| (f.clone(), v.clone()))
                .collect();
            let directory = directory_name(&named);
            let mut scene: Scene = serde_json::from_value(scene_json).map_err(|e| {
                bad(
                    path,
                    "axes",
                    Value::Object(values.clone()),
                    format!("this point is not a valid scene: {e}"),
                )
            })?;
            scene.name = format!("{}-{directory}", base.name);
            scene.output = None;
            // Known values belong to one state: a sweep over the system leaves the base
            // scene's out (an axis over `reference` sets them per point).
            if values.keys().any(|f| f.starts_with("system."))
                && !values.keys().any(|f| f.starts_with("reference"))
            {
                scene.reference.clear();
            }
            scene
                .validate(&format!("{path} (point {directory})"))
                .map_err(|e| {
                    bad(
                        path,
                        "axes",
                        Value::Object(values.clone()),
                        format!("this point's scene is invalid: {e}"),
                    )
                })?;
            if points.iter().any(|p| p.directory == directory) {
                return Err(bad(
                    path,
                    "axes",
                    Value::Object(values),
                    "this point occurs twice: remove the repeated value",
                ));
            }
            points.push(Point {
                directory,
                values,
                scene,
                model: None,
            });
        }
        if self.models == Models::Shared {
            let keys: Vec<Option<String>> =
                points.iter().map(|p| share::model_key(&p.scene)).collect();
            let shared = keys
                .iter()
                .enumerate()
                .any(|(i, k)| k.is_some() && keys[..i].contains(k));
            if shared {
                for (p, k) in points.iter_mut().zip(keys) {
                    p.model = k;
                }
            }
        }
        Ok(points)
    }

    /// Whether the workflow has the shared `train` action (some points share a model).
    pub fn shares(points: &[Point]) -> bool {
        points.iter().any(|p| p.model.is_some())
    }

    /// row's `workflow.toml` for these points, running `program` (the nti-gpu binary); with
    /// `shared`, the points' sampling and training is one action `train` per shared model
    /// (`nti-gpu sweep train`, row groups the points on their value's `trained_model`), and
    /// every other action of a point comes after it.
    pub fn workflow_toml(&self, program: &str, shared: bool) -> String {
        let walltime = self.walltime.as_deref().unwrap_or("01:00:00");
        let gpus = self.gpus.unwrap_or(1);
        let quoted_program = shell_quote(program);
        let mut t = String::from(
            "# Written by `nti-gpu sweep init`: one directory per state point in workspace/,\n\
             # each with its scene.ron and value.json (the axis values, for row's conditions).\n\
             # Submit with `row submit` (`--cluster none` runs locally), follow with\n\
             # `row show status`, merge with `nti-gpu collect <this directory>`.\n\n\
             [workspace]\npath = \"workspace\"\nvalue_file = \"value.json\"\n",
        );
        // Resources: one process (with its GPUs) per point, or per submission for the
        // shared training, which runs once for its whole group.
        let resources = |per: &str| {
            let mut r = format!("[action.resources]\nprocesses.{per} = 1\n");
            if gpus > 0 {
                r.push_str(&format!("gpus_per_process = {gpus}\n"));
            }
            r.push_str(&format!("walltime.{per} = \"{walltime}\"\n"));
            r
        };
        let stage = |name: &str, command: &str, previous: Option<&str>| {
            let mut a = format!(
                "\n[[action]]\nname = \"{name}\"\ncommand = {}\nproducts = [\"{name}.done\"]\n",
                toml_string(&format!(
                    "{quoted_program} {command} workspace/{{directory}}/scene.ron --out \
                     workspace/{{directory}} && touch workspace/{{directory}}/{name}.done"
                ))
            );
            if let Some(p) = previous {
                a.push_str(&format!("previous_actions = [\"{p}\"]\n"));
            }
            a.push_str(&resources("per_directory"));
            a.push_str("[action.group]\nmaximum_size = 1\n");
            a
        };
        if shared {
            t.push_str(&format!(
                "\n# One sampling and training per shared model (models/<key>), given to every\n\
                 # point of its group.\n[[action]]\nname = \"train\"\ncommand = {}\n\
                 products = [\"{}\"]\n{}[action.group]\nsort_by = [\"/{}\"]\n\
                 split_by_sort_key = true\n",
                toml_string(&format!("{quoted_program} sweep train . {{directories}}")),
                share::TRAIN_DONE,
                resources("per_submission"),
                share::MODEL_VALUE_KEY,
            ));
        }
        match (self.actions, shared) {
            (Actions::Run, false) => t.push_str(&stage("run", "run", None)),
            (Actions::Run, true) => t.push_str(&stage("run", "run", Some("train"))),
            (Actions::Stages, false) => {
                t.push_str(&stage("sample", "sample", None));
                t.push_str(&stage("train", "train", Some("sample")));
                t.push_str(&stage("baselines", "baselines", Some("train")));
                t.push_str(&stage("integrate", "run", Some("baselines")));
            }
            (Actions::Stages, true) => {
                t.push_str(&stage("baselines", "baselines", Some("train")));
                t.push_str(&stage("integrate", "run", Some("baselines")));
            }
        }
        t
    }
}

/// Sets the dotted `field` of a scene's JSON to `value`. Sections must exist in the base
/// scene (an absent optional section is named); the field itself may be absent (an
/// optional field), serde then checks it exists.
fn set_field(scene: &mut Value, field: &str, value: Value) -> std::result::Result<(), String> {
    let parts: Vec<&str> = field.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("a dotted path of scene fields, e.g. system.temperature".into());
    }
    let mut node = scene;
    for (k, part) in parts.iter().enumerate() {
        let Some(obj) = node.as_object_mut() else {
            return Err(format!(
                "`{}` is not a section with fields",
                parts[..k].join(".")
            ));
        };
        if k + 1 == parts.len() {
            obj.insert((*part).to_string(), value);
            return Ok(());
        }
        let next = obj.entry((*part).to_string()).or_insert(Value::Null);
        if next.is_null() {
            return Err(format!(
                "the base scene has no `{}` section: add one there (its defaults are fine) to \
                 sweep a field of it",
                parts[..=k].join(".")
            ));
        }
        node = next;
    }
    Ok(())
}

/// The directory name of a point: `<last field segment>-<value>` per axis (the whole
/// dotted field where two axes end in the same segment), joined by `_` (characters other
/// than letters, digits, `.`, `+` and `-` replaced), or `point-<hash>` when that would be
/// longer than 100 characters.
pub fn directory_name(values: &serde_json::Map<String, Value>) -> String {
    let last = |f: &str| f.rsplit('.').next().unwrap_or(f).to_string();
    let mut parts = Vec::new();
    for (field, v) in values {
        let short = last(field);
        let clash = values.keys().filter(|f| last(f) == short).count() > 1;
        let key = if clash {
            field.as_str()
        } else {
            short.as_str()
        };
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join("+"),
            other => other.to_string(),
        };
        parts.push(format!("{key}-{text}"));
    }
    let name: String = parts
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_') {
                c
            } else {
                '~'
            }
        })
        .collect();
    if name.len() <= 100 {
        name
    } else {
        let text = Value::Object(values.clone()).to_string();
        format!("point-{:016x}", crate::output::fnv1a64(text.as_bytes()))
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+'))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A scene as pretty RON that [`Scene::from_str`] reads back, under a `//` comment line.
pub fn scene_ron(scene: &Scene, comment: &str) -> Result<String> {
    let config = ron::ser::PrettyConfig::new()
        .extensions(ron::extensions::Extensions::IMPLICIT_SOME)
        .struct_names(true);
    let body = ron::ser::to_string_pretty(scene, config).map_err(|e| Error::Format {
        path: PathBuf::from(SCENE_FILE),
        message: format!("the scene {} does not serialize: {e}", scene.name),
    })?;
    Ok(format!("// {comment}\n{body}\n"))
}

/// The scene text of a point ([`scene_ron`] with the point's axis values).
pub fn scene_text(point: &Point) -> Result<String> {
    let values = Value::Object(point.values.clone());
    scene_ron(
        &point.scene,
        &format!(
            "State point {} of a sweep (`nti-gpu sweep init`): {values}",
            point.directory
        ),
    )
}

/// A point's value.json: its axis values, and the key of the model it shares.
fn value_text(point: &Point) -> String {
    let mut values = point.values.clone();
    if let Some(k) = &point.model {
        values.insert(share::MODEL_VALUE_KEY.into(), Value::String(k.clone()));
    }
    serde_json::to_string_pretty(&Value::Object(values)).unwrap_or_default() + "\n"
}

/// Writes (or completes) the row project in `dir` for the sweep file at `sweep_path`:
/// `workflow.toml` and a workspace directory per point. Idempotent: points already there
/// with the same scene are left untouched, points already started are never rewritten,
/// new points are added. `program` is the command row runs (the nti-gpu binary); `gpus`
/// overrides the sweep file's GPUs per point; with `bench` (an `nti-gpu bench` report of
/// the cluster's adapter) the walltime, unless the sweep file gives one, is twice the
/// longest point's expected time ([`estimate`]).
pub fn init(
    sweep_path: &Path,
    dir: &Path,
    program: &str,
    gpus: Option<u32>,
    bench: Option<&Path>,
) -> Result<InitOutcome> {
    let (mut sweep, points) = Sweep::load_points(sweep_path)?;
    if gpus.is_some() {
        sweep.gpus = gpus;
    }
    let mut estimate = None;
    if let Some(path) = bench {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            message: format!("not a bench report ({e}): write one with nti-gpu bench --json-out"),
        })?;
        let rates = estimate::Rates::from_bench(&report, path)?;
        let mut longest = (0.0, String::new());
        for p in &points {
            let secs = rates.estimate(&p.scene)?.total();
            if secs >= longest.0 {
                longest = (secs, p.directory.clone());
            }
        }
        let wall = sweep
            .walltime
            .clone()
            .unwrap_or_else(|| estimate::walltime(longest.0));
        sweep.walltime = Some(wall.clone());
        estimate = Some((longest.0, longest.1, wall));
    }
    let workspace = dir.join(WORKSPACE_DIR);
    std::fs::create_dir_all(&workspace).map_err(|e| Error::io(&workspace, e))?;
    write_atomic(
        &dir.join(WORKFLOW_FILE),
        sweep
            .workflow_toml(program, Sweep::shares(&points))
            .as_bytes(),
    )?;
    let mut outcome = InitOutcome::default();
    for p in &points {
        let pdir = workspace.join(&p.directory);
        let text = scene_text(p)?;
        let values = value_text(p);
        let old = std::fs::read_to_string(pdir.join(SCENE_FILE)).ok();
        match old {
            None => {
                write_atomic(&pdir.join(VALUE_FILE), values.as_bytes())?;
                write_atomic(&pdir.join(SCENE_FILE), text.as_bytes())?;
                outcome.added.push(p.directory.clone());
            }
            Some(old) if old == text => {
                // The values alone may change (a point joins a shared model): row reads them.
                if std::fs::read_to_string(pdir.join(VALUE_FILE))
                    .ok()
                    .as_deref()
                    != Some(&values)
                {
                    write_atomic(&pdir.join(VALUE_FILE), values.as_bytes())?;
                }
                outcome.unchanged.push(p.directory.clone())
            }
            Some(_) if pdir.join("results.json").exists() => {
                // Its model is its own scene's: row groups it on that scene's key.
                if p.model.is_some() {
                    let mut kept = p.clone();
                    kept.model = Scene::load_validated(&pdir.join(SCENE_FILE))
                        .ok()
                        .and_then(|s| share::model_key(&s));
                    write_atomic(&pdir.join(VALUE_FILE), value_text(&kept).as_bytes())?;
                }
                outcome.kept.push(p.directory.clone())
            }
            Some(_) => {
                write_atomic(&pdir.join(VALUE_FILE), values.as_bytes())?;
                write_atomic(&pdir.join(SCENE_FILE), text.as_bytes())?;
                outcome.updated.push(p.directory.clone());
            }
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(&workspace)
        .map_err(|e| Error::io(&workspace, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| points.iter().all(|p| &p.directory != n))
        .collect();
    names.sort();
    outcome.foreign = names;
    outcome.estimate = estimate;
    let mut shared: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for p in &points {
        if let Some(k) = &p.model {
            shared
                .entry(k.clone())
                .or_default()
                .push(p.directory.clone());
        }
    }
    outcome.shared = shared.into_iter().collect();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"Scene(
    name: "base", seed: 1,
    system: (box_length: 6.0, temperature: 1.0, epsilon: 0.8, particles: [10],
             potential: MinimumImage),
    sampler: (replicas: 2, dt: 0.005, equilibration_steps: 20, production_steps: 100,
              record_every: 10, sample_every: 50),
)"#;

    fn base() -> Scene {
        Scene::from_str(BASE, "base.ron").unwrap()
    }

    #[test]
    fn product_and_zip_make_the_points_with_their_values() {
        let sweep = Sweep::from_str(
            r#"Sweep(scene: "b.ron", axes: [
                (field: "system.temperature", values: [1.0, 1.25]),
                (field: "system.particles", values: [[10], [12]]),
                (field: "seed", values: [3]),
            ])"#,
            "s.ron",
        )
        .unwrap();
        let points = sweep.points(&base(), "s.ron").unwrap();
        assert_eq!(points.len(), 4);
        let p = &points[1];
        assert_eq!(p.scene.system.temperature, 1.0);
        assert_eq!(p.scene.system.particles, vec![12]);
        assert_eq!(p.scene.seed, 3);
        // The one-valued axis (seed) names no directory.
        assert_eq!(p.directory, "particles-12_temperature-1.0");
        assert_eq!(p.values["system.particles"], serde_json::json!([12]));
        // The point's scene text reads back as the same scene.
        let again = Scene::from_str(&scene_text(p).unwrap(), "p").unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&p.scene).unwrap()
        );
        let zip = Sweep {
            combine: Combine::Zip,
            ..sweep.clone()
        };
        let e = zip.points(&base(), "s.ron").unwrap_err().to_string();
        assert!(e.contains("axes[2].values") && e.contains("Zip"), "{e}");
    }

    #[test]
    fn axes_ending_in_the_same_field_name_keep_their_section() {
        let values = serde_json::json!({
            "integration.particles": [40],
            "system.particles": [40, 80],
            "seed": 2,
        });
        assert_eq!(
            directory_name(values.as_object().unwrap()),
            "integration.particles-40_seed-2_system.particles-40+80"
        );
    }

    #[test]
    fn bad_axes_name_the_axis_and_the_field() {
        let cases = [
            (
                r#"(field: "system.temprature", values: [1.0])"#,
                "temprature",
            ),
            (
                r#"(field: "integration.steps", values: [10])"#,
                "no `integration` section",
            ),
            (
                r#"(field: "system.temperature", values: [-1.0])"#,
                "temperature",
            ),
            (r#"(field: "system.particles", values: ["many"])"#, "axes"),
        ];
        for (axis, needle) in cases {
            let text = format!("Sweep(scene: \"b.ron\", axes: [{axis}])");
            let sweep = Sweep::from_str(&text, "s.ron").unwrap();
            let e = sweep.points(&base(), "s.ron").unwrap_err().to_string();
            assert!(e.contains(needle), "{axis}: {e}");
        }
        let e = Sweep::from_str("Sweep(scene: \"b.ron\",\n  axes: [(feld: 1)])", "s.ron")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron:2:"), "{e}");
    }

    #[test]
    fn a_walltime_not_in_hours_minutes_seconds_is_named() {
        let dir = std::env::temp_dir().join(format!("nti-sweep-wt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.ron"), BASE).unwrap();
        for (w, ok) in [("01:30:00", true), ("90", false), ("1:3:00", false)] {
            let text = format!(
                "Sweep(scene: \"b.ron\", walltime: \"{w}\", axes: [(field: \"seed\", values: [1])])"
            );
            std::fs::write(dir.join("s.ron"), text).unwrap();
            let r = Sweep::load_points(&dir.join("s.ron"));
            assert_eq!(r.is_ok(), ok, "{w}");
            if let Err(e) = r {
                assert!(e.to_string().contains("walltime"), "{e}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bench_report_sets_the_walltime_unless_the_sweep_gives_one() {
        let dir = std::env::temp_dir().join(format!("nti-sweep-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.ron"), BASE).unwrap();
        // A slow adapter: 10 replicas × 10 particles × 120 steps at 1 particle-step/s (N
        // scaled from 20 to 10): 6000 s, so a walltime of twice that, 3 h 20 min.
        let bench = serde_json::json!({"workloads": [
            {"name": "paper-N20-B1", "gpu": {"median": 1.0}},
            {"name": "train-step-N20-B32", "gpu": {"median": 1.0}},
            {"name": "sampler-mala1-N20-C64", "gpu": {"median": 1.0}},
        ]});
        std::fs::write(dir.join("bench.json"), bench.to_string()).unwrap();
        let base = BASE.replace("replicas: 2", "replicas: 10");
        std::fs::write(dir.join("b.ron"), base).unwrap();
        for (walltime, expected) in [("", "03:20:00"), ("walltime: \"00:45:00\",", "00:45:00")] {
            std::fs::write(
                dir.join("s.ron"),
                format!(
                    "Sweep(scene: \"b.ron\", {walltime} axes: [(field: \"seed\", values: [1])])"
                ),
            )
            .unwrap();
            let proj = dir.join("proj");
            let _ = std::fs::remove_dir_all(&proj);
            let o = init(
                &dir.join("s.ron"),
                &proj,
                "nti-gpu",
                None,
                Some(&dir.join("bench.json")),
            )
            .unwrap();
            let (secs, _, wall) = o.estimate.unwrap();
            assert!((secs - 6000.0).abs() < 1e-9, "{secs}");
            assert_eq!(wall, expected);
            let toml = std::fs::read_to_string(proj.join(WORKFLOW_FILE)).unwrap();
            assert!(toml.contains(&format!("walltime.per_directory = \"{expected}\"")));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn workflow_has_the_actions_their_order_and_products() {
        let mut sweep = Sweep::from_str(r#"Sweep(scene: "b.ron", axes: [])"#, "s.ron").unwrap();
        let run = sweep.workflow_toml("/opt/nti gpu/nti-gpu", false);
        assert!(run.contains("name = \"run\""), "{run}");
        assert!(run.contains("'/opt/nti gpu/nti-gpu' run workspace/{directory}/scene.ron"));
        assert!(run.contains("products = [\"run.done\"]"));
        assert!(run.contains("walltime.per_directory = \"01:00:00\""));
        sweep.actions = Actions::Stages;
        sweep.walltime = Some("02:30:00".into());
        let stages = sweep.workflow_toml("nti-gpu", false);
        for (a, prev) in [
            ("train", "sample"),
            ("baselines", "train"),
            ("integrate", "baselines"),
        ] {
            assert!(
                stages.contains(&format!(
                    "name = \"{a}\"\ncommand = \"nti-gpu {} workspace/{{directory}}/scene.ron",
                    if a == "integrate" { "run" } else { a }
                )),
                "{stages}"
            );
            assert!(stages.contains(&format!("previous_actions = [\"{prev}\"]")));
        }
        assert!(stages.contains("\"02:30:00\""));
        assert!(stages.contains("gpus_per_process = 1"));
        // Shared models: the stages' sampling and training are the group's `train`.
        let shared = sweep.workflow_toml("nti-gpu", true);
        assert_eq!(shared.matches("name = \"train\"").count(), 1, "{shared}");
        assert!(shared.contains("command = \"nti-gpu sweep train . {directories}\""));
        assert!(!shared.contains("name = \"sample\""), "{shared}");
        assert!(shared.contains(
            "name = \"baselines\"\ncommand = \"nti-gpu baselines workspace/{directory}/scene.ron"
        ));
        sweep.gpus = Some(0);
        assert!(!sweep
            .workflow_toml("nti-gpu", false)
            .contains("gpus_per_process"));
    }
}
