//! The `baselines` section of a scene: the classical free-energy routes computed on the
//! same system (Widom insertion, λ-window TI with MBAR, equations of state).

use super::bad;
use super::system::SamplerSettings;
use crate::error::Result;
use serde::{Deserialize, Serialize};

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
    /// The particle counts to insert into (default: every N the scene trains on or
    /// integrates, N + 1 excepted); the reference fluid is sampled at those it does not
    /// train on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<Vec<u32>>,
}

fn default_insertions() -> u32 {
    1000
}

impl Baselines {
    /// Checks the `baselines` section against the reference sampler's settings.
    pub fn validate(&self, path: &str, sampler: &SamplerSettings) -> Result<()> {
        if let Some(w) = &self.widom {
            if w.insertions == 0 || w.insertions > 1 << 20 {
                return Err(bad(
                    path,
                    "baselines.widom.insertions",
                    w.insertions,
                    "must be in 1..=1048576 per configuration",
                ));
            }
        }
        if let Some(t) = &self.lambda_ti {
            t.validate(path, sampler)?;
        }
        Ok(())
    }
}

impl LambdaTiSettings {
    /// Checks the `baselines.lambda_ti` section.
    pub fn validate(&self, path: &str, sampler: &SamplerSettings) -> Result<()> {
        let t = self;
        if t.quadrature == Quadrature::GaussKronrod && t.windows != 15 {
            return Err(bad(
                path,
                "baselines.lambda_ti.windows",
                t.windows,
                "GaussKronrod uses exactly 15 windows per leg",
            ));
        }
        let min = if t.quadrature == Quadrature::Trapezoid {
            3
        } else {
            2
        };
        if t.windows < min || t.windows > 200 {
            return Err(bad(
                path,
                "baselines.lambda_ti.windows",
                t.windows,
                format!("must be in {min}..=200 per leg"),
            ));
        }
        let windows_replicas = t.windows as u64 * t.replicas_per_window as u64;
        if windows_replicas > super::system::MAX_REPLICAS as u64 {
            return Err(bad(
                path,
                "baselines.lambda_ti.replicas_per_window",
                t.replicas_per_window,
                format!(
                    "windows x replicas_per_window = {windows_replicas} replicas in one run; at \
                     most {} fit",
                    super::system::MAX_REPLICAS
                ),
            ));
        }
        if t.replicas_per_window == 0 {
            return Err(bad(
                path,
                "baselines.lambda_ti.replicas_per_window",
                0,
                "must be >= 1 (4 or more give useful error bars)",
            ));
        }
        if t.sample_every == 0 || t.production_steps < t.sample_every as u64 {
            return Err(bad(
                path,
                "baselines.lambda_ti.sample_every",
                t.sample_every,
                format!("must be in 1..={}", t.production_steps),
            ));
        }
        if t.production_steps < sampler.record_every as u64 {
            return Err(bad(
                path,
                "baselines.lambda_ti.production_steps",
                t.production_steps,
                format!("must be >= sampler.record_every = {}", sampler.record_every),
            ));
        }
        Ok(())
    }

    /// Legs of the path (two for [`LambdaPath::TwoLeg`], one for the soft core).
    pub fn legs(&self) -> u64 {
        match self.path {
            LambdaPath::TwoLeg => 2,
            LambdaPath::SoftCore => 1,
        }
    }
}
