//! What one sampler run leaves on disk ([`RawRun`], `ti_N<N>_<estimator>.json`: enough to
//! recompute every estimate), the estimates made from it ([`summarize`] →
//! [`EstimatorSummary`]: TI with its quadrature check, the importance-weight normaliser
//! (AIS, population annealing, sequential Monte Carlo), the importance-weighted TI), and
//! the choice of the headline estimate of one N ([`headline`]).

use crate::error::{Error, Result};
use crate::output::fnv1a64;
use crate::quadrature::{halving, weights, Halving};
use crate::scene::{Estimator, IntegrationSettings};
use crate::ti::estimators::{
    ais_estimate, mean_band, population_estimates, ti_estimate, AisEstimate, Estimate,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the raw record files; bump when their meaning changes.
pub const RAW_VERSION: u32 = 4;

/// Bins of the g(r) of generated samples.
pub const GR_BINS: u32 = 100;

/// What one sampler run left on disk: enough to recompute every estimate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawRun {
    /// [`RAW_VERSION`].
    pub version: u32,
    /// Hash of everything that determines the run (settings, model, N, estimator).
    pub fingerprint: String,
    /// Particle count.
    pub n: u32,
    /// Estimator.
    pub estimator: Estimator,
    /// The time grid, ascending.
    pub grid: Vec<f64>,
    /// `integrand[c][k]` = ∂_t Ũ of trajectory c at t_k.
    pub integrand: Vec<Vec<f64>>,
    /// AIS work per trajectory (meaningful for `Annealed` without resampling only).
    pub work: Vec<f64>,
    /// `log_weight[c][k]`: ln w of trajectory c at t_k after any resampling (`Annealed`).
    #[serde(default)]
    pub log_weight: Vec<Vec<f64>>,
    /// `log_norm[p][k]`: population p's ln-normaliser increment at t_k (`Annealed`).
    #[serde(default)]
    pub log_norm: Vec<Vec<f64>>,
    /// Resampling threshold of the run (0: none).
    #[serde(default)]
    pub resample: f64,
    /// Distinct t = 1 ancestors left among the trajectories at t = 0 (C without
    /// resampling).
    #[serde(default)]
    pub families: usize,
    /// Mean corrector acceptance per grid point (empty without correctors).
    pub acceptance: Vec<f64>,
    /// g(r) of the configurations at t = 0, (r, g) at bin centres.
    pub gr: Vec<(f64, f64)>,
    /// Smallest pair distance over all configurations at t = 0.
    pub min_pair_distance: f64,
    /// Model evaluations per trajectory.
    pub evaluations: u64,
    /// Wall time of the sampler run.
    pub wall_time_s: f64,
    /// FNV-1a 64 (16 hex digits) of the record's JSON with this field empty: a record
    /// altered after it was written is refused ([`RawRun::from_json`]). Empty in records
    /// written before the field existed, which are read unchecked.
    #[serde(default)]
    pub checksum: String,
}

impl RawRun {
    /// Adds another batch of the same sampler on the same grid (independent trajectories
    /// of the same size and populations): its trajectories and populations follow this
    /// run's, so the populations stay the independent units of the error bars; acceptance
    /// and g(r) are averaged by trajectories, wall times added.
    pub fn append(&mut self, other: RawRun) -> Result<()> {
        // Same trajectories per population (so the populations stay equal units).
        let same_populations = self.log_weight.is_empty() == other.log_weight.is_empty()
            && self.log_norm.len() * other.integrand.len()
                == other.log_norm.len() * self.integrand.len();
        if other.grid != self.grid
            || other.estimator != self.estimator
            || other.n != self.n
            || other.integrand.is_empty()
            || self.integrand.len() % other.integrand.len() != 0
            || !same_populations
            || other.acceptance.len() != self.acceptance.len()
            || other.gr.len() != self.gr.len()
        {
            return Err(Error::Model(format!(
                "a batch of {} trajectories of {} N={} does not match the run it extends",
                other.integrand.len(),
                other.estimator.label(),
                other.n
            )));
        }
        let (a, b) = (self.integrand.len() as f64, other.integrand.len() as f64);
        for (x, y) in self.acceptance.iter_mut().zip(&other.acceptance) {
            *x = (*x * a + y * b) / (a + b);
        }
        for (x, y) in self.gr.iter_mut().zip(&other.gr) {
            x.1 = (x.1 * a + y.1 * b) / (a + b);
        }
        self.integrand.extend(other.integrand);
        self.work.extend(other.work);
        self.log_weight.extend(other.log_weight);
        self.log_norm.extend(other.log_norm);
        self.families += other.families;
        self.min_pair_distance = self.min_pair_distance.min(other.min_pair_distance);
        self.wall_time_s += other.wall_time_s;
        Ok(())
    }

