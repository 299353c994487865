//! From βF_ex(N) on a set of particle numbers to the excess chemical potential, the
//! grand-canonical particle-number distribution p(N) and the adsorption isotherm ⟨ρ⟩(βμ)
//! (the paper's figures 4–5).
//!
//! **Interpolation over N.** βF_ex is known (with independent errors) at a few N of any
//! spacing, e.g. the paper's 40, 80, …, 200; [`FreeEnergyCurve`] interpolates it with a
//! cubic spline. The default end condition is *not-a-knot* ([`SplineEnds::NotAKnot`]):
//! βF_ex(N) is strongly curved at both ends of the paper's range (its second derivative is
//! dβμ_ex/dN, far from zero at ρ = 0.19 and 0.93), so the *natural* spline's S'' = 0 at the
//! ends bends the curve wrongly there, while not-a-knot reproduces any cubic exactly; the
//! natural spline ([`SplineEnds::Natural`], the minimum-curvature interpolant) is available
//! for comparison. With 3 nodes not-a-knot is the parabola through them, with 2 the line.
//! The spline is linear in the node values, S(N) = Σ_j c_j(N) βF_j, so errors propagate
//! exactly for independent node errors: err S(N) = √(Σ_j c_j(N)² err_j²), and for
//! βμ_ex(N) = S(N+1) − S(N) with the coefficient differences (at two nodes this is the
//! quadrature sum √(err_N² + err_{N+1}²) of [`betamu_ex_pair`]).
//!
//! **Grand canonical ensemble.** With Z_N/V^N = exp(−βF_ex(N)) and the ideal-gas factor
//! (V/Λ³)^N / N!,
//!
//! ```text
//! ln p(N) = βμ N − βF_ex(N) − ln N! + N ln(V/Λ³) + const,   Λ = h / √(2π m kT),
//! ```
//!
//! normalised over the integers of the curve's N range. The constants follow the paper's
//! convention by default ([`IdealGasUnits::default`]): box units V = 1, h = 1e-4, m = 1,
//! kT = 1, so ln(V/Λ³) = 30.39 and, for the paper's system (L = 6σ, ε = 0.8 kT), the
//! isotherm jumps from vapour to liquid near βμ ≈ −28. Only the N range of the curve is
//! summed: [`Distribution::edge_probability`] says how much weight sits at its ends (the
//! exact values βF_ex(0) = βF_ex(1) = 0 may be added as nodes to reach down to N = 0).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::Estimate;

/// βF_ex at one particle number, with its standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FreeEnergyPoint {
    /// Particle number N.
    pub n: usize,
    /// βF_ex(N) = −ln(Z_N / V^N).
    #[serde(rename = "betaF_ex", alias = "beta_f_ex")]
    pub beta_f_ex: f64,
    /// One-sigma standard error of `beta_f_ex` (0 for an exact value such as N = 0, 1).
    pub err: f64,
}

/// End conditions of the cubic spline over N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplineEnds {
    /// Third derivative continuous at the second and the second-to-last node: reproduces
    /// cubics exactly. The default (see the module documentation).
    #[default]
    NotAKnot,
    /// Zero second derivative at both ends (minimum curvature; exact only for lines).
    Natural,
}

/// βF_ex(N) interpolated by a cubic spline through independent estimates at a few N.
#[derive(Clone, Debug)]
pub struct FreeEnergyCurve {
    /// Node positions (particle numbers), ascending.
    nodes: Vec<f64>,
    /// βF_ex at the nodes.
    values: Vec<f64>,
    /// Standard errors at the nodes.
    errs: Vec<f64>,
    /// `second[i][j]`: ∂S''(x_i)/∂y_j, the linear map from node values to the spline's
    /// second derivatives at the nodes.
    second: Vec<Vec<f64>>,
}

/// Solves A X = B for square A (n × n) and B (n × m) by Gaussian elimination with partial
/// pivoting. A is non-singular for every spline system built here.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (pivot_a, pivot_b) = (a[col].clone(), b[col].clone());
        for row in col + 1..n {
            let f = a[row][col] / pivot_a[col];
            if f == 0.0 {
                continue;
            }
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_a[col..]) {
                *x -= f * p;
            }
            for (x, p) in b[row].iter_mut().zip(&pivot_b) {
                *x -= f * p;
            }
        }
    }
    for col in (0..n).rev() {
        for k in 0..b[col].len() {
            let mut s = b[col][k];
            for j in col + 1..n {
                s -= a[col][j] * b[j][k];
            }
            b[col][k] = s / a[col][col];
        }
    }
    b
}

