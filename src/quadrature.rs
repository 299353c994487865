//! Quadrature over a grid of points: the rules the neural-TI integrand is integrated
//! with on its time grid ([`Rule`], [`weights`], the halving error estimate [`halving`]),
//! the time grids themselves ([`TimeGrid`]), and the Gauss rules of the λ-window baseline
//! ([`gauss_legendre`], [`gauss_kronrod15`]).
//!
//! Time grids: the TI integrand ⟨∂_t Ũ⟩_t of the paper's system runs from about −2000 at
//! t = 0 to +460 at t ≈ 0.3 and is nearly flat towards t = 1, so the points must be dense
//! near t = 0. Since the noise scale is geometric, s(t) = s_min^(1−t) s_max^t, t is already
//! uniform in ln s; the natural densifier is a power map t_k = (k/K)^p, whose first step is
//! K^(−p) and whose spacing grows smoothly (the map u ↦ u^p is smooth for p ≥ 2 and has
//! bounded second derivative, so composite rules keep their order of convergence on it).
//! In a scene the grid is written as `Uniform` or `Power(exponent: 2.0)`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Quadrature rule over the time grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// The paper's rule: the interval [t_{k−1}, t_k] is weighted by f(t_k), the value the
    /// reverse sampler (marching t from 1 to 0) meets first. First order: on the paper's
    /// integrand with a uniform grid it was off by 3–17 kT. For comparison only.
    Riemann,
    /// Composite trapezoid rule on any grid: second order, positive weights, any K.
    #[default]
    Trapezoid,
    /// Composite Simpson rule on pairs of intervals of any lengths (the quadratic through
    /// each three points is integrated exactly); needs an even K. Exact for cubics where
    /// the two intervals of a pair are equal; fourth order on uniform grids and on grids
    /// that are a smooth map of a uniform one, such as [`TimeGrid::Power`]
    /// with exponent ≥ 2. Where consecutive intervals differ by more than a factor 2 one
    /// weight is negative.
    Simpson,
}

impl Rule {
    /// Order p of the rule's global error O(h^p) on smooth integrands (see [`Rule`]).
    pub fn order(self) -> u32 {
        match self {
            Rule::Riemann => 1,
            Rule::Trapezoid => 2,
            Rule::Simpson => 4,
        }
    }
}

/// Checks that `grid` is finite, strictly ascending and long enough for `rule`.
fn check_grid(rule: Rule, grid: &[f64]) -> Result<()> {
    if grid.len() < 2 {
        return Err(Error::argument(
            "grid",
            format!("{} points", grid.len()),
            "a quadrature grid needs at least 2 points",
        ));
    }
    if let Some(k) = grid.iter().position(|t| !t.is_finite()) {
        return Err(Error::argument(
            format!("grid[{k}]"),
            grid[k],
            "grid points must be finite",
        ));
    }
    if let Some(k) = (1..grid.len()).find(|&k| grid[k] <= grid[k - 1]) {
        return Err(Error::argument(
            format!("grid[{k}]"),
            grid[k],
            format!(
                "grid points must be strictly ascending, but grid[{}] = {}",
                k - 1,
                grid[k - 1]
            ),
        ));
    }
    if rule == Rule::Simpson && (grid.len() - 1) % 2 != 0 {
        return Err(Error::argument(
            "grid",
            format!("{} intervals", grid.len() - 1),
            "the Simpson rule needs an even number of intervals; add or drop one point",
        ));
    }
    Ok(())
}

/// Quadrature weights w_k on the points `grid` (ascending) so that
/// ∫_{t_0}^{t_K} f dt ≈ Σ_k w_k f(t_k). Fails on fewer than 2 points, non-finite or
/// non-ascending points, or an odd number of intervals for [`Rule::Simpson`].
pub fn weights(rule: Rule, grid: &[f64]) -> Result<Vec<f64>> {
    check_grid(rule, grid)?;
    let k_max = grid.len() - 1;
    let mut w = vec![0.0; grid.len()];
    match rule {
        Rule::Riemann => {
            for k in 1..=k_max {
                w[k] = grid[k] - grid[k - 1];
            }
        }
        Rule::Trapezoid => {
            for k in 1..=k_max {
                let h = grid[k] - grid[k - 1];
                w[k - 1] += 0.5 * h;
                w[k] += 0.5 * h;
            }
        }
        Rule::Simpson => {
            for k in (0..k_max).step_by(2) {
                let h0 = grid[k + 1] - grid[k];
                let h1 = grid[k + 2] - grid[k + 1];
                let c = (h0 + h1) / 6.0;
                w[k] += c * (2.0 - h1 / h0);
                w[k + 1] += c * (h0 + h1) * (h0 + h1) / (h0 * h1);
                w[k + 2] += c * (2.0 - h0 / h1);
            }
        }
    }
    Ok(w)
}

