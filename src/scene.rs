//! Scene files: the RON schema of a run and its validation.
//!
//! A scene names the system (box, temperature, LJ parameters, potential variant, particle
//! counts), the reference sampler's settings, the seed and the output directory. Later
//! stages (model, training, integration, baselines) are further optional sections.
//! Unknown fields are an error. [`Scene::from_str`] reports syntax errors with line and
//! column; [`Scene::validate`] reports semantic errors naming the field, the value and the
//! allowed range.
//!
//! Units: lengths in sigma's unit, energies in the unit of `temperature` (which is kT) and
//! `epsilon`; the paper's system is `temperature: 1.0, epsilon: 0.8` (T* = 1.25).

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
    pub model: Option<crate::reference::energy_model::ModelConfig>,
    /// Denoising score-matching training of the model.
    #[serde(default)]
    pub training: Option<TrainingSettings>,
    /// Neural TI: samplers, time grid, quadrature and the particle counts to evaluate
    /// (needs `training`).
    #[serde(default)]
    pub integration: Option<crate::ti::settings::IntegrationSettings>,
}

/// Training settings (defaults: the paper's code, with a CI-sized step count).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSettings {
    /// Optimizer steps (the paper: 100 000).
    #[serde(default = "default_training_steps")]
    pub steps: u64,
    /// Configurations per batch (the paper: 32).
    #[serde(default = "default_batch")]
    pub batch: u32,
    /// AdamW and its learning-rate schedule.
    #[serde(default)]
    pub optimizer: crate::model::optimizer::AdamSettings,
    /// Read the loss back every this many steps (progress bar, loss log).
    #[serde(default = "default_log_every")]
    pub log_every: u32,
    /// Write a checkpoint every this many steps.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u32,
    /// Regression target of the score (default: target score matching blended into
    /// denoising above t = 0.3; `Denoising` is the paper's plain DSM).
    #[serde(default)]
    pub target: crate::train::ScoreTarget,
    /// Times are drawn as t = v^time_exponent with v stratified uniform over the batch:
    /// 1 is uniform (the paper), 3 (default) puts 0.1^(1/3) ≈ 46 % of the configurations
    /// below t = 0.1, where the target score gives the loss its signal.
    #[serde(default = "default_time_exponent")]
    pub time_exponent: f64,
}

fn default_time_exponent() -> f64 {
    3.0
}

fn default_training_steps() -> u64 {
    10_000
}
fn default_batch() -> u32 {
    32
}
fn default_log_every() -> u32 {
    100
}
fn default_checkpoint_every() -> u32 {
    1000
}

/// Which baselines to compute, and how.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baselines {
    /// Widom test-particle insertion into the reference samples.
    #[serde(default)]
    pub widom: Option<WidomSettings>,
    /// Standard λ-window thermodynamic integration (and MBAR over the same windows).
    #[serde(default)]
    pub lambda_ti: Option<LambdaTiSettings>,
    /// The Kolafa–Nezbeda and Johnson–Zollweg–Gubbins equations of state of the full LJ
    /// fluid at the scene's T* = kT/ε and ρ = Nσ³/V (no simulation; for the
    /// minimum-image potential without cutoff they are an approximation).
    #[serde(default)]
    pub eos: bool,
}

/// The λ path of standard TI.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum LambdaPath {
    /// LJ → WCA, then WCA → ideal gas with a repulsive soft core: cannot collapse.
    #[default]
    TwoLeg,
    /// The paper's soft core with the attraction on (collapses at liquid densities).
    SoftCore,
}

/// Quadrature rule over λ.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum Quadrature {
    /// Gauss–Legendre nodes and weights.
    #[default]
    GaussLegendre,
    /// Trapezoid rule on an even grid including λ = 0 and 1.
    Trapezoid,
    /// 15-point Gauss–Kronrod (`windows` must be 15); the embedded 7-point Gauss rule on
    /// the same windows gives the discretisation error.
    GaussKronrod,
}

/// λ-window TI settings. All windows of a leg run as replicas of one batched simulation
/// with the scene's dt and friction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaTiSettings {
    /// The path.
    #[serde(default)]
    pub path: LambdaPath,
    /// Windows per leg.
    #[serde(default = "default_windows")]
    pub windows: u32,
    /// Independent replicas per window (for error bars).
    #[serde(default = "default_window_replicas")]
    pub replicas_per_window: u32,
    /// Quadrature rule.
    #[serde(default)]
    pub quadrature: Quadrature,
    /// Steps discarded in every window.
    #[serde(default = "default_window_equilibration")]
    pub equilibration_steps: u64,
    /// Recorded steps in every window.
    #[serde(default = "default_window_production")]
    pub production_steps: u64,
    /// Keep a frame for MBAR every this many steps.
    #[serde(default = "default_window_sample_every")]
    pub sample_every: u32,
    /// Also run MBAR over the windows.
    #[serde(default = "default_true")]
    pub mbar: bool,
}

