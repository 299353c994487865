//! Scene files: the RON schema of a run and its validation.
//!
//! A scene names the system (box, temperature, LJ parameters, potential variant, particle
//! counts), the reference sampler's settings, the seed and the output directory. Later
//! stages (model, training, integration, baselines) are further optional sections, each
//! defined and validated in its own submodule. Unknown fields are an error.
//! [`Scene::from_str`] reports syntax errors with line and column; [`Scene::validate`]
//! reports semantic errors naming the field, the value and the allowed range.
//!
//! This module is the configuration layer at the bottom of the crate: it depends only on
//! [`crate::error`], [`crate::output`] (hashing) and [`crate::quadrature`], and everything
//! else reads its types. [`Scene`] offers the projections the stages need
//! ([`Scene::lj_params`], [`Scene::model_system`], [`Scene::training`],
//! [`Scene::integration`], [`Scene::model`]) so that each mapping is written once.
//!
//! Units: lengths in sigma's unit, energies in the unit of `temperature` (which is kT) and
//! `epsilon`; the paper's system is `temperature: 1.0, epsilon: 0.8` (T* = 1.25).

pub mod baselines;
pub mod integration;
pub mod model;
pub mod reference;
pub mod system;
pub mod training;

pub use baselines::{Baselines, LambdaPath, LambdaTiSettings, Quadrature, WidomSettings};
pub use integration::{
    ChemicalPotential, CorrectorSettings, CorrectorSpan, CorrectorSpans, Estimator,
    IntegrationSettings,
};
pub use model::{ModelConfig, ModelSystem};
pub use reference::{KnownValue, ReferenceValue};
pub use system::{
    max_stable_dt, LjParams, NeighborMode, Potential, SamplerSettings, System, MAX_DENSITY,
    MAX_GR_BINS,
};
pub use training::{AdamSettings, ScoreTarget, TrainingSettings};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A whole run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// Short name, used for the default output directory `out/<name>`.
    pub name: String,
    /// Seed of every random stream (initial positions, Langevin noise).
    #[serde(default)]
    pub seed: u64,
    /// Output directory; default `out/<name>` relative to the working directory.
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// The physical system.
    pub system: System,
    /// Reference sampler (Langevin MD) settings.
    pub sampler: SamplerSettings,
    /// Classical free-energy baselines computed on the same system (`nti-gpu baselines`).
    #[serde(default)]
    pub baselines: Option<Baselines>,
    /// Architecture of the energy model Ũ_θ (defaults: K = 16, K_v = 8, M = 3, H = 64,
    /// r_c = 2σ).
    #[serde(default)]
    pub model: Option<ModelConfig>,
    /// Denoising score-matching training of the model.
    #[serde(default)]
    pub training: Option<TrainingSettings>,
    /// Neural TI: samplers, time grid, quadrature and the particle counts to evaluate
    /// (needs `training`).
    #[serde(default)]
    pub integration: Option<IntegrationSettings>,
    /// Values known from elsewhere that the report and summary.csv compare every estimate
    /// with (deviation in combined standard errors); they change no computation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<ReferenceValue>,
}

/// A semantic error of scene file `path`: the field, its value and what is allowed.
pub(crate) fn bad(
    path: &str,
    field: &str,
    value: impl ToString,
    message: impl Into<String>,
) -> Error {
    Error::SceneValue {
        path: path.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        message: message.into(),
    }
}

/// Checks that `v` is a finite number > 0.
pub(crate) fn positive(path: &str, field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(bad(path, field, v, "must be a finite number > 0"))
    }
}

/// `text` cut to at most `max` characters (with the count of those left out): a parser
/// message quoting a huge token stays readable.
fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} more characters)", count - max)
}

/// Parses RON text of the scene family (scenes, sweep files): optional fields written
/// plainly (`gr_max: 2.5`, not `Some(2.5)`), syntax errors with `path`, line and column.
pub(crate) fn parse_ron<T: serde::de::DeserializeOwned>(text: &str, path: &str) -> Result<T> {
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    options.from_str(text).map_err(|e| Error::SceneSyntax {
        path: path.to_string(),
        line: e.span.start.line,
        col: e.span.start.col,
        message: shorten(&e.code.to_string(), 400),
    })
}