/// Σ_k w_k f_k.
pub fn dot(w: &[f64], f: &[f64]) -> f64 {
    w.iter().zip(f).map(|(a, b)| a * b).sum()
}

/// The quadrature on the full grid, on every other point, and the Richardson estimate of
/// the full grid's discretisation error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Halving {
    /// ∫ f on the full grid.
    pub full: f64,
    /// ∫ f on the points t_0, t_2, t_4, … (half the steps).
    pub half: f64,
    /// |full − half| / (2^p − 1), p = [`Rule::order`]: the error of `full` if the rule is
    /// in its asymptotic regime.
    pub error_estimate: f64,
}

/// Integrates `values` (f at the points of `grid`) with `rule` on the full grid and on
/// every other point, and estimates the full grid's error as |full − half|/(2^p − 1)
/// (Richardson). Needs an even K (a multiple of 4 for Simpson) and as many values as
/// points.
pub fn halving(rule: Rule, grid: &[f64], values: &[f64]) -> Result<Halving> {
    check_grid(rule, grid)?;
    if values.len() != grid.len() {
        return Err(Error::argument(
            "values",
            format!("{} values", values.len()),
            format!("need one value per grid point ({})", grid.len()),
        ));
    }
    let steps = grid.len() - 1;
    let divisor = if rule == Rule::Simpson { 4 } else { 2 };
    if steps % divisor != 0 {
        return Err(Error::argument(
            "grid",
            format!("{steps} intervals"),
            format!(
                "halving with the {rule:?} rule needs a multiple of {divisor} intervals, so \
                 that every other point is again a valid grid"
            ),
        ));
    }
    let full = dot(&weights(rule, grid)?, values);
    let half_grid: Vec<f64> = grid.iter().step_by(2).copied().collect();
    let half_values: Vec<f64> = values.iter().step_by(2).copied().collect();
    let half = dot(&weights(rule, &half_grid)?, &half_values);
    let error_estimate = (full - half).abs() / (2f64.powi(rule.order() as i32) - 1.0);
    Ok(Halving {
        full,
        half,
        error_estimate,
    })
}

/// Smallest allowed power-grid exponent (1 is the uniform grid).
pub const MIN_EXPONENT: f64 = 1.0;
/// Largest allowed power-grid exponent (beyond it the first steps are wastefully small:
/// with K = 1000 and p = 6 the first step is 1e-18).
pub const MAX_EXPONENT: f64 = 6.0;

/// How the K + 1 time points are spread over [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum TimeGrid {
    /// t_k = k / K.
    Uniform,
    /// t_k = (k / K)^exponent: dense near t = 0 for exponent > 1.
    Power {
        /// The exponent p, in [1, 6]; 2 or 3 suits the paper's integrand.
        exponent: f64,
    },
}

impl Default for TimeGrid {
    /// `Power { exponent: 2.0 }`: the first of K = 1000 steps is 1e-6, the last 2e-3.
    fn default() -> Self {
        TimeGrid::Power { exponent: 2.0 }
    }
}