fn default_windows() -> u32 {
    12
}
fn default_window_replicas() -> u32 {
    4
}
fn default_window_equilibration() -> u64 {
    2000
}
fn default_window_production() -> u64 {
    4000
}
fn default_window_sample_every() -> u32 {
    200
}
fn default_true() -> bool {
    true
}

/// Widom insertion settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidomSettings {
    /// Test particles inserted into every kept configuration.
    #[serde(default = "default_insertions")]
    pub insertions: u32,
}

fn default_insertions() -> u32 {
    1000
}

/// The physical system: a cubic periodic box of Lennard-Jones particles.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// Box side length L (units of sigma's unit).
    pub box_length: f64,
    /// Thermal energy kT (the energy unit of the run).
    pub temperature: f64,
    /// LJ well depth, in the same unit as `temperature`.
    #[serde(default = "one")]
    pub epsilon: f64,
    /// LJ diameter.
    #[serde(default = "one")]
    pub sigma: f64,
    /// Particle mass.
    #[serde(default = "one")]
    pub mass: f64,
    /// Particle counts N to simulate (each is a separate system in the same box).
    pub particles: Vec<u32>,
    /// The pair potential variant.
    pub potential: Potential,
}

/// The pair potential variant.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Potential {
    /// The paper's: every minimum-image pair counts, no cutoff, no shift, no tail correction.
    MinimumImage,
    /// Truncated at `cutoff`; with `shift` the pair energy is shifted to zero at the cutoff.
    /// Standard analytic tail corrections are reported next to the raw values.
    Truncated {
        /// Cutoff radius r_c (at most half the box).
        cutoff: f64,
        /// Shift the pair energy so u(r_c) = 0.
        #[serde(default)]
        shift: bool,
    },
}

/// How pairs are found.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum NeighborMode {
    /// Cell list + Verlet list when the box holds at least 3 cells of r_c + skin per side,
    /// all pairs otherwise.
    #[default]
    Auto,
    /// Every minimum-image pair, tiled in workgroup memory (small boxes, no cutoff).
    AllPairs,
    /// Cell list (counting sort on the device) + Verlet neighbour list with a skin.
    CellList,
}

/// Langevin (BAOAB) reference sampler settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerSettings {
    /// Independent replicas B simulated in the same dispatches.
    pub replicas: u32,
    /// Time step (units of sigma sqrt(m / epsilon) when kT is the energy unit).
    pub dt: f64,
    /// Langevin friction gamma (1/time). 0 gives NVE velocity Verlet.
    #[serde(default = "one")]
    pub friction: f64,
    /// Steps discarded before recording.
    pub equilibration_steps: u64,
    /// Recorded steps.
    pub production_steps: u64,
    /// Record energy, virial and kinetic energy every this many steps.
    #[serde(default = "default_record_every")]
    pub record_every: u32,
    /// Keep a configuration (and accumulate g(r)) every this many steps.
    #[serde(default = "default_sample_every")]
    pub sample_every: u32,
    /// Pair search.
    #[serde(default)]
    pub neighbor: NeighborMode,
    /// Verlet skin for the cell-list path.
    #[serde(default = "default_skin")]
    pub skin: f64,
    /// g(r) histogram bins (1..=256).
    #[serde(default = "default_gr_bins")]
    pub gr_bins: u32,
    /// g(r) range; default half the box (all pairs) or the cutoff (cell list).
    #[serde(default)]
    pub gr_max: Option<f64>,
}

fn one() -> f64 {
    1.0
}
fn default_record_every() -> u32 {
    10
}
fn default_sample_every() -> u32 {
    100
}
fn default_skin() -> f64 {
    0.3
}
fn default_gr_bins() -> u32 {
    100
}

/// The highest number density (in sigma^-3) a scene may ask for; above the LJ solid's density
/// near the triple point, nothing is a fluid.
pub const MAX_DENSITY: f64 = 1.2;
/// Largest g(r) bin count (the kernels keep a workgroup-memory histogram of this size).
pub const MAX_GR_BINS: u32 = 256;