impl FreeEnergyCurve {
    /// Builds the spline through `points` (any order, at least 2 distinct N, finite values,
    /// finite non-negative errors). Fails naming the offending point.
    pub fn new(points: &[FreeEnergyPoint], ends: SplineEnds) -> Result<Self> {
        let mut pts = points.to_vec();
        pts.sort_by_key(|p| p.n);
        if pts.len() < 2 {
            return Err(Error::argument(
                "points",
                format!("{} points", pts.len()),
                "need βF_ex at 2 or more particle numbers to interpolate",
            ));
        }
        for (k, p) in pts.iter().enumerate() {
            if !(p.beta_f_ex.is_finite() && p.err.is_finite() && p.err >= 0.0) {
                return Err(Error::argument(
                    format!("points[N = {}]", p.n),
                    format!("{} ± {}", p.beta_f_ex, p.err),
                    "βF_ex must be finite and its error finite and >= 0",
                ));
            }
            if k > 0 && pts[k - 1].n == p.n {
                return Err(Error::argument(
                    format!("points[N = {}]", p.n),
                    "given twice",
                    "combine repeated estimates at the same N before interpolating",
                ));
            }
        }
        let nodes: Vec<f64> = pts.iter().map(|p| p.n as f64).collect();
        let m = nodes.len() - 1;
        let h: Vec<f64> = nodes.windows(2).map(|w| w[1] - w[0]).collect();
        // Rows: one equation per second derivative M_0..M_m; `rhs` maps y to the right side.
        let mut a = vec![vec![0.0; m + 1]; m + 1];
        let mut rhs = vec![vec![0.0; m + 1]; m + 1];
        for i in 1..m {
            a[i][i - 1] = h[i - 1];
            a[i][i] = 2.0 * (h[i - 1] + h[i]);
            a[i][i + 1] = h[i];
            rhs[i][i + 1] = 6.0 / h[i];
            rhs[i][i] = -6.0 / h[i] - 6.0 / h[i - 1];
            rhs[i][i - 1] = 6.0 / h[i - 1];
        }
        match (ends, m) {
            (SplineEnds::Natural, _) | (SplineEnds::NotAKnot, 1) => {
                a[0][0] = 1.0;
                a[m][m] = 1.0;
            }
            (SplineEnds::NotAKnot, 2) => {
                // One parabola: M_0 = M_1 = M_2.
                a[0][0] = 1.0;
                a[0][1] = -1.0;
                a[m][m] = 1.0;
                a[m][m - 1] = -1.0;
            }
            (SplineEnds::NotAKnot, _) => {
                // (M_1 − M_0)/h_0 = (M_2 − M_1)/h_1, and the same at the other end.
                a[0][0] = -h[1];
                a[0][1] = h[1] + h[0];
                a[0][2] = -h[0];
                a[m][m] = -h[m - 2];
                a[m][m - 1] = h[m - 2] + h[m - 1];
                a[m][m - 2] = -h[m - 1];
            }
        }
        let second = solve(a, rhs);
        Ok(Self {
            nodes,
            values: pts.iter().map(|p| p.beta_f_ex).collect(),
            errs: pts.iter().map(|p| p.err).collect(),
            second,
        })
    }

    /// Smallest and largest N of the nodes.
    pub fn n_range(&self) -> (usize, usize) {
        (
            self.nodes[0] as usize,
            self.nodes[self.nodes.len() - 1] as usize,
        )
    }

    /// The coefficients c_j(x) with S(x) = Σ_j c_j y_j; `x` must lie in the node range.
    fn coefficients(&self, x: f64) -> Vec<f64> {
        let m = self.nodes.len() - 1;
        let i = self.nodes[..m].iter().rposition(|&xi| xi <= x).unwrap_or(0);
        let h = self.nodes[i + 1] - self.nodes[i];
        let (l, r) = (self.nodes[i + 1] - x, x - self.nodes[i]);
        let a = l * l * l / (6.0 * h) - h * l / 6.0;
        let b = r * r * r / (6.0 * h) - h * r / 6.0;
        let mut c: Vec<f64> = (0..=m)
            .map(|j| a * self.second[i][j] + b * self.second[i + 1][j])
            .collect();
        c[i] += l / h;
        c[i + 1] += r / h;
        c
    }

