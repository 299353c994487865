//! The exact excess free energy of two particles in a periodic cube (minimum image):
//!
//! ```text
//! βF_ex(N = 2) = −ln[ (1/V) ∫_{[−L/2, L/2]³} exp(−βu(|r|)) d³r ],
//! ```
//!
//! since Z_2/V² = (1/V²) ∫∫ exp(−βu(|r_12|_mi)) d³r_1 d³r_2 and, for a fixed r_1, the
//! minimum-image separation sweeps the cube centred on it once. The neural-TI pipeline must
//! reproduce it within its error bar.
//!
//! Computed by quadrature, independently of any sampler: ∫ = V + ∫_cube f(|r|) d³r with the
//! Mayer function f = exp(−βu) − 1 (computed with `exp_m1`, so it is −1 exactly where the
//! Boltzmann factor underflows, inside the core, and accurate where βu is tiny), split as
//!
//! - the ball |r| < R = L/2: 4π ∫_0^R r² f(r) dr;
//! - the eight corners of the cube outside the ball, by the 48-fold symmetry of the cube:
//!   directions with x ≥ y ≥ z ≥ 0, in spherical coordinates about the x axis
//!   (x = r cos θ, y = r sin θ cos φ, z = r sin θ sin φ). Such a ray leaves the cube
//!   through the face x = R at r = R / cos θ, so the radial part G(θ) = ∫_R^{R/cos θ} r² f dr
//!   depends on θ only and the φ integral is the length w(θ) of the allowed φ range:
//!   w = π/4 for θ ≤ π/4, π/4 − acos(cot θ) up to θ* = atan √2. Corner =
//!   48 ∫_0^{θ*} sin θ · w(θ) · G(θ) dθ; on (π/4, θ*] the substitution θ = π/4 + s² removes
//!   the square-root kink of w at π/4.
//!
//! Every one-dimensional integral is adaptive Gauss–Legendre (15 points against its two
//! halves, bisecting until they agree), split at the potential's breakpoints (cutoff,
//! hard-core diameter), which in the corner integral map to θ_c = acos(R / r_c).

use std::f64::consts::{FRAC_PI_4, PI};

use crate::error::{Error, Result};
use crate::quadrature::gauss_legendre;

/// Points of the Gauss–Legendre rule on each panel of the adaptive quadrature.
const PANEL_POINTS: usize = 15;
/// Most bisections of a panel before the quadrature gives up.
const MAX_DEPTH: u32 = 48;
/// Default relative tolerance on the cell integral ∫ exp(−βu) d³r.
pub const DEFAULT_REL_TOL: f64 = 1e-12;

/// The cell integral and its parts; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TwoBody {
    /// βF_ex(N = 2) = −ln(integral / volume) (+∞ if the integral vanishes).
    pub beta_f_ex: f64,
    /// ∫_cube exp(−βu(|r|)) d³r.
    pub integral: f64,
    /// ∫_{|r| < L/2} f(|r|) d³r, f = exp(−βu) − 1.
    pub ball: f64,
    /// ∫ over the cube outside the ball of f(|r|) d³r.
    pub corner: f64,
    /// V = L³.
    pub volume: f64,
}

/// A Lennard-Jones pair potential βu(r) = β 4ε[(σ/r)^12 − (σ/r)^6], optionally truncated
/// at `cutoff` (u = 0 beyond) and shifted so that u(r_c) = 0 inside.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LjPair {
    /// σ.
    pub sigma: f64,
    /// ε.
    pub epsilon: f64,
    /// β = 1/kT.
    pub beta: f64,
    /// Cutoff r_c, or `None` for the full potential (the paper's).
    pub cutoff: Option<f64>,
    /// Shift u by −u(r_c) inside the cutoff (ignored without a cutoff).
    pub shift: bool,
}

impl LjPair {
    /// The paper's pair: σ = 1, ε = 0.8, β = 1, no cutoff (use with L = 6).
    pub fn paper() -> Self {
        Self {
            sigma: 1.0,
            epsilon: 0.8,
            beta: 1.0,
            cutoff: None,
            shift: false,
        }
    }

