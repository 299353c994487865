//! Estimators of βF_ex = −ln(Z_N/V^N) = −∫₀¹ ⟨∂_t Ũ⟩_t dt from sampled integrands, with
//! error bars (the quadrature rules over t are [`crate::quadrature`]), and the
//! annealed-importance-sampling (Jarzynski) estimate from accumulated work.
//!
//! Data layout: `per_traj[c][k]` is the integrand y_ck = ∂_t Ũ(x_c, t_k) of trajectory
//! (or configuration path) c at grid point t_k, for C trajectories and K + 1 grid points.
//! Trajectories are independent; points along one trajectory are not, which is why every
//! error bar here is taken over per-trajectory integrals I_c = Σ_k w_k y_ck rather than
//! point by point. The forward-noise estimator uses the same functions, with one path per
//! reference configuration.
//!
//! Error bars:
//! - `err`: the standard error of the mean over trajectories, sd(I_c)/√C, or, when the
//!   trajectories come in B batches that share something (an adapted step size, a
//!   starting configuration), the cluster (batch-means) standard error;
//! - `bootstrap_err`: the standard deviation of the mean over [`BOOTSTRAP_RESAMPLES`]
//!   resamples of the trajectories (or batches) with replacement, drawn from a seeded
//!   [`PhiloxStream`], so the same inputs and seed give the same number.

use crate::reference::rng::PhiloxStream;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::quadrature::{dot, halving, weights, Rule};
use crate::stats::student_t_scale;

/// Bootstrap resamples used by [`ti_estimate`] and [`ais_estimate`].
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// A TI estimate of βF_ex with its error bars.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// βF_ex = −mean over trajectories of Σ_k w_k y_ck.
    pub mean: f64,
    /// Standard error over independent trajectories (or batches); NaN for one unit.
    pub err: f64,
    /// Bootstrap standard error over trajectories (or batches); NaN for one unit.
    pub bootstrap_err: f64,
    /// Number of trajectories.
    pub n: usize,
}

/// Per-trajectory integrals I_c = Σ_k w_k y_ck. Fails on no trajectories, a row whose
/// length differs from the weights', or a non-finite integrand (named by trajectory and
/// grid point: a NaN there means the sampler blew up).
pub fn trajectory_integrals(per_traj: &[Vec<f64>], weights: &[f64]) -> Result<Vec<f64>> {
    if per_traj.is_empty() {
        return Err(Error::argument(
            "per_traj",
            "0 trajectories",
            "need at least one trajectory",
        ));
    }
    per_traj
        .iter()
        .enumerate()
        .map(|(c, row)| {
            if row.len() != weights.len() {
                return Err(Error::argument(
                    format!("per_traj[{c}]"),
                    format!("{} values", row.len()),
                    format!("need one value per grid point ({})", weights.len()),
                ));
            }
            if let Some(k) = row.iter().position(|y| !y.is_finite()) {
                return Err(Error::argument(
                    format!("per_traj[{c}][{k}]"),
                    row[k],
                    "the integrand must be finite (the sampler produced a non-finite value \
                     at this trajectory and grid point)",
                ));
            }
            Ok(dot(weights, row))
        })
        .collect()
}

/// βF_ex = −∫ ⟨∂_t Ũ⟩ dt from C independent trajectories (`per_traj`, C × (K + 1)) and
/// quadrature `weights` (from [`weights`]), with the standard error over trajectories
/// and a bootstrap over trajectories seeded by `seed`.
pub fn ti_estimate(per_traj: &[Vec<f64>], weights: &[f64], seed: u64) -> Result<Estimate> {
    ti_estimate_batched(per_traj, weights, per_traj.len(), seed)
}

