//! The scene's `integration` section: which particle counts to evaluate, with which
//! samplers ([`Estimator`], [`CorrectorSettings`]), on which time grid and quadrature.
//!
//! ```ron
//! integration: (
//!     particles: [40],            // N to evaluate (default: the system's particle counts)
//!     chemical_potential: true,   // also evaluate N + 1 for βμ_ex(N → N+1); or a list,
//!                                 // e.g. [40, 200]: N + 1 of those N only
//!     trajectories: 64,           // independent trajectories per estimator and N
//!     steps: 200,                 // K grid intervals (the paper: 1000)
//!     grid: Power(exponent: 2.0), // dense near t = 0
//!     rule: Trapezoid,            // Riemann (the paper's) | Trapezoid | Simpson
//!     estimators: [ReverseSde, Corrected, Annealed, ForwardNoise],
//!     correctors: 2,              // MALA steps per grid point (Corrected, Annealed)
//!     target_accept: 0.57,
//!     target_error: 0.5,          // kT: more batches of trajectories until each estimator's
//!                                 // error is at most this (optional)
//!     target_relative_error: 0.003, // or at most this fraction of |βF_ex| (optional)
//! )
//! ```

use crate::error::Result;
use crate::quadrature::{Rule, TimeGrid};
use serde::{Deserialize, Serialize};

/// Largest population (C/P) the device's resampling kernel handles.
pub const MAX_POPULATION: usize = 1024;

/// Largest corrector count per grid point (the sub-step index lives in 24 bits of a tag).
pub const MAX_CORRECTORS: u32 = 1 << 16;

/// A value error of field `integration.<field>`.
fn bad(path: &str, field: &str, value: String, message: String) -> crate::error::Error {
    super::bad(path, &format!("integration.{field}"), value, message)
}

/// One way of sampling the marginals p_t for the TI integrand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Estimator {
    /// The paper's reverse SDE (Euler–Maruyama) alone.
    ReverseSde,
    /// Reverse SDE with MALA correctors at every t: asymptotically exact TI.
    Corrected,
    /// MALA moves only (annealed Langevin): TI, and the annealed-importance-sampling
    /// (Jarzynski) estimate, unbiased whatever the model.
    Annealed,
    /// Forward-noised reference samples (exact samples of the true marginals): a
    /// diagnostic; needs reference samples at that N.
    ForwardNoise,
}

impl Estimator {
    /// Short name used in file names and results keys.
    pub fn key(self) -> &'static str {
        match self {
            Estimator::ReverseSde => "reverse_sde",
            Estimator::Corrected => "corrected",
            Estimator::Annealed => "annealed",
            Estimator::ForwardNoise => "forward_noise",
        }
    }

    /// Human-readable label.
    pub fn label(self) -> &'static str {
        match self {
            Estimator::ReverseSde => "reverse SDE",
            Estimator::Corrected => "reverse SDE + MALA",
            Estimator::Annealed => "annealed MALA",
            Estimator::ForwardNoise => "forward-noised data",
        }
    }
}