    /// Checks that `n` lies in the node range.
    fn check_in_range(&self, field: &str, n: f64) -> Result<()> {
        let (lo, hi) = self.n_range();
        if n.is_finite() && n >= lo as f64 && n <= hi as f64 {
            Ok(())
        } else {
            Err(Error::argument(
                field,
                n,
                format!("must lie in the range of N with a βF_ex estimate, [{lo}, {hi}]; the spline does not extrapolate"),
            ))
        }
    }

    /// Linear combination of node values and its propagated error.
    fn combine(&self, c: &[f64]) -> Estimate {
        Estimate {
            mean: c.iter().zip(&self.values).map(|(c, y)| c * y).sum(),
            err: c
                .iter()
                .zip(&self.errs)
                .map(|(c, e)| (c * e).powi(2))
                .sum::<f64>()
                .sqrt(),
        }
    }

    /// βF_ex at `n` (any real in the node range) with its propagated error. At a node it
    /// returns that node's estimate.
    pub fn beta_f_ex(&self, n: f64) -> Result<Estimate> {
        self.check_in_range("N", n)?;
        Ok(self.combine(&self.coefficients(n)))
    }

    /// βμ_ex(N → N+1) = βF_ex(N+1) − βF_ex(N) from the spline, with the error of the
    /// difference (the shared node errors enter once, with the difference of their
    /// coefficients). Needs N and N+1 in the node range.
    pub fn betamu_ex(&self, n: usize) -> Result<Estimate> {
        self.check_in_range("N", n as f64)?;
        self.check_in_range("N + 1", n as f64 + 1.0)?;
        Ok(self.step_difference(n as f64))
    }

    /// βμ_ex(N_max → N_max + 1) at the largest node, where N + 1 lies one particle beyond
    /// the spline's range: βF_ex(N_max + 1) from the last interval's cubic continued by one
    /// particle (a small fraction of that interval when the nodes are tens of particles
    /// apart), less βF_ex(N_max), with the error propagated as in [`Self::betamu_ex`]. Exact
    /// for βF_ex(N) a cubic under not-a-knot ends. The densest state is where Widom
    /// insertion fails, so this is the only βμ_ex the curve gives there; callers should
    /// say it is extrapolated.
    pub fn betamu_ex_at_last_node(&self) -> Estimate {
        self.step_difference(self.n_range().1 as f64)
    }

    /// S(x + 1) − S(x) with its propagated error (the node errors enter once, with the
    /// difference of their coefficients); past the last node the last cubic continues.
    fn step_difference(&self, x: f64) -> Estimate {
        let c0 = self.coefficients(x);
        let c1 = self.coefficients(x + 1.0);
        let d: Vec<f64> = c1.iter().zip(&c0).map(|(a, b)| a - b).collect();
        self.combine(&d)
    }

    /// βF_ex at every integer N of the node range, ascending from [`Self::n_range`].0.
    fn integer_values(&self) -> Vec<f64> {
        let (lo, hi) = self.n_range();
        (lo..=hi)
            .map(|n| self.combine(&self.coefficients(n as f64)).mean)
            .collect()
    }
}

/// βμ_ex(N → N+1) = βF_ex(N+1) − βF_ex(N) from two independent estimates: the errors add
/// in quadrature.
pub fn betamu_ex_pair(f_n: Estimate, f_n_plus_1: Estimate) -> Estimate {
    Estimate {
        mean: f_n_plus_1.mean - f_n.mean,
        err: f_n.err.hypot(f_n_plus_1.err),
    }
}

/// The constants of the ideal-gas factor V^N / (Λ^{3N} N!), in any consistent units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdealGasUnits {
    /// Box volume V.
    pub volume: f64,
    /// Planck's constant h.
    pub planck: f64,
    /// Particle mass m.
    pub mass: f64,
    /// Thermal energy kT.
    pub kt: f64,
}

impl Default for IdealGasUnits {
    /// The paper's convention: box units V = 1, h = 1e-4, m = 1, kT = 1.
    fn default() -> Self {
        Self {
            volume: 1.0,
            planck: 1e-4,
            mass: 1.0,
            kt: 1.0,
        }
    }
}