/// As [`ti_estimate`], with the C trajectories split in order into `batches` contiguous
/// batches (sizes differing by at most one) treated as the independent units: `err` is
/// the cluster standard error √(B/(B−1) Σ_b n_b² (m_b − m)²)/C of the overall mean m
/// (with equal batches, the standard error of the batch means), and the bootstrap
/// resamples whole batches. `batches` = C is [`ti_estimate`]. Needs 1 ≤ `batches` ≤ C.
pub fn ti_estimate_batched(
    per_traj: &[Vec<f64>],
    weights: &[f64],
    batches: usize,
    seed: u64,
) -> Result<Estimate> {
    let integrals = trajectory_integrals(per_traj, weights)?;
    let c = integrals.len();
    if batches == 0 || batches > c {
        return Err(Error::argument(
            "batches",
            batches,
            format!("must be between 1 and the number of trajectories ({c})"),
        ));
    }
    // Batch sums and sizes.
    let units: Vec<(f64, f64)> = (0..batches)
        .map(|b| {
            let (lo, hi) = (b * c / batches, (b + 1) * c / batches);
            (integrals[lo..hi].iter().sum(), (hi - lo) as f64)
        })
        .collect();
    let total: f64 = integrals.iter().sum();
    let mean = total / c as f64;
    let err = if batches < 2 {
        f64::NAN
    } else {
        let ss: f64 = units.iter().map(|&(s, n)| (s - n * mean).powi(2)).sum();
        (ss * batches as f64 / (batches as f64 - 1.0)).sqrt() / c as f64
    };
    let bootstrap_err = if batches < 2 {
        f64::NAN
    } else {
        let mut rng = PhiloxStream::new(seed);
        let resampled: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                let (mut s, mut n) = (0.0, 0.0);
                for _ in 0..batches {
                    let (us, un) = units[rng.below(batches as u64) as usize];
                    s += us;
                    n += un;
                }
                s / n
            })
            .collect();
        sample_sd(&resampled)
    };
    Ok(Estimate {
        mean: -mean,
        err,
        bootstrap_err,
        n: c,
    })
}

/// Everything the pipeline reports for one TI run: the estimate with its statistical
/// errors, the quadrature error of the mean integrand by halving, and the mean band.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TiSummary {
    /// βF_ex with its standard and bootstrap errors (see [`ti_estimate_batched`]).
    pub estimate: Estimate,
    /// The rule used.
    pub rule: Rule,
    /// −(quadrature of the mean integrand on every other point): βF_ex with half the
    /// steps; `None` when K is not a multiple of 2 (4 for Simpson).
    pub beta_f_half_steps: Option<f64>,
    /// Richardson estimate of the discretisation error of `estimate.mean` (see
    /// [`halving`]); `None` when halving is not possible.
    pub quadrature_error: Option<f64>,
    /// Mean integrand per grid point.
    pub band_mean: Vec<f64>,
    /// Its standard error per grid point.
    pub band_se: Vec<f64>,
}

/// [`ti_estimate_batched`] with the weights of `rule` on `grid`, plus the halving error
/// estimate and the mean band. `batches` = `None` treats every trajectory as independent.
pub fn ti_summary(
    per_traj: &[Vec<f64>],
    grid: &[f64],
    rule: Rule,
    batches: Option<usize>,
    seed: u64,
) -> Result<TiSummary> {
    let w = weights(rule, grid)?;
    let estimate = ti_estimate_batched(per_traj, &w, batches.unwrap_or(per_traj.len()), seed)?;
    let (band_mean, band_se) = mean_band(per_traj)?;
    let halved = halving(rule, grid, &band_mean).ok();
    Ok(TiSummary {
        estimate,
        rule,
        beta_f_half_steps: halved.map(|h| -h.half),
        quadrature_error: halved.map(|h| h.error_estimate),
        band_mean,
        band_se,
    })
}

