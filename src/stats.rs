//! Statistics of molecular-dynamics time series sampled by many independent replicas.
//!
//! The input of most functions is a `replicas x time` table: `series[r][t]` is the value of
//! an observable in replica `r` at record `t`. Replicas are independent realisations of the
//! same stationary process; records within a replica are correlated.
//!
//! Conventions:
//! - the integrated autocorrelation time is `tau_int = 1/2 + sum_{t>=1} rho(t)`, in units of
//!   the sampling interval, so that the variance of the mean of `n` records is
//!   `2 tau_int sigma^2 / n` and uncorrelated data have `tau_int = 1/2`;
//! - it is estimated with Sokal's automatic window (`c = 5`) and floored at `1/2`, like the
//!   statistical inefficiency `g = 2 tau_int >= 1` of pymbar: anticorrelated data then get a
//!   conservative (slightly too large) error instead of a negative variance;
//! - quantities that are undefined (the mean of nothing, the error from one record) are
//!   `NaN`; nothing here panics on empty, constant or non-finite input.

use serde::{Deserialize, Serialize};

/// Sokal's window constant: the window `M` is the smallest with `M >= SOKAL_C * tau(M)`.
const SOKAL_C: f64 = 5.0;

/// Block length in units of `tau_int` used by [`block_average`] (at least this many `tau`).
const BLOCK_TAUS: f64 = 4.0;

/// Most blocks cut from one replica by [`block_average`].
const MAX_BLOCKS_PER_REPLICA: usize = 8;

/// Smallest value returned for an integrated autocorrelation time (uncorrelated data).
const TAU_FLOOR: f64 = 0.5;

/// A statistical estimate: mean and its 1-sigma standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Estimated mean.
    pub mean: f64,
    /// One-sigma standard error of `mean`.
    pub err: f64,
}

/// P(|T| < t) for Student's t with `dof` ≥ 1 degrees of freedom (Abramowitz & Stegun
/// 26.7.3–4: finite series in θ = atan(t/√dof)).
pub fn student_t_coverage(t: f64, dof: u32) -> f64 {
    let nu = dof.max(1) as f64;
    let theta = (t.abs() / nu.sqrt()).atan();
    let (s, c2) = (theta.sin(), theta.cos().powi(2));
    if dof % 2 == 1 {
        // (2/π)[θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4···(ν−3))/(1·3···(ν−2)) cos^{ν−2}θ)]
        let mut sum = 0.0;
        let mut term = theta.cos();
        let mut k = 1;
        while k + 2 <= dof {
            sum += term;
            term *= c2 * (k + 1) as f64 / (k + 2) as f64;
            k += 2;
        }
        2.0 / std::f64::consts::PI * (theta + s * sum)
    } else {
        // sin θ [1 + (1/2) cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3···(ν−3))/(2·4···(ν−2)) cos^{ν−2}θ]
        let mut sum = 0.0;
        let mut term = 1.0;
        let mut k = 0;
        while k + 2 <= dof {
            sum += term;
            term *= c2 * (k + 1) as f64 / (k + 2) as f64;
            k += 2;
        }
        s * sum
    }
}

