//! Time grids 0 = t_0 < t_1 < … < t_K = 1 for the reverse samplers and the TI quadrature.
//!
//! The TI integrand ⟨∂_t Ũ⟩_t of the paper's system runs from about −2000 at t = 0 to
//! +460 at t ≈ 0.3 and is nearly flat towards t = 1, so the points must be dense near
//! t = 0. Since the noise scale is geometric, s(t) = s_min^(1−t) s_max^t, t is already
//! uniform in ln s; the natural densifier is a power map t_k = (k/K)^p, whose first step
//! is K^(−p) and whose spacing grows smoothly (the map u ↦ u^p is smooth for p ≥ 2 and has
//! bounded second derivative, so composite rules keep their order of convergence on it).
//!
//! In a scene the grid is written as `Uniform` or `Power(exponent: 2.0)`.

use serde::{Deserialize, Serialize};

use super::estimators::Rule;
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;

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
