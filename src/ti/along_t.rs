//! Where a βF_ex estimate builds up along t: the contribution of each span of the time grid
//! to every estimator of one N, so that a disagreement between estimators (or with a
//! baseline) can be placed in t.
//!
//! - TI spans: −∫ ⟨∂_t Ũ⟩ dt over the span by the trapezoid rule on the run's grid (the spans
//!   sum to the trapezoid total over the whole grid, which is the TI estimate when the scene's
//!   rule is `Trapezoid`).
//! - Weight spans: the increments of −ln Z_t of the importance weights (AIS, population
//!   annealing, sequential Monte Carlo), −ln mean_c exp G[c][k] between the span's ends with G
//!   the global log weights; they sum to the weights' normaliser.
//!
//! Errors are standard errors over independent units: the populations when the run resampled
//! (jackknife), else the trajectories. The TI and weight spans of the same trajectories
//! should agree where the samplers are in equilibrium; where they part, and where the
//! forward-noised data's integrand parts from the samplers' (the model's marginals are not
//! the data's), is where the sampling is hard.

use crate::ti::estimators::global_log_weights;
use crate::ti::record::RawRun;

pub use crate::quadrature::SPAN_EDGES as EDGES;

/// Grid indices nearest to `edges` on the ascending `grid`, strictly increasing, from 0 to
/// the last point (empty for a grid of fewer than two points).
pub fn cuts(grid: &[f64], edges: &[f64]) -> Vec<usize> {
    if grid.len() < 2 {
        return Vec::new();
    }
    let last = grid.len() - 1;
    let mut cuts = vec![0];
    for &e in edges {
        let k = (0..=last)
            .min_by(|&a, &b| (grid[a] - e).abs().total_cmp(&(grid[b] - e).abs()))
            .unwrap_or(0);
        if k > *cuts.last().unwrap_or(&0) && k < last {
            cuts.push(k);
        }
    }
    cuts.push(last);
    cuts
}

/// (mean, standard error) over units of per-unit values.
fn mean_se(values: &[f64]) -> (f64, f64) {
    let e = crate::stats::mean_and_error(values);
    (e.mean, e.err)
}

/// Independent units of a run: the populations when it resampled, else the trajectories.
fn units(run: &RawRun) -> usize {
    let pops = run.log_norm.len();
    let c = run.integrand.len();
    if run.resample > 0.0 && pops > 1 && c % pops == 0 {
        pops
    } else {
        c
    }
}

/// The TI contribution −∫ ⟨∂_t Ũ⟩ dt of each span `cuts[i]..=cuts[i+1]`, (mean, error).
pub fn ti_spans(run: &RawRun, cuts: &[usize]) -> Vec<(f64, f64)> {
    let c = run.integrand.len();
    let u = units(run);
    if c == 0 || u == 0 || run.integrand.iter().any(|r| r.len() != run.grid.len()) {
        return Vec::new();
    }
    let size = c / u;
    cuts.windows(2)
        .map(|w| {
            let per_unit: Vec<f64> = (0..u)
                .map(|unit| {
                    let rows = &run.integrand[unit * size..(unit + 1) * size];
                    let mut s = 0.0;
                    for k in w[0]..w[1] {
                        let dt = run.grid[k + 1] - run.grid[k];
                        let y = rows.iter().map(|r| r[k] + r[k + 1]).sum::<f64>();
                        s -= 0.5 * dt * y / size as f64;
                    }
                    s
                })
                .collect();
            mean_se(&per_unit)
        })
        .collect()
}

/// The increments of −ln Z_t of the run's importance weights over each span, (mean,
/// jackknife error over the units); `None` for a run without weights.
pub fn weight_spans(run: &RawRun, cuts: &[usize]) -> Option<Vec<(f64, f64)>> {
    let c = run.log_weight.len();
    let points = run.grid.len();
    let pops = run.log_norm.len();
    if c == 0
        || c != run.integrand.len()
        || pops == 0
        || c % pops != 0
        || run.log_weight.iter().any(|r| r.len() != points)
        || run.log_norm.iter().any(|r| r.len() != points)
    {
        return None;
    }
    let g = global_log_weights(&run.log_weight, &run.log_norm);
    let u = units(run);
    let size = c / u;
    // −ln mean exp G[·][k] over the trajectories not in unit `skip`.
    let free = |k: usize, skip: Option<usize>| {
        let keep = (0..c).filter(|&ci| Some(ci / size) != skip);
        let m = keep
            .clone()
            .map(|ci| g[ci][k])
            .fold(f64::NEG_INFINITY, f64::max);
        let (s, n) = keep.fold((0.0, 0.0), |(s, n), ci| (s + (g[ci][k] - m).exp(), n + 1.0));
        -(m + (s / n).ln())
    };
    let spans = cuts
        .windows(2)
        .map(|w| {
            let full = free(w[0], None) - free(w[1], None);
            if u < 2 {
                return (full, f64::NAN);
            }
            let drops: Vec<f64> = (0..u)
                .map(|d| free(w[0], Some(d)) - free(w[1], Some(d)))
                .collect();
            let mean = drops.iter().sum::<f64>() / u as f64;
            let var = drops.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
            (full, ((u - 1) as f64 / u as f64 * var).sqrt())
        })
        .collect::<Vec<_>>();
    spans.iter().all(|s| s.0.is_finite()).then_some(spans)
}