/// The factor that turns a standard error with `dof` degrees of freedom into the half-width
/// of a 68.27 % (normal 1σ) confidence interval: Student's t quantile, 1.84 at 1 degree of
/// freedom, 1.20 at 3, 1.02 at 30, → 1. An error estimated from few independent units
/// (a jackknife over a few populations) is itself uncertain, and the bare standard error
/// then covers the truth less often than 1σ promises.
pub fn student_t_scale(dof: u32) -> f64 {
    if dof == 0 {
        return f64::NAN;
    }
    if dof > 1000 {
        return 1.0;
    }
    let target = normal_one_sigma_coverage();
    let (mut lo, mut hi) = (1.0, 2.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if student_t_coverage(mid, dof) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(|Z| < 1) of a standard normal, erf(1/√2).
fn normal_one_sigma_coverage() -> f64 {
    0.682_689_492_137_085_9
}

/// Summary of a `replicas x time` observable: estimate, integrated autocorrelation time and
/// effective number of independent samples. Serializes with keys `mean`, `err`, `tau_int`,
/// `n_eff`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Estimated mean (of the block means, see [`block_average`]).
    pub mean: f64,
    /// One-sigma standard error of `mean`.
    pub err: f64,
    /// Integrated autocorrelation time in sampling intervals (see [`tau_int_replicas`]).
    pub tau_int: f64,
    /// Effective number of independent samples, `total records / (2 tau_int)`.
    pub n_eff: f64,
}

/// Integrated autocorrelation time (in units of the sampling interval) of one series, by
/// Sokal's automatic windowing: the window is the smallest `M` with `M >= c * tau(M)`,
/// `c = 5`, where `tau(M) = 1/2 + sum_{t=1}^{M} rho(t)`. With this convention the variance of
/// the mean is `2 tau_int sigma^2 / n`, and uncorrelated data give `0.5`.
///
/// The result is floored at `0.5`. Empty, single-record and constant series give `0.5`; a
/// series containing a non-finite value gives `NaN`. Cost `O(n M)`.
pub fn integrated_autocorrelation_time(series: &[f64]) -> f64 {
    let n = series.len();
    let mean = if n == 0 {
        0.0
    } else {
        series.iter().sum::<f64>() / n as f64
    };
    let centred: Vec<f64> = series.iter().map(|x| x - mean).collect();
    sokal_window(&[centred])
}

/// Integrated autocorrelation time of several independent replicas of the same process
/// (series of equal or different lengths), in the convention of
/// [`integrated_autocorrelation_time`].
///
/// Every series is centred on the grand mean of all records, and the autocovariance at lag
/// `t` is pooled over replicas (sum of all products at lag `t` divided by the number of such
/// pairs) before Sokal's windowing. This is much less noisy than averaging per-replica
/// estimates, and unbiased by the per-replica mean subtraction of short series. Empty
/// replicas are ignored.
pub fn tau_int_replicas(series: &[Vec<f64>]) -> f64 {
    let n_total: usize = series.iter().map(Vec::len).sum();
    let mean = if n_total == 0 {
        0.0
    } else {
        series.iter().flatten().sum::<f64>() / n_total as f64
    };
    let centred: Vec<Vec<f64>> = series
        .iter()
        .map(|s| s.iter().map(|x| x - mean).collect())
        .collect();
    sokal_window(&centred)
}

/// Pooled autocovariance at lag `lag` of already centred series: the mean of
/// `y[i] * y[i + lag]` over all pairs of all series (`NaN` when there is no pair).
fn pooled_autocovariance(centred: &[Vec<f64>], lag: usize) -> f64 {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for y in centred.iter().filter(|y| y.len() > lag) {
        sum += y.iter().zip(&y[lag..]).map(|(a, b)| a * b).sum::<f64>();
        pairs += y.len() - lag;
    }
    if pairs == 0 {
        f64::NAN
    } else {
        sum / pairs as f64
    }
}

/// Sokal's automatic windowing on centred series; see [`integrated_autocorrelation_time`].
///
/// The window search stops at half the longest series: if no window satisfies the criterion
/// by then, the series are too short for a reliable estimate and `tau(M_max)` is returned.
fn sokal_window(centred: &[Vec<f64>]) -> f64 {
    let max_len = centred.iter().map(Vec::len).max().unwrap_or(0);
    if max_len < 2 {
        return TAU_FLOOR;
    }
    let c0 = pooled_autocovariance(centred, 0);
    if !c0.is_finite() {
        return f64::NAN;
    }
    if c0 <= 0.0 {
        return TAU_FLOOR;
    }
    let max_lag = (max_len / 2).max(1);
    let mut tau = 0.5;
    for lag in 1..=max_lag {
        tau += pooled_autocovariance(centred, lag) / c0;
        if lag as f64 >= SOKAL_C * tau {
            break;
        }
    }
    tau.max(TAU_FLOOR)
}

/// Mean and standard error of a `replicas x time` table by block averaging.
///
/// Each replica is cut into blocks of equal length `L >= max(1, ceil(4 tau))`: at most 8
/// blocks per replica (longer blocks when the replica is long), the leftover records at the
/// start of the replica (the least equilibrated ones) dropped. All block means of all
/// replicas are treated as independent samples; since replicas may differ in length, block
/// `i` of length `L_i` gets weight `L_i` (its variance scales as `1/L_i`):
/// `mean = sum L_i m_i / sum L_i`,
/// `err^2 = sum L_i (m_i - mean)^2 / ((K - 1) sum L_i)` over `K` blocks, which is the usual
/// standard error of `K` equal blocks when all lengths agree. Replicas shorter than one block
/// contribute no block.
///
/// With fewer than two blocks overall the spread of block means says nothing, so the
/// function falls back to the mean of all records and `err = sqrt(2 tau var / n)`, with
/// `var` the sample variance of all `n` records and `tau` floored at `0.5`. Empty input gives
/// `NaN` mean and error; a single record gives its value and a `NaN` error; constant data
/// give `err = 0`.
pub fn block_average(series: &[Vec<f64>], tau: f64) -> Estimate {
    let min_len = min_block_length(tau);
    let blocks: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| replica_blocks(s, min_len))
        .collect();
    if blocks.len() < 2 {
        return correlated_mean(series, tau);
    }
    let weight: f64 = blocks.iter().map(|(_, w)| w).sum();
    let mean = blocks.iter().map(|(m, w)| m * w).sum::<f64>() / weight;
    let spread: f64 = blocks.iter().map(|(m, w)| w * (m - mean).powi(2)).sum();
    let err = (spread / ((blocks.len() - 1) as f64 * weight)).sqrt();
    Estimate { mean, err }
}