    /// The record as JSON, with its checksum.
    pub fn to_json(&self) -> Result<String> {
        let mut r = self.clone();
        r.checksum = String::new();
        let text = serde_json::to_string(&r).map_err(|e| Error::Model(e.to_string()))?;
        r.checksum = format!("{:016x}", fnv1a64(text.as_bytes()));
        serde_json::to_string(&r).map_err(|e| Error::Model(e.to_string()))
    }

    /// Parses a record, checks its checksum and the shapes of its arrays; errors name
    /// `path` and say how to proceed.
    pub fn from_json(text: &str, path: &Path) -> Result<RawRun> {
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            message: format!("{message}; remove the file to run this sampler again"),
        };
        let raw: RawRun =
            serde_json::from_str(text).map_err(|e| bad(format!("not a sampler record ({e})")))?;
        raw.checked(path)
    }

    /// This parsed record if its checksum matches and its arrays have consistent shapes
    /// (see [`RawRun::from_json`]); errors name `path`.
    pub fn checked(self, path: &Path) -> Result<RawRun> {
        let raw = self;
        let bad = |message: String| Error::Format {
            path: path.to_path_buf(),
            message: format!("{message}; remove the file to run this sampler again"),
        };
        if !raw.checksum.is_empty() {
            let mut r = raw.clone();
            r.checksum = String::new();
            let again = serde_json::to_string(&r).map_err(|e| bad(e.to_string()))?;
            if format!("{:016x}", fnv1a64(again.as_bytes())) != raw.checksum {
                return Err(bad(
                    "checksum mismatch: the record was altered after it was written".into(),
                ));
            }
        }
        let k = raw.grid.len();
        let c = raw.integrand.len();
        let rows_ok = |rows: &[Vec<f64>], count: usize| {
            rows.len() == count && rows.iter().all(|r| r.len() == k)
        };
        let shape_ok = k >= 2
            && c >= 1
            && rows_ok(&raw.integrand, c)
            && (raw.log_weight.is_empty() || rows_ok(&raw.log_weight, c))
            && (raw.log_norm.is_empty()
                || (c % raw.log_norm.len() == 0 && rows_ok(&raw.log_norm, raw.log_norm.len())))
            && (raw.acceptance.is_empty() || raw.acceptance.len() == k);
        if !shape_ok {
            return Err(bad(format!(
                "arrays of inconsistent shapes: {k} grid points, {c} trajectories, integrand \
                 rows of {:?} points, {} log-weight rows, {} population rows, {} acceptances",
                raw.integrand.iter().map(Vec::len).collect::<Vec<_>>(),
                raw.log_weight.len(),
                raw.log_norm.len(),
                raw.acceptance.len()
            )));
        }
        Ok(raw)
    }
}

/// How an Annealed run's trajectories were grouped and resampled.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PopulationInfo {
    /// Populations P.
    pub populations: usize,
    /// Resampling threshold (fraction of C/P; 0: never).
    pub resample: f64,
    /// Distinct t = 1 ancestors left among the trajectories at t = 0.
    pub families: usize,
}

