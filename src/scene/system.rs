//! The `system` and `sampler` sections of a scene: the physical system (box, temperature,
//! LJ parameters, potential variant, particle counts) and the reference sampler's
//! settings, with their validation; and [`LjParams`], the pair potential as the MD kernels
//! and their references see it ([`Scene::lj_params`](super::Scene::lj_params)).

use super::{bad, positive};
use crate::error::Result;
use serde::{Deserialize, Serialize};

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
    /// Space the kept configurations by the measured autocorrelation instead: this many
    /// integrated autocorrelation times of U apart (τ_int measured over the second half of
    /// equilibration, rounded up to a multiple of `record_every`), as many per replica as
    /// `production_steps / sample_every`; production then runs that many spacings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_spacing: Option<f64>,
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
/// Most replicas a scene may ask for: the WebGPU limit on workgroups per dispatch dimension
/// (the MD kernels run one row of workgroups per replica).
pub const MAX_REPLICAS: u32 = 65_535;
/// Largest g(r) bin count (the kernels keep a workgroup-memory histogram of this size).
pub const MAX_GR_BINS: u32 = 256;

impl Potential {
    /// The spherical cutoff (`None` for the minimum-image potential).
    pub fn cutoff(&self) -> Option<f64> {
        match *self {
            Potential::MinimumImage => None,
            Potential::Truncated { cutoff, .. } => Some(cutoff),
        }
    }
}

impl System {
    /// Number density N σ³ / L³ at N particles.
    pub fn density(&self, n: u32) -> f64 {
        n as f64 * self.sigma.powi(3) / self.box_length.powi(3)
    }

    /// Checks a particle count of this box (at least 2, a fluid's density at most
    /// [`MAX_DENSITY`]); the error names `field`. Its density.
    pub fn check_count(&self, path: &str, field: &str, n: u32) -> Result<f64> {
        if n < 2 {
            return Err(bad(path, field, n, "must be >= 2"));
        }
        let rho = self.density(n);
        if rho > MAX_DENSITY {
            return Err(bad(
                path,
                field,
                n,
                format!(
                    "density N sigma^3 / L^3 = {rho:.3} exceeds {MAX_DENSITY} (a solid, not a \
                     fluid); use at most {} particles in this box",
                    self.max_particles()
                ),
            ));
        }
        Ok(rho)
    }

    /// The largest particle count this box holds below [`MAX_DENSITY`].
    pub fn max_particles(&self) -> f64 {
        (MAX_DENSITY * self.box_length.powi(3) / self.sigma.powi(3)).floor()
    }

    /// Checks the `system` section; returns the highest density of its particle counts.
    pub fn validate(&self, path: &str) -> Result<f64> {
        positive(path, "system.box_length", self.box_length)?;
        positive(path, "system.temperature", self.temperature)?;
        positive(path, "system.epsilon", self.epsilon)?;
        positive(path, "system.sigma", self.sigma)?;
        positive(path, "system.mass", self.mass)?;
        if self.sigma >= 0.5 * self.box_length {
            return Err(bad(
                path,
                "system.sigma",
                self.sigma,
                format!("must be < box_length / 2 = {}", 0.5 * self.box_length),
            ));
        }
        if self.particles.is_empty() {
            return Err(bad(
                path,
                "system.particles",
                "[]",
                "list at least one particle count, e.g. [40]",
            ));
        }
        let mut max_density: f64 = 0.0;
        for (k, &n) in self.particles.iter().enumerate() {
            let field = format!("system.particles[{k}]");
            if self.particles[..k].contains(&n) {
                return Err(bad(
                    path,
                    &field,
                    n,
                    "appears twice: list every particle count once",
                ));
            }
            max_density = max_density.max(self.check_count(path, &field, n)?);
        }
        if let Potential::Truncated { cutoff, .. } = self.potential {
            positive(path, "system.potential.cutoff", cutoff)?;
            if cutoff > 0.5 * self.box_length {
                return Err(bad(
                    path,
                    "system.potential.cutoff",
                    cutoff,
                    format!(
                        "must be <= box_length / 2 = {} (minimum image); use a bigger box or a shorter cutoff",
                        0.5 * self.box_length
                    ),
                ));
            }
            if cutoff < self.sigma {
                return Err(bad(
                    path,
                    "system.potential.cutoff",
                    cutoff,
                    format!("must be >= sigma = {} (2.5 sigma is usual)", self.sigma),
                ));
            }
        }
        Ok(max_density)
    }
}

impl SamplerSettings {
    /// True when this sampler uses the cell-list path for `system`.
    pub fn uses_cell_list(&self, system: &System) -> bool {
        match (self.neighbor, &system.potential) {
            (NeighborMode::AllPairs, _) | (_, Potential::MinimumImage) => false,
            (NeighborMode::CellList, _) => true,
            (NeighborMode::Auto, Potential::Truncated { cutoff, .. }) => {
                3.0 * (cutoff + self.skin) <= system.box_length
            }
        }
    }