/// Smallest block length for an autocorrelation time `tau`: `max(1, ceil(4 tau))`
/// (`1` for a non-finite or negative `tau`, saturating for an infinite one).
fn min_block_length(tau: f64) -> usize {
    let len = (BLOCK_TAUS * tau).ceil();
    if len.is_nan() || len < 1.0 {
        1
    } else {
        // `as` saturates at usize::MAX for huge or infinite values.
        len as usize
    }
}

/// Block means and lengths `(mean, length)` of one replica, blocks of length at least
/// `min_len`, at most [`MAX_BLOCKS_PER_REPLICA`] of them, leftover records at the start dropped.
fn replica_blocks(series: &[f64], min_len: usize) -> Vec<(f64, f64)> {
    let n_blocks = (series.len() / min_len.max(1)).min(MAX_BLOCKS_PER_REPLICA);
    if n_blocks == 0 {
        return Vec::new();
    }
    let len = series.len() / n_blocks;
    let used = &series[series.len() - n_blocks * len..];
    used.chunks_exact(len)
        .map(|b| (b.iter().sum::<f64>() / len as f64, len as f64))
        .collect()
}

/// Mean of all records with error `sqrt(2 tau var / n)` (the fallback of [`block_average`]).
fn correlated_mean(series: &[Vec<f64>], tau: f64) -> Estimate {
    let all: Vec<f64> = series.iter().flatten().copied().collect();
    let iid = mean_and_error(&all);
    let tau = if tau.is_nan() {
        TAU_FLOOR
    } else {
        tau.max(TAU_FLOOR)
    };
    Estimate {
        mean: iid.mean,
        err: iid.err * (2.0 * tau).sqrt(),
    }
}

/// Effective number of independent samples, `total_records / (2 tau)`. `tau` is floored at
/// `0.5` (like the estimators of this module), so the result never exceeds `total_records`;
/// a `NaN` `tau` gives `NaN`.
pub fn effective_samples(total_records: usize, tau: f64) -> f64 {
    if tau.is_nan() {
        return f64::NAN;
    }
    total_records as f64 / (2.0 * tau.max(TAU_FLOOR))
}

/// Mean and standard error `sqrt(s^2 / n)` (with the `n - 1` sample variance `s^2`) of
/// independent samples. Empty input gives `NaN` for both; a single sample gives its value
/// and a `NaN` error.
pub fn mean_and_error(samples: &[f64]) -> Estimate {
    let n = samples.len();
    if n == 0 {
        return Estimate {
            mean: f64::NAN,
            err: f64::NAN,
        };
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            mean,
            err: f64::NAN,
        };
    }
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Estimate {
        mean,
        err: (var / n as f64).sqrt(),
    }
}