/// The `integration` section of a scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntegrationSettings {
    /// Particle counts to evaluate (empty: the system's `particles`). The model is a sum
    /// over particles, so any N works, including counts it was not trained on.
    pub particles: Vec<u32>,
    /// Also evaluate N + 1, giving βμ_ex(N → N+1) = βF_ex(N+1) − βF_ex(N): for every N
    /// (`true`), none (`false`) or the N listed.
    pub chemical_potential: ChemicalPotential,
    /// Independent trajectories per estimator and N.
    pub trajectories: u32,
    /// Grid intervals K (the paper: 1000).
    pub steps: u32,
    /// How the K + 1 times are spread over [0, 1].
    pub grid: TimeGrid,
    /// Quadrature rule over the grid.
    pub rule: Rule,
    /// Which samplers to run.
    pub estimators: Vec<Estimator>,
    /// MALA steps per grid point for `Corrected` and `Annealed`.
    pub correctors: u32,
    /// Target acceptance of the step-size adaptation (one MALA step size per population,
    /// adapted between grid points).
    pub target_accept: f64,
    /// Adaptation rate κ: after every grid point ln h += κ (accepted − M · target), with
    /// `accepted` the batch's mean number of accepted proposals out of M.
    pub adapt_rate: f64,
    /// Initial MALA step size h, in units of σ² (the walk moves √(2h) per coordinate).
    pub initial_step_size: f64,
    /// Largest MALA step size as a fraction of L²: keeps a move well inside the box, so
    /// the minimum-image proposal density is exact (the images it ignores weigh
    /// exp(−(L/2)²/4h) ≈ 1e-9 at the default 3e-3).
    pub max_step_fraction: f64,
    /// MALA-corrected samplers (`Corrected`, `Annealed`): populations the trajectories are
    /// split into. Each population has its own step size and resampling; with resampling
    /// the error bars come from the spread between populations.
    pub populations: u32,
    /// MALA-corrected samplers: resample a population when the effective sample size of
    /// its importance weights falls below this fraction of its size (population annealing;
    /// `Corrected` weights include the predictor's ln L/F); 0 never resamples.
    pub resample: f64,
    /// MALA-corrected samplers: another number of correctors over a span of t, where the
    /// samplers lag the path most (the report's table of where βF_ex builds up along t
    /// shows it; in a dense liquid t ≈ 0.1–0.7, in a dilute gas t < 0.1); one span or a
    /// list, each for every N or for the N it lists.
    pub corrector_span: Option<CorrectorSpans>,
    /// Seed of the samplers' random streams (default: the scene's `seed`). The same model
    /// integrated with another seed is an independent replicate of every estimate: its
    /// scatter checks the error bars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Integration sized by the error asked for: when an estimator's βF_ex error (1σ, kT)
    /// after its `trajectories` is above this, further batches of `trajectories` (each
    /// with its own random stream, their populations added to the first's) run until the
    /// error is at most this or `max_trajectories` is reached; the number of batches comes
    /// from the error's 1/√C scaling. Recorded batches are read back: added to a finished
    /// run, a target runs only the batches after them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<f64>,
    /// Integration sized by a relative error: as `target_error`, with the target this
    /// fraction of the estimate's |βF_ex| (0.003: 0.3 %, so each N gets its own target in
    /// kT). With both, the smaller target holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_relative_error: Option<f64>,
    /// With `target_error` or `target_relative_error`: most trajectories per estimator and
    /// N (default 8 × `trajectories`); whole batches only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_trajectories: Option<u32>,
}

/// Where `integration` also evaluates N + 1: `true` (every N), `false` (none) or a list of
/// the N whose N + 1 to evaluate (`chemical_potential: [40, 200]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChemicalPotential {
    /// Every N (`true`) or none (`false`).
    Every(bool),
    /// The N listed.
    At(Vec<u32>),
}

impl ChemicalPotential {
    /// Whether N + 1 is evaluated next to N.
    pub fn at(&self, n: u32) -> bool {
        match self {
            ChemicalPotential::Every(every) => *every,
            ChemicalPotential::At(list) => list.contains(&n),
        }
    }
}

impl From<bool> for ChemicalPotential {
    fn from(every: bool) -> Self {
        ChemicalPotential::Every(every)
    }
}

impl From<Vec<u32>> for ChemicalPotential {
    fn from(list: Vec<u32>) -> Self {
        ChemicalPotential::At(list)
    }
}

/// `correctors` MALA steps per grid point at the grid points with `from` ≤ t ≤ `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectorSpan {
    /// Start of the span in t.
    pub from: f64,
    /// End of the span in t.
    pub to: f64,
    /// MALA steps per grid point inside the span.
    pub correctors: u32,
    /// The particle counts the span applies to, and their N + 1 (which must be sampled as
    /// N is for βF_ex(N + 1) − βF_ex(N)); every N when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub particles: Option<Vec<u32>>,
}

impl CorrectorSpan {
    /// Whether the span applies at particle count `n`.
    pub fn applies(&self, n: u32) -> bool {
        self.particles
            .as_ref()
            .is_none_or(|list| list.contains(&n) || list.contains(&n.wrapping_sub(1)))
    }
}

/// `integration.corrector_span`: one span, or a list (at a time t inside several spans
/// that apply, the first listed counts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CorrectorSpans {
    /// One span.
    One(CorrectorSpan),
    /// Several spans.
    Many(Vec<CorrectorSpan>),
}

impl CorrectorSpans {
    /// Every span, in order.
    pub fn all(&self) -> &[CorrectorSpan] {
        match self {
            CorrectorSpans::One(span) => std::slice::from_ref(span),
            CorrectorSpans::Many(list) => list,
        }
    }