/// Mean corrector acceptance over each span's grid points; `None` without correctors.
pub fn acceptance_spans(run: &RawRun, cuts: &[usize]) -> Option<Vec<f64>> {
    if run.acceptance.len() != run.grid.len() {
        return None;
    }
    Some(
        cuts.windows(2)
            .map(|w| {
                let a = &run.acceptance[w[0]..=w[1]];
                a.iter().sum::<f64>() / a.len() as f64
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Estimator;

    fn run(integrand: Vec<Vec<f64>>, grid: Vec<f64>) -> RawRun {
        RawRun {
            version: 0,
            fingerprint: String::new(),
            n: 2,
            estimator: Estimator::Annealed,
            grid,
            integrand,
            work: Vec::new(),
            log_weight: Vec::new(),
            log_norm: Vec::new(),
            resample: 0.0,
            families: 0,
            acceptance: Vec::new(),
            gr: Vec::new(),
            min_pair_distance: 0.0,
            evaluations: 0,
            wall_time_s: 0.0,
            checksum: String::new(),
        }
    }

    #[test]
    fn cuts_snap_to_the_grid_and_never_repeat() {
        let grid: Vec<f64> = (0..=10).map(|k| (k as f64 / 10.0).powi(2)).collect();
        // 0.02 and 0.1 snap to t = 0.01 (k = 1), 0.3 to 0.25 (k = 5)...
        assert_eq!(cuts(&grid, &EDGES), vec![0, 1, 3, 5, 7, 8, 10]);
        assert_eq!(cuts(&[0.0, 1.0], &EDGES), vec![0, 1]);
        assert!(cuts(&[0.0], &EDGES).is_empty());
    }

    #[test]
    fn ti_spans_sum_to_the_trapezoid_and_integrate_exactly_linear_integrands() {
        // ∂_t Ũ = a + b t on every trajectory: −∫ over [t0, t1] = −(a Δ + b (t1² − t0²)/2).
        let grid: Vec<f64> = (0..=40).map(|k| (k as f64 / 40.0).powi(2)).collect();
        let rows: Vec<Vec<f64>> = (0..6)
            .map(|c| grid.iter().map(|&t| 3.0 + c as f64 + 5.0 * t).collect())
            .collect();
        let r = run(rows, grid.clone());
        let cut = cuts(&grid, &EDGES);
        let spans = ti_spans(&r, &cut);
        assert_eq!(spans.len(), cut.len() - 1);
        for (w, (m, e)) in cut.windows(2).zip(&spans) {
            let (t0, t1) = (grid[w[0]], grid[w[1]]);
            let exact = -(5.5 * (t1 - t0) + 2.5 * (t1 * t1 - t0 * t0));
            assert!((m - exact).abs() < 1e-12, "{m} vs {exact}");
            // The trajectories differ by constants 0..5: sd √3.5, error √(3.5/6) Δt.
            let want = (3.5f64 / 6.0).sqrt() * (t1 - t0);
            assert!((e - want).abs() < 1e-12, "{e} vs {want}");
        }
        let total: f64 = spans.iter().map(|s| s.0).sum();
        assert!((total + 5.5 + 2.5).abs() < 1e-12);
    }

    #[test]
    fn weight_spans_telescope_to_the_normaliser() {
        // Two trajectories in one population, no resampling: G[c][0] = ln w_c at t = 0.
        let grid = vec![0.0, 0.5, 1.0];
        let mut r = run(vec![vec![0.0; 3]; 2], grid.clone());
        r.log_weight = vec![vec![-1.0, -0.5, 0.0], vec![-3.0, -0.25, 0.0]];
        r.log_norm = vec![vec![0.0; 3]];
        let spans = weight_spans(&r, &[0, 1, 2]).unwrap();
        let f = |a: f64, b: f64| -((a.exp() + b.exp()) / 2.0).ln();
        assert!((spans[1].0 - f(-0.5, -0.25)).abs() < 1e-12);
        assert!((spans[0].0 - (f(-1.0, -3.0) - f(-0.5, -0.25))).abs() < 1e-12);
        let total = spans[0].0 + spans[1].0;
        assert!((total - f(-1.0, -3.0)).abs() < 1e-12);
        // Leaving either trajectory out changes the increments: a finite, positive error.
        assert!(spans.iter().all(|s| s.1.is_finite() && s.1 > 0.0));
        // Populations' increments enter through G: one population's ln-normaliser increment
        // at t = 0.5 shifts both of its trajectories.
        r.log_norm = vec![vec![0.0, 2f64.ln(), 0.0]];
        let shifted = weight_spans(&r, &[0, 1, 2]).unwrap();
        assert!((shifted[1].0 - (spans[1].0 - 2f64.ln())).abs() < 1e-12);
        assert!((shifted[0].0 - spans[0].0).abs() < 1e-12);
        // No weights, no spans.
        r.log_weight.clear();
        assert!(weight_spans(&r, &[0, 1, 2]).is_none());
    }

    #[test]
    fn acceptance_is_averaged_per_span() {
        let mut r = run(vec![vec![0.0; 3]], vec![0.0, 0.5, 1.0]);
        assert!(acceptance_spans(&r, &[0, 1, 2]).is_none());
        r.acceptance = vec![0.2, 0.4, 1.0];
        let a = acceptance_spans(&r, &[0, 1, 2]).unwrap();
        assert!((a[0] - 0.3).abs() < 1e-12 && (a[1] - 0.7).abs() < 1e-12);
    }
}