/// Sample standard deviation (n − 1 in the denominator); NaN for fewer than 2 values.
fn sample_sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Per grid point, the mean of the integrand over trajectories and its standard error
/// (NaN for one trajectory), for the CSV and the plot's error band. Fails on no
/// trajectories or rows of different lengths.
pub fn mean_band(per_traj: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<f64>)> {
    let Some(first) = per_traj.first() else {
        return Err(Error::argument(
            "per_traj",
            "0 trajectories",
            "need at least one trajectory",
        ));
    };
    let points = first.len();
    if let Some(c) = per_traj.iter().position(|row| row.len() != points) {
        return Err(Error::argument(
            format!("per_traj[{c}]"),
            format!("{} values", per_traj[c].len()),
            format!("every trajectory needs the same number of points ({points})"),
        ));
    }
    let n = per_traj.len() as f64;
    let mut mean = vec![0.0; points];
    for row in per_traj {
        for (m, y) in mean.iter_mut().zip(row) {
            *m += y / n;
        }
    }
    let mut ss = vec![0.0; points];
    for row in per_traj {
        for ((s, y), m) in ss.iter_mut().zip(row).zip(&mean) {
            *s += (y - m).powi(2);
        }
    }
    let se = ss
        .iter()
        .map(|s| {
            if per_traj.len() < 2 {
                f64::NAN
            } else {
                (s / (n - 1.0) / n).sqrt()
            }
        })
        .collect();
    Ok((mean, se))
}

/// The annealed-importance-sampling (Jarzynski) estimate of βF_ex from per-trajectory work.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AisEstimate {
    /// βF_ex = −ln mean_c exp(−W_c), by log-sum-exp.
    pub beta_f: f64,
    /// Bootstrap standard error of `beta_f` over trajectories; NaN for one trajectory.
    pub err: f64,
    /// Delta-method standard error sd(w)/(√C · mean(w)) with w = exp(−W); it agrees with
    /// `err` when the weights are well behaved and falls below it when a few dominate.
    pub delta_err: f64,
    /// Effective sample size (Σ w)² / Σ w², between 1 and C.
    pub ess: f64,
    /// `ess` / C: near 1 when all trajectories weigh alike, near 1/C when one dominates.
    pub ess_fraction: f64,
    /// Number of trajectories C.
    pub n: usize,
}

/// −ln mean exp(−W) for work values with W_min = `w_min`, by log-sum-exp.
fn neg_log_mean_exp(work: &[f64], w_min: f64) -> f64 {
    let s: f64 = work.iter().map(|w| (-(w - w_min)).exp()).sum();
    w_min - (s / work.len() as f64).ln()
}