/// The estimates of one (N, estimator): results.json's `free_energy.<N>.<estimator key>`.
#[derive(Clone, Debug, Serialize)]
pub struct EstimatorSummary {
    /// Which sampler (written as its key, `annealed`).
    #[serde(serialize_with = "estimator_key")]
    pub estimator: Estimator,
    /// βF_ex by TI over the sampler's integrand.
    #[serde(rename = "betaF_ex")]
    pub beta_f_ex: Estimate,
    /// Quadrature check: the integral on every other grid point.
    pub quadrature: Halving,
    /// βF_ex from the importance weights' normaliser: AIS for Annealed (population
    /// annealing when the run resampled); for the reverse-SDE samplers the sequential Monte
    /// Carlo estimate with the predictor's ln L/F in the weights. None for forward noise.
    #[serde(serialize_with = "ais_entry")]
    pub ais: Option<AisEstimate>,
    /// Importance-weighted TI: TI over the weighted ensemble at every t (written as
    /// `{betaF_ex: {...}}`).
    #[serde(serialize_with = "weighted_ti_entry")]
    pub weighted_ti: Option<Estimate>,
    /// Populations and resampling of the run.
    pub populations: Option<PopulationInfo>,
    /// Mean corrector acceptance over the grid (None without correctors).
    pub mean_acceptance: Option<f64>,
    /// Lowest per-grid-point acceptance.
    pub min_acceptance: Option<f64>,
    /// Smallest pair distance at t = 0 (σ units of the scene).
    pub min_pair_distance: f64,
    /// Trajectories.
    pub trajectories: usize,
    /// Model evaluations per trajectory.
    pub evaluations: u64,
    /// Trajectory-steps (model evaluations × trajectories) per second of wall time.
    pub trajectory_steps_per_s: f64,
    /// Wall time of the sampler run.
    pub wall_time_s: f64,
    /// Raw record file.
    pub file: String,
}

fn estimator_key<S: serde::Serializer>(
    e: &Estimator,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(e.key())
}

/// An AIS estimate as results.json writes it: `betaF_ex` {`mean`, `err`, `delta_err`},
/// `ess`, `ess_fraction`, `trajectories` (the shape of `free_energy.<N>.ais`, less its
/// `method`).
pub fn ais_json(a: &AisEstimate) -> serde_json::Value {
    serde_json::json!({
        "betaF_ex": {"mean": a.beta_f, "err": a.err, "delta_err": a.delta_err},
        "ess": a.ess,
        "ess_fraction": a.ess_fraction,
        "trajectories": a.n,
    })
}

fn ais_entry<S: serde::Serializer>(
    a: &Option<AisEstimate>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    a.as_ref().map(ais_json).serialize(s)
}

fn weighted_ti_entry<S: serde::Serializer>(
    w: &Option<Estimate>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    w.as_ref()
        .map(|w| serde_json::json!({ "betaF_ex": w }))
        .serialize(s)
}

/// Name of the raw record file of (N, estimator).
pub fn raw_file(n: u32, estimator: Estimator) -> String {
    format!("ti_N{n}_{}.json", estimator.key())
}

/// Name of the integrand table of N.
pub fn integrand_file(n: u32) -> String {
    format!("integrand_N{n}.csv")
}