    /// The untruncated β·4ε[(σ/r)^12 − (σ/r)^6]; +∞ for r ≤ 0.
    fn full(&self, r: f64) -> f64 {
        if r <= 0.0 {
            return f64::INFINITY;
        }
        let s6 = (self.sigma / r).powi(6);
        self.beta * 4.0 * self.epsilon * s6 * (s6 - 1.0)
    }

    /// βu(r), with the cutoff and shift applied.
    pub fn beta_u(&self, r: f64) -> f64 {
        match self.cutoff {
            None => self.full(r),
            Some(rc) if r >= rc => 0.0,
            Some(rc) => self.full(r) - if self.shift { self.full(rc) } else { 0.0 },
        }
    }

    /// Radii where βu is not smooth (the cutoff), for [`two_body_beta_f_ex`].
    pub fn breakpoints(&self) -> Vec<f64> {
        self.cutoff.into_iter().collect()
    }
}

/// βF_ex(N = 2) of a Lennard-Jones pair in a periodic cube of side `box_length`, to a
/// relative [`DEFAULT_REL_TOL`] on the cell integral.
pub fn lj_two_body_beta_f_ex(box_length: f64, pair: &LjPair) -> Result<TwoBody> {
    for (field, v) in [
        ("sigma", pair.sigma),
        ("epsilon", pair.epsilon),
        ("beta", pair.beta),
    ] {
        if !v.is_finite() || v < 0.0 || (field == "sigma" && v == 0.0) {
            return Err(Error::argument(
                field,
                v,
                "must be finite and >= 0 (sigma > 0)",
            ));
        }
    }
    if let Some(rc) = pair.cutoff {
        if !(rc.is_finite() && rc > 0.0) {
            return Err(Error::argument(
                "cutoff",
                rc,
                "must be finite and > 0, or None",
            ));
        }
    }
    two_body_beta_f_ex(
        box_length,
        |r| pair.beta_u(r),
        &pair.breakpoints(),
        DEFAULT_REL_TOL,
    )
}

/// Adaptive Gauss–Legendre quadrature of `f` on [a, b] to absolute tolerance `tol`.
struct Adaptive {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl Adaptive {
    fn new(points: usize) -> Self {
        let (nodes, weights) = gauss_legendre(points);
        Self { nodes, weights }
    }

    /// The fixed rule on one panel.
    fn panel(&self, f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
        let h = b - a;
        h * self
            .nodes
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| w * f(a + h * x))
            .sum::<f64>()
    }

    fn recurse(
        &self,
        f: &dyn Fn(f64) -> f64,
        a: f64,
        b: f64,
        whole: f64,
        tol: f64,
        depth: u32,
    ) -> Result<f64> {
        let m = 0.5 * (a + b);
        let (left, right) = (self.panel(f, a, m), self.panel(f, m, b));
        let better = left + right;
        if !better.is_finite() {
            return Err(Error::argument(
                "beta_u",
                format!("non-finite integrand on [{a}, {b}]"),
                "the pair potential must give a number or +inf (not NaN or -inf)",
            ));
        }
        // Below a few ulps of the panel's value the halves cannot agree any better.
        if (better - whole).abs() <= tol.max(16.0 * f64::EPSILON * better.abs()) {
            return Ok(better);
        }
        if depth == 0 {
            return Err(Error::argument(
                "rel_tol",
                tol,
                format!("the quadrature did not converge on [{a}, {b}]; loosen the tolerance or add a breakpoint where the potential is not smooth"),
            ));
        }
        Ok(self.recurse(f, a, m, left, 0.5 * tol, depth - 1)?
            + self.recurse(f, m, b, right, 0.5 * tol, depth - 1)?)
    }

    /// ∫_a^b f, split at the `breaks` inside (a, b), each piece to its share of `tol`.
    fn integrate(
        &self,
        f: &dyn Fn(f64) -> f64,
        a: f64,
        b: f64,
        breaks: &[f64],
        tol: f64,
    ) -> Result<f64> {
        let mut cuts = vec![a];
        cuts.extend(breaks.iter().copied().filter(|&x| x > a && x < b));
        cuts.push(b);
        let mut total = 0.0;
        for w in cuts.windows(2) {
            let share = tol * (w[1] - w[0]) / (b - a);
            let whole = self.panel(f, w[0], w[1]);
            total += self.recurse(f, w[0], w[1], whole, share, MAX_DEPTH)?;
        }
        Ok(total)
    }
}