impl Scene {
    /// Parses a scene from RON text; `path` is used in messages.
    pub fn from_str(text: &str, path: &str) -> Result<Scene> {
        // Optional fields are written plainly (`gr_max: 2.5`, not `Some(2.5)`).
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let scene: Scene = options.from_str(text).map_err(|e| Error::SceneSyntax {
            path: path.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })?;
        Ok(scene)
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
        let bad = |field: &str, value: String, message: String| Error::SceneValue {
            path: path.to_string(),
            field: field.to_string(),
            value,
            message,
        };
        let positive = |field: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(
                    field,
                    v.to_string(),
                    "must be a finite number > 0".into(),
                ))
            }
        };
        if self.name.trim().is_empty()
            || self.name.contains(['/', '\\'])
            || self.name.starts_with('.')
        {
            return Err(bad(
                "name",
                format!("{:?}", self.name),
                "must be a non-empty plain name (no '/', no leading '.'); it names the output directory".into(),
            ));
        }
        let s = &self.system;
        positive("system.box_length", s.box_length)?;
        positive("system.temperature", s.temperature)?;
        positive("system.epsilon", s.epsilon)?;
        positive("system.sigma", s.sigma)?;
        positive("system.mass", s.mass)?;
        if s.sigma >= 0.5 * s.box_length {
            return Err(bad(
                "system.sigma",
                s.sigma.to_string(),
                format!("must be < box_length / 2 = {}", 0.5 * s.box_length),
            ));
        }
        if s.particles.is_empty() {
            return Err(bad(
                "system.particles",
                "[]".into(),
                "list at least one particle count, e.g. [40]".into(),
            ));
        }
        let volume = s.box_length.powi(3);
        let mut max_density: f64 = 0.0;
        for (k, &n) in s.particles.iter().enumerate() {
            let field = format!("system.particles[{k}]");
            if n < 2 {
                return Err(bad(&field, n.to_string(), "must be >= 2".into()));
            }
            let rho = n as f64 * s.sigma.powi(3) / volume;
            if rho > MAX_DENSITY {
                return Err(bad(
                    &field,
                    n.to_string(),
                    format!(
                        "density N sigma^3 / L^3 = {rho:.3} exceeds {MAX_DENSITY} (a solid, not a fluid); \
                         use at most {} particles in this box",
                        (MAX_DENSITY * volume / s.sigma.powi(3)).floor()
                    ),
                ));
            }
            max_density = max_density.max(rho);
        }
        if let Potential::Truncated { cutoff, .. } = s.potential {
            positive("system.potential.cutoff", cutoff)?;
            if cutoff > 0.5 * s.box_length {
                return Err(bad(
                    "system.potential.cutoff",
                    cutoff.to_string(),
                    format!(
                        "must be <= box_length / 2 = {} (minimum image); use a bigger box or a shorter cutoff",
                        0.5 * s.box_length
                    ),
                ));
            }
            if cutoff < s.sigma {
                return Err(bad(
                    "system.potential.cutoff",
                    cutoff.to_string(),
                    format!("must be >= sigma = {} (2.5 sigma is usual)", s.sigma),
                ));
            }
        }
        let m = &self.sampler;
        if m.replicas == 0 {
            return Err(bad("sampler.replicas", "0".into(), "must be >= 1".into()));
        }
        positive("sampler.dt", m.dt)?;
        let dt_max = max_stable_dt(s, max_density);
        if m.dt > dt_max {
            return Err(bad(
                "sampler.dt",
                m.dt.to_string(),
                format!(
                    "too large for density {max_density:.3} at this epsilon, kT and mass: \
                     must be <= {dt_max:.4} (0.005 is the usual choice)"
                ),
            ));
        }
        if !(m.friction.is_finite() && m.friction >= 0.0) {
            return Err(bad(
                "sampler.friction",
                m.friction.to_string(),
                "must be a finite number >= 0 (0 = NVE)".into(),
            ));
        }
        if m.friction * m.dt > 2.0 {
            return Err(bad(
                "sampler.friction",
                m.friction.to_string(),
                format!("friction * dt must be <= 2; use friction <= {}", 2.0 / m.dt),
            ));
        }
        if m.record_every == 0 {
            return Err(bad(
                "sampler.record_every",
                "0".into(),
                "must be >= 1".into(),
            ));
        }
        if m.sample_every == 0 {
            return Err(bad(
                "sampler.sample_every",
                "0".into(),
                "must be >= 1".into(),
            ));
        }
        if m.production_steps < m.record_every as u64 {
            return Err(bad(
                "sampler.production_steps",
                m.production_steps.to_string(),
                format!("must be >= record_every = {}", m.record_every),
            ));
        }
        positive("sampler.skin", m.skin)?;
        if m.gr_bins == 0 || m.gr_bins > MAX_GR_BINS {
            return Err(bad(
                "sampler.gr_bins",
                m.gr_bins.to_string(),
                format!("must be in 1..={MAX_GR_BINS}"),
            ));
        }
        let cutoff = match s.potential {
            Potential::MinimumImage => None,
            Potential::Truncated { cutoff, .. } => Some(cutoff),
        };
        if m.neighbor == NeighborMode::CellList {
            let Some(rc) = cutoff else {
                return Err(bad(
                    "sampler.neighbor",
                    "CellList".into(),
                    "the MinimumImage potential has no cutoff: use AllPairs or Auto".into(),
                ));
            };
            if 3.0 * (rc + m.skin) > s.box_length {
                return Err(bad(
                    "sampler.neighbor",
                    "CellList".into(),
                    format!(
                        "cell lists need box_length >= 3 (cutoff + skin) = {}; the box is {}. \
                         Use AllPairs or Auto, a shorter cutoff or a smaller skin",
                        3.0 * (rc + m.skin),
                        s.box_length
                    ),
                ));
            }
        }
        if let Some(g) = m.gr_max {
            positive("sampler.gr_max", g)?;
            let limit = match (self.uses_cell_list(), cutoff) {
                (true, Some(rc)) => rc,
                _ => 0.5 * s.box_length,
            };
            if g > limit + 1e-12 {
                return Err(bad(
                    "sampler.gr_max",
                    g.to_string(),
                    format!(
                        "must be <= {limit} (half the box, or the cutoff when cell lists are used)"
                    ),
                ));
            }
        }
        if let Some(w) = self.baselines.as_ref().and_then(|b| b.widom.as_ref()) {
            if w.insertions == 0 || w.insertions > 1 << 20 {
                return Err(bad(
                    "baselines.widom.insertions",
                    w.insertions.to_string(),
                    "must be in 1..=1048576 per configuration".into(),
                ));
            }
            if m.production_steps < m.sample_every as u64 {
                return Err(bad(
                    "sampler.sample_every",
                    m.sample_every.to_string(),
                    format!(
                        "Widom needs kept configurations: must be <= production_steps = {}",
                        m.production_steps
                    ),
                ));
            }
        }
        if let Some(model) = &self.model {
            model
                .validate()
                .map_err(|e| bad("model", format!("{model:?}"), format!("{e}")))?;
            if 2.0 * model.r_c > s.box_length {
                return Err(bad(
                    "model.r_c",
                    model.r_c.to_string(),
                    format!(
                        "must be <= box_length / 2 = {} (descriptors use the minimum image)",
                        0.5 * s.box_length
                    ),
                ));
            }
            if let Err(e) = crate::model::kernels::check_sizes(model) {
                return Err(bad("model", format!("{model:?}"), e.to_string()));
            }
        }
        if let Some(t) = &self.training {
            if t.steps == 0 {
                return Err(bad("training.steps", "0".into(), "must be >= 1".into()));
            }
            if t.batch == 0 || t.batch > 4096 {
                return Err(bad(
                    "training.batch",
                    t.batch.to_string(),
                    "must be in 1..=4096 (the paper uses 32)".into(),
                ));
            }
            if t.log_every == 0 || t.checkpoint_every == 0 {
                return Err(bad(
                    "training.log_every",
                    format!("{} / checkpoint_every {}", t.log_every, t.checkpoint_every),
                    "both must be >= 1".into(),
                ));
            }
            t.optimizer.validate().map_err(|(field, value, range)| {
                bad(&format!("training.optimizer.{field}"), value, range)
            })?;
            if let crate::train::ScoreTarget::Blend { switch } = t.target {
                if !(0.0..=1.0).contains(&switch) {
                    return Err(bad(
                        "training.target.switch",
                        switch.to_string(),
                        "must be a time in [0, 1] (0.3 is the default; use `target: \
                         Denoising` for plain denoising score matching)"
                            .into(),
                    ));
                }
            }
            if !(t.time_exponent.is_finite() && (0.25..=4.0).contains(&t.time_exponent)) {
                return Err(bad(
                    "training.time_exponent",
                    t.time_exponent.to_string(),
                    "must be in [0.25, 4] (1 = uniform t, 2 = more configurations at small t)"
                        .into(),
                ));
            }
            if t.batch < self.system.particles.len() as u32 {
                return Err(bad(
                    "training.batch",
                    t.batch.to_string(),
                    format!(
                        "must be at least the number of particle counts ({}): every step \
                         trains each N on batch / {} configurations",
                        self.system.particles.len(),
                        self.system.particles.len()
                    ),
                ));
            }
        }
        if let Some(integ) = &self.integration {
            integ.validate(path)?;
            if self.training.is_none() {
                return Err(bad(
                    "integration",
                    "(...)".into(),
                    "integration needs a trained model: add a `training: (...)` section \
                     (its defaults are fine) so `nti-gpu run` trains one first"
                        .into(),
                ));
            }
            for n in integ.evaluated_counts(&s.particles) {
                let rho = n as f64 * s.sigma.powi(3) / volume;
                if rho > MAX_DENSITY {
                    return Err(bad(
                        "integration.particles",
                        n.to_string(),
                        format!(
                            "evaluating N = {n} means density {rho:.3} > {MAX_DENSITY} in this box; \
                             evaluate at most {} particles (with chemical_potential, N + 1 counts too)",
                            (MAX_DENSITY * volume / s.sigma.powi(3)).floor()
                        ),
                    ));
                }
            }
        }
        if let Some(t) = self.baselines.as_ref().and_then(|b| b.lambda_ti.as_ref()) {
            if t.quadrature == Quadrature::GaussKronrod && t.windows != 15 {
                return Err(bad(
                    "baselines.lambda_ti.windows",
                    t.windows.to_string(),
                    "GaussKronrod uses exactly 15 windows per leg".into(),
                ));
            }
            let min = if t.quadrature == Quadrature::Trapezoid {
                3
            } else {
                2
            };
            if t.windows < min || t.windows > 200 {
                return Err(bad(
                    "baselines.lambda_ti.windows",
                    t.windows.to_string(),
                    format!("must be in {min}..=200 per leg"),
                ));
            }
            if t.replicas_per_window == 0 {
                return Err(bad(
                    "baselines.lambda_ti.replicas_per_window",
                    "0".into(),
                    "must be >= 1 (4 or more give useful error bars)".into(),
                ));
            }
            if t.sample_every == 0 || t.production_steps < t.sample_every as u64 {
                return Err(bad(
                    "baselines.lambda_ti.sample_every",
                    t.sample_every.to_string(),
                    format!("must be in 1..={}", t.production_steps),
                ));
            }
            if t.production_steps < m.record_every as u64 {
                return Err(bad(
                    "baselines.lambda_ti.production_steps",
                    t.production_steps.to_string(),
                    format!("must be >= sampler.record_every = {}", m.record_every),
                ));
            }
        }
        Ok(())
    }

    /// True when the sampler will use the cell-list path.
    pub fn uses_cell_list(&self) -> bool {
        let s = &self.system;
        match (self.sampler.neighbor, &s.potential) {
            (NeighborMode::AllPairs, _) | (_, Potential::MinimumImage) => false,
            (NeighborMode::CellList, _) => true,
            (NeighborMode::Auto, Potential::Truncated { cutoff, .. }) => {
                3.0 * (cutoff + self.sampler.skin) <= s.box_length
            }
        }
    }

    /// A stable 64-bit hash (FNV-1a of canonical RON) of what determines the reference
    /// samples: the seed, the system and the sampler settings. Written into sample files
    /// so that data can be matched with the scene that made them; sections of later
    /// stages (baselines, ...) do not change it.
    pub fn hash(&self) -> u64 {
        let text = ron::to_string(&(self.seed, &self.system, &self.sampler)).unwrap_or_default();
        fnv1a64(text.as_bytes())
    }
}

/// FNV-1a 64-bit hash.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Largest time step accepted at number density `rho`: 0.02 tau / (1 + rho sigma^3), with
/// tau = sigma sqrt(m / max(epsilon, kT)). Gives 0.011 tau at rho = 0.8 and 0.017 tau at
/// rho = 0.19 (0.005 is the usual LJ choice); denser fluids have steeper collisions.
pub fn max_stable_dt(system: &System, rho: f64) -> f64 {
    let energy = system.epsilon.max(system.temperature);
    let tau = system.sigma * (system.mass / energy).sqrt();
    0.02 * tau / (1.0 + rho * system.sigma.powi(3))
}

#[cfg(test)]
mod tests {
    use super::*;

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