/// AIS estimate from the total work W_c = Σ_k [Ũ(x_k, t_{k+1}) − Ũ(x_k, t_k)] of each
/// trajectory (t marching from 1 to 0 with moves that leave exp(−Ũ(·, t)) invariant):
/// Z_N/V^N = ⟨exp(−W)⟩, so βF_ex = −ln mean exp(−W). The bootstrap over trajectories
/// uses [`BOOTSTRAP_RESAMPLES`] resamples seeded by `seed`. W = +∞ (a rejected,
/// zero-weight path) is allowed; NaN, −∞, no trajectories, or all W = +∞ fail.
pub fn ais_estimate(work: &[f64], seed: u64) -> Result<AisEstimate> {
    if work.is_empty() {
        return Err(Error::argument(
            "work",
            "0 trajectories",
            "need at least one trajectory",
        ));
    }
    if let Some(c) = work
        .iter()
        .position(|w| w.is_nan() || *w == f64::NEG_INFINITY)
    {
        return Err(Error::argument(
            format!("work[{c}]"),
            work[c],
            "the work must be a number or +inf (zero weight)",
        ));
    }
    let w_min = work.iter().copied().fold(f64::INFINITY, f64::min);
    if w_min == f64::INFINITY {
        return Err(Error::argument(
            "work",
            "+inf for every trajectory",
            "at least one trajectory needs a finite work",
        ));
    }
    let c = work.len();
    let weights: Vec<f64> = work.iter().map(|w| (-(w - w_min)).exp()).collect();
    let sum: f64 = weights.iter().sum();
    let sum_sq: f64 = weights.iter().map(|w| w * w).sum();
    let ess = sum * sum / sum_sq;
    let beta_f = neg_log_mean_exp(work, w_min);
    let (err, delta_err) = if c < 2 {
        (f64::NAN, f64::NAN)
    } else {
        let mut rng = PhiloxStream::new(seed);
        let mut sample = vec![0.0; c];
        let resampled: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .map(|_| {
                for s in sample.iter_mut() {
                    *s = work[rng.below(c as u64) as usize];
                }
                let m = sample.iter().copied().fold(f64::INFINITY, f64::min);
                neg_log_mean_exp(&sample, m)
            })
            .collect();
        let mean_w = sum / c as f64;
        (
            sample_sd(&resampled),
            sample_sd(&weights) / (c as f64).sqrt() / mean_w,
        )
    };
    Ok(AisEstimate {
        beta_f,
        err,
        delta_err,
        ess,
        ess_fraction: ess / c as f64,
        n: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quadrature::{weights, Rule, TimeGrid};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn population_estimates_reduce_to_ti_and_ais_without_weights_or_resampling() {
        let grid = vec![0.0, 0.05, 0.12, 0.3, 0.34, 0.6, 0.61, 0.9, 1.0];
        let q = weights(Rule::Trapezoid, &grid).unwrap();
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let c = 24;
        let integrand: Vec<Vec<f64>> = (0..c)
            .map(|_| {
                grid.iter()
                    .map(|t| 5.0 * t + normal.sample(&mut rng))
                    .collect()
            })
            .collect();
        let work: Vec<f64> = (0..c).map(|_| 0.7 * normal.sample(&mut rng)).collect();
        // ln w(t_k) = 0 except at t = 0, where it is −W: the weighted TI only reweights t = 0.
        let mut log_w = vec![vec![0.0; grid.len()]; c];
        for (row, w) in log_w.iter_mut().zip(&work) {
            row[0] = -w;
        }
        let none = vec![vec![0.0; grid.len()]; 2];
        let pe = population_estimates(&integrand, &log_w, &none, &q, false).unwrap();
        let ti = ti_estimate(&integrand, &q, 1).unwrap();
        let ais = ais_estimate(&work, 1).unwrap();
        assert!((pe.plain_ti.mean - ti.mean).abs() < 1e-12);
        // The delete-one jackknife of a mean is its standard error, widened to a 68 %
        // interval for c − 1 degrees of freedom.
        let t = crate::stats::student_t_scale(c as u32 - 1);
        assert!((pe.plain_ti.err - t * ti.err).abs() < 1e-10 * ti.err);
        assert!((pe.normaliser.mean - ais.beta_f).abs() < 1e-12);
        assert!((pe.ess - ais.ess).abs() < 1e-9);
        assert_eq!(pe.units, c);
        // Weighted TI: plain everywhere but t = 0, where the weights exp(−W) apply.
        let wsum: f64 = work.iter().map(|w| (-w).exp()).sum();
        let y0: f64 = integrand
            .iter()
            .zip(&work)
            .map(|(r, w)| (-w).exp() * r[0])
            .sum::<f64>()
            / wsum;
        let plain0: f64 = integrand.iter().map(|r| r[0]).sum::<f64>() / c as f64;
        assert!((pe.weighted_ti.mean - (ti.mean - q[0] * (y0 - plain0))).abs() < 1e-12);
    }

    #[test]
    fn population_estimates_weigh_states_and_populations() {
        // Two grid points, equal quadrature weights 1/2, y constant in t.
        let grid = [0.0, 1.0];
        let q = weights(Rule::Trapezoid, &grid).unwrap();
        // Population 0: y = 1 with ln w = ln 3 and y = 0 with ln w = 0 → weighted mean 3/4.
        // Population 1: y = 0, ln w = 0, but its normaliser gained ln 2 at t = 1.
        let integrand = vec![vec![1.0; 2], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]];
        let l3 = 3f64.ln();
        let log_w = vec![vec![l3; 2], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]];
        let log_norm = vec![vec![0.0, 0.0], vec![0.0, 2f64.ln()]];
        let pe = population_estimates(&integrand, &log_w, &log_norm, &q, true).unwrap();
        assert_eq!(pe.units, 2);
        // Z = mean over trajectories of e^G = (3 + 1 + 2 + 2) / 4 = 2.
        assert!((pe.normaliser.mean + 2f64.ln()).abs() < 1e-12);
        // Weighted mean of y at every t: 3 / (3 + 1 + 2 + 2) = 3/8.
        assert!((pe.weighted_ti.mean + 3.0 / 8.0).abs() < 1e-12);
        assert!((pe.plain_ti.mean + 1.0 / 4.0).abs() < 1e-12);
        // Jackknife over the two populations: without population 0, y = 0 (TI 0); without
        // population 1, y = 3/4 (TI −3/4): err = √(1/2 · 2 · (3/8)²) = 3/8, times Student's
        // t for one degree of freedom (1.8373).
        assert!((pe.weighted_ti.err - 3.0 / 8.0 * 1.837_337_201_5).abs() < 1e-9);
        // Mismatched shapes fail.
        assert!(population_estimates(&integrand, &log_w[..3], &log_norm, &q, true).is_err());
    }

    #[test]
    fn ti_estimate_numbers() {
        // Trapezoid weights on [0, 0.5, 1] are [0.25, 0.5, 0.25]; constant rows integrate
        // to 1, 2, 3: βF = −2, SE = sd / √3 = 1 / √3.
        let w = weights(Rule::Trapezoid, &[0.0, 0.5, 1.0]).unwrap();
        let rows = vec![vec![1.0; 3], vec![2.0; 3], vec![3.0; 3]];
        let e = ti_estimate(&rows, &w, 1).unwrap();
        assert!((e.mean + 2.0).abs() < 1e-15);
        assert!((e.err - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        // Bootstrap SE of a mean of 3 is about sqrt(pop. var / 3) = sqrt(2/9) = 0.471; over
        // seeds, the estimate from 1000 resamples scatters by 0.009 around it (4 sd here).
        assert!(
            (e.bootstrap_err - (2.0f64 / 9.0).sqrt()).abs() < 0.04,
            "{e:?}"
        );
        assert_eq!(e.n, 3);
        assert_eq!(
            e,
            ti_estimate(&rows, &w, 1).unwrap(),
            "seeded: reproducible"
        );
        // Integrand with a per-trajectory shape: row c = [c, 2c, 0] integrates to 1.25 c.
        let rows: Vec<Vec<f64>> = (0..4)
            .map(|c| vec![c as f64, 2.0 * c as f64, 0.0])
            .collect();
        let e = ti_estimate(&rows, &w, 1).unwrap();
        assert!((e.mean + 1.25 * 1.5).abs() < 1e-14);
        // sd of 1.25 * [0,1,2,3] is 1.25 * sqrt(5/3).
        assert!((e.err - 1.25 * (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-14);
        // Two batches of two: batch means 0.625 and 3.125, SE = |difference| / 2.
        let b = ti_estimate_batched(&rows, &w, 2, 1).unwrap();
        assert!((b.mean - e.mean).abs() < 1e-15);
        assert!((b.err - 1.25).abs() < 1e-14, "{b:?}");
        // One trajectory: no error bar.
        let one = ti_estimate(&rows[..1], &w, 1).unwrap();
        assert!(one.err.is_nan() && one.bootstrap_err.is_nan());
        // Bad inputs name the place.
        let mut bad = rows.clone();
        bad[2][1] = f64::NAN;
        let msg = ti_estimate(&bad, &w, 1).unwrap_err().to_string();
        assert!(msg.contains("per_traj[2][1]"), "{msg}");
        assert!(ti_estimate(&[vec![1.0; 2]], &w, 1).is_err());
        assert!(ti_estimate_batched(&rows, &w, 5, 1).is_err());
    }

    /// The SE and the bootstrap agree with the actual scatter of the estimate over many
    /// independent repeats.
    #[test]
    fn ti_errors_match_the_scatter_of_repeats() {
        let grid = TimeGrid::Power { exponent: 2.0 }.points(8).unwrap();
        let w = weights(Rule::Trapezoid, &grid).unwrap();
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let (mut means, mut errs, mut boots) = (vec![], vec![], vec![]);
        for rep in 0..200 {
            // Correlated along t: a shared offset per trajectory plus point noise.
            let rows: Vec<Vec<f64>> = (0..32)
                .map(|_| {
                    let a: f64 = normal.sample(&mut rng);
                    grid.iter()
                        .map(|&t| 10.0 * t + 3.0 * a + normal.sample(&mut rng))
                        .collect()
                })
                .collect();
            let e = ti_estimate(&rows, &w, rep).unwrap();
            means.push(e.mean);
            errs.push(e.err);
            boots.push(e.bootstrap_err);
        }
        let scatter = sample_sd(&means);
        let mean_err = errs.iter().sum::<f64>() / errs.len() as f64;
        let mean_boot = boots.iter().sum::<f64>() / boots.len() as f64;
        let grand = means.iter().sum::<f64>() / means.len() as f64;
        eprintln!("scatter {scatter:.4}, mean SE {mean_err:.4}, mean bootstrap {mean_boot:.4}");
        assert!((grand + 5.0).abs() < 4.0 * scatter / (means.len() as f64).sqrt());
        assert!((mean_err / scatter - 1.0).abs() < 0.15);
        assert!((mean_boot / scatter - 1.0).abs() < 0.15);
    }

    #[test]
    fn summary_combines_estimate_halving_and_band() {
        let grid = TimeGrid::Power { exponent: 2.0 }.points(8).unwrap();
        let rows: Vec<Vec<f64>> = (0..5)
            .map(|c| grid.iter().map(|t| (c as f64) * t * t).collect())
            .collect();
        let s = ti_summary(&rows, &grid, Rule::Simpson, None, 9).unwrap();
        let w = weights(Rule::Simpson, &grid).unwrap();
        assert_eq!(s.estimate, ti_estimate(&rows, &w, 9).unwrap());
        // Mean integrand 2 t²: Simpson is exact on both grids, so no quadrature error.
        assert!((s.estimate.mean + 2.0 / 3.0).abs() < 1e-14);
        assert!((s.beta_f_half_steps.unwrap() + 2.0 / 3.0).abs() < 1e-14);
        assert!(s.quadrature_error.unwrap() < 1e-14);
        assert_eq!(s.band_mean.len(), 9);
        assert!((s.band_mean[8] - 2.0).abs() < 1e-15);
        // K = 6 cannot be halved for Simpson: no error estimate, the rest stands.
        let grid = TimeGrid::Uniform.points(6).unwrap();
        let rows = vec![vec![1.0; 7], vec![2.0; 7]];
        let s = ti_summary(&rows, &grid, Rule::Simpson, Some(2), 9).unwrap();
        assert!(s.quadrature_error.is_none() && (s.estimate.mean + 1.5).abs() < 1e-14);
    }

    #[test]
    fn mean_band_numbers() {
        let rows = vec![vec![1.0, 10.0], vec![3.0, 10.0], vec![5.0, 13.0]];
        let (m, se) = mean_band(&rows).unwrap();
        assert_eq!(m, vec![3.0, 11.0]);
        assert!((se[0] - (4.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((se[1] - (3.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(mean_band(&[vec![1.0], vec![1.0, 2.0]]).is_err());
        assert!(mean_band(&[]).is_err());
    }

    /// Gaussian work W ~ N(μ, σ²): ⟨e^{−W}⟩ = e^{−μ + σ²/2}, so βF = μ − σ²/2, and the
    /// weights are log-normal with ESS / C → e^{−σ²}.
    #[test]
    fn ais_on_gaussian_work() {
        let (mu, sigma) = (3.0, 1.0);
        let normal = Normal::new(mu, sigma).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let work: Vec<f64> = (0..20_000).map(|_| normal.sample(&mut rng)).collect();
        let a = ais_estimate(&work, 4).unwrap();
        let exact = mu - sigma * sigma / 2.0;
        eprintln!("{a:?} exact {exact}");
        assert!((a.beta_f - exact).abs() < 4.0 * a.err, "{a:?}");
        assert!(a.err < 0.02 && a.err > 0.005, "{a:?}");
        assert!((a.delta_err / a.err - 1.0).abs() < 0.15, "{a:?}");
        assert!(
            (a.ess_fraction - (-sigma * sigma).exp()).abs() < 0.03,
            "{a:?}"
        );
        assert_eq!(a.n, 20_000);
        // Shifting every work value shifts βF and nothing else (log-sum-exp holds at 1e4).
        let shifted: Vec<f64> = work.iter().map(|w| w + 1e4).collect();
        let b = ais_estimate(&shifted, 4).unwrap();
        assert!((b.beta_f - a.beta_f - 1e4).abs() < 1e-9);
        assert!((b.ess - a.ess).abs() < 1e-6 * a.ess);
    }

    #[test]
    fn ais_one_dominating_weight_gives_ess_one() {
        let mut work = vec![50.0; 999];
        work.push(0.0);
        let a = ais_estimate(&work, 1).unwrap();
        assert!((a.ess - 1.0).abs() < 1e-12, "{a:?}");
        assert!((a.ess_fraction - 1e-3).abs() < 1e-15);
        // −ln(mean) = −ln((1 + 999 e^{−50}) / 1000) ≈ ln 1000.
        assert!((a.beta_f - 1000f64.ln()).abs() < 1e-12);
        // Equal work: ESS = C, no spread.
        let a = ais_estimate(&[2.0; 10], 1).unwrap();
        assert!((a.ess - 10.0).abs() < 1e-12 && a.err == 0.0 && (a.beta_f - 2.0).abs() < 1e-15);
        // +inf work is a zero weight; NaN fails.
        let a = ais_estimate(&[1.0, f64::INFINITY], 1).unwrap();
        assert!((a.beta_f - (1.0 + 2f64.ln())).abs() < 1e-15);
        assert!(ais_estimate(&[1.0, f64::NAN], 1).is_err());
        assert!(ais_estimate(&[f64::INFINITY], 1).is_err());
        assert!(ais_estimate(&[], 1).is_err());
    }
}

/// Estimates from an annealed run with importance weights (and possibly resampling):
/// βF_ex from the normaliser, the importance-weighted TI and the plain TI, each with a
/// delete-one jackknife error over the independent units (populations when the run
/// resampled, trajectories when it did not), widened by Student's t for the units' degrees
/// of freedom so that ± err is a 68 % interval ([`crate::stats::student_t_scale`]: 1.20 for 4
/// populations, 1.02 for 32 trajectories).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PopulationEstimates {
    /// βF_ex = −ln mean_c exp(G_c(t = 0)), G_c = the population's ln-normaliser sum + ln w_c:
    /// the AIS estimate, or the population-annealing one when the run resampled.
    pub normaliser: Estimate,
    /// βF_ex = −Σ_k q_k Σ_c e^{G_ck} y_ck / Σ_c e^{G_ck}: TI over the importance-weighted
    /// ensemble at every t (consistent whatever the lag of the trajectories).
    pub weighted_ti: Estimate,
    /// βF_ex = −Σ_k q_k mean_c y_ck: TI over the unweighted trajectories (lags when the
    /// correctors cannot keep up).
    pub plain_ti: Estimate,
    /// Effective sample size (Σ e^G)² / Σ e^{2G} of the final (t = 0) weights.
    pub ess: f64,
    /// Independent units of the jackknife.
    pub units: usize,
}

/// Global log weights G[c][k] = Σ_{k' ≥ k} log_norm[p][k'] + ln w[c][k] of trajectory c at
/// grid point k (ascending t), for populations p of C/P consecutive trajectories:
/// −ln mean_c exp G[c][k] estimates −ln(Z_{t_k}/Z_1). Shapes as [`population_estimates`]
/// checks them (P divides C, rows of one length).
pub fn global_log_weights(log_weight: &[Vec<f64>], log_norm: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let c = log_weight.len();
    let size = c / log_norm.len().max(1);
    let points = log_weight.first().map_or(0, Vec::len);
    let mut g = vec![vec![0.0; points]; c];
    for (p, increments) in log_norm.iter().enumerate() {
        let mut acc = 0.0;
        for k in (0..points).rev() {
            acc += increments[k];
            for ci in p * size..(p + 1) * size {
                g[ci][k] = acc + log_weight[ci][k];
            }
        }
    }
    g
}

/// [`PopulationEstimates`] of an annealed run: `integrand`, `log_weight` (C × (K + 1),
/// ascending t, ln w after any resampling), `log_norm` (P × (K + 1), the populations'
/// ln-normaliser increments), quadrature `weights`; `resampled` makes the populations (of
/// C/P consecutive trajectories) the jackknife units, else every trajectory is one.
pub fn population_estimates(
    integrand: &[Vec<f64>],
    log_weight: &[Vec<f64>],
    log_norm: &[Vec<f64>],
    weights: &[f64],
    resampled: bool,
) -> Result<PopulationEstimates> {
    trajectory_integrals(integrand, weights)?;
    let c = integrand.len();
    let pops = log_norm.len().max(1);
    let points = weights.len();
    if log_weight.len() != c
        || log_norm.is_empty()
        || log_weight.iter().any(|r| r.len() != points)
        || c % pops != 0
        || log_norm.iter().any(|r| r.len() != points)
    {
        return Err(Error::argument(
            "log_weight",
            format!("{} rows, {} populations", log_weight.len(), log_norm.len()),
            format!("need one row of {points} per trajectory and populations dividing {c}"),
        ));
    }
    let size = c / pops;
    let g = global_log_weights(log_weight, log_norm);
    if g.iter()
        .flatten()
        .any(|v| v.is_nan() || *v == f64::INFINITY)
    {
        return Err(Error::argument(
            "log_weight",
            "NaN or +inf",
            "the importance weights must be finite",
        ));
    }
    let units = if resampled { pops } else { c };
    let unit_of = |ci: usize| if resampled { ci / size } else { ci };
    // (−ln Z, weighted TI, plain TI) without unit `skip`.
    let estimate = |skip: Option<usize>| -> (f64, f64, f64) {
        let keep: Vec<usize> = (0..c).filter(|&ci| Some(unit_of(ci)) != skip).collect();
        let n = keep.len() as f64;
        let (mut wti, mut pti) = (0.0, 0.0);
        let mut ln_z = 0.0;
        for k in 0..points {
            let m = keep
                .iter()
                .map(|&ci| g[ci][k])
                .fold(f64::NEG_INFINITY, f64::max);
            let (mut s, mut sy, mut plain) = (0.0, 0.0, 0.0);
            for &ci in &keep {
                let e = (g[ci][k] - m).exp();
                s += e;
                sy += e * integrand[ci][k];
                plain += integrand[ci][k];
            }
            wti += weights[k] * sy / s;
            pti += weights[k] * plain / n;
            if k == 0 {
                ln_z = m + (s / n).ln();
            }
        }
        (-ln_z, -wti, -pti)
    };
    let full = estimate(None);
    let err = if units < 2 {
        [f64::NAN; 3]
    } else {
        let drops: Vec<(f64, f64, f64)> = (0..units).map(|u| estimate(Some(u))).collect();
        // A jackknife over a few populations estimates its error with few degrees of
        // freedom: widened to a 68 % interval (Student's t), it covers the truth as 1σ
        // should.
        let t_scale = student_t_scale(units as u32 - 1);
        let jack = |f: fn(&(f64, f64, f64)) -> f64| {
            let v: Vec<f64> = drops.iter().map(f).collect();
            let mean = v.iter().sum::<f64>() / units as f64;
            ((units - 1) as f64 / units as f64 * v.iter().map(|x| (x - mean).powi(2)).sum::<f64>())
                .sqrt()
                * t_scale
        };
        [jack(|d| d.0), jack(|d| d.1), jack(|d| d.2)]
    };
    let make = |mean: f64, err: f64| Estimate {
        mean,
        err,
        bootstrap_err: f64::NAN,
        n: c,
    };
    let m0 = g.iter().map(|r| r[0]).fold(f64::NEG_INFINITY, f64::max);
    let (s, s2) = g.iter().fold((0.0, 0.0), |(s, s2), r| {
        let e = (r[0] - m0).exp();
        (s + e, s2 + e * e)
    });
    Ok(PopulationEstimates {
        normaliser: make(full.0, err[0]),
        weighted_ti: make(full.1, err[1]),
        plain_ti: make(full.2, err[2]),
        ess: s * s / s2,
        units,
    })
}