    /// The spans that apply at particle count `n`, in order.
    pub fn at(&self, n: u32) -> Vec<CorrectorSpan> {
        self.all()
            .iter()
            .filter(|s| s.applies(n))
            .cloned()
            .collect()
    }
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            particles: Vec::new(),
            chemical_potential: true.into(),
            trajectories: 64,
            steps: 200,
            grid: TimeGrid::default(),
            rule: Rule::Trapezoid,
            estimators: vec![
                Estimator::ReverseSde,
                Estimator::Corrected,
                Estimator::Annealed,
                Estimator::ForwardNoise,
            ],
            correctors: 2,
            target_accept: 0.57,
            adapt_rate: 0.1,
            initial_step_size: 1e-3,
            max_step_fraction: 3e-3,
            populations: 1,
            resample: 0.0,
            corrector_span: None,
            seed: None,
            target_error: None,
            target_relative_error: None,
            max_trajectories: None,
        }
    }
}

impl IntegrationSettings {
    /// `particles`, or the system's when that is empty (no N + 1).
    pub fn base_counts<'a>(&'a self, system_particles: &'a [u32]) -> &'a [u32] {
        if self.particles.is_empty() {
            system_particles
        } else {
            &self.particles
        }
    }

    /// The particle counts to evaluate, in order, without repeats: `particles` (or the
    /// system's) and N + 1 of every N `chemical_potential` names.
    pub fn evaluated_counts(&self, system_particles: &[u32]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for &n in self.base_counts(system_particles) {
            let extra = self.chemical_potential.at(n).then_some(n + 1);
            super::extend_unique(&mut out, std::iter::once(n).chain(extra));
        }
        out
    }

    /// The settings that shape the trajectories of estimator `e`'s sampler record (a record
    /// of these reads back whatever else changed): trajectories per batch, the grid and the
    /// seed, and for the MALA-corrected samplers the correctors, their step-size adaptation,
    /// populations and resampling. The particle counts, the other estimators, the
    /// quadrature rule and the error target do not change a trajectory (a target only adds
    /// batches after the recorded ones).
    pub fn record_key(&self, e: Estimator, n: u32) -> String {
        let path = (self.trajectories, self.steps, self.grid, self.seed);
        // The spans that apply at N, written as a single span was before lists existed, so
        // that the records of such runs stay valid.
        let spans = self.corrector_span.as_ref().map(|s| s.at(n));
        let spans = match spans.as_deref() {
            None | Some([]) => None,
            Some([one]) => Some(CorrectorSpans::One(one.clone())),
            Some(list) => Some(CorrectorSpans::Many(list.to_vec())),
        };
        let text = match e {
            Estimator::ReverseSde | Estimator::ForwardNoise => ron::to_string(&path),
            Estimator::Corrected | Estimator::Annealed => ron::to_string(&(
                path,
                self.correctors,
                (self.target_accept, self.adapt_rate),
                (self.initial_step_size, self.max_step_fraction),
                (self.populations, self.resample),
                spans,
            )),
        };
        text.unwrap_or_default()
    }