/// βF_ex(N = 2) in a periodic cube of side `box_length` for the pair potential `beta_u`
/// (βu as a function of r; +∞ allowed, e.g. for a hard core), with the integrand split at
/// `breakpoints` (radii where βu is not smooth: cutoff, hard-core diameter), to relative
/// tolerance `rel_tol` (≥ 1e-14) on the cell integral, i.e. to an absolute error of about
/// `rel_tol`·V: βF_ex is resolved while the integral is well above that (a potential that
/// excludes nearly the whole cell gives a large finite value or +∞). Fails on a bad box or tolerance,
/// a NaN or −∞ potential, or a quadrature that does not converge.
pub fn two_body_beta_f_ex(
    box_length: f64,
    beta_u: impl Fn(f64) -> f64,
    breakpoints: &[f64],
    rel_tol: f64,
) -> Result<TwoBody> {
    cell_integral(box_length, beta_u, breakpoints, rel_tol, PANEL_POINTS)
}

/// ∫ over the cube [−h, h]³ outside the ball |r| < h of a radial function, given as
/// `radial(r)` = r² f(r), by the cube's 48-fold symmetry (module documentation), to about
/// `tol` absolute.
fn corners(
    quad: &Adaptive,
    radial: &dyn Fn(f64) -> f64,
    half: f64,
    breakpoints: &[f64],
    tol: f64,
) -> Result<f64> {
    // G(θ): radial integral from the sphere to the face, errors caught by `failure`.
    let inner_tol = tol / (16.0 * PI);
    let failure = std::cell::RefCell::new(None);
    let g = |theta: f64| -> f64 {
        let face = half / theta.cos();
        match quad.integrate(radial, half, face, breakpoints, inner_tol) {
            Ok(v) => v,
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                f64::NAN
            }
        }
    };
    let theta_max = 2f64.sqrt().atan();
    let theta_breaks: Vec<f64> = breakpoints
        .iter()
        .filter(|&&b| b > half)
        .map(|&b| (half / b).acos())
        .collect();
    let lower = |theta: f64| theta.sin() * FRAC_PI_4 * g(theta);
    let upper = |s: f64| {
        let theta = FRAC_PI_4 + s * s;
        let w = FRAC_PI_4 - (1.0 / theta.tan()).clamp(-1.0, 1.0).acos();
        2.0 * s * theta.sin() * w * g(theta)
    };
    let s_max = (theta_max - FRAC_PI_4).sqrt();
    let s_breaks: Vec<f64> = theta_breaks
        .iter()
        .filter(|&&t| t > FRAC_PI_4)
        .map(|&t| (t - FRAC_PI_4).sqrt())
        .collect();
    let outer_tol = tol / (4.0 * 48.0);
    let corner_result = quad
        .integrate(&lower, 0.0, FRAC_PI_4, &theta_breaks, outer_tol)
        .and_then(|lo| Ok(lo + quad.integrate(&upper, 0.0, s_max, &s_breaks, outer_tol)?));
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    Ok(48.0 * corner_result?)
}

/// ∫ f(|r|) d³r over the periodic cube of side `box_length` centred on the origin, outside
/// the ball |r| < L/2 inscribed in it (the corners the minimum image reaches beyond L/2),
/// split at `breakpoints` (radii where f is not smooth), to about `abs_tol`.
pub fn cube_corners_integral(
    box_length: f64,
    f: impl Fn(f64) -> f64,
    breakpoints: &[f64],
    abs_tol: f64,
) -> Result<f64> {
    if !(box_length.is_finite() && box_length > 0.0) {
        return Err(Error::argument(
            "box_length",
            box_length,
            "must be finite and > 0",
        ));
    }
    if !(abs_tol.is_finite() && abs_tol > 0.0) {
        return Err(Error::argument(
            "abs_tol",
            abs_tol,
            "must be finite and > 0",
        ));
    }
    let radial = |r: f64| r * r * f(r);
    corners(
        &Adaptive::new(PANEL_POINTS),
        &radial,
        0.5 * box_length,
        breakpoints,
        abs_tol,
    )
}