impl IdealGasUnits {
    /// Thermal de Broglie wavelength Λ = h / √(2π m kT).
    pub fn thermal_wavelength(&self) -> f64 {
        self.planck / (2.0 * std::f64::consts::PI * self.mass * self.kt).sqrt()
    }

    /// ln(V / Λ³): with it, the ideal gas has βμ = ln(⟨N⟩) − ln(V/Λ³).
    pub fn ln_v_over_lambda3(&self) -> f64 {
        self.volume.ln() - 3.0 * self.thermal_wavelength().ln()
    }

    /// Checks that every constant is finite and > 0, naming the field.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("units.volume", self.volume),
            ("units.planck", self.planck),
            ("units.mass", self.mass),
            ("units.kt", self.kt),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::argument(field, v, "must be finite and > 0"));
            }
        }
        Ok(())
    }
}

/// The grand-canonical particle-number distribution at one βμ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// The (full, not excess) chemical potential βμ.
    pub beta_mu: f64,
    /// Particle numbers, every integer of the curve's range.
    pub n: Vec<usize>,
    /// p(N), normalised over `n`.
    pub p: Vec<f64>,
    /// ⟨N⟩.
    pub mean_n: f64,
    /// ⟨N²⟩ − ⟨N⟩².
    pub var_n: f64,
    /// max(p(N_min), p(N_max)): the truncation diagnostic. Well above ~1e-6 the range of
    /// N cuts off a real part of the distribution and ⟨N⟩ is biased towards the range.
    pub edge_probability: f64,
}

/// p(N) ∝ exp(βμN − βF_ex(N) − ln N! + N ln(V/Λ³)) over the integers of the curve's N
/// range (see the module documentation), with its mean and variance.
pub fn particle_number_distribution(
    curve: &FreeEnergyCurve,
    units: &IdealGasUnits,
    beta_mu: f64,
) -> Result<Distribution> {
    units.validate()?;
    if !beta_mu.is_finite() {
        return Err(Error::argument("beta_mu", beta_mu, "must be finite"));
    }
    let (lo, hi) = curve.n_range();
    let ln_ideal = units.ln_v_over_lambda3();
    let f = curve.integer_values();
    let mut ln_factorial: f64 = (2..=lo).map(|k| (k as f64).ln()).sum();
    let mut ln_p = Vec::with_capacity(hi - lo + 1);
    for (i, n) in (lo..=hi).enumerate() {
        if n > lo {
            ln_factorial += (n as f64).ln();
        }
        let x = n as f64;
        ln_p.push(beta_mu * x - f[i] - ln_factorial + x * ln_ideal);
    }
    let top = ln_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut p: Vec<f64> = ln_p.iter().map(|l| (l - top).exp()).collect();
    let z: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= z);
    let n: Vec<usize> = (lo..=hi).collect();
    let mean_n: f64 = n.iter().zip(&p).map(|(&n, p)| n as f64 * p).sum();
    let var_n: f64 = n
        .iter()
        .zip(&p)
        .map(|(&n, p)| (n as f64 - mean_n).powi(2) * p)
        .sum();
    let edge_probability = p[0].max(p[p.len() - 1]);
    Ok(Distribution {
        beta_mu,
        n,
        p,
        mean_n,
        var_n,
        edge_probability,
    })
}

/// One point of the isotherm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsothermPoint {
    /// βμ.
    pub beta_mu: f64,
    /// ⟨N⟩ at `beta_mu`.
    pub mean_n: f64,
    /// Var N at `beta_mu`.
    pub var_n: f64,
    /// ⟨ρ⟩ = ⟨N⟩ / V_phys.
    pub density: f64,
    /// See [`Distribution::edge_probability`].
    pub edge_probability: f64,
}