    /// The error (kT) asked of an estimate `beta_f` (βF_ex so far): `target_error`,
    /// `target_relative_error` × |βF_ex|, the smaller of the two, or none.
    pub fn error_target(&self, beta_f: f64) -> Option<f64> {
        let relative = self.target_relative_error.map(|r| r * beta_f.abs());
        match (self.target_error, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many batches of `trajectories` the integration may run per estimator and N
    /// (1 without an error target).
    pub fn max_batches(&self) -> u32 {
        match self.target_error.or(self.target_relative_error) {
            None => 1,
            Some(_) => {
                (self.max_trajectories.unwrap_or(8 * self.trajectories) / self.trajectories).max(1)
            }
        }
    }

    /// The corrector settings at particle count `n` for a box of side `box_length` and LJ
    /// diameter `sigma`; populations and resampling apply when `resampling` (the
    /// MALA-corrected samplers).
    pub fn correctors(
        &self,
        n: u32,
        box_length: f64,
        sigma: f64,
        with_correctors: bool,
        resampling: bool,
    ) -> CorrectorSettings {
        let h_max = self.max_step_fraction * box_length * box_length;
        CorrectorSettings {
            steps: if with_correctors { self.correctors } else { 0 },
            target_accept: self.target_accept,
            adapt_rate: self.adapt_rate,
            h_init: (self.initial_step_size * sigma * sigma).min(h_max),
            h_max,
            populations: if resampling { self.populations } else { 1 },
            resample: if resampling { self.resample } else { 0.0 },
            spans: match &self.corrector_span {
                Some(spans) if with_correctors => spans.at(n),
                _ => Vec::new(),
            },
        }
    }

    /// Checks every field; errors name the field (`integration.<field>`), the value and the
    /// allowed range. `path` is the scene file's name.
    pub fn validate(&self, path: &str) -> Result<()> {
        let bad = |field: &str, value: String, message: String| bad(path, field, value, message);
        if self.trajectories < 2 || self.trajectories > 65_535 {
            return Err(bad(
                "trajectories",
                self.trajectories.to_string(),
                "must be in 2..=65535 (error bars come from independent trajectories; 32–256 is typical)".into(),
            ));
        }
        if self.steps > 100_000 {
            return Err(bad(
                "steps",
                self.steps.to_string(),
                "must be at most 100000 (the paper uses 1000)".into(),
            ));
        }
        self.grid
            .validate(self.steps as usize, self.rule)
            .map_err(|e| {
                bad(
                    "grid",
                    format!("{:?} with steps = {}", self.grid, self.steps),
                    e.to_string(),
                )
            })?;
        if self.estimators.is_empty() {
            return Err(bad(
                "estimators",
                "[]".into(),
                "name at least one of ReverseSde, Corrected, Annealed, ForwardNoise".into(),
            ));
        }
        self.validate_correctors(path)?;
        if let Some(e) = self.target_error {
            if !(e > 0.0 && e.is_finite()) {
                return Err(bad(
                    "target_error",
                    e.to_string(),
                    "must be a finite error > 0 in kT (1σ of each estimator's βF_ex), e.g. \
                     0.3 % of |βF_ex|"
                        .into(),
                ));
            }
        }
        if let Some(r) = self.target_relative_error {
            if !(r > 0.0 && r < 1.0) {
                return Err(bad(
                    "target_relative_error",
                    r.to_string(),
                    "must be a fraction of |βF_ex| in (0, 1), e.g. 0.003 for 0.3 %".into(),
                ));
            }
        }
        if let Some(m) = self.max_trajectories {
            if self.target_error.is_none() && self.target_relative_error.is_none() {
                return Err(bad(
                    "max_trajectories",
                    m.to_string(),
                    "caps the batches an error target adds: give integration.target_error \
                     or target_relative_error too, or leave it out"
                        .into(),
                ));
            }
            if m < self.trajectories || m > 1 << 20 {
                return Err(bad(
                    "max_trajectories",
                    m.to_string(),
                    format!(
                        "must be in trajectories ({})..=1048576: the batches are whole \
                         multiples of trajectories",
                        self.trajectories
                    ),
                ));
            }
        }
        for (k, &n) in self.particles.iter().enumerate() {
            if n < 2 {
                return Err(bad(
                    &format!("particles[{k}]"),
                    n.to_string(),
                    "must be >= 2".into(),
                ));
            }
        }
        Ok(())
    }

    /// The corrector, step-size and population fields of [`IntegrationSettings::validate`].
    fn validate_correctors(&self, path: &str) -> Result<()> {
        let bad = |field: &str, value: String, message: String| bad(path, field, value, message);
        let needs_mala = self
            .estimators
            .iter()
            .any(|e| matches!(e, Estimator::Corrected | Estimator::Annealed));
        if needs_mala && (self.correctors == 0 || self.correctors > MAX_CORRECTORS) {
            return Err(bad(
                "correctors",
                self.correctors.to_string(),
                format!(
                    "Corrected and Annealed need 1..={MAX_CORRECTORS} MALA steps per grid point (2–10 is typical)"
                ),
            ));
        }
        if !(self.target_accept > 0.05 && self.target_accept < 0.95) {
            return Err(bad(
                "target_accept",
                self.target_accept.to_string(),
                "must be in (0.05, 0.95); 0.57 is optimal for MALA".into(),
            ));
        }
        if !(self.adapt_rate >= 0.0 && self.adapt_rate <= 1.0) {
            return Err(bad(
                "adapt_rate",
                self.adapt_rate.to_string(),
                "must be in [0, 1] (0 disables adaptation)".into(),
            ));
        }
        if !(self.initial_step_size > 0.0 && self.initial_step_size.is_finite()) {
            return Err(bad(
                "initial_step_size",
                self.initial_step_size.to_string(),
                "must be a finite number > 0 (in units of sigma^2; 1e-3 is typical)".into(),
            ));
        }
        if !(self.max_step_fraction > 0.0 && self.max_step_fraction <= 0.005) {
            return Err(bad(
                "max_step_fraction",
                self.max_step_fraction.to_string(),
                "must be in (0, 0.005]: a MALA move must stay far below half the box (the \
                 minimum-image proposal density ignores images of weight exp(-1/(16 fraction)))"
                    .into(),
            ));
        }
        let pops = self.populations;
        if pops == 0
            || self.trajectories % pops != 0
            || (self.trajectories / pops.max(1)) as usize > MAX_POPULATION
        {
            return Err(bad(
                "populations",
                pops.to_string(),
                format!(
                    "must divide trajectories = {} into populations of at most {MAX_POPULATION}",
                    self.trajectories
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.resample) {
            return Err(bad(
                "resample",
                self.resample.to_string(),
                "must be in [0, 1]: the effective-sample-size fraction below which a population is \
                 resampled (0.5 is typical, 0 never resamples)"
                    .into(),
            ));
        }
        if self.resample > 0.0 && (pops < 2 || self.trajectories / pops < 8) {
            return Err(bad(
                "populations",
                pops.to_string(),
                format!(
                    "resampling needs at least 2 populations (the error bars come from their \
                     spread) of at least 8 trajectories each; trajectories = {}",
                    self.trajectories
                ),
            ));
        }
        for span in self.corrector_span.iter().flat_map(CorrectorSpans::all) {
            if !(span.from.is_finite()
                && span.to.is_finite()
                && 0.0 <= span.from
                && span.from < span.to
                && span.to <= 1.0)
            {
                return Err(bad(
                    "integration.corrector_span",
                    format!("(from: {}, to: {})", span.from, span.to),
                    "need 0 <= from < to <= 1 (a span of the diffusion time t)".into(),
                ));
            }
            if span.correctors == 0 || span.correctors > MAX_CORRECTORS {
                return Err(bad(
                    "integration.corrector_span.correctors",
                    span.correctors.to_string(),
                    format!("must be in 1..={MAX_CORRECTORS}"),
                ));
            }
            if span.particles.as_ref().is_some_and(Vec::is_empty) {
                return Err(bad(
                    "integration.corrector_span.particles",
                    "[]".into(),
                    "list the N the span applies to, or leave particles out for every N".into(),
                ));
            }
            if self.correctors == 0 {
                return Err(bad(
                    "integration.corrector_span",
                    "set".into(),
                    "applies to the MALA-corrected samplers, which need integration.correctors \
                     >= 1 outside the span"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// MALA corrector settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrectorSettings {
    /// Metropolis-adjusted steps per grid point (0: none).
    pub steps: u32,
    /// Target acceptance rate of the step-size adaptation.
    pub target_accept: f64,
    /// Adaptation rate κ: after each grid point ln h += κ Σ (accepted − target) over one
    /// trajectory's proposals, averaged over the population.
    pub adapt_rate: f64,
    /// Initial step size h.
    pub h_init: f64,
    /// Largest step size.
    pub h_max: f64,
    /// Populations P the batch is split into (each its own step size and resampling).
    pub populations: u32,
    /// Resample a population when its effective sample size falls below this fraction of
    /// its size (0: never; annealed paths only).
    pub resample: f64,
    /// Other numbers of steps over spans of t (only where `steps` > 0; the first span
    /// that contains t counts).
    pub spans: Vec<CorrectorSpan>,
}

impl CorrectorSettings {
    /// Metropolis-adjusted steps at time `t`: those of the first span that contains it,
    /// else `steps`.
    pub fn steps_at(&self, t: f64) -> u32 {
        match self.spans.iter().find(|s| s.from <= t && t <= s.to) {
            Some(s) if self.steps > 0 => s.correctors,
            _ => self.steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadrature::Rule;

    #[test]
    fn a_record_key_changes_with_what_shapes_the_trajectories_only() {
        let base = IntegrationSettings::default();
        let key = |s: &IntegrationSettings, e| s.record_key(e, 40);
        let all = [
            Estimator::ReverseSde,
            Estimator::Corrected,
            Estimator::Annealed,
            Estimator::ForwardNoise,
        ];
        // What only evaluates or sizes the run: no estimator's key moves.
        let same = IntegrationSettings {
            particles: vec![40, 80],
            chemical_potential: vec![40].into(),
            rule: Rule::Riemann,
            estimators: vec![Estimator::Annealed],
            target_error: Some(0.1),
            target_relative_error: Some(0.003),
            max_trajectories: Some(1000),
            ..base.clone()
        };
        for e in all {
            assert_eq!(key(&same, e), key(&base, e), "{e:?}");
        }
        // The path: every key moves.
        for other in [
            IntegrationSettings {
                trajectories: base.trajectories + 1,
                ..base.clone()
            },
            IntegrationSettings {
                steps: base.steps + 2,
                ..base.clone()
            },
            IntegrationSettings {
                seed: Some(99),
                ..base.clone()
            },
        ] {
            for e in all {
                assert_ne!(key(&other, e), key(&base, e), "{e:?}");
            }
        }
        // The correctors: the MALA-corrected samplers' keys only.
        let more = IntegrationSettings {
            correctors: base.correctors + 1,
            populations: base.populations * 2,
            ..base.clone()
        };
        for e in all {
            let corrected = matches!(e, Estimator::Corrected | Estimator::Annealed);
            assert_eq!(key(&more, e) != key(&base, e), corrected, "{e:?}");
        }
    }

    #[test]
    fn an_error_target_is_absolute_relative_or_the_smaller_of_both() {
        let base = IntegrationSettings::default();
        assert_eq!(base.error_target(-200.0), None);
        assert_eq!(base.max_batches(), 1);
        let relative = IntegrationSettings {
            target_relative_error: Some(0.003),
            ..base.clone()
        };
        assert!((relative.error_target(-200.0).unwrap() - 0.6).abs() < 1e-12);
        assert!((relative.error_target(-20.0).unwrap() - 0.06).abs() < 1e-12);
        assert_eq!(relative.max_batches(), 8);
        let both = IntegrationSettings {
            target_error: Some(0.1),
            ..relative.clone()
        };
        assert_eq!(both.error_target(-200.0), Some(0.1));
        assert!((both.error_target(-20.0).unwrap() - 0.06).abs() < 1e-12);
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            let s = IntegrationSettings {
                target_relative_error: Some(bad),
                ..base.clone()
            };
            let e = s.validate("x.ron").unwrap_err().to_string();
            assert!(e.contains("integration.target_relative_error"), "{e}");
        }
        let capped = IntegrationSettings {
            max_trajectories: Some(512),
            ..relative
        };
        assert!(capped.validate("x.ron").is_ok());
    }

    #[test]
    fn corrector_spans_apply_at_the_n_they_list_and_their_n_plus_one() {
        let parse =
            |text: &str| -> IntegrationSettings { super::super::parse_ron(text, "x.ron").unwrap() };
        let one = parse("(corrector_span: (from: 0.1, to: 0.7, correctors: 16))");
        let many = parse(
            "(corrector_span: [(from: 0.0, to: 0.1, correctors: 16, particles: [40, 60]), \
             (from: 0.1, to: 0.7, correctors: 16)])",
        );
        assert!(one.validate("x.ron").is_ok() && many.validate("x.ron").is_ok());
        // At N = 200 the list is the single span: the same records as before.
        for e in [Estimator::Corrected, Estimator::Annealed] {
            assert_eq!(many.record_key(e, 200), one.record_key(e, 200));
            assert_ne!(many.record_key(e, 40), one.record_key(e, 40));
            assert_eq!(many.record_key(e, 41), many.record_key(e, 40), "N + 1 as N");
            assert_eq!(many.record_key(e, 60), many.record_key(e, 40));
        }
        let steps = |s: &IntegrationSettings, n: u32, t: f64| {
            s.correctors(n, 6.0, 1.0, true, true).steps_at(t)
        };
        assert_eq!(steps(&many, 40, 0.05), 16);
        assert_eq!(steps(&many, 41, 0.05), 16);
        assert_eq!(steps(&many, 200, 0.05), 2, "outside every span at N = 200");
        assert_eq!(steps(&many, 200, 0.5), 16);
        assert_eq!(steps(&many, 40, 0.9), 2);
        // At t = 0.1 both spans contain t: the first listed counts.
        let first = parse(
            "(corrector_span: [(from: 0.0, to: 0.1, correctors: 8), \
             (from: 0.1, to: 0.7, correctors: 16)])",
        );
        assert_eq!(steps(&first, 40, 0.1), 8);
        // The samplers without correctors ignore the spans.
        assert_eq!(
            many.correctors(40, 6.0, 1.0, false, false).steps_at(0.05),
            0
        );
        let empty = parse("(corrector_span: (from: 0.0, to: 0.1, correctors: 8, particles: []))");
        let e = empty.validate("x.ron").unwrap_err().to_string();
        assert!(e.contains("integration.corrector_span.particles"), "{e}");
    }
}