/// The Lennard-Jones pair energy that a minimum-image box without cutoff leaves out,
/// per particle, to first order (pair correlation g = 1 beyond the box):
/// (ρ/2) ∫_{outside the cube} u(r) d³r, with u = 4ε[(σ/r)^12 − (σ/r)^6] and ρ = N/L³, the
/// cube of side L centred on the particle. The ball beyond L/2 is analytic,
/// 16πεσ³[(σ/R)^9/9 − (σ/R)^3/3] with R = L/2, less the cube's corners
/// ([`cube_corners_integral`]). In the energy unit of `epsilon`; negative (attraction).
pub fn lj_energy_outside_box_per_particle(
    box_length: f64,
    n: u32,
    epsilon: f64,
    sigma: f64,
) -> Result<f64> {
    let half = 0.5 * box_length;
    let u = |r: f64| 4.0 * epsilon * ((sigma / r).powi(12) - (sigma / r).powi(6));
    let beyond_ball = 16.0
        * PI
        * epsilon
        * sigma.powi(3)
        * ((sigma / half).powi(9) / 9.0 - (sigma / half).powi(3) / 3.0);
    let corner = cube_corners_integral(box_length, u, &[], 1e-12 * box_length.powi(3))?;
    let rho = n as f64 / box_length.powi(3);
    Ok(0.5 * rho * (beyond_ball - corner))
}