/// Estimates of one raw run.
pub fn summarize(
    raw: &RawRun,
    settings: &IntegrationSettings,
    seed: u64,
) -> Result<EstimatorSummary> {
    let w = weights(settings.rule, &raw.grid)?;
    let beta_f_ex = ti_estimate(&raw.integrand, &w, seed)?;
    let (mean, _) = mean_band(&raw.integrand)?;
    let mut quadrature = halving(settings.rule, &raw.grid, &mean)?;
    // halving integrates +⟨∂_t Ũ⟩; report it as βF_ex like the estimate.
    quadrature.full = -quadrature.full;
    quadrature.half = -quadrature.half;
    let c = raw.integrand.len();
    // Resampling needs two or more populations (the settings refuse fewer).
    let resampled = raw.resample > 0.0 && raw.log_norm.len() > 1;
    let mut beta_f_ex = beta_f_ex;
    let mut weighted_ti = None;
    let mut populations = None;
    let ais = match raw.estimator {
        Estimator::ForwardNoise => None,
        _ if !raw.log_weight.is_empty() => {
            let pe = population_estimates(
                &raw.integrand,
                &raw.log_weight,
                &raw.log_norm,
                &w,
                resampled,
            )?;
            weighted_ti = Some(pe.weighted_ti);
            populations = Some(PopulationInfo {
                populations: raw.log_norm.len(),
                resample: raw.resample,
                families: raw.families,
            });
            if resampled {
                // Resampled trajectories are not independent: errors by populations.
                beta_f_ex = pe.plain_ti;
                Some(AisEstimate {
                    beta_f: pe.normaliser.mean,
                    err: pe.normaliser.err,
                    delta_err: f64::NAN,
                    ess: pe.ess,
                    ess_fraction: pe.ess / c as f64,
                    n: c,
                })
            } else {
                // The final ln w is minus the work, with the predictor's ln L/F where it moved.
                let work: Vec<f64> = raw.log_weight.iter().map(|row| -row[0]).collect();
                Some(ais_estimate(&work, seed)?)
            }
        }
        Estimator::Annealed => Some(ais_estimate(&raw.work, seed)?),
        _ => None,
    };
    let acc = (!raw.acceptance.is_empty()).then_some(&raw.acceptance);
    Ok(EstimatorSummary {
        estimator: raw.estimator,
        beta_f_ex,
        quadrature,
        ais,
        weighted_ti,
        populations,
        mean_acceptance: acc.map(|a| a.iter().sum::<f64>() / a.len() as f64),
        min_acceptance: acc.map(|a| a.iter().copied().fold(f64::INFINITY, f64::min)),
        min_pair_distance: raw.min_pair_distance,
        trajectories: c,
        evaluations: raw.evaluations,
        trajectory_steps_per_s: if raw.wall_time_s > 0.0 {
            (raw.evaluations as f64 * c as f64) / raw.wall_time_s
        } else {
            0.0
        },
        wall_time_s: raw.wall_time_s,
        file: raw_file(raw.n, raw.estimator),
    })
}

/// Smallest AIS effective sample size (and fraction of the trajectories) for AIS to be the
/// headline estimate.
pub const MIN_AIS_ESS: f64 = 10.0;
/// See [`MIN_AIS_ESS`].
pub const MIN_AIS_ESS_FRACTION: f64 = 0.1;

/// The headline estimate of one N: its key (`ais` or an estimator's key) and value.
#[derive(Clone, Copy, Debug)]
pub struct Headline {
    /// `ais`, `corrected`, `annealed`, `reverse_sde` or `forward_noise`.
    pub key: &'static str,
    /// βF_ex.
    pub estimate: Estimate,
    /// The quadrature's halving error (NaN for AIS, which has no quadrature).
    pub quadrature_error: f64,
}

/// The run whose importance weights give the AIS (or population-annealing) and weighted
/// TI estimates: the annealed run, else the MALA-corrected run (its weights carry the
/// predictor's ln L/F too, so its AIS is exact whatever the lag).
fn weighted_run(summaries: &[EstimatorSummary]) -> Option<&EstimatorSummary> {
    [Estimator::Annealed, Estimator::Corrected]
        .iter()
        .find_map(|&e| {
            summaries
                .iter()
                .find(|s| s.estimator == e && s.ais.is_some())
        })
}

/// The AIS (or population-annealing) estimate of [`weighted_run`].
fn annealed_ais(summaries: &[EstimatorSummary]) -> Option<AisEstimate> {
    weighted_run(summaries).and_then(|s| s.ais)
}

/// The estimate called `key` among `summaries` (`ais`, `weighted_ti`: those of
/// [`weighted_run`]).
pub fn estimate_for(summaries: &[EstimatorSummary], key: &str) -> Option<Headline> {
    if key == "ais" {
        let a = annealed_ais(summaries)?;
        return Some(Headline {
            key: "ais",
            estimate: Estimate {
                mean: a.beta_f,
                err: a.err,
                bootstrap_err: a.err,
                n: a.n,
            },
            quadrature_error: f64::NAN,
        });
    }
    if key == "weighted_ti" {
        let s = weighted_run(summaries)?;
        return Some(Headline {
            key: "weighted_ti",
            estimate: s.weighted_ti?,
            quadrature_error: s.quadrature.error_estimate,
        });
    }
    let s = summaries.iter().find(|s| s.estimator.key() == key)?;
    Some(Headline {
        key: s.estimator.key(),
        estimate: s.beta_f_ex,
        quadrature_error: s.quadrature.error_estimate,
    })
}