impl TimeGrid {
    /// Checks the grid parameters for `steps` = K intervals, integrated with `rule`:
    /// K ≥ 2, K even for Simpson, exponent finite in [1, 6]. The error names the field
    /// (`time_grid.steps` or `time_grid.exponent`), the value and the allowed range.
    pub fn validate(&self, steps: usize, rule: Rule) -> Result<()> {
        if steps < 2 {
            return Err(Error::argument(
                "time_grid.steps",
                steps,
                "need at least 2 intervals (K >= 2; 1000 is the paper's)",
            ));
        }
        if rule == Rule::Simpson && steps % 2 != 0 {
            return Err(Error::argument(
                "time_grid.steps",
                steps,
                format!(
                    "composite Simpson needs an even number of intervals; use {} (a multiple \
                     of 4 also allows the halving error estimate)",
                    steps + 1
                ),
            ));
        }
        if let TimeGrid::Power { exponent } = *self {
            if !(exponent.is_finite() && (MIN_EXPONENT..=MAX_EXPONENT).contains(&exponent)) {
                return Err(Error::argument(
                    "time_grid.exponent",
                    exponent,
                    format!(
                        "must be in [{MIN_EXPONENT}, {MAX_EXPONENT}] (1 is uniform; 2 or 3 \
                         puts the points dense near t = 0)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The K + 1 = `steps` + 1 points, ascending, with t_0 = 0 and t_K = 1 exactly.
    /// Fails if `steps` < 2 or the exponent is outside [1, 6] (see [`TimeGrid::validate`];
    /// the Simpson parity is checked by [`TimeGrid::validate`] and by the rule itself).
    pub fn points(&self, steps: usize) -> Result<Vec<f64>> {
        self.validate(steps, Rule::Trapezoid)?;
        let k_max = steps as f64;
        let mut t: Vec<f64> = (0..=steps)
            .map(|k| {
                let u = k as f64 / k_max;
                match *self {
                    TimeGrid::Uniform => u,
                    TimeGrid::Power { exponent } => u.powf(exponent),
                }
            })
            .collect();
        t[0] = 0.0;
        t[steps] = 1.0;
        Ok(t)
    }
}

/// Edges of the spans of t that diagnostics report on (where βF_ex builds up, the loss at
/// each span's midpoint): fine near t = 0, where the integrand is steepest.
pub const SPAN_EDGES: [f64; 7] = [0.0, 0.02, 0.1, 0.3, 0.5, 0.7, 1.0];

/// Gauss–Legendre nodes and weights on [0, 1] (Newton iteration on P_k).
pub fn gauss_legendre(k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; k];
    let mut weights = vec![0.0; k];
    for i in 0..k {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (k as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for j in 2..=k {
                let p2 = ((2 * j - 1) as f64 * x * p1 - (j - 1) as f64 * p0) / j as f64;
                p0 = p1;
                p1 = p2;
            }
            let (p, dp) = if k == 1 {
                (x, 1.0)
            } else {
                (p1, k as f64 * (x * p1 - p0) / (x * x - 1.0))
            };
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                let dp_final = dp;
                weights[i] = 1.0 / ((1.0 - x * x) * dp_final * dp_final);
                break;
            }
        }
        nodes[i] = x;
    }
    // Map [-1, 1] -> [0, 1]; reorder ascending.
    let mut pairs: Vec<(f64, f64)> = nodes
        .iter()
        .zip(&weights)
        .map(|(x, w)| (0.5 * (1.0 - x), *w))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    (
        pairs.iter().map(|p| p.0).collect(),
        pairs.iter().map(|p| p.1).collect(),
    )
}

/// 15-point Gauss–Kronrod nodes on [0, 1] (ascending) with the Kronrod weights and the
/// weights of the embedded 7-point Gauss rule (0 at the Kronrod-only nodes); QUADPACK's
/// constants.
pub fn gauss_kronrod15() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // Non-negative nodes on [-1, 1], Kronrod weights, Gauss weights (odd positions).
    const X: [f64; 8] = [
        0.991_455_371_120_812_6,
        0.949_107_912_342_758_5,
        0.864_864_423_359_769_1,
        0.741_531_185_599_394_4,
        0.586_087_235_467_691_1,
        0.405_845_151_377_397_2,
        0.207_784_955_007_898_5,
        0.0,
    ];
    const WK: [f64; 8] = [
        0.022_935_322_010_529_22,
        0.063_092_092_629_978_55,
        0.104_790_010_322_250_2,
        0.140_653_259_715_525_9,
        0.169_004_726_639_267_9,
        0.190_350_578_064_785_4,
        0.204_432_940_075_298_9,
        0.209_482_141_084_727_8,
    ];
    const WG: [f64; 8] = [
        0.0,
        0.129_484_966_168_869_7,
        0.0,
        0.279_705_391_489_276_7,
        0.0,
        0.381_830_050_505_118_9,
        0.0,
        0.417_959_183_673_469_4,
    ];
    let mut pts: Vec<(f64, f64, f64)> = Vec::with_capacity(15);
    for i in 0..8 {
        pts.push((0.5 * (1.0 - X[i]), 0.5 * WK[i], 0.5 * WG[i]));
        if X[i] != 0.0 {
            pts.push((0.5 * (1.0 + X[i]), 0.5 * WK[i], 0.5 * WG[i]));
        }
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    (
        pts.iter().map(|p| p.0).collect(),
        pts.iter().map(|p| p.1).collect(),
        pts.iter().map(|p| p.2).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-uniform grid on [0, 1] with an even number of unequal intervals.
    fn ragged_grid() -> Vec<f64> {
        vec![0.0, 0.05, 0.12, 0.3, 0.34, 0.6, 0.61, 0.9, 1.0]
    }

    fn integrate(rule: Rule, grid: &[f64], f: impl Fn(f64) -> f64) -> f64 {
        let w = weights(rule, grid).unwrap();
        grid.iter().zip(&w).map(|(t, w)| w * f(*t)).sum()
    }

    #[test]
    fn rules_are_exact_on_polynomials_of_their_degree() {
        let g = ragged_grid();
        // Riemann: constants exactly; a linear function misses by sum h^2 / 2.
        assert!((integrate(Rule::Riemann, &g, |_| 3.0) - 3.0).abs() < 1e-14);
        let miss: f64 = g.windows(2).map(|w| (w[1] - w[0]).powi(2) / 2.0).sum();
        assert!((integrate(Rule::Riemann, &g, |t| t) - 0.5 - miss).abs() < 1e-14);
        // Trapezoid: linear exactly, not quadratic.
        assert!((integrate(Rule::Trapezoid, &g, |t| 2.0 - 3.0 * t) - 0.5).abs() < 1e-14);
        assert!((integrate(Rule::Trapezoid, &g, |t| t * t) - 1.0 / 3.0).abs() > 1e-4);
        // Simpson on unequal pairs: quadratics exactly, not cubics.
        let q = |t: f64| 1.0 + 2.0 * t - 5.0 * t * t;
        assert!((integrate(Rule::Simpson, &g, q) - (1.0 + 1.0 - 5.0 / 3.0)).abs() < 1e-14);
        assert!((integrate(Rule::Simpson, &g, |t| t.powi(3)) - 0.25).abs() > 1e-6);
        // Simpson on pairs of equal intervals (of different lengths per pair): cubics too.
        let g2 = [0.0, 0.1, 0.2, 0.5, 0.8, 0.9, 1.0];
        let c = |t: f64| 4.0 * t.powi(3) - t + 0.5;
        assert!((integrate(Rule::Simpson, &g2, c) - 1.0).abs() < 1e-14);
        assert!((integrate(Rule::Simpson, &g2, |t| t.powi(4)) - 0.2).abs() > 1e-5);
        // Weights sum to the interval length.
        for rule in [Rule::Riemann, Rule::Trapezoid, Rule::Simpson] {
            let s: f64 = weights(rule, &g).unwrap().iter().sum();
            assert!((s - 1.0).abs() < 1e-14, "{rule:?}");
        }
    }

    /// Errors on a smooth integrand with the paper's shape (steep at t = 0) on power grids
    /// of K = 16 … 256: the measured order log2(e_K / e_2K) must match the rule's.
    #[test]
    fn convergence_orders_on_a_power_grid() {
        let f = |t: f64| -2000.0 * (-40.0 * t).exp() + 460.0 * (5.0 * t).sin();
        let exact = -2000.0 * (1.0 - (-40f64).exp()) / 40.0 + 460.0 * (1.0 - 5f64.cos()) / 5.0;
        for (rule, order) in [
            (Rule::Riemann, 1.0),
            (Rule::Trapezoid, 2.0),
            (Rule::Simpson, 4.0),
        ] {
            let errs: Vec<f64> = [64usize, 128, 256, 512]
                .iter()
                .map(|&k| {
                    let g = TimeGrid::Power { exponent: 2.0 }.points(k).unwrap();
                    (integrate(rule, &g, f) - exact).abs()
                })
                .collect();
            let measured = (errs[2] / errs[3]).log2();
            eprintln!("{rule:?}: errors {errs:?}, order {measured:.3}");
            assert!((measured - order).abs() < 0.15, "{rule:?}: {measured}");
        }
    }

    #[test]
    fn halving_estimates_the_discretisation_error() {
        let f = |t: f64| -2000.0 * (-40.0 * t).exp() + 460.0 * (5.0 * t).sin();
        let exact = -2000.0 * (1.0 - (-40f64).exp()) / 40.0 + 460.0 * (1.0 - 5f64.cos()) / 5.0;
        for rule in [Rule::Riemann, Rule::Trapezoid, Rule::Simpson] {
            let g = TimeGrid::Power { exponent: 2.0 }.points(256).unwrap();
            let v: Vec<f64> = g.iter().map(|&t| f(t)).collect();
            let h = halving(rule, &g, &v).unwrap();
            let actual = (h.full - exact).abs();
            eprintln!(
                "{rule:?}: actual {actual:.3e}, estimate {:.3e}",
                h.error_estimate
            );
            assert!(
                h.error_estimate > 0.7 * actual && h.error_estimate < 1.4 * actual,
                "{rule:?}: {h:?} actual {actual}"
            );
        }
        let g = TimeGrid::Uniform.points(6).unwrap();
        let e = halving(Rule::Simpson, &g, &[0.0; 7])
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiple of 4"), "{e}");
        assert!(halving(Rule::Trapezoid, &g, &[0.0; 6]).is_err());
    }

    #[test]
    fn bad_grids_are_rejected() {
        let e = weights(Rule::Trapezoid, &[0.0, 0.5, 0.5, 1.0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("grid[2]") && e.contains("ascending"), "{e}");
        let e = weights(Rule::Simpson, &[0.0, 0.5, 1.0, 1.5])
            .unwrap_err()
            .to_string();
        assert!(e.contains("even"), "{e}");
        assert!(weights(Rule::Riemann, &[0.0]).is_err());
        assert!(weights(Rule::Riemann, &[0.0, f64::NAN]).is_err());
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        for k in [1usize, 2, 5, 12] {
            let (x, w) = gauss_legendre(k);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-13);
            for p in 0..(2 * k) {
                let q: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(p as i32)).sum();
                assert!((q - 1.0 / (p as f64 + 1.0)).abs() < 1e-12, "k {k} p {p}");
            }
        }
    }

    #[test]
    fn gauss_kronrod_rules_are_exact_to_their_degrees() {
        let (x, wk, wg) = gauss_kronrod15();
        assert_eq!(x.len(), 15);
        for p in 0..=22 {
            let k: f64 = x.iter().zip(&wk).map(|(x, w)| w * x.powi(p)).sum();
            assert!(
                (k - 1.0 / (p as f64 + 1.0)).abs() < 1e-14,
                "Kronrod degree {p}"
            );
            if p <= 13 {
                let g: f64 = x.iter().zip(&wg).map(|(x, w)| w * x.powi(p)).sum();
                assert!(
                    (g - 1.0 / (p as f64 + 1.0)).abs() < 1e-14,
                    "Gauss degree {p}"
                );
            }
        }
    }

    #[test]
    fn power_grid_points_are_ascending_with_exact_ends() {
        let t = TimeGrid::Power { exponent: 3.0 }.points(10).unwrap();
        assert_eq!(t.len(), 11);
        assert_eq!(t[0], 0.0);
        assert_eq!(t[10], 1.0);
        assert!((t[1] - 1e-3).abs() < 1e-18);
        assert!((t[5] - 0.125).abs() < 1e-15);
        assert!(t.windows(2).all(|w| w[1] > w[0]));
        let u = TimeGrid::Uniform.points(4).unwrap();
        assert_eq!(u, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        // Exponent 6 with K = 1000 still gives distinct positive points.
        let t = TimeGrid::Power { exponent: 6.0 }.points(1000).unwrap();
        assert!(t[1] > 0.0 && t.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn bad_grids_name_the_field() {
        let e = TimeGrid::Uniform.points(1).unwrap_err().to_string();
        assert!(e.contains("time_grid.steps") && e.contains("= 1"), "{e}");
        let e = TimeGrid::Power { exponent: 7.0 }
            .points(100)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("time_grid.exponent") && e.contains("[1, 6]"),
            "{e}"
        );
        assert!(TimeGrid::Power { exponent: f64::NAN }.points(100).is_err());
        assert!(TimeGrid::Power { exponent: 0.5 }.points(100).is_err());
        let e = TimeGrid::Uniform
            .validate(101, Rule::Simpson)
            .unwrap_err()
            .to_string();
        assert!(e.contains("even") && e.contains("102"), "{e}");
        assert!(TimeGrid::Uniform.validate(101, Rule::Trapezoid).is_ok());
    }

    #[test]
    fn grid_round_trips_through_ron() {
        let g: TimeGrid = ron::from_str("Power(exponent: 2.5)").unwrap();
        assert_eq!(g, TimeGrid::Power { exponent: 2.5 });
        let g: TimeGrid = ron::from_str("Uniform").unwrap();
        assert_eq!(g, TimeGrid::Uniform);
    }
}