/// [`two_body_beta_f_ex`] with `points` Gauss–Legendre points per panel.
fn cell_integral(
    box_length: f64,
    beta_u: impl Fn(f64) -> f64,
    breakpoints: &[f64],
    rel_tol: f64,
    points: usize,
) -> Result<TwoBody> {
    if !(box_length.is_finite() && box_length > 0.0) {
        return Err(Error::argument(
            "box_length",
            box_length,
            "must be finite and > 0",
        ));
    }
    if !(rel_tol.is_finite() && (1e-14..1.0).contains(&rel_tol)) {
        return Err(Error::argument("rel_tol", rel_tol, "must be in [1e-14, 1)"));
    }
    let volume = box_length.powi(3);
    let half = 0.5 * box_length;
    let tol = rel_tol * volume;
    let quad = Adaptive::new(points);
    let mayer = |r: f64| (-beta_u(r)).exp_m1();
    let radial = |r: f64| r * r * mayer(r);

    let ball = 4.0 * PI * quad.integrate(&radial, 0.0, half, breakpoints, tol / (8.0 * PI))?;

    let corner = corners(&quad, &radial, half, breakpoints, tol)?;

    let integral = (volume + ball + corner).max(0.0);
    Ok(TwoBody {
        beta_f_ex: -(integral / volume).ln(),
        integral,
        ball,
        corner,
        volume,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_interaction_gives_exactly_zero() {
        let pair = LjPair {
            epsilon: 0.0,
            ..LjPair::paper()
        };
        let t = lj_two_body_beta_f_ex(6.0, &pair).unwrap();
        assert_eq!(t.beta_f_ex, 0.0);
        assert_eq!(t.integral, 216.0);
    }

    /// A constant βu = c everywhere: ∫ = V e^{−c}, βF = c; checks that ball and corners
    /// tile the cube (corner = (e^{−c} − 1)(V − 4πR³/3)).
    #[test]
    fn constant_potential_tiles_the_cube() {
        let t = two_body_beta_f_ex(6.0, |_| 0.3, &[], 1e-13).unwrap();
        assert!((t.beta_f_ex - 0.3).abs() < 1e-13, "{t:?}");
        let corner = (-0.3f64).exp_m1() * (216.0 - 4.0 * PI * 27.0 / 3.0);
        assert!((t.corner - corner).abs() < 1e-11, "{t:?}");
    }

    /// Polynomial Mayer functions f = r² and r⁴ (βu = −ln(1 + f)) reach into the corners:
    /// ∫_cube r² = L⁵/4 and ∫_cube r⁴ = 19 L⁷/240.
    #[test]
    fn polynomial_mayer_functions_integrate_exactly() {
        let l = 6.0f64;
        let t = two_body_beta_f_ex(l, |r| -(r * r).ln_1p(), &[], 1e-13).unwrap();
        let exact = l.powi(5) / 4.0;
        assert!((t.ball + t.corner - exact).abs() < 1e-12 * exact, "{t:?}");
        let t = two_body_beta_f_ex(l, |r| -(r.powi(4)).ln_1p(), &[], 1e-13).unwrap();
        let exact = 19.0 * l.powi(7) / 240.0;
        assert!((t.ball + t.corner - exact).abs() < 1e-12 * exact, "{t:?}");
    }

    /// Hard spheres of diameter d: ∫ = V − |cube ∩ ball_d|, which is 4πd³/3 for d ≤ L/2 and
    /// the ball less six caps of height d − L/2 for L/2 ≤ d ≤ L/√2.
    #[test]
    fn hard_spheres_exclude_their_volume() {
        let l = 6.0f64;
        let hard = |d: f64| move |r: f64| if r < d { f64::INFINITY } else { 0.0 };
        let d = 1.3;
        let t = two_body_beta_f_ex(l, hard(d), &[d], 1e-13).unwrap();
        let excluded = 4.0 * PI * d.powi(3) / 3.0;
        assert!((t.integral - (216.0 - excluded)).abs() < 1e-11, "{t:?}");
        assert_eq!(t.corner, 0.0);
        let d = 0.6 * l;
        let t = two_body_beta_f_ex(l, hard(d), &[d], 1e-13).unwrap();
        let h = d - 0.5 * l;
        let excluded = 4.0 * PI * d.powi(3) / 3.0 - 6.0 * PI * h * h * (3.0 * d - h) / 3.0;
        assert!((t.integral - (216.0 - excluded)).abs() < 1e-10, "{t:?}");
        // Everything excluded: the integral vanishes to within the tolerance.
        let t = two_body_beta_f_ex(l, hard(l), &[], 1e-13).unwrap();
        assert!(t.integral < 1e-10 && t.beta_f_ex > 25.0, "{t:?}");
    }

    /// With 15-point panels the paper's integral is at machine precision at any
    /// tolerance; with 3-point panels (fifth order) the error follows the tolerance down.
    #[test]
    fn paper_system_converges_under_refinement() {
        let paper = |r| LjPair::paper().beta_u(r);
        let best = cell_integral(6.0, paper, &[], 1e-14, PANEL_POINTS)
            .unwrap()
            .integral;
        for tol in [1e-6, 1e-10] {
            let v = cell_integral(6.0, paper, &[], tol, PANEL_POINTS)
                .unwrap()
                .integral;
            assert!((v - best).abs() < 1e-13 * best, "{tol}: {v} vs {best}");
        }
        let mut devs = vec![];
        for tol in [1e-4, 1e-6, 1e-8, 1e-10, 1e-12] {
            let v = cell_integral(6.0, paper, &[], tol, 3).unwrap().integral;
            let dev = (v - best).abs() / best;
            eprintln!("3-point panels, rel_tol {tol:e}: relative deviation {dev:.2e}");
            assert!(dev <= tol, "{tol}: {dev}");
            devs.push(dev);
        }
        assert!(
            devs[0] > 1e-9 && devs[4] < 1e-12 && devs[4] < devs[0] / 1e4,
            "{devs:?}"
        );
        let t = lj_two_body_beta_f_ex(6.0, &LjPair::paper()).unwrap();
        eprintln!("paper system: {t:?}");
        assert!((t.integral - best).abs() < 1e-13 * best);
    }

    #[test]
    fn cutoff_and_shift() {
        let cut = LjPair {
            cutoff: Some(2.5),
            ..LjPair::paper()
        };
        let shifted = LjPair { shift: true, ..cut };
        assert_eq!(cut.beta_u(2.5), 0.0);
        assert!((shifted.beta_u(2.4999999)).abs() < 1e-7);
        let full = lj_two_body_beta_f_ex(6.0, &LjPair::paper()).unwrap();
        let c = lj_two_body_beta_f_ex(6.0, &cut).unwrap();
        let s = lj_two_body_beta_f_ex(6.0, &shifted).unwrap();
        assert_eq!(c.corner, 0.0);
        // Dropping the attractive tail beyond 2.5 raises βF (less attraction), shifting
        // raises it further.
        assert!(
            c.beta_f_ex > full.beta_f_ex && s.beta_f_ex > c.beta_f_ex,
            "{full:?} {c:?} {s:?}"
        );
        // The tail beyond r_c in the ball: 4π ∫_{2.5}^{3} r² (e^{−βu} − 1) dr ≈ −4π ∫ r² βu.
        let tail = full.ball - c.ball;
        let x: f64 = 1.0 / 2.5;
        let approx = -4.0
            * PI
            * 4.0
            * 0.8
            * ((x.powi(9) - (1.0 / 3f64).powi(9)) / 9.0 - (x.powi(3) - (1.0 / 3f64).powi(3)) / 3.0);
        assert!((tail / approx - 1.0).abs() < 0.02, "{tail} {approx}");
        // A cutoff beyond L/2 reaches into the corners, and with r_c ≥ L√3/2 nothing is cut.
        let long = LjPair {
            cutoff: Some(4.0),
            ..LjPair::paper()
        };
        let l = lj_two_body_beta_f_ex(6.0, &long).unwrap();
        assert!(l.corner > 0.0 && l.corner < full.corner);
        let all = LjPair {
            cutoff: Some(5.3),
            ..LjPair::paper()
        };
        let a = lj_two_body_beta_f_ex(6.0, &all).unwrap();
        assert!((a.integral - full.integral).abs() < 1e-11 * full.integral);
    }

    #[test]
    fn cube_corners_of_a_constant_are_the_cube_less_the_ball() {
        let l = 6.0;
        let c = cube_corners_integral(l, |_| 1.0, &[], 1e-12).unwrap();
        let exact = l * l * l - 4.0 / 3.0 * PI * (0.5 * l).powi(3);
        assert!((c - exact).abs() < 1e-9, "{c} vs {exact}");
    }

    #[test]
    fn lj_energy_outside_the_box_matches_a_grid_sum() {
        // Midpoint sum of u over the cube outside the inscribed ball on a 240^3 grid, against
        // the quadrature (independent: no symmetry, no analytic part).
        let (l, eps, sigma, n) = (6.0, 0.8, 1.0, 120);
        let u = |r: f64| 4.0 * eps * ((sigma / r).powi(12) - (sigma / r).powi(6));
        let m = 240;
        let h = l / m as f64;
        let mut corner = 0.0;
        for i in 0..m {
            for j in 0..m {
                for k in 0..m {
                    let p = [i, j, k].map(|a| -0.5 * l + (a as f64 + 0.5) * h);
                    let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
                    if r > 0.5 * l {
                        corner += u(r) * h * h * h;
                    }
                }
            }
        }
        let quad = cube_corners_integral(l, u, &[], 1e-12).unwrap();
        assert!(
            (quad - corner).abs() < 2e-3 * corner.abs(),
            "{quad} vs {corner}"
        );
        // Per particle at rho = 120/216: (rho/2)(beyond-ball - corners), about -0.0826 kT.
        let e = lj_energy_outside_box_per_particle(l, n, eps, sigma).unwrap();
        let beyond = 16.0 * PI * eps * (3f64.powi(-9) / 9.0 - 3f64.powi(-3) / 3.0);
        let rho = n as f64 / 216.0;
        assert!(
            (e - 0.5 * rho * (beyond - corner)).abs() < 1e-3 * e.abs(),
            "{e}"
        );
        assert!((-0.0835..-0.0815).contains(&e), "{e}");
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(two_body_beta_f_ex(-1.0, |_| 0.0, &[], 1e-10).is_err());
        assert!(two_body_beta_f_ex(6.0, |_| 0.0, &[], 0.0).is_err());
        let e = two_body_beta_f_ex(6.0, |_| f64::NAN, &[], 1e-10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("beta_u"), "{e}");
        let bad = LjPair {
            sigma: 0.0,
            ..LjPair::paper()
        };
        assert!(lj_two_body_beta_f_ex(6.0, &bad).is_err());
    }
}