/// The headline among the estimates run: the MALA-corrected TI when it ran, then annealed
/// importance sampling (or population annealing) when its effective sample size is at
/// least [`MIN_AIS_ESS`] and [`MIN_AIS_ESS_FRACTION`] of the trajectories, under the same
/// condition the importance-weighted TI, else the annealed TI, the reverse SDE, forward
/// noise.
///
/// Why the corrected TI first: over 30 independent replicates of the N = 40 paper system
/// its error bar covered the reference in 73 % (1σ) and 93 % (2σ) of runs, while the
/// population-annealing estimate, unbiased in Z but biased high in −ln Z when a few
/// weights dominate, covered it in 47 % and 63 % (bias +0.6 kT at ESS ≈ 10 of 32); at the
/// dense N = 200 state with enough correctors the corrected TI matched the λ-window TI and
/// AIS was 4 kT high (benches/RESULTS.md). The others stay as the verdict's cross-checks.
pub fn headline(summaries: &[EstimatorSummary]) -> Option<Headline> {
    let ais_ok = annealed_ais(summaries).is_some_and(|a| {
        a.ess >= MIN_AIS_ESS && a.ess_fraction >= MIN_AIS_ESS_FRACTION && a.err.is_finite()
    });
    let order = [
        "corrected",
        "ais",
        "weighted_ti",
        "annealed",
        "reverse_sde",
        "forward_noise",
    ];
    order
        .iter()
        .filter(|k| !matches!(**k, "ais" | "weighted_ti") || ais_ok)
        .find_map(|k| estimate_for(summaries, k))
}

/// Estimates of one N that are exact whatever the model when the samplers are in
/// equilibrium at every t (TI over MALA-corrected samplers) or whatever their lag (AIS /
/// population annealing, importance-weighted TI): the cross-checks of a verdict, whose
/// disagreement means lag or too few effective samples. The reverse SDE alone and
/// forward-noised data are biased by construction and are not among them.
pub const EXACT_ESTIMATES: [&str; 4] = ["ais", "weighted_ti", "corrected", "annealed"];

/// Largest disagreement between the headline and another exact estimate, in combined
/// standard errors (statistical and quadrature errors added in quadrature), for a
/// `converged` verdict.
pub const MAX_DISAGREEMENT_SIGMA: f64 = 2.0;

/// Whether the headline of one N can be trusted: `converged` only when the independent
/// estimates agree within [`MAX_DISAGREEMENT_SIGMA`], the importance weights have an
/// adequate effective sample size and the quadrature error is below the statistical one;
/// otherwise the reasons and what to change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// True when no check failed.
    pub converged: bool,
    /// Every failed check, in words with its numbers (empty when converged).
    pub reasons: Vec<String>,
    /// What to change in the scene for each failed check.
    pub remedies: Vec<String>,
    /// The systematic error the run can estimate for the headline: its quadrature error
    /// (halving; 0 for AIS, which has none), reported next to the statistical error.
    pub err_sys: f64,
    /// Largest |headline − other exact estimate| (kT), NaN when there is no other.
    pub estimator_spread: f64,
}