/// Summary of a `replicas x time` observable: `tau_int` from [`tau_int_replicas`], mean and
/// error from [`block_average`] with that `tau_int`, and `n_eff` from [`effective_samples`].
pub fn summarize(series: &[Vec<f64>]) -> SeriesSummary {
    let tau_int = tau_int_replicas(series);
    let estimate = block_average(series, tau_int);
    let total: usize = series.iter().map(Vec::len).sum();
    SeriesSummary {
        mean: estimate.mean,
        err: estimate.err,
        tau_int,
        n_eff: effective_samples(total, tau_int),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_matches_tabulated_quantiles() {
        // Two-sided 68.27 % quantiles of Student's t (by quadrature of its density).
        for (dof, t) in [
            (1, 1.83734),
            (2, 1.32128),
            (3, 1.19688),
            (4, 1.14163),
            (7, 1.07671),
            (30, 1.01695),
        ] {
            assert!(
                (student_t_scale(dof) - t).abs() < 1e-5,
                "{dof}: {}",
                student_t_scale(dof)
            );
        }
        // Two-sided 95 % quantiles: 12.706 (1), 4.303 (2), 3.182 (3), 2.776 (4), 2.045 (29).
        for (dof, t) in [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (29, 2.045)] {
            assert!((student_t_coverage(t, dof) - 0.95).abs() < 2e-4, "{dof}");
        }
        assert_eq!(student_t_scale(5000), 1.0);
        assert!(student_t_scale(0).is_nan());
    }
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// Stationary AR(1) series `x_{t+1} = a x_t + sqrt(1 - a^2) e_t`, unit variance, started
    /// from the stationary distribution. Its `tau_int` is `(1 + a) / (2 (1 - a))`.
    fn ar1(rng: &mut StdRng, a: f64, n: usize) -> Vec<f64> {
        let s = (1.0 - a * a).sqrt();
        let mut x: f64 = StandardNormal.sample(rng);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(x);
            let e: f64 = StandardNormal.sample(rng);
            x = a * x + s * e;
        }
        out
    }

    fn ar1_replicas(seed: u64, a: f64, replicas: usize, n: usize) -> Vec<Vec<f64>> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..replicas).map(|_| ar1(&mut rng, a, n)).collect()
    }

    fn ar1_tau(a: f64) -> f64 {
        (1.0 + a) / (2.0 * (1.0 - a))
    }

    #[test]
    fn iid_noise_has_tau_one_half() {
        // Sokal's variance var(tau) ~ 2 (2M + 1) tau^2 / n with M ~ 3 gives sd ~ 0.006 at
        // n = 1e5: a tolerance of 0.03 is 5 sd, and the floor keeps tau >= 0.5.
        let x = ar1_replicas(1, 0.0, 1, 100_000).remove(0);
        let tau = integrated_autocorrelation_time(&x);
        assert!((0.5..0.53).contains(&tau), "tau = {tau}");
    }

    #[test]
    fn ar1_tau_pooled_over_replicas() {
        // 16 x 20000 records: sd(tau) ~ sqrt(2 (2M + 1) / n) tau ~ 2.5% with M ~ 50, and the
        // window misses a^(M+1) / (1 - a) ~ 0.06 of the sum; 15% leaves ample margin.
        let a = 0.9;
        let series = ar1_replicas(2, a, 16, 20_000);
        let tau = tau_int_replicas(&series);
        let exact = ar1_tau(a);
        assert!(
            (tau / exact - 1.0).abs() < 0.15,
            "tau = {tau}, exact {exact}"
        );
    }

    #[test]
    fn single_series_tau_matches_ar1_and_pooled_version() {
        // a = 0.5: tau = 1.5, sd ~ 2% at n = 1e5. A 5% tolerance also pins the convention:
        // omitting the 1/2 (or counting it twice) would be off by 33%.
        let a = 0.5;
        let x = ar1_replicas(3, a, 1, 100_000).remove(0);
        let tau = integrated_autocorrelation_time(&x);
        assert!((tau / ar1_tau(a) - 1.0).abs() < 0.05, "tau = {tau}");
        assert_eq!(tau, tau_int_replicas(&[x]));
    }

    #[test]
    fn block_error_matches_true_standard_error() {
        // Unit-variance AR(1): var(grand mean) = 2 tau / n_total. 256 blocks give the error
        // to ~1/sqrt(2 * 256) ~ 4.4%, so 25% is > 5 sd.
        let a = 0.9;
        let (replicas, n) = (16, 20_000);
        let series = ar1_replicas(4, a, replicas, n);
        let tau = tau_int_replicas(&series);
        let est = block_average(&series, tau);
        let exact = (2.0 * ar1_tau(a) / (replicas * n) as f64).sqrt();
        assert!(
            (est.err / exact - 1.0).abs() < 0.25,
            "err {} vs {exact}",
            est.err
        );
        assert!(est.mean.abs() < 5.0 * exact, "mean {}", est.mean);
    }

    #[test]
    fn errors_are_calibrated() {
        // 200 repeats of 4 replicas x 2000 AR(1) records (64 blocks of 125 >> 4 tau = 38):
        // |mean| < err should hold with probability P(|t_63| < 1) ~ 0.68; the binomial sd
        // over 200 repeats is 0.033, so +-0.08 is ~2.4 sd.
        let a = 0.9;
        let mut rng = StdRng::seed_from_u64(5);
        let repeats = 200;
        let mut inside = 0;
        for _ in 0..repeats {
            let series: Vec<Vec<f64>> = (0..4).map(|_| ar1(&mut rng, a, 2000)).collect();
            let s = summarize(&series);
            if s.mean.abs() < s.err {
                inside += 1;
            }
        }
        let frac = inside as f64 / repeats as f64;
        assert!((frac - 0.68).abs() < 0.08, "coverage {frac}");
    }

    #[test]
    fn mean_and_error_of_known_samples() {
        // mean 2.5, s^2 = 5/3, err = sqrt(5/12)
        let e = mean_and_error(&[1.0, 2.0, 3.0, 4.0]);
        assert!((e.mean - 2.5).abs() < 1e-15);
        assert!((e.err - (5.0_f64 / 12.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn block_average_of_known_blocks() {
        // tau = 0.5 -> min block length 2; 4 records -> 2 blocks of 2: means 1.5, 3.5;
        // err = sd of 2 block means / sqrt(2) = sqrt(2) / sqrt(2) = 1.
        let e = block_average(&[vec![1.0, 2.0, 3.0, 4.0]], 0.5);
        assert_eq!(
            e,
            Estimate {
                mean: 2.5,
                err: 1.0
            }
        );
        // Leftover record at the start is dropped: 5 records, 2 blocks of 2.
        let e = block_average(&[vec![100.0, 1.0, 2.0, 3.0, 4.0]], 0.5);
        assert_eq!(
            e,
            Estimate {
                mean: 2.5,
                err: 1.0
            }
        );
    }

    #[test]
    fn block_average_caps_blocks_per_replica() {
        // 64 records, tau 0.5: 8 blocks of 8 (not 32 of 2). Data 0..64 give block means
        // 3.5 + 8k, k = 0..7, whose plain mean and error the weighted formula must match.
        let x: Vec<f64> = (0..64).map(f64::from).collect();
        let e = block_average(&[x], 0.5);
        let means: Vec<f64> = (0..8).map(|k| 3.5 + 8.0 * k as f64).collect();
        let direct = mean_and_error(&means);
        assert!((e.mean - direct.mean).abs() < 1e-12);
        assert!((e.err - direct.err).abs() < 1e-12);
    }

    #[test]
    fn unequal_replicas_weight_blocks_by_length() {
        // tau = 0.5: replica [0,0] -> 1 block (len 2, mean 0); replica [3;4] -> 2 blocks of 2
        // (mean 3). Weighted mean (2*0 + 2*3 + 2*3) / 6 = 2.
        let e = block_average(&[vec![0.0, 0.0], vec![3.0; 4]], 0.5);
        assert!((e.mean - 2.0).abs() < 1e-15);
        // spread = 2*4 + 2*1 + 2*1 = 12; err^2 = 12 / (2 * 6) = 1
        assert!((e.err - 1.0).abs() < 1e-15);
    }

    #[test]
    fn single_block_falls_back_to_tau_formula() {
        // tau = 2 -> block length 8 > 5 records: err = sqrt(2 tau var / n) = sqrt(4 * 2.5 / 5).
        let e = block_average(&[vec![1.0, 2.0, 3.0, 4.0, 5.0]], 2.0);
        assert!((e.mean - 3.0).abs() < 1e-15);
        assert!((e.err - 2.0_f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn edge_cases_do_not_panic() {
        let empty = summarize(&[]);
        assert!(empty.mean.is_nan() && empty.err.is_nan());
        assert_eq!((empty.tau_int, empty.n_eff), (0.5, 0.0));
        let empty_replicas = summarize(&[vec![], vec![]]);
        assert!(empty_replicas.mean.is_nan());
        assert_eq!(integrated_autocorrelation_time(&[]), 0.5);

        let one = summarize(&[vec![3.0]]);
        assert_eq!((one.mean, one.tau_int, one.n_eff), (3.0, 0.5, 1.0));
        assert!(one.err.is_nan());

        let constant = summarize(&[vec![2.0; 100], vec![2.0; 50]]);
        assert_eq!(
            (constant.mean, constant.err, constant.tau_int),
            (2.0, 0.0, 0.5)
        );

        assert!(integrated_autocorrelation_time(&[1.0, f64::NAN, 2.0]).is_nan());
        assert_eq!(effective_samples(100, 0.1), 100.0);
        assert_eq!(effective_samples(100, 5.0), 10.0);
        let e = block_average(&[vec![1.0, 2.0]], f64::INFINITY);
        assert_eq!(e.err, f64::INFINITY);
        let e = block_average(&[vec![1.0, 2.0, 3.0]], f64::NAN);
        assert!(e.err.is_finite());
    }

    #[test]
    fn alternating_series_is_floored() {
        let x: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert_eq!(integrated_autocorrelation_time(&x), 0.5);
    }

    #[test]
    fn summary_serializes_with_expected_keys() {
        let s = SeriesSummary {
            mean: 1.0,
            err: 0.5,
            tau_int: 2.0,
            n_eff: 10.0,
        };
        let v: serde_json::Value = serde_json::to_value(s).expect("serialize");
        for key in ["mean", "err", "tau_int", "n_eff"] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }
}