    /// Checks the `sampler` section against `system` (whose highest density is
    /// `max_density`).
    pub fn validate(&self, path: &str, system: &System, max_density: f64) -> Result<()> {
        let m = self;
        if m.replicas == 0 {
            return Err(bad(path, "sampler.replicas", 0, "must be >= 1"));
        }
        if m.replicas > MAX_REPLICAS {
            return Err(bad(
                path,
                "sampler.replicas",
                m.replicas,
                format!(
                    "must be <= {MAX_REPLICAS} (one row of workgroups per replica; 64-256 is \
                     typical)"
                ),
            ));
        }
        positive(path, "sampler.dt", m.dt)?;
        let dt_max = max_stable_dt(system, max_density);
        if m.dt > dt_max {
            return Err(bad(
                path,
                "sampler.dt",
                m.dt,
                format!(
                    "too large for density {max_density:.3} at this epsilon, kT and mass: \
                     must be <= {dt_max:.4} (0.005 is the usual choice)"
                ),
            ));
        }
        if !(m.friction.is_finite() && m.friction >= 0.0) {
            return Err(bad(
                path,
                "sampler.friction",
                m.friction,
                "must be a finite number >= 0 (0 = NVE)",
            ));
        }
        if m.friction * m.dt > 2.0 {
            return Err(bad(
                path,
                "sampler.friction",
                m.friction,
                format!("friction * dt must be <= 2; use friction <= {}", 2.0 / m.dt),
            ));
        }
        if m.record_every == 0 {
            return Err(bad(path, "sampler.record_every", 0, "must be >= 1"));
        }
        if m.sample_every == 0 {
            return Err(bad(path, "sampler.sample_every", 0, "must be >= 1"));
        }
        if let Some(x) = m.tau_spacing {
            if !(x.is_finite() && x > 0.0 && x <= 100.0) {
                return Err(bad(
                    path,
                    "sampler.tau_spacing",
                    x,
                    "must be in (0, 100] autocorrelation times (2 keeps configurations \
                     decorrelated); leave it out to keep one every sample_every steps",
                ));
            }
            if m.equilibration_steps < 2 * m.record_every as u64 {
                return Err(bad(
                    path,
                    "sampler.equilibration_steps",
                    m.equilibration_steps,
                    format!(
                        "tau_spacing measures tau_int over the second half of equilibration: \
                         use at least {} steps (2 x record_every)",
                        2 * m.record_every
                    ),
                ));
            }
        }
        if m.production_steps < m.record_every as u64 {
            return Err(bad(
                path,
                "sampler.production_steps",
                m.production_steps,
                format!("must be >= record_every = {}", m.record_every),
            ));
        }
        positive(path, "sampler.skin", m.skin)?;
        if m.gr_bins == 0 || m.gr_bins > MAX_GR_BINS {
            return Err(bad(
                path,
                "sampler.gr_bins",
                m.gr_bins,
                format!("must be in 1..={MAX_GR_BINS}"),
            ));
        }
        let cutoff = system.potential.cutoff();
        if m.neighbor == NeighborMode::CellList {
            let Some(rc) = cutoff else {
                return Err(bad(
                    path,
                    "sampler.neighbor",
                    "CellList",
                    "the MinimumImage potential has no cutoff: use AllPairs or Auto",
                ));
            };
            if 3.0 * (rc + m.skin) > system.box_length {
                return Err(bad(
                    path,
                    "sampler.neighbor",
                    "CellList",
                    format!(
                        "cell lists need box_length >= 3 (cutoff + skin) = {}; the box is {}. \
                         Use AllPairs or Auto, a shorter cutoff or a smaller skin",
                        3.0 * (rc + m.skin),
                        system.box_length
                    ),
                ));
            }
        }
        if let Some(g) = m.gr_max {
            positive(path, "sampler.gr_max", g)?;
            let limit = match (self.uses_cell_list(system), cutoff) {
                (true, Some(rc)) => rc,
                _ => 0.5 * system.box_length,
            };
            if g > limit + 1e-12 {
                return Err(bad(
                    path,
                    "sampler.gr_max",
                    g,
                    format!(
                        "must be <= {limit} (half the box, or the cutoff when cell lists are used)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Largest time step accepted at number density `rho`: 0.02 tau / (1 + rho sigma^3), with
/// tau = sigma sqrt(m / max(epsilon, kT)). Gives 0.011 tau at rho = 0.8 and 0.017 tau at
/// rho = 0.19 (0.005 is the usual LJ choice); denser fluids have steeper collisions.
pub fn max_stable_dt(system: &System, rho: f64) -> f64 {
    let energy = system.epsilon.max(system.temperature);
    let tau = system.sigma * (system.mass / energy).sqrt();
    0.02 * tau / (1.0 + rho * system.sigma.powi(3))
}

/// Parameters of the pair potential in a cubic periodic box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LjParams {
    /// Well depth.
    pub epsilon: f64,
    /// Diameter.
    pub sigma: f64,
    /// Cutoff (`None`: every minimum-image pair counts).
    pub cutoff: Option<f64>,
    /// Energy shifted to zero at the cutoff.
    pub shift: bool,
    /// Box side.
    pub box_length: f64,
}