/// Appends the counts of `more` that `out` does not hold yet, in order.
pub(crate) fn extend_unique(out: &mut Vec<u32>, more: impl IntoIterator<Item = u32>) {
    for n in more {
        if !out.contains(&n) {
            out.push(n);
        }
    }
}

impl Scene {
    /// Parses a scene from RON text; `path` is used in messages.
    pub fn from_str(text: &str, path: &str) -> Result<Scene> {
        parse_ron(text, path)
    }

    /// Reads and parses a scene file (does not validate).
    pub fn load(path: &Path) -> Result<Scene> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_str(&text, &path.display().to_string())
    }

    /// Reads, parses and validates a scene file.
    pub fn load_validated(path: &Path) -> Result<Scene> {
        let scene = Self::load(path)?;
        scene.validate(&path.display().to_string())?;
        Ok(scene)
    }

    /// Output directory: `output`, or `out/<name>`.
    pub fn output_dir(&self) -> PathBuf {
        self.output
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(&self.name))
    }

    /// Checks every value and their consistency. The error names the field, the value and
    /// the allowed range.
    pub fn validate(&self, path: &str) -> Result<()> {
        if self.name.trim().is_empty()
            || self.name.contains(['/', '\\'])
            || self.name.starts_with('.')
        {
            return Err(bad(
                path,
                "name",
                format!("{:?}", self.name),
                "must be a non-empty plain name (no '/', no leading '.'); it names the output directory",
            ));
        }
        let max_density = self
            .system
            .validate(path)?
            .max(self.validate_widom_counts(path)?);
        self.sampler.validate(path, &self.system, max_density)?;
        let widom = self.baselines.as_ref().is_some_and(|b| b.widom.is_some());
        let m = &self.sampler;
        if (self.training.is_some() || widom) && m.production_steps < m.sample_every as u64 {
            return Err(bad(
                path,
                "sampler.sample_every",
                m.sample_every,
                format!(
                    "must be <= production_steps = {}: the run keeps one configuration every \
                     sample_every steps, and training and Widom insertion need at least one",
                    m.production_steps
                ),
            ));
        }
        if let Some(model) = &self.model {
            self.validate_model(path, model)?;
        }
        if let Some(t) = &self.training {
            t.validate(path, self.system.particles.len())?;
        }
        if let Some(integ) = &self.integration {
            self.validate_integration(path, integ)?;
        }
        if let Some(b) = &self.baselines {
            b.validate(path, &self.sampler)?;
        }
        reference::validate(path, &self.reference)?;
        Ok(())
    }

    /// Checks Widom's particle counts as the system's are checked; their highest density.
    fn validate_widom_counts(&self, path: &str) -> Result<f64> {
        let mut max_density: f64 = 0.0;
        for n in self.widom_counts() {
            let rho = self
                .system
                .check_count(path, "baselines.widom.particles", n)?;
            max_density = max_density.max(rho);
        }
        Ok(max_density)
    }

    /// The particle counts Widom insertion runs at: `baselines.widom.particles`, or else
    /// every N the scene trains on or integrates (N + 1 excepted), in that order; none
    /// without Widom.
    pub fn widom_counts(&self) -> Vec<u32> {
        let Some(widom) = self.baselines.as_ref().and_then(|b| b.widom.as_ref()) else {
            return Vec::new();
        };
        if let Some(list) = &widom.particles {
            return list.clone();
        }
        let mut out = self.system.particles.clone();
        if let Some(integ) = &self.integration {
            extend_unique(
                &mut out,
                integ.base_counts(&self.system.particles).iter().copied(),
            );
        }
        out
    }

    /// Every N whose reference fluid is sampled: the system's particle counts, then those
    /// Widom insertion alone needs.
    pub fn sampled_counts(&self) -> Vec<u32> {
        let mut out = self.system.particles.clone();
        extend_unique(&mut out, self.widom_counts());
        out
    }

    fn validate_model(&self, path: &str, model: &ModelConfig) -> Result<()> {
        model
            .check_kernel_limits()
            .map_err(|e| bad(path, "model", format!("{model:?}"), e.to_string()))?;
        if 2.0 * model.r_c > self.system.box_length {
            return Err(bad(
                path,
                "model.r_c",
                model.r_c,
                format!(
                    "must be <= box_length / 2 = {} (descriptors use the minimum image)",
                    0.5 * self.system.box_length
                ),
            ));
        }
        Ok(())
    }

    fn validate_integration(&self, path: &str, integ: &IntegrationSettings) -> Result<()> {
        integ.validate(path)?;
        if self.training.is_none() {
            return Err(bad(
                path,
                "integration",
                "(...)",
                "integration needs a trained model: add a `training: (...)` section \
                 (its defaults are fine) so `nti-gpu run` trains one first",
            ));
        }
        let s = &self.system;
        // Lists of N that must be among the evaluated ones.
        let base = integ.base_counts(&s.particles);
        let mut lists: Vec<(&str, &[u32], &str)> = Vec::new();
        if let ChemicalPotential::At(list) = &integ.chemical_potential {
            lists.push((
                "integration.chemical_potential",
                list,
                "list N whose N + 1 to evaluate, or true for all of them",
            ));
        }
        for span in integ.corrector_span.iter().flat_map(CorrectorSpans::all) {
            if let Some(list) = &span.particles {
                lists.push((
                    "integration.corrector_span.particles",
                    list,
                    "list N the span applies to (their N + 1 too)",
                ));
            }
        }
        for (field, list, what) in lists {
            if let Some(n) = list.iter().find(|n| !base.contains(n)) {
                return Err(bad(
                    path,
                    field,
                    format!("{list:?}"),
                    format!(
                        "N = {n} is not evaluated (integration.particles, or the system's \
                         particles when that is empty): {what}, from {base:?}"
                    ),
                ));
            }
        }
        for n in integ.evaluated_counts(&s.particles) {
            let rho = s.density(n);
            if rho > MAX_DENSITY {
                return Err(bad(
                    path,
                    "integration.particles",
                    n,
                    format!(
                        "evaluating N = {n} means density {rho:.3} > {MAX_DENSITY} in this box; \
                         evaluate at most {} particles (with chemical_potential, N + 1 counts too)",
                        s.max_particles()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// True when the sampler will use the cell-list path.
    pub fn uses_cell_list(&self) -> bool {
        self.sampler.uses_cell_list(&self.system)
    }

    /// The scene's pair potential as the MD kernels see it (with the scene's shift).
    pub fn lj_params(&self) -> LjParams {
        let s = &self.system;
        LjParams {
            epsilon: s.epsilon,
            sigma: s.sigma,
            cutoff: s.potential.cutoff(),
            shift: matches!(s.potential, Potential::Truncated { shift: true, .. }),
            box_length: s.box_length,
        }
    }

    /// The system as the energy model sees it (its soft-core prior has the scene's
    /// cutoff, never a shift).
    pub fn model_system(&self) -> ModelSystem {
        let s = &self.system;
        ModelSystem {
            box_length: s.box_length,
            beta: 1.0 / s.temperature,
            epsilon: s.epsilon,
            sigma: s.sigma,
            cutoff: s.potential.cutoff(),
        }
    }

    /// The model architecture (defaults when the section is absent).
    pub fn model(&self) -> ModelConfig {
        self.model.unwrap_or_default()
    }

    /// The training settings (defaults when the section is absent).
    pub fn training(&self) -> TrainingSettings {
        self.training
            .clone()
            .unwrap_or_else(|| ron::from_str("()").expect("every training setting has a default"))
    }

    /// The integration settings (defaults when the section is absent).
    pub fn integration(&self) -> IntegrationSettings {
        self.integration.clone().unwrap_or_default()
    }

    /// A stable 64-bit hash (FNV-1a of canonical RON) of what determines the reference
    /// samples: the seed, the system and the sampler settings. Written into sample files
    /// so that data can be matched with the scene that made them; sections of later
    /// stages (baselines, ...) do not change it.
    pub fn hash(&self) -> u64 {
        let text = ron::to_string(&(self.seed, &self.system, &self.sampler)).unwrap_or_default();
        crate::output::fnv1a64(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_token_does_not_flood_the_message() {
        let text = format!(
            "Scene(name: \"t\", seed: 1, system: (box_length: 6.0, particles: [4], \
             potential: Foo{}))",
            "y".repeat(100_000)
        );
        let e = Scene::from_str(&text, "big.ron").unwrap_err().to_string();
        assert!(e.len() < 1000, "{} characters", e.len());
        assert!(
            e.contains("big.ron:1:") && e.contains("more characters)"),
            "{e}"
        );
    }

    const GOOD: &str = r#"
Scene(
    name: "t",
    seed: 1,
    system: (
        box_length: 6.0,
        temperature: 1.0,
        epsilon: 0.8,
        particles: [40],
        potential: MinimumImage,
    ),
    sampler: (
        replicas: 4,
        dt: 0.005,
        equilibration_steps: 100,
        production_steps: 100,
    ),
)
"#;

    fn err_of(text: &str) -> String {
        match Scene::from_str(text, "test.ron").and_then(|s| s.validate("test.ron")) {
            Ok(()) => panic!("scene should have been rejected:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn good_scene_parses_and_validates() {
        let s = Scene::from_str(GOOD, "t").unwrap();
        s.validate("t").unwrap();
        assert_eq!(s.system.particles, vec![40]);
        assert_eq!(s.sampler.record_every, 10);
        assert!(!s.uses_cell_list());
        assert_eq!(s.output_dir(), PathBuf::from("out/t"));
    }

    #[test]
    fn syntax_error_reports_line_and_column() {
        let text = GOOD.replace("box_length: 6.0,", "box_length: 6.0,,");
        let e = err_of(&text);
        assert!(e.contains("test.ron:6:"), "{e}");
        assert!(e.contains("syntax error"), "{e}");
    }

    #[test]
    fn unknown_field_is_named() {
        let e = err_of(&GOOD.replace("epsilon: 0.8,", "epsilon: 0.8, epsilonn: 1.0,"));
        assert!(e.contains("epsilonn"), "{e}");
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        for (from, to, field) in [
            ("box_length: 6.0", "box_length: -6.0", "system.box_length"),
            ("particles: [40]", "particles: [0]", "system.particles[0]"),
            (
                "particles: [40]",
                "particles: [40, 1000]",
                "system.particles[1]",
            ),
            ("temperature: 1.0", "temperature: 0.0", "system.temperature"),
            ("dt: 0.005", "dt: 0.05", "sampler.dt"),
            ("replicas: 4", "replicas: 0", "sampler.replicas"),
        ] {
            let e = err_of(&GOOD.replace(from, to));
            assert!(e.contains(field), "expected `{field}` in: {e}");
        }
    }

    #[test]
    fn what_the_run_would_refuse_is_refused_by_check() {
        let e = err_of(&GOOD.replace("replicas: 4", "replicas: 65536"));
        assert!(e.contains("sampler.replicas") && e.contains("65535"), "{e}");
        let e = err_of(&GOOD.replace("particles: [40]", "particles: [12, 12]"));
        assert!(
            e.contains("system.particles[1]") && e.contains("twice"),
            "{e}"
        );
        let no_samples = GOOD.replace(
            "production_steps: 100,",
            "production_steps: 100, sample_every: 200,",
        );
        // Fine for the equations of state alone, refused when training needs samples.
        Scene::from_str(&no_samples, "t")
            .unwrap()
            .validate("t")
            .unwrap();
        let e = err_of(&no_samples.replace("    sampler: (", "    training: (),\n    sampler: ("));
        assert!(
            e.contains("sampler.sample_every") && e.contains("production_steps = 100"),
            "{e}"
        );
    }

    #[test]
    fn inconsistent_values_name_the_field() {
        let truncated = GOOD.replace(
            "potential: MinimumImage",
            "potential: Truncated(cutoff: 3.5)",
        );
        let e = err_of(&truncated);
        assert!(
            e.contains("system.potential.cutoff") && e.contains("3"),
            "{e}"
        );
        let cells = GOOD
            .replace(
                "potential: MinimumImage",
                "potential: Truncated(cutoff: 2.5)",
            )
            .replace("dt: 0.005,", "dt: 0.005, neighbor: CellList,");
        let e = err_of(&cells);
        assert!(e.contains("sampler.neighbor"), "{e}");
        let e = err_of(&GOOD.replace("dt: 0.005,", "dt: 0.005, gr_max: 4.0,"));
        assert!(e.contains("sampler.gr_max"), "{e}");
    }

    #[test]
    fn chemical_potential_is_every_n_none_or_a_list() {
        let with = |value: &str| {
            GOOD.replace("particles: [40],", "particles: [40, 80],")
                .replace(
                    "    ),\n)",
                    &format!(
                        "    ),\n    training: (),\n    integration: (particles: [40, 60], \
                         chemical_potential: {value}),\n)"
                    ),
                )
        };
        let counts = |value: &str| {
            let s = Scene::from_str(&with(value), "t").unwrap();
            s.validate("t").unwrap();
            s.integration.unwrap().evaluated_counts(&s.system.particles)
        };
        assert_eq!(counts("true"), [40, 41, 60, 61]);
        assert_eq!(counts("false"), [40, 60]);
        assert_eq!(counts("[60]"), [40, 60, 61]);
        assert_eq!(counts("[]"), [40, 60]);
        // 80 is trained but not evaluated here: its N + 1 would have no N to subtract.
        let e = err_of(&with("[40, 80]"));
        assert!(
            e.contains("integration.chemical_potential") && e.contains("N = 80"),
            "{e}"
        );
        // So is a corrector span's.
        let e = err_of(&with(
            "false, corrector_span: (from: 0.0, to: 0.1, correctors: 8, particles: [80])",
        ));
        assert!(
            e.contains("integration.corrector_span.particles") && e.contains("N = 80"),
            "{e}"
        );
    }

    #[test]
    fn widom_runs_at_every_trained_or_integrated_n_unless_told_otherwise() {
        let with = |widom: &str, integration: &str| {
            let text = GOOD
                .replace("particles: [40],", "particles: [40, 80],")
                .replace(
                    "    ),\n)",
                    &format!(
                        "    ),\n    baselines: ({widom}),\n    training: (),\n{integration}\n)"
                    ),
                );
            let s = Scene::from_str(&text, "t").unwrap();
            s.validate("t")
                .map(|()| (s.widom_counts(), s.sampled_counts()))
        };
        let integration = "    integration: (particles: [40, 60, 80]),";
        let (widom, sampled) = with("widom: ()", integration).unwrap();
        assert_eq!((widom, sampled), (vec![40, 80, 60], vec![40, 80, 60]));
        let (widom, sampled) = with("widom: (particles: [60])", integration).unwrap();
        assert_eq!((widom, sampled), (vec![60], vec![40, 80, 60]));
        let (widom, sampled) = with("eos: true", integration).unwrap();
        assert_eq!((widom, sampled), (vec![], vec![40, 80]));
        let (widom, _) = with("widom: ()", "").unwrap();
        assert_eq!(widom, [40, 80]);
        for (list, why) in [("[1]", ">= 2"), ("[400]", "exceeds")] {
            let e = with(&format!("widom: (particles: {list})"), "")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("baselines.widom.particles") && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn auto_uses_cells_only_when_three_fit() {
        let big = GOOD.replace("box_length: 6.0", "box_length: 9.0").replace(
            "potential: MinimumImage",
            "potential: Truncated(cutoff: 2.5)",
        );
        let s = Scene::from_str(&big, "t").unwrap();
        s.validate("t").unwrap();
        assert!(s.uses_cell_list());
        let small = big.replace("box_length: 9.0", "box_length: 8.0");
        assert!(!Scene::from_str(&small, "t").unwrap().uses_cell_list());
    }

    #[test]
    fn optional_fields_are_written_plainly() {
        let text = GOOD
            .replace("seed: 1,", "seed: 1, output: \"elsewhere/run\",")
            .replace("dt: 0.005,", "dt: 0.005, gr_max: 2.0,");
        let s = Scene::from_str(&text, "t").unwrap();
        s.validate("t").unwrap();
        assert_eq!(s.sampler.gr_max, Some(2.0));
        assert_eq!(s.output_dir(), PathBuf::from("elsewhere/run"));
    }

    #[test]
    fn baselines_section_is_validated() {
        let text = GOOD.replace(
            "    sampler: (",
            "    baselines: (widom: (insertions: 0)),\n    sampler: (",
        );
        let e = err_of(&text);
        assert!(e.contains("baselines.widom.insertions"), "{e}");
        let ok = GOOD.replace(
            "    sampler: (",
            "    baselines: (widom: ()),\n    sampler: (",
        );
        let s = Scene::from_str(&ok, "t").unwrap();
        s.validate("t").unwrap();
        assert_eq!(s.baselines.unwrap().widom.unwrap().insertions, 1000);
        let e = err_of(&GOOD.replace(
            "    sampler: (",
            "    baselines: (wisdom: ()),\n    sampler: (",
        ));
        assert!(e.contains("wisdom"), "{e}");
    }

    #[test]
    fn every_baseline_parses_and_gauss_kronrod_needs_15_windows() {
        let all = GOOD.replace(
            "    sampler: (",
            "    baselines: (widom: (), lambda_ti: (path: SoftCore, quadrature: GaussKronrod, \
             windows: 15), eos: true),\n    sampler: (",
        );
        let s = Scene::from_str(&all, "t").unwrap();
        s.validate("t").unwrap();
        assert!(s.baselines.as_ref().unwrap().eos);
        let e = err_of(&all.replace("windows: 15", "windows: 12"));
        assert!(e.contains("baselines.lambda_ti.windows"), "{e}");
    }

    #[test]
    fn model_and_training_sections_are_validated() {
        let with = |model: &str, training: &str| {
            GOOD.replace(
                "    sampler: (",
                &format!("    model: ({model}),\n    training: ({training}),\n    sampler: ("),
            )
        };
        let s = Scene::from_str(&with("hidden: 32", "steps: 100"), "t").unwrap();
        s.validate("t").unwrap();
        assert_eq!(s.model.unwrap().hidden, 32);
        assert_eq!(s.training.as_ref().unwrap().batch, 32);
        assert_eq!(s.training.unwrap().optimizer.lr, 1e-3);
        let e = err_of(&with("r_c: 3.5", ""));
        assert!(e.contains("model.r_c"), "{e}");
        let e = err_of(&with("", "batch: 0"));
        assert!(e.contains("training.batch"), "{e}");
        let e = err_of(&with("", "optimizer: (lr: -1.0)"));
        assert!(e.contains("training.optimizer.lr"), "{e}");
        let e = err_of(&with("", "optimizer: (average: 1.0)"));
        assert!(
            e.contains("training.optimizer.average") && e.contains("0.999"),
            "{e}"
        );
        // Weight averaging is off unless asked for, and then leaves the training's text
        // (its fingerprint) as it was without it.
        let plain = Scene::from_str(&with("", "steps: 100"), "t").unwrap();
        assert_eq!(plain.training().optimizer.average, None);
        assert!(!ron::to_string(&plain.training())
            .unwrap()
            .contains("average"));
        let s = Scene::from_str(&with("", "optimizer: (average: 0.999)"), "t").unwrap();
        s.validate("t").unwrap();
        assert_eq!(s.training().optimizer.average, Some(0.999));
        let e = err_of(&with("hidden: 1000", ""));
        assert!(e.contains("model"), "{e}");
        let s = Scene::from_str(&with("", "target: Blend(switch: 0.4)"), "t").unwrap();
        s.validate("t").unwrap();
        let e = err_of(&with("", "target: Blend(switch: 1.5)"));
        assert!(e.contains("training.target.switch"), "{e}");
        Scene::from_str(&with("", "target: Denoising"), "t")
            .unwrap()
            .validate("t")
            .unwrap();
    }

    #[test]
    fn hash_changes_with_content() {
        let a = Scene::from_str(GOOD, "t").unwrap();
        let b = Scene::from_str(&GOOD.replace("seed: 1", "seed: 2"), "t").unwrap();
        assert_ne!(a.hash(), b.hash());
        let c = Scene::from_str(&GOOD.replace("replicas: 4", "replicas: 5"), "t").unwrap();
        assert_ne!(a.hash(), c.hash());
        // Later stages' sections do not change the samples, nor the hash.
        let d = Scene::from_str(
            &GOOD.replace(
                "    sampler: (",
                "    baselines: (widom: ()),\n    sampler: (",
            ),
            "t",
        )
        .unwrap();
        assert_eq!(a.hash(), d.hash());
        assert_eq!(a.hash(), Scene::from_str(GOOD, "t").unwrap().hash());
    }
}
