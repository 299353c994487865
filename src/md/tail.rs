//! Standard analytic long-range (tail) corrections of a truncated Lennard-Jones potential.
//!
//! The pair potential is `u(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6]`, used only for
//! `r < r_c`; beyond the cutoff the fluid is assumed uniform (`g(r) = 1`). With number
//! density `rho` and `x = sigma / r_c`:
//!
//! - energy per particle `u_tail = 2 pi rho int_{r_c}^inf r^2 u(r) dr
//!   = (8/3) pi rho eps sigma^3 [x^9/3 - x^3]`;
//! - pressure `P_tail = -(2/3) pi rho^2 int_{r_c}^inf r^3 u'(r) dr
//!   = (16/3) pi rho^2 eps sigma^3 [(2/3) x^9 - x^3]`;
//! - excess chemical potential `mu_tail = 4 pi rho int_{r_c}^inf r^2 u(r) dr = 2 u_tail
//!   = (16/3) pi rho eps sigma^3 [x^9/3 - x^3]` (an inserted particle interacts with all its
//!   neighbours, so no factor 1/2 as in the energy per particle).
//!
//! For a *shifted* potential (`u(r) - u(r_c)` inside `r_c`) the shift must be given back as
//! well, before the tail correction: the energy per particle gets `(1/2) n_c u(r_c)` and the
//! insertion chemical potential `n_c u(r_c)`, with `n_c` the mean number of neighbours within
//! `r_c` of a particle. For the energy this is exact given the measured `n_c`; for the
//! chemical potential it is the usual mean-field approximation (the number of neighbours of
//! the test particle fluctuates and correlates with the Boltzmann factor). The pressure needs
//! no shift correction, since shifting leaves the forces unchanged. All functions are plain
//! arithmetic and never panic; a non-positive cutoff or sigma gives non-finite results.

use std::f64::consts::PI;

/// A Lennard-Jones potential truncated at `cutoff`, for its tail corrections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LjTail {
    /// Well depth `eps`.
    pub epsilon: f64,
    /// Length scale `sigma` (zero crossing of `u`).
    pub sigma: f64,
    /// Cutoff radius `r_c`.
    pub cutoff: f64,
}

impl LjTail {
    /// A truncated Lennard-Jones potential with the given well depth, size and cutoff.
    pub const fn new(epsilon: f64, sigma: f64, cutoff: f64) -> Self {
        Self {
            epsilon,
            sigma,
            cutoff,
        }
    }

    /// The potential in reduced units (`eps = sigma = 1`), truncated at `cutoff` sigma.
    pub const fn reduced(cutoff: f64) -> Self {
        Self::new(1.0, 1.0, cutoff)
    }

    /// `x = sigma / r_c`.
    fn x(&self) -> f64 {
        self.sigma / self.cutoff
    }

    /// `eps sigma^3`, the energy-volume scale of the corrections.
    fn scale(&self) -> f64 {
        self.epsilon * self.sigma.powi(3)
    }

    /// Pair energy `u(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6]` of the full potential.
    pub fn pair_energy(&self, r: f64) -> f64 {
        let s6 = (self.sigma / r).powi(6);
        4.0 * self.epsilon * (s6 * s6 - s6)
    }

    /// Pair energy at the cutoff, `u(r_c)` (the shift of a shifted potential).
    pub fn pair_energy_at_cutoff(&self) -> f64 {
        self.pair_energy(self.cutoff)
    }

    /// Tail correction of the potential energy per particle at number density `rho`:
    /// `(8/3) pi rho eps sigma^3 [x^9/3 - x^3]`.
    pub fn energy_per_particle(&self, rho: f64) -> f64 {
        let x3 = self.x().powi(3);
        8.0 / 3.0 * PI * rho * self.scale() * (x3 * x3 * x3 / 3.0 - x3)
    }

    /// Tail correction of the pressure at number density `rho`:
    /// `(16/3) pi rho^2 eps sigma^3 [(2/3) x^9 - x^3]`.
    pub fn pressure(&self, rho: f64) -> f64 {
        let x3 = self.x().powi(3);
        16.0 / 3.0 * PI * rho * rho * self.scale() * (2.0 / 3.0 * x3 * x3 * x3 - x3)
    }

    /// Tail correction of the excess chemical potential at number density `rho`:
    /// `(16/3) pi rho eps sigma^3 [x^9/3 - x^3]`, twice the energy per particle.
    pub fn chemical_potential(&self, rho: f64) -> f64 {
        2.0 * self.energy_per_particle(rho)
    }