/// The [`Verdict`] of the headline `h` among `summaries` (one N).
pub fn verdict(summaries: &[EstimatorSummary], h: &Headline) -> Verdict {
    let mut reasons = Vec::new();
    let mut remedies = Vec::new();
    fn remedy(r: &str, remedies: &mut Vec<String>) {
        if !remedies.iter().any(|x| x == r) {
            remedies.push(r.to_string());
        }
    }
    let q = |x: f64| if x.is_finite() { x } else { 0.0 };
    match annealed_ais(summaries) {
        Some(a) if a.ess < MIN_AIS_ESS || a.ess_fraction < MIN_AIS_ESS_FRACTION => {
            reasons.push(format!(
                "the importance weights are degenerate: effective sample size {:.1} of {} \
                 (need ≥ {MIN_AIS_ESS} and ≥ {:.0} %)",
                a.ess,
                a.n,
                100.0 * MIN_AIS_ESS_FRACTION
            ));
            remedy(
                "more MALA correctors or grid points (integration.correctors, \
                 integration.steps), or a longer-trained model (training.steps)",
                &mut remedies,
            );
        }
        Some(_) => {}
        None => {
            reasons.push(
                "no importance weights (AIS / population annealing of an annealed or \
                 MALA-corrected run) to cross-check the headline"
                    .into(),
            );
            remedy("add Annealed to integration.estimators", &mut remedies);
        }
    }
    let mut spread = f64::NAN;
    let mut others = 0;
    for key in EXACT_ESTIMATES.iter().filter(|k| **k != h.key) {
        let Some(o) = estimate_for(summaries, key) else {
            continue;
        };
        let (a, b) = (&h.estimate, &o.estimate);
        if !(a.mean.is_finite() && b.mean.is_finite()) {
            continue;
        }
        others += 1;
        let diff = (a.mean - b.mean).abs();
        spread = if spread.is_nan() {
            diff
        } else {
            spread.max(diff)
        };
        let sigma = (a.err.powi(2)
            + b.err.powi(2)
            + q(h.quadrature_error).powi(2)
            + q(o.quadrature_error).powi(2))
        .sqrt();
        if diff > MAX_DISAGREEMENT_SIGMA * sigma {
            reasons.push(format!(
                "{} and {} disagree by {diff:.2} kT ({:.1} σ of their combined error {sigma:.2})",
                h.key,
                o.key,
                diff / sigma
            ));
            remedy(
                "sample closer to equilibrium: more MALA correctors in the span of t where \
                 the report shows the estimators parting (integration.corrector_span, or \
                 integration.correctors everywhere), populations with resampling; the \
                 samplers lag the model's path (at dense states longer training did not help)",
                &mut remedies,
            );
        }
    }
    if others == 0 {
        reasons.push("no second exact estimate to cross-check the headline".into());
        remedy(
            "run both Corrected and Annealed (integration.estimators)",
            &mut remedies,
        );
    }
    let quad = q(h.quadrature_error);
    if quad > h.estimate.err {
        reasons.push(format!(
            "the quadrature error {quad:.3} exceeds the statistical error {:.3}",
            h.estimate.err
        ));
        remedy("a finer time grid (integration.steps)", &mut remedies);
    }
    if !h.estimate.err.is_finite() {
        reasons.push("the headline has no error bar".into());
        remedy(
            "more trajectories (integration.trajectories)",
            &mut remedies,
        );
    }
    Verdict {
        converged: reasons.is_empty(),
        reasons,
        remedies,
        err_sys: quad,
        estimator_spread: spread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RawRun {
        RawRun {
            version: RAW_VERSION,
            fingerprint: "0123456789abcdef".into(),
            n: 3,
            estimator: Estimator::Annealed,
            grid: vec![0.0, 0.25, 1.0],
            integrand: vec![vec![-1.5, 0.25, 2.0]; 4],
            work: vec![0.5; 4],
            log_weight: vec![vec![-0.125, 0.0, 0.0]; 4],
            log_norm: vec![vec![0.0, 0.5, 0.0]; 2],
            resample: 1.0,
            families: 2,
            acceptance: vec![0.5, 0.625, 1.0],
            gr: vec![(0.5, 0.0), (1.0, 1.25)],
            min_pair_distance: 0.875,
            evaluations: 9,
            wall_time_s: 1.5,
            checksum: String::new(),
        }
    }

    #[test]
    fn a_further_batch_adds_its_trajectories_and_populations() {
        let mut run = record();
        let mut more = record();
        more.integrand = vec![vec![-2.5, 0.75, 1.0]; 4];
        more.acceptance = vec![0.25, 0.375, 0.5];
        more.gr = vec![(0.5, 0.5), (1.0, 0.75)];
        more.min_pair_distance = 0.75;
        run.append(more.clone()).unwrap();
        assert_eq!(run.integrand.len(), 8);
        assert_eq!(run.integrand[5], more.integrand[0]);
        assert_eq!((run.log_weight.len(), run.log_norm.len()), (8, 4));
        assert_eq!((run.work.len(), run.families), (8, 4));
        assert_eq!(run.acceptance, vec![0.375, 0.5, 0.75]);
        assert_eq!(run.gr, vec![(0.5, 0.25), (1.0, 1.0)]);
        assert_eq!((run.min_pair_distance, run.wall_time_s), (0.75, 3.0));
        // Populations of another size, or another grid, do not extend it.
        let mut odd = record();
        odd.log_norm.pop();
        assert!(run.append(odd).is_err());
        let mut other_grid = record();
        other_grid.grid[1] = 0.5;
        assert!(run.append(other_grid).is_err());
        assert_eq!(run.integrand.len(), 8);
    }

    #[test]
    fn records_round_trip_and_altered_or_misshapen_ones_are_refused() {
        let path = Path::new("ti_N3_annealed.json");
        let text = record().to_json().unwrap();
        let back = RawRun::from_json(&text, path).unwrap();
        assert_eq!(back.checksum.len(), 16);
        assert_eq!(back.integrand, record().integrand);
        assert_eq!(back.to_json().unwrap(), text);
        // One value changed: the checksum no longer matches.
        let edited = text.replacen("0.875", "0.876", 1);
        let e = RawRun::from_json(&edited, path).unwrap_err().to_string();
        assert!(
            e.contains("ti_N3_annealed.json") && e.contains("checksum"),
            "{e}"
        );
        // Records without a checksum (older files) are read, shapes checked.
        let mut r = record();
        assert!(RawRun::from_json(&serde_json::to_string(&r).unwrap(), path).is_ok());
        r.integrand[2].pop();
        let e = RawRun::from_json(&serde_json::to_string(&r).unwrap(), path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ti_N3_annealed.json") && e.contains("inconsistent shapes"),
            "{e}"
        );
        let mut r = record();
        r.log_norm.push(vec![0.0; 3]); // 3 populations do not divide 4 trajectories
        assert!(RawRun::from_json(&serde_json::to_string(&r).unwrap(), path).is_err());
        let mut r = record();
        r.acceptance.pop();
        assert!(RawRun::from_json(&r.to_json().unwrap(), path).is_err());
        assert!(RawRun::from_json("{}", path).is_err());
        // Values whose shortest decimal form a fast float parser may round differently: the
        // checksum of an untouched record must still match.
        let mut r = record();
        (r.integrand, r.log_weight, r.log_norm) = (vec![vec![0.0; 3]; 400], vec![], vec![]);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for row in &mut r.integrand {
            for v in row.iter_mut() {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                *v = f64::from_bits((x >> 2) | 0x3000_0000_0000_0000)
                    * if x & 1 == 0 { 1.0 } else { -1.0 };
            }
        }
        r.wall_time_s = 0.1 + 0.2;
        RawRun::from_json(&r.to_json().unwrap(), path).unwrap();
    }

    fn estimate(mean: f64, err: f64) -> Estimate {
        Estimate {
            mean,
            err,
            bootstrap_err: err,
            n: 64,
        }
    }

    /// A sampler's summary with TI `ti`, quadrature error `quad` and, for Annealed, AIS
    /// `ais` with effective sample size `ess` of 64.
    fn summary(
        e: Estimator,
        ti: (f64, f64),
        quad: f64,
        ais: Option<(f64, f64, f64)>,
    ) -> EstimatorSummary {
        EstimatorSummary {
            estimator: e,
            beta_f_ex: estimate(ti.0, ti.1),
            quadrature: Halving {
                full: -ti.0,
                half: -ti.0,
                error_estimate: quad,
            },
            ais: ais.map(|(m, err, ess)| AisEstimate {
                beta_f: m,
                err,
                delta_err: f64::NAN,
                ess,
                ess_fraction: ess / 64.0,
                n: 64,
            }),
            weighted_ti: ais.map(|(m, err, _)| estimate(m, err)),
            populations: None,
            mean_acceptance: Some(0.6),
            min_acceptance: Some(0.5),
            min_pair_distance: 0.9,
            trajectories: 64,
            evaluations: 100,
            trajectory_steps_per_s: 1.0,
            wall_time_s: 1.0,
            file: String::new(),
        }
    }

    #[test]
    fn consistent_estimates_with_enough_samples_are_converged() {
        let runs = [
            summary(Estimator::Corrected, (-22.30, 0.10), 0.02, None),
            summary(
                Estimator::Annealed,
                (-22.45, 0.12),
                0.03,
                Some((-22.40, 0.13, 40.0)),
            ),
        ];
        let h = headline(&runs).unwrap();
        assert_eq!(h.key, "corrected");
        let v = verdict(&runs, &h);
        assert!(v.converged, "{v:?}");
        assert!(v.reasons.is_empty() && v.remedies.is_empty());
        assert_eq!(v.err_sys, 0.02, "the corrected TI's quadrature error");
        assert!((v.estimator_spread - 0.15).abs() < 1e-12, "{v:?}");
        // Without the corrected TI, AIS with enough effective samples leads; it has no
        // quadrature error.
        let h = headline(&runs[1..]).unwrap();
        assert_eq!(h.key, "ais");
        assert_eq!(verdict(&runs[1..], &h).err_sys, 0.0);
    }

    #[test]
    fn a_corrected_run_alone_is_checked_by_its_own_importance_weights() {
        // The paper-experiment pattern: only the corrected sampler, with populations whose
        // weights give AIS and the weighted TI (numbers of its N = 40 run).
        let alone = |ais: f64| {
            let runs = [summary(
                Estimator::Corrected,
                (-21.96, 0.92),
                0.02,
                Some((ais, 0.66, 34.8)),
            )];
            let h = headline(&runs).unwrap();
            assert_eq!(h.key, "corrected");
            verdict(&runs, &h)
        };
        let v = alone(-23.57);
        assert!(v.converged, "{v:?}");
        assert!((v.estimator_spread - 1.61).abs() < 1e-9, "{v:?}");
        // The same with the weights' estimates 3σ away: not converged, and says which.
        let v = alone(-26.0);
        assert!(!v.converged);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("corrected and ais disagree")),
            "{v:?}"
        );
    }

    #[test]
    fn inconsistent_or_degenerate_runs_are_not_converged_and_say_why() {
        // The quick scene's pattern: AIS with 5.7 effective samples of 32, the annealed TI
        // 1.8 kT above the corrected one.
        let runs = [
            summary(Estimator::Corrected, (-20.59, 0.59), 0.03, None),
            summary(
                Estimator::Annealed,
                (-18.80, 0.60),
                0.03,
                Some((-20.45, 0.43, 5.7)),
            ),
        ];
        let h = headline(&runs).unwrap();
        assert_eq!(h.key, "corrected", "degenerate AIS is not the headline");
        let v = verdict(&runs, &h);
        assert!(!v.converged);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("effective sample size 5.7")),
            "{v:?}"
        );
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("corrected and annealed disagree")),
            "{v:?}"
        );
        assert!(
            v.remedies.iter().any(|r| r.contains("training.steps")),
            "{v:?}"
        );
        assert_eq!(v.err_sys, 0.03);
        // A quadrature error above the statistical error, and a single sampler.
        let runs = [summary(Estimator::Corrected, (-20.0, 0.05), 0.2, None)];
        let v = verdict(&runs, &headline(&runs).unwrap());
        assert!(!v.converged);
        assert!(
            v.reasons.iter().any(|r| r.contains("quadrature error")),
            "{v:?}"
        );
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("no importance weights")),
            "{v:?}"
        );
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("no second exact estimate")),
            "{v:?}"
        );
        assert!(v.estimator_spread.is_nan());
    }
}