/// The isotherm ⟨ρ⟩(βμ) = ⟨N⟩ / `physical_volume` at every βμ of `beta_mus`
/// (`physical_volume` in the units the density is wanted in, e.g. L³ = 216 σ³ for the
/// paper's box, while `units.volume` stays in the units of Λ).
pub fn isotherm(
    curve: &FreeEnergyCurve,
    units: &IdealGasUnits,
    beta_mus: &[f64],
    physical_volume: f64,
) -> Result<Vec<IsothermPoint>> {
    if !(physical_volume.is_finite() && physical_volume > 0.0) {
        return Err(Error::argument(
            "physical_volume",
            physical_volume,
            "must be finite and > 0 (e.g. L^3 in sigma^3)",
        ));
    }
    beta_mus
        .iter()
        .map(|&beta_mu| {
            let d = particle_number_distribution(curve, units, beta_mu)?;
            Ok(IsothermPoint {
                beta_mu,
                mean_n: d.mean_n,
                var_n: d.var_n,
                density: d.mean_n / physical_volume,
                edge_probability: d.edge_probability,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(ns: &[usize], f: impl Fn(f64) -> f64, err: f64) -> Vec<FreeEnergyPoint> {
        ns.iter()
            .map(|&n| FreeEnergyPoint {
                n,
                beta_f_ex: f(n as f64),
                err,
            })
            .collect()
    }

    #[test]
    fn not_a_knot_reproduces_a_cubic_and_natural_a_line() {
        let cubic = |x: f64| 1e-4 * x.powi(3) - 0.03 * x * x - 0.5 * x + 2.0;
        let ns = [3, 10, 40, 41, 80, 120, 200];
        let c = FreeEnergyCurve::new(&points(&ns, cubic, 0.1), SplineEnds::NotAKnot).unwrap();
        for x in [3.0, 3.5, 17.2, 40.5, 99.0, 150.0, 199.9, 200.0] {
            let s = c.beta_f_ex(x).unwrap().mean;
            assert!(
                (s - cubic(x)).abs() < 1e-9 * cubic(x).abs().max(1.0),
                "{x}: {s}"
            );
        }
        for n in [3usize, 50, 199] {
            let mu = c.betamu_ex(n).unwrap().mean;
            let exact = cubic(n as f64 + 1.0) - cubic(n as f64);
            assert!((mu - exact).abs() < 1e-9, "{n}: {mu} vs {exact}");
        }
        // At the last node N + 1 is one particle past the range: the refused interior
        // formula, and the continued cubic, exact for a cubic.
        assert!(c.betamu_ex(200).is_err());
        let end = c.betamu_ex_at_last_node();
        let exact = cubic(201.0) - cubic(200.0);
        assert!((end.mean - exact).abs() < 1e-9, "{} vs {exact}", end.mean);
        // The natural spline is exact for a line but not for the cubic.
        let line = |x: f64| 3.0 - 0.7 * x;
        let n = FreeEnergyCurve::new(&points(&ns, line, 0.1), SplineEnds::Natural).unwrap();
        assert!((n.beta_f_ex(123.4).unwrap().mean - line(123.4)).abs() < 1e-10);
        let n = FreeEnergyCurve::new(&points(&ns, cubic, 0.1), SplineEnds::Natural).unwrap();
        assert!((n.beta_f_ex(190.0).unwrap().mean - cubic(190.0)).abs() > 1e-2);
        // Three nodes: the parabola; two: the line.
        let parab = |x: f64| 0.01 * x * x - x;
        let p =
            FreeEnergyCurve::new(&points(&[0, 30, 100], parab, 0.0), SplineEnds::NotAKnot).unwrap();
        assert!((p.beta_f_ex(77.0).unwrap().mean - parab(77.0)).abs() < 1e-10);
        let l = FreeEnergyCurve::new(&points(&[10, 20], line, 0.0), SplineEnds::NotAKnot).unwrap();
        assert!((l.beta_f_ex(13.0).unwrap().mean - line(13.0)).abs() < 1e-12);
    }

    #[test]
    fn error_propagation_numbers() {
        let pts = vec![
            FreeEnergyPoint {
                n: 40,
                beta_f_ex: -22.3,
                err: 0.3,
            },
            FreeEnergyPoint {
                n: 41,
                beta_f_ex: -23.4,
                err: 0.4,
            },
            FreeEnergyPoint {
                n: 80,
                beta_f_ex: -86.0,
                err: 0.5,
            },
            FreeEnergyPoint {
                n: 120,
                beta_f_ex: -170.0,
                err: 1.2,
            },
        ];
        let c = FreeEnergyCurve::new(&pts, SplineEnds::NotAKnot).unwrap();
        // At nodes: the node estimate itself.
        let at = c.beta_f_ex(80.0).unwrap();
        assert!((at.mean + 86.0).abs() < 1e-12 && (at.err - 0.5).abs() < 1e-12);
        // βμ between two nodes one apart: the difference, errors in quadrature (0.5).
        let mu = c.betamu_ex(40).unwrap();
        assert!((mu.mean + 1.1).abs() < 1e-12, "{mu:?}");
        assert!((mu.err - 0.5).abs() < 1e-12, "{mu:?}");
        let pair = betamu_ex_pair(
            Estimate {
                mean: -22.3,
                err: 0.3,
            },
            Estimate {
                mean: -23.4,
                err: 0.4,
            },
        );
        assert!((pair.mean + 1.1).abs() < 1e-12 && (pair.err - 0.5).abs() < 1e-15);
        // Between nodes, the error is the coefficient-weighted quadrature sum: for the
        // linear (2-node) case halfway, √((e0/2)² + (e1/2)²).
        let l = FreeEnergyCurve::new(&pts[1..3], SplineEnds::NotAKnot).unwrap();
        let mid = l.beta_f_ex(60.5).unwrap();
        assert!((mid.mean - (-23.4 - 86.0) / 2.0).abs() < 1e-12);
        assert!((mid.err - 0.5 * 0.4f64.hypot(0.5)).abs() < 1e-12);
        // Linear: βμ is the slope, error √(e0² + e1²)/ΔN.
        let m = l.betamu_ex(50).unwrap();
        assert!((m.mean - (-86.0 + 23.4) / 39.0).abs() < 1e-12);
        assert!((m.err - 0.4f64.hypot(0.5) / 39.0).abs() < 1e-12);
        // Continued past the last node, the line keeps its slope and error.
        let end = l.betamu_ex_at_last_node();
        assert!((end.mean - m.mean).abs() < 1e-12 && (end.err - m.err).abs() < 1e-12);
        // Out of range and bad input fail with the range.
        let e = c.betamu_ex(120).unwrap_err().to_string();
        assert!(e.contains("[40, 120]"), "{e}");
        assert!(FreeEnergyCurve::new(&pts[..1], SplineEnds::Natural).is_err());
        let mut dup = pts.clone();
        dup[1].n = 40;
        assert!(FreeEnergyCurve::new(&dup, SplineEnds::Natural).is_err());
    }

    /// βF_ex ≡ 0: p(N) must be Poisson with mean exp(βμ) V / Λ³.
    #[test]
    fn ideal_gas_is_poisson() {
        let units = IdealGasUnits::default();
        assert!((units.ln_v_over_lambda3() - 30.387837).abs() < 1e-6);
        let curve = FreeEnergyCurve::new(
            &points(&[0, 7, 50, 300], |_| 0.0, 0.0),
            SplineEnds::NotAKnot,
        )
        .unwrap();
        for mean in [5.0, 20.0, 100.0] {
            let beta_mu = f64::ln(mean) - units.ln_v_over_lambda3();
            let d = particle_number_distribution(&curve, &units, beta_mu).unwrap();
            assert!(
                (d.mean_n - mean).abs() < 1e-9 * mean,
                "{mean}: {}",
                d.mean_n
            );
            assert!((d.var_n - mean).abs() < 1e-8 * mean, "{mean}: {}", d.var_n);
            assert!((d.p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // p(5) of Poisson(mean).
            let p5 = (-mean + 5.0 * mean.ln() - (120f64).ln()).exp();
            assert!(
                (d.p[5] - p5).abs() < 1e-12 * p5.max(1e-300) + 1e-300,
                "{mean}"
            );
        }
        // A box 8x larger or a larger Λ shifts βμ by ln of the ratio.
        let big = IdealGasUnits {
            volume: 8.0,
            ..units
        };
        assert!((big.ln_v_over_lambda3() - units.ln_v_over_lambda3() - 8f64.ln()).abs() < 1e-12);
        let iso = isotherm(
            &curve,
            &units,
            &[20f64.ln() - units.ln_v_over_lambda3()],
            216.0,
        )
        .unwrap();
        assert!((iso[0].density - 20.0 / 216.0).abs() < 1e-9);
        assert!((iso[0].edge_probability / (-20f64).exp() - 1.0).abs() < 1e-9);
        assert!(isotherm(&curve, &units, &[0.0], -1.0).is_err());
        let bad = IdealGasUnits {
            planck: 0.0,
            ..units
        };
        let e = particle_number_distribution(&curve, &bad, 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("units.planck"), "{e}");
    }
}