    /// Mean number of neighbours within the cutoff for a uniform fluid (`g = 1`):
    /// `n_c = rho (4/3) pi r_c^3`.
    pub fn neighbours_uniform(&self, rho: f64) -> f64 {
        rho * 4.0 / 3.0 * PI * self.cutoff.powi(3)
    }

    /// Energy per particle to add to that of a *shifted* potential to undo the shift:
    /// `(1/2) n_c u(r_c)`, with `n_c` the measured mean number of neighbours within `r_c`.
    pub fn shift_energy_per_particle(&self, neighbours_within_cutoff: f64) -> f64 {
        0.5 * neighbours_within_cutoff * self.pair_energy_at_cutoff()
    }

    /// Chemical potential to add to an insertion estimate made with a *shifted* potential:
    /// `n_c u(r_c)` (mean-field; see the module documentation).
    pub fn shift_chemical_potential(&self, neighbours_within_cutoff: f64) -> f64 {
        neighbours_within_cutoff * self.pair_energy_at_cutoff()
    }
}

/// Shift correction of the energy per particle, `(1/2) n_c u(r_c)`, with the uniform-fluid
/// estimate `n_c = rho (4/3) pi r_c^3` (`g = 1` inside the cutoff too; use
/// [`LjTail::shift_energy_per_particle`] with a measured `n_c` when one is available).
pub fn shift_correction_uniform(rho: f64, rc: f64, eps: f64, sigma: f64) -> f64 {
    let lj = LjTail::new(eps, sigma, rc);
    lj.shift_energy_per_particle(lj.neighbours_uniform(rho))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Rows of tests/data/lj_md_rc2.5.csv (eps = sigma = 1, rc = 2.5, not shifted):
    /// (rho, U_trunc_per_N, P_virial, U_plus_tail, P_plus_tail).
    const MD_ROWS: [(f64, f64, f64, f64, f64); 6] = [
        (0.8, -4.3259, 5.9676, -4.7543, 5.2831),
        (0.8, -4.3262, 5.9780, -4.7546, 5.2936),
        (0.5, -2.8769, 1.3389, -3.1446, 1.0716),
        (0.5, -2.8829, 1.3357, -3.1506, 1.0683),
        (0.8, -4.9349, 2.6589, -5.3632, 1.9745),
        (0.8, -4.9388, 2.6364, -5.3671, 1.9520),
    ];

    #[test]
    fn matches_md_reference_table() {
        let lj = LjTail::reduced(2.5);
        assert!(close(lj.energy_per_particle(0.8), -0.4284, 1e-4));
        assert!(close(lj.pressure(0.8), -0.6845, 1e-4));
        // Each column is rounded to 1e-4, and the tail is a difference of two of them.
        for (rho, u, p, u_tail, p_tail) in MD_ROWS {
            let (du, dp) = (u_tail - u, p_tail - p);
            assert!(
                close(lj.energy_per_particle(rho), du, 1e-4),
                "rho {rho}: {du}"
            );
            assert!(close(lj.pressure(rho), dp, 1e-4), "rho {rho}: {dp}");
        }
    }

    #[test]
    fn matches_widom_reference_table() {
        // tests/data/lj_muex_T2.0_rc2.5.csv: (rho, mu_trunc, mu_tail, mu_full), 3 decimals.
        let lj = LjTail::reduced(2.5);
        for (rho, mu_trunc, mu_tail, mu_full) in
            [(0.1, -0.358, -0.107, -0.465), (0.5, -0.021, -0.535, -0.556)]
        {
            let mu = lj.chemical_potential(rho);
            assert!(close(mu, mu_tail, 5e-4), "rho {rho}: {mu}");
            assert!(close(mu_trunc + mu, mu_full, 1e-3), "rho {rho}");
        }
    }

    #[test]
    fn chemical_potential_is_twice_energy() {
        let lj = LjTail::new(1.3, 0.8, 2.0);
        assert!(close(
            lj.chemical_potential(0.7),
            2.0 * lj.energy_per_particle(0.7),
            1e-15
        ));
    }

    /// Composite Simpson rule of `f` on `[0, 1]` with `n` (even) intervals.
    fn simpson01(f: impl Fn(f64) -> f64, n: usize) -> f64 {
        let h = 1.0 / n as f64;
        let inner: f64 = (1..n)
            .map(|i| f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (f(0.0) + inner + f(1.0)) * h / 3.0
    }

    #[test]
    fn energy_tail_equals_numerical_integral() {
        // 2 pi rho int_rc^inf r^2 u dr, with r = rc / y: rc^3 int_0^1 y^-4 u(rc / y) dy.
        let lj = LjTail::new(1.7, 0.9, 2.2);
        let rho = 0.65;
        let rc = lj.cutoff;
        let integrand = |y: f64| {
            if y == 0.0 {
                0.0
            } else {
                lj.pair_energy(rc / y) / y.powi(4)
            }
        };
        let integral = rc.powi(3) * simpson01(integrand, 2000);
        let numeric = 2.0 * PI * rho * integral;
        let analytic = lj.energy_per_particle(rho);
        assert!(
            close(numeric, analytic, 1e-10 * analytic.abs()),
            "{numeric} vs {analytic}"
        );
    }

    #[test]
    fn pressure_tail_equals_numerical_integral() {
        // -(2/3) pi rho^2 int_rc^inf r^3 u'(r) dr, u' by central differences, r = rc / y:
        // rc^4 int_0^1 y^-5 u'(rc / y) dy.
        let lj = LjTail::new(1.7, 0.9, 2.2);
        let rho = 0.65;
        let rc = lj.cutoff;
        let du = |r: f64| {
            let h = 1e-5 * r;
            (lj.pair_energy(r + h) - lj.pair_energy(r - h)) / (2.0 * h)
        };
        let integrand = |y: f64| {
            if y == 0.0 {
                0.0
            } else {
                du(rc / y) / y.powi(5)
            }
        };
        let integral = rc.powi(4) * simpson01(integrand, 2000);
        let numeric = -2.0 / 3.0 * PI * rho * rho * integral;
        let analytic = lj.pressure(rho);
        assert!(
            close(numeric, analytic, 1e-7 * analytic.abs()),
            "{numeric} vs {analytic}"
        );
    }

    #[test]
    fn pair_energy_known_values() {
        let lj = LjTail::reduced(2.5);
        // 4 (2.5^-12 - 2.5^-6)
        assert!(close(lj.pair_energy_at_cutoff(), -0.016_316_891_136, 1e-12));
        assert!(close(lj.pair_energy(2.0_f64.powf(1.0 / 6.0)), -1.0, 1e-14));
        assert!(close(lj.pair_energy(1.0), 0.0, 1e-15));
        let scaled = LjTail::new(2.0, 1.5, 3.75);
        assert!(close(
            scaled.pair_energy_at_cutoff(),
            2.0 * -0.016_316_891_136,
            1e-12
        ));
    }

    #[test]
    fn shift_corrections() {
        let lj = LjTail::reduced(2.5);
        let uc = -0.016_316_891_136;
        assert!(close(lj.shift_energy_per_particle(50.0), 25.0 * uc, 1e-12));
        assert!(close(lj.shift_chemical_potential(50.0), 50.0 * uc, 1e-12));
        // n_c = 0.8 * (4/3) pi 2.5^3 = 52.359877...
        let n_c = 0.8 * 4.0 / 3.0 * PI * 15.625;
        assert!(close(lj.neighbours_uniform(0.8), n_c, 1e-12));
        let expected = 0.5 * 52.359_877_559_829_89 * uc;
        assert!(close(
            shift_correction_uniform(0.8, 2.5, 1.0, 1.0),
            expected,
            1e-10
        ));
        // eps, sigma scaling: eps enters linearly, sigma through rc / sigma and sigma^3.
        let scaled = shift_correction_uniform(0.8 / 8.0, 5.0, 3.0, 2.0);
        assert!(close(scaled, 3.0 * expected, 1e-10));
    }

    #[test]
    fn scaling_with_epsilon_and_sigma() {
        // In reduced units rho* = rho sigma^3 and r_c* = r_c / sigma.
        let reduced = LjTail::reduced(2.5);
        let lj = LjTail::new(3.0, 2.0, 5.0);
        let rho = 0.8 / 8.0;
        assert!(close(
            lj.energy_per_particle(rho),
            3.0 * reduced.energy_per_particle(0.8),
            1e-12
        ));
        // P* = P sigma^3 / eps
        assert!(close(
            lj.pressure(rho) * 8.0 / 3.0,
            reduced.pressure(0.8),
            1e-12
        ));
    }
}
